using Google.Protobuf.WellKnownTypes;
using Journey.Events.V1;
using Journey.Shared.Events;
using Journey.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Journey.Shared.Tests.Events;

public sealed class InProcessBusTests : IDisposable
{
    private readonly TemporarySqlite _profile = new("profile");
    private readonly RecordingHandler.Script _script = new();
    private readonly TestBus _bus;
    private readonly InProcessBus _sut;
    private readonly EventSubscription _subscription;

    // Retry back-offs are due by the bus's clock: the tests move it past them (1 ms jittered up to 1.2 ms) instead of waiting.
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);

    public InProcessBusTests()
    {
        RecordingHandler.EnsureSchema(_profile.Database);
        _bus = new TestBus(handlers => handlers
            .AddKeyedSingleton("profile", _profile.Database)
            .AddSingleton(_script)
            .AddEventHandler<StringValue, RecordingHandler>("profile", TestTopics.FromTouchpoint));
        _subscription = _bus.Services.GetRequiredService<EventSubscription>();
        _sut = _bus.Open(new EventsOptions { MaxAttempts = 3, InitialBackoff = TimeSpan.FromMilliseconds(1), MaxBackoff = TimeSpan.FromMilliseconds(1) }, _time, _subscription);
    }

    [Fact]
    public async Task Dispatch_WhenEventsPublished_HandsThemToTheHandlerInOneBatch()
    {
        await _sut.PublishAsync("touchpoint", [TestPipeline.Event("a"), TestPipeline.Event("b"), TestPipeline.Event("c")], default);

        await _sut.DispatchOnceAsync(_subscription, _bus.Services, default);

        Assert.Equal(["a", "b", "c"], await RecordingHandler.EffectsAsync(_profile.Database));
        Assert.Equal([3], _script.Batches);
        Assert.Equal(0, await _sut.CountPendingAsync(_subscription.Name, default));
    }

    [Fact]
    public async Task Dispatch_WhenTopicHasNoSubscriberHere_StoresNothing()
    {
        var other = EventEnvelopes.Create(TestTopics.SegmentMembershipChanged, "profile", new StringValue { Value = "x" }, DateTimeOffset.UtcNow);

        await _sut.PublishAsync("profile", [other], default);

        Assert.Equal(0, await TestPipeline.CountAsync(_bus.Database, "events"));
        Assert.Equal(0, await TestPipeline.CountAsync(_bus.Database, "deliveries"));
    }

    [Fact]
    public async Task Dispatch_WhenOneEventOfABatchFails_DeliversTheOthersAndRetriesOnlyIt()
    {
        _script.FailuresLeft["bad"] = 2; // fails the batch, then fails alone once
        await _sut.PublishAsync("touchpoint", [TestPipeline.Event("a"), TestPipeline.Event("bad"), TestPipeline.Event("c")], default);

        await _sut.DispatchOnceAsync(_subscription, _bus.Services, default);
        Assert.Equal(["a", "c"], await RecordingHandler.EffectsAsync(_profile.Database));
        Assert.Equal(1, await _sut.CountPendingAsync(_subscription.Name, default));

        _time.Advance(TimeSpan.FromSeconds(1));
        await _sut.DispatchOnceAsync(_subscription, _bus.Services, default);

        Assert.Equal(["a", "c", "bad"], await RecordingHandler.EffectsAsync(_profile.Database));
        Assert.Equal(0, await _sut.CountPendingAsync(_subscription.Name, default));
    }

    [Fact]
    public async Task Dispatch_WhenHandlerKeepsFailing_ParksADeadLetterThatReplayDelivers()
    {
        _script.FailuresLeft["stubborn"] = 3;
        await _sut.PublishAsync("touchpoint", [TestPipeline.Event("stubborn")], default);

        for (var i = 0; i < 3; i++)
        {
            await _sut.DispatchOnceAsync(_subscription, _bus.Services, default);
            _time.Advance(TimeSpan.FromSeconds(1));
        }

        var letter = Assert.Single(await _sut.ListDeadLettersAsync(null, 10, 0, default));
        Assert.Equal("profile.interaction-recorded", letter.Subscription);
        Assert.Equal(3, letter.Attempts);
        Assert.Equal(nameof(InvalidOperationException), letter.Reason);
        Assert.Empty(await RecordingHandler.EffectsAsync(_profile.Database));

        Assert.Equal(1, await _sut.ReplayAsync([letter.Id], default));
        await _sut.DispatchOnceAsync(_subscription, _bus.Services, default);

        Assert.Equal(["stubborn"], await RecordingHandler.EffectsAsync(_profile.Database));
        Assert.Empty(await _sut.ListDeadLettersAsync(null, 10, 0, default));
    }

    [Fact]
    public async Task Dispatch_WhenEnvelopeIsForAnotherPayloadType_DeadLettersAtOnceWithTheReason()
    {
        var wrongType = EventEnvelopes.Create(TestTopics.InteractionRecorded, "touchpoint", new Int32Value { Value = 7 }, DateTimeOffset.UtcNow);
        await _sut.PublishAsync("touchpoint", [wrongType, TestPipeline.Event("fine")], default);

        await _sut.DispatchOnceAsync(_subscription, _bus.Services, default);

        var letter = Assert.Single(await _sut.ListDeadLettersAsync("profile.interaction-recorded", 10, 0, default));
        Assert.Equal(1, letter.Attempts);
        Assert.Contains("google.protobuf.Int32Value", letter.Reason);
        Assert.Equal(["fine"], await RecordingHandler.EffectsAsync(_profile.Database));
    }

    [Fact]
    public async Task Dispatch_WhenTheSameEventArrivesTwice_AppliesItsEffectOnce()
    {
        var message = TestPipeline.Event("once");

        await _sut.PublishAsync("touchpoint", [message], default);
        await _sut.PublishAsync("touchpoint", [message], default);
        await _sut.DispatchOnceAsync(_subscription, _bus.Services, default);

        Assert.Equal(["once"], await RecordingHandler.EffectsAsync(_profile.Database));
    }

    [Fact]
    public void Parse_WhenBytesAreNotAnEnvelope_IsPoison()
    {
        var error = Assert.Throws<PoisonEventException>(() => _subscription.Parse([0xFF, 0xFF, 0xFF]));

        Assert.Contains("EventEnvelope", error.Message);
    }

    [Fact]
    public void Parse_WhenEnvelopeHasNoId_IsPoison()
    {
        var envelope = new EventEnvelope { Topic = TestTopics.InteractionRecorded, Type = "google.protobuf.StringValue" };

        Assert.Throws<PoisonEventException>(() => _subscription.Parse(Google.Protobuf.MessageExtensions.ToByteArray(envelope)));
    }

    [Fact]
    public void Parse_WhenPublisherIsNotTheTopicsOwner_IsPoison()
    {
        var spoofed = EventEnvelopes.Create(TestTopics.InteractionRecorded, "recommendation", new StringValue { Value = "x" }, DateTimeOffset.UtcNow);

        var error = Assert.Throws<PoisonEventException>(() => _subscription.Parse(spoofed.Envelope));

        Assert.Contains("recommendation", error.Message);
    }

    public void Dispose()
    {
        _sut.Dispose();
        _bus.Dispose();
        _profile.Dispose();
    }
}
