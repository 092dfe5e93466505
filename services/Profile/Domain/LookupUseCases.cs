using Journey.Shared.Errors;
using Journey.Shared.Privacy;
using Microsoft.Extensions.Options;

namespace Journey.Profile.Domain;

/// <summary>A profile with its decayed values.</summary>
public sealed record ProfileRead(CustomerProfile Profile, ProfileView View)
{
    /// <summary><paramref name="profile"/> with its values decayed to <paramref name="now"/>.</summary>
    public static ProfileRead Of(CustomerProfile profile, ProfileOptions options, DateTimeOffset now) => new(profile, JourneyRules.View(profile, options, now));
}

/// <summary>Everything held about a person.</summary>
/// <param name="Profile">The profile with decayed values.</param>
/// <param name="ClearTraits">Traits with protected values decrypted.</param>
/// <param name="Merges">Merges into the profile.</param>
/// <param name="Aliases">Merged-away ids answering with it.</param>
/// <param name="ExportedAt">When.</param>
public sealed record ProfileExport(ProfileRead Profile, IReadOnlyDictionary<string, string> ClearTraits, IReadOnlyList<ProfileMerge> Merges, IReadOnlyList<string> Aliases, DateTimeOffset ExportedAt);

/// <summary>Reads of profiles: by id, by identifier, their merges, their changes, and everything held about a person.</summary>
public sealed class LookupUseCases(
    IProfileStore store,
    ProfileInput input,
    PersonalDataProtector protector,
    ProfileChanges changes,
    IOptions<ProfileOptions> options,
    TimeProvider time)
{
    /// <summary>A profile by id (a merged-away id answers with its survivor).</summary>
    public async Task<ProfileRead> GetAsync(string id, CancellationToken cancellationToken)
    {
        var profile = await store.GetAsync(id, cancellationToken) ?? throw new NotFoundException("Profile", "profiles/" + id);
        return ProfileRead.Of(profile, options.Value, time.GetUtcNow());
    }

    /// <summary>The most profiles one BatchGet reads.</summary>
    public const int MaxBatchGet = 100;

    /// <summary>Profiles by id, in order; NOT_FOUND names the first without one (its index in <paramref name="field"/>).</summary>
    public async Task<IReadOnlyList<ProfileRead>> GetManyAsync(IReadOnlyList<string> ids, string field, CancellationToken cancellationToken)
    {
        if (ids.Count is 0 or > MaxBatchGet)
        {
            throw new InvalidArgumentException(field, $"must hold 1 to {MaxBatchGet} names");
        }

        var now = time.GetUtcNow();
        var reads = new List<ProfileRead>(ids.Count);
        for (var i = 0; i < ids.Count; i++)
        {
            var profile = await store.GetAsync(ids[i], cancellationToken) ?? throw new DomainException(ErrorKind.NotFound, $"{field}[{i}]: profile 'profiles/{ids[i]}' was not found.", reason: ErrorReasons.NotFound("Profile"));
            reads.Add(ProfileRead.Of(profile, options.Value, now));
        }

        return reads;
    }

    /// <summary>The profile holding an identifier.</summary>
    public async Task<ProfileRead> LookupAsync(GivenIdentifier identifier, string field, CancellationToken cancellationToken)
    {
        var key = input.Key(identifier, field);
        var profile = (key.Kind == IdentifierKind.ProfileId ? await store.GetAsync(key.Value, cancellationToken) : await store.FindAsync(key, cancellationToken))
            ?? throw new NotFoundException("Profile", "with that identifier");
        return ProfileRead.Of(profile, options.Value, time.GetUtcNow());
    }

    /// <summary>Merges into a profile, newest first.</summary>
    public async Task<Page<ProfileMerge>> ListMergesAsync(string id, int pageSize, string pageToken, CancellationToken cancellationToken)
    {
        var profile = await store.GetAsync(id, cancellationToken) ?? throw new NotFoundException("Profile", "profiles/" + id);
        return await store.ListMergesAsync(profile.Id, pageSize, pageToken, cancellationToken);
    }

    /// <summary>Waits until <paramref name="profileId"/> changes or <paramref name="poll"/> passes.</summary>
    public async Task WaitForChangeAsync(string profileId, TimeSpan poll, CancellationToken cancellationToken)
    {
        try
        {
            await changes.NextChangeAsync(profileId).WaitAsync(poll, time, cancellationToken);
        }
        catch (TimeoutException)
        {
            // Re-read anyway: another replica may have written it.
        }
    }

    /// <summary>Everything held about the person holding <paramref name="identifier"/>.</summary>
    public async Task<ProfileExport> ExportAsync(GivenIdentifier identifier, CancellationToken cancellationToken)
    {
        var read = await LookupAsync(identifier, "identifier", cancellationToken);
        var profile = read.Profile;
        var clear = profile.Traits.ToDictionary(t => t.Key, t => CustomerProfile.ProtectedTraitKeys.Contains(t.Key) ? protector.Unprotect(t.Value) : t.Value, StringComparer.Ordinal);
        var merges = new List<ProfileMerge>();
        var token = "";
        do
        {
            var page = await store.ListMergesAsync(profile.Id, 500, token, cancellationToken);
            merges.AddRange(page.Items);
            token = page.NextPageToken;
        }
        while (token.Length > 0);

        var aliases = await store.AliasesOfAsync(profile.Id, cancellationToken);
        return new ProfileExport(read, clear, merges, aliases, time.GetUtcNow());
    }
}
