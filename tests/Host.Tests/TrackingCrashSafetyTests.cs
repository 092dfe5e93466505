using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Journey.Common.V1;
using Journey.Testing;
using Journey.Touchpoint.V1;

namespace Journey.Host.Tests;

/// <summary>
/// The tracking API answers 200 only once a request is stored whole: a host killed (SIGKILL) while
/// batches arrive keeps every batch it answered 200 to, keeps no part of one it did not answer, and
/// takes the unanswered ones again, as an SDK sends them again, with nothing doubled.
/// </summary>
public sealed class TrackingCrashSafetyTests
{
    private const int PerBatch = 100;

    // An SDK's retry carries the same messages: the same ids and times.
    private static readonly DateTimeOffset SentAt = DateTimeOffset.UtcNow;

    [Fact]
    public async Task Kill_WhileBatchesArrive_KeepsEachAnsweredBatchWholeAndTheOthersWholeOrNotAtAll()
    {
        using var scratch = new ScratchDirectory("journey-tracking-crash-");
        var data = scratch.Path;
        string key;
        var answered = new System.Collections.Concurrent.ConcurrentDictionary<int, bool>();
        var sent = new System.Collections.Concurrent.ConcurrentDictionary<int, bool>();
        await using (var first = HostProcess.Start(data))
        {
            await first.WaitUntilListeningAsync();
            using var channel = first.CreateChannel(data, [.. JourneyServices.Known.Scopes.All]);
            key = await DefineSourceAsync(channel);
            using var http = new HttpClient { BaseAddress = new Uri(first.HttpAddress), Timeout = TimeSpan.FromSeconds(30) };
            using var stop = new CancellationTokenSource();
            var next = -1;
            async Task SenderAsync()
            {
                while (!stop.IsCancellationRequested)
                {
                    var batch = Interlocked.Increment(ref next);
                    sent[batch] = true;
                    try
                    {
                        using var response = await http.SendAsync(Batch(batch, key), stop.Token);
                        if (response.StatusCode == HttpStatusCode.OK)
                        {
                            answered[batch] = true;
                        }
                    }
                    catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
                    {
                        return;
                    }
                }
            }

            var senders = Enumerable.Range(0, 4).Select(_ => Task.Run(SenderAsync)).ToList();
            Assert.True(await TestPlatform.EventuallyAsync(() => Task.FromResult(answered.Count >= 8), TimeSpan.FromSeconds(60)), "the host answered too few batches");
            // Kill while the senders still have requests in flight.
            await first.KillAsync();
            await stop.CancelAsync();
            await Task.WhenAll(senders);
        }

        Assert.Contains(sent.Keys, b => !answered.ContainsKey(b));

        await using var second = HostProcess.Start(data);
        await second.WaitUntilListeningAsync();
        using var restarted = second.CreateChannel(data, [.. JourneyServices.Known.Scopes.All]);
        var touchpoints = new TouchpointService.TouchpointServiceClient(restarted);
        foreach (var batch in sent.Keys.Order())
        {
            var stored = await CountAsync(touchpoints, batch);
            Assert.True(answered.ContainsKey(batch) ? stored == PerBatch : stored is 0 or PerBatch, $"batch {batch} (answered: {answered.ContainsKey(batch)}) has {stored} of {PerBatch} interactions");
        }

        using var again = new HttpClient { BaseAddress = new Uri(second.HttpAddress) };
        foreach (var batch in sent.Keys.Where(b => !answered.ContainsKey(b)))
        {
            using var response = await again.SendAsync(Batch(batch, key));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.Equal(PerBatch, body.RootElement.GetProperty("accepted").GetInt32() + body.RootElement.GetProperty("duplicates").GetInt32());
            Assert.Equal(PerBatch, await CountAsync(touchpoints, batch));
        }
    }

    private static HttpRequestMessage Batch(int batch, string key)
    {
        var messages = Enumerable.Range(0, PerBatch).Select(i => new Dictionary<string, object>
        {
            ["type"] = "track",
            ["event"] = "Product Added",
            ["messageId"] = $"b{batch}-m{i}",
            ["anonymousId"] = $"crash-visitor-{batch}",
            ["timestamp"] = SentAt.AddMilliseconds(-i).ToString("O", System.Globalization.CultureInfo.InvariantCulture),
        });
        var body = JsonSerializer.Serialize(new Dictionary<string, object> { ["batch"] = messages, ["sentAt"] = SentAt.ToString("O", System.Globalization.CultureInfo.InvariantCulture) });
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/batch") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(key + ":")));
        return request;
    }

    private static async Task<int> CountAsync(TouchpointService.TouchpointServiceClient touchpoints, int batch) =>
        (await touchpoints.ListInteractionsAsync(new ListInteractionsRequest
        {
            Person = Persons.Of(new Identifier { Kind = IdentifierKind.AnonymousId, Value = $"crash-visitor-{batch}" }),
            PageSize = 500,
        })).Interactions.Count;

    private static async Task<string> DefineSourceAsync(Grpc.Net.Client.GrpcChannel channel)
    {
        await new TouchpointService.TouchpointServiceClient(channel).CreateTouchpointAsync(new CreateTouchpointRequest
        {
            TouchpointId = "shop",
            Touchpoint = new Touchpoint.V1.Touchpoint { DisplayName = "Shop", Channel = Channel.Web, Ownership = Ownership.Owned, Criticality = 3, Stages = { JourneyStage.Evaluation }, IntendedExperience = new IntendedExperience { TargetRating = 4 } },
        });
        var sources = new TrackingSourceService.TrackingSourceServiceClient(channel);
        await sources.CreateSourceAsync(new CreateSourceRequest
        {
            SourceId = "web",
            Source = new Source
            {
                DisplayName = "Web",
                RequestsPerSecond = 100_000,
                TrackingPlan = new TrackingPlan { Events = { new EventRule { Event = "Product Added", Touchpoint = "touchpoints/shop", Type = InteractionType.CartAdd } } },
            },
        });
        return (await sources.CreateWriteKeyAsync(new CreateWriteKeyRequest { Parent = "sources/web" })).Secret;
    }
}
