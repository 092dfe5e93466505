using System.Collections.Concurrent;
using System.Diagnostics;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Journey.Common.V1;
using Journey.Consent;
using Journey.Consent.V1;
using Journey.Profile;
using Journey.Recommendation;
using Journey.Testing;
using Journey.Touchpoint;
using Journey.Touchpoint.V1;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Journey.Host.Tests;

/// <summary>
/// Logs and traces never carry clear personal data: a journey with an e-mail address and a phone
/// number (accepted, refused and looked up) runs with every log and span captured, and neither the
/// address nor the number appears anywhere in them.
/// </summary>
[Collection(nameof(TelemetryCollection))]
public sealed class PersonalDataTelemetryTests
{
    private const string Email = "anna.berg@example.com";
    private const string Phone = "+49 30 1234567";

    [Fact]
    public async Task Journey_LeavesNoClearEmailOrPhoneInLogsOrSpans()
    {
        var logs = new ConcurrentQueue<string>();
        var spans = new ConcurrentQueue<string>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = _ => true,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity => spans.Enqueue(Describe(activity)),
        };
        ActivitySource.AddActivityListener(listener);
        await using var platform = await TestPlatform.StartAsync(
            [TouchpointModule.Definition, ProfileModule.Definition, ConsentModule.Definition, RecommendationModule.Definition],
            configureServices: services => services.AddLogging(logging => logging.AddProvider(new CapturingLoggerProvider(logs)).SetMinimumLevel(LogLevel.Trace)));
        var touchpoints = new TouchpointService.TouchpointServiceClient(platform.Channel);
        var consent = new ConsentService.ConsentServiceClient(platform.Channel);
        await touchpoints.CreateTouchpointAsync(new CreateTouchpointRequest
        {
            TouchpointId = "newsletter-signup",
            Touchpoint = WebTouchpoints.Create("Newsletter sign-up", JourneyStage.Consideration, "nothing to lose"),
        });
        var identifiers = new[] { new Identifier { Kind = IdentifierKind.Email, Value = Email }, new Identifier { Kind = IdentifierKind.Phone, Value = Phone } };

        await touchpoints.RecordInteractionAsync(new RecordInteractionRequest
        {
            Interaction = new Interaction { InteractionId = "e-1", Touchpoint = "touchpoints/newsletter-signup", OccurTime = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow), Identifiers = { identifiers }, Type = InteractionType.FormSubmit },
        });
        await Assert.ThrowsAsync<RpcException>(async () => await touchpoints.RecordInteractionAsync(new RecordInteractionRequest
        {
            Interaction = new Interaction { InteractionId = "e-2", Touchpoint = "touchpoints/unknown", OccurTime = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow), Identifiers = { identifiers }, Type = InteractionType.FormSubmit },
        }));
        await consent.CreatePolicyVersionAsync(new CreatePolicyVersionRequest { Text = "Privacy notice." });
        await consent.CreatePurposeAsync(new CreatePurposeRequest { PurposeId = "marketing-email", Purpose = new Purpose { Description = "News by e-mail", LegalBasis = LegalBasis.Consent, Channels = { Channel.Email }, DefaultDecision = DefaultDecision.Deny } });
        await consent.RecordConsentAsync(new RecordConsentRequest { Person = Persons.Of(identifiers), Purpose = "purposes/marketing-email", Decision = ConsentDecision.Granted, PolicyVersion = 1, CaptureTime = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddSeconds(-1)), IpAddress = "192.0.2.7", UserAgent = "Mozilla/5.0" });
        await consent.CheckConsentAsync(new CheckConsentRequest { Person = Persons.Of(identifiers), Purpose = "purposes/marketing-email", Channel = Channel.Email });
        await platform.DrainAsync();

        Assert.NotEmpty(logs);
        Assert.NotEmpty(spans);
        var everything = string.Join('\n', logs.Concat(spans));
        Assert.DoesNotContain(Email, everything, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("1234567", everything, StringComparison.Ordinal);
    }

    private static string Describe(Activity activity) =>
        $"{activity.DisplayName} {string.Join(' ', activity.TagObjects.Select(t => $"{t.Key}={t.Value}"))} {string.Join(' ', activity.Events.Select(e => e.Name + string.Join(' ', e.Tags.Select(t => $"{t.Key}={t.Value}"))))} {activity.StatusDescription}";

    private sealed class CapturingLoggerProvider(ConcurrentQueue<string> sink) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new CapturingLogger(sink, categoryName);

        public void Dispose()
        {
        }
    }

    private sealed class CapturingLogger(ConcurrentQueue<string> sink, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull
        {
            sink.Enqueue($"scope {category}: {state}");
            return null;
        }

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            sink.Enqueue($"{category} {eventId.Name}: {formatter(state, exception)} {exception}");
    }
}

/// <summary>Tests that listen to every activity source run one at a time.</summary>
[CollectionDefinition(nameof(TelemetryCollection), DisableParallelization = true)]
public sealed class TelemetryCollection;
