using Google.Protobuf;
using Journey.Events.V1;
using Journey.Profile.Domain;
using Journey.Profile.Events;
using Journey.Profile.Storage;
using Journey.Shared.Errors;
using Journey.Shared.Events;
using Journey.Shared.Privacy;
using Journey.Testing;
using DomainKind = Journey.Profile.Domain.IdentifierKind;

namespace Journey.Profile.Tests.Events;

/// <summary>What the profile service publishes, read from its outbox after each use case.</summary>
public sealed class ProfileEventsTests : IDisposable
{
    private readonly TemporarySqlite _sqlite = new("profile");
    // Use cases pause on the injected clock between conflicting writes, so its timers must run.
    private readonly HostClock _clock = new();
    private readonly ProfileDomain _profiles;
    private readonly SqliteOutbox _outbox;
    private readonly IdentifierHasher _hasher;

    public ProfileEventsTests()
    {
        var store = new SqliteProfileStore(_sqlite.Database);
        _profiles = new ProfileDomain(store, new SqliteSegmentStore(_sqlite.Database), _clock);
        _hasher = _profiles.Hasher;
        _outbox = new SqliteOutbox(ProfileModule.Name, _sqlite.Database);
    }

    [Fact]
    public async Task Identify_WhenItMerges_PublishesMergeAndOneSnapshot()
    {
        var anonymous = await _profiles.Identity.IdentifyAsync([new(DomainKind.AnonymousId, "c1")], new Dictionary<string, string>(), default);
        var known = await _profiles.Identity.IdentifyAsync([new(DomainKind.Email, "a@example.com")], new Dictionary<string, string>(), default);
        await DrainAsync();

        await _profiles.Identity.IdentifyAsync([new(DomainKind.Email, "a@example.com"), new(DomainKind.AnonymousId, "c1")], new Dictionary<string, string>(), default);
        var events = await DrainAsync();

        var merged = Assert.Single(events.OfType<ProfilesMerged>());
        Assert.Equal("profiles/" + known.Profile.Profile.Id, merged.Survivor);
        Assert.Equal("profiles/" + anonymous.Profile.Profile.Id, merged.Merged);
        Assert.Equal(Common.V1.IdentifierKind.AnonymousId, merged.LinkedBy);
        Assert.Equal(["c1"], merged.MovedIdentifiers.Select(i => i.Value));
        var updated = Assert.Single(events.OfType<ProfileUpdated>());
        Assert.Equal(merged.Survivor, updated.Profile);
        Assert.Equal(Journey.Common.V1.CustomerType.Known, updated.CustomerType);
        Assert.Equal(2, updated.Version);
        Assert.Contains(updated.Identifiers, i => i.Kind == Common.V1.IdentifierKind.Email && i.Value == _hasher.HashEmail("a@example.com"));
        Assert.DoesNotContain(updated.Identifiers, i => i.Value.Contains('@', StringComparison.Ordinal));
    }

    [Fact]
    public async Task ObservedIdentities_LinkAnonymousAndKnownIdsAndKeepTraits_OnceEach()
    {
        var at = _clock.GetUtcNow();
        var email = new IdentifierKey(DomainKind.Email, _hasher.HashEmail("ann@example.com"));
        var identity = new ObservedIdentity("ev-1", [new(DomainKind.CustomerId, "c-7"), new(DomainKind.AnonymousId, "a-7"), email], new Dictionary<string, string> { ["first_name"] = "Ann", ["Bad Key"] = "x", ["email"] = "clear" }, at);

        await _profiles.Ingest.ApplyObservedIdentitiesAsync([identity], default);
        await _profiles.Ingest.ApplyObservedIdentitiesAsync([identity with { Traits = new Dictionary<string, string> { ["first_name"] = "Changed" } }], default);
        await _profiles.Ingest.ApplyObservedIdentitiesAsync([new ObservedIdentity("ev-2", [new(DomainKind.AnonymousId, "a-8"), new(DomainKind.CustomerId, "c-7")], new Dictionary<string, string>(), at)], default);

        var byAlias = await _profiles.Lookup.LookupAsync(new(DomainKind.AnonymousId, "a-8"), "identifier", default);
        var byEmail = await _profiles.Lookup.LookupAsync(new(DomainKind.Email, "ann@example.com"), "identifier", default);
        Assert.Equal(byEmail.Profile.Id, byAlias.Profile.Id);
        Assert.Equal("Ann", byEmail.Profile.Traits["first_name"]);
        Assert.False(byEmail.Profile.Traits.ContainsKey("Bad Key"));
        Assert.False(byEmail.Profile.Traits.ContainsKey("email"));
    }

