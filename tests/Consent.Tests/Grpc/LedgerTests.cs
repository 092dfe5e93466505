using Google.Protobuf.WellKnownTypes;
using Journey.Consent.V1;
using Journey.Events.V1;
using Journey.Shared.Events;
using Journey.Shared.Storage;
using Journey.Testing;
using Microsoft.Extensions.DependencyInjection;
using static Journey.Consent.Tests.Grpc.ConsentHost;

namespace Journey.Consent.Tests.Grpc;

public sealed class LedgerTests() : HostedTests<ConsentHost>(() => StartAsync())
{
    [Fact]
    public async Task VerifyChain_WhenARecordIsEditedInTheStore_ReportsThatRecordAsFirstBreak()
    {
        var version = await Host.PolicyAsync();
        await Host.PurposeAsync("marketing-email");
        await Host.RecordAsync(Email("ada@example.com"), "marketing-email", ConsentDecision.Granted, version);
        var second = await Host.RecordAsync(Email("ada@example.com"), "marketing-email", ConsentDecision.Withdrawn, version);
        await Host.RecordAsync(Email("ada@example.com"), "marketing-email", ConsentDecision.Granted, version);
        var request = new VerifyConsentChainRequest { Subject = second.Subject };
        Assert.True((await Host.Client.VerifyConsentChainAsync(request)).Intact);

        var db = Host.Platform.Services.GetRequiredKeyedService<SqliteDatabase>(ConsentModule.Name);
        await db.WriteAsync(async (connection, tx, ct) =>
        {
            await using var command = connection.CreateCommand();
            command.Transaction = tx;
            command.CommandText = "UPDATE records SET granted = 1 WHERE id = $id";
            command.Parameters.AddWithValue("$id", second.Name.Split('/')[^1]);
            return await command.ExecuteNonQueryAsync(ct);
        }, default);
        var result = await Host.Client.VerifyConsentChainAsync(request);

        Assert.False(result.Intact);
        Assert.Equal(second.Name, result.FirstBrokenRecord);
        Assert.Equal(2, result.FirstBrokenSequence);
        Assert.Equal(ChainBreak.ContentChanged, result.Break);
    }

    [Fact]
    public async Task History_ListsRecordsInOrderWithLinkedHashes()
    {
        var version = await Host.PolicyAsync();
        await Host.PurposeAsync("marketing-email");
        for (var i = 0; i < 3; i++)
        {
            await Host.RecordAsync(Email("ada@example.com"), "marketing-email", i % 2 == 0 ? ConsentDecision.Granted : ConsentDecision.Withdrawn, version);
        }

        var request = new ListConsentHistoryRequest { PageSize = 2 };
        request.Person = Persons.Of(Email("ada@example.com"));
        var first = await Host.Client.ListConsentHistoryAsync(request);
        request.PageToken = first.NextPageToken;
        var second = await Host.Client.ListConsentHistoryAsync(request);

        var records = first.Records.Concat(second.Records).ToList();
        Assert.Equal([1L, 2L, 3L], records.Select(r => r.Sequence));
        Assert.Equal(records[0].Hash, records[1].PreviousHash);
        Assert.Empty(second.NextPageToken);
        Assert.Equal(64, records[0].Proof.IpAddressHash.Length);
        Assert.DoesNotContain("192.0.2.10", records[0].ToString());
    }

    [Fact]
    public async Task Merge_WhenMergedProfileDecidedLater_ItsDecisionWinsAndBothHistoriesStay()
    {
        var version = await Host.PolicyAsync();
        await Host.PurposeAsync("marketing-email");
        await Host.PurposeAsync("profiling");
        // Survivor granted marketing recently; the merged profile withdrew it earlier (older: loses)
        // and granted profiling later than the survivor withdrew it (newer: wins).
        await Host.RecordAsync(Profile("p-old"), "marketing-email", ConsentDecision.Withdrawn, version, Host.Now(TimeSpan.FromHours(-3)));
        await Host.RecordAsync(Profile("p-keep"), "marketing-email", ConsentDecision.Granted, version, Host.Now(TimeSpan.FromHours(-1)));
        await Host.RecordAsync(Profile("p-keep"), "profiling", ConsentDecision.Withdrawn, version, Host.Now(TimeSpan.FromHours(-2)));
        await Host.RecordAsync(Profile("p-old"), "profiling", ConsentDecision.Granted, version, Host.Now(TimeSpan.FromMinutes(-30)));

        var merged = new ProfilesMerged { Survivor = "profiles/p-keep", Merged = "profiles/p-old", MergeTime = Host.Now() };
        var transport = Host.Platform.Services.GetRequiredService<IEventTransport>();
        await transport.PublishAsync("profile", [EventEnvelopes.Create(ConsentTopics.ProfilesMerged, "profile", merged, DateTimeOffset.UtcNow)], default);

        // The decision index learns the carried-over records a moment before the merge itself, so a
        // check in between sees the survivor's new decision while the merged id still answers from
        // its old subject: wait for both.
        Assert.True(await TestPlatform.EventuallyAsync(async () =>
            (await Host.CheckAsync(Profile("p-keep"), "profiling")).Allowed
            && (await Host.CheckAsync(Profile("p-old"), "marketing-email")).Reason == DecisionReason.Granted));
        Assert.True((await Host.CheckAsync(Profile("p-keep"), "marketing-email")).Allowed);
        Assert.Equal(DecisionReason.Granted, (await Host.CheckAsync(Profile("p-old"), "marketing-email")).Reason);
        var history = new ListConsentHistoryRequest();
        history.Person = Persons.Of(Profile("p-keep"));
        var records = (await Host.Client.ListConsentHistoryAsync(history)).Records;
        Assert.Equal(5, records.Count);
        Assert.Contains(records, r => r.Origin == RecordOrigin.Merge && r.Purpose == "purposes/profiling");
        Assert.True((await Host.Client.VerifyConsentChainAsync(new VerifyConsentChainRequest { Subject = records[^1].Subject })).Intact);
    }

