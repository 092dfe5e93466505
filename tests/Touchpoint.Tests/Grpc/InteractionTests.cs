using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Journey.Common.V1;
using Journey.Events.V1;
using Journey.Shared.Privacy;
using Journey.Touchpoint.V1;
using Microsoft.Extensions.DependencyInjection;
using static Journey.Touchpoint.Tests.Grpc.TouchpointHost;

namespace Journey.Touchpoint.Tests.Grpc;

public sealed class InteractionTests : IAsyncLifetime
{
    private TouchpointHost _host = null!;

    public async Task InitializeAsync()
    {
        _host = await StartAsync();
        await _host.CreateAsync("web");
        await _host.CreateAsync("old");
        await _host.Client.RetireTouchpointAsync(new RetireTouchpointRequest { Name = "touchpoints/old" });
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    public static TheoryData<string, string> InvalidCases => new()
    {
        { "unknown-touchpoint", "interaction.touchpoint" },
        { "retired-touchpoint", "interaction.touchpoint" },
        { "no-identifier", "interaction.identifiers" },
        { "future", "interaction.occur_time" },
        { "too-old", "interaction.occur_time" },
        { "no-time", "interaction.occur_time" },
        { "rating-6", "interaction.rating" },
        { "rating-negative", "interaction.rating" },
        { "33-properties", "interaction.properties" },
        { "long-property-key", "interaction.properties" },
        { "long-property-value", "interaction.properties[k]" },
        { "long-comment", "interaction.comment" },
        { "bad-currency", "interaction.value.currency_code" },
        { "bad-email", "interaction.identifiers[0].value" },
        { "no-type", "interaction.type" },
        { "no-event-id", "interaction.interaction_id" },
    };

    [Theory]
    [MemberData(nameof(InvalidCases))]
    public async Task RecordInteraction_WhenInvalid_IsInvalidArgumentNamingTheFieldAndStoresNothing(string @case, string field)
    {
        var interaction = NewInteraction("e1", "touchpoints/web", Start.AddMinutes(-1));
        switch (@case)
        {
            case "unknown-touchpoint": interaction.Touchpoint = "touchpoints/nope"; break;
            case "retired-touchpoint": interaction.Touchpoint = "touchpoints/old"; break;
            case "no-identifier": interaction.Identifiers.Clear(); break;
            case "future": interaction.OccurTime = Timestamp.FromDateTimeOffset(Start.AddMinutes(5).AddSeconds(1)); break;
            case "too-old": interaction.OccurTime = Timestamp.FromDateTimeOffset(Start.AddDays(-400).AddSeconds(-1)); break;
            case "no-time": interaction.OccurTime = null; break;
            case "rating-6": interaction.Rating = 6; break;
            case "rating-negative": interaction.Rating = -1; break;
            case "33-properties": for (var i = 0; i < 33; i++) { interaction.Properties[$"k{i}"] = "v"; } break;
            case "long-property-key": interaction.Properties[new string('k', 65)] = "v"; break;
            case "long-property-value": interaction.Properties["k"] = new string('v', 513); break;
            case "long-comment": interaction.Comment = new string('c', 2001); break;
            case "bad-currency": interaction.Value = new Money { CurrencyCode = "eur", Units = 10 }; break;
            case "bad-email": interaction.Identifiers[0] = new Identifier { Kind = IdentifierKind.Email, Value = "not-an-address" }; break;
            case "no-type": interaction.Type = InteractionType.Unspecified; break;
            default: interaction.InteractionId = ""; break;
        }

        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await _host.Client.RecordInteractionAsync(new RecordInteractionRequest { Interaction = interaction }));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains(field + ":", error.Status.Detail);
        Assert.Equal(0, await _host.CountAsync("interactions"));
        Assert.Empty(await _host.OutboxAsync(TouchpointTopics.InteractionRecorded));
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

        var response = await _host.Client.RecordInteractionAsync(new RecordInteractionRequest { Interaction = interaction });

        Assert.False(response.Duplicate);
        Assert.Equal(1, await _host.CountAsync("interactions"));
    }

    [Fact]
    public async Task RecordInteraction_WhenEventIdRepeated_IsAcknowledgedAsDuplicateAndChangesNothing()
    {
        var interaction = NewInteraction("same", "touchpoints/web", Start.AddMinutes(-1), rating: 4);

        var first = await _host.Client.RecordInteractionAsync(new RecordInteractionRequest { Interaction = interaction });
        var second = await _host.Client.RecordInteractionAsync(new RecordInteractionRequest { Interaction = interaction });

        Assert.False(first.Duplicate);
        Assert.True(second.Duplicate);
        Assert.Equal(1, await _host.CountAsync("interactions"));
        Assert.Single(await _host.OutboxAsync(TouchpointTopics.InteractionRecorded));
        Assert.Equal(1, await ScalarAsync("SELECT interactions FROM touchpoint_days"));
    }

