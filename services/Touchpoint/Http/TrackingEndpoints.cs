using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Journey.Shared.Errors;
using Journey.Shared.Storage;
using Journey.Touchpoint.Domain;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;

namespace Journey.Touchpoint.Http;

/// <summary>
/// The tracking API over HTTP, as Segment's spec and SDKs define it: <c>POST /v1/{type}</c> and the
/// browser SDK's one-letter forms, a write key by Basic auth or in the body, JSON bodies (sent as
/// <c>application/json</c> or <c>text/plain</c>), gzip bodies, Segment's limits, and CORS per source.
/// The answer is 200 with counts once every accepted message is stored.
/// </summary>
internal static partial class TrackingEndpoints
{
    /// <summary>Most bytes of one message (Segment: 32 KB).</summary>
    public const int MaxMessageBytes = 32 * 1024;

    /// <summary>Most bytes of a request body, after gzip is undone (Segment: 500 KB).</summary>
    public const int MaxBodyBytes = 500 * 1024;

    /// <summary>Most messages in a batch (Segment: 2,500).</summary>
    public const int MaxBatchMessages = 2500;

    private static readonly Dictionary<string, TrackingMessageType?> Routes = new(StringComparer.Ordinal)
    {
        ["track"] = TrackingMessageType.Track,
        ["t"] = TrackingMessageType.Track,
        ["identify"] = TrackingMessageType.Identify,
        ["i"] = TrackingMessageType.Identify,
        ["page"] = TrackingMessageType.Page,
        ["p"] = TrackingMessageType.Page,
        ["screen"] = TrackingMessageType.Screen,
        ["s"] = TrackingMessageType.Screen,
        ["group"] = TrackingMessageType.Group,
        ["g"] = TrackingMessageType.Group,
        ["alias"] = TrackingMessageType.Alias,
        ["a"] = TrackingMessageType.Alias,
        ["batch"] = null,
        ["b"] = null,
        ["import"] = null,
    };

    /// <summary>Maps the routes.</summary>
    public static IEndpointRouteBuilder MapTrackingApi(this IEndpointRouteBuilder endpoints)
    {
        var routes = string.Join('|', Routes.Keys);
        endpoints.MapPost($"/v1/{{type:regex(^({routes})$)}}", HandleAsync);
        endpoints.MapMethods($"/v1/{{type:regex(^({routes})$)}}", ["OPTIONS"], Preflight);
        endpoints.MapGet("/v1/projects/{writeKey}/settings", SettingsAsync);
        endpoints.MapMethods("/v1/projects/{writeKey}/settings", ["OPTIONS"], Preflight);
        return endpoints;
    }

    /// <summary>The request headers a preflight allows when it names none.</summary>
    private const string AllowedHeaders = "Content-Type, Authorization, Content-Encoding, X-Retry-Count";

    /// <summary>
    /// A browser's preflight names no source, so it is answered for any origin; the request itself
    /// is refused (403) unless its source allows the origin, before anything is read or stored. The
    /// headers the browser asks for are allowed as asked: the browser SDK sends its key as Basic auth,
    /// a retry count on every retry, and whatever headers a site configures for its delivery, and
    /// which headers come is no guard, the key and origin check is.
    /// </summary>
    private static IResult Preflight(HttpContext context)
    {
        var headers = context.Response.Headers;
        if (context.Request.Headers.Origin.ToString() is { Length: > 0 } origin)
        {
            var requested = context.Request.Headers.AccessControlRequestHeaders.ToString();
            headers.AccessControlAllowOrigin = origin;
            headers.Vary = "Origin";
            headers.AccessControlAllowMethods = "POST, GET, OPTIONS";
            headers.AccessControlAllowHeaders = requested.Length is > 0 and <= 1024 ? requested : AllowedHeaders;
            headers.AccessControlAllowCredentials = "true";
            headers.AccessControlMaxAge = "86400";
        }

        return Results.NoContent();
    }

