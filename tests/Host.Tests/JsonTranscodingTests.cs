using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Google.Api;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Rpc;
using Grpc.Core;
using Journey.Common.V1;
using Journey.Consent.V1;
using Journey.Profile;
using Journey.Profile.V1;
using Journey.Recommendation.V1;
using Journey.Shared.Errors;
using Journey.Shared.Security;
using Journey.Testing;
using Journey.Touchpoint;
using Journey.Touchpoint.V1;

namespace Journey.Host.Tests;

/// <summary>One host process, started as the README starts it, for the JSON/HTTP tests.</summary>
public sealed class TranscodingHostFixture : IAsyncLifetime, IDisposable
{
    private readonly ScratchDirectory _scratch = new("journey-json-");

    public HostProcess Host { get; private set; } = default!;

    public string Data => _scratch.Path;

    public async Task InitializeAsync()
    {
        Host = HostProcess.Start(Data);
        await Host.WaitUntilListeningAsync();
    }

    /// <summary>A development token of this host with <paramref name="scopes"/>.</summary>
    public string Token(params string[] scopes) =>
        DevelopmentIssuer.Open(Data, "journey-development", "journey").CreateToken("json-test", scopes, TimeSpan.FromHours(1));

    /// <summary>An HTTP/1.1 client of the HTTP listener, with a bearer token when <paramref name="scopes"/> are given.</summary>
    public HttpClient Http(params string[] scopes)
    {
        var http = new HttpClient { BaseAddress = new Uri(Host.HttpAddress) };
        if (scopes.Length > 0)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token(scopes));
        }

        return http;
    }

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        _scratch.Dispose();
    }

    public void Dispose() => _scratch.Dispose();
}