    [Fact]
    public async Task Split_AfterMergeAndDecisions_GivesEachPersonTheDecisionsOfARunThatNeverMergedAndKeepsBothChainsVerifiable()
    {
        var version = await Host.PolicyAsync();
        await Host.PurposeAsync("marketing-email");
        await Host.PurposeAsync("profiling");
        await Host.PurposeAsync("personalisation");

        var split = await SplitRunAsync(Host, version, "s", mergeAndSplit: true);
        var never = await SplitRunAsync(Host, version, "n", mergeAndSplit: false);

        Assert.Equal(never, split);
        Assert.Equal("keep:marketing-email=Withdrawn,keep:profiling=Granted,keep:personalisation=Granted,old:marketing-email=Granted,old:profiling=Withdrawn,old:personalisation=NoAnswerDefault", split);
        var keepHistory = (await Host.Client.ListConsentHistoryAsync(new ListConsentHistoryRequest { Person = Persons.Of(Profile("s-keep")) })).Records;
        var oldHistory = (await Host.Client.ListConsentHistoryAsync(new ListConsentHistoryRequest { Person = Persons.Of(Profile("s-old")) })).Records;
        Assert.NotEqual(keepHistory[0].Subject, oldHistory[0].Subject);
        Assert.Contains(keepHistory, r => r.Origin == RecordOrigin.Merge && r.Purpose == "purposes/marketing-email" && r.Decision == ConsentDecision.Withdrawn);
        Assert.True((await Host.Client.VerifyConsentChainAsync(new VerifyConsentChainRequest { Subject = keepHistory[^1].Subject })).Intact);
        Assert.True((await Host.Client.VerifyConsentChainAsync(new VerifyConsentChainRequest { Subject = oldHistory[^1].Subject })).Intact);
    }

    [Fact]
    public async Task Split_WhenDecisionsWereRecordedWhileMergedThroughOnePersonsIdentifiers_GivesThemToThatPersonAlone()
    {
        var version = await Host.PolicyAsync();
        await Host.PurposeAsync("marketing-email");
        await Host.PurposeAsync("personalisation");
        await Host.RecordAsync(Profile("w-keep"), "marketing-email", ConsentDecision.Granted, version, Host.Now(TimeSpan.FromHours(-3)));
        await Host.RecordAsync(Profile("w-old"), "marketing-email", ConsentDecision.Granted, version, Host.Now(TimeSpan.FromHours(-3)));
        await PublishAndDrainAsync(Host, ConsentTopics.ProfilesMerged, new ProfilesMerged { Survivor = "profiles/w-keep", Merged = "profiles/w-old", MergeTime = Host.Now(TimeSpan.FromHours(-1)) });
        // While the two were one profile, the merged person stopped the e-mails and allowed personalisation
        // through their own profile id, and the survivor was asked through both ids at once (its own first).
        await Host.RecordAsync(Profile("w-old"), "marketing-email", ConsentDecision.Withdrawn, version);
        await Host.RecordAsync(Profile("w-old"), "personalisation", ConsentDecision.Granted, version);
        await Host.Client.RecordConsentAsync(new RecordConsentRequest
        {
            Person = Persons.Of(Profile("w-keep"), Profile("w-old")),
            Purpose = "purposes/personalisation",
            Decision = ConsentDecision.Withdrawn,
            PolicyVersion = version,
            CaptureTime = Host.Now(),
        });

        await PublishAndDrainAsync(Host, ConsentTopics.ProfileSplit, new ProfileSplit { Survivor = "profiles/w-keep", Restored = "profiles/w-old", MergeTime = Host.Now(TimeSpan.FromHours(-1)), SplitTime = Host.Now() });

        var answers = new List<string>();
        foreach (var who in new[] { "keep", "old" })
        {
            foreach (var purpose in new[] { "marketing-email", "personalisation" })
            {
                answers.Add($"{who}:{purpose}={(await Host.CheckAsync(Profile("w-" + who), purpose)).Reason}");
            }
        }

        Assert.Equal("keep:marketing-email=Granted,keep:personalisation=Withdrawn,old:marketing-email=Withdrawn,old:personalisation=Granted", string.Join(",", answers));
        Assert.True((await Host.Client.VerifyConsentChainAsync(new VerifyConsentChainRequest { Person = Persons.Of(Profile("w-keep")) })).Intact);
        Assert.True((await Host.Client.VerifyConsentChainAsync(new VerifyConsentChainRequest { Person = Persons.Of(Profile("w-old")) })).Intact);
    }

