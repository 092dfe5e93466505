using System.Net.Mime;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CloudNative.CloudEvents.SystemTextJson;
using Dapr;
using Dapr.Client;
using Journey.Events.V1;
using Journey.Shared.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Journey.Shared.Events;

/// <summary>
/// Publishes envelopes to the Dapr sidecar. The payload is the serialized envelope, sent as
/// <see cref="ContentType"/>, which Dapr wraps in a CloudEvent as <c>data_base64</c>; the
/// CloudEvent id is the event id and the trace parent is the publishing call's, so Dapr-side traces
/// join ours. Each publish has <see cref="LimitsOptions.OutgoingCallDeadline"/> to complete; a sidecar
/// that does not answer in time counts as a failed publish, and the relay tries again later.
/// </summary>
internal sealed partial class DaprEventTransport(DaprClient dapr, IOptions<EventsOptions> options, IOptions<LimitsOptions> limits, ILogger<DaprEventTransport> logger) : IEventTransport
{
    /// <summary>
    /// The only content type Dapr carries as binary: for any other (<c>application/x-protobuf</c>
    /// included, unless the bytes are themselves a protobuf CloudEvent) the sidecar puts the bytes in
    /// the CloudEvent's <c>data</c> as a JSON string, which replaces every byte that is not valid
    /// UTF-8 with U+FFFD (components-contrib <c>pubsub/envelope.go</c>, <c>NewCloudEventsEnvelope</c>).
    /// </summary>
    public const string ContentType = "application/octet-stream";

    public async Task<int> PublishAsync(string source, IReadOnlyList<OutboxMessage> messages, CancellationToken cancellationToken)
    {
        var published = 0;
        foreach (var message in messages)
        {
            var envelope = EventEnvelope.Parser.ParseFrom(message.Envelope);
            var metadata = new Dictionary<string, string>
            {
                ["cloudevent.id"] = message.EventId,
                ["cloudevent.type"] = envelope.Type,
                ["cloudevent.source"] = source,
            };
            if (envelope.Traceparent.Length > 0)
            {
                metadata["cloudevent.traceparent"] = envelope.Traceparent;
            }

            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(limits.Value.OutgoingCallDeadline);
            try
            {
                await dapr.PublishByteEventAsync(options.Value.PubSubName, message.Topic, message.Envelope, ContentType, metadata, deadline.Token);
            }
            catch (Exception ex) when (ex is DaprException or HttpRequestException or Grpc.Core.RpcException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                LogPublishFailed(logger, message.Topic, ex);
                break;
            }

            published++;
        }

        return published;
    }

    [LoggerMessage(EventId = 120, EventName = "DaprPublishFailed", Level = LogLevel.Warning, Message = "Dapr did not take an event for topic {Topic}; the rest of the batch waits for the next try")]
    private static partial void LogPublishFailed(ILogger logger, string topic, Exception exception);
}

/// <summary>
/// Exposes each subscription to the Dapr sidecar: <c>GET /dapr/subscribe</c> lists them (with a
/// dead-letter topic each) and <c>POST /events/{service}/{topic}</c> receives the CloudEvents. The
/// reply tells Dapr what to do: SUCCESS, RETRY (a transient failure; Dapr's resiliency policy
/// retries and finally dead-letters), or DROP (an event that can never be handled). With an app API
/// token configured, every one of these endpoints answers 401 unless the request carries the
/// <c>dapr-api-token</c> header the sidecar sends.
/// </summary>
public static partial class DaprSubscriptionEndpoints
{
    /// <summary>The route that receives <paramref name="subscription"/>'s events.</summary>
    public static string Route(EventSubscription subscription) => $"/events/{subscription.Service}/{subscription.Topic}";

    /// <summary>Maps the subscription document and one endpoint per subscription.</summary>
    public static IEndpointRouteBuilder MapDaprSubscriptions(this IEndpointRouteBuilder endpoints)
    {
        var events = endpoints.ServiceProvider.GetRequiredService<IOptions<EventsOptions>>().Value;
        var sidecarOnly = SidecarOnly(events.AppApiToken);
        endpoints.MapSubscribeHandler().Finally(sidecarOnly);
        foreach (var subscription in endpoints.ServiceProvider.GetServices<EventSubscription>())
        {
            endpoints.MapPost(Route(subscription), (Delegate)((HttpContext context) => ReceiveAsync(subscription, context)))
                .WithTopic(new TopicOptions
                {
                    PubsubName = events.PubSubName,
                    Name = subscription.Topic,
                    DeadLetterTopic = Topics.DeadLetter(subscription.Service, subscription.Topic),
                })
                .ExcludeFromDescription()
                .Finally(sidecarOnly);
        }

        return endpoints;
    }