    private static async Task<IResult> HandleAsync(string type, HttpContext context, TrackingIngestion ingestion, TrackingRateLimiter limiter, ILoggerFactory loggers)
    {
        var request = context.Request;
        var cancellationToken = context.RequestAborted;
        // The body is JSON whatever its Content-Type says, as Segment's own API reads it: SDKs label it
        // application/json, text/plain (the browser SDK, to avoid a CORS preflight), or, RudderStack's
        // node SDK sending gzip through axios, application/x-www-form-urlencoded.
        byte[] body;
        try
        {
            body = await ReadBodyAsync(request, cancellationToken);
        }
        catch (InvalidDataException ex)
        {
            return Error(StatusCodes.Status400BadRequest, ex.Message);
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException)
        {
            return Error(StatusCodes.Status400BadRequest, "the body is not valid JSON");
        }

        using (document)
        {
            var impliedType = Routes[type];
            if (impliedType is not null && body.Length > MaxMessageBytes)
            {
                return Error(StatusCodes.Status400BadRequest, $"the message exceeds {MaxMessageBytes / 1024} KB");
            }

            if (impliedType is null && document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("batch", out var batch) && batch.ValueKind == JsonValueKind.Array && batch.GetArrayLength() > MaxBatchMessages)
            {
                return Error(StatusCodes.Status400BadRequest, $"a batch holds at most {MaxBatchMessages} messages");
            }

            IReadOnlyList<(TrackingMessage?, string?)> messages;
            string? bodyKey;
            try
            {
                (messages, bodyKey) = TrackingMessageReader.Read(document.RootElement, impliedType, MaxMessageBytes);
            }
            catch (FormatException ex)
            {
                return Error(StatusCodes.Status400BadRequest, ex.Message);
            }

            var source = await AuthenticateAsync(ingestion, BasicUser(request) ?? bodyKey, cancellationToken);
            if (source is null)
            {
                return Error(StatusCodes.Status401Unauthorized, "no valid write key: send it as the Basic auth user name or as writeKey in the body");
            }

            if (!AllowOrigin(context, source))
            {
                return Error(StatusCodes.Status403Forbidden, "this source does not allow browsers from this origin");
            }

            if (limiter.TryAcquire(source) is { } wait)
            {
                context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
                return Error(StatusCodes.Status429TooManyRequests, $"{source.Name} sends more than {source.RequestsPerSecond} requests a second");
            }

            try
            {
                var outcome = await ingestion.IngestAsync(source, messages, cancellationToken);
                return Results.Json(new TrackingResponse(
                    true, outcome.Accepted, outcome.Duplicates, outcome.Rejected, outcome.Unmapped,
                    [.. outcome.Errors.Take(100).Select(e => new TrackingError(e.Index, e.Reason))]));
            }
            catch (StoreUnavailableException ex)
            {
                LogStoreUnavailable(loggers.CreateLogger(typeof(TrackingEndpoints).FullName!), ex);
                context.Response.Headers.RetryAfter = "5";
                return Error(StatusCodes.Status503ServiceUnavailable, "the store is unavailable; nothing of this request was answered as stored, send it again");
            }
            catch (DomainException ex) when (ex.Kind == ErrorKind.InvalidArgument)
            {
                return Error(StatusCodes.Status400BadRequest, ex.Message);
            }
        }
    }

    /// <summary>What the browser SDK reads before it sends: where to send and with which key.</summary>
    private static async Task<IResult> SettingsAsync(string writeKey, HttpContext context, TrackingIngestion ingestion)
    {
        var source = await AuthenticateAsync(ingestion, writeKey, context.RequestAborted);
        if (source is null)
        {
            return Error(StatusCodes.Status401Unauthorized, "unknown or revoked write key");
        }

        if (!AllowOrigin(context, source))
        {
            return Error(StatusCodes.Status403Forbidden, "this source does not allow browsers from this origin");
        }

        var request = context.Request;
        // Behind an ingress that ends TLS the request arrives as http, but the page loaded over https
        // must send over https too (a browser blocks the mixed request): the proxy's word for the
        // scheme wins. It only shapes this caller's own answer, so it needs no trust list.
        var forwarded = request.Headers["X-Forwarded-Proto"].ToString().Split(',')[0].Trim().ToLowerInvariant();
        var protocol = forwarded is "http" or "https" ? forwarded : request.Scheme;
        return Results.Json(new
        {
            integrations = new Dictionary<string, object>
            {
                ["Segment.io"] = new { apiKey = writeKey, apiHost = $"{request.Host}{request.PathBase}/v1", protocol, unbundledIntegrations = Array.Empty<string>() },
            },
            plan = new { track = new { __default = new { enabled = true } }, identify = new { __default = new { enabled = true } } },
            edgeFunction = new { },
            analyticsNextEnabled = true,
            middlewareSettings = new { },
            enabledMiddleware = new { },
            metrics = new { sampleRate = 0 },
            legacyVideoPluginsEnabled = false,
            remotePlugins = Array.Empty<object>(),
        });
    }

