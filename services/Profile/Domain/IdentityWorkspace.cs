using Journey.Shared.Errors;

namespace Journey.Profile.Domain;

/// <summary>The outcome of resolving one set of identifiers.</summary>
/// <param name="Target">The profile the identifiers now belong to.</param>
/// <param name="Created">True when it was created by this resolution.</param>
/// <param name="MergedIds">Profiles merged into it.</param>
/// <param name="ConflictIds">Known customers linked but not merged.</param>
public sealed record Resolution(CustomerProfile Target, bool Created, IReadOnlyList<string> MergedIds, IReadOnlyList<string> ConflictIds);

/// <summary>
/// Identity resolution over the profiles one use case (or one event batch) touches, in memory: the
/// store is read once before and written once after, whatever the number of resolutions.
/// </summary>
/// <remarks>
/// Rules: each identifier has at most one live owner; an anonymous profile linked to another
/// merges into it (into a known one when there is one); two known customers never merge: strong
/// identifiers (customer id, e-mail) stay where they are, weak ones (cookie, device, ad click,
/// phone) attach to the most recently identified customer, and the conflict is recorded on both.
/// </remarks>
public sealed class IdentityWorkspace
{
    private readonly ProfileOptions _options;
    private readonly Func<DateTimeOffset, string> _newId;
    private readonly Dictionary<string, CustomerProfile> _profiles = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _storedVersions = new(StringComparer.Ordinal);
    private readonly Dictionary<IdentifierKey, string> _owners = [];
    private readonly Dictionary<IdentifierKey, string> _storedOwners = [];
    private readonly Dictionary<string, string> _aliases = new(StringComparer.Ordinal);
    private readonly HashSet<string> _changed = new(StringComparer.Ordinal);
    private readonly List<MergedAway> _mergedAway = [];
    private readonly List<ProfileMerge> _merges = [];
    private readonly List<MembershipChange> _memberships = [];

    /// <summary>Starts from what the store returned.</summary>
    public IdentityWorkspace(IdentitySnapshot snapshot, ProfileOptions options, Func<DateTimeOffset, string> newId)
    {
        _options = options;
        _newId = newId;
        foreach (var profile in snapshot.Profiles)
        {
            _profiles[profile.Id] = profile;
            _storedVersions[profile.Id] = profile.Version;
            foreach (var held in profile.Identifiers)
            {
                _owners[held.Key] = profile.Id;
                _storedOwners[held.Key] = profile.Id;
            }
        }

        foreach (var (key, owner) in snapshot.Owners)
        {
            _owners[key] = owner;
            _storedOwners[key] = owner;
        }

        foreach (var (merged, survivor) in snapshot.Aliases)
        {
            _aliases[merged] = survivor;
        }
    }

    /// <summary>Profiles changed so far (live ones only).</summary>
    public IEnumerable<CustomerProfile> Changed => _changed.Where(_profiles.ContainsKey).Select(id => _profiles[id]);

    /// <summary>Merges done so far.</summary>
    public IReadOnlyList<ProfileMerge> Merges => _merges;

    /// <summary>Conflicts recorded so far (one per pair and call).</summary>
    public int ConflictsRecorded { get; private set; }

    /// <summary>Identifiers not attached so far because the profile had reached its limit for their kind.</summary>
    public int IdentifiersOverLimit { get; private set; }

    /// <summary>Membership changes added so far.</summary>
    public List<MembershipChange> Memberships => _memberships;

    /// <summary>Marks a profile as changed.</summary>
    public void Touch(CustomerProfile profile) => _changed.Add(profile.Id);

    /// <summary>The live profile with this id or merged-away id; null when unknown.</summary>
    public CustomerProfile? Find(string id)
    {
        for (var hops = 0; hops < 64 && _aliases.TryGetValue(id, out var survivor); hops++)
        {
            id = survivor;
        }

        return _profiles.GetValueOrDefault(id);
    }