    /// <summary>
    /// Wraps an endpoint so that it runs only for requests carrying <paramref name="token"/> in the
    /// <c>dapr-api-token</c> header. Applied last, after the endpoint's own delegate is built.
    /// </summary>
    private static Action<EndpointBuilder> SidecarOnly(string? token)
    {
        if (string.IsNullOrEmpty(token))
        {
            return _ => { };
        }

        var expected = SHA256.HashData(Encoding.UTF8.GetBytes(token));
        return builder =>
        {
            var inner = builder.RequestDelegate ?? throw new InvalidOperationException("The Dapr endpoint has no request delegate to protect.");
            builder.RequestDelegate = context =>
            {
                if (Refusal(context.Request.Headers[AppApiTokenHeader], expected) is not { } reason)
                {
                    return inner(context);
                }

                LogRefused(context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(DaprSubscriptionEndpoints)), context.Request.Path.Value ?? "", reason);
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                return Task.CompletedTask;
            };
        };
    }

    /// <summary>The header Dapr sends with every call to the app when an app API token is set.</summary>
    public const string AppApiTokenHeader = "dapr-api-token";

    /// <summary>Why the presented header is refused, or null when it matches (compared in constant time over SHA-256 digests).</summary>
    internal static string? Refusal(Microsoft.Extensions.Primitives.StringValues presented, byte[] expectedDigest)
    {
        if (presented.Count != 1 || string.IsNullOrEmpty(presented[0]))
        {
            return "no dapr-api-token header";
        }

        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(presented[0]!), digest);
        return CryptographicOperations.FixedTimeEquals(digest, expectedDigest) ? null : "wrong dapr-api-token";
    }

    private static async Task<IResult> ReceiveAsync(EventSubscription subscription, HttpContext context)
    {
        var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(DaprSubscriptionEndpoints));
        EventEnvelope envelope;
        try
        {
            var bytes = await ReadCloudEventDataAsync(context.Request);
            envelope = subscription.Parse(bytes);
        }
        catch (PoisonEventException ex)
        {
            LogDropped(logger, subscription.Name, ex.Message);
            return Reply("DROP");
        }

        try
        {
            await subscription.HandleAsync(context.RequestServices, [envelope], context.RequestAborted);
            return Reply("SUCCESS");
        }
        catch (PoisonEventException ex)
        {
            LogDropped(logger, subscription.Name, ex.Message);
            return Reply("DROP");
        }
        catch (Exception ex) when (!context.RequestAborted.IsCancellationRequested)
        {
            LogRetry(logger, subscription.Name, ex);
            return Reply("RETRY");
        }
    }

    /// <summary>
    /// Reads the envelope bytes out of a structured-mode CloudEvent 1.0, as the sidecar delivers it:
    /// binary data in <c>data_base64</c> with the content type the publisher gave
    /// (<see cref="DaprEventTransport.ContentType"/>). Anything else, from a body that is not JSON to
    /// data of another content type, is a <see cref="PoisonEventException"/>: retrying cannot make it
    /// readable. The CloudEvents SDK reads the format, so the rules are the specification's.
    /// </summary>
    internal static async Task<byte[]> ReadCloudEventDataAsync(HttpRequest request)
    {
        CloudNative.CloudEvents.CloudEvent cloudEvent;
        try
        {
            var contentType = string.IsNullOrEmpty(request.ContentType) ? null : new ContentType(request.ContentType);
            cloudEvent = await CloudEventFormat.DecodeStructuredModeMessageAsync(request.Body, contentType, extensionAttributes: null);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or JsonException)
        {
            // The SDK's messages may quote attribute values; the exception type says enough for the log.
            throw new PoisonEventException($"The body is not a structured CloudEvent 1.0 ({ex.GetType().Name}).");
        }

        if (!IsMediaType(cloudEvent.DataContentType, DaprEventTransport.ContentType))
        {
            throw new PoisonEventException($"The CloudEvent's datacontenttype is not {DaprEventTransport.ContentType}.");
        }

        return cloudEvent.Data as byte[]
            ?? throw new PoisonEventException("The CloudEvent carries no data_base64.");
    }

    private static readonly JsonEventFormatter CloudEventFormat = new();

    private static bool IsMediaType(string? contentType, string expected)
    {
        try
        {
            return contentType is not null && string.Equals(new ContentType(contentType).MediaType, expected, StringComparison.OrdinalIgnoreCase);
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private static IResult Reply(string status) => Results.Json(new Dictionary<string, string> { ["status"] = status });

    [LoggerMessage(EventId = 123, EventName = "DaprRequestRefused", Level = LogLevel.Warning, Message = "Refused a request to {Path}: {Reason}")]
    private static partial void LogRefused(ILogger logger, string path, string reason);

    [LoggerMessage(EventId = 121, EventName = "DaprEventDropped", Level = LogLevel.Error, Message = "Dropped an event for {Subscription}: {Reason}")]
    private static partial void LogDropped(ILogger logger, string subscription, string reason);

    [LoggerMessage(EventId = 122, EventName = "DaprEventRetry", Level = LogLevel.Warning, Message = "Handling an event for {Subscription} failed; asking Dapr to retry")]
    private static partial void LogRetry(ILogger logger, string subscription, Exception exception);
}
