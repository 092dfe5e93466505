using Google.Protobuf.WellKnownTypes;
using Journey.Common.V1;
using Journey.Consent.V1;
using Journey.Profile.V1;
using Journey.Touchpoint.V1;

namespace Journey.Host;

/// <summary>One simulated person of the demo: who they are and everything they did and decided.</summary>
/// <param name="Email">Their e-mail once they gave it (newsletter or test drive); null while anonymous.</param>
/// <param name="CustomerId">Their customer number once they met the dealer; null before.</param>
/// <param name="PreferredModel">The model they look at, kept as a trait once the dealer identifies them.</param>
/// <param name="Interactions">What they did, oldest first.</param>
/// <param name="Consents">Decisions they gave, oldest first.</param>
/// <param name="Withdrawal">Their withdrawal of every consent; null for everyone but one.</param>
internal sealed record DemoPerson(
    Identifier? Email,
    Identifier? CustomerId,
    string PreferredModel,
    IReadOnlyList<Interaction> Interactions,
    IReadOnlyList<RecordConsentRequest> Consents,
    WithdrawConsentRequest? Withdrawal);

/// <summary>
/// The demo's simulated car buyers: a few hundred people walking the journey over the past weeks,
/// from search ads, review and price-comparison sites through the calculator, the newsletter, test
/// drives and the dealer to the service desk. Some buy, some go silent for longer than the drop-off
/// period, the rest are still on their way; ratings fall short of some touchpoints' intended
/// experience. The same seed gives the same people; their times are relative to the given moment.
/// </summary>
public static class DemoPeople
{
    /// <summary>E-mail of the owner whose service ticket is still open: recommendations offer them service content only.</summary>
    public const string OpenTicketEmail = "driver0001@example.com";

    /// <summary>E-mail of the person who withdrew every consent after signing up for the newsletter.</summary>
    public const string WithdrawnEmail = "driver0002@example.com";

    /// <summary>Segments the demo defines, <c>segments/{segment}</c>.</summary>
    public static IReadOnlyList<string> Segments { get; } = [.. SegmentRequests().Select(s => "segments/" + s.SegmentId)];

    private const int Seed = 2026;

    private static readonly string[] Models = ["e-suv", "e-hatchback", "e-estate"];

    private static readonly string[] DealerComments =
    [
        "Felt pressured to sign on the day.",
        "Waited half an hour before anyone came over.",
        "Friendly, but the trade-in offer was vague.",
    ];

    private enum Outcome
    {
        DroppedOff,
        OnTheWay,
        Bought,
    }

    /// <summary>
    /// The segments: prospects interested in electric cars, owners, and people ready to buy, each big
    /// enough in the demo to be described as an audience.
    /// </summary>
    internal static IReadOnlyList<CreateSegmentRequest> SegmentRequests()
    {
        static SegmentRule Condition(SegmentField field, SegmentOperator op, Action<SegmentCondition> value, string key = "")
        {
            var condition = new SegmentCondition { Field = field, Operator = op, Key = key };
            value(condition);
            return new SegmentRule { Condition = condition };
        }

        static SegmentRule All(params SegmentRule[] rules) => new() { All = new SegmentRuleGroup { Rules = { rules } } };

        static CreateSegmentRequest Segment(string id, string name, SegmentRule rule) =>
            new() { SegmentId = id, Segment = new Segment { DisplayName = name, Rule = rule } };

        var beforeBuying = Condition(SegmentField.Stage, SegmentOperator.LessOrEqual, c => c.Stage = JourneyStage.Evaluation);
        return
        [
            Segment("ev-prospects", "Prospects interested in electric cars",
                All(Condition(SegmentField.Interest, SegmentOperator.GreaterOrEqual, c => c.Number = 0.3, "electric-cars"), beforeBuying)),
            Segment("owners", "Owners", Condition(SegmentField.Stage, SegmentOperator.GreaterOrEqual, c => c.Stage = JourneyStage.Ownership)),
            Segment("ready-to-buy", "Ready to buy",
                All(Condition(SegmentField.Readiness, SegmentOperator.GreaterOrEqual, c => c.Number = 40), beforeBuying)),
        ];
    }

    /// <summary>
    /// <paramref name="count"/> people whose journeys end before <paramref name="now"/>: those who
    /// dropped off were last seen more than <paramref name="silence"/> ago, every interaction is
    /// younger than <paramref name="retention"/> (older steps are left out).
    /// </summary>
    internal static IReadOnlyList<DemoPerson> Create(int count, DateTimeOffset now, TimeSpan silence, TimeSpan retention)
    {
        // Whole seconds: every store keeps them exactly, so what was sent can be compared with what a service reports.
        now = DateTimeOffset.FromUnixTimeSeconds(now.ToUnixTimeSeconds());
        var random = new Random(Seed);
        var people = new List<DemoPerson>(count);
        for (var number = 1; number <= count; number++)
        {
            people.Add(new Walk(number, random, now, silence, retention).Person());
        }

        return people;
    }