    /// <summary>
    /// Resolves <paramref name="identifiers"/> at <paramref name="at"/>. A profile id that names no
    /// profile raises <see cref="NotFoundException"/> when <paramref name="strictProfileIds"/>, else is ignored.
    /// </summary>
    public Resolution Resolve(IReadOnlyList<IdentifierKey> identifiers, DateTimeOffset at, bool strictProfileIds)
    {
        var found = new List<(IdentifierKey Key, CustomerProfile Profile)>();
        foreach (var key in identifiers)
        {
            CustomerProfile? owner;
            if (key.Kind == IdentifierKind.ProfileId)
            {
                owner = Find(key.Value);
                if (owner is null && strictProfileIds)
                {
                    throw new NotFoundException("Profile", "profiles/" + key.Value);
                }
            }
            else
            {
                owner = _owners.TryGetValue(key, out var id) ? _profiles.GetValueOrDefault(id) : null;
            }

            if (owner is not null)
            {
                found.Add((key, owner));
            }
        }

        // A handful of profiles at most: a list compares references without hashing each profile object.
        var involved = new List<CustomerProfile>(found.Count);
        foreach (var (_, profile) in found)
        {
            if (!involved.Contains(profile))
            {
                involved.Add(profile);
            }
        }

        var claimsKnown = identifiers.Any(k => k.IsKnown);
        var target = ChooseTarget(identifiers, found, involved, claimsKnown);
        var created = false;
        if (target is null)
        {
            target = new CustomerProfile(_newId(at), at);
            _profiles[target.Id] = target;
            _storedVersions[target.Id] = 0;
            created = true;
        }

        _changed.Add(target.Id);
        var mergedIds = new List<string>();
        var conflictIds = new List<string>();
        foreach (var other in involved.Where(p => p != target))
        {
            var link = found.First(f => f.Profile == other).Key.Kind;
            if (other.CustomerType == CustomerType.Anonymous)
            {
                Merge(target, other, link, at);
                mergedIds.Add(other.Id);
            }
            else
            {
                target.RecordConflict(other.Id, link, at);
                other.RecordConflict(target.Id, link, at);
                _changed.Add(other.Id);
                conflictIds.Add(other.Id);
                ConflictsRecorded++;
            }
        }

        for (var i = 0; i < identifiers.Count; i++)
        {
            var key = identifiers[i];
            if (key.Kind == IdentifierKind.ProfileId || SeenBefore(identifiers, i))
            {
                continue;
            }

            if (!_owners.TryGetValue(key, out var ownerId))
            {
                if (WithinLimit(target, key, at))
                {
                    Attach(target, key, at);
                }
            }
            else if (ownerId != target.Id && !key.IsKnown && _profiles.GetValueOrDefault(ownerId) is { } previous && WithinLimit(target, key, at))
            {
                // A weak identifier follows the customer who used it last; a strong one never moves.
                previous.Identifiers.RemoveAll(h => h.Key == key);
                _changed.Add(previous.Id);
                Attach(target, key, at);
            }
        }

        if (claimsKnown)
        {
            target.LastIdentifiedAt = at;
        }

        EnforceAnonymousCap(target);
        return new Resolution(target, created, mergedIds, conflictIds);
    }

    /// <summary>
    /// Merges <paramref name="mergedId"/> into <paramref name="survivorId"/> because an operator says
    /// they are one person: the only way two known customers merge. Every identifier moves, both
    /// customer ids included (the operator's word outweighs the per-kind limits), and the conflicts
    /// the two recorded about each other are dropped. The merge is recorded as linked by
    /// <see cref="IdentifierKind.ProfileId"/>: the operator named both profiles.
    /// </summary>
    public ProfileMerge MergeByOperator(string survivorId, string mergedId, DateTimeOffset at)
    {
        var survivor = Find(survivorId) ?? throw new NotFoundException("Profile", "profiles/" + survivorId);
        var merged = Find(mergedId) ?? throw new NotFoundException("Profile", "profiles/" + mergedId);
        if (survivor == merged)
        {
            throw new FailedPreconditionException(ErrorReasons.ProfilesAlreadyMerged, $"profiles/{mergedId} is already profiles/{survivor.Id}: nothing to merge.");
        }

        survivor.Conflicts.RemoveAll(c => c.OtherProfileId == merged.Id);
        merged.Conflicts.RemoveAll(c => c.OtherProfileId == survivor.Id);
        _changed.Add(survivor.Id);
        Merge(survivor, merged, IdentifierKind.ProfileId, at);
        if (merged.LastIdentifiedAt is { } identified && (survivor.LastIdentifiedAt is null || identified > survivor.LastIdentifiedAt))
        {
            survivor.LastIdentifiedAt = identified;
        }

        return _merges[^1];
    }

