using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Journey.Common.V1;
using Journey.Profile.V1;
using Journey.Testing;
using Journey.Touchpoint.V1;

namespace Journey.Host.Tests;

/// <summary>
/// An event written through one service's outbox reaches another service's handler exactly once in
/// effect, even when the host is killed (SIGKILL: no shutdown code runs) before or during delivery.
/// The profile's interaction count is the witness: any event applied twice would raise it.
/// </summary>
public sealed class CrashSafetyTests
{
    // A collector that sends again sends the same interactions: the same ids with the same times.
    private static readonly DateTimeOffset SentAt = DateTimeOffset.UtcNow;

    [Fact]
    public async Task Kill_BetweenOutboxWriteAndDelivery_DeliversEachEventOnceAfterRestart()
    {
        using var scratch = new ScratchDirectory("journey-crash-");
        var data = scratch.Path;
        const int count = 300;
        await using (var first = HostProcess.Start(data, "--Journey:Events:DeliveryEnabled=false"))
        {
            await first.WaitUntilListeningAsync();
            using var channel = first.CreateChannel(data, [.. JourneyServices.Known.Scopes.All]);
            await DefineTouchpointAsync(channel);
            var result = await RecordAsync(channel, "visitor-held", 0, count);
            Assert.Equal(count, result.AcceptedCount);
            Assert.Equal(StatusCode.NotFound, (await LookupErrorAsync(channel, "visitor-held"))!.StatusCode);
            await first.KillAsync();
        }

        // The touchpoint store as it was at the crash: every event still in its outbox.
        var atCrash = Snapshot(data, "touchpoint");

        await using (var second = HostProcess.Start(data))
        {
            await second.WaitUntilListeningAsync();
            using var restarted = second.CreateChannel(data, [.. JourneyServices.Known.Scopes.All]);
            Assert.True(await TestPlatform.EventuallyAsync(async () => await CountAsync(restarted, "visitor-held") == count, TimeSpan.FromSeconds(30)),
                $"expected {count} interactions on the profile, saw {await CountAsync(restarted, "visitor-held")}");
            await second.KillAsync();
        }

        // Crash after delivery but before the outbox learnt of it: the relay publishes every event
        // again, and only the consumer's inbox stands between that and a doubled count.
        Restore(data, "touchpoint", atCrash);
        await using var third = HostProcess.Start(data);
        await third.WaitUntilListeningAsync();
        using var again = third.CreateChannel(data, [.. JourneyServices.Known.Scopes.All]);
        Assert.True(await TestPlatform.EventuallyAsync(() => Task.FromResult(StoredQueues.Waiting(data, "touchpoint") == 0), TimeSpan.FromSeconds(30)), "the restored outbox was not re-published");
        await StoredQueues.DrainAsync(data);
        Assert.Equal(count, await CountAsync(again, "visitor-held"));
    }