    /// <summary>One person's walk: steps at offsets from its start, placed in time once the walk is complete.</summary>
    private sealed class Walk
    {
        private static readonly TimeSpan LatestStep = TimeSpan.FromMinutes(10);

        private readonly int _number;
        private readonly Random _random;
        private readonly DateTimeOffset _now;
        private readonly TimeSpan _silence;
        private readonly TimeSpan _retention;
        private readonly Identifier _cookie;
        private readonly Identifier _click;
        private readonly List<Step> _steps = [];
        private readonly List<Step> _afterPurchase = [];
        private readonly List<(int Step, string Touchpoint, string Form, int PolicyVersion, bool Personal)> _consents = [];
        private TimeSpan _offset;
        private Identifier? _email;
        private Identifier? _customer;

        public Walk(int number, Random random, DateTimeOffset now, TimeSpan silence, TimeSpan retention)
        {
            _number = number;
            _random = random;
            _now = now;
            _silence = silence;
            _retention = retention;
            _cookie = new Identifier { Kind = IdentifierKind.AnonymousId, Value = $"cookie-demo-{number:D4}" };
            _click = new Identifier { Kind = IdentifierKind.AdClickId, Value = $"click-demo-{number:D4}" };
        }

        private bool OpenTicket => _number == 1;

        private bool Withdraws => _number == 2;

        public DemoPerson Person()
        {
            var (outcome, depth) = _number switch
            {
                1 => (Outcome.Bought, 7),
                2 => (Outcome.OnTheWay, 4),
                _ => Draw(),
            };
            var model = Models[_random.Next(Models.Length)];
            WalkTo(depth);
            var times = Place(outcome);

            var interactions = new List<Interaction>();
            foreach (var (step, at) in _steps.Concat(_afterPurchase).Zip(times))
            {
                if (at >= _now - _retention + TimeSpan.FromHours(1))
                {
                    interactions.Add(step.ToInteraction($"demo-{_number:D4}-{interactions.Count + 1:D2}", at));
                }
            }

            var consents = _consents
                .SelectMany(c => Grants(c.Touchpoint, c.Form, c.PolicyVersion, c.Personal, times[c.Step]))
                .ToList();
            WithdrawConsentRequest? withdrawal = null;
            if (Withdraws && _email is not null)
            {
                // After the last newsletter they read, by the unsubscribe link.
                var last = times[^1];
                withdrawal = new WithdrawConsentRequest
                {
                    Person = new PersonRef { Identifiers = new IdentifierSet { Identifiers = { _email } } },
                    AllPurposes = true,
                    CaptureTime = Timestamp.FromDateTimeOffset(last + ((_now - last) / 2)),
                    Touchpoint = "newsletter",
                    FormId = "newsletter-unsubscribe",
                };
            }

            return new DemoPerson(_email, _customer, model, interactions, consents, withdrawal);
        }

        /// <summary>How far the person got and whether they are still around: a quarter buys.</summary>
        private (Outcome, int) Draw()
        {
            var u = _random.NextDouble();
            return u switch
            {
                < 0.25 => (Outcome.DroppedOff, _random.NextDouble() < 0.4 ? 1 : 2),
                < 0.40 => (Outcome.DroppedOff, _random.Next(3, 5)),
                < 0.55 => (Outcome.OnTheWay, _random.Next(1, 3)),
                < 0.73 => (Outcome.OnTheWay, _random.Next(3, 6)),
                _ => (Outcome.Bought, _random.NextDouble() < 0.5 ? 6 : 7),
            };
        }

