using System.Text.Json;
using System.Text.Json.Serialization;
using Journey.Profile.Domain;

namespace Journey.Profile.Storage;

/// <summary>
/// A profile as both adapters store it: primitives only (times as Unix milliseconds), so JSON in
/// SQLite and BSON in MongoDB round-trip every field alike. Protected trait values are ciphertext.
/// </summary>
internal sealed class ProfileDocument
{
    public long CreatedAt { get; set; }

    public long UpdatedAt { get; set; }

    public List<HeldDocument> Identifiers { get; set; } = [];

    public long? LastIdentifiedAt { get; set; }

    public Dictionary<string, string> Traits { get; set; } = [];

    public int Stage { get; set; }

    public List<StageDocument> StageHistory { get; set; } = [];

    public List<ScoreDocument> Interests { get; set; } = [];

    public ScoreDocument? Engagement { get; set; }

    public int OpenServiceTickets { get; set; }

    public bool AbandonedCart { get; set; }

    public bool ProfilingAllowed { get; set; } = true;

    public int Purchases { get; set; }

    // Null rather than empty, so the many profiles without a decision store nothing for it.
    public List<ConsentDocument>? Consents { get; set; }

    public List<ChannelDocument> Channels { get; set; } = [];

    public List<ContentDocument> ConsumedContents { get; set; } = [];

    public List<ConflictDocument> Conflicts { get; set; } = [];

    public List<string> Segments { get; set; } = [];

    public long? LastInteractionAt { get; set; }

    // Zero and null while no merge into the profile can be undone, so most profiles store nothing for them.
    public int OpenMerges { get; set; }

    public long ActivitySeq { get; set; }

    public long ActivityDropped { get; set; }

    public List<ActivityDocument>? Activity { get; set; }

    public static ProfileDocument From(CustomerProfile p) => new()
    {
        CreatedAt = p.CreatedAt.ToUnixTimeMilliseconds(),
        UpdatedAt = p.UpdatedAt.ToUnixTimeMilliseconds(),
        Identifiers = p.Identifiers.Select(h => new HeldDocument { Kind = (int)h.Key.Kind, Value = h.Key.Value, AddedAt = h.AddedAt.ToUnixTimeMilliseconds() }).ToList(),
        LastIdentifiedAt = p.LastIdentifiedAt?.ToUnixTimeMilliseconds(),
        Traits = new Dictionary<string, string>(p.Traits),
        Stage = (int)p.Stage,
        StageHistory = p.StageHistory.Select(s => new StageDocument { Stage = (int)s.Stage, EnteredAt = s.EnteredAt.ToUnixTimeMilliseconds() }).ToList(),
        Interests = p.Interests.Select(i => ScoreDocument.From(i.Value, i.Key)).ToList(),
        Engagement = p.Engagement is null ? null : ScoreDocument.From(p.Engagement, ""),
        OpenServiceTickets = p.OpenServiceTickets,
        AbandonedCart = p.AbandonedCart,
        ProfilingAllowed = p.ProfilingAllowed,
        Purchases = p.Purchases,
        Consents = p.Consents.Count == 0 ? null : p.Consents.OrderBy(c => c.Key, StringComparer.Ordinal).SelectMany(c => c.Value.Decisions.Select(d => ConsentDocument.From(c.Key, d))).ToList(),
        Channels = p.Channels.Select(c => new ChannelDocument { Channel = c.Key, Interactions = c.Value }).ToList(),
        ConsumedContents = p.ConsumedContents.Select(c => new ContentDocument { Content = c.Content, At = c.At.ToUnixTimeMilliseconds() }).ToList(),
        Conflicts = p.Conflicts.Select(c => new ConflictDocument { Other = c.OtherProfileId, Kind = (int)c.SharedKind, At = c.DetectedAt.ToUnixTimeMilliseconds() }).ToList(),
        Segments = p.Segments.ToList(),
        LastInteractionAt = p.LastInteractionAt?.ToUnixTimeMilliseconds(),
        OpenMerges = p.OpenMerges,
        ActivitySeq = p.ActivitySeq,
        ActivityDropped = p.ActivityDropped,
        Activity = p.Activity.Count == 0 ? null : p.Activity.Select(ActivityDocument.From).ToList(),
    };

