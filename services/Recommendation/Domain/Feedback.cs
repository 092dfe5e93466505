using Journey.Shared.Errors;

namespace Journey.Recommendation.Domain;

/// <summary>What happened to a recommended item.</summary>
public enum FeedbackType
{
    Unspecified = 0,
    Impression = 1,
    Click = 2,
    Conversion = 3,
}

/// <summary>Records feedback against recommendations: learned counts, experiment counts and the frequency cap.</summary>
public sealed class FeedbackService(IAudienceStore audience, RecommendationJournal journal, LearningModel learning, TimeProvider time)
{
    /// <summary>The inbox consumer under which feedback ids are claimed, one row per recommendation and id.</summary>
    public const string FeedbackConsumer = "recommendation.feedback";

    /// <summary>The longest feedback id.</summary>
    public const int MaxFeedbackIdLength = 128;

    /// <summary>Records one piece of feedback; false when <paramref name="feedbackId"/> was recorded before for the recommendation (nothing changed).</summary>
    public async Task<bool> RecordAsync(string recommendation, string content, FeedbackType type, string feedbackId, CancellationToken cancellationToken)
    {
        var v = new Validation();
        var recommendationId = recommendation.StartsWith(ResourceNames.RecommendationPrefix, StringComparison.Ordinal) ? recommendation[ResourceNames.RecommendationPrefix.Length..] : "";
        v.Require(recommendationId.Length is 32 && recommendationId.All(char.IsAsciiHexDigitLower), "recommendation", "must be recommendations/{recommendation} as returned by Recommend");
        var contentId = ResourceNames.IdOf(content, ResourceNames.ContentPrefix);
        v.Require(contentId is not null, "content", "must be contents/{content}");
        v.Require(type is FeedbackType.Impression or FeedbackType.Click or FeedbackType.Conversion, "type", "must be FEEDBACK_TYPE_IMPRESSION, _CLICK or _CONVERSION");
        v.Require(feedbackId.Length <= MaxFeedbackIdLength && feedbackId.All(c => c is >= '!' and <= '~'), "feedback_id", $"must be at most {MaxFeedbackIdLength} printable ASCII characters without spaces");
        v.ThrowIfInvalid();

        await learning.EnsureLoadedAsync(cancellationToken);
        var record = await journal.GetAsync(recommendationId, cancellationToken) ?? throw new NotFoundException("Recommendation", recommendation);
        if (!record.ContentIds.Contains(contentId!))
        {
            throw new InvalidArgumentException("content", "was not part of this recommendation");
        }

        var now = time.GetUtcNow();
        var delta = await audience.WriteAsync(async (session, ct) =>
        {
            // The claim's unique key commits with the counts or not at all: a retry after a lost
            // reply finds the claim and counts nothing.
            if (feedbackId.Length > 0 && !await session.TryClaimAsync(FeedbackConsumer, $"{recommendationId}/{feedbackId}", now, ct))
            {
                return (ItemStats?)null;
            }

            return await ApplyAsync(session, record, contentId!, type, now, ct);
        }, cancellationToken);
        if (delta is null)
        {
            return false;
        }

        learning.Apply(delta);
        return true;
    }

    /// <summary>Applies one piece of feedback inside a transaction; also used for interactions that answer a recommendation.</summary>
    public static async Task<ItemStats> ApplyAsync(IAudienceSession session, RecommendationRecord record, string contentId, FeedbackType type, DateTimeOffset at, CancellationToken cancellationToken)
    {
        var delta = new ItemStats(contentId, record.Stage, type == FeedbackType.Impression ? 1 : 0, type == FeedbackType.Click ? 1 : 0, type == FeedbackType.Conversion ? 1 : 0);
        await session.AddItemStatsAsync(delta, cancellationToken);
        if (record.ExperimentId.Length > 0)
        {
            await session.AddVariantCountsAsync(record.ExperimentId, new VariantCounts(record.Variant, 0, delta.Impressions, delta.Clicks, delta.Conversions), cancellationToken);
        }

        if (type == FeedbackType.Impression && record.PersonKey.Length > 0)
        {
            await session.AddImpressionAsync(record.PersonKey, contentId, DateOnly.FromDateTime(at.UtcDateTime), cancellationToken);
        }

        return delta;
    }
}