    private static Dictionary<string, byte[]> Snapshot(string data, string service) =>
        Directory.GetFiles(data, $"{service}.db*").ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes);

    private static void Restore(string data, string service, Dictionary<string, byte[]> files)
    {
        foreach (var stale in Directory.GetFiles(data, $"{service}.db*"))
        {
            File.Delete(stale);
        }

        foreach (var (name, bytes) in files)
        {
            File.WriteAllBytes(Path.Combine(data, name), bytes);
        }
    }

    [Fact]
    public async Task Kill_WhileDelivering_NeitherLosesNorRepeatsAnEffect()
    {
        using var scratch = new ScratchDirectory("journey-crash-");
        var data = scratch.Path;
        const int batches = 10;
        const int perBatch = 200;
        await using (var first = HostProcess.Start(data))
        {
            await first.WaitUntilListeningAsync();
            using var channel = first.CreateChannel(data, [.. JourneyServices.Known.Scopes.All]);
            await DefineTouchpointAsync(channel);
            for (var b = 0; b < batches; b++)
            {
                var result = await RecordAsync(channel, "visitor-busy", b * perBatch, perBatch);
                Assert.Equal(perBatch, result.AcceptedCount);
            }

            // Every interaction is acknowledged; delivery is under way. Kill without warning.
            await first.KillAsync();
        }

        await using var second = HostProcess.Start(data);
        await second.WaitUntilListeningAsync();
        using var restarted = second.CreateChannel(data, [.. JourneyServices.Known.Scopes.All]);
        const int total = batches * perBatch;

        Assert.True(await TestPlatform.EventuallyAsync(async () => await CountAsync(restarted, "visitor-busy") == total, TimeSpan.FromSeconds(30)),
            $"expected {total} interactions on the profile, saw {await CountAsync(restarted, "visitor-busy")}");

        // A repeat of an already acknowledged interaction changes nothing either.
        var repeat = await RecordAsync(restarted, "visitor-busy", 0, perBatch);
        Assert.Equal(0, repeat.AcceptedCount);
        Assert.Equal(perBatch, repeat.DuplicateCount);
        await StoredQueues.DrainAsync(data);
        Assert.Equal(total, await CountAsync(restarted, "visitor-busy"));
    }

    [Fact]
    public async Task Kill_MidStream_KeepsEveryStoredInteractionOnceAndAResendCompletesTheRest()
    {
        using var scratch = new ScratchDirectory("journey-crash-");
        var data = scratch.Path;
        const int visitors = 40;
        const int perVisitor = 1000;
        const int perMessage = 100;
        await using (var first = HostProcess.Start(data))
        {
            await first.WaitUntilListeningAsync();
            using var channel = first.CreateChannel(data, [.. JourneyServices.Known.Scopes.All]);
            await DefineTouchpointAsync(channel);

            // A collector streams; the host is killed while messages are still arriving.
            var call = new TouchpointService.TouchpointServiceClient(channel).StreamInteractions();
            var streaming = Task.Run(async () =>
            {
                foreach (var message in StreamMessages(visitors, perVisitor, perMessage))
                {
                    await call.RequestStream.WriteAsync(message);
                }

                await call.RequestStream.CompleteAsync();
                return await call;
            });
            Assert.True(await TestPlatform.EventuallyAsync(() => Task.FromResult(StoredCount(data) >= 5000), TimeSpan.FromSeconds(30)), "the stream did not get going");
            await first.KillAsync();
            await Assert.ThrowsAnyAsync<Exception>(() => streaming);
            call.Dispose();
        }

        var storedAtCrash = InteractionIds(data);
        Assert.True(storedAtCrash.Count > 0, "nothing was stored before the kill");
        Assert.True(storedAtCrash.Count < visitors * perVisitor, "the stream finished before the kill");

        await using var second = HostProcess.Start(data);
        await second.WaitUntilListeningAsync();
        using var restarted = second.CreateChannel(data, [.. JourneyServices.Known.Scopes.All]);

        // The collector never got a reply, so it sends the whole stream again: what was stored is a duplicate.
        var resend = new TouchpointService.TouchpointServiceClient(restarted).StreamInteractions();
        foreach (var message in StreamMessages(visitors, perVisitor, perMessage))
        {
            await resend.RequestStream.WriteAsync(message);
        }

        await resend.RequestStream.CompleteAsync();
        var summary = await resend;
        Assert.Equal(storedAtCrash.Count, summary.DuplicateCount);
        Assert.Equal((visitors * perVisitor) - storedAtCrash.Count, summary.AcceptedCount);
        Assert.Equal(0, summary.RejectedCount);

        var stored = InteractionIds(data);
        Assert.Equal(visitors * perVisitor, stored.Count);
        Assert.Equal(stored.Count, stored.Distinct(StringComparer.Ordinal).Count());
        for (var v = 0; v < visitors; v++)
        {
            var visitor = $"visitor-stream-{v}";
            Assert.True(await TestPlatform.EventuallyAsync(async () => await CountAsync(restarted, visitor) == perVisitor, TimeSpan.FromSeconds(60)),
                $"expected {perVisitor} interactions on the profile of {visitor}, saw {await CountAsync(restarted, visitor)}");
        }
    }

    private static IEnumerable<StreamInteractionsRequest> StreamMessages(int visitors, int perVisitor, int perMessage)
    {
        var now = SentAt;
        var message = new StreamInteractionsRequest();
        for (var i = 0; i < perVisitor; i++)
        {
            for (var v = 0; v < visitors; v++)
            {
                message.Interactions.Add(new Interaction
                {
                    InteractionId = $"stream-{v}-{i}",
                    Touchpoint = "touchpoints/lease-calculator",
                    OccurTime = Timestamp.FromDateTimeOffset(now.AddMilliseconds(-i)),
                    Identifiers = { new Identifier { Kind = IdentifierKind.AnonymousId, Value = $"visitor-stream-{v}" } },
                    Type = InteractionType.View,
                });
                if (message.Interactions.Count == perMessage)
                {
                    yield return message;
                    message = new StreamInteractionsRequest();
                }
            }
        }

        if (message.Interactions.Count > 0)
        {
            yield return message;
        }
    }

    private static long StoredCount(string data)
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(data, "touchpoint.db")};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM sqlite_master WHERE name = 'interactions'";
        if ((long)command.ExecuteScalar()! == 0)
        {
            return 0;
        }

        command.CommandText = "SELECT count(*) FROM interactions";
        return (long)command.ExecuteScalar()!;
    }

    private static List<string> InteractionIds(string data)
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(data, "touchpoint.db")};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT event_id FROM interactions";
        var ids = new List<string>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            ids.Add(reader.GetString(0));
        }

        return ids;
    }

    private static async Task DefineTouchpointAsync(Grpc.Net.Client.GrpcChannel channel)
    {
        var touchpoint = WebTouchpoints.Create("Lease-vs-buy calculator", JourneyStage.Consideration, "trust in the price", targetRating: 4.5);
        await new TouchpointService.TouchpointServiceClient(channel).CreateTouchpointAsync(new CreateTouchpointRequest { TouchpointId = "lease-calculator", Touchpoint = touchpoint });
    }

    private static Task<RecordInteractionsResponse> RecordAsync(Grpc.Net.Client.GrpcChannel channel, string visitor, int from, int count)
    {
        var request = new RecordInteractionsRequest();
        var now = SentAt;
        for (var i = from; i < from + count; i++)
        {
            request.Interactions.Add(new Interaction
            {
                InteractionId = $"{visitor}-{i}",
                Touchpoint = "touchpoints/lease-calculator",
                OccurTime = Timestamp.FromDateTimeOffset(now.AddMilliseconds(-i)),
                Identifiers = { new Identifier { Kind = IdentifierKind.AnonymousId, Value = visitor } },
                Type = InteractionType.View,
            });
        }

        return new TouchpointService.TouchpointServiceClient(channel).RecordInteractionsAsync(request).ResponseAsync;
    }

    private static async Task<long> CountAsync(Grpc.Net.Client.GrpcChannel channel, string visitor)
    {
        try
        {
            var response = await new ProfileService.ProfileServiceClient(channel).LookupProfileAsync(new LookupProfileRequest
            {
                Person = Persons.Of(new Identifier { Kind = IdentifierKind.AnonymousId, Value = visitor }),
            });
            return response.Profile.Channels.Sum(c => c.Interactions);
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound)
        {
            return 0;
        }
    }

    private static async Task<RpcException?> LookupErrorAsync(Grpc.Net.Client.GrpcChannel channel, string visitor)
    {
        try
        {
            await new ProfileService.ProfileServiceClient(channel).LookupProfileAsync(new LookupProfileRequest
            {
                Person = Persons.Of(new Identifier { Kind = IdentifierKind.AnonymousId, Value = visitor }),
            });
            return null;
        }
        catch (RpcException ex)
        {
            return ex;
        }
    }
}