    public CustomerProfile ToDomain(string id, long version)
    {
        var profile = new CustomerProfile(id, Time(CreatedAt))
        {
            Version = version,
            UpdatedAt = Time(UpdatedAt),
            LastIdentifiedAt = LastIdentifiedAt is { } identified ? Time(identified) : null,
            Stage = (JourneyStage)Stage,
            Engagement = Engagement?.ToDomain(),
            OpenServiceTickets = OpenServiceTickets,
            AbandonedCart = AbandonedCart,
            ProfilingAllowed = ProfilingAllowed,
            Purchases = Purchases,
            LastInteractionAt = LastInteractionAt is { } last ? Time(last) : null,
            OpenMerges = OpenMerges,
            ActivitySeq = ActivitySeq,
            ActivityDropped = ActivityDropped,
        };
        profile.Activity.AddRange((Activity ?? []).Select(a => a.ToDomain()));
        profile.Identifiers.AddRange(Identifiers.Select(h => new HeldIdentifier(new IdentifierKey((IdentifierKind)h.Kind, h.Value), Time(h.AddedAt))));
        foreach (var (key, value) in Traits)
        {
            profile.Traits[key] = value;
        }

        profile.StageHistory.AddRange(StageHistory.Select(s => new StageEntry((JourneyStage)s.Stage, Time(s.EnteredAt))));
        foreach (var interest in Interests)
        {
            profile.Interests[interest.Topic] = interest.ToDomain();
        }

        foreach (var consent in Consents ?? [])
        {
            JourneyRules.RecordConsent(profile, consent.Purpose, consent.ToDomain());
        }

        foreach (var channel in Channels)
        {
            profile.Channels[channel.Channel] = channel.Interactions;
        }

        profile.ConsumedContents.AddRange(ConsumedContents.Select(c => new ConsumedContent(c.Content, Time(c.At))));
        profile.Conflicts.AddRange(Conflicts.Select(c => new IdentityConflict(c.Other, (IdentifierKind)c.Kind, Time(c.At))));
        profile.Segments.UnionWith(Segments);
        return profile;
    }

    public string ToJson() => JsonSerializer.Serialize(this, ProfileDocumentJson.Default.ProfileDocument);

    public static ProfileDocument FromJson(string json) => JsonSerializer.Deserialize(json, ProfileDocumentJson.Default.ProfileDocument)!;

    public static DateTimeOffset Time(long milliseconds) => DateTimeOffset.FromUnixTimeMilliseconds(milliseconds);

    internal sealed class HeldDocument
    {
        public int Kind { get; set; }

        public string Value { get; set; } = "";

        public long AddedAt { get; set; }
    }

    internal sealed class StageDocument
    {
        public int Stage { get; set; }

        public long EnteredAt { get; set; }
    }

    internal sealed class ScoreDocument
    {
        public string Topic { get; set; } = "";

        public double Value { get; set; }

        // Ticks, not milliseconds: decay needs the exact time the score was taken at.
        public long AsOfTicks { get; set; }

        public static ScoreDocument From(DecayingScore score, string topic) => new() { Topic = topic, Value = score.Value, AsOfTicks = score.AsOf.UtcTicks };

        public DecayingScore ToDomain() => new(Value, new DateTimeOffset(AsOfTicks, TimeSpan.Zero));
    }

    internal sealed class ChannelDocument
    {
        public int Channel { get; set; }

        public long Interactions { get; set; }
    }

    internal sealed class ConsentDocument
    {
        public string Purpose { get; set; } = "";

        public bool Granted { get; set; }

        public List<int> Channels { get; set; } = [];

        // Ticks, not milliseconds: decisions are ordered by this time, and two can fall in one millisecond.
        public long DecidedAtTicks { get; set; }

        public static ConsentDocument From(string purpose, ChannelConsent consent) =>
            new() { Purpose = purpose, Granted = consent.Granted, Channels = consent.Channels.Select(c => (int)c).ToList(), DecidedAtTicks = consent.DecidedAt.UtcTicks };

        public ChannelConsent ToDomain() => new(Granted, Channels.Select(c => (ChannelKind)c).ToList(), new DateTimeOffset(DecidedAtTicks, TimeSpan.Zero));
    }

    internal sealed class ContentDocument
    {
        public string Content { get; set; } = "";

        public long At { get; set; }
    }

    /// <summary>One journalled interaction or consent decision (<see cref="ActivityEntry"/>); times in ticks, as decay and ordering need them exact.</summary>
    internal sealed class ActivityDocument
    {
        public long Seq { get; set; }

        public List<HeldDocument> Identifiers { get; set; } = [];