    [Fact]
    public async Task ObservedIdentity_OfTwoKnownCustomers_NeverMergesThem()
    {
        var at = _clock.GetUtcNow();
        var first = await _profiles.Identity.IdentifyAsync([new(DomainKind.CustomerId, "c-1")], new Dictionary<string, string>(), default);
        var second = await _profiles.Identity.IdentifyAsync([new(DomainKind.CustomerId, "c-2")], new Dictionary<string, string>(), default);

        await _profiles.Ingest.ApplyObservedIdentitiesAsync([new ObservedIdentity("ev-1", [new(DomainKind.CustomerId, "c-1"), new(DomainKind.CustomerId, "c-2")], new Dictionary<string, string>(), at)], default);

        Assert.Equal(first.Profile.Profile.Id, (await _profiles.Lookup.LookupAsync(new(DomainKind.CustomerId, "c-1"), "identifier", default)).Profile.Id);
        Assert.Equal(second.Profile.Profile.Id, (await _profiles.Lookup.LookupAsync(new(DomainKind.CustomerId, "c-2"), "identifier", default)).Profile.Id);
    }

    [Fact]
    public async Task Interactions_PublishSnapshotWithConsumedContentsAndMembershipChanges()
    {
        await _profiles.Segments.CreateAsync("ready", "Ready", new ConditionRule(SegmentField.Readiness, "", SegmentOperator.GreaterOrEqual, new RuleValue(RuleValueKind.Number, Number: 50)), default);
        var who = new IdentifierKey(DomainKind.Email, _hasher.HashEmail("b@example.com"));
        var at = _clock.GetUtcNow();

        await _profiles.Ingest.ApplyInteractionsAsync(
        [
            new Interaction("e1", [who], InteractionType.ContentConsumed, [JourneyStage.Consideration], 1, at, "guide", ["suv"]),
            new Interaction("e2", [who], InteractionType.TestDriveBooked, [JourneyStage.Evaluation], 6, at.AddMinutes(1), "", ["suv"]),
        ], default);
        var first = await DrainAsync();
        await _profiles.Ingest.ApplyInteractionsAsync([new Interaction("e3", [who], InteractionType.Purchase, [], 6, at.AddMinutes(2), "", [])], default);
        var second = await DrainAsync();

        var snapshot = Assert.Single(first.OfType<ProfileUpdated>());
        Assert.Equal(["guide"], snapshot.ConsumedContents);
        Assert.Equal(Common.V1.JourneyStage.Evaluation, snapshot.Stage);
        Assert.True(snapshot.Readiness >= 50);
        Assert.Equal("suv", Assert.Single(snapshot.Interests).Topic);
        Assert.Equal(who.Value, Assert.Single(snapshot.Identifiers).Value);
        var entered = Assert.Single(first.OfType<SegmentMembershipChanged>());
        Assert.True(entered.Entered);
        Assert.Equal("segments/ready", entered.Segment);
        var left = Assert.Single(second.OfType<SegmentMembershipChanged>());
        Assert.False(left.Entered);
        Assert.Equal(Common.V1.JourneyStage.Ownership, Assert.Single(second.OfType<ProfileUpdated>()).Stage);
    }

    [Fact]
    public async Task Interactions_WhenAlreadyHandled_PublishNothing()
    {
        var who = new IdentifierKey(DomainKind.AnonymousId, "c9");
        var interaction = new Interaction("dup", [who], InteractionType.View, [], 1, _clock.GetUtcNow(), "", []);
        await _profiles.Ingest.ApplyInteractionsAsync([interaction], default);
        await DrainAsync();

        await _profiles.Ingest.ApplyInteractionsAsync([interaction, interaction], default);

        Assert.Empty(await DrainAsync());
    }

    [Fact]
    public async Task Erasure_PublishesCompletionForThisService()
    {
        await _profiles.Identity.IdentifyAsync([new(DomainKind.CustomerId, "cust-9"), new(DomainKind.AnonymousId, "c9")], new Dictionary<string, string>(), default);
        await DrainAsync();

        await _profiles.Erasure.EraseRequestedAsync("ev-1", "erasures/9", [new IdentifierKey(DomainKind.CustomerId, "cust-9")], _clock.GetUtcNow(), default);
        await _profiles.Erasure.EraseRequestedAsync("ev-1", "erasures/9", [new IdentifierKey(DomainKind.CustomerId, "cust-9")], _clock.GetUtcNow(), default);

        var completed = Assert.Single((await DrainAsync()).OfType<ErasureCompleted>());
        Assert.Equal("erasures/9", completed.Erasure);
        Assert.Equal("profile", completed.Service);
        Assert.Equal(3, completed.RecordsErased);
    }