/// <summary>
/// Every gRPC method as JSON over HTTP (0027), called as HTTP clients call it, with HttpClient and
/// with curl, and compared with what the same method answers over gRPC: same answers, same access
/// checks, same errors with the same ErrorInfo reasons.
/// </summary>
public sealed class JsonTranscodingTests(TranscodingHostFixture fixture) : IClassFixture<TranscodingHostFixture>
{
    private static readonly JsonParser Json = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(false)
        .WithTypeRegistry(TypeRegistry.FromMessages(ErrorInfo.Descriptor, BadRequest.Descriptor, RetryInfo.Descriptor)));

    private static readonly string[] Everything = [.. JourneyServices.Known.Scopes.All];

    private HostProcess Host => fixture.Host;

    [Fact]
    public async Task Touchpoint_CreateGetListPatchOverHttp_AnswersAsGrpcDoes()
    {
        using var http = fixture.Http(Everything);
        using var channel = Host.CreateChannel(fixture.Data, Everything);
        var grpc = new TouchpointService.TouchpointServiceClient(channel);

        var created = await SendAsync<CreateTouchpointResponse>(http, HttpMethod.Post, "/v1/touchpoints?touchpointId=json-calculator", """
            {"displayName":"Lease calculator","channel":"CHANNEL_WEB","ownership":"OWNERSHIP_OWNED",
             "stages":["JOURNEY_STAGE_EVALUATION"],"criticality":3,"intendedExperience":{"targetRating":4}}
            """);
        Assert.Equal("touchpoints/json-calculator", created.Touchpoint.Name);

        var got = await SendAsync<GetTouchpointResponse>(http, HttpMethod.Get, "/v1/touchpoints/json-calculator");
        Assert.Equal(await grpc.GetTouchpointAsync(new GetTouchpointRequest { Name = "touchpoints/json-calculator" }), got);
        Assert.Equal(created.Touchpoint, got.Touchpoint);

        var patched = await SendAsync<UpdateTouchpointResponse>(http, HttpMethod.Patch, "/v1/touchpoints/json-calculator?updateMask=displayName,criticality",
            $$"""{"displayName":"Lease-vs-buy calculator","criticality":4,"etag":"{{got.Touchpoint.Etag}}"}""");
        Assert.Equal(("Lease-vs-buy calculator", 4, "touchpoints/json-calculator"), (patched.Touchpoint.DisplayName, patched.Touchpoint.Criticality, patched.Touchpoint.Name));
        Assert.Equal(patched.Touchpoint, (await grpc.GetTouchpointAsync(new GetTouchpointRequest { Name = "touchpoints/json-calculator" })).Touchpoint);

        var listed = await SendAsync<ListTouchpointsResponse>(http, HttpMethod.Get, "/v1/touchpoints?stage=JOURNEY_STAGE_EVALUATION&pageSize=50");
        Assert.Contains(listed.Touchpoints, t => t.Name == "touchpoints/json-calculator");
        Assert.Equal(await grpc.ListTouchpointsAsync(new ListTouchpointsRequest { Stage = JourneyStage.Evaluation, PageSize = 50 }), listed);
    }

    [Fact]
    public async Task IdentifyThenGetProfileCheckConsentAndRecommend_OverHttp_AnswerAsGrpcDoes()
    {
        using var http = fixture.Http(Everything);
        using var channel = Host.CreateChannel(fixture.Data, Everything);
        var email = $"json-{Guid.NewGuid():N}@example.com";

        var identified = await SendAsync<IdentifyResponse>(http, HttpMethod.Post, "/v1/profiles:identify",
            $$"""{"identifiers":[{"kind":"IDENTIFIER_KIND_EMAIL","value":"{{email}}"},{"kind":"IDENTIFIER_KIND_CUSTOMER_ID","value":"json-c-1"}]}""");
        Assert.True(identified.Created);
        var profileId = identified.Profile.Name["profiles/".Length..];
        var profile = await SendAsync<GetProfileResponse>(http, HttpMethod.Get, $"/v1/profiles/{profileId}");
        Assert.Equal(Unread(await new ProfileService.ProfileServiceClient(channel).GetProfileAsync(new GetProfileRequest { Name = identified.Profile.Name })), Unread(profile));
        Assert.Equal(identified.Profile.Name, profile.Profile.Name);

        await SendAsync<CreatePurposeResponse>(http, HttpMethod.Post, "/v1/purposes?purposeId=json-newsletter",
            """{"description":"News by e-mail","legalBasis":"LEGAL_BASIS_CONSENT","channels":["CHANNEL_EMAIL"],"defaultDecision":"DEFAULT_DECISION_DENY"}""");
        var check = await SendAsync<CheckConsentResponse>(http, HttpMethod.Post, "/v1/consents:check",
            $$"""{"person":{"profile":"{{identified.Profile.Name}}"},"purpose":"purposes/json-newsletter","channel":"CHANNEL_EMAIL"}""");
        var grpcCheck = await new ConsentService.ConsentServiceClient(channel).CheckConsentAsync(new CheckConsentRequest
        {
            Person = new PersonRef { Profile = identified.Profile.Name },
            Purpose = "purposes/json-newsletter",
            Channel = Channel.Email,
        });
        Assert.Equal(grpcCheck, check);
        Assert.False(check.Allowed);

        await SendAsync<CreateTouchpointResponse>(http, HttpMethod.Post, "/v1/touchpoints?touchpointId=json-shop", """
            {"displayName":"Shop","channel":"CHANNEL_WEB","ownership":"OWNERSHIP_OWNED","stages":["JOURNEY_STAGE_AWARENESS"],"criticality":2,"intendedExperience":{"targetRating":4}}
            """);
        await SendAsync<CreateContentResponse>(http, HttpMethod.Post, "/v1/contents?contentId=json-guide", Content("Which EV fits"));
        const string recommend = """{"person":{"identifiers":{"identifiers":[{"kind":"IDENTIFIER_KIND_CUSTOMER_ID","value":"json-c-1"}]}},"touchpoint":"touchpoints/json-shop","channel":"CHANNEL_WEB","count":3}""";
        // The recommendation service learns of the new touchpoint from its event, a moment after it is created.
        Assert.True(await TestPlatform.EventuallyAsync(async () =>
        {
            using var attempt = await http.PostAsync("/v1/contents:recommend", new StringContent(recommend, Encoding.UTF8, "application/json"));
            return attempt.StatusCode == HttpStatusCode.OK;
        }, TimeSpan.FromSeconds(30)));
        var recommended = await SendAsync<RecommendResponse>(http, HttpMethod.Post, "/v1/contents:recommend", recommend);
        var grpcRecommended = await new RecommendationService.RecommendationServiceClient(channel).RecommendAsync(new RecommendRequest
        {
            Person = Persons.Of(new Identifier { Kind = IdentifierKind.CustomerId, Value = "json-c-1" }),
            Touchpoint = "touchpoints/json-shop",
            Channel = Channel.Web,
            Count = 3,
        });
        Assert.StartsWith("recommendations/", recommended.Recommendation, StringComparison.Ordinal);
        Assert.Contains(recommended.Items, i => i.Content == "contents/json-guide");
        // Each call is its own recommendation, and ranking samples (Thompson), so scores differ from call to call.
        Assert.Equal(
            (grpcRecommended.Variant, grpcRecommended.Stage, string.Join(' ', grpcRecommended.Items.Select(i => i.Content).Order())),
            (recommended.Variant, recommended.Stage, string.Join(' ', recommended.Items.Select(i => i.Content).Order())));
    }

    [Fact]
    public async Task WatchProfile_OverHttp_StreamsTheCurrentStateAsNewlineDelimitedJson()
    {
        using var http = fixture.Http(Everything);
        var identified = await SendAsync<IdentifyResponse>(http, HttpMethod.Post, "/v1/profiles:identify",
            """{"identifiers":[{"kind":"IDENTIFIER_KIND_CUSTOMER_ID","value":"json-watch-1"}]}""");

        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/{identified.Profile.Name}:watch");
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var first = await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(identified.Profile.Name, Json.Parse<WatchProfileResponse>(first).Profile.Name);
    }

    [Fact]
    public async Task AccessChecks_OverHttp_AreThoseOfGrpcWithStatusBodies()
    {
        using var anonymous = fixture.Http();
        using var reader = fixture.Http(ProfileScopes.Read);

        var (noToken, noTokenBody) = await ErrorAsync(anonymous, HttpMethod.Get, "/v1/touchpoints");
        var (noScope, noScopeBody) = await ErrorAsync(reader, HttpMethod.Get, "/v1/touchpoints");

        Assert.Equal((HttpStatusCode.Unauthorized, (int)StatusCode.Unauthenticated, ErrorReasons.TokenRequired), (noToken, noTokenBody.Code, Reason(noTokenBody)));
        Assert.Equal((HttpStatusCode.Forbidden, (int)StatusCode.PermissionDenied, ErrorReasons.ScopeRequired), (noScope, noScopeBody.Code, Reason(noScopeBody)));
        Assert.Equal(TouchpointScopes.Read, Info(noScopeBody).Metadata["scope"]);
        var grpc = await Assert.ThrowsAsync<RpcException>(async () =>
            await new TouchpointService.TouchpointServiceClient(Host.CreateChannel(fixture.Data, ProfileScopes.Read)).ListTouchpointsAsync(new ListTouchpointsRequest()));
        Assert.Equal(noScopeBody, grpc.GetRpcStatus());
    }

    [Fact]
    public async Task BadInput_OverHttp_Is400WithAStatusBodyNamingTheField()
    {
        using var http = fixture.Http(Everything);

        var (status, body) = await ErrorAsync(http, HttpMethod.Post, "/v1/touchpoints?touchpointId=json-bad", """{"displayName":"","channel":"CHANNEL_WEB"}""");
        var (malformed, malformedBody) = await ErrorAsync(http, HttpMethod.Post, "/v1/profiles:identify", "{not json");
        var (tooLong, tooLongBody) = await ErrorAsync(http, HttpMethod.Post, "/v1/profiles:identify",
            $$"""{"identifiers":[{"kind":"IDENTIFIER_KIND_CUSTOMER_ID","value":"{{new string('a', 100_001)}}"}]}""");

        Assert.Equal((HttpStatusCode.BadRequest, (int)StatusCode.InvalidArgument, ErrorReasons.FieldInvalid), (status, body.Code, Reason(body)));
        Assert.Contains(body.Details.Where(d => d.Is(BadRequest.Descriptor)).SelectMany(d => d.Unpack<BadRequest>().FieldViolations), v => v.Field.StartsWith("touchpoint.", StringComparison.Ordinal));
        Assert.Equal((HttpStatusCode.BadRequest, (int)StatusCode.InvalidArgument), (malformed, malformedBody.Code));
        Assert.Equal((HttpStatusCode.BadRequest, (int)StatusCode.InvalidArgument, ErrorReasons.RequestTooLarge), (tooLong, tooLongBody.Code, Reason(tooLongBody)));
        Assert.Contains(tooLongBody.Details.Where(d => d.Is(BadRequest.Descriptor)).SelectMany(d => d.Unpack<BadRequest>().FieldViolations), v => v.Field == "identifiers[0].value");
    }

    [Fact]
    public async Task NotFoundAndFailedPrecondition_CarryTheirReasons_OverGrpcAndJson()
    {
        using var http = fixture.Http(Everything);
        using var channel = Host.CreateChannel(fixture.Data, Everything);
        await SendAsync<CreateContentResponse>(http, HttpMethod.Post, "/v1/contents?contentId=json-retired", Content("Old offer"));
        await SendAsync<RetireContentResponse>(http, HttpMethod.Post, "/v1/contents/json-retired:retire", "{}");

        var (missing, missingBody) = await ErrorAsync(http, HttpMethod.Get, "/v1/touchpoints/json-missing");
        var (retired, retiredBody) = await ErrorAsync(http, HttpMethod.Patch, "/v1/contents/json-retired?updateMask=title", """{"title":"New offer"}""");
        var grpcMissing = await Assert.ThrowsAsync<RpcException>(async () =>
            await new TouchpointService.TouchpointServiceClient(channel).GetTouchpointAsync(new GetTouchpointRequest { Name = "touchpoints/json-missing" }));
        var grpcRetired = await Assert.ThrowsAsync<RpcException>(async () =>
            await new RecommendationService.RecommendationServiceClient(channel).UpdateContentAsync(new UpdateContentRequest
            {
                Content = new ContentItem { Name = "contents/json-retired", Title = "New offer" },
                UpdateMask = new Google.Protobuf.WellKnownTypes.FieldMask { Paths = { "title" } },
            }));

        Assert.Equal((HttpStatusCode.NotFound, "TOUCHPOINT_NOT_FOUND", ErrorReasons.Domain), (missing, Reason(missingBody), Info(missingBody).Domain));
        Assert.Equal((StatusCode.NotFound, "TOUCHPOINT_NOT_FOUND"), (grpcMissing.StatusCode, Reason(grpcMissing.GetRpcStatus()!)));
        Assert.Equal((HttpStatusCode.BadRequest, (int)StatusCode.FailedPrecondition, "CONTENT_RETIRED"), (retired, retiredBody.Code, Reason(retiredBody)));
        Assert.Equal((StatusCode.FailedPrecondition, "CONTENT_RETIRED"), (grpcRetired.StatusCode, Reason(grpcRetired.GetRpcStatus()!)));
        Assert.Equal(missingBody, grpcMissing.GetRpcStatus());
        Assert.Equal(retiredBody, grpcRetired.GetRpcStatus());
    }

    [Fact]
    public async Task TrackingRoutes_NextToTranscoding_StillAnswerAsTheTrackingApi()
    {
        using var http = fixture.Http(Everything);
        await SendAsync<CreateSourceResponse>(http, HttpMethod.Post, "/v1/sources?sourceId=json-web", """{"displayName":"Web shop"}""");
        var key = (await SendAsync<CreateWriteKeyResponse>(http, HttpMethod.Post, "/v1/sources/json-web/writeKeys", "{}")).Secret;
        using var sdk = new HttpClient { BaseAddress = new Uri(Host.HttpAddress) };
        sdk.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(key + ":")));
        var track = """{"userId":"json-u-1","event":"Video Played","messageId":"json-m-0"}""";

        foreach (var path in new[] { "/v1/track", "/v1/t", "/v1/page", "/v1/p", "/v1/identify", "/v1/i" })
        {
            using var response = await sdk.PostAsync(path, new StringContent(track.Replace("json-m-0", $"json-m{path.Replace('/', '-')}", StringComparison.Ordinal), Encoding.UTF8, "text/plain"));
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }

        using var batch = await sdk.PostAsync("/v1/batch", new StringContent("""{"batch":[{"type":"track","userId":"json-u-1","event":"Video Played","messageId":"json-m-batch"}]}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, batch.StatusCode);
        using var settings = await sdk.GetAsync($"/v1/projects/{key}/settings");
        Assert.Equal(HttpStatusCode.OK, settings.StatusCode);
        using var anonymous = new HttpClient { BaseAddress = new Uri(Host.HttpAddress) };
        using var unauthorised = await anonymous.PostAsync("/v1/track", new StringContent(track));
        Assert.Equal(HttpStatusCode.Unauthorized, unauthorised.StatusCode);
    }

    [Fact]
    public async Task OpenApiDocument_ListsEveryTranscodedMethodAtThePathAClientCalls()
    {
        using var http = fixture.Http();

        using var document = JsonDocument.Parse(await http.GetStringAsync("/openapi/v1.json"));

        var paths = document.RootElement.GetProperty("paths");
        var listed = paths.EnumerateObject().SelectMany(p => p.Value.EnumerateObject().Select(o => $"{o.Name.ToUpperInvariant()} {p.Name}")).ToHashSet();
        var expected = HttpAnnotationTests.JourneyServices().SelectMany(s => s.Methods)
            .Where(m => m.GetOptions()?.GetExtension(AnnotationsExtensions.Http) is not null)
            .SelectMany(m => Bindings(m.GetOptions().GetExtension(AnnotationsExtensions.Http)))
            .Select(b => $"{b.Verb} {OpenApiPath(b.Pattern)}")
            .ToList();
        Assert.True(expected.Count >= 70, $"only {expected.Count} bindings found");
        Assert.Equal([], expected.Where(e => !listed.Contains(e)));
        Assert.Equal(expected.Count, listed.Count);
        Assert.Equal("3.0.1", document.RootElement.GetProperty("openapi").GetString());
    }

    [Fact]
    public async Task OpenApiClient_GeneratedFromTheDocument_CreatesAndGetsATouchpointAsGrpcAnswers()
    {
        using var scratch = new ScratchDirectory("journey-openapi-client-");
        var modules = Path.Combine(scratch.Path, "node_modules");
        Directory.CreateSymbolicLink(modules, Path.Combine(Repository.Root, "tests", "tooling", "node_modules"));
        try
        {
            foreach (var file in new[] { "client.ts", "tsconfig.json" })
            {
                File.Copy(Path.Combine(Repository.Root, "tests", "Host.Tests", "OpenApi", file), Path.Combine(scratch.Path, file));
            }

            await File.WriteAllTextAsync(Path.Combine(scratch.Path, "package.json"), """{"type":"module"}""");
            using var channel = Host.CreateChannel(fixture.Data, Everything);

            // openapi-typescript reads the document the host serves; tsc checks the openapi-fetch client against it.
            var generated = await Command.RunAsync("node", scratch.Path, ["node_modules/openapi-typescript/bin/cli.js", $"{Host.HttpAddress}/openapi/v1.json", "-o", "api.d.ts"]);
            Assert.True(generated.ExitCode == 0, generated.Output);
            var compiled = await Command.RunAsync("node", scratch.Path, ["node_modules/typescript/bin/tsc", "-p", "."]);
            Assert.True(compiled.ExitCode == 0, compiled.Output);
            var (exitCode, output) = await Command.RunAsync("node", scratch.Path, ["out/client.js", Host.HttpAddress, fixture.Token(Everything), "json-openapi"]);

            Assert.True(exitCode == 0, output);
            using var answers = JsonDocument.Parse(output.Trim().Split('\n')[^1]);
            var root = answers.RootElement;
            Assert.Equal((200, 200, 404), (root.GetProperty("createdStatus").GetInt32(), root.GetProperty("gotStatus").GetInt32(), root.GetProperty("missingStatus").GetInt32()));
            Assert.Equal(
                await new TouchpointService.TouchpointServiceClient(channel).GetTouchpointAsync(new GetTouchpointRequest { Name = "touchpoints/json-openapi" }),
                Json.Parse<GetTouchpointResponse>(root.GetProperty("got").GetRawText()));
            Assert.Equal("TOUCHPOINT_NOT_FOUND", Reason(Json.Parse<Google.Rpc.Status>(root.GetProperty("missing").GetRawText())));

            // The client's types are the document's: a path it does not describe does not compile.
            var client = Path.Combine(scratch.Path, "client.ts");
            await File.WriteAllTextAsync(client, (await File.ReadAllTextAsync(client)).Replace("\"/v1/touchpoints/{touchpoint}\"", "\"/v1/touchpoint/{touchpoint}\"", StringComparison.Ordinal));
            var wrong = await Command.RunAsync("node", scratch.Path, ["node_modules/typescript/bin/tsc", "-p", "."]);
            Assert.NotEqual(0, wrong.ExitCode);
            Assert.Contains("/v1/touchpoint/{touchpoint}", wrong.Output, StringComparison.Ordinal);
        }
        finally
        {
            // The link only: the tooling's node_modules stay.
            Directory.Delete(modules);
        }
    }

    [SkippableFact]
    public async Task Curl_CreatesGetsListsAndPatchesATouchpointAndIdentifies_AsGrpcAnswers()
    {
        var curl = Curl();
        Skip.If(curl is null, "curl is not installed on this machine (apt-get install curl); the HttpClient tests cover the same methods.");
        var token = fixture.Token(Everything);
        using var channel = Host.CreateChannel(fixture.Data, Everything);

        async Task<(int Status, string Body)> CurlAsync(params string[] arguments)
        {
            var (exitCode, output) = await Command.RunAsync(curl!, Repository.Root, ["-sS", "-H", $"authorization: Bearer {token}", "-w", "\n%{http_code}", .. arguments]);
            Assert.True(exitCode == 0, output);
            var split = output.TrimEnd().LastIndexOf('\n');
            return (int.Parse(output[(split + 1)..], System.Globalization.CultureInfo.InvariantCulture), output[..split]);
        }

        var created = await CurlAsync("-X", "POST", "-H", "content-type: application/json", "-d",
            """{"displayName":"Dealer","channel":"CHANNEL_DEALER_STORE","ownership":"OWNERSHIP_OWNED","stages":["JOURNEY_STAGE_PURCHASE"],"criticality":5,"intendedExperience":{"targetRating":4.5}}""",
            $"{Host.HttpAddress}/v1/touchpoints?touchpointId=json-dealer");
        var got = await CurlAsync($"{Host.HttpAddress}/v1/touchpoints/json-dealer");
        var patched = await CurlAsync("-X", "PATCH", "-H", "content-type: application/json", "-d", """{"displayName":"Dealer visit"}""", $"{Host.HttpAddress}/v1/touchpoints/json-dealer?updateMask=displayName");
        var listed = await CurlAsync($"{Host.HttpAddress}/v1/touchpoints?stage=JOURNEY_STAGE_PURCHASE");
        var identified = await CurlAsync("-X", "POST", "-H", "content-type: application/json", "-d", """{"identifiers":[{"kind":"IDENTIFIER_KIND_CUSTOMER_ID","value":"json-curl-1"}]}""", $"{Host.HttpAddress}/v1/profiles:identify");

        Assert.Equal([200, 200, 200, 200, 200], new[] { created.Status, got.Status, patched.Status, listed.Status, identified.Status });
        var grpc = new TouchpointService.TouchpointServiceClient(channel);
        Assert.Equal(Json.Parse<CreateTouchpointResponse>(created.Body).Touchpoint, Json.Parse<GetTouchpointResponse>(got.Body).Touchpoint);
        Assert.Equal(await grpc.GetTouchpointAsync(new GetTouchpointRequest { Name = "touchpoints/json-dealer" }), Json.Parse<GetTouchpointResponse>(
            (await CurlAsync($"{Host.HttpAddress}/v1/touchpoints/json-dealer")).Body));
        Assert.Equal("Dealer visit", Json.Parse<UpdateTouchpointResponse>(patched.Body).Touchpoint.DisplayName);
        Assert.Equal(await grpc.ListTouchpointsAsync(new ListTouchpointsRequest { Stage = JourneyStage.Purchase }), Json.Parse<ListTouchpointsResponse>(listed.Body));
        var profile = Json.Parse<IdentifyResponse>(identified.Body).Profile;
        var fetched = await CurlAsync($"{Host.HttpAddress}/v1/{profile.Name}");
        Assert.Equal(Unread(await new ProfileService.ProfileServiceClient(channel).GetProfileAsync(new GetProfileRequest { Name = profile.Name })), Unread(Json.Parse<GetProfileResponse>(fetched.Body)));
    }

    [Fact]
    public void OpenApiPath_WritesEachWildcardOfAResourceNameAsAParameter()
    {
        Assert.Equal("/v1/touchpoints/{touchpoint}", OpenApiPath("/v1/{name=touchpoints/*}"));
        Assert.Equal("/v1/sources/{source}/writeKeys/{writeKey}:rotate", OpenApiPath("/v1/{name=sources/*/writeKeys/*}:rotate"));
        Assert.Equal("/v1/profiles:identify", OpenApiPath("/v1/profiles:identify"));
        Assert.Equal("/v1/profiles/{profile}/interactions", OpenApiPath("/v1/{person.profile=profiles/*}/interactions"));
    }

    internal static string OpenApiPath(string pattern) => "/" + Journey.Shared.Hosting.ResourcePathDescriptions.Expand(pattern).Path;

    private static IEnumerable<(string Verb, string Pattern)> Bindings(HttpRule rule)
    {
        yield return rule.PatternCase switch
        {
            HttpRule.PatternOneofCase.Get => ("GET", rule.Get),
            HttpRule.PatternOneofCase.Post => ("POST", rule.Post),
            HttpRule.PatternOneofCase.Patch => ("PATCH", rule.Patch),
            HttpRule.PatternOneofCase.Put => ("PUT", rule.Put),
            HttpRule.PatternOneofCase.Delete => ("DELETE", rule.Delete),
            _ => (rule.Custom.Kind, rule.Custom.Path),
        };
        foreach (var additional in rule.AdditionalBindings.SelectMany(Bindings))
        {
            yield return additional;
        }
    }

    /// <summary>The answer without its read time, which says when each call read the profile.</summary>
    private static GetProfileResponse Unread(GetProfileResponse response)
    {
        response.Profile.ReadTime = null;
        return response;
    }

    private static string Content(string title) =>
        $$"""
        {"title":"{{title}}","kind":"CONTENT_KIND_GUIDE","stages":[{"stage":"JOURNEY_STAGE_AWARENESS","weight":0.5}],
         "topics":["electric-cars"],"channels":["CHANNEL_WEB"],"hardness":0.1,"purpose":"CONTENT_PURPOSE_MARKETING","generic":true}
        """;

    private static async Task<T> SendAsync<T>(HttpClient http, HttpMethod method, string path, string? body = null)
        where T : IMessage<T>, new()
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{method} {path}: {(int)response.StatusCode} {text}");
        return Json.Parse<T>(text);
    }

    private static async Task<(HttpStatusCode Status, Google.Rpc.Status Body)> ErrorAsync(HttpClient http, HttpMethod method, string path, string? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        using var response = await http.SendAsync(request);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return (response.StatusCode, Json.Parse<Google.Rpc.Status>(await response.Content.ReadAsStringAsync()));
    }

    private static ErrorInfo Info(Google.Rpc.Status status) =>
        Assert.Single(status.Details, d => d.Is(ErrorInfo.Descriptor)).Unpack<ErrorInfo>();

    private static string Reason(Google.Rpc.Status status) => Info(status).Reason;

    private static string? Curl() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Select(directory => Path.Combine(directory, "curl"))
            .FirstOrDefault(File.Exists);
}