        // An interaction when set (InteractionType), else a consent decision.
        public int? Type { get; set; }

        public List<int>? Stages { get; set; }

        public int Channel { get; set; }

        public long AtTicks { get; set; }

        public string? Content { get; set; }

        public List<string>? Topics { get; set; }

        public string? Purpose { get; set; }

        public bool Granted { get; set; }

        public List<int>? Channels { get; set; }

        public long? PublishedAtTicks { get; set; }

        public static ActivityDocument From(ActivityEntry entry)
        {
            var document = new ActivityDocument
            {
                Seq = entry.Seq,
                Identifiers = entry.Identifiers.Select(k => new HeldDocument { Kind = (int)k.Kind, Value = k.Value }).ToList(),
            };
            if (entry.Interaction is { } i)
            {
                document.Type = (int)i.Type;
                document.Stages = i.Stages.Select(s => (int)s).ToList();
                document.Channel = i.Channel;
                document.AtTicks = i.OccurredAt.UtcTicks;
                document.Content = i.Content;
                document.Topics = [.. i.Topics];
                document.PublishedAtTicks = i.PublishedAt?.UtcTicks;
            }
            else if (entry.Consent is { } c)
            {
                document.Purpose = c.Purpose;
                document.Granted = c.Granted;
                document.Channels = c.Channels.Select(ch => (int)ch).ToList();
                document.AtTicks = c.DecidedAt.UtcTicks;
                document.PublishedAtTicks = c.PublishedAt.UtcTicks;
            }

            return document;
        }

        public ActivityEntry ToDomain()
        {
            var identifiers = Identifiers.Select(h => new IdentifierKey((IdentifierKind)h.Kind, h.Value)).ToList();
            var at = new DateTimeOffset(AtTicks, TimeSpan.Zero);
            DateTimeOffset? published = PublishedAtTicks is { } ticks ? new DateTimeOffset(ticks, TimeSpan.Zero) : null;
            return Type is { } type
                ? new ActivityEntry(Seq, new Interaction("", identifiers, (InteractionType)type, (Stages ?? []).Select(s => (JourneyStage)s).ToList(), Channel, at, Content ?? "", Topics ?? []) { PublishedAt = published }, null)
                : new ActivityEntry(Seq, null, new ConsentDecision("", identifiers, Purpose ?? "", Granted, (Channels ?? []).Select(c => (ChannelKind)c).ToList(), at, published ?? at));
        }
    }

    internal sealed class ConflictDocument
    {
        public string Other { get; set; } = "";

        public int Kind { get; set; }

        public long At { get; set; }
    }
}

/// <summary>What a merge edge keeps to undo the merge: both profiles as they were just before it.</summary>
internal sealed class MergeUndoDocument
{
    // The survivor's own id: the edge's survivor_id moves on when the survivor is merged in turn.
    public string SurvivorId { get; set; } = "";

    public long SurvivorVersion { get; set; }

    public ProfileDocument Survivor { get; set; } = new();

    public long MergedVersion { get; set; }

    public ProfileDocument Merged { get; set; } = new();

    public static string? ToJson(MergeUndo? undo) => undo is null ? null : JsonSerializer.Serialize(
        new MergeUndoDocument
        {
            SurvivorId = undo.SurvivorBefore.Id,
            SurvivorVersion = undo.SurvivorBefore.Version,
            Survivor = ProfileDocument.From(undo.SurvivorBefore),
            MergedVersion = undo.MergedBefore.Version,
            Merged = ProfileDocument.From(undo.MergedBefore),
        },
        ProfileDocumentJson.Default.MergeUndoDocument);

    public static MergeUndo? FromJson(string? json, string mergedId)
    {
        if (json is null)
        {
            return null;
        }

        var document = JsonSerializer.Deserialize(json, ProfileDocumentJson.Default.MergeUndoDocument)!;
        return new MergeUndo(document.Survivor.ToDomain(document.SurvivorId, document.SurvivorVersion), document.Merged.ToDomain(mergedId, document.MergedVersion));
    }
}

/// <summary>
/// Compile-time JSON metadata for <see cref="ProfileDocument"/>: every profile write serialises one
/// and the reflection-based serialiser was a sixth of the store's time. Same options and output as before.
/// </summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ProfileDocument))]
[JsonSerializable(typeof(MergeUndoDocument))]
internal sealed partial class ProfileDocumentJson : JsonSerializerContext;
