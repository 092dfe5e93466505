using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Journey.Shared.Errors;

namespace Journey.Consent.Domain;

/// <summary>Purposes and policy versions.</summary>
public sealed partial class CatalogUseCases(IPurposeCatalog catalog, PurposeDirectory directory, TimeProvider time, RequestLog requests)
{
    private static readonly TimeSpan MaxValidity = TimeSpan.FromDays(36525);

    /// <summary>Defines a purpose.</summary>
    public async Task<Purpose> CreatePurposeAsync(string purposeId, PurposeInput? input, CancellationToken cancellationToken)
    {
        var now = Clock.Now(time);
        var validation = new Validation();
        validation.Require(PurposeId().IsMatch(purposeId), "purpose_id", "must be 1 to 63 lower-case letters, digits or '-', starting with a letter");
        var purpose = await ValidateAsync(input, validation, cancellationToken);
        validation.ThrowIfInvalid();
        var created = purpose! with { Id = purposeId, Version = 1, CreatedAt = now, UpdatedAt = now };
        await catalog.CreatePurposeAsync(created, cancellationToken);
        directory.Invalidate();
        return created;
    }

    /// <summary>Reads a purpose.</summary>
    public async Task<Purpose> GetPurposeAsync(string name, CancellationToken cancellationToken)
    {
        var id = ConsentNames.IdOf(name, "purposes") ?? throw new InvalidArgumentException("name", "must be purposes/{purpose}");
        return await catalog.GetPurposeAsync(id, cancellationToken) ?? throw new NotFoundException("Purpose", name);
    }

    /// <summary>A page of purposes by id.</summary>
    public async Task<(IReadOnlyList<Purpose> Purposes, string NextPageToken)> ListPurposesAsync(int pageSize, string pageToken, CancellationToken cancellationToken)
    {
        var validation = new Validation();
        var size = ConsentLimits.PageSize(pageSize, validation);
        validation.Require(pageToken.Length == 0 || PurposeId().IsMatch(pageToken), "page_token", "is not a token this service returned");
        validation.ThrowIfInvalid();
        var page = await catalog.ListPurposesAsync(pageToken, size + 1, cancellationToken);
        var purposes = page.Take(size).ToList();
        return (purposes, page.Count > size ? purposes[^1].Id : "");
    }

    /// <summary>Changes the settings in <paramref name="mask"/>; <paramref name="etag"/>, when not empty, must be current.</summary>
    public async Task<Purpose> UpdatePurposeAsync(string name, string etag, PurposeInput? input, PurposeFieldMask mask, CancellationToken cancellationToken)
    {
        var id = ConsentNames.IdOf(name, "purposes") ?? throw new InvalidArgumentException("purpose.name", "must be purposes/{purpose}");
        if (input is null)
        {
            throw new InvalidArgumentException("purpose", "is required");
        }

        var existing = await catalog.GetPurposeAsync(id, cancellationToken) ?? throw new NotFoundException("Purpose", name);
        if (etag.Length > 0 && etag != existing.Etag)
        {
            throw new ConcurrencyConflictException("Purpose", name);
        }

        // The masked settings come from the request, the others stay; the result is validated whole.
        var merged = new PurposeInput(
            mask.HasFlag(PurposeFieldMask.Description) ? input.Description : existing.Description,
            mask.HasFlag(PurposeFieldMask.LegalBasis) ? input.LegalBasis : (int)existing.LegalBasis,
            mask.HasFlag(PurposeFieldMask.Channels) ? input.Channels : [.. existing.Channels.Channels()],
            mask.HasFlag(PurposeFieldMask.Default) ? input.Default : (int)existing.Default,
            mask.HasFlag(PurposeFieldMask.Validity) ? input.Validity : existing.Validity,
            mask.HasFlag(PurposeFieldMask.MinimumPolicyVersion) ? input.MinimumPolicyVersion : existing.MinimumPolicyVersion);
        var validation = new Validation();
        var purpose = await ValidateAsync(merged, validation, cancellationToken);
        validation.ThrowIfInvalid();
        var updated = purpose! with { Id = existing.Id, Version = existing.Version + 1, CreatedAt = existing.CreatedAt, UpdatedAt = Clock.Now(time) };
        await catalog.UpdatePurposeAsync(updated, cancellationToken);
        directory.Invalidate();
        return updated;
    }