    [Fact]
    public async Task Interactions_WhenStampedBeforeAnErasureOfTheirPersonSettled_AreDroppedAndTheRestApplied()
    {
        var erased = new IdentifierKey(DomainKind.CustomerId, "cust-5");
        await _profiles.Identity.IdentifyAsync([new(DomainKind.CustomerId, "cust-5")], new Dictionary<string, string>(), default);
        var requested = _clock.GetUtcNow();
        await _profiles.Erasure.EraseRequestedAsync("ev-5", "erasures/5", [erased], requested, default);
        await DrainAsync();
        var settled = requested + new PrivacyOptions().ErasureSettleWindow;

        await _profiles.Ingest.ApplyInteractionsAsync(
        [
            new Interaction("queued", [erased, new IdentifierKey(DomainKind.AnonymousId, "c-5")], InteractionType.View, [], 1, requested.AddMinutes(-1), "", []) { PublishedAt = requested.AddMinutes(-1) },
            new Interaction("derived", [erased], InteractionType.View, [], 1, settled, "", []) { PublishedAt = settled },
            new Interaction("stranger", [new IdentifierKey(DomainKind.AnonymousId, "c-other")], InteractionType.View, [], 1, requested, "", []) { PublishedAt = requested },
        ], default);

        await Assert.ThrowsAsync<NotFoundException>(() => _profiles.Lookup.LookupAsync(new(DomainKind.CustomerId, "cust-5"), "identifier", default));
        await Assert.ThrowsAsync<NotFoundException>(() => _profiles.Lookup.LookupAsync(new(DomainKind.AnonymousId, "c-5"), "identifier", default));
        Assert.NotNull(await _profiles.Lookup.LookupAsync(new(DomainKind.AnonymousId, "c-other"), "identifier", default));
        Assert.Single((await DrainAsync()).OfType<ProfileUpdated>());

        // The person comes back after the window: that is a new fact, and it makes a new profile.
        await _profiles.Ingest.ApplyInteractionsAsync(
            [new Interaction("returned", [erased], InteractionType.View, [], 1, settled, "", []) { PublishedAt = settled.AddMilliseconds(1) }], default);
        Assert.NotNull(await _profiles.Lookup.LookupAsync(new(DomainKind.CustomerId, "cust-5"), "identifier", default));
    }

    [Fact]
    public async Task ProfilingConsent_WhenStampedBeforeAnErasureOfTheSubjectSettled_CreatesNoProfile()
    {
        var erased = new IdentifierKey(DomainKind.CustomerId, "cust-6");
        await _profiles.Identity.IdentifyAsync([new(DomainKind.CustomerId, "cust-6")], new Dictionary<string, string>(), default);
        var requested = _clock.GetUtcNow();
        await _profiles.Erasure.EraseRequestedAsync("ev-6", "erasures/6", [erased], requested, default);

        await _profiles.Ingest.ApplyConsentAsync([new ConsentDecision("withdrawn", [erased], JourneyRules.ProfilingPurpose, false, [], requested, requested)], default);

        await Assert.ThrowsAsync<NotFoundException>(() => _profiles.Lookup.LookupAsync(new(DomainKind.CustomerId, "cust-6"), "identifier", default));
    }

    [Fact]
    public async Task ChannelConsent_WhenStampedBeforeAnErasureOfTheSubjectSettled_CreatesNoProfile()
    {
        var erased = new IdentifierKey(DomainKind.CustomerId, "cust-8");
        await _profiles.Identity.IdentifyAsync([new(DomainKind.CustomerId, "cust-8")], new Dictionary<string, string>(), default);
        var requested = _clock.GetUtcNow();
        await _profiles.Erasure.EraseRequestedAsync("ev-8", "erasures/8", [erased], requested, default);

        await _profiles.Ingest.ApplyConsentAsync([new ConsentDecision("withdrawn-email", [erased], "purposes/marketing-email", false, [], requested, requested)], default);

        await Assert.ThrowsAsync<NotFoundException>(() => _profiles.Lookup.LookupAsync(new(DomainKind.CustomerId, "cust-8"), "identifier", default));
    }

