using Grpc.Core;
using Grpc.Net.Client;
using Journey.Consent.V1;
using Journey.Platform.V1;
using Journey.Profile.V1;
using Journey.Recommendation.V1;
using Journey.Shared.Security;
using Journey.Touchpoint.V1;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Journey.WebConsole;

/// <summary>
/// The one channel the console calls the public gRPC APIs through. Its address is the configured
/// <see cref="WebConsoleOptions.ApiAddress"/>, else this host's gRPC listener, the first address the
/// server binds (read on first use, after the server has bound a port chosen at start).
/// </summary>
public sealed class ConsoleChannel(IOptions<WebConsoleOptions> options, IServer server) : IDisposable
{
    private readonly Lazy<GrpcChannel> _channel = new(() => GrpcChannel.ForAddress(
        string.IsNullOrWhiteSpace(options.Value.ApiAddress)
            ? server.Features.Get<IServerAddressesFeature>()!.Addresses.First()
            : options.Value.ApiAddress));

    /// <summary>The channel.</summary>
    public GrpcChannel Channel => _channel.Value;

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_channel.IsValueCreated)
        {
            _channel.Value.Dispose();
        }
    }
}

/// <summary>
/// The public APIs as the signed-in person may call them: every call carries their own token from
/// the console's cookie, so the services' scopes decide what a page may show.
/// </summary>
public sealed class ConsoleApi(IHttpContextAccessor http, ConsoleChannel channel, IOptions<AuthOptions> auth)
{
    /// <summary>
    /// The cookie holding the signed-in person's bearer token (HttpOnly, path <c>/console</c>; SameSite=Strict
    /// after a development sign-in, Lax after one through the issuer, see <see cref="ConsoleSessionHandler"/>).
    /// </summary>
    public const string TokenCookie = "journey_console";

    /// <summary>Whether the request carries a console sign-in, or the host needs none.</summary>
    public bool SignedIn => !auth.Value.Enabled || !string.IsNullOrEmpty(http.HttpContext?.Request.Cookies[TokenCookie]);

    /// <summary>The touchpoint service's client.</summary>
    public TouchpointService.TouchpointServiceClient Touchpoints => new(channel.Channel);

    /// <summary>The profile service's client.</summary>
    public ProfileService.ProfileServiceClient Profiles => new(channel.Channel);

    /// <summary>The recommendation service's client.</summary>
    public RecommendationService.RecommendationServiceClient Recommendations => new(channel.Channel);

    /// <summary>The consent service's client.</summary>
    public ConsentService.ConsentServiceClient Consent => new(channel.Channel);

    /// <summary>The tracking sources' client.</summary>
    public TrackingSourceService.TrackingSourceServiceClient Sources => new(channel.Channel);

    /// <summary>The operator's dead-letter client, served by every host.</summary>
    public DeadLetterService.DeadLetterServiceClient DeadLetters => new(channel.Channel);

    /// <summary>Call options carrying the signed-in person's token.</summary>
    public CallOptions Call(CancellationToken cancellationToken)
    {
        var token = http.HttpContext?.Request.Cookies[TokenCookie];
        var headers = string.IsNullOrEmpty(token) ? null : new Metadata { { "authorization", $"Bearer {token}" } };
        return new CallOptions(headers, cancellationToken: cancellationToken);
    }
}