    /// <summary>Two people's decisions before and after a merge and its split (or neither), as each one's check answers, without the run's prefix.</summary>
    private static async Task<string> SplitRunAsync(ConsentHost host, int version, string run, bool mergeAndSplit)
    {
        await host.RecordAsync(Profile(run + "-keep"), "marketing-email", ConsentDecision.Withdrawn, version, host.Now(TimeSpan.FromHours(-3)));
        await host.RecordAsync(Profile(run + "-keep"), "profiling", ConsentDecision.Granted, version, host.Now(TimeSpan.FromHours(-3)));
        await host.RecordAsync(Profile(run + "-old"), "marketing-email", ConsentDecision.Granted, version, host.Now(TimeSpan.FromHours(-2)));
        await host.RecordAsync(Profile(run + "-old"), "profiling", ConsentDecision.Withdrawn, version, host.Now(TimeSpan.FromHours(-2)));
        if (mergeAndSplit)
        {
            // The merge carries the merged side's newer decisions over to the survivor.
            await PublishAndDrainAsync(host, ConsentTopics.ProfilesMerged, new ProfilesMerged { Survivor = $"profiles/{run}-keep", Merged = $"profiles/{run}-old", MergeTime = host.Now(TimeSpan.FromHours(-1)) });
            Assert.True((await host.CheckAsync(Profile(run + "-keep"), "marketing-email")).Allowed);
        }

        // A grant while merged, through the survivor's identifier.
        await host.RecordAsync(Profile(run + "-keep"), "personalisation", ConsentDecision.Granted, version);
        if (mergeAndSplit)
        {
            await PublishAndDrainAsync(host, ConsentTopics.ProfileSplit, new ProfileSplit { Survivor = $"profiles/{run}-keep", Restored = $"profiles/{run}-old", MergeTime = host.Now(TimeSpan.FromHours(-1)), SplitTime = host.Now() });
        }

        var answers = new List<string>();
        foreach (var who in new[] { "keep", "old" })
        {
            foreach (var purpose in new[] { "marketing-email", "profiling", "personalisation" })
            {
                answers.Add($"{who}:{purpose}={(await host.CheckAsync(Profile($"{run}-{who}"), purpose)).Reason switch
                {
                    DecisionReason.Granted => "Granted",
                    DecisionReason.Withdrawn => "Withdrawn",
                    var other => other.ToString(),
                }}");
            }
        }

        return string.Join(",", answers);
    }

    private static async Task PublishAndDrainAsync(ConsentHost host, string topic, Google.Protobuf.IMessage message)
    {
        var bus = host.Platform.Services.GetRequiredService<InProcessBus>();
        await bus.PublishAsync("profile", [EventEnvelopes.Create(topic, "profile", message, DateTimeOffset.UtcNow)], default);
        Assert.True(await TestPlatform.EventuallyAsync(async () => await bus.CountPendingAsync("consent." + topic, default) == 0), $"the {topic} event was not delivered");
    }

