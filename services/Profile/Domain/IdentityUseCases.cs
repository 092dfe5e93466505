using Journey.Shared.Errors;
using Journey.Shared.Privacy;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Journey.Profile.Domain;

/// <summary>The outcome of Identify.</summary>
public sealed record IdentifyResult(ProfileRead Profile, bool Created, IReadOnlyList<string> MergedIds, IReadOnlyList<string> ConflictIds);

/// <summary>
/// Identity resolution on a caller's word: Identify (create, attach, merge) and the operator's merge
/// of two profiles. Each reads the store once, resolves in memory and writes one transaction (with its
/// events), retrying when a concurrent writer got there first.
/// </summary>
public sealed partial class IdentityUseCases(
    IdentityWrites writes,
    ProfileInput input,
    PersonalDataProtector protector,
    IOptions<ProfileOptions> options,
    TimeProvider time,
    ILogger<IdentityUseCases> logger)
{
    /// <summary>Identifies a person; see the proto for the rules.</summary>
    public async Task<IdentifyResult> IdentifyAsync(IReadOnlyList<GivenIdentifier> identifiers, IReadOnlyDictionary<string, string> traits, CancellationToken cancellationToken)
    {
        var validation = new Validation();
        var keys = input.Keys(identifiers, "identifiers", validation, hashed: false);
        ProfileInput.ValidateTraits(traits, validation);
        validation.ThrowIfInvalid();

        using var activity = ProfileTelemetry.Source.StartActivity("profile.identify");
        activity?.SetTag("journey.profile.identifiers", keys.Count);
        // Another writer claimed an identifier or changed a profile between read and write: resolve again.
        var result = await ConflictRetry.RunAsync(_ => IdentifyOnceAsync(identifiers, keys, traits, cancellationToken), ConflictRetry.LostRace, time, cancellationToken);
        activity?.SetTag("journey.profile.created", result.Created);
        activity?.SetTag("journey.profile.merged", result.MergedIds.Count);
        activity?.SetTag("journey.profile.conflicts", result.ConflictIds.Count);
        return result;
    }

    private async Task<IdentifyResult> IdentifyOnceAsync(IReadOnlyList<GivenIdentifier> given, List<IdentifierKey> keys, IReadOnlyDictionary<string, string> traits, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var workspace = await writes.LoadAsync(keys, cancellationToken);
        var resolution = workspace.Resolve(keys, now, strictProfileIds: true);
        var target = resolution.Target;
        foreach (var (key, value) in traits)
        {
            target.Traits[key] = CustomerProfile.ProtectedTraitKeys.Contains(key) ? protector.Protect(value) : value;
        }

        // The clear address is kept only for the customer who holds it, and only encrypted.
        for (var i = 0; i < given.Count; i++)
        {
            if (given[i].Kind is IdentifierKind.Email or IdentifierKind.Phone && target.Holds(keys[i]))
            {
                var clear = given[i].Kind == IdentifierKind.Email ? IdentifierHasher.NormalizeEmail(given[i].Value) : IdentifierHasher.NormalizePhone(given[i].Value);
                target.Traits[given[i].Kind == IdentifierKind.Email ? "email" : "phone"] = protector.Protect(clear);
            }
        }

        await writes.SaveAsync(workspace, now, null, [], [], cancellationToken);
        return new IdentifyResult(ProfileRead.Of(target, options.Value, now), resolution.Created, resolution.MergedIds, resolution.ConflictIds);
    }

    /// <summary>
    /// Merges two profiles an operator says are one person (two known customers included, which
    /// identity resolution never merges on its own), with the reason kept in the audit trail.
    /// </summary>
    public async Task<ProfileRead> MergeByOperatorAsync(string survivorId, string mergedId, string reason, string caller, CancellationToken cancellationToken)
    {
        var validation = new Validation();
        validation.Require(ProfileInput.IsProfileId(survivorId), "survivor", "must be profiles/{profile} with 32 lower-case hex digits");
        validation.Require(ProfileInput.IsProfileId(mergedId), "merged", "must be profiles/{profile} with 32 lower-case hex digits");
        validation.Require(!string.IsNullOrWhiteSpace(reason) && reason.Length <= 500, "reason", "must say why the two are one person, 1 to 500 characters");
        validation.ThrowIfInvalid();
        return await ConflictRetry.RunAsync(
            async _ =>
            {
                var now = time.GetUtcNow();
                var workspace = await writes.LoadAsync([new(IdentifierKind.ProfileId, survivorId), new(IdentifierKind.ProfileId, mergedId)], cancellationToken);
                var merge = workspace.MergeByOperator(survivorId, mergedId, now);
                await writes.SaveAsync(workspace, now, null, [], [], cancellationToken);
                LogOperatorMerge(logger, merge.MergedId, merge.SurvivorId, caller, reason);
                return ProfileRead.Of(workspace.Find(merge.SurvivorId)!, options.Value, now);
            },
            ConflictRetry.LostRace,
            time,
            cancellationToken);
    }

    [LoggerMessage(EventId = 3, EventName = "OperatorMerge", Level = LogLevel.Information, Message = "Audit: profile {Merged} merged into {Survivor} by {Caller}: {Reason}")]
    private static partial void LogOperatorMerge(ILogger logger, string merged, string survivor, string caller, string reason);
}
