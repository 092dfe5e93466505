using System.Diagnostics.Metrics;
using Journey.Shared.Hosting;
using Journey.Shared.Storage;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using ProtoService = Google.Protobuf.Reflection.ServiceDescriptor;

namespace Journey.Shared.Security;

/// <summary>Authentication (JWT bearer) and the per-method scope tables.</summary>
public static class SecurityRegistration
{
    internal static void AddJourneySecurity(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddValidatedOptions<AuthOptions, AuthOptionsValidator>(AuthOptions.Section);
        services.AddSingleton<IValidateOptions<AuthOptions>, AuthorityRule>();
        services.AddSingleton(sp =>
        {
            var scopes = new MethodScopes(sp.GetRequiredService<KnownModules>().Scopes);
            foreach (var (service, table) in sp.GetRequiredService<IOptions<MethodScopeTables>>().Value)
            {
                scopes.Add(service, table);
            }

            return scopes;
        });
        services.AddSingleton(sp =>
        {
            var auth = sp.GetRequiredService<IOptions<AuthOptions>>().Value;
            return DevelopmentIssuer.Open(sp.GetRequiredService<IOptions<StorageOptions>>().Value.DataDirectory, auth.Issuer, auth.Audience);
        });
        // Token lifetimes are judged by the wall clock the issuer stamps them with, never by the
        // domain's TimeProvider, which tests move by days.
        services.TryAddKeyedSingleton(CachingTokenHandler.ClockKey, TimeProvider.System);
        // With authentication off nothing reads the caller's identity, so no scheme is registered (the
        // host would otherwise add the middleware itself) and a token a caller still sends is not
        // checked: one signed by another issuer would fail in full on every call.
        if (!AuthEnabled(builder.Configuration))
        {
            return;
        }

        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer();
        services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme)
            .Configure<IOptions<AuthOptions>, IServiceProvider>((jwt, auth, sp) =>
            {
                var settings = auth.Value;
                var tokens = new CachingTokenHandler(
                    sp.GetRequiredKeyedService<TimeProvider>(CachingTokenHandler.ClockKey),
                    settings.TokenCacheCapacity,
                    sp.GetRequiredService<IMeterFactory>().Create(CachingTokenHandler.MeterName));
                jwt.TokenHandlers.Clear();
                jwt.TokenHandlers.Add(tokens);
                jwt.MapInboundClaims = false;
                jwt.TokenValidationParameters = new TokenValidationParameters
                {
                    ValidateIssuer = true,
                    ValidIssuer = settings.Issuer,
                    ValidateAudience = true,
                    ValidAudience = settings.Audience,
                    ValidateLifetime = true,
                    ClockSkew = TimeSpan.FromSeconds(30),
                    // One lifetime rule on one clock for full validations and cache hits alike.
                    LifetimeValidator = tokens.ValidateLifetime,
                    NameClaimType = "sub",
                };
                if (string.IsNullOrWhiteSpace(settings.Authority))
                {
                    jwt.TokenValidationParameters.IssuerSigningKey = sp.GetRequiredService<DevelopmentIssuer>().Key;
                }
                else
                {
                    jwt.Authority = settings.Authority;
                    jwt.RequireHttpsMetadata = !AuthOptions.AllowsHttpMetadata(settings.Authority);
                    jwt.Audience = settings.Audience;
                    jwt.TokenValidationParameters.ValidIssuer = null;
                    jwt.TokenValidationParameters.ValidIssuers = null;
                }
            });
    }

    /// <summary>Declares the scope of every method of <paramref name="service"/>; see <see cref="MethodScopes"/>.</summary>
    public static IServiceCollection AddMethodScopes(this IServiceCollection services, ProtoService service, IReadOnlyDictionary<string, string> scopeByMethodName)
    {
        services.Configure<MethodScopeTables>(tables => tables.Add((service, scopeByMethodName)));
        return services;
    }

    /// <summary>Whether authentication is switched on (read leniently; validation reports bad values).</summary>
    public static bool AuthEnabled(IConfiguration configuration) =>
        !bool.TryParse(configuration[$"{AuthOptions.Section}:Enabled"], out var enabled) || enabled;
}

/// <summary>The scope tables services registered, collected before <see cref="MethodScopes"/> is built.</summary>
internal sealed class MethodScopeTables : List<(ProtoService Service, IReadOnlyDictionary<string, string> Scopes)>;