    [Fact]
    public async Task RecordInteraction_PublishesInteractionRecordedWithHashedEmailOnly()
    {
        var interaction = NewInteraction("e-mail", "touchpoints/web", Start.AddMinutes(-1));
        interaction.Identifiers.Add(new Identifier { Kind = IdentifierKind.Email, Value = " Ann@Example.com " });
        interaction.Identifiers.Add(new Identifier { Kind = IdentifierKind.Phone, Value = "+49 170 1234567" });

        await _host.Client.RecordInteractionAsync(new RecordInteractionRequest { Interaction = interaction });

        var hasher = _host.Platform.Services.GetRequiredService<IdentifierHasher>();
        var recorded = Assert.Single(await _host.PayloadsAsync<InteractionRecorded>(TouchpointTopics.InteractionRecorded));
        Assert.Equal("e-mail", recorded.InteractionId);
        Assert.Equal("touchpoints/web", recorded.Touchpoint);
        Assert.Equal([JourneyStage.Evaluation], recorded.Stages);
        Assert.Equal(hasher.HashEmail("ann@example.com"), recorded.Identifiers.Single(i => i.Kind == IdentifierKind.Email).Value);
        Assert.Equal(hasher.HashPhone("+491701234567"), recorded.Identifiers.Single(i => i.Kind == IdentifierKind.Phone).Value);
        var stored = await _host.Database.ReadAsync(async (connection, ct) =>
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
            },
        };

        var response = await _host.Client.RecordInteractionsAsync(request);

        Assert.Equal(2, response.AcceptedCount);
        Assert.Equal(1, response.DuplicateCount);
        Assert.Equal([("bad-rating", 1, "interactions[1].rating"), ("bad-touchpoint", 3, "interactions[3].touchpoint")], response.Rejected.Select(r => (r.InteractionId, r.Index, r.Field)));
        Assert.All(response.Rejected, r => Assert.NotEmpty(r.Reason));
        Assert.Equal(2, await _host.CountAsync("interactions"));
        Assert.Equal(2, (await _host.OutboxAsync(TouchpointTopics.InteractionRecorded)).Count);
    }

    [Fact]
    public async Task RecordInteractions_WhenEmptyOrTooLong_IsInvalidArgument()
    {
        var tooLong = new RecordInteractionsRequest();
        tooLong.Interactions.AddRange(Enumerable.Range(0, 1001).Select(i => NewInteraction($"e{i}", "touchpoints/web", Start)));

        foreach (var request in new[] { new RecordInteractionsRequest(), tooLong })
        {
            var error = await Assert.ThrowsAsync<RpcException>(async () => await _host.Client.RecordInteractionsAsync(request));
            Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        }
    }

    [Fact]
    public async Task StreamInteractions_StoresEachMessageAndSumsUpTheStream()
    {
        using var call = _host.Client.StreamInteractions();
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
        Assert.Equal(300, await _host.CountAsync("interactions"));
        Assert.Equal(300, (await _host.OutboxAsync(TouchpointTopics.InteractionRecorded)).Count);
        Assert.Equal(10, await _host.CountAsync("person_state"));
    }

    [Fact]
    public async Task RecordBatches_InOneTransaction_GivesEachBatchItsOwnOutcome()
    {
        var recorder = _host.Platform.Services.GetRequiredService<Journey.Touchpoint.Domain.InteractionRecorder>();
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
        Assert.Equal(3, await _host.CountAsync("interactions"));
        Assert.Equal(3, (await _host.OutboxAsync(TouchpointTopics.InteractionRecorded)).Count);
    }

    [Fact]
    public async Task RecordInteraction_WithoutInteraction_IsInvalidArgument()
    {
        var error = await Assert.ThrowsAsync<RpcException>(async () => await _host.Client.RecordInteractionAsync(new RecordInteractionRequest()));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
    }

    private Task<long> ScalarAsync(string sql) =>
        _host.Database.ReadAsync(async (connection, ct) =>
        {
            await using var command = connection.CreateCommand();
            command.CommandText = sql;
            return (long)(await command.ExecuteScalarAsync(ct))!;
        }, CancellationToken.None);
}