        /// <summary>
        /// The steps up to <paramref name="depth"/>: 1 awareness, 2 consideration, 3 evaluation, 4 test
        /// drive, 5 dealer, 6 purchase, 7 ownership. Every step carries an identifier an earlier step
        /// carried, as a real site's tracking would, so each service sees one person.
        /// </summary>
        private void WalkTo(int depth)
        {
            if (_random.NextDouble() < 0.7)
            {
                Add("search-ad", InteractionType.Click, [_cookie, _click], Gap(), properties: ("campaign", "electric-suv-spring"));
            }
            else
            {
                Add("review-site", InteractionType.View, [_click], Gap());
                Add("model-pages", InteractionType.View, [_cookie, _click], Session());
            }

            if (depth >= 2)
            {
                if (_random.NextDouble() < 0.7)
                {
                    Add("lease-calculator", InteractionType.ContentConsumed, [_cookie], Gap(), content: "contents/lease-calculator");
                    Rate("lease-calculator", [_cookie], 3.5, 0.45);
                }

                if (Withdraws || _random.NextDouble() < (depth == 2 ? 0.45 : 0.7))
                {
                    GiveEmail("newsletter-signup", InteractionType.FormSubmit, "newsletter-signup-v3");
                    for (var opens = _random.Next(1, 3); opens > 0; opens--)
                    {
                        Add("newsletter", InteractionType.EmailOpen, [_email!], Gap());
                    }
                }
            }

            if (depth >= 3)
            {
                if (_random.NextDouble() < 0.6)
                {
                    Add("review-site", InteractionType.ContentConsumed, [_click], Gap(), content: "contents/ev-suv-review");
                    Rate("review-site", [_click], 4.4, 0.3);
                }

                if (_random.NextDouble() < 0.6)
                {
                    Add("price-comparison", InteractionType.View, [_click], Gap());
                    Rate("price-comparison", [_click], 3.9, 0.25);
                }

                Add("model-pages", InteractionType.View, [_cookie], Gap(), content: "contents/electric-driving-explained");
                for (var more = _random.Next(0, 3); more > 0; more--)
                {
                    Add("model-pages", InteractionType.View, [_cookie], Session());
                }

                if (_email is not null && _random.NextDouble() < 0.5)
                {
                    Add("newsletter", InteractionType.EmailOpen, [_email], Gap());
                }
            }

            if (depth >= 4)
            {
                if (_email is null)
                {
                    GiveEmail("test-drive-booking", InteractionType.TestDriveBooked, "test-drive-v3");
                }
                else
                {
                    Add("test-drive-booking", InteractionType.TestDriveBooked, [_cookie, _email], Gap(), content: "contents/test-drive");
                }

                Rate("test-drive-booking", [_email!], 4.4, 0.4);
            }

            if (depth >= 5)
            {
                _customer = new Identifier { Kind = IdentifierKind.CustomerId, Value = $"C-DEMO-{_number:D4}" };
                Add("dealer", InteractionType.View, [_email!, _customer], Gap());
                Rate("dealer", [_customer], 3.8, 0.75, DealerComments[_random.Next(DealerComments.Length)]);
            }

            if (depth >= 6)
            {
                Add("dealer", InteractionType.Purchase, [_customer!], Gap(), value: new Money { CurrencyCode = "EUR", Units = 100 * _random.Next(360, 640) });
            }

            if (depth >= 7)
            {
                AfterPurchase("service-desk", InteractionType.View, [_customer!]);
                if (_random.NextDouble() < 0.6)
                {
                    AfterPurchase("service-desk", InteractionType.Feedback, [_customer!], Rating(4.0));
                }

                if (!OpenTicket && _random.NextDouble() < 0.2)
                {
                    AfterPurchase("call-centre", InteractionType.ServiceTicketOpened, [_email!]);
                    AfterPurchase("call-centre", InteractionType.ServiceTicketResolved, [_email!], Rating(3.4));
                }

                // The ticket holder stays an owner: loyalty has no service content to offer during a ticket.
                if (_random.NextDouble() < 0.15 && !OpenTicket)
                {
                    AfterPurchase("service-desk", InteractionType.Referral, [_customer!]);
                }

                if (OpenTicket)
                {
                    AfterPurchase("call-centre", InteractionType.ServiceTicketOpened, [_email!]);
                }
            }
        }

        /// <summary>
        /// Times for the steps: someone who dropped off was last seen more than the silence period ago,
        /// someone on the way within it, a purchase falls in the last three and a half weeks with what
        /// the owner did afterwards spread between it and now.
        /// </summary>
        private List<DateTimeOffset> Place(Outcome outcome)
        {
            var span = _steps[^1].Offset;
            var last = outcome switch
            {
                Outcome.DroppedOff => _now - _silence - Between(TimeSpan.FromDays(1), TimeSpan.FromDays(28)),
                Outcome.OnTheWay => _now - Between(LatestStep, Min(TimeSpan.FromDays(14), _silence * 0.8)),
                _ when OpenTicket => _now - TimeSpan.FromDays(20),
                _ => _now - Between(TimeSpan.FromHours(2), TimeSpan.FromDays(24)),
            };
            var start = last - span;
            var times = _steps.Select(s => Whole(start + s.Offset)).ToList();

            // After the purchase: fractions of the time until now, in order; an open ticket comes last, a day or so ago.
            var until = _now - LatestStep - last;
            var fractions = _afterPurchase.Select(_ => _random.NextDouble() * 0.9).Order().ToList();
            if (OpenTicket && fractions.Count > 0)
            {
                fractions[^1] = 0.95;
            }

            times.AddRange(fractions.Select(f => Whole(last + (until * f))));
            return times;
        }

