using Google.Protobuf.WellKnownTypes;
using Journey.Common.V1;
using Journey.Consent.V1;
using Journey.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Journey.Consent.Tests.Grpc;

/// <summary>A host running only the consent service, with helpers to set up purposes and people.</summary>
public sealed class ConsentHost : ModuleHost<ConsentService.ConsentServiceClient>
{
    private ConsentHost(TestPlatform platform, TimeProvider time)
        : base(platform, new ConsentService.ConsentServiceClient(platform.Channel))
    {
        Time = time;
    }

    public TimeProvider Time { get; }

    public static Task<ConsentHost> StartAsync(TimeProvider? time = null) => StartAsync(time, null, null, null);

    public static async Task<ConsentHost> StartAsync(TimeProvider? time, IReadOnlyDictionary<string, string?>? settings, Action<IServiceCollection>? configureServices, string? dataDirectory)
    {
        var platform = await TestPlatform.StartAsync([ConsentModule.Definition], settings, services =>
        {
            if (time is not null)
            {
                services.AddSingleton(time);
            }

            configureServices?.Invoke(services);
        }, dataDirectory);
        return new ConsentHost(platform, time ?? TimeProvider.System);
    }

    public Timestamp Now(TimeSpan offset = default) => Timestamp.FromDateTimeOffset(Time.GetUtcNow() + offset);

    public async Task<int> PolicyAsync(string text = "We use your e-mail address to send you offers.") =>
        (await Client.CreatePolicyVersionAsync(new CreatePolicyVersionRequest { Text = text })).PolicyVersion.Version;

    public async Task<Purpose> PurposeAsync(
        string id,
        LegalBasis basis = LegalBasis.Consent,
        DefaultDecision defaultDecision = DefaultDecision.Deny,
        Duration? validity = null,
        int minimumPolicyVersion = 0,
        params Channel[] channels)
    {
        var purpose = new Purpose
        {
            Description = $"Purpose {id}",
            LegalBasis = basis,
            DefaultDecision = defaultDecision,
            Validity = validity,
            MinimumPolicyVersion = minimumPolicyVersion,
        };
        purpose.Channels.Add(channels.Length == 0 ? [Channel.Email, Channel.Web] : channels);
        return (await Client.CreatePurposeAsync(new CreatePurposeRequest { PurposeId = id, Purpose = purpose })).Purpose;
    }

    public static Identifier Email(string email) => new() { Kind = IdentifierKind.Email, Value = email };

    public static Identifier Profile(string id) => new() { Kind = IdentifierKind.ProfileId, Value = id };

    public async Task<ConsentRecord> RecordAsync(Identifier who, string purpose, ConsentDecision decision, int policyVersion, Timestamp? capturedAt = null, params Channel[] channels)
    {
        var request = new RecordConsentRequest
        {
            Purpose = $"purposes/{purpose}",
            Decision = decision,
            PolicyVersion = policyVersion,
            CaptureTime = capturedAt ?? Now(),
            Touchpoint = "dealer-munich-contact-form",
            FormId = "dealer-contact-v2",
            IpAddress = "192.0.2.10",
            UserAgent = "Mozilla/5.0",
        };
        request.Person = Persons.Of(who);
        request.Channels.Add(channels);
        return (await Client.RecordConsentAsync(request)).Record;
    }

    public async Task<CheckConsentResponse> CheckAsync(Identifier who, string purpose, Channel channel = Channel.Unspecified)
    {
        var request = new CheckConsentRequest { Purpose = $"purposes/{purpose}", Channel = channel };
        request.Person = Persons.Of(who);
        return await Client.CheckConsentAsync(request);
    }
}
