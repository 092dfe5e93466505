using System.Security.Cryptography;
using System.Text;
using Journey.Shared.Errors;
using Journey.Shared.Paging;

namespace Journey.Touchpoint.Domain;

/// <summary>The fields of a source a caller sets.</summary>
/// <param name="DisplayName">A name people read.</param>
/// <param name="AllowedOrigins">Browser origins allowed to send.</param>
/// <param name="RequestsPerSecond">Most requests a second; 0 for the default.</param>
/// <param name="Plan">The tracking plan.</param>
public sealed record TrackingSourceFields(string DisplayName, IReadOnlyList<string> AllowedOrigins, int RequestsPerSecond, TrackingPlan Plan);

/// <summary>Which fields of a source an update changes.</summary>
[Flags]
public enum TrackingSourceFieldMask
{
    /// <summary>None.</summary>
    None = 0,

    /// <summary>The display name.</summary>
    DisplayName = 1,

    /// <summary>The allowed browser origins.</summary>
    AllowedOrigins = 2,

    /// <summary>The request rate.</summary>
    RequestsPerSecond = 4,

    /// <summary>The tracking plan.</summary>
    Plan = 8,
}

/// <summary>
/// Creates and changes tracking sources and their write keys. A key is shown once, when created;
/// only its SHA-256 hash is stored (keys are 160 random bits, so a fast hash is as safe as a slow one).
/// </summary>
public sealed class TrackingSources(ITrackingSourceStore store, ITouchpointCatalogStore catalog, TimeProvider clock)
{
    /// <summary>Requests a second a source gets when it names no rate.</summary>
    public const int DefaultRequestsPerSecond = 200;

    /// <summary>Most rules of each kind in a plan.</summary>
    public const int MaxRules = 500;

    /// <summary>Most consent categories in a plan.</summary>
    public const int MaxConsentCategories = 50;

    /// <summary>Most distinct issues counted per source; later new names count as "(other)".</summary>
    public const int MaxDistinctIssues = 1000;

    /// <summary>Most keys a source holds, revoked ones included.</summary>
    public const int MaxKeys = 20;

    /// <summary>Creates a source under <paramref name="id"/>.</summary>
    public async Task<TrackingSource> CreateAsync(string id, TrackingSourceFields fields, CancellationToken cancellationToken)
    {
        var validation = new Validation();
        validation.Require(TrackingNames.IsId(id), "source_id", "must be 1 to 63 characters of a-z, 0-9 and '-', starting with a letter");
        await ValidateAsync(validation, fields, "source.", cancellationToken);
        validation.ThrowIfInvalid();

        var now = StoredTime.Now(clock);
        var source = new TrackingSource(id, fields.DisplayName, fields.AllowedOrigins, Rate(fields.RequestsPerSecond), fields.Plan, [], 1, now, now);
        await store.CreateAsync(source, cancellationToken);
        return source;
    }

    /// <summary>One source by name.</summary>
    public async Task<TrackingSource> GetAsync(string name, CancellationToken cancellationToken)
    {
        var id = Parse(name, "name");
        return await store.GetAsync(id, cancellationToken) ?? throw new NotFoundException("Source", name);
    }

    /// <summary>Changes the fields in <paramref name="mask"/>; <paramref name="etag"/>, when set, must be current.</summary>
    public async Task<TrackingSource> UpdateAsync(string name, TrackingSourceFields fields, TrackingSourceFieldMask mask, string etag, CancellationToken cancellationToken)
    {
        var id = Parse(name, "source.name");
        if (mask == TrackingSourceFieldMask.None)
        {
            throw new InvalidArgumentException("update_mask", "must name at least one of display_name, allowed_origins, requests_per_second, tracking_plan");
        }

        var current = await store.GetAsync(id, cancellationToken) ?? throw new NotFoundException("Source", name);
        CheckEtag(current, etag);
        var merged = new TrackingSourceFields(
            mask.HasFlag(TrackingSourceFieldMask.DisplayName) ? fields.DisplayName : current.DisplayName,
            mask.HasFlag(TrackingSourceFieldMask.AllowedOrigins) ? fields.AllowedOrigins : current.AllowedOrigins,
            mask.HasFlag(TrackingSourceFieldMask.RequestsPerSecond) ? fields.RequestsPerSecond : current.RequestsPerSecond,
            mask.HasFlag(TrackingSourceFieldMask.Plan) ? fields.Plan : current.Plan);
        var validation = new Validation();
        await ValidateAsync(validation, merged, "source.", cancellationToken);
        validation.ThrowIfInvalid();
        var updated = current with
        {
            DisplayName = merged.DisplayName,
            AllowedOrigins = merged.AllowedOrigins,
            RequestsPerSecond = Rate(merged.RequestsPerSecond),
            Plan = merged.Plan,
            Version = current.Version + 1,
            UpdatedAt = StoredTime.Now(clock),
        };
        await store.UpdateAsync(updated, current.Version, cancellationToken);
        return updated;
    }

