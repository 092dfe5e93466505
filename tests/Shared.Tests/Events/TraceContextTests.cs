using System.Diagnostics;
using Google.Protobuf.WellKnownTypes;
using Journey.Shared.Events;
using Journey.Shared.Storage;
using Journey.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Journey.Shared.Tests.Events;

/// <summary>W3C trace context travels inside the envelope: the handler runs in the trace of the call that caused the event.</summary>
[Collection(nameof(ActivityListenerCollection))]
public sealed class TraceContextTests
{
    [Fact]
    public async Task Handler_RunsInTheTraceOfTheSpanThatWroteTheEvent()
    {
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name.StartsWith("Journey.", StringComparison.Ordinal) || source.Name == "test",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        using var source = new ActivitySource("test");
        var module = new Journey.Shared.Hosting.JourneyModule("profile", builder =>
        {
            builder.AddServiceStorage("profile");
            builder.Services.AddSingleton<RecordingHandler.Script>();
            builder.Services.AddEventHandler<StringValue, RecordingHandler>("profile", TestTopics.FromTouchpoint);
        }, _ => { });
        await using var platform = await TestPlatform.StartAsync([module]);
        var database = platform.Services.GetRequiredKeyedService<SqliteDatabase>("profile");
        RecordingHandler.EnsureSchema(database);
        var script = platform.Services.GetRequiredService<RecordingHandler.Script>();

        string traceId;
        using (var request = source.StartActivity("incoming call"))
        {
            traceId = request!.TraceId.ToString();
            await TestPipeline.AppendAsync(database, TestPipeline.Event("traced"));
        }

        Assert.True(await TestPlatform.EventuallyAsync(async () => (await RecordingHandler.EffectsAsync(database)).Contains("traced")));
        Assert.Equal(traceId, Assert.Single(script.TraceIds));
    }
}

/// <summary>Tests that listen to every Journey activity source run one at a time.</summary>
[CollectionDefinition(nameof(ActivityListenerCollection), DisableParallelization = true)]
public sealed class ActivityListenerCollection;
