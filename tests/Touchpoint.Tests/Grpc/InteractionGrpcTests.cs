using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Journey.Common.V1;
using Journey.Testing;
using Journey.Touchpoint.V1;
using Microsoft.Data.Sqlite;

namespace Journey.Touchpoint.Tests.Grpc;

public sealed class InteractionGrpcTests : IAsyncLifetime
{
    private TestPlatform _platform = null!;
    private TouchpointService.TouchpointServiceClient _client = null!;

    public async Task InitializeAsync()
    {
        _platform = await TestPlatform.StartAsync([TouchpointModule.Definition], new Dictionary<string, string?>
        {
            ["Journey:Touchpoint:RetentionDays"] = "30",
            // Events stay in the outbox, where the tests count them.
            ["Journey:Events:DeliveryEnabled"] = "false",
        });
        _client = new TouchpointService.TouchpointServiceClient(_platform.Channel);
        await _client.CreateTouchpointAsync(new CreateTouchpointRequest { TouchpointId = "lease-calculator", Touchpoint = TestData.Touchpoint() });
        await _client.CreateTouchpointAsync(new CreateTouchpointRequest { TouchpointId = "old-form", Touchpoint = TestData.Touchpoint() });
        await _client.RetireTouchpointAsync(new RetireTouchpointRequest { Name = "touchpoints/old-form" });
    }

    public async Task DisposeAsync() => await _platform.DisposeAsync();

    [Fact]
    public async Task Record_WhenIdRepeats_IsAcknowledgedAsDuplicateAndStoredOnce()
    {
        var first = await _client.RecordInteractionAsync(new RecordInteractionRequest { Interaction = TestData.Interaction("evt-1") });
        var second = await _client.RecordInteractionAsync(new RecordInteractionRequest { Interaction = TestData.Interaction("evt-1") });

        Assert.False(first.Duplicate);
        Assert.True(second.Duplicate);
        Assert.Equal(1, await CountAsync("interactions"));
        Assert.Equal(1, await CountEventsAsync("interaction-recorded"));
    }

    public static TheoryData<string, Action<Interaction>> ReusedIds => new()
    {
        { "another touchpoint", i => i.Touchpoint = "touchpoints/brochure" },
        { "another type", i => i.Type = InteractionType.Click },
        { "another time", i => i.OccurTime = Timestamp.FromDateTimeOffset(TestData.Recently.AddMinutes(-1)) },
        { "another person", i => i.Identifiers[0].Value = "cookie-43" },
        { "another property", i => i.Properties["page"] = "/offers" },
    };

    [Theory]
    [MemberData(nameof(ReusedIds))]
    public async Task Record_WhenIdIsReusedWithOtherContent_IsAlreadyExistsAndKeepsTheFirst(string change, Action<Interaction> reuse)
    {
        await _client.CreateTouchpointAsync(new CreateTouchpointRequest { TouchpointId = "brochure", Touchpoint = TestData.Touchpoint() });
        await _client.RecordInteractionAsync(new RecordInteractionRequest { Interaction = TestData.Interaction("reused") });
        var other = TestData.Interaction("reused");
        reuse(other);

        var error = await Assert.ThrowsAsync<RpcException>(async () => await _client.RecordInteractionAsync(new RecordInteractionRequest { Interaction = other }));
        var resent = await _client.RecordInteractionAsync(new RecordInteractionRequest { Interaction = TestData.Interaction("reused") });

        Assert.Equal(StatusCode.AlreadyExists, error.StatusCode);
        Assert.Contains("interaction_id", error.Status.Detail);
        Assert.Contains("other content", error.Status.Detail);
        Assert.True(resent.Duplicate, change);
        Assert.Equal(1, await CountAsync("interactions"));
        Assert.Equal(1, await CountEventsAsync("interaction-recorded"));
    }

