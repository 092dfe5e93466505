namespace Journey.Profile.Domain;

/// <summary>The two profiles a split gives back.</summary>
/// <param name="Survivor">The profile the merge went into, as if the merge had never happened.</param>
/// <param name="Restored">The profile that comes back.</param>
/// <param name="RestoredIdentifiers">The identifiers that move from the survivor back to <paramref name="Restored"/>.</param>
public sealed record SplitOutcome(CustomerProfile Survivor, CustomerProfile Restored, IReadOnlyList<IdentifierKey> RestoredIdentifiers);

/// <summary>
/// Undoes one merge in memory: both profiles start again from the merge edge's copies of them, and
/// the activity the survivor journalled since is handed to the side it came through.
/// </summary>
/// <remarks>
/// An entry goes to the side of its surest identifier that either side holds, in the order identity
/// resolution trusts them (profile id, customer id, e-mail, phone, anonymous, device, ad-click id);
/// an identifier first seen in an entry joins that entry's side. An entry none of whose identifiers
/// either side holds cannot be attributed and stays with the survivor. Identifiers follow: the
/// restored profile takes back, of those the survivor holds now, its own from before the merge and
/// those first seen in its entries; every other identifier, and traits, conflicts and identification
/// times gained since the merge by other means, stay with the survivor.
/// </remarks>
public static class MergeSplitter
{
    /// <summary>
    /// Splits <paramref name="edge"/> (the newest merge into <paramref name="current"/>, with its undo
    /// data) out of <paramref name="current"/>. Versions are left to the caller.
    /// </summary>
    public static SplitOutcome Split(CustomerProfile current, MergeEdge edge, ProfileOptions options, string profilingPurpose)
    {
        var undo = edge.Merge.Undo ?? throw new ArgumentException("The merge keeps nothing to undo it with.", nameof(edge));
        var survivor = undo.SurvivorBefore.Clone();
        var restored = undo.MergedBefore.Clone();
        var restoredSide = new HashSet<IdentifierKey>(restored.Identifiers.Select(h => h.Key));
        foreach (var id in edge.MergedAliases.Append(restored.Id))
        {
            restoredSide.Add(new IdentifierKey(IdentifierKind.ProfileId, id));
        }

        var survivorSide = new HashSet<IdentifierKey>(survivor.Identifiers.Select(h => h.Key)) { new(IdentifierKind.ProfileId, survivor.Id) };
        foreach (var entry in current.Activity.Where(e => e.Seq > undo.ActivitySeqBefore))
        {
            var toRestored = Surest(entry.Identifiers, restoredSide, survivorSide) == Side.Restored;
            var (side, own, other) = toRestored ? (restored, restoredSide, survivorSide) : (survivor, survivorSide, restoredSide);
            foreach (var key in entry.Identifiers)
            {
                if (!other.Contains(key))
                {
                    own.Add(key);
                }
            }

            if (entry.Interaction is { } interaction)
            {
                JourneyRules.Apply(side, interaction, options);
            }
            else if (entry.Consent is { } consent)
            {
                if (consent.Purpose == profilingPurpose)
                {
                    JourneyRules.SetProfilingAllowed(side, consent.Granted);
                }

                if (options.GovernsAChannel(consent.Purpose))
                {
                    JourneyRules.RecordConsent(side, consent.Purpose, new ChannelConsent(consent.Granted, consent.Channels, consent.DecidedAt));
                }
            }

            side.Journal(entry.Interaction, entry.Consent, options.SplitActivityLimit);
        }

        var back = current.Identifiers.Where(h => restoredSide.Contains(h.Key)).ToList();
        restored.Identifiers.Clear();
        restored.Identifiers.AddRange(back);
        survivor.Identifiers.Clear();
        survivor.Identifiers.AddRange(current.Identifiers.Where(h => !restoredSide.Contains(h.Key)));

        // Traits the merge brought over and nobody changed since go back; the survivor's own and any set since stay.
        survivor.Traits.Clear();
        foreach (var (key, value) in current.Traits)
        {
            var brought = !undo.SurvivorBefore.Traits.ContainsKey(key) && undo.MergedBefore.Traits.TryGetValue(key, out var theirs) && theirs == value;
            if (!brought)
            {
                survivor.Traits[key] = value;
            }
        }

        var broughtConflicts = undo.MergedBefore.Conflicts.Select(c => c.OtherProfileId).Except(undo.SurvivorBefore.Conflicts.Select(c => c.OtherProfileId)).ToHashSet(StringComparer.Ordinal);
        survivor.Conflicts.Clear();
        survivor.Conflicts.AddRange(current.Conflicts.Where(c => !broughtConflicts.Contains(c.OtherProfileId) && c.OtherProfileId != restored.Id));
        if (current.LastIdentifiedAt > survivor.LastIdentifiedAt && current.LastIdentifiedAt != undo.MergedBefore.LastIdentifiedAt)
        {
            survivor.LastIdentifiedAt = current.LastIdentifiedAt;
        }

        // Memberships are evaluated again for both: the survivor starts from where it is, the restored
        // profile left its segments at the merge.
        survivor.Segments.Clear();
        survivor.Segments.UnionWith(current.Segments);
        restored.Segments.Clear();
        return new SplitOutcome(survivor, restored, back.Select(h => h.Key).ToList());
    }

    private enum Side
    {
        Survivor,
        Restored,
    }

    private static Side Surest(IReadOnlyList<IdentifierKey> identifiers, HashSet<IdentifierKey> restored, HashSet<IdentifierKey> survivor)
    {
        foreach (var key in identifiers.OrderBy(k => k.Kind == IdentifierKind.ProfileId ? 0 : (int)k.Kind))
        {
            if (restored.Contains(Bare(key)))
            {
                return Side.Restored;
            }

            if (survivor.Contains(Bare(key)))
            {
                return Side.Survivor;
            }
        }

        return Side.Survivor;
    }

    private static IdentifierKey Bare(IdentifierKey key) =>
        key.Kind == IdentifierKind.ProfileId && key.Value.StartsWith("profiles/", StringComparison.Ordinal) ? key with { Value = key.Value["profiles/".Length..] } : key;
}