    /// <summary>A page of sources by id, and the token of the next page.</summary>
    public async Task<(IReadOnlyList<TrackingSource> Page, string NextPageToken)> ListAsync(int pageSize, string pageToken, CancellationToken cancellationToken)
    {
        var validation = new Validation();
        validation.Require(pageSize >= 0, "page_size", "must not be negative");
        var afterId = PageTokens.TryDecode(pageToken);
        validation.Require(pageToken.Length == 0 || (afterId is not null && TrackingNames.IsId(afterId)), "page_token", "is not a token this listing returned");
        validation.ThrowIfInvalid();
        var size = PageTokens.Size(pageSize);
        var rows = await store.ListAsync(afterId, size + 1, cancellationToken);
        return rows.Count <= size ? (rows, "") : (rows.Take(size).ToList(), PageTokens.Encode(rows[size - 1].Id));
    }

    /// <summary>
    /// Adds a write key to a source and returns it in clear, the only time it is seen; with
    /// <paramref name="revokeKeyId"/>, revokes that key in the same change (rotation).
    /// </summary>
    public async Task<(TrackingSource Source, WriteKey Key, string Secret)> CreateKeyAsync(string name, string revokeKeyId, CancellationToken cancellationToken)
    {
        var id = Parse(name, "source");
        var current = await store.GetAsync(id, cancellationToken) ?? throw new NotFoundException("Source", name);
        if (revokeKeyId.Length > 0 && !current.WriteKeys.Any(k => k.Id == revokeKeyId))
        {
            throw new NotFoundException("Write key", $"{name}/keys/{revokeKeyId}");
        }

        if (current.WriteKeys.Count >= MaxKeys)
        {
            throw new FailedPreconditionException(ErrorReasons.WriteKeyLimitReached, $"Source '{name}' holds {MaxKeys} keys, the most it may: revoked keys count too, so create a new source to start afresh.");
        }

        var now = StoredTime.Now(clock);
        var secret = NewSecret();
        var key = new WriteKey(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6)), HashKey(secret), secret[^4..], now, null);
        var keys = current.WriteKeys.Select(k => k.Id == revokeKeyId && k.RevokedAt is null ? k with { RevokedAt = now } : k).Append(key).ToList();
        var updated = current with { WriteKeys = keys, Version = current.Version + 1, UpdatedAt = now };
        await store.UpdateAsync(updated, current.Version, cancellationToken);
        return (updated, key, secret);
    }

    /// <summary>Revokes a key: the tracking API answers 401 to it from now on. Revoking a revoked key changes nothing.</summary>
    public async Task<TrackingSource> RevokeKeyAsync(string name, string keyId, CancellationToken cancellationToken)
    {
        var id = Parse(name, "source");
        var current = await store.GetAsync(id, cancellationToken) ?? throw new NotFoundException("Source", name);
        var key = current.WriteKeys.FirstOrDefault(k => k.Id == keyId) ?? throw new NotFoundException("Write key", $"{name}/keys/{keyId}");
        if (key.RevokedAt is not null)
        {
            return current;
        }

        var now = StoredTime.Now(clock);
        var updated = current with
        {
            WriteKeys = current.WriteKeys.Select(k => k.Id == keyId ? k with { RevokedAt = now } : k).ToList(),
            Version = current.Version + 1,
            UpdatedAt = now,
        };
        await store.UpdateAsync(updated, current.Version, cancellationToken);
        return updated;
    }

    /// <summary>What the source sent that its plan does not map, and the plan's violations, most seen first.</summary>
    public async Task<IReadOnlyList<TrackingIssue>> ListIssuesAsync(string name, int pageSize, CancellationToken cancellationToken)
    {
        var id = Parse(name, "source");
        _ = await store.GetAsync(id, cancellationToken) ?? throw new NotFoundException("Source", name);
        return await store.ListIssuesAsync(id, PageTokens.Size(pageSize), cancellationToken);
    }

    /// <summary>The SHA-256 of a key, lower-case hex: what is stored and looked up.</summary>
    public static string HashKey(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    private static string NewSecret() => "jk" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(20));

    private static int Rate(int requested) => requested == 0 ? DefaultRequestsPerSecond : requested;

    private static string Parse(string name, string field) =>
        TrackingNames.TryParseSource(name) ?? throw new InvalidArgumentException(field, "must be sources/{source}");

    private static void CheckEtag(TrackingSource current, string etag)
    {
        if (etag.Length > 0 && etag != current.Version.ToString(System.Globalization.CultureInfo.InvariantCulture))
        {
            throw new ConcurrencyConflictException("Source", current.Name);
        }
    }

    private async Task ValidateAsync(Validation validation, TrackingSourceFields fields, string prefix, CancellationToken cancellationToken)
    {
        validation.Require(fields.DisplayName.Length is >= 1 and <= 200, prefix + "display_name", "must be 1 to 200 characters");
        validation.Require(fields.RequestsPerSecond is >= 0 and <= 100_000, prefix + "requests_per_second", "must be 1 to 100000, or 0 for the default of 200");
        validation.Require(fields.AllowedOrigins.Count <= 50, prefix + "allowed_origins", "must hold at most 50 origins");
        for (var i = 0; i < fields.AllowedOrigins.Count && i < 50; i++)
        {
            var origin = fields.AllowedOrigins[i];
            validation.Require(
                origin == "*" || (Uri.TryCreate(origin, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && uri.AbsolutePath == "/" && uri.Query.Length == 0),
                $"{prefix}allowed_origins[{i}]", "must be '*' or an origin such as https://shop.example (scheme, host and port only)");
        }

        var plan = fields.Plan;
        var touchpoints = new HashSet<string>(StringComparer.Ordinal);
        void Touchpoint(string id, string field)
        {
            if (TouchpointNames.IsValidId(id))
            {
                touchpoints.Add(id);
            }
            else
            {
                validation.Add(field, "must be touchpoints/{touchpoint}");
            }
        }

        validation.Require(plan.Events.Count <= MaxRules, prefix + "tracking_plan.events", $"must hold at most {MaxRules} rules");
        validation.Require(plan.Pages.Count <= MaxRules, prefix + "tracking_plan.pages", $"must hold at most {MaxRules} rules");
        validation.Require(plan.Traits.Count <= 20, prefix + "tracking_plan.traits", "must hold at most 20 rules");
        for (var i = 0; i < plan.Events.Count && i < MaxRules; i++)
        {
            var rule = plan.Events[i];
            var at = $"{prefix}tracking_plan.events[{i}].";
            validation.Require(rule.EventName.Length is >= 1 and <= 200, at + "event", "must be 1 to 200 characters");
            validation.Require(plan.Events.Take(i).All(e => e.EventName != rule.EventName), at + "event", "is mapped twice");
            Touchpoint(rule.Touchpoint, at + "touchpoint");
            validation.Require(rule.Type != InteractionType.Unspecified && Enum.IsDefined(rule.Type), at + "type", "must be a known interaction type");
            validation.Require(rule.RequiredProperties.Count <= 20 && rule.RequiredProperties.All(p => p.Length is >= 1 and <= 64), at + "required_properties", "must be at most 20 names of 1 to 64 characters");
        }

        for (var i = 0; i < plan.Pages.Count && i < MaxRules; i++)
        {
            var rule = plan.Pages[i];
            var at = $"{prefix}tracking_plan.pages[{i}].";
            validation.Require(rule.Name.Length > 0 || rule.PathPattern.Length > 0, at + "name", "a rule needs a name or a path pattern");
            validation.Require(rule.Name.Length <= 200, at + "name", "must be at most 200 characters");
            validation.Require(rule.PathPattern.Length == 0 || (rule.PathPattern.Length <= 200 && rule.PathPattern[0] == '/'), at + "path_pattern", "must start with '/' and be at most 200 characters");
            Touchpoint(rule.Touchpoint, at + "touchpoint");
            validation.Require(rule.Type != InteractionType.Unspecified && Enum.IsDefined(rule.Type), at + "type", "must be a known interaction type");
        }

        for (var i = 0; i < plan.Traits.Count && i < 20; i++)
        {
            var rule = plan.Traits[i];
            var at = $"{prefix}tracking_plan.traits[{i}].";
            validation.Require(rule.Trait.Length is >= 1 and <= 64, at + "trait", "must be 1 to 64 characters");
            validation.Require(rule.Kind is not (IdentifierKind.Unspecified or IdentifierKind.ProfileId) && Enum.IsDefined(rule.Kind), at + "kind", "must be a known identifier kind other than profile id");
        }

        validation.Require(plan.ConsentCategories.Count <= MaxConsentCategories, prefix + "tracking_plan.consent_categories", $"must hold at most {MaxConsentCategories} rules");
        for (var i = 0; i < plan.ConsentCategories.Count && i < MaxConsentCategories; i++)
        {
            var rule = plan.ConsentCategories[i];
            var at = $"{prefix}tracking_plan.consent_categories[{i}].";
            validation.Require(rule.Category.Length is >= 1 and <= 100, at + "category", "must be 1 to 100 characters");
            validation.Require(plan.ConsentCategories.Take(i).All(c => c.Category != rule.Category), at + "category", "is mapped twice");

            // The consent service's rule for purpose ids, so a plan cannot name a purpose no catalog could hold.
            validation.Require(TrackingNames.IsId(rule.PurposeId), at + "purpose", "must be purposes/{purpose}, the id 1 to 63 characters of a-z, 0-9 and '-', starting with a letter");
        }

        if (plan.AdTouchpoint.Length > 0)
        {
            Touchpoint(plan.AdTouchpoint, prefix + "tracking_plan.ad_touchpoint");
        }

        if (touchpoints.Count > 0 && validation.IsValid)
        {
            var known = await catalog.GetManyAsync(touchpoints, cancellationToken);
            foreach (var missing in touchpoints.Where(t => !known.ContainsKey(t)).Order(StringComparer.Ordinal))
            {
                validation.Add(prefix + "tracking_plan", $"names touchpoints/{missing}, which is not in the catalog");
            }
        }
    }
}