    private static async Task<TrackingSource?> AuthenticateAsync(TrackingIngestion ingestion, string? key, CancellationToken cancellationToken) =>
        string.IsNullOrEmpty(key) ? null : await ingestion.AuthenticateAsync(key, cancellationToken);

    /// <summary>Whether the request may go on: no Origin (a server), or one the source allows, which the answer then names.</summary>
    private static bool AllowOrigin(HttpContext context, TrackingSource source)
    {
        var origin = context.Request.Headers.Origin.ToString();
        if (origin.Length == 0)
        {
            return true;
        }

        if (!source.AllowsOrigin(origin))
        {
            return false;
        }

        context.Response.Headers.AccessControlAllowOrigin = origin;
        context.Response.Headers.AccessControlAllowCredentials = "true";
        // The browser SDK waits as long as a 429's Retry-After says, if the browser lets it read it.
        context.Response.Headers.AccessControlExposeHeaders = "Retry-After";
        context.Response.Headers.Vary = "Origin";
        return true;
    }

    /// <summary>The Basic auth user name (the write key; the password is empty), or null.</summary>
    private static string? BasicUser(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        if (!header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        try
        {
            var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header[6..].Trim()));
            var colon = decoded.IndexOf(':', StringComparison.Ordinal);
            return colon < 0 ? decoded : decoded[..colon];
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>The body, gzip undone, refused past <see cref="MaxBodyBytes"/> (compressed or not) without reading further.</summary>
    private static async Task<byte[]> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (request.ContentLength > MaxBodyBytes)
        {
            throw new InvalidDataException($"the body exceeds {MaxBodyBytes / 1024} KB");
        }

        var encoding = request.Headers.ContentEncoding.ToString();
        Stream input = encoding switch
        {
            "" or "identity" => request.Body,
            "gzip" => new GZipStream(request.Body, CompressionMode.Decompress, leaveOpen: true),
            _ => throw new InvalidDataException($"Content-Encoding '{encoding}' is not supported; send gzip or none"),
        };
        await using (input.ConfigureAwait(false))
        {
            using var buffer = new MemoryStream();
            var chunk = new byte[16 * 1024];
            var tooLarge = false;
            try
            {
                int read;
                while (!tooLarge && (read = await input.ReadAsync(chunk, cancellationToken)) > 0)
                {
                    tooLarge = buffer.Length + read > MaxBodyBytes;
                    buffer.Write(chunk, 0, read);
                }
            }
            catch (InvalidDataException)
            {
                throw new InvalidDataException("the body is not valid gzip");
            }

            if (tooLarge)
            {
                throw new InvalidDataException($"the body exceeds {MaxBodyBytes / 1024} KB");
            }

            return buffer.ToArray();
        }
    }

    private static IResult Error(int status, string message) =>
        Results.Json(new { success = false, error = message }, statusCode: status);

    [LoggerMessage(EventId = 4100, EventName = "TrackingStoreUnavailable", Level = LogLevel.Warning, Message = "The tracking API could not store a request: the store is unavailable")]
    private static partial void LogStoreUnavailable(ILogger logger, Exception exception);

    /// <summary>The answer to a tracking request.</summary>
    private sealed record TrackingResponse(bool Success, int Accepted, int Duplicates, int Rejected, int Unmapped, IReadOnlyList<TrackingError> Errors);

    /// <summary>A rejected message: its position in the request and why.</summary>
    private sealed record TrackingError(int Index, string Reason);
}