    [Fact]
    public async Task RecordBatchAndStream_WhenIdIsReusedWithOtherContent_ListTheConflictApartFromDuplicates()
    {
        await _client.RecordInteractionAsync(new RecordInteractionRequest { Interaction = TestData.Interaction("b-1") });
        var retyped = TestData.Interaction("b-1");
        retyped.Type = InteractionType.Purchase;

        var batch = await _client.RecordInteractionsAsync(new RecordInteractionsRequest { Interactions = { TestData.Interaction("b-1"), retyped, TestData.Interaction("b-2") } });
        using var call = _client.StreamInteractions();
        await call.RequestStream.WriteAsync(new StreamInteractionsRequest { Interactions = { retyped, TestData.Interaction("b-2"), TestData.Interaction("b-3") } });
        await call.RequestStream.CompleteAsync();
        var stream = await call;

        Assert.Equal((1, 1, 1), (batch.AcceptedCount, batch.DuplicateCount, batch.ConflictCount));
        var conflict = Assert.Single(batch.Rejected);
        Assert.Equal((1, "b-1", "interactions[1].interaction_id"), (conflict.Index, conflict.InteractionId, conflict.Field));
        Assert.Equal((1L, 1L, 1L, 1L), (stream.AcceptedCount, stream.DuplicateCount, stream.ConflictCount, stream.RejectedCount));
        Assert.Equal(0, Assert.Single(stream.Rejected).Index);
        Assert.Equal(3, await CountAsync("interactions"));
    }

