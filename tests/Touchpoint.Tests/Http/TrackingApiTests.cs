using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Google.Protobuf.WellKnownTypes;
using Journey.Common.V1;
using Journey.Events.V1;
using Journey.Testing;
using Journey.Touchpoint.Tests.Grpc;
using Journey.Touchpoint.V1;

namespace Journey.Touchpoint.Tests.Http;

/// <summary>The tracking API over HTTP/1.1 on a real host: a source, its key and plan made through gRPC.</summary>
public sealed class TrackingApiTests : IAsyncLifetime, IDisposable
{
    private TouchpointHost _host = null!;
    private HttpClient _http = null!;
    private TrackingSourceService.TrackingSourceServiceClient _sources = null!;
    private string _key = "";

    private static readonly DateTimeOffset Now = TouchpointHost.Start;

    public async Task InitializeAsync()
    {
        _host = await TouchpointHost.StartAsync(new Dictionary<string, string?> { ["Journey:Hosting:HttpPort"] = "0" });
        _http = new HttpClient { BaseAddress = new Uri(_host.Platform.HttpAddress!) };
        _sources = new TrackingSourceService.TrackingSourceServiceClient(_host.Platform.Channel);
        foreach (var id in new[] { "dealer", "model-pages", "ads" })
        {
            await _host.CreateAsync(id);
        }

        await _sources.CreateSourceAsync(new CreateSourceRequest
        {
            SourceId = "web",
            Source = new Source
            {
                DisplayName = "Web shop",
                AllowedOrigins = { "https://shop.example" },
                RequestsPerSecond = 1000,
                TrackingPlan = new V1.TrackingPlan
                {
                    Events = { new EventRule { Event = "Order Completed", Touchpoint = "touchpoints/dealer", Type = InteractionType.Purchase, RequiredProperties = { "order_id" } } },
                    Pages = { new PageRule { PathPattern = "/models/*", Touchpoint = "touchpoints/model-pages", Type = InteractionType.View } },
                    AdTouchpoint = "touchpoints/ads",
                    ConsentCategories =
                    {
                        new ConsentCategoryRule { Category = "Advertising", Purpose = "purposes/marketing-ads" },
                        new ConsentCategoryRule { Category = "Analytics", Purpose = "purposes/analytics" },
                    },
                },
            },
        });
        _key = (await _sources.CreateWriteKeyAsync(new CreateWriteKeyRequest { Parent = "sources/web" })).Secret;
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    public void Dispose() => _http.Dispose();

    private static string At(DateTimeOffset at) => at.ToString("O", System.Globalization.CultureInfo.InvariantCulture);

    private static HttpRequestMessage Post(string path, string json, string? key = null, string contentType = "application/json", bool gzip = false, string? origin = null)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        if (gzip)
        {
            using var compressed = new MemoryStream();
            using (var zip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
            {
                zip.Write(bytes);
            }

            bytes = compressed.ToArray();
        }

        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(bytes) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        if (gzip)
        {
            request.Content.Headers.ContentEncoding.Add("gzip");
        }

        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(key + ":")));
        }

        if (origin is not null)
        {
            request.Headers.Add("Origin", origin);
        }

        return request;
    }

    [Fact]
    public async Task Track_LabelledAsFormDataAsRudderStacksGzipSenderDoes_IsReadAsJson()
    {
        var json = """{"event":"Order Completed","messageId":"m-1","anonymousId":"a-9","properties":{"order_id":"o-1"}}""";

        var (status, body, _) = await SendAsync(Post("/v1/track", json, _key, contentType: "application/x-www-form-urlencoded", gzip: true));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(1, body.GetProperty("accepted").GetInt32());
    }

    private async Task<(HttpStatusCode Status, JsonElement Body, HttpResponseMessage Response)> SendAsync(HttpRequestMessage request)
    {
        var response = await _http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonDocument.Parse(text.Length == 0 ? "{}" : text).RootElement.Clone(), response);
    }

    private async Task<List<RecordedInteraction>> TimelineAsync(string anonymousId) =>
        [.. (await _host.Client.ListInteractionsAsync(new ListInteractionsRequest { Person = Persons.Of(new Identifier { Kind = IdentifierKind.AnonymousId, Value = anonymousId }) })).Interactions];

    [Fact]
    public async Task Track_WithTheKeyAsBasicUser_RecordsTheMappedInteractionUnderItsMessageId()
    {
        var json = $$$"""{"event":"Order Completed","messageId":"m-1","anonymousId":"a-1","userId":"c-1","timestamp":"{{{At(Now.AddMinutes(-1))}}}","properties":{"order_id":"o-1","revenue":250,"currency":"EUR"}}""";

        var (status, body, _) = await SendAsync(Post("/v1/track", json, _key));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(1, body.GetProperty("accepted").GetInt32());
        var recorded = Assert.Single(await TimelineAsync("a-1")).Interaction;
        Assert.Equal(("m-1", "touchpoints/dealer", InteractionType.Purchase), (recorded.InteractionId, recorded.Touchpoint, recorded.Type));
        Assert.Equal(Timestamp.FromDateTimeOffset(Now.AddMinutes(-1)), recorded.OccurTime);
        Assert.Equal(250, recorded.Value.Units);
        Assert.Contains(recorded.Identifiers, i => i.Kind == IdentifierKind.CustomerId && i.Value == "c-1");
    }

    [Fact]
    public async Task Batch_GzippedTextPlainWithKeyInBody_CountsAcceptedUnmappedAndRejected_AndListsTheIssues()
    {
        var json = $$$"""
            {"writeKey":"{{{_key}}}","sentAt":"{{{At(Now)}}}","batch":[
              {"type":"page","messageId":"p-1","anonymousId":"a-2","properties":{"url":"https://shop.example/models/ev-9"},"timestamp":"{{{At(Now)}}}"},
              {"type":"track","event":"Video Played","messageId":"t-1","anonymousId":"a-2"},
              {"type":"track","event":"Video Played","messageId":"t-2","anonymousId":"a-2"},
              {"type":"track","event":"Order Completed","messageId":"t-3","anonymousId":"a-2","properties":{}},
              {"type":"track","event":"Order Completed","messageId":"t-4"},
              {"type":"group","messageId":"g-1","anonymousId":"a-2","groupId":"acme"}
            ]}
            """;

        var (status, body, _) = await SendAsync(Post("/v1/b", json, contentType: "text/plain", gzip: true));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal((2, 0, 2, 2), (body.GetProperty("accepted").GetInt32(), body.GetProperty("duplicates").GetInt32(), body.GetProperty("rejected").GetInt32(), body.GetProperty("unmapped").GetInt32()));
        Assert.Equal([3, 4], body.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("index").GetInt32()));
        Assert.Equal("touchpoints/model-pages", Assert.Single(await TimelineAsync("a-2")).Interaction.Touchpoint);
        var issues = (await _sources.ListTrackingIssuesAsync(new ListTrackingIssuesRequest { Parent = "sources/web" })).Issues;
        Assert.Equal(
            [(TrackingIssueKind.UnmappedEvent, "Video Played", "", 2L), (TrackingIssueKind.MissingProperty, "Order Completed", "order_id", 1L)],
            issues.Select(i => (i.Kind, i.Name, i.Detail, i.Count)));
    }

    [Fact]
    public async Task Track_SentAgain_IsADuplicate_AndTheSameIdWithOtherContentIsRejected()
    {
        var json = $$$"""{"event":"Order Completed","messageId":"m-1","anonymousId":"a-3","timestamp":"{{{At(Now)}}}","properties":{"order_id":"o-1"}}""";
        await SendAsync(Post("/v1/track", json, _key));

        var (_, again, _) = await SendAsync(Post("/v1/track", json, _key));
        var (_, other, _) = await SendAsync(Post("/v1/track", json.Replace("o-1", "o-2", StringComparison.Ordinal), _key));

        Assert.Equal((0, 1), (again.GetProperty("accepted").GetInt32(), again.GetProperty("duplicates").GetInt32()));
        Assert.Equal(1, other.GetProperty("rejected").GetInt32());
        Assert.Contains("messageId", other.GetProperty("errors")[0].GetProperty("reason").GetString());
        Assert.Single(await TimelineAsync("a-3"));
    }

    [Fact]
    public async Task Requests_WithoutAValidKeyOrBody_AreRefusedWith401Or400()
    {
        var track = """{"event":"Order Completed","messageId":"m-1","anonymousId":"a-4"}""";
        var rotated = await _sources.RotateWriteKeyAsync(new RotateWriteKeyRequest { Name = (await _sources.GetSourceAsync(new GetSourceRequest { Name = "sources/web" })).Source.WriteKeys[0].Name });

        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(Post("/v1/track", track))).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(Post("/v1/track", track, "jk-unknown"))).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(Post("/v1/track", track, _key))).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await SendAsync(Post("/v1/track", "{not json", rotated.Secret))).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await SendAsync(Post("/v1/track", "{\"batch\":[]}", rotated.Secret, gzip: true).WithEncoding("br"))).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await SendAsync(Post("/v1/track", track.Replace("a-4", new string('x', 33 * 1024), StringComparison.Ordinal), rotated.Secret))).Status);
        var tooMany = "{\"batch\":[" + string.Join(',', Enumerable.Range(0, 2501).Select(i => "{}")) + "]}";
        Assert.Equal(HttpStatusCode.BadRequest, (await SendAsync(Post("/v1/batch", tooMany, rotated.Secret))).Status);
        var tooBig = "{\"batch\":[" + string.Join(',', Enumerable.Range(0, 20).Select(i => $"{{\"type\":\"track\",\"anonymousId\":\"{new string('y', 30 * 1024)}\"}}")) + "]}";
        var (status, body, _) = await SendAsync(Post("/v1/batch", tooBig, rotated.Secret, gzip: true));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("500 KB", body.GetProperty("error").GetString());
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(Post("/v1/track", track, rotated.Secret))).Status);
    }

    [Fact]
    public async Task Requests_OverTheSourceRate_Get429WithRetryAfter()
    {
        await _sources.UpdateSourceAsync(new UpdateSourceRequest
        {
            Source = new Source { Name = "sources/web", RequestsPerSecond = 2 },
            UpdateMask = new FieldMask { Paths = { "requests_per_second" } },
        });
        var track = """{"event":"Video Played","messageId":"m-1","anonymousId":"a-5"}""";

        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? refused = null;
        for (var i = 0; i < 3; i++)
        {
            var (status, _, response) = await SendAsync(Post("/v1/track", track, _key));
            statuses.Add(status);
            refused = status == HttpStatusCode.TooManyRequests ? response : refused;
        }

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], statuses);
        Assert.Equal(TimeSpan.FromSeconds(1), refused!.Headers.RetryAfter?.Delta);
        _host.Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(Post("/v1/track", track, _key))).Status);
    }

    [Fact]
    public async Task Browser_FromAnAllowedOrigin_GetsCorsHeaders_AndFromAnotherIsRefusedBeforeStoring()
    {
        var page = $$$"""{"writeKey":"{{{_key}}}","messageId":"p-1","anonymousId":"a-6","properties":{"path":"/models/x"}}""";
        using var preflight = new HttpRequestMessage(HttpMethod.Options, "/v1/p");
        preflight.Headers.Add("Origin", "https://shop.example");
        preflight.Headers.Add("Access-Control-Request-Method", "POST");

        var preflightResponse = await _http.SendAsync(preflight);
        var (allowed, _, allowedResponse) = await SendAsync(Post("/v1/p", page, contentType: "text/plain", origin: "https://shop.example"));
        var (refused, _, _) = await SendAsync(Post("/v1/p", page.Replace("p-1", "p-2", StringComparison.Ordinal), contentType: "text/plain", origin: "https://evil.example"));

        Assert.Equal("https://shop.example", preflightResponse.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Equal(HttpStatusCode.OK, allowed);
        Assert.Equal("https://shop.example", allowedResponse.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Equal(HttpStatusCode.Forbidden, refused);
        Assert.Equal("p-1", Assert.Single(await TimelineAsync("a-6")).Interaction.InteractionId);
    }

    [Fact]
    public async Task Browser_RetryingARateLimitedMessage_MayReadRetryAfterAndSendItsRetryHeader()
    {
        await _sources.UpdateSourceAsync(new UpdateSourceRequest
        {
            Source = new Source { Name = "sources/web", RequestsPerSecond = 1 },
            UpdateMask = new FieldMask { Paths = { "requests_per_second" } },
        });
        var track = $$$"""{"writeKey":"{{{_key}}}","event":"Video Played","messageId":"m-9","anonymousId":"a-9"}""";
        using var preflight = new HttpRequestMessage(HttpMethod.Options, "/v1/t");
        preflight.Headers.Add("Origin", "https://shop.example");
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        preflight.Headers.Add("Access-Control-Request-Headers", "authorization,x-retry-count");

        await SendAsync(Post("/v1/t", track, contentType: "text/plain", origin: "https://shop.example"));
        var (status, _, limited) = await SendAsync(Post("/v1/t", track, contentType: "text/plain", origin: "https://shop.example"));
        var preflightResponse = await _http.SendAsync(preflight);

        Assert.Equal(HttpStatusCode.TooManyRequests, status);
        Assert.Contains("Retry-After", limited.Headers.GetValues("Access-Control-Expose-Headers"));
        var allowed = string.Join(',', preflightResponse.Headers.GetValues("Access-Control-Allow-Headers")).Split(',', StringSplitOptions.TrimEntries);
        Assert.Contains("x-retry-count", allowed, StringComparer.OrdinalIgnoreCase);
        Assert.Contains("authorization", allowed, StringComparer.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task IdentifyAndAlias_PublishIdentityObservedOnceWithHashedEmail()
    {
        var identify = """{"messageId":"i-1","userId":"c-7","anonymousId":"a-7","traits":{"email":"Ann@Example.com","firstName":"Ann"}}""";
        var alias = """{"messageId":"al-1","previousId":"a-8","userId":"c-7"}""";

        var (_, first, _) = await SendAsync(Post("/v1/identify", identify, _key));
        var (_, again, _) = await SendAsync(Post("/v1/identify", identify, _key));
        await SendAsync(Post("/v1/alias", alias, _key));

        Assert.Equal((1, 0), (first.GetProperty("accepted").GetInt32(), first.GetProperty("duplicates").GetInt32()));
        Assert.Equal((0, 1), (again.GetProperty("accepted").GetInt32(), again.GetProperty("duplicates").GetInt32()));
        var published = await _host.PayloadsAsync<IdentityObserved>(TouchpointTopics.IdentityObserved);
        Assert.Equal(2, published.Count);
        Assert.Equal("sources/web", published[0].Source);
        Assert.Equal([IdentifierKind.CustomerId, IdentifierKind.AnonymousId, IdentifierKind.Email], published[0].Identifiers.Select(i => i.Kind));
        Assert.Equal(64, published[0].Identifiers[2].Value.Length);
        Assert.DoesNotContain(published[0].Identifiers, i => i.Value.Contains('@', StringComparison.Ordinal));
        Assert.Equal("Ann", published[0].Traits["first_name"]);
        Assert.False(published[0].Traits.ContainsKey("email"));
        Assert.Equal([("a-8", IdentifierKind.AnonymousId), ("c-7", IdentifierKind.CustomerId)], published[1].Identifiers.Select(i => (i.Value, i.Kind)));
    }

    [Fact]
    public async Task CategoryPreferences_OfMappedCategories_PublishConsentObservedOncePerKeptMessageWithHashedIdentifiers()
    {
        const string Consent = """ "context":{"traits":{"email":"Ann@Example.com"},"consent":{"categoryPreferences":{"Advertising":true,"Analytics":false,"Functional":true,"Broken":"yes"}}} """;
        var unmapped = $$"""{"event":"Consent Preference Updated","messageId":"c-1","anonymousId":"a-5",{{Consent}}}""";
        var rejected = $$"""{"event":"Order Completed","messageId":"c-2","anonymousId":"a-5",{{Consent}}}""";
        var identify = $$"""{"messageId":"c-3","userId":"c-5",{{Consent}}}""";
        var unmappedOnly = """{"event":"Page Scrolled","messageId":"c-4","anonymousId":"a-5","context":{"consent":{"categoryPreferences":{"Functional":false}}}}""";

        var (_, first, _) = await SendAsync(Post("/v1/track", unmapped, _key));
        var (_, retry, _) = await SendAsync(Post("/v1/track", unmapped, _key));
        var (_, refused, _) = await SendAsync(Post("/v1/track", rejected, _key));
        var (_, identified, _) = await SendAsync(Post("/v1/identify", identify, _key));
        await SendAsync(Post("/v1/track", unmappedOnly, _key));

        Assert.Equal(1, first.GetProperty("unmapped").GetInt32());
        Assert.Equal(1, retry.GetProperty("unmapped").GetInt32());
        Assert.Equal(1, refused.GetProperty("rejected").GetInt32());
        Assert.Equal(1, identified.GetProperty("accepted").GetInt32());
        Assert.Single(await _host.PayloadsAsync<IdentityObserved>(TouchpointTopics.IdentityObserved));
        var published = await _host.PayloadsAsync<ConsentObserved>(TouchpointTopics.ConsentObserved);
        Assert.Equal(["c-1", "c-3"], published.Select(p => p.MessageId));
        var observed = published[0];
        Assert.Equal("sources/web", observed.Source);
        Assert.Equal([("purposes/marketing-ads", true), ("purposes/analytics", false)], observed.Preferences.Select(p => (p.Purpose, p.Granted)));
        Assert.Equal([IdentifierKind.AnonymousId, IdentifierKind.Email], observed.Identifiers.Select(i => i.Kind));
        Assert.Equal(64, observed.Identifiers[1].Value.Length);
        Assert.DoesNotContain(published.SelectMany(p => p.Identifiers), i => i.Value.Contains('@', StringComparison.Ordinal));
        Assert.Equal([IdentifierKind.CustomerId, IdentifierKind.Email], published[1].Identifiers.Select(i => i.Kind));
    }

    [Fact]
    public async Task Identify_TraitsNamingOrHoldingAnEmailOrPhone_NeverLeaveInClear()
    {
        var identify = """
            {"messageId":"i-9","userId":"c-9","traits":{"Email":"Ann@Example.com","workEmail":"ann@corp.example","backup":"ann.k@mail.example",
             "phoneNumber":"+49 170 5550199","mobile":"0170 5550198","firstName":"Ann","plan":"pro"}}
            """;

        var (status, body, _) = await SendAsync(Post("/v1/identify", identify, _key));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(1, body.GetProperty("accepted").GetInt32());
        var published = Assert.Single(await _host.PayloadsAsync<IdentityObserved>(TouchpointTopics.IdentityObserved));
        Assert.Equal([("first_name", "Ann"), ("plan", "pro")], published.Traits.Select(t => (t.Key, t.Value)).Order());
    }

    [Fact]
    public async Task Settings_ForAValidKey_TellTheBrowserSdkToSendHere()
    {
        var response = await _http.GetAsync($"/v1/projects/{_key}/settings");
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var segment = body.GetProperty("integrations").GetProperty("Segment.io");
        Assert.Equal($"{new Uri(_host.Platform.HttpAddress!).Authority}/v1", segment.GetProperty("apiHost").GetString());
        Assert.Equal("http", segment.GetProperty("protocol").GetString());
        Assert.Equal(HttpStatusCode.Unauthorized, (await _http.GetAsync("/v1/projects/nope/settings")).StatusCode);
    }

    [Fact]
    public async Task Settings_BehindAProxyEndingTls_TellTheBrowserToSendOverHttps()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/projects/{_key}/settings");
        request.Headers.Add("X-Forwarded-Proto", "https");

        var response = await _http.SendAsync(request);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal("https", body.GetProperty("integrations").GetProperty("Segment.io").GetProperty("protocol").GetString());
    }
}

internal static class RequestExtensions
{
    /// <summary>Replaces the body's Content-Encoding.</summary>
    public static HttpRequestMessage WithEncoding(this HttpRequestMessage request, string encoding)
    {
        request.Content!.Headers.ContentEncoding.Clear();
        request.Content.Headers.ContentEncoding.Add(encoding);
        return request;
    }
}
