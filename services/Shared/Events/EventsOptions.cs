using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Journey.Shared.Events;

/// <summary>How events travel between services.</summary>
public enum EventTransport
{
    /// <summary>The durable in-process bus of the platform host: delivers only to modules running in the same process.</summary>
    InProcess,

    /// <summary>Dapr pub/sub through the sidecar: how services talk in Kubernetes.</summary>
    Dapr,
}

/// <summary>Event settings (section <c>Journey:Events</c>).</summary>
public sealed class EventsOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Journey:Events";

    /// <summary>The transport. Default <see cref="EventTransport.InProcess"/>.</summary>
    public EventTransport Transport { get; set; } = EventTransport.InProcess;

    /// <summary>The Dapr pub/sub component name. Default <c>journey-pubsub</c>.</summary>
    [Required]
    [RegularExpression("^[a-z0-9][a-z0-9-]{0,62}$", ErrorMessage = "Journey:Events:PubSubName must be a Kubernetes-style name: lower-case letters, digits and '-'.")]
    public string PubSubName { get; set; } = "journey-pubsub";

    /// <summary>
    /// When false, writes still land in each service's outbox but nothing is delivered: for maintenance,
    /// and to prove that an undelivered outbox survives a restart. Default true.
    /// </summary>
    public bool DeliveryEnabled { get; set; } = true;

    /// <summary>How many events one relay or dispatcher round moves at most. Default 512.</summary>
    [Range(1, 10_000)]
    public int BatchSize { get; set; } = 512;

    /// <summary>How often idle relays and dispatchers look for work that no signal announced (after a restart, or a retry coming due). Default 1 second.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:01:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long an idle relay or dispatcher, once woken, lets further events gather before its round.
    /// Calls that each write an event or two would otherwise cost a round (several store transactions)
    /// per event in every subscribing service. Default 5 ms; zero turns it off.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:01")]
    public TimeSpan Coalescing { get; set; } = TimeSpan.FromMilliseconds(5);

    /// <summary>
    /// How many times a delivery is tried before it is parked as a dead letter, and how many times the
    /// transport may refuse an outbox event while it takes others before that event is parked. Default 8.
    /// </summary>
    [Range(1, 100)]
    public int MaxAttempts { get; set; } = 8;

    /// <summary>
    /// How long a relay holds its service's outbox once it takes it: replicas sharing a store take
    /// turns, one at a time, and a replica that stops is replaced when its lease runs out. Must be
    /// longer than publishing one batch takes. Default 30 seconds.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan OutboxLease { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The wait after the first failure; each further failure doubles it (with ±20% jitter). Default 200 ms.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:10:00")]
    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>The longest wait between two tries. Default 1 minute.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "01:00:00")]
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// The Dapr app API token: with the Dapr transport, the subscription endpoints accept a request
    /// only when its <c>dapr-api-token</c> header equals it, so nothing but the sidecar can hand this
    /// service events. Also read from the environment variable <c>APP_API_TOKEN</c>, as Dapr documents.
    /// No default: with the Dapr transport and authentication on, start-up fails without it unless
    /// <see cref="AllowMissingAppApiToken"/> is set.
    /// </summary>
    public string? AppApiToken { get; set; }

    /// <summary>
    /// Lets a service with the Dapr transport start without <see cref="AppApiToken"/>, so anyone who
    /// reaches its port can post events. Warned about at every start. Default false.
    /// </summary>
    public bool AllowMissingAppApiToken { get; set; }

    /// <summary>The environment variable Dapr documents for the app API token.</summary>
    internal const string AppApiTokenVariable = "APP_API_TOKEN";
}

/// <summary>Start-up validation of <see cref="EventsOptions"/>.</summary>
[OptionsValidator]
public sealed partial class EventsOptionsValidator : IValidateOptions<EventsOptions>;

/// <summary>With the Dapr transport and authentication on, an app API token is required unless explicitly waived.</summary>
internal sealed class AppApiTokenRule(IConfiguration configuration) : IValidateOptions<EventsOptions>
{
    public ValidateOptionsResult Validate(string? name, EventsOptions options) =>
        options.Transport == EventTransport.Dapr && string.IsNullOrEmpty(options.AppApiToken) && !options.AllowMissingAppApiToken
            && Security.SecurityRegistration.AuthEnabled(configuration)
            ? ValidateOptionsResult.Fail($"Journey:Events:AppApiToken (or the environment variable {EventsOptions.AppApiTokenVariable}) must be set when Journey:Events:Transport is Dapr, so that only the sidecar can deliver events; set Journey:Events:AllowMissingAppApiToken=true to run without it.")
            : ValidateOptionsResult.Success;
}

/// <summary>How the outbox relay and the bus dispatchers idle between rounds.</summary>
internal static class Idling
{
    /// <summary>
    /// After a round that took less than a full batch: waits until <paramref name="wake"/> signals (or
    /// the poll interval ends), and when signalled lets further events gather for
    /// <see cref="EventsOptions.Coalescing"/>. After a full batch it returns at once: more is waiting.
    /// </summary>
    public static async Task AfterRoundAsync(int taken, Func<CancellationToken, Task<bool>> wake, EventsOptions options, TimeProvider time, CancellationToken cancellationToken)
    {
        if (taken < options.BatchSize && await wake(cancellationToken) && options.Coalescing > TimeSpan.Zero)
        {
            await Task.Delay(options.Coalescing, time, cancellationToken);
        }
    }
}

/// <summary>Retry timing shared by the outbox relay and the bus dispatchers.</summary>
internal static class Backoff
{
    public static TimeSpan After(int attempts, EventsOptions options)
    {
        var exponent = Math.Clamp(attempts - 1, 0, 30);
        var delay = Math.Min(options.InitialBackoff.TotalMilliseconds * Math.Pow(2, exponent), options.MaxBackoff.TotalMilliseconds);
        var jitter = 0.8 + (Random.Shared.NextDouble() * 0.4);
        return TimeSpan.FromMilliseconds(delay * jitter);
    }
}
