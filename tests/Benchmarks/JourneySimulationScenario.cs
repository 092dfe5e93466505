using System.Diagnostics;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Journey.Common.V1;
using Journey.Consent.V1;
using Journey.Profile.V1;
using Journey.Testing;
using Journey.Touchpoint.V1;

namespace Journey.Benchmarks;

/// <summary>
/// Synthetic people walking a car buyer's journey through the public APIs at a paced rate: a search
/// ad, the lease-versus-buy calculator, a third-party review, a newsletter signup with consent (Identify
/// merges the visitor into a known customer), a newsletter open, a cart that is often abandoned, a
/// service ticket, a test drive and a purchase, with people dropping off on the way. Reports the step
/// rate it held against the one asked for, and how long the events it produced took to drain.
/// </summary>
public sealed class JourneySimulationScenario : IScenario
{
    private const string Purpose = "purposes/bench-newsletter";

    public string Name => "journey";

    public async Task<IReadOnlyList<Figure>> RunAsync(BenchContext context)
    {
        var (channel, settings) = (context.Channel, context.Settings);
        await Touchpoints.EnsureAsync(channel, "sim-search-ad", Channel.Search, Ownership.Paid, JourneyStage.Awareness);
        await Touchpoints.EnsureAsync(channel, "sim-calculator", Channel.Web, Ownership.Owned, JourneyStage.Consideration);
        await Touchpoints.EnsureAsync(channel, "sim-review", Channel.ThirdPartyReview, Ownership.Earned, JourneyStage.Consideration, JourneyStage.Evaluation);
        await Touchpoints.EnsureAsync(channel, "sim-contact-form", Channel.Web, Ownership.Owned, JourneyStage.Consideration);
        await Touchpoints.EnsureAsync(channel, "sim-newsletter", Channel.Email, Ownership.Owned, JourneyStage.Evaluation);
        await Touchpoints.EnsureAsync(channel, "sim-shop", Channel.Web, Ownership.Owned, JourneyStage.Evaluation, JourneyStage.Purchase);
        await Touchpoints.EnsureAsync(channel, "sim-service", Channel.Service, Ownership.Owned, JourneyStage.Ownership);
        await Touchpoints.EnsureAsync(channel, "sim-dealer", Channel.DealerStore, Ownership.Owned, JourneyStage.Evaluation, JourneyStage.Purchase);

        var consent = new ConsentService.ConsentServiceClient(channel);
        var policy = await consent.CreatePolicyVersionAsync(new CreatePolicyVersionRequest { Text = "Newsletter notice for the journey simulation." });
        try
        {
            await consent.CreatePurposeAsync(new CreatePurposeRequest
            {
                PurposeId = "bench-newsletter",
                Purpose = new Purpose { Description = "Newsletter", LegalBasis = LegalBasis.Consent, Channels = { Channel.Email, Channel.Web }, DefaultDecision = DefaultDecision.Deny, Validity = Duration.FromTimeSpan(TimeSpan.FromDays(365)) },
            });
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.AlreadyExists)
        {
        }

        var walker = new Walker(channel, policy.PolicyVersion.Version);
        var pace = new Pace(settings.Rate);
        var people = settings.People;
        var clock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, people), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (person, _) =>
            await walker.WalkAsync(person, new Random(person), pace));
        var elapsed = clock.Elapsed;

        // A marker interaction after the last step: the profile service shows it only once every
        // event before it has been handled, so the wait is the backlog the run left behind.
        var marker = new Identifier { Kind = IdentifierKind.AnonymousId, Value = $"sim-marker-{Guid.NewGuid():N}" };
        var backlog = Stopwatch.StartNew();
        await walker.RecordAsync(marker, "sim-calculator", InteractionType.View);
        var profiles = new ProfileService.ProfileServiceClient(channel);
        while (backlog.Elapsed < TimeSpan.FromMinutes(2))
        {
            try
            {
                if ((await profiles.LookupProfileAsync(new LookupProfileRequest { Person = Persons.Of(marker) })).Profile.LastInteractionTime is not null)
                {
                    break;
                }
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
            {
            }

            await Task.Delay(50);
        }

        var steps = walker.Steps;
        var held = steps / elapsed.TotalSeconds;
        var ratio = held / settings.Rate;
        var drained = backlog.Elapsed.TotalSeconds;
        var reached = drained < 120;
        Console.WriteLine($"  {people:N0} people: {walker.Interactions:N0} interactions, {walker.Signups:N0} signups with consent, {walker.Abandoned:N0} abandoned carts, {walker.Tickets:N0} tickets, {walker.TestDrives:N0} test drives, {walker.Purchases:N0} purchases in {elapsed.TotalSeconds:0.0} s");
        return
        [
            new($"journey simulation, {people:N0} people, asked {settings.Rate:N0} steps/s", $"held {Report.Rate(held, "steps")} ({Report.Rate(walker.Interactions / elapsed.TotalSeconds, "interactions")}), {walker.Purchases:N0} purchases",
                "the rate asked", ratio, "≥ 0.90× of the asked rate", ratio >= 0.9),
            new("journey simulation, event backlog at the end", reached ? $"a marker recorded after the last step reached its profile in {drained * 1000:0} ms" : "the marker never reached its profile in 2 minutes", "-", drained, "≤ 2 s", reached && drained <= 2),
        ];
    }

    /// <summary>Spaces steps evenly at the asked rate, across every caller.</summary>
    private sealed class Pace(int perSecond)
    {
        private readonly long _start = Stopwatch.GetTimestamp();
        private long _issued;

        public Task NextAsync()
        {
            var slot = Interlocked.Increment(ref _issued) - 1;
            var due = _start + (long)(slot * (double)Stopwatch.Frequency / perSecond);
            var wait = due - Stopwatch.GetTimestamp();
            return wait > 0 ? Task.Delay(TimeSpan.FromSeconds((double)wait / Stopwatch.Frequency)) : Task.CompletedTask;
        }
    }

    private sealed class Walker(Grpc.Net.Client.GrpcChannel channel, int policyVersion)
    {
        private readonly TouchpointService.TouchpointServiceClient _touchpoints = new(channel);
        private readonly ProfileService.ProfileServiceClient _profiles = new(channel);
        private readonly ConsentService.ConsentServiceClient _consent = new(channel);
        private long _steps, _interactions, _signups, _abandoned, _tickets, _testDrives, _purchases;

        public long Steps => Interlocked.Read(ref _steps);

        public long Interactions => Interlocked.Read(ref _interactions);

        public long Signups => Interlocked.Read(ref _signups);

        public long Abandoned => Interlocked.Read(ref _abandoned);

        public long Tickets => Interlocked.Read(ref _tickets);

        public long TestDrives => Interlocked.Read(ref _testDrives);

        public long Purchases => Interlocked.Read(ref _purchases);

        public async Task WalkAsync(int person, Random random, Pace pace)
        {
            var visitor = new Identifier { Kind = IdentifierKind.AnonymousId, Value = $"sim-{person}" };
            var click = new Identifier { Kind = IdentifierKind.AdClickId, Value = $"gclid-{person}" };
            async Task Step(string touchpoint, InteractionType type, Identifier? also = null, string? content = null)
            {
                await pace.NextAsync();
                await RecordAsync(visitor, touchpoint, type, also, content);
                Interlocked.Increment(ref _steps);
            }

            await Step("sim-search-ad", InteractionType.Click, click);
            await Step("sim-calculator", InteractionType.ContentConsumed, content: "contents/lease-vs-buy");
            if (random.NextDouble() < 0.3)
            {
                return;
            }

            await Step("sim-review", InteractionType.View, click);
            if (random.NextDouble() < 0.4)
            {
                return;
            }

            // Newsletter signup: the contact form, Identify (merging the visitor into the customer) and the consent.
            var customer = new Identifier { Kind = IdentifierKind.CustomerId, Value = $"SIM-{person}" };
            var email = new Identifier { Kind = IdentifierKind.Email, Value = $"person{person}@example.com" };
            await Step("sim-contact-form", InteractionType.FormSubmit);
            await pace.NextAsync();
            await _profiles.IdentifyAsync(new IdentifyRequest { Identifiers = { visitor, customer, email } });
            await _consent.RecordConsentAsync(new RecordConsentRequest
            {
                Person = Persons.Of(customer, email),
                Purpose = Purpose,
                Decision = ConsentDecision.Granted,
                Channels = { Channel.Email },
                PolicyVersion = policyVersion,
                CaptureTime = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddSeconds(-1)),
                Touchpoint = "touchpoints/sim-contact-form",
                FormId = "newsletter",
            });
            Interlocked.Increment(ref _steps);
            Interlocked.Increment(ref _signups);

            await Step("sim-newsletter", InteractionType.EmailOpen, customer);
            await Step("sim-shop", InteractionType.CartAdd, customer);
            if (random.NextDouble() < 0.5)
            {
                await Step("sim-shop", InteractionType.CartAbandoned, customer);
                Interlocked.Increment(ref _abandoned);
                if (random.NextDouble() < 0.5)
                {
                    return;
                }
            }

            if (random.NextDouble() < 0.3)
            {
                await Step("sim-service", InteractionType.ServiceTicketOpened, customer);
                await Step("sim-service", InteractionType.ServiceTicketResolved, customer);
                Interlocked.Increment(ref _tickets);
            }

            await Step("sim-dealer", InteractionType.TestDriveBooked, customer);
            Interlocked.Increment(ref _testDrives);
            if (random.NextDouble() < 0.5)
            {
                return;
            }

            await Step("sim-dealer", InteractionType.Purchase, customer);
            Interlocked.Increment(ref _purchases);
        }

        public async Task RecordAsync(Identifier person, string touchpoint, InteractionType type, Identifier? also = null, string? content = null)
        {
            var interaction = new Interaction
            {
                InteractionId = Guid.NewGuid().ToString(),
                Touchpoint = $"touchpoints/{touchpoint}",
                OccurTime = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
                Identifiers = { person },
                Type = type,
            };
            if (also is not null)
            {
                interaction.Identifiers.Add(also);
            }

            if (content is not null)
            {
                interaction.Content = content;
            }

            if (type == InteractionType.Purchase)
            {
                interaction.Value = new Money { CurrencyCode = "EUR", Units = 42_000 };
            }

            await _touchpoints.RecordInteractionAsync(new RecordInteractionRequest { Interaction = interaction });
            Interlocked.Increment(ref _interactions);
        }
    }
}