    public static TheoryData<string, Action<Interaction>> InvalidInteractions => new()
    {
        { "interaction.touchpoint", i => i.Touchpoint = "touchpoints/nowhere" },
        { "interaction.touchpoint", i => i.Touchpoint = "touchpoints/old-form" },
        { "interaction.touchpoint", i => i.Touchpoint = "lease-calculator" },
        { "interaction.identifiers", i => i.Identifiers.Clear() },
        { "interaction.identifiers[0].kind", i => i.Identifiers[0].Kind = IdentifierKind.Unspecified },
        { "interaction.identifiers[0].value", i => i.Identifiers[0] = new Identifier { Kind = IdentifierKind.Email, Value = "not-an-address" } },
        { "interaction.identifiers[0].value", i => i.Identifiers[0] = new Identifier { Kind = IdentifierKind.AnonymousId, Value = "undefined" } },
        { "interaction.identifiers[0].value", i => i.Identifiers[0] = new Identifier { Kind = IdentifierKind.CustomerId, Value = "-1" } },
        { "interaction.identifiers[0].value", i => i.Identifiers[0] = new Identifier { Kind = IdentifierKind.DeviceId, Value = "00000000-0000-0000-0000-000000000000" } },
        { "interaction.occur_time", i => i.OccurTime = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMinutes(6)) },
        { "interaction.occur_time", i => i.OccurTime = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddDays(-31)) },
        { "interaction.occur_time", i => i.OccurTime = null },
        { "interaction.occur_time", i => i.OccurTime = new Timestamp { Seconds = long.MaxValue } },
        { "interaction.rating", i => i.Rating = 6 },
        { "interaction.rating", i => i.Rating = -1 },
        { "interaction.type", i => i.Type = InteractionType.Unspecified },
        { "interaction.type", i => i.Type = (InteractionType)99 },
        { "interaction.interaction_id", i => i.InteractionId = "" },
        { "interaction.interaction_id", i => i.InteractionId = new string('x', 129) },
        { "interaction.properties", i => { for (var n = 0; n < 33; n++) { i.Properties[$"k{n}"] = "v"; } } },
        { "interaction.properties[k]", i => i.Properties["k"] = new string('v', 513) },
        { "interaction.properties[utm\\u0000source]", i => i.Properties["utm\0source"] = "v" },
        { "interaction.properties[$ref]", i => i.Properties["$ref"] = "v" },
        { "interaction.properties[utm.source]", i => i.Properties["utm.source"] = "v" },
        { "interaction.comment", i => i.Comment = new string('c', 2001) },
        { "interaction.value.currency_code", i => i.Value = new Money { CurrencyCode = "euro", Units = 10 } },
        { "interaction.content", i => i.Content = "guide" },
    };

    [Theory]
    [MemberData(nameof(InvalidInteractions))]
    public async Task Record_WhenInvalid_IsInvalidArgumentNamingTheFieldAndStoresNothing(string field, Action<Interaction> spoil)
    {
        var interaction = TestData.Interaction("evt-bad");
        spoil(interaction);

        var error = await Assert.ThrowsAsync<RpcException>(async () => await _client.RecordInteractionAsync(new RecordInteractionRequest { Interaction = interaction }));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal(field, Assert.Single(error.GetRpcStatus()!.GetDetail<BadRequest>().FieldViolations).Field);
        Assert.Equal(0, await CountAsync("interactions"));
    }

    [Fact]
    public async Task RecordBatch_WhenSomeAreBad_StoresTheGoodAndListsEachRejection()
    {
        var request = new RecordInteractionsRequest
        {
            Interactions =
            {
                TestData.Interaction("good-1"),
                TestData.Interaction("bad-touchpoint", "touchpoints/nowhere"),
                TestData.Interaction("good-2"),
                TestData.Interaction("good-1"),
            },
        };
        var badRating = TestData.Interaction("bad-rating");
        badRating.Rating = 9;
        request.Interactions.Add(badRating);

        var response = await _client.RecordInteractionsAsync(request);

        Assert.Equal(2, response.AcceptedCount);
        Assert.Equal(1, response.DuplicateCount);
        Assert.Equal([(1, "bad-touchpoint", "interactions[1].touchpoint"), (4, "bad-rating", "interactions[4].rating")],
            response.Rejected.Select(r => (r.Index, r.InteractionId, r.Field)));
        Assert.All(response.Rejected, r => Assert.False(string.IsNullOrWhiteSpace(r.Reason)));
        Assert.Equal(2, await CountAsync("interactions"));
    }

    [Fact]
    public async Task RecordBatch_WhenEmptyOrTooLarge_IsInvalidArgument()
    {
        var empty = await Assert.ThrowsAsync<RpcException>(async () => await _client.RecordInteractionsAsync(new RecordInteractionsRequest()));
        var large = new RecordInteractionsRequest();
        large.Interactions.AddRange(Enumerable.Range(0, 1001).Select(i => TestData.Interaction($"e{i}")));
        var tooLarge = await Assert.ThrowsAsync<RpcException>(async () => await _client.RecordInteractionsAsync(large));

        Assert.Equal(StatusCode.InvalidArgument, empty.StatusCode);
        Assert.Equal(StatusCode.InvalidArgument, tooLarge.StatusCode);
        Assert.Contains("1000", tooLarge.Status.Detail);
    }

    [Fact]
    public async Task Stream_StoresEachBatchAndSummarisesTheWholeStream()
    {
        using var call = _client.StreamInteractions();
        await call.RequestStream.WriteAsync(new StreamInteractionsRequest { Interactions = { TestData.Interaction("s-1"), TestData.Interaction("s-2") } });
        var bad = TestData.Interaction("s-bad");
        bad.Rating = 7;
        await call.RequestStream.WriteAsync(new StreamInteractionsRequest { Interactions = { TestData.Interaction("s-2"), bad, TestData.Interaction("s-3") } });
        await call.RequestStream.CompleteAsync();

        var summary = await call;

        Assert.Equal(2, summary.MessageCount);
        Assert.Equal(3, summary.AcceptedCount);
        Assert.Equal(1, summary.DuplicateCount);
        Assert.Equal(1, summary.RejectedCount);
        var rejected = Assert.Single(summary.Rejected);
        Assert.Equal((3, "s-bad", "interactions[1].rating"), (rejected.Index, rejected.InteractionId, rejected.Field));
        Assert.Equal(3, await CountAsync("interactions"));
    }

    [Fact]
    public async Task Stream_WhenAPropertyKeyHoldsNul_RejectsThatInteractionNamingTheKeyAndStoresTheRest()
    {
        using var call = _client.StreamInteractions();
        var bad = TestData.Interaction("n-bad");
        bad.Properties["utm\0source"] = "newsletter";
        var dollar = TestData.Interaction("n-dollar");
        dollar.Properties["$id"] = "1";
        await call.RequestStream.WriteAsync(new StreamInteractionsRequest { Interactions = { TestData.Interaction("n-1"), bad } });
        await call.RequestStream.WriteAsync(new StreamInteractionsRequest { Interactions = { dollar, TestData.Interaction("n-2") } });
        await call.RequestStream.CompleteAsync();

        var summary = await call;

        Assert.Equal((2L, 2L), (summary.AcceptedCount, summary.RejectedCount));
        Assert.Equal(
            [(1, "n-bad", "interactions[1].properties[utm\\u0000source]"), (2, "n-dollar", "interactions[0].properties[$id]")],
            summary.Rejected.Select(r => (r.Index, r.InteractionId, r.Field)));
        Assert.All(summary.Rejected, r => Assert.Contains("'$'", r.Reason, StringComparison.Ordinal));
        Assert.Equal(2, await CountAsync("interactions"));
    }

    [Fact]
    public async Task Stream_WhenAMessageIsEmpty_FailsButKeepsTheBatchesBeforeIt()
    {
        using var call = _client.StreamInteractions();
        await call.RequestStream.WriteAsync(new StreamInteractionsRequest { Interactions = { TestData.Interaction("k-1") } });
        await call.RequestStream.WriteAsync(new StreamInteractionsRequest());
        await call.RequestStream.CompleteAsync();

        var error = await Assert.ThrowsAsync<RpcException>(async () => await call);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal(1, await CountAsync("interactions"));
    }

    [Fact]
    public async Task Record_StoresEmailOnlyAsKeyedHash()
    {
        var interaction = TestData.Interaction("evt-mail");
        interaction.Identifiers.Add(new Identifier { Kind = IdentifierKind.Email, Value = "Anna.Berg@Example.com" });

        await _client.RecordInteractionAsync(new RecordInteractionRequest { Interaction = interaction });

        // The write-ahead log is folded into the database and removed when the last connection closes,
        // so whichever of the two files exist hold everything written.
        var text = "";
        foreach (var file in new[] { "touchpoint.db-wal", "touchpoint.db" }.Select(f => Path.Combine(_platform.DataDirectory, f)).Where(File.Exists))
        {
            text += System.Text.Encoding.UTF8.GetString(await File.ReadAllBytesAsync(file));
        }

        Assert.DoesNotContain("anna.berg", text, StringComparison.OrdinalIgnoreCase);
        var key = Convert.FromBase64String(await File.ReadAllTextAsync(Path.Combine(_platform.DataDirectory, "identifier-hash.key")));
        Assert.Contains(new Journey.Shared.Privacy.IdentifierHasher(key).HashEmail("anna.berg@example.com"), text);
    }

    [Fact]
    public async Task Record_WithoutWriteScope_IsPermissionDenied()
    {
        using var reader = _platform.CreateChannel(TouchpointScopes.Read);

        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await new TouchpointService.TouchpointServiceClient(reader).RecordInteractionAsync(new RecordInteractionRequest { Interaction = TestData.Interaction("evt-x") }));

        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
    }

    private async Task<long> CountAsync(string table)
    {
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(_platform.DataDirectory, "touchpoint.db")};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT COUNT(*) FROM {table}";
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private async Task<long> CountEventsAsync(string topic)
    {
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(_platform.DataDirectory, "touchpoint.db")};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM outbox WHERE topic = $topic";
        command.Parameters.AddWithValue("$topic", topic);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