        private void GiveEmail(string touchpoint, InteractionType type, string form)
        {
            _email = new Identifier { Kind = IdentifierKind.Email, Value = $"driver{_number:D4}@example.com" };
            Add(touchpoint, type, [_cookie, _email], Gap(), content: type == InteractionType.TestDriveBooked ? "contents/test-drive" : "");

            // Most agree to everything under the current notice; some to e-mail only; a few signed under an older notice.
            var personal = Withdraws || OpenTicket || _random.NextDouble() < 0.8;
            var version = Withdraws || OpenTicket || _random.NextDouble() < 0.9 ? 3 : 2;
            _consents.Add((_steps.Count - 1, touchpoint, form, version, personal));
        }

        private IEnumerable<RecordConsentRequest> Grants(string touchpoint, string form, int version, bool personal, DateTimeOffset at)
        {
            var purposes = personal ? new[] { "purposes/marketing-email", "purposes/personalisation", "purposes/profiling" } : ["purposes/marketing-email"];
            foreach (var purpose in purposes)
            {
                var grant = new RecordConsentRequest
                {
                    Person = new PersonRef { Identifiers = new IdentifierSet { Identifiers = { _email!, _cookie } } },
                    Purpose = purpose,
                    Decision = ConsentDecision.Granted,
                    PolicyVersion = version,
                    CaptureTime = Timestamp.FromDateTimeOffset(at),
                    Touchpoint = touchpoint,
                    FormId = form,
                };
                if (purpose == "purposes/marketing-email")
                {
                    grant.Channels.Add(Channel.Email);
                }

                yield return grant;
            }
        }

        private void Rate(string touchpoint, Identifier[] identifiers, double mean, double share, string comment = "")
        {
            if (_random.NextDouble() < share)
            {
                var rating = Rating(mean);
                Add(touchpoint, InteractionType.Feedback, identifiers, Session(), rating: rating, comment: rating <= 3 ? comment : "");
            }
        }

        /// <summary>A rating around <paramref name="mean"/> on the 1-to-5 scale.</summary>
        private int Rating(double mean)
        {
            // Box-Muller: a normal draw with a standard deviation of 0.8 stars.
            var normal = Math.Sqrt(-2 * Math.Log(1 - _random.NextDouble())) * Math.Cos(2 * Math.PI * _random.NextDouble());
            return (int)Math.Clamp(Math.Round(mean + (0.8 * normal)), 1, 5);
        }

        private void Add(
            string touchpoint, InteractionType type, Identifier[] identifiers, TimeSpan gap,
            string content = "", int rating = 0, string comment = "", Money? value = null, (string Key, string Value)? properties = null)
        {
            _offset += _steps.Count == 0 ? TimeSpan.Zero : gap;
            _steps.Add(new Step(_offset, touchpoint, type, identifiers, content, rating, comment, value, properties));
        }

        private void AfterPurchase(string touchpoint, InteractionType type, Identifier[] identifiers, int rating = 0) =>
            _afterPurchase.Add(new Step(TimeSpan.Zero, touchpoint, type, identifiers, "", rating, "", null, null));

        /// <summary>Between two visits: an hour to four days.</summary>
        private TimeSpan Gap() => Between(TimeSpan.FromHours(1), TimeSpan.FromDays(4));

        /// <summary>Within one visit: one to twenty minutes.</summary>
        private TimeSpan Session() => Between(TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(20));

        private TimeSpan Between(TimeSpan min, TimeSpan max) => min + ((max - min) * _random.NextDouble());

        private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

        private static DateTimeOffset Whole(DateTimeOffset time) => DateTimeOffset.FromUnixTimeSeconds(time.ToUnixTimeSeconds());
    }

    private sealed record Step(
        TimeSpan Offset, string Touchpoint, InteractionType Type, Identifier[] Identifiers, string Content, int Rating, string Comment,
        Money? Value, (string Key, string Value)? Properties)
    {
        public Interaction ToInteraction(string id, DateTimeOffset at)
        {
            var interaction = new Interaction
            {
                InteractionId = id,
                Touchpoint = $"touchpoints/{Touchpoint}",
                OccurTime = Timestamp.FromDateTimeOffset(at),
                Type = Type,
                Content = Content,
                Rating = Rating,
                Comment = Comment,
                Value = Value,
                Identifiers = { Identifiers },
            };
            if (Properties is var (key, value))
            {
                interaction.Properties.Add(key, value);
            }

            return interaction;
        }
    }
}