    private static CustomerProfile? ChooseTarget(IReadOnlyList<IdentifierKey> identifiers, List<(IdentifierKey Key, CustomerProfile Profile)> found, List<CustomerProfile> involved, bool claimsKnown)
    {
        var named = found.Where(f => f.Key.Kind == IdentifierKind.ProfileId).Select(f => f.Profile).FirstOrDefault();
        if (!claimsKnown)
        {
            return named
                ?? involved.Where(p => p.CustomerType == CustomerType.Known).MaxBy(p => p.LastIdentifiedAt ?? p.CreatedAt)
                ?? involved.MinBy(p => p.CreatedAt);
        }

        var customerId = identifiers.FirstOrDefault(k => k.Kind == IdentifierKind.CustomerId).Value;
        var byCustomer = found.Where(f => f.Key.Kind == IdentifierKind.CustomerId).Select(f => f.Profile).FirstOrDefault();
        if (byCustomer is not null)
        {
            return byCustomer;
        }

        var claimed = found.Where(f => f.Key.IsKnown || f.Key.Kind == IdentifierKind.ProfileId).Select(f => f.Profile).Distinct().ToList();
        var compatible = claimed.Where(p => p.CustomerId is null || customerId is null || p.CustomerId == customerId)
            .Where(p => p.CustomerType == CustomerType.Known || p == named).ToList();
        if (compatible.Count > 0)
        {
            return compatible.MaxBy(p => p.LastIdentifiedAt ?? p.CreatedAt);
        }

        if (claimed.Any(p => p.CustomerType == CustomerType.Known))
        {
            // The strong identifiers belong to another customer: this is a new person.
            return null;
        }

        return named ?? involved.Where(p => p.CustomerType == CustomerType.Anonymous).MinBy(p => p.CreatedAt);
    }

    private void Attach(CustomerProfile target, IdentifierKey key, DateTimeOffset at)
    {
        target.Identifiers.Add(new HeldIdentifier(key, at));
        _owners[key] = target.Id;
    }

    /// <summary>
    /// Whether <paramref name="target"/> may take one more identifier of <paramref name="key"/>'s kind:
    /// at most one customer id ever, <see cref="ProfileOptions.MaxEmails"/> e-mails and
    /// <see cref="ProfileOptions.MaxPhones"/> phones, and <see cref="ProfileOptions.MaxNewAnonymousIdentifiersPerWeek"/>
    /// anonymous identifiers added in the seven days up to <paramref name="at"/>. An identifier past
    /// its limit stays with no profile: the call still resolves to the target, and a later call that
    /// names only that identifier starts a profile of its own, so one shared value (a family's
    /// address, a kiosk's cookie) cannot pull ever more people into one profile.
    /// </summary>
    private bool WithinLimit(CustomerProfile target, IdentifierKey key, DateTimeOffset at)
    {
        var (limit, since) = key.Kind switch
        {
            IdentifierKind.CustomerId => (1, DateTimeOffset.MinValue),
            IdentifierKind.Email => (_options.MaxEmails, DateTimeOffset.MinValue),
            IdentifierKind.Phone => (_options.MaxPhones, DateTimeOffset.MinValue),
            _ when key.IsAnonymous => (_options.MaxNewAnonymousIdentifiersPerWeek, at - TimeSpan.FromDays(7)),
            _ => (int.MaxValue, DateTimeOffset.MinValue),
        };
        var held = 0;
        foreach (var identifier in target.Identifiers)
        {
            var sameKind = key.IsAnonymous ? identifier.Key.IsAnonymous : identifier.Key.Kind == key.Kind;
            held += sameKind && identifier.AddedAt > since ? 1 : 0;
        }

        if (held < limit)
        {
            return true;
        }

        IdentifiersOverLimit++;
        return false;
    }