    [Fact]
    public async Task ConsentHandler_KeepsDecisionsOnGoverningPurposesAndCreatesNoProfileForOthers()
    {
        var handler = new ConsentChangedHandler(_profiles.Ingest);
        var at = _clock.GetUtcNow();

        await handler.HandleAsync(
            [
                Consent("c-email", "cust-9", "purposes/marketing-email", granted: true, at, Common.V1.Channel.Email),
                Consent("c-other", "cust-10", "purposes/analytics", granted: true, at),
            ],
            default);

        var kept = await _profiles.Lookup.LookupAsync(new(DomainKind.CustomerId, "cust-9"), "identifier", default);
        var consent = Assert.Single(kept.Profile.Consents["purposes/marketing-email"].Decisions);
        Assert.True(consent.Granted);
        Assert.Equal([ChannelKind.Email], consent.Channels);
        Assert.Equal(at.AddMinutes(-1), consent.DecidedAt);
        Assert.Single(kept.Profile.Consents);
        await Assert.ThrowsAsync<NotFoundException>(() => _profiles.Lookup.LookupAsync(new(DomainKind.CustomerId, "cust-10"), "identifier", default));
    }

    private static ReceivedEvent<ConsentChanged> Consent(string eventId, string customerId, string purpose, bool granted, DateTimeOffset at, params Common.V1.Channel[] channels)
    {
        var message = new ConsentChanged
        {
            Subject = "subjects/" + customerId,
            Purpose = purpose,
            Granted = granted,
            EffectiveTime = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(at.AddMinutes(-1)),
        };
        message.Identifiers.Add(new Common.V1.Identifier { Kind = Common.V1.IdentifierKind.CustomerId, Value = customerId });
        message.Channels.AddRange(channels);
        return new ReceivedEvent<ConsentChanged>(eventId, "consent", at, message);
    }

    [Fact]
    public async Task InteractionHandler_WhenEventHasNoIdentifier_RejectsItAsInvalid()
    {
        var handler = new InteractionRecordedHandler(_profiles.Ingest);
        var message = new InteractionRecorded { InteractionId = "x", OccurTime = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(_clock.GetUtcNow()) };

        var error = await Assert.ThrowsAsync<InvalidArgumentException>(() => handler.HandleAsync([new ReceivedEvent<InteractionRecorded>("e", "touchpoint", _clock.GetUtcNow(), message)], default));

        Assert.Equal("identifiers", Assert.Single(error.Violations).Field);
    }

    [Fact]
    public async Task ObservedIdentities_WhenObservedBeforeAnErasureOfTheirPersonSettled_AreDroppedAndTheRestApplied()
    {
        var erased = new IdentifierKey(DomainKind.CustomerId, "cust-7");
        await _profiles.Identity.IdentifyAsync([new(DomainKind.CustomerId, "cust-7")], new Dictionary<string, string>(), default);
        var requested = _clock.GetUtcNow();
        await _profiles.Erasure.EraseRequestedAsync("ev-7", "erasures/7", [erased], requested, default);
        var traits = new Dictionary<string, string> { ["plan"] = "gold" };

        await _profiles.Ingest.ApplyObservedIdentitiesAsync(
        [
            new ObservedIdentity("sent-before", [erased, new IdentifierKey(DomainKind.AnonymousId, "c-7")], traits, requested.AddMinutes(-1)),
            new ObservedIdentity("someone-else", [new IdentifierKey(DomainKind.AnonymousId, "c-other-7")], traits, requested),
        ], default);

        await Assert.ThrowsAsync<NotFoundException>(() => _profiles.Lookup.LookupAsync(new(DomainKind.CustomerId, "cust-7"), "identifier", default));
        await Assert.ThrowsAsync<NotFoundException>(() => _profiles.Lookup.LookupAsync(new(DomainKind.AnonymousId, "c-7"), "identifier", default));
        Assert.NotNull(await _profiles.Lookup.LookupAsync(new(DomainKind.AnonymousId, "c-other-7"), "identifier", default));
    }

    private async Task<List<IMessage>> DrainAsync()
    {
        var due = await _outbox.ReadDueAsync(1000, DateTimeOffset.MaxValue, default);
        await _outbox.MarkSentAsync(due, default);
        return due.Select(d => EventEnvelope.Parser.ParseFrom(d.Message.Envelope)).Select(Parse).ToList();
    }

    private static IMessage Parse(EventEnvelope envelope) => envelope.Topic switch
    {
        ProfileTopics.ProfileUpdated => ProfileUpdated.Parser.ParseFrom(envelope.Payload),
        ProfileTopics.ProfilesMerged => ProfilesMerged.Parser.ParseFrom(envelope.Payload),
        ProfileTopics.SegmentMembershipChanged => SegmentMembershipChanged.Parser.ParseFrom(envelope.Payload),
        Topics.ErasureCompleted => ErasureCompleted.Parser.ParseFrom(envelope.Payload),
        _ => throw new InvalidOperationException(envelope.Topic),
    };

    public void Dispose() => _sqlite.Dispose();
}
