using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Journey.Common.V1;
using Journey.Events.V1;
using Journey.Shared.Events;
using Journey.Touchpoint.Storage;
using Journey.Touchpoint.V1;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using static Journey.Touchpoint.Tests.Grpc.TouchpointHost;

namespace Journey.Touchpoint.Tests.Grpc;

public sealed class TimelineAndRetentionTests : IAsyncLifetime
{
    private TouchpointHost _host = null!;

    public async Task InitializeAsync()
    {
        _host = await StartAsync(new Dictionary<string, string?> { ["Journey:Touchpoint:RetentionDays"] = "30" });
        await _host.CreateAsync("web");
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task ListInteractions_ByAnyIdentifier_ReturnsThePersonsInteractionsNewestFirstInPages()
    {
        var withEmail = NewInteraction("e2", "touchpoints/web", Start.AddMinutes(-20), "cookie-a");
        withEmail.Identifiers.Add(new Identifier { Kind = IdentifierKind.Email, Value = "ann@example.com" });
        await RecordAsync(
            NewInteraction("e1", "touchpoints/web", Start.AddMinutes(-30), "cookie-a"),
            withEmail,
            NewInteraction("e3", "touchpoints/web", Start.AddMinutes(-10), "cookie-a"),
            NewInteraction("other", "touchpoints/web", Start.AddMinutes(-5), "cookie-b"));

        var first = await _host.Client.ListInteractionsAsync(new ListInteractionsRequest { Identifier = Email("ANN@example.com"), PageSize = 2 });
        var second = await _host.Client.ListInteractionsAsync(new ListInteractionsRequest { Identifier = Email("ann@example.com"), PageSize = 2, PageToken = first.NextPageToken });

        Assert.Equal(["e3", "e2"], first.Interactions.Select(i => i.Interaction.InteractionId));
        Assert.Equal(["e1"], second.Interactions.Select(i => i.Interaction.InteractionId));
        Assert.Empty(second.NextPageToken);
        Assert.Equal(Timestamp.FromDateTimeOffset(Start), first.Interactions[0].RecordTime);
        Assert.DoesNotContain(first.Interactions[1].Interaction.Identifiers, i => i.Value.Contains('@'));
    }

    [Fact]
    public async Task ListInteractions_ByProfileId_AfterProfilesMerged_CoversEveryMergedIdentifier()
    {
        await RecordAsync(
            NewInteraction("phone-visit", "touchpoints/web", Start.AddMinutes(-30), "cookie-phone"),
            NewInteraction("laptop-visit", "touchpoints/web", Start.AddMinutes(-20), "cookie-laptop"));
        await HandleAsync(new ProfilesMerged
        {
            Survivor = "profiles/p1",
            Merged = "profiles/p2",
            MovedIdentifiers = { new Identifier { Kind = IdentifierKind.AnonymousId, Value = "cookie-phone" } },
        });
        await HandleAsync(new ProfilesMerged
        {
            Survivor = "profiles/p1",
            Merged = "profiles/p3",
            MovedIdentifiers = { new Identifier { Kind = IdentifierKind.AnonymousId, Value = "cookie-laptop" } },
        });

        var byProfile = await _host.Client.ListInteractionsAsync(new ListInteractionsRequest { Identifier = new Identifier { Kind = IdentifierKind.ProfileId, Value = "profiles/p1" } });
        var byCookie = await _host.Client.ListInteractionsAsync(new ListInteractionsRequest { Identifier = new Identifier { Kind = IdentifierKind.AnonymousId, Value = "cookie-phone" } });

        Assert.Equal(["laptop-visit", "phone-visit"], byProfile.Interactions.Select(i => i.Interaction.InteractionId));
        Assert.Equal(["laptop-visit", "phone-visit"], byCookie.Interactions.Select(i => i.Interaction.InteractionId));
    }

    [Fact]
    public async Task ListInteractions_WithoutIdentifier_IsInvalidArgument()
    {
        var error = await Assert.ThrowsAsync<RpcException>(async () => await _host.Client.ListInteractionsAsync(new ListInteractionsRequest()));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
    }

    [Fact]
    public async Task ErasureRequested_DeletesThePersonsInteractionsOnceAndPublishesErasureCompleted()
    {
        var withEmail = NewInteraction("e1", "touchpoints/web", Start.AddMinutes(-30), "cookie-a");
        withEmail.Identifiers.Add(new Identifier { Kind = IdentifierKind.Email, Value = "ann@example.com" });
        await RecordAsync(withEmail, NewInteraction("e2", "touchpoints/web", Start.AddMinutes(-20), "cookie-a"), NewInteraction("keep", "touchpoints/web", Start, "cookie-b"));
        var hash = _host.Platform.Services.GetRequiredService<Shared.Privacy.IdentifierHasher>().HashEmail("ann@example.com");
        var request = new ErasureRequested { Erasure = "erasures/x1", Identifiers = { new Identifier { Kind = IdentifierKind.Email, Value = hash } } };

        await HandleAsync(request, "erase-1");
        await HandleAsync(request, "erase-1");

        Assert.Equal(1, await _host.CountAsync("interactions"));
        Assert.Empty((await _host.Client.ListInteractionsAsync(new ListInteractionsRequest { Identifier = new Identifier { Kind = IdentifierKind.AnonymousId, Value = "cookie-a" } })).Interactions);
        var completed = Assert.Single(await _host.PayloadsAsync<ErasureCompleted>(Topics.ErasureCompleted));
        Assert.Equal("erasures/x1", completed.Erasure);
        Assert.Equal("touchpoint", completed.Service);
        Assert.Equal(4, completed.RecordsErased);
    }

    [Fact]
    public async Task RetentionSweep_RemovesInteractionsOlderThanTheWindowAndKeepsAggregates()
    {
        await RecordAsync(
            NewInteraction("old", "touchpoints/web", Start.AddDays(-20), rating: 2),
            NewInteraction("new", "touchpoints/web", Start.AddDays(-1), rating: 4));
        _host.Clock.Advance(TimeSpan.FromDays(15));
        var sweep = _host.Platform.Services.GetServices<IHostedService>().OfType<RetentionSweep>().Single();

        var removed = await sweep.SweepOnceAsync(CancellationToken.None);

        Assert.Equal(1, removed);
        Assert.Equal(1, await _host.CountAsync("interactions"));
        var scorecard = (await _host.Client.GetTouchpointScorecardAsync(new GetTouchpointScorecardRequest
        {
            Name = "touchpoints/web",
            Period = new Period { StartTime = Timestamp.FromDateTimeOffset(Start.AddDays(-30)), EndTime = Timestamp.FromDateTimeOffset(Start) },
        })).Scorecard;
        Assert.Equal(2, scorecard.Interactions);
        Assert.Equal(3.0, scorecard.AverageRating);
    }

    [Fact]
    public async Task RetentionOptions_WhenOutOfRange_FailStartNamingTheSetting()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => StartAsync(new Dictionary<string, string?> { ["Journey:Touchpoint:RetentionDays"] = "0" }));

        Assert.Contains("RetentionDays", error.Message);
    }

    private static Identifier Email(string value) => new() { Kind = IdentifierKind.Email, Value = value };

    private async Task RecordAsync(params V1.Interaction[] interactions)
    {
        var response = await _host.Client.RecordInteractionsAsync(new RecordInteractionsRequest { Interactions = { interactions } });
        Assert.Empty(response.Rejected);
    }

    private async Task HandleAsync<T>(T message, string? eventId = null)
        where T : Google.Protobuf.IMessage<T>
    {
        await using var scope = _host.Platform.Services.CreateAsyncScope();
        var handler = scope.ServiceProvider.GetServices<object>().OfType<IEventHandler<T>>().FirstOrDefault()
            ?? (IEventHandler<T>)scope.ServiceProvider.GetRequiredService(typeof(TouchpointModule).Assembly.GetTypes().Single(t => typeof(IEventHandler<T>).IsAssignableFrom(t)));
        await handler.HandleAsync([new ReceivedEvent<T>(eventId ?? Guid.CreateVersion7().ToString(), "profile", Start, message)], CancellationToken.None);
    }
}
