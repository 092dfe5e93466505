using System.Net;
using System.Net.Http.Headers;
using Journey.Common.V1;
using Journey.Profile;
using Journey.Profile.V1;
using Journey.Shared.Security;

namespace Journey.Benchmarks;

/// <summary>
/// A profile read as a JSON client reads it: <c>GET /v1/profiles/{id}</c> over HTTP/1.1 on the host's
/// HTTP listener, which gRPC JSON transcoding maps to <c>GetProfile</c>, against the same profiles read
/// with gRPC <c>GetProfile</c> in the same run, one caller each on the settled host. Its own profiles
/// (made with <c>Identify</c>), so it runs alone (<c>--only transcoding</c>). Held: the GET's p99 ≤ 1.5×
/// the gRPC call's p99.
/// </summary>
public sealed class TranscodedGetScenario : IScenario
{
    public string Name => "transcoding";

    public async Task<IReadOnlyList<Figure>> RunAsync(BenchContext context)
    {
        var (channel, settings) = (context.Channel, context.Settings);
        var client = new ProfileService.ProfileServiceClient(channel);
        var count = settings.Quick ? 200 : 2_000;
        var run = Guid.NewGuid().ToString("N")[..8];
        var names = new string[count];
        await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) =>
            names[i] = (await client.IdentifyAsync(
                new IdentifyRequest { Identifiers = { new Identifier { Kind = IdentifierKind.CustomerId, Value = $"bench-get-{run}-{i}" } } }, cancellationToken: ct)).Profile.Name);

        await context.SettleAsync("transcoding: gRPC GetProfile");
        var grpc = await Measure.RunAsync(
            i => client.GetProfileAsync(new GetProfileRequest { Name = names[Random.Shared.Next(count)] }).ResponseAsync, 1, settings.Warmup, settings.Duration);

        // HTTP/1.1 with a kept-alive connection, as an HTTP client library sends by default.
        var token = DevelopmentIssuer.Open(settings.Scratch, "journey-development", "journey").CreateToken("benchmark", [ProfileScopes.Read], TimeSpan.FromHours(1));
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1 })
        {
            BaseAddress = new Uri(context.Host.HttpAddress),
            DefaultRequestVersion = HttpVersion.Version11,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        await context.SettleAsync("transcoding: GET /v1/profiles/{id}");
        var get = await Measure.RunAsync(async i =>
        {
            using var response = await http.GetAsync("/v1/" + names[Random.Shared.Next(count)]);
            var body = await response.Content.ReadAsStringAsync();
            if (response.StatusCode != HttpStatusCode.OK || !body.Contains("\"profile\"", StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"GET /v1/profiles/... answered {(int)response.StatusCode}: {body}");
            }
        }, 1, settings.Warmup, settings.Duration);

        var tail = get.P99 / grpc.P99;
        return
        [
            new($"transcoding: gRPC GetProfile, 1 caller, {count:N0} profiles", $"p50 {Report.Micros(grpc.P50)}, p99 {Report.Micros(grpc.P99)}, {Report.Rate(grpc.PerSecond, "calls")}", "itself", 1, "baseline", null),
            new($"transcoding: GET /v1/profiles/{{id}} over HTTP/1.1 JSON, 1 caller", $"p50 {Report.Micros(get.P50)}, p99 {Report.Micros(get.P99)}, {Report.Rate(get.PerSecond, "requests")}",
                $"gRPC GetProfile p99 {Report.Micros(grpc.P99)}", tail, "p99 ≤ 1.5×", tail <= 1.5),
        ];
    }
}
