using Journey.Shared.Errors;

namespace Journey.Profile.Domain;

/// <summary>
/// Keeps profiles in step with what people do: finds the profile an interaction's identifiers
/// point to (or starts one), attaches identifiers it did not hold yet, and moves the journey stage.
/// </summary>
public sealed class ProfileJourney(IProfileStore store, IProfileEvents events, TimeProvider time)
{
    /// <summary>The inbox consumer name of interaction handling.</summary>
    public const string Consumer = "profile.interaction-recorded";

    /// <summary>Applies a batch of interactions in one transaction; events seen before change nothing.</summary>
    public Task ApplyAsync(IReadOnlyList<ObservedInteraction> interactions, CancellationToken cancellationToken) =>
        store.ApplyAsync(Consumer, interactions.Select(i => i.EventId).ToList(), async (transaction, fresh) =>
        {
            var changed = new Dictionary<string, PersonProfile>(StringComparer.Ordinal);
            foreach (var interaction in interactions.Where(i => fresh.Contains(i.EventId)))
            {
                var profile = await ResolveAsync(transaction, interaction, changed);
                // An identifier another profile holds stays there: linking two profiles is a merge, never a silent move.
                var attachable = new List<PersonIdentifier>();
                foreach (var identifier in interaction.Identifiers)
                {
                    if (await transaction.FindAsync(identifier) is not { } owner || owner.Id == profile.Id)
                    {
                        attachable.Add(identifier);
                    }
                }

                var updated = Advance(profile, interaction, attachable);
                changed[updated.Id] = updated;
                await transaction.SaveAsync(updated);
            }

            var now = time.GetUtcNow();
            foreach (var profile in changed.Values)
            {
                transaction.Publish(events.ProfileUpdated(profile, now));
            }
        }, cancellationToken);

    /// <summary>Gets a profile; NotFoundException when it does not exist.</summary>
    public async Task<PersonProfile> GetAsync(string id, CancellationToken cancellationToken) =>
        await store.GetAsync(id, cancellationToken) ?? throw new NotFoundException("Profile", $"profiles/{id}");

    /// <summary>Finds the profile of an identifier; NotFoundException when none holds it.</summary>
    public async Task<PersonProfile> LookupAsync(PersonIdentifier identifier, CancellationToken cancellationToken) =>
        await store.FindAsync(identifier, cancellationToken) ?? throw new NotFoundException("Profile", $"{identifier.Kind} identifier");

    /// <summary>The stage after an interaction: a purchase means ownership, a repeat purchase or a referral loyalty; otherwise the touchpoint's earliest stage pulls the person forward, never back.</summary>
    public static JourneyStage NextStage(JourneyStage current, int interactionType, IReadOnlyList<JourneyStage> touchpointStages)
    {
        if (interactionType == (int)InteractionType.Purchase)
        {
            return current >= JourneyStage.Ownership ? JourneyStage.Loyalty : JourneyStage.Ownership;
        }

        if (interactionType == (int)InteractionType.Referral && current >= JourneyStage.Ownership)
        {
            return JourneyStage.Loyalty;
        }

        var reached = touchpointStages.Where(s => s is > JourneyStage.Unspecified and < JourneyStage.Purchase).DefaultIfEmpty(JourneyStage.Awareness).Min();
        return reached > current ? reached : current;
    }

    private static async Task<PersonProfile> ResolveAsync(IProfileTransaction transaction, ObservedInteraction interaction, Dictionary<string, PersonProfile> changed)
    {
        foreach (var identifier in interaction.Identifiers)
        {
            if (await transaction.FindAsync(identifier) is { } found)
            {
                return changed.GetValueOrDefault(found.Id, found);
            }
        }

        return new PersonProfile(Guid.CreateVersion7(interaction.OccurredAt).ToString(), [], JourneyStage.Unspecified, 0, interaction.OccurredAt, interaction.OccurredAt, 0);
    }

    private static PersonProfile Advance(PersonProfile profile, ObservedInteraction interaction, IReadOnlyList<PersonIdentifier> attachable)
    {
        var identifiers = profile.Identifiers.Concat(attachable).Distinct().ToList();
        return profile with
        {
            Identifiers = identifiers,
            Stage = NextStage(profile.Stage, interaction.Type, interaction.TouchpointStages),
            InteractionCount = profile.InteractionCount + 1,
            FirstInteractionAt = interaction.OccurredAt < profile.FirstInteractionAt ? interaction.OccurredAt : profile.FirstInteractionAt,
            LastInteractionAt = interaction.OccurredAt > profile.LastInteractionAt ? interaction.OccurredAt : profile.LastInteractionAt,
            Version = profile.Version + 1,
        };
    }
}
