using Google.Protobuf.WellKnownTypes;
using Journey.Consent.V1;
using Journey.Recommendation.V1;
using Journey.Touchpoint.V1;

namespace Journey.Cli.Output;

/// <summary>The tables people read; scripts use <c>--output json</c> instead.</summary>
public static class Render
{
    public static Table Touchpoints(IEnumerable<Touchpoint.V1.Touchpoint> touchpoints)
    {
        var table = new Table("name", "display name", "channel", "ownership", "stages", "criticality", "target", "team", "retired");
        foreach (var t in touchpoints)
        {
            table.Add(t.Name, t.DisplayName, t.Channel, t.Ownership, string.Join(",", t.Stages.Select(s => EnumText.Format(s))), t.Criticality,
                t.IntendedExperience?.TargetRating is > 0 ? t.IntendedExperience.TargetRating : null, t.OwningTeam, t.Retired ? "yes" : "");
        }

        return table;
    }

    public static Table Contents(IEnumerable<ContentItem> contents)
    {
        var table = new Table("name", "title", "kind", "purpose", "stages", "hardness", "consent", "generic", "etag");
        foreach (var c in contents)
        {
            table.Add(c.Name, c.Title, c.Kind, c.Purpose, string.Join(",", c.Stages.Select(s => $"{EnumText.Format(s.Stage)}:{s.Weight:0.##}")), c.Hardness,
                c.RequiredConsentPurpose, c.Generic ? "yes" : "", c.Etag);
        }

        return table;
    }

    public static Table Purposes(IEnumerable<Purpose> purposes)
    {
        var table = new Table("name", "legal basis", "default", "channels", "validity", "min policy", "description");
        foreach (var p in purposes)
        {
            table.Add(p.Name, p.LegalBasis, p.DefaultDecision, string.Join(",", p.Channels.Select(ch => EnumText.Format(ch))),
                p.Validity is null ? "" : $"{p.Validity.ToTimeSpan().TotalDays:0.#}d", p.MinimumPolicyVersion, p.Description);
        }

        return table;
    }

    public static Table Profile(Profile.V1.Profile p)
    {
        var table = new Table("field", "value");
        table.Add("name", p.Name)
            .Add("identifiers", string.Join(", ", p.Identifiers.Select(i => $"{EnumText.Format(i.Kind)}:{i.Value}")))
            .Add("customer type", p.CustomerType)
            .Add("stage", p.Stage)
            .Add("readiness", p.Readiness)
            .Add("purchases", p.Purchases)
            .Add("open tickets", p.OpenServiceTickets)
            .Add("abandoned cart", p.AbandonedCart ? "yes" : "no")
            .Add("interests", string.Join(", ", p.Interests.Take(5).Select(i => $"{i.Topic}:{i.Affinity:0.##}")))
            .Add("channels", string.Join(", ", p.Channels.Select(ch => $"{EnumText.Format(ch.Channel)}:{ch.Interactions}")))
            .Add("segments", string.Join(", ", p.Segments))
            .Add("last interaction", Time(p.LastInteractionTime));
        return table;
    }

    public static Table Consent(CheckConsentResponse r)
    {
        var table = new Table("field", "value");
        table.Add("allowed", r.Allowed ? "yes" : "no")
            .Add("reason", r.Reason)
            .Add("subject", r.Subject)
            .Add("policy version", r.PolicyVersion)
            .Add("record", r.Record)
            .Add("expires", Time(r.ExpireTime));
        return table;
    }

    public static Table Recommendations(RecommendResponse r)
    {
        var table = new Table("#", "content", "title", "kind", "score", "reasons");
        var rank = 1;
        foreach (var item in r.Items)
        {
            table.Add(rank++, item.Content, item.Title, item.Kind, item.Score, string.Join("; ", item.Reasons.Select(x => x.Text.Length > 0 ? x.Text : EnumText.Format(x.Code))));
        }

        return table;
    }

    public static Table Funnel(GetJourneyFunnelResponse r)
    {
        var table = new Table("stage", "people", "converted", "conversion");
        foreach (var s in r.Stages)
        {
            table.Add(s.Stage, s.People, s.ConvertedToNext, Percent(s.ConversionToNext));
        }

        return table;
    }

    public static Table DropOffs(GetJourneyFunnelResponse r)
    {
        var table = new Table("drop-off touchpoint", "display name", "people", "share");
        foreach (var d in r.DropOffPoints)
        {
            table.Add(d.Touchpoint, d.DisplayName, d.People, Percent(d.Share));
        }

        return table;
    }

    public static Table Gaps(ListExperienceGapsResponse r)
    {
        var table = new Table("touchpoint", "display name", "criticality", "target", "average", "ratings", "gap", "priority", "team");
        foreach (var g in r.Gaps)
        {
            table.Add(g.Touchpoint, g.DisplayName, g.Criticality, g.TargetRating, g.AverageRating, g.RatedInteractions, g.Gap, g.Priority, g.OwningTeam);
        }

        return table;
    }

    public static void NextPage(CommandContext c, string token)
    {
        if (token.Length > 0)
        {
            c.Error.WriteLine($"more: --page-token {token}");
        }
    }

    public static string Percent(double share) => (share * 100).ToString("0.0", System.Globalization.CultureInfo.InvariantCulture) + "%";

    public static string Time(Timestamp? t) => t is null ? "" : t.ToDateTime().ToString("yyyy-MM-dd HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);
}