    /// <summary>
    /// Stores the next policy version. With a request id seen before, stores nothing and answers with
    /// the version the first request created.
    /// </summary>
    public async Task<PolicyVersion> CreatePolicyVersionAsync(string text, string requestIdText, CancellationToken cancellationToken)
    {
        var now = Clock.Now(time);
        var validation = new Validation();
        var requestId = RequestIds.Parse(requestIdText, validation);
        var fingerprint = requests.Fingerprint(requestId, () => new RequestFingerprint("CreatePolicyVersion").Add(text));
        if (await requests.FindAsync(requestId, fingerprint, cancellationToken) is { } replay)
        {
            return await CreatedAsync(replay, cancellationToken);
        }

        validation.Require(text.Length is > 0 and <= ConsentLimits.MaxPolicyTextLength && !string.IsNullOrWhiteSpace(text), "text", $"must be 1 to {ConsentLimits.MaxPolicyTextLength} characters");
        validation.ThrowIfInvalid();
        var sha = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
        Func<int, RequestClaim>? claim = requestId is null ? null : version => requests.Claim(requestId, fingerprint, new RequestOutcome([], [], null, version), now)!;
        PolicyVersion created;
        try
        {
            created = await catalog.CreatePolicyVersionAsync(text, sha, now, claim, cancellationToken);
        }
        catch (ConcurrencyConflictException) when (requestId is not null)
        {
            // Another call with the same request id stored its version first.
            return await CreatedAsync(await requests.FindAsync(requestId, fingerprint, cancellationToken) ?? throw new ConcurrencyConflictException("Request", requestId), cancellationToken);
        }

        directory.Invalidate();
        return created;
    }

    private async Task<PolicyVersion> CreatedAsync(RequestOutcome outcome, CancellationToken cancellationToken) =>
        outcome.PolicyVersion is { } version && await catalog.GetPolicyVersionAsync(version, cancellationToken) is { } created
            ? created
            : throw new NotFoundException("Policy version", outcome.PolicyVersion is { } missing ? PolicyVersionName(missing) : "");

    /// <summary>Reads a policy version.</summary>
    public async Task<PolicyVersion> GetPolicyVersionAsync(string name, CancellationToken cancellationToken)
    {
        var version = VersionOf(name) ?? throw new InvalidArgumentException("name", "must be policyVersions/{policy_version}");
        return await catalog.GetPolicyVersionAsync(version, cancellationToken) ?? throw new NotFoundException("Policy version", name);
    }

    /// <summary>A page of policy versions, oldest first.</summary>
    public async Task<(IReadOnlyList<PolicyVersion> Versions, string NextPageToken)> ListPolicyVersionsAsync(int pageSize, string pageToken, CancellationToken cancellationToken)
    {
        var validation = new Validation();
        var size = ConsentLimits.PageSize(pageSize, validation);
        var after = 0;
        validation.Require(pageToken.Length == 0 || (int.TryParse(pageToken, NumberStyles.None, CultureInfo.InvariantCulture, out after) && after > 0), "page_token", "is not a token this service returned");
        validation.ThrowIfInvalid();
        var page = await catalog.ListPolicyVersionsAsync(after, size + 1, cancellationToken);
        var versions = page.Take(size).ToList();
        return (versions, page.Count > size ? versions[^1].Version.ToString(CultureInfo.InvariantCulture) : "");
    }

    /// <summary>The name of a policy version.</summary>
    public static string PolicyVersionName(int version) => "policyVersions/" + version.ToString(CultureInfo.InvariantCulture);

    private static int? VersionOf(string name) =>
        ConsentNames.IdOf(name, "policyVersions") is { } id && int.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var version) && version > 0 ? version : null;

    private async Task<Purpose?> ValidateAsync(PurposeInput? input, Validation validation, CancellationToken cancellationToken)
    {
        if (input is null)
        {
            validation.Add("purpose", "is required");
            return null;
        }

        validation.Require(!string.IsNullOrWhiteSpace(input.Description) && input.Description.Length <= ConsentLimits.MaxDescriptionLength, "purpose.description", $"must be 1 to {ConsentLimits.MaxDescriptionLength} characters");
        validation.Require(input.LegalBasis is >= 1 and <= 4, "purpose.legal_basis", "is required");
        validation.Require(input.Default is 1 or 2, "purpose.default_decision", "is required");
        validation.Require(input.Channels.Count > 0, "purpose.channels", "at least one channel is required");
        var bits = 0;
        for (var i = 0; i < input.Channels.Count; i++)
        {
            var channel = input.Channels[i];
            if (channel is < 1 or > ConsentLimits.MaxKnownChannel)
            {
                validation.Add($"purpose.channels[{i}]", "must be a known channel");
            }
            else if ((bits & (1 << channel)) != 0)
            {
                validation.Add($"purpose.channels[{i}]", "is listed twice");
            }
            else
            {
                bits |= 1 << channel;
            }
        }

        var validity = input.Validity;
        validation.Require(validity is null || (validity >= TimeSpan.Zero && validity <= MaxValidity), "purpose.validity", "must be between 0 and 100 years");
        if (input.MinimumPolicyVersion != 0)
        {
            validation.Require(
                input.MinimumPolicyVersion > 0 && await directory.PolicyVersionExistsAsync(input.MinimumPolicyVersion, cancellationToken),
                "purpose.minimum_policy_version",
                "must be 0 or an existing policy version");
        }

        return new Purpose("", input.Description, (LegalBasis)input.LegalBasis, new ChannelMask(bits), (DefaultDecision)input.Default,
            validity is { } v && v > TimeSpan.Zero ? v : null, input.MinimumPolicyVersion, 0, default, default);
    }

    [GeneratedRegex("^[a-z][a-z0-9-]{0,62}$")]
    private static partial Regex PurposeId();
}