    private static bool SeenBefore(IReadOnlyList<IdentifierKey> identifiers, int index)
    {
        for (var j = 0; j < index; j++)
        {
            if (identifiers[j] == identifiers[index])
            {
                return true;
            }
        }

        return false;
    }

    private void EnforceAnonymousCap(CustomerProfile target)
    {
        // Runs for every interaction: count before sorting, as a profile is almost always under the cap.
        var count = 0;
        foreach (var held in target.Identifiers)
        {
            count += held.Key.IsAnonymous ? 1 : 0;
        }

        if (count <= _options.MaxAnonymousIdentifiers)
        {
            return;
        }

        var anonymous = target.Identifiers.Where(h => h.Key.IsAnonymous).OrderBy(h => h.AddedAt).ToList();
        foreach (var dropped in anonymous.Take(anonymous.Count - _options.MaxAnonymousIdentifiers))
        {
            target.Identifiers.Remove(dropped);
            _owners.Remove(dropped.Key);
        }
    }

    private void Merge(CustomerProfile survivor, CustomerProfile merged, IdentifierKind linkedBy, DateTimeOffset at)
    {
        // Both sides as they are now: the edge keeps them so the merge can be undone.
        var undo = new MergeUndo(survivor.Clone(), merged.Clone());
        var moved = merged.Identifiers.Where(h => !survivor.Holds(h.Key)).ToList();
        foreach (var held in moved)
        {
            survivor.Identifiers.Add(held);
            _owners[held.Key] = survivor.Id;
        }

        survivor.Identifiers.Sort((a, b) => a.AddedAt.CompareTo(b.AddedAt));
        JourneyRules.Combine(survivor, merged, _options);
        if (merged.LastIdentifiedAt > survivor.LastIdentifiedAt || survivor.LastIdentifiedAt is null)
        {
            survivor.LastIdentifiedAt = merged.LastIdentifiedAt;
        }

        foreach (var segment in merged.Segments)
        {
            _memberships.Add(new MembershipChange(segment, merged.Id, Entered: false));
        }

        _profiles.Remove(merged.Id);
        _changed.Remove(merged.Id);
        _aliases[merged.Id] = survivor.Id;
        foreach (var alias in _aliases.Where(a => a.Value == merged.Id).Select(a => a.Key).ToList())
        {
            _aliases[alias] = survivor.Id;
        }

        _mergedAway.Add(new MergedAway(merged.Id, _storedVersions.GetValueOrDefault(merged.Id), survivor.Id));
        survivor.OpenMerges += merged.OpenMerges + 1;
        _merges.Add(new ProfileMerge(survivor.Id, merged.Id, linkedBy, at, moved.Select(h => h.Key).ToList()) { Undo = undo });
    }

    /// <summary>The writes: every changed live profile with its next version, merges, identifier moves and releases.</summary>
    public (IReadOnlyList<SavedProfile> Saved, IReadOnlyList<MergedAway> Merged, IReadOnlyList<IdentifierClaim> Claims, IReadOnlyList<IdentifierRelease> Releases) Writes(DateTimeOffset now)
    {
        var saved = new List<SavedProfile>();
        foreach (var profile in Changed)
        {
            var expected = _storedVersions[profile.Id];
            profile.Version = expected + 1;
            profile.UpdatedAt = now;
            saved.Add(new SavedProfile(profile, expected));
        }

        var claims = new List<IdentifierClaim>();
        foreach (var (key, owner) in _owners)
        {
            var stored = _storedOwners.GetValueOrDefault(key);
            if (stored != owner)
            {
                claims.Add(new IdentifierClaim(key, owner, stored));
            }
        }

        var releases = _storedOwners.Where(s => !_owners.ContainsKey(s.Key)).Select(s => new IdentifierRelease(s.Key, s.Value)).ToList();
        return (saved, _mergedAway, claims, releases);
    }
}
