using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Journey.Shared.Security;

/// <summary>
/// The bearer scheme's token handler: validates a JWT in full the first time it is seen and remembers
/// the outcome, so that a caller who sends the same token again is not charged another ES256
/// signature check, which cost about two thirds of the cheapest call's throughput.
/// </summary>
/// <remarks>
/// A remembered token is only ever accepted when full validation would accept it at that moment:
/// <list type="bullet">
/// <item>Entries are found by the whole token (ordinal string equality), so a token that differs in
/// any character (a changed payload or signature, or the same claims signed again) is a miss and
/// goes through full validation; a refused token is never remembered.</item>
/// <item>Entries belong to the validation inputs they were checked against: the signing keys (with
/// an authority, its current OpenID configuration), the accepted issuers and audiences. When any of
/// them changes, for example after a configuration refresh or key rotation, every entry is dropped.
/// A token accepted only through the last known good configuration is not remembered.</item>
/// <item>Lifetime is checked again on every hit through the same rule full validation applies
/// (<see cref="ValidateLifetime"/>, on the same clock and with the same clock skew): a token is
/// refused from the first instant after <c>exp</c> plus <see cref="TokenValidationParameters.ClockSkew"/>,
/// remembered or not.</item>
/// <item>Scopes are read from the claims by <see cref="CallPolicyInterceptor"/> on every call.</item>
/// </list>
/// Memory is bounded: at most <c>capacity</c> tokens of at most <see cref="MaxTokenLength"/>
/// characters. When the cache is full, expired entries go first, then the entry that expires soonest.
/// Validation settings whose outcome the cache cannot see (replay detection, key resolvers, custom
/// signature, issuer, audience, type or algorithm validators) make every call validate in full.
/// </remarks>
internal sealed class CachingTokenHandler : JsonWebTokenHandler
{
    /// <summary>The service key of the clock tokens' lifetimes are judged by (the wall clock, apart from the domain's clock that tests move).</summary>
    public const string ClockKey = "journey.auth.token-clock";

    /// <summary>The name of the meter the hit and miss counters belong to.</summary>
    public const string MeterName = "Journey.Auth";

    /// <summary>
    /// Longer tokens are validated on every call: with the capacity this bounds the memory the
    /// cache holds, and real access tokens are a few hundred bytes to a few kilobytes.
    /// </summary>
    public const int MaxTokenLength = 8 * 1024;

    private static readonly TimeSpan SweepInterval = TimeSpan.FromMinutes(1);

    private readonly TimeProvider _clock;
    private readonly int _capacity;
    private readonly Counter<long> _hits;
    private readonly Counter<long> _misses;
    private readonly Lock _gate = new();
    private Generation _generation = new(ValidationInputs.None);
    private DateTime _nextSweep;