    [Fact]
    public async Task Merge_StampedBeforeAnErasureOfItsIdentifiersArrivesAfterIt_LinksNothingAgain()
    {
        var version = await Host.PolicyAsync();
        await Host.PurposeAsync("marketing-email");
        await Host.RecordAsync(Profile("p-keep"), "marketing-email", ConsentDecision.Granted, version, Host.Now(TimeSpan.FromMinutes(-5)));
        await Host.RecordAsync(Email("ada@example.com"), "marketing-email", ConsentDecision.Granted, version, Host.Now(TimeSpan.FromMinutes(-5)));
        var stamped = Host.Time.GetUtcNow().AddMinutes(-1);
        var request = new RequestErasureRequest();
        request.Person = Persons.Of(Email("ada@example.com"));
        await Host.Client.RequestErasureAsync(request);

        // The profile service merged her into another profile just before she asked to be forgotten.
        var merged = new ProfilesMerged { Survivor = "profiles/p-keep", Merged = "profiles/p-ada", MergeTime = Timestamp.FromDateTimeOffset(stamped) };
        merged.MovedIdentifiers.Add(new Common.V1.Identifier
        {
            Kind = Common.V1.IdentifierKind.Email,
            Value = Host.Platform.Services.GetRequiredService<Journey.Shared.Privacy.IdentifierHasher>().HashEmail("ada@example.com"),
        });
        var bus = Host.Platform.Services.GetRequiredService<InProcessBus>();
        await bus.PublishAsync("profile", [EventEnvelopes.Create(ConsentTopics.ProfilesMerged, "profile", merged, stamped)], default);
        Assert.True(await TestPlatform.EventuallyAsync(async () => await bus.CountPendingAsync("consent." + ConsentTopics.ProfilesMerged, default) == 0), "the merge was not delivered");

        Assert.Equal(DecisionReason.NoAnswerDefault, (await Host.CheckAsync(Email("ada@example.com"), "marketing-email")).Reason);
        Assert.True((await Host.CheckAsync(Profile("p-keep"), "marketing-email")).Allowed);
    }

    [Fact]
    public async Task Erasure_CompletesWhenAllFourServicesAnswer()
    {
        var version = await Host.PolicyAsync();
        await Host.PurposeAsync("marketing-email");
        await Host.RecordAsync(Email("ada@example.com"), "marketing-email", ConsentDecision.Granted, version);
        var request = new RequestErasureRequest();
        request.Person = Persons.Of(Email("ada@example.com"));

        var erasure = (await Host.Client.RequestErasureAsync(request)).Erasure;
        Assert.Equal(ErasureState.Pending, erasure.State);
        Assert.Equal(DecisionReason.NoAnswerDefault, (await Host.CheckAsync(Email("ada@example.com"), "marketing-email")).Reason);
        await CompleteAsync(Host, erasure.Name, "touchpoint", "profile", "recommendation");

        Assert.True(await TestPlatform.EventuallyAsync(async () =>
            (await Host.Client.GetErasureStatusAsync(new GetErasureStatusRequest { Name = erasure.Name })).Erasure.State == ErasureState.Completed));
        var status = (await Host.Client.GetErasureStatusAsync(new GetErasureStatusRequest { Name = erasure.Name })).Erasure;
        Assert.All(status.Services, s => Assert.NotNull(s.CompleteTime));
        Assert.Contains("pseudonymised", status.LedgerRetention);
        var history = (await Host.Client.ListConsentHistoryAsync(new ListConsentHistoryRequest { Subject = status.Subject })).Records;
        Assert.Equal([ConsentDecision.Granted, ConsentDecision.Withdrawn], history.Select(r => r.Decision));
        Assert.All(history, r => Assert.True(r.Proof.Redacted && r.Proof.UserAgent.Length == 0));
        Assert.True((await Host.Client.VerifyConsentChainAsync(new VerifyConsentChainRequest { Subject = status.Subject })).Intact);
    }

    [Fact]
    public async Task Erasure_WhenOneServiceDoesNotAnswer_StaysPendingNamingIt()
    {
        var request = new RequestErasureRequest();
        request.Person = Persons.Of(Email("ada@example.com"));
        var erasure = (await Host.Client.RequestErasureAsync(request)).Erasure;

        await CompleteAsync(Host, erasure.Name, "touchpoint", "profile");
        Assert.True(await TestPlatform.EventuallyAsync(async () =>
            (await Host.Client.GetErasureStatusAsync(new GetErasureStatusRequest { Name = erasure.Name })).Erasure.Services.Count(s => s.Completed) == 3));

        var status = (await Host.Client.GetErasureStatusAsync(new GetErasureStatusRequest { Name = erasure.Name })).Erasure;
        Assert.Equal(ErasureState.Pending, status.State);
        Assert.Equal(["recommendation"], status.Services.Where(s => !s.Completed).Select(s => s.Service));
    }

    private static async Task CompleteAsync(ConsentHost host, string erasure, params string[] services)
    {
        var transport = host.Platform.Services.GetRequiredService<IEventTransport>();
        foreach (var service in services)
        {
            var completed = new ErasureCompleted { Erasure = erasure, Service = service, CompleteTime = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow), RecordsErased = 3 };
            await transport.PublishAsync(service, [EventEnvelopes.Create(Topics.ErasureCompleted, service, completed, DateTimeOffset.UtcNow)], default);
        }
    }
}
