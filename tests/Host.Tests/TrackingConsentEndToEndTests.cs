using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Journey.Common.V1;
using Journey.Consent;
using Journey.Consent.V1;
using Journey.Testing;
using Journey.Touchpoint;
using Journey.Touchpoint.V1;

namespace Journey.Host.Tests;

/// <summary>
/// Consent that tracking messages carry (Segment's <c>context.consent.categoryPreferences</c>), sent to
/// the tracking API of a host on loopback and read back through the consent service's gRPC API: the
/// touchpoint service publishes it with the person's e-mail hashed, and the consent service records it
/// once per change of mind, however often the site repeats it.
/// </summary>
public sealed class TrackingConsentEndToEndTests : IAsyncLifetime
{
    private static readonly Identifier Ann = new() { Kind = IdentifierKind.Email, Value = "Ann.Keller@Example.com" };

    private TestPlatform _platform = null!;
    private ConsentService.ConsentServiceClient _consent = null!;
    private string _key = "";

    public async Task InitializeAsync()
    {
        _platform = await TestPlatform.StartAsync([TouchpointModule.Definition, ConsentModule.Definition], new Dictionary<string, string?> { ["Journey:Hosting:HttpPort"] = "0" });
        _consent = new ConsentService.ConsentServiceClient(_platform.Channel);
        await _consent.CreatePolicyVersionAsync(new CreatePolicyVersionRequest { Text = "We show you ads that fit and count visits." });
        foreach (var id in new[] { "marketing-ads", "analytics" })
        {
            await _consent.CreatePurposeAsync(new CreatePurposeRequest
            {
                PurposeId = id,
                Purpose = new Purpose { Description = id, LegalBasis = LegalBasis.Consent, DefaultDecision = DefaultDecision.Deny, Channels = { Channel.Web } },
            });
        }

        var sources = new TrackingSourceService.TrackingSourceServiceClient(_platform.Channel);
        await sources.CreateSourceAsync(new CreateSourceRequest
        {
            SourceId = "web",
            Source = new Source
            {
                DisplayName = "Web shop",
                TrackingPlan = new Touchpoint.V1.TrackingPlan
                {
                    ConsentCategories =
                    {
                        new ConsentCategoryRule { Category = "Advertising", Purpose = "purposes/marketing-ads" },
                        new ConsentCategoryRule { Category = "Analytics", Purpose = "purposes/analytics" },
                    },
                },
            },
        });
        _key = (await sources.CreateWriteKeyAsync(new CreateWriteKeyRequest { Parent = "sources/web" })).Secret;
    }

    public async Task DisposeAsync() => await _platform.DisposeAsync();

    private async Task TrackAsync(string messageId, bool advertising)
    {
        using var http = new HttpClient { BaseAddress = new Uri(_platform.HttpAddress!) };
        var json = """
            {"event":"Page Scrolled","messageId":"MESSAGE","anonymousId":"anon-ann",
             "context":{"traits":{"email":"EMAIL"},"consent":{"categoryPreferences":{"Advertising":ADVERTISING,"Functional":true}}}}
            """.Replace("MESSAGE", messageId, StringComparison.Ordinal).Replace("EMAIL", Ann.Value, StringComparison.Ordinal)
            .Replace("ADVERTISING", advertising ? "true" : "false", StringComparison.Ordinal);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/track") { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(_key + ":")));
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await _platform.DrainAsync();
    }

    private async Task<CheckConsentResponse> CheckAsync(Identifier who, string purpose) =>
        await _consent.CheckConsentAsync(new CheckConsentRequest { Person = Persons.Of(who), Purpose = "purposes/" + purpose });

    private async Task<int> LedgerLengthAsync() =>
        (await _consent.ListConsentHistoryAsync(new ListConsentHistoryRequest { Person = Persons.Of(Ann), PageSize = 100 })).Records.Count;

    [Fact]
    public async Task Track_WithCategoryPreferences_GrantsThenWithdraws_AndRepeatsAppendNothing()
    {
        await TrackAsync("m-1", advertising: true);
        var granted = await CheckAsync(Ann, "marketing-ads");
        await TrackAsync("m-2", advertising: true);
        var afterRepeat = await LedgerLengthAsync();

        await TrackAsync("m-3", advertising: false);
        var withdrawn = await CheckAsync(Ann, "marketing-ads");
        var afterWithdrawal = await LedgerLengthAsync();
        await TrackAsync("m-3", advertising: false);
        await TrackAsync("m-4", advertising: false);

        Assert.Equal((true, DecisionReason.Granted), (granted.Allowed, granted.Reason));
        Assert.Equal(1, afterRepeat);
        Assert.Equal((false, DecisionReason.Withdrawn), (withdrawn.Allowed, withdrawn.Reason));
        Assert.Equal(2, afterWithdrawal);
        Assert.Equal(2, await LedgerLengthAsync());
        var history = (await _consent.ListConsentHistoryAsync(new ListConsentHistoryRequest { Person = Persons.Of(Ann) })).Records;
        Assert.Equal(["sources/web/messages/m-1", "sources/web/messages/m-3"], history.Select(r => r.SourceRecord));
        Assert.All(history, r => Assert.Equal(RecordOrigin.Tracking, r.Origin));
        Assert.True((await CheckAsync(new Identifier { Kind = IdentifierKind.AnonymousId, Value = "anon-ann" }, "marketing-ads")).Reason == DecisionReason.Withdrawn);
        Assert.Equal(DecisionReason.NoAnswerDefault, (await CheckAsync(Ann, "analytics")).Reason);
    }

    [Fact]
    public async Task SegmentNodeSdk_SendingConsentInContext_RecordsEachMappedCategory()
    {
        var tooling = Path.Combine(Repository.Root, "tests", "tooling");
        var prefix = $"consent-{Guid.NewGuid():N}"[..20];

        var (exitCode, output) = await Command.RunAsync(
            "node", tooling, [Path.Combine(Repository.Root, "tests", "Host.Tests", "Sdk", "send.cjs"), "segment-consent", _platform.HttpAddress!, _key, prefix, tooling]);
        await _platform.DrainAsync();

        Assert.True(exitCode == 0, output);
        var person = new Identifier { Kind = IdentifierKind.Email, Value = $"{prefix}@example.com" };
        Assert.Equal(DecisionReason.Granted, (await CheckAsync(person, "marketing-ads")).Reason);
        Assert.Equal(DecisionReason.Withdrawn, (await CheckAsync(person, "analytics")).Reason);
        Assert.Equal(DecisionReason.Granted, (await CheckAsync(new Identifier { Kind = IdentifierKind.CustomerId, Value = $"{prefix}-user" }, "marketing-ads")).Reason);
    }
}