    /// <summary>Creates the handler.</summary>
    /// <param name="clock">The clock lifetimes are judged by, on hits and (through <see cref="ValidateLifetime"/>) on full validations.</param>
    /// <param name="capacity">The most tokens remembered at once; 0 turns the cache off.</param>
    /// <param name="meter">The meter of <c>journey.auth.token_cache.hits</c> and <c>.misses</c>.</param>
    public CachingTokenHandler(TimeProvider clock, int capacity, Meter meter)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        _clock = clock;
        _capacity = capacity;
        _hits = meter.CreateCounter<long>("journey.auth.token_cache.hits", "{token}", "Bearer tokens accepted from the validated-token cache without checking their signature again.");
        _misses = meter.CreateCounter<long>("journey.auth.token_cache.misses", "{token}", "Bearer tokens validated in full (first sight, changed keys, expiry, or not cacheable).");
        meter.CreateObservableGauge("journey.auth.token_cache.entries", () => Volatile.Read(ref _generation).Count, "{token}", "Tokens held by the validated-token cache.");
    }

    /// <summary>The number of tokens remembered now.</summary>
    public int Count => Volatile.Read(ref _generation).Count;

    /// <inheritdoc />
    public override async Task<TokenValidationResult> ValidateTokenAsync(string token, TokenValidationParameters validationParameters)
    {
        if (_capacity == 0 || string.IsNullOrEmpty(token) || token.Length > MaxTokenLength || validationParameters is null || !Cacheable(validationParameters))
        {
            return await ValidateInFullAsync(token, validationParameters!);
        }

        BaseConfiguration? configuration = null;
        if (validationParameters.ConfigurationManager is { } manager)
        {
            try
            {
                configuration = await manager.GetBaseConfigurationAsync(CancellationToken.None);
            }
            catch (Exception)
            {
                // The issuer's configuration is unavailable: full validation reports it as it always has.
                return await ValidateInFullAsync(token, validationParameters);
            }
        }

        var generation = GenerationFor(validationParameters, configuration);
        if (generation.Entries.TryGetValue(token, out var entry))
        {
            if (StillValid(entry, validationParameters))
            {
                _hits.Add(1);
                return new TokenValidationResult
                {
                    IsValid = true,
                    SecurityToken = entry.Token,
                    ClaimsIdentity = CreateClaimsIdentity(entry.Token, validationParameters),
                    Issuer = entry.Issuer,
                    TokenType = entry.TokenType,
                };
            }

            Remove(generation, token, entry);
        }

        var result = await ValidateInFullAsync(token, validationParameters);
        if (result.IsValid && result.SecurityToken is JsonWebToken { IsEncrypted: false } validated && !validationParameters.ValidateWithLKG)
        {
            var notBefore = validated.ValidFrom == DateTime.MinValue ? (DateTime?)null : validated.ValidFrom;
            var expires = validated.ValidTo == DateTime.MinValue ? (DateTime?)null : validated.ValidTo;
            Add(generation, token, new Entry(validated, result.Issuer, result.TokenType, notBefore, expires, Deadline(expires, validationParameters)));
        }

        return result;
    }

    /// <summary>
    /// The lifetime rule of every validation (set as <see cref="TokenValidationParameters.LifetimeValidator"/>),
    /// the library's own rule on <see cref="TimeProvider"/> time: a token needs <c>exp</c> when
    /// <see cref="TokenValidationParameters.RequireExpirationTime"/> is set, and is valid from
    /// <c>nbf</c> − skew through <c>exp</c> + skew inclusive.
    /// </summary>
    public bool ValidateLifetime(DateTime? notBefore, DateTime? expires, SecurityToken securityToken, TokenValidationParameters validationParameters)
    {
        if (!validationParameters.ValidateLifetime)
        {
            return true;
        }

        if (expires is null && validationParameters.RequireExpirationTime)
        {
            return false;
        }

        if (notBefore > expires)
        {
            return false;
        }

        var now = _clock.GetUtcNow().UtcDateTime;
        var skew = validationParameters.ClockSkew;
        return !(notBefore > now + skew) && !(expires < now - skew);
    }

    private async Task<TokenValidationResult> ValidateInFullAsync(string token, TokenValidationParameters validationParameters)
    {
        _misses.Add(1);
        return await base.ValidateTokenAsync(token, validationParameters);
    }

    /// <summary>Settings that make the outcome depend on more than the token, the keys and the clock: every such call validates in full.</summary>
    private static bool Cacheable(TokenValidationParameters p) =>
        p.TokenReplayCache is null && p.TokenReplayValidator is null
        && p.IssuerSigningKeyResolver is null && p.IssuerSigningKeyResolverUsingConfiguration is null
        && p.SignatureValidator is null && p.SignatureValidatorUsingConfiguration is null
        && p.IssuerSigningKeyValidator is null && p.IssuerSigningKeyValidatorUsingConfiguration is null
        && p.IssuerValidator is null && p.IssuerValidatorUsingConfiguration is null
        && p.AudienceValidator is null && p.TypeValidator is null && p.AlgorithmValidator is null
        && p.TokenReader is null && p.TransformBeforeSignatureValidation is null
        && !p.ValidateActor && !p.ValidateWithLKG;

    private static bool StillValid(Entry entry, TokenValidationParameters validationParameters)
    {
        try
        {
            // The same call full validation makes, so the same rule, clock and skew decide.
            Validators.ValidateLifetime(entry.NotBefore, entry.Expires, entry.Token, validationParameters);
            return true;
        }
        catch (SecurityTokenValidationException)
        {
            return false;
        }
    }

    /// <summary>When the entry can be swept: the last instant the token is valid.</summary>
    private static DateTime Deadline(DateTime? expires, TokenValidationParameters validationParameters) =>
        expires is not { } exp || exp > DateTime.MaxValue - validationParameters.ClockSkew ? DateTime.MaxValue : exp + validationParameters.ClockSkew;

    private Generation GenerationFor(TokenValidationParameters validationParameters, BaseConfiguration? configuration)
    {
        var current = Volatile.Read(ref _generation);
        if (current.Inputs.Match(validationParameters, configuration))
        {
            return current;
        }

        lock (_gate)
        {
            if (!_generation.Inputs.Match(validationParameters, configuration))
            {
                Volatile.Write(ref _generation, new Generation(ValidationInputs.Of(validationParameters, configuration)));
            }

            return _generation;
        }
    }

    private void Add(Generation generation, string token, Entry entry)
    {
        lock (_gate)
        {
            if (generation != _generation)
            {
                return;
            }

            var now = _clock.GetUtcNow().UtcDateTime;
            if (generation.Count >= _capacity || now >= _nextSweep)
            {
                MakeRoom(generation, now);
                _nextSweep = now + SweepInterval;
            }

            if (generation.Entries.TryAdd(token, entry))
            {
                generation.Count++;
            }
        }
    }

    private void Remove(Generation generation, string token, Entry entry)
    {
        lock (_gate)
        {
            if (generation.Entries.TryRemove(KeyValuePair.Create(token, entry)))
            {
                generation.Count--;
            }
        }
    }

    /// <summary>Drops expired entries, then, while still full, the one that expires soonest. Runs under the gate.</summary>
    private void MakeRoom(Generation generation, DateTime now)
    {
        KeyValuePair<string, Entry>? soonest = null;
        foreach (var pair in generation.Entries)
        {
            if (pair.Value.Deadline < now)
            {
                if (generation.Entries.TryRemove(pair))
                {
                    generation.Count--;
                }
            }
            else if (soonest is null || pair.Value.Deadline < soonest.Value.Value.Deadline)
            {
                soonest = pair;
            }
        }

        if (generation.Count >= _capacity && soonest is { } victim && generation.Entries.TryRemove(victim))
        {
            generation.Count--;
        }
    }

    private sealed record Entry(JsonWebToken Token, string? Issuer, string? TokenType, DateTime? NotBefore, DateTime? Expires, DateTime Deadline);

    /// <summary>The entries validated against one set of inputs; replaced whole when the inputs change.</summary>
    private sealed class Generation(ValidationInputs inputs)
    {
        public ValidationInputs Inputs { get; } = inputs;

        public ConcurrentDictionary<string, Entry> Entries { get; } = new(StringComparer.Ordinal);

        /// <summary>Kept beside the dictionary (whose own count takes every lock); changed only under the gate.</summary>
        public int Count { get; set; }
    }

    /// <summary>
    /// What a validation's outcome depends on besides the token and the clock: the OpenID
    /// configuration (its keys and issuer), the signing keys and the accepted issuers and audiences,
    /// compared by reference (keys, configuration) or value (names) without allocating.
    /// </summary>
    private sealed class ValidationInputs
    {
        private static readonly object Issuers = new();
        private static readonly object Audiences = new();

        private readonly object?[] _values;

        private ValidationInputs(object?[] values) => _values = values;

        /// <summary>Inputs no validation matches, so the first call starts a generation.</summary>
        public static ValidationInputs None { get; } = new([new object()]);

        public static ValidationInputs Of(TokenValidationParameters p, BaseConfiguration? configuration)
        {
            var collect = new Collect([]);
            Walk(p, configuration, ref collect);
            return new ValidationInputs([.. collect.Values]);
        }

        public bool Match(TokenValidationParameters p, BaseConfiguration? configuration)
        {
            var compare = new Compare(_values);
            return Walk(p, configuration, ref compare) && compare.AtEnd;
        }

        private static bool Walk<T>(TokenValidationParameters p, BaseConfiguration? configuration, ref T visitor)
            where T : struct, IVisitor
        {
            if (!visitor.Visit(configuration) || !visitor.Visit(p.IssuerSigningKey) || !VisitAll(p.IssuerSigningKeys, ref visitor))
            {
                return false;
            }

            return visitor.Visit(Issuers) && visitor.Visit(p.ValidIssuer) && VisitAll(p.ValidIssuers, ref visitor)
                && visitor.Visit(Audiences) && visitor.Visit(p.ValidAudience) && VisitAll(p.ValidAudiences, ref visitor);
        }

        private static bool VisitAll<TItem, T>(IEnumerable<TItem>? items, ref T visitor)
            where T : struct, IVisitor
        {
            if (items is null)
            {
                return true;
            }

            foreach (var item in items)
            {
                if (!visitor.Visit(item))
                {
                    return false;
                }
            }

            return true;
        }

        private interface IVisitor
        {
            bool Visit(object? value);
        }

        private struct Collect(List<object?> values) : IVisitor
        {
            public readonly List<object?> Values => values;

            public readonly bool Visit(object? value)
            {
                values.Add(value);
                return true;
            }
        }

        private struct Compare(object?[] expected) : IVisitor
        {
            private int _next;

            public readonly bool AtEnd => _next == expected.Length;

            public bool Visit(object? value) => _next < expected.Length && Equals(expected[_next++], value);
        }
    }
}
