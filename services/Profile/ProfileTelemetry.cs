using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Journey.Profile;

/// <summary>The profile service's spans and metrics. Tags carry counts and pseudonymous profile ids, never identifiers.</summary>
public static class ProfileTelemetry
{
    /// <summary>The source and meter name.</summary>
    public const string Name = "Journey.Profile";

    /// <summary>Spans of the use cases.</summary>
    public static readonly ActivitySource Source = new(Name);

    /// <summary>Metrics of the use cases.</summary>
    public static readonly Meter Meter = new(Name);

    /// <summary>Profiles created.</summary>
    public static readonly Counter<long> ProfilesCreated = Meter.CreateCounter<long>("journey.profile.created", "{profile}", "Profiles created by Identify or by events.");

    /// <summary>Profiles merged into another.</summary>
    public static readonly Counter<long> ProfilesMerged = Meter.CreateCounter<long>("journey.profile.merged", "{profile}", "Anonymous profiles merged into another.");

    /// <summary>Merges undone by SplitProfile.</summary>
    public static readonly Counter<long> ProfilesSplit = Meter.CreateCounter<long>("journey.profile.split", "{merge}", "Merges undone by an operator's SplitProfile.");

    /// <summary>Links between two known customers that were refused.</summary>
    public static readonly Counter<long> IdentityConflicts = Meter.CreateCounter<long>("journey.profile.identity_conflicts", "{conflict}", "Calls that linked two known customers; nothing merged.");

    /// <summary>Identifiers not attached because the profile had reached its limit for their kind.</summary>
    public static readonly Counter<long> IdentifiersOverLimit = Meter.CreateCounter<long>("journey.profile.identifiers_over_limit", "{identifier}", "Identifiers not attached because the profile held its limit for their kind.");

    /// <summary>Interactions applied to journey state.</summary>
    public static readonly Counter<long> InteractionsApplied = Meter.CreateCounter<long>("journey.profile.interactions_applied", "{interaction}", "Interaction events applied (redeliveries excluded).");
}
