using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Journey.Common.V1;
using Journey.Events.V1;
using Journey.Shared.Privacy;
using Journey.Testing;
using Journey.Touchpoint.V1;
using Microsoft.Extensions.DependencyInjection;
using static Journey.Touchpoint.Tests.Grpc.TouchpointHost;

namespace Journey.Touchpoint.Tests.Grpc;

/// <summary>Recording interactions through the gRPC API, one by one, in batches and in streams, on an authenticated host.</summary>
public sealed class InteractionTests() : HostedTests<TouchpointHost>(() => StartAsync())
{
    /// <summary>The time of <see cref="Sent"/> interactions.</summary>
    private static readonly DateTimeOffset At = Start.AddMinutes(-1);

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        await Host.CreateAsync("web");
        await Host.CreateAsync("old");
        await Host.Client.RetireTouchpointAsync(new RetireTouchpointRequest { Name = "touchpoints/old" });
    }

    public static TheoryData<string, Action<Interaction>> InvalidInteractions => new()
    {
        { "interaction.touchpoint", i => i.Touchpoint = "touchpoints/nope" },
        { "interaction.touchpoint", i => i.Touchpoint = "touchpoints/old" },
        { "interaction.touchpoint", i => i.Touchpoint = "web" },
        { "interaction.identifiers", i => i.Identifiers.Clear() },
        { "interaction.identifiers[0].kind", i => i.Identifiers[0].Kind = IdentifierKind.Unspecified },
        { "interaction.identifiers[0].value", i => i.Identifiers[0] = new Identifier { Kind = IdentifierKind.Email, Value = "not-an-address" } },
        { "interaction.identifiers[0].value", i => i.Identifiers[0] = new Identifier { Kind = IdentifierKind.AnonymousId, Value = "undefined" } },
        { "interaction.identifiers[0].value", i => i.Identifiers[0] = new Identifier { Kind = IdentifierKind.CustomerId, Value = "-1" } },
        { "interaction.identifiers[0].value", i => i.Identifiers[0] = new Identifier { Kind = IdentifierKind.DeviceId, Value = "00000000-0000-0000-0000-000000000000" } },
        { "interaction.occur_time", i => i.OccurTime = Timestamp.FromDateTimeOffset(Start.AddMinutes(5).AddSeconds(1)) },
        { "interaction.occur_time", i => i.OccurTime = Timestamp.FromDateTimeOffset(Start.AddDays(-400).AddSeconds(-1)) },
        { "interaction.occur_time", i => i.OccurTime = null },
        { "interaction.occur_time", i => i.OccurTime = new Timestamp { Seconds = long.MaxValue } },
        { "interaction.rating", i => i.Rating = 6 },
        { "interaction.rating", i => i.Rating = -1 },
        { "interaction.type", i => i.Type = InteractionType.Unspecified },
        { "interaction.type", i => i.Type = (InteractionType)99 },
        { "interaction.interaction_id", i => i.InteractionId = "" },
        { "interaction.interaction_id", i => i.InteractionId = new string('x', 129) },
        { "interaction.properties", i => { for (var n = 0; n < 33; n++) { i.Properties[$"k{n}"] = "v"; } } },
        { "interaction.properties", i => i.Properties[new string('k', 65)] = "v" },
        { "interaction.properties[k]", i => i.Properties["k"] = new string('v', 513) },
        { "interaction.properties[utm\\u0000source]", i => i.Properties["utm\0source"] = "v" },
        { "interaction.properties[$ref]", i => i.Properties["$ref"] = "v" },
        { "interaction.properties[utm.source]", i => i.Properties["utm.source"] = "v" },
        { "interaction.comment", i => i.Comment = new string('c', 2001) },
        { "interaction.value.currency_code", i => i.Value = new Money { CurrencyCode = "eur", Units = 10 } },
        { "interaction.value.currency_code", i => i.Value = new Money { CurrencyCode = "euro", Units = 10 } },
        { "interaction.content", i => i.Content = "guide" },
    };

    [Theory]
    [MemberData(nameof(InvalidInteractions))]
    public async Task RecordInteraction_WhenInvalid_IsInvalidArgumentNamingTheFieldAndStoresNothing(string field, Action<Interaction> spoil)
    {
        var interaction = Sent("e1");
        spoil(interaction);

        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await Host.Client.RecordInteractionAsync(new RecordInteractionRequest { Interaction = interaction }));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal(field, Assert.Single(error.GetRpcStatus()!.GetDetail<BadRequest>().FieldViolations).Field);
        Assert.Contains(field + ":", error.Status.Detail);
        Assert.Equal(0, await Host.CountAsync("interactions"));
        Assert.Empty(await Host.OutboxAsync(TouchpointTopics.InteractionRecorded));
    }

    [Fact]
    public async Task RecordInteraction_AtTheLimits_IsAccepted()
    {
        var interaction = NewInteraction("edge", "touchpoints/web", Start.AddMinutes(5), rating: 5);
        for (var i = 0; i < 32; i++)
        {
            interaction.Properties[new string('k', 62) + i.ToString("00")] = new string('v', 512);
        }

        interaction.Comment = new string('c', 2000);
        interaction.Value = new Money { CurrencyCode = "EUR", Units = 19, Nanos = 990_000_000 };

        var response = await Host.Client.RecordInteractionAsync(new RecordInteractionRequest { Interaction = interaction });

        Assert.False(response.Duplicate);
        Assert.Equal(1, await Host.CountAsync("interactions"));
    }

    [Fact]
    public async Task RecordInteraction_WhenEventIdRepeated_IsAcknowledgedAsDuplicateAndChangesNothing()
    {
        var interaction = NewInteraction("same", "touchpoints/web", Start.AddMinutes(-1), rating: 4);

        var first = await Host.Client.RecordInteractionAsync(new RecordInteractionRequest { Interaction = interaction });
        var second = await Host.Client.RecordInteractionAsync(new RecordInteractionRequest { Interaction = interaction });

        Assert.False(first.Duplicate);
        Assert.True(second.Duplicate);
        Assert.Equal(1, await Host.CountAsync("interactions"));
        Assert.Single(await Host.OutboxAsync(TouchpointTopics.InteractionRecorded));
        Assert.Equal(1, await ScalarAsync("SELECT interactions FROM touchpoint_days"));
    }

    [Fact]
    public async Task RecordInteraction_PublishesInteractionRecordedWithHashedEmailOnly()
    {
        var interaction = NewInteraction("e-mail", "touchpoints/web", Start.AddMinutes(-1));
        interaction.Identifiers.Add(new Identifier { Kind = IdentifierKind.Email, Value = " Ann@Example.com " });
        interaction.Identifiers.Add(new Identifier { Kind = IdentifierKind.Phone, Value = "+49 170 1234567" });

        await Host.Client.RecordInteractionAsync(new RecordInteractionRequest { Interaction = interaction });

        var hasher = Host.Platform.Services.GetRequiredService<IdentifierHasher>();
        var recorded = Assert.Single(await Host.PayloadsAsync<InteractionRecorded>(TouchpointTopics.InteractionRecorded));
        Assert.Equal("e-mail", recorded.InteractionId);
        Assert.Equal("touchpoints/web", recorded.Touchpoint);
        Assert.Equal([JourneyStage.Evaluation], recorded.Stages);
        Assert.Equal(hasher.HashEmail("ann@example.com"), recorded.Identifiers.Single(i => i.Kind == IdentifierKind.Email).Value);
        Assert.Equal(hasher.HashPhone("+491701234567"), recorded.Identifiers.Single(i => i.Kind == IdentifierKind.Phone).Value);
        var stored = await Host.Database.ReadAsync(async (connection, ct) =>
        {
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT identifiers FROM interactions UNION ALL SELECT identifier FROM person_links";
            var all = new List<string>();
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                all.Add(reader.GetString(0));
            }

            return string.Join("\n", all);
        }, CancellationToken.None);
        Assert.DoesNotContain("example.com", stored, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("1234567", stored.Replace(hasher.HashPhone("+491701234567"), "", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RecordInteractions_WithSomeBad_StoresTheGoodAndListsEachBadWithFieldAndReason()
    {
        var request = new RecordInteractionsRequest
        {
            Interactions =
            {
                NewInteraction("good-1", "touchpoints/web", Start.AddMinutes(-3)),
                NewInteraction("bad-rating", "touchpoints/web", Start.AddMinutes(-3), rating: 9),
                NewInteraction("good-2", "touchpoints/web", Start.AddMinutes(-2)),
                NewInteraction("bad-touchpoint", "touchpoints/old", Start.AddMinutes(-2)),
                NewInteraction("good-1", "touchpoints/web", Start.AddMinutes(-3)),
                NewInteraction("no-touchpoint", "touchpoints/nowhere", Start.AddMinutes(-2)),
            },
        };

        var response = await Host.Client.RecordInteractionsAsync(request);

        Assert.Equal(2, response.AcceptedCount);
        Assert.Equal(1, response.DuplicateCount);
        Assert.Equal(
            [("bad-rating", 1, "interactions[1].rating"), ("bad-touchpoint", 3, "interactions[3].touchpoint"), ("no-touchpoint", 5, "interactions[5].touchpoint")],
            response.Rejected.Select(r => (r.InteractionId, r.Index, r.Field)));
        Assert.All(response.Rejected, r => Assert.False(string.IsNullOrWhiteSpace(r.Reason)));
        Assert.Equal(2, await Host.CountAsync("interactions"));
        Assert.Equal(2, (await Host.OutboxAsync(TouchpointTopics.InteractionRecorded)).Count);
    }

    [Fact]
    public async Task RecordInteractions_WhenEmptyOrTooLong_IsInvalidArgument()
    {
        var empty = await Assert.ThrowsAsync<RpcException>(async () => await Host.Client.RecordInteractionsAsync(new RecordInteractionsRequest()));
        var large = new RecordInteractionsRequest();
        large.Interactions.AddRange(Enumerable.Range(0, 1001).Select(i => NewInteraction($"e{i}", "touchpoints/web", Start)));
        var tooLarge = await Assert.ThrowsAsync<RpcException>(async () => await Host.Client.RecordInteractionsAsync(large));

        Assert.Equal(StatusCode.InvalidArgument, empty.StatusCode);
        Assert.Equal(StatusCode.InvalidArgument, tooLarge.StatusCode);
        Assert.Contains("1000", tooLarge.Status.Detail);
    }

    [Fact]
    public async Task StreamInteractions_StoresEachMessageAndSumsUpTheStream()
    {
        using var call = Host.Client.StreamInteractions();
        for (var m = 0; m < 3; m++)
        {
            var message = new StreamInteractionsRequest();
            message.Interactions.AddRange(Enumerable.Range(0, 100).Select(i => NewInteraction($"s{m}-{i}", "touchpoints/web", Start.AddSeconds(-i), $"cookie-{i % 10}")));
            message.Interactions.Add(NewInteraction($"s{m}-bad", "touchpoints/nope", Start));
            message.Interactions.Add(NewInteraction("s0-0", "touchpoints/web", Start, "cookie-0")); // the first message's first, sent again
            await call.RequestStream.WriteAsync(message);
        }

        await call.RequestStream.CompleteAsync();
        var response = await call;

        Assert.Equal(3, response.MessageCount);
        Assert.Equal(300, response.AcceptedCount);
        Assert.Equal(3, response.DuplicateCount);
        Assert.Equal(3, response.RejectedCount);
        Assert.Equal(["s0-bad", "s1-bad", "s2-bad"], response.Rejected.Select(r => r.InteractionId));
        Assert.Equal([100, 202, 304], response.Rejected.Select(r => r.Index));
        // Index counts across the stream; the field names the position within its message.
        Assert.Equal(["interactions[100].touchpoint", "interactions[100].touchpoint", "interactions[100].touchpoint"], response.Rejected.Select(r => r.Field));
        Assert.Equal(300, await Host.CountAsync("interactions"));
        Assert.Equal(300, (await Host.OutboxAsync(TouchpointTopics.InteractionRecorded)).Count);
        Assert.Equal(10, await Host.CountAsync("person_state"));
    }

    public static TheoryData<string, Action<Interaction>> ReusedIds => new()
    {
        { "another touchpoint", i => i.Touchpoint = "touchpoints/brochure" },
        { "another type", i => i.Type = InteractionType.Click },
        { "another time", i => i.OccurTime = Timestamp.FromDateTimeOffset(At.AddMinutes(-1)) },
        { "another person", i => i.Identifiers[0].Value = "cookie-43" },
        { "another property", i => i.Properties["page"] = "/offers" },
    };

    [Theory]
    [MemberData(nameof(ReusedIds))]
    public async Task RecordInteraction_WhenIdIsReusedWithOtherContent_IsAlreadyExistsAndKeepsTheFirst(string change, Action<Interaction> reuse)
    {
        await Host.CreateAsync("brochure");
        await Host.Client.RecordInteractionAsync(new RecordInteractionRequest { Interaction = Sent("reused") });
        var other = Sent("reused");
        reuse(other);

        var error = await Assert.ThrowsAsync<RpcException>(async () => await Host.Client.RecordInteractionAsync(new RecordInteractionRequest { Interaction = other }));
        var resent = await Host.Client.RecordInteractionAsync(new RecordInteractionRequest { Interaction = Sent("reused") });

        Assert.Equal(StatusCode.AlreadyExists, error.StatusCode);
        Assert.Contains("interaction_id", error.Status.Detail);
        Assert.Contains("other content", error.Status.Detail);
        Assert.True(resent.Duplicate, change);
        Assert.Equal(1, await Host.CountAsync("interactions"));
        Assert.Single(await Host.OutboxAsync(TouchpointTopics.InteractionRecorded));
    }

    [Fact]
    public async Task RecordInteractionsAndStream_WhenIdIsReusedWithOtherContent_ListTheConflictApartFromDuplicates()
    {
        await Host.Client.RecordInteractionAsync(new RecordInteractionRequest { Interaction = Sent("b-1") });
        var retyped = Sent("b-1");
        retyped.Type = InteractionType.Purchase;

        var batch = await Host.Client.RecordInteractionsAsync(new RecordInteractionsRequest { Interactions = { Sent("b-1"), retyped, Sent("b-2") } });
        using var call = Host.Client.StreamInteractions();
        await call.RequestStream.WriteAsync(new StreamInteractionsRequest { Interactions = { retyped, Sent("b-2"), Sent("b-3") } });
        await call.RequestStream.CompleteAsync();
        var stream = await call;

        Assert.Equal((1, 1, 1), (batch.AcceptedCount, batch.DuplicateCount, batch.ConflictCount));
        var conflict = Assert.Single(batch.Rejected);
        Assert.Equal((1, "b-1", "interactions[1].interaction_id"), (conflict.Index, conflict.InteractionId, conflict.Field));
        Assert.Equal((1L, 1L, 1L, 1L), (stream.AcceptedCount, stream.DuplicateCount, stream.ConflictCount, stream.RejectedCount));
        Assert.Equal(0, Assert.Single(stream.Rejected).Index);
        Assert.Equal(3, await Host.CountAsync("interactions"));
    }

    [Fact]
    public async Task StreamInteractions_WhenAPropertyKeyHoldsNul_RejectsThatInteractionNamingTheKeyAndStoresTheRest()
    {
        using var call = Host.Client.StreamInteractions();
        var bad = Sent("n-bad");
        bad.Properties["utm\0source"] = "newsletter";
        var dollar = Sent("n-dollar");
        dollar.Properties["$id"] = "1";
        await call.RequestStream.WriteAsync(new StreamInteractionsRequest { Interactions = { Sent("n-1"), bad } });
        await call.RequestStream.WriteAsync(new StreamInteractionsRequest { Interactions = { dollar, Sent("n-2") } });
        await call.RequestStream.CompleteAsync();

        var summary = await call;

        Assert.Equal((2L, 2L), (summary.AcceptedCount, summary.RejectedCount));
        Assert.Equal(
            [(1, "n-bad", "interactions[1].properties[utm\\u0000source]"), (2, "n-dollar", "interactions[0].properties[$id]")],
            summary.Rejected.Select(r => (r.Index, r.InteractionId, r.Field)));
        Assert.All(summary.Rejected, r => Assert.Contains("'$'", r.Reason, StringComparison.Ordinal));
        Assert.Equal(2, await Host.CountAsync("interactions"));
    }

    [Fact]
    public async Task StreamInteractions_WhenAMessageIsEmpty_FailsButKeepsTheBatchesBeforeIt()
    {
        using var call = Host.Client.StreamInteractions();
        await call.RequestStream.WriteAsync(new StreamInteractionsRequest { Interactions = { Sent("k-1") } });
        await call.RequestStream.WriteAsync(new StreamInteractionsRequest());
        await call.RequestStream.CompleteAsync();

        var error = await Assert.ThrowsAsync<RpcException>(async () => await call);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal(1, await Host.CountAsync("interactions"));
    }

    [Fact]
    public async Task RecordInteraction_StoresEmailOnlyAsKeyedHashInTheDatabaseFiles()
    {
        var interaction = Sent("evt-mail");
        interaction.Identifiers.Add(new Identifier { Kind = IdentifierKind.Email, Value = "Anna.Berg@Example.com" });

        await Host.Client.RecordInteractionAsync(new RecordInteractionRequest { Interaction = interaction });

        // The write-ahead log is folded into the database and removed when the last connection closes,
        // so whichever of the two files exist hold everything written.
        var text = "";
        foreach (var file in new[] { "touchpoint.db-wal", "touchpoint.db" }.Select(f => Path.Combine(Host.Platform.DataDirectory, f)).Where(File.Exists))
        {
            text += System.Text.Encoding.UTF8.GetString(await File.ReadAllBytesAsync(file));
        }

        Assert.DoesNotContain("anna.berg", text, StringComparison.OrdinalIgnoreCase);
        var key = Convert.FromBase64String(await File.ReadAllTextAsync(Path.Combine(Host.Platform.DataDirectory, "identifier-hash.key")));
        Assert.Contains(new Journey.Shared.Privacy.IdentifierHasher(key).HashEmail("anna.berg@example.com"), text);
    }

    [Fact]
    public async Task RecordInteraction_WithoutWriteScope_IsPermissionDenied()
    {
        using var reader = Host.Platform.CreateChannel(TouchpointScopes.Read);

        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await new TouchpointService.TouchpointServiceClient(reader).RecordInteractionAsync(new RecordInteractionRequest { Interaction = Sent("evt-x") }));

        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
    }

    [Fact]
    public async Task RecordBatches_InOneTransaction_GivesEachBatchItsOwnOutcome()
    {
        var recorder = Host.Platform.Services.GetRequiredService<Journey.Touchpoint.Domain.InteractionRecorder>();
        static Journey.Touchpoint.Domain.InteractionInput Input(string id, string touchpoint) =>
            new(id, touchpoint, Start.AddMinutes(-1), [(Journey.Touchpoint.Domain.IdentifierKind.AnonymousId, "cookie-g")], Journey.Touchpoint.Domain.InteractionType.View, "", "", 0, "", null, new Dictionary<string, string>());

        var outcomes = await recorder.RecordBatchesAsync(
            [
                [Input("g-1", "touchpoints/web"), Input("g-2", "touchpoints/web")],
                [Input("g-2", "touchpoints/web"), Input("g-bad", "touchpoints/nope"), Input("g-3", "touchpoints/web")],
            ],
            CancellationToken.None);

        Assert.Equal((2, 0, 0), (outcomes[0].Accepted, outcomes[0].Duplicates, outcomes[0].Rejected.Count));
        Assert.Equal((1, 1), (outcomes[1].Accepted, outcomes[1].Duplicates));
        var rejected = Assert.Single(outcomes[1].Rejected);
        Assert.Equal((1, "g-bad", "interactions[1].touchpoint"), (rejected.Index, rejected.EventId, rejected.Field));
        Assert.Equal(3, await Host.CountAsync("interactions"));
        Assert.Equal(3, (await Host.OutboxAsync(TouchpointTopics.InteractionRecorded)).Count);
    }

    [Fact]
    public async Task RecordInteraction_WithoutInteraction_IsInvalidArgument()
    {
        var error = await Assert.ThrowsAsync<RpcException>(async () => await Host.Client.RecordInteractionAsync(new RecordInteractionRequest()));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
    }

    private static Interaction Sent(string id, string touchpoint = "touchpoints/web") => NewInteraction(id, touchpoint, At);

    private Task<long> ScalarAsync(string sql) =>
        Host.Database.ReadAsync(async (connection, ct) =>
        {
            await using var command = connection.CreateCommand();
            command.CommandText = sql;
            return (long)(await command.ExecuteScalarAsync(ct))!;
        }, CancellationToken.None);
}
