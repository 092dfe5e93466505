using System.Collections.Concurrent;
using Journey.Consent.V1;
using Journey.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Journey.Consent.Tests.Grpc;

public sealed class AuditTests
{
    [Fact]
    public async Task RecordAndErase_WriteAuditLinesWithCallerAndTarget_AndNoClearIdentifier()
    {
        var lines = new ConcurrentQueue<string>();
        await using var platform = await TestPlatform.StartAsync([ConsentModule.Definition], configureServices: services =>
        {
            services.AddSingleton<ILoggerProvider>(new CapturingProvider(lines));
            services.Configure<LoggerFilterOptions>(o => o.Rules.Add(new LoggerFilterRule(null, "Journey", LogLevel.Information, null)));
        });
        var client = new ConsentService.ConsentServiceClient(platform.Channel);
        await client.CreatePolicyVersionAsync(new CreatePolicyVersionRequest { Text = "policy" });
        await client.CreatePurposeAsync(new CreatePurposeRequest
        {
            PurposeId = "marketing",
            Purpose = new Purpose { Description = "d", LegalBasis = LegalBasis.Consent, DefaultDecision = DefaultDecision.Deny, Channels = { Common.V1.Channel.Email } },
        });

        var record = (await client.RecordConsentAsync(new RecordConsentRequest
        {
            Person = Persons.Of(ConsentHost.Email("ada.secret@example.com")),
            Purpose = "purposes/marketing",
            Decision = ConsentDecision.Granted,
            PolicyVersion = 1,
            CaptureTime = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
        })).Record;
        var erasure = (await client.RequestErasureAsync(new RequestErasureRequest { Person = Persons.Of(ConsentHost.Email("ada.secret@example.com")) })).Erasure;

        Assert.Contains(lines, l => l.Contains("RecordConsent", StringComparison.Ordinal) && l.Contains("test-caller", StringComparison.Ordinal) && l.Contains(record.Name, StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("RequestErasure", StringComparison.Ordinal) && l.Contains(erasure.Name, StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains("ada.secret", StringComparison.OrdinalIgnoreCase));
    }

    private sealed class CapturingProvider(ConcurrentQueue<string> lines) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Logger(lines);

        public void Dispose()
        {
        }

        private sealed class Logger(ConcurrentQueue<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                lines.Enqueue(formatter(state, exception) + " " + exception);
        }
    }
}
