using Google.Protobuf.Collections;
using Google.Protobuf.WellKnownTypes;
using Journey.Common.V1;
using Journey.Profile.Domain;
using Journey.Profile.Events;
using Journey.Profile.V1;
using Journey.Shared.Errors;
using Journey.Shared.Identity;
using DomainAll = Journey.Profile.Domain.AllRule;
using DomainAny = Journey.Profile.Domain.AnyRule;
using DomainCustomerType = Journey.Profile.Domain.CustomerType;
using DomainField = Journey.Profile.Domain.SegmentField;
using DomainIdentifierKind = Journey.Profile.Domain.IdentifierKind;
using DomainNot = Journey.Profile.Domain.NotRule;
using DomainOperator = Journey.Profile.Domain.SegmentOperator;
using DomainRule = Journey.Profile.Domain.SegmentRule;
using DomainSegment = Journey.Profile.Domain.Segment;
using DomainStage = Journey.Profile.Domain.JourneyStage;
using ProtoProfile = Journey.Profile.V1.Profile;
using ProtoSegment = Journey.Profile.V1.Segment;

namespace Journey.Profile.Grpc;

/// <summary>Between proto messages and domain types.</summary>
internal static class ProfileMapping
{
    public static ProtoProfile ToProto(ProfileRead read, IReadOnlyDictionary<string, string>? clearTraits = null)
    {
        var (profile, view) = (read.Profile, read.View);
        var proto = new ProtoProfile
        {
            Name = Names.Profile(profile.Id),
            CustomerType = (Journey.Common.V1.CustomerType)profile.CustomerType,
            Identification = new Identification
            {
                IdentifiedBy = (Journey.Common.V1.IdentifierKind)profile.IdentifiedBy,
                LastIdentifyTime = Time(profile.LastIdentifiedAt),
            },
            Stage = (Journey.Common.V1.JourneyStage)profile.Stage,
            Readiness = view.Readiness,
            OpenServiceTickets = profile.OpenServiceTickets,
            AbandonedCart = profile.AbandonedCart,
            ProfilingAllowed = profile.ProfilingAllowed,
            Purchases = profile.Purchases,
            LastInteractionTime = Time(profile.LastInteractionAt),
            CreateTime = Timestamp.FromDateTimeOffset(profile.CreatedAt),
            UpdateTime = Timestamp.FromDateTimeOffset(profile.UpdatedAt),
            Version = profile.Version,
            ReadTime = Timestamp.FromDateTimeOffset(view.At),
        };
        proto.Identifiers.AddRange(profile.Identifiers.Select(h => ProfileEventMapper.Identifier(h.Key)));
        foreach (var (key, value) in clearTraits ?? profile.Traits.Where(t => !CustomerProfile.ProtectedTraitKeys.Contains(t.Key)).ToDictionary())
        {
            proto.Traits[key] = value;
        }

        proto.StageHistory.AddRange(profile.StageHistory.Select(s => new V1.StageEntry { Stage = (Journey.Common.V1.JourneyStage)s.Stage, EnterTime = Timestamp.FromDateTimeOffset(s.EnteredAt) }));
        proto.Interests.AddRange(view.Interests.Select(i => new InterestSnapshot { Topic = i.Topic, Affinity = i.Affinity }));
        proto.Channels.AddRange(profile.Channels.OrderBy(c => c.Key).Select(c => new ChannelReach { Channel = (Channel)c.Key, Interactions = c.Value }));
        proto.ConsumedContents.AddRange(profile.ConsumedContents.Select(c => c.Content));
        proto.Conflicts.AddRange(profile.Conflicts.Select(c => new V1.IdentityConflict
        {
            OtherProfile = Names.Profile(c.OtherProfileId),
            SharedKind = (Journey.Common.V1.IdentifierKind)c.SharedKind,
            DetectTime = Timestamp.FromDateTimeOffset(c.DetectedAt),
        }));
        proto.Segments.AddRange(profile.Segments.Select(Names.Segment));
        return proto;
    }

    public static V1.ProfileMerge ToProto(Domain.ProfileMerge merge)
    {
        var proto = new V1.ProfileMerge
        {
            Survivor = Names.Profile(merge.SurvivorId),
            Merged = Names.Profile(merge.MergedId),
            LinkedBy = (Journey.Common.V1.IdentifierKind)merge.LinkedBy,
            MergeTime = Timestamp.FromDateTimeOffset(merge.MergedAt),
        };
        proto.MovedIdentifiers.AddRange(merge.MovedIdentifiers.Select(ProfileEventMapper.Identifier));
        return proto;
    }

    public static List<GivenIdentifier> ToDomain(RepeatedField<Identifier> identifiers) =>
        identifiers.Select(i => new GivenIdentifier((DomainIdentifierKind)i.Kind, i.Value)).ToList();

    public static GivenIdentifier ToDomain(PersonRef? person, string field)
    {
        var identifier = PersonRefs.One(person, field);
        return new GivenIdentifier((DomainIdentifierKind)identifier.Kind, identifier.Value);
    }

    /// <summary>The id in <c>profiles/{profile}</c>.</summary>
    public static string ProfileId(string name, string field)
    {
        var id = name.StartsWith(Names.ProfilePrefix, StringComparison.Ordinal) ? name[Names.ProfilePrefix.Length..] : "";
        return ProfileInput.IsProfileId(id) ? id : throw new InvalidArgumentException(field, "must be profiles/{profile} with a 32-hex-digit id");
    }

    /// <summary>The channel consent decisions held, by purpose then newest first.</summary>
    public static IEnumerable<HeldConsent> ToProto(IReadOnlyDictionary<string, PurposeConsent> consents) =>
        consents.OrderBy(c => c.Key, StringComparer.Ordinal).SelectMany(c => c.Value.Decisions.Select(d =>
        {
            var held = new HeldConsent { Purpose = c.Key, Granted = d.Granted, DecideTime = Timestamp.FromDateTimeOffset(d.DecidedAt) };
            held.Channels.AddRange(d.Channels.Select(channel => (Channel)channel));
            return held;
        }));

    /// <summary>A channel, or <see cref="ChannelKind.Unspecified"/> when none is given.</summary>
    public static ChannelKind Channel(Channel channel, string field) =>
        System.Enum.IsDefined(channel) ? (ChannelKind)channel : throw new InvalidArgumentException(field, "must be a channel (CHANNEL_WEB, CHANNEL_EMAIL, ...) or CHANNEL_UNSPECIFIED");

    /// <summary>The id in <c>segments/{segment}</c>.</summary>
    public static string SegmentId(string name, string field)
    {
        var id = name.StartsWith(Names.SegmentPrefix, StringComparison.Ordinal) ? name[Names.SegmentPrefix.Length..] : "";
        return id.Length is >= 1 and <= 63 && id.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-')
            ? id
            : throw new InvalidArgumentException(field, "must be segments/{segment}");
    }

    public static ProtoSegment ToProto(DomainSegment segment) => new()
    {
        Name = Names.Segment(segment.Id),
        DisplayName = segment.DisplayName,
        Rule = ToProto(segment.Rule),
        CreateTime = Timestamp.FromDateTimeOffset(segment.CreatedAt),
    };

    private static V1.SegmentRule ToProto(DomainRule? rule)
    {
        switch (rule)
        {
            case DomainAll all:
                var allGroup = new SegmentRuleGroup();
                allGroup.Rules.AddRange(all.Rules.Select(ToProto));
                return new V1.SegmentRule { All = allGroup };
            case DomainAny any:
                var anyGroup = new SegmentRuleGroup();
                anyGroup.Rules.AddRange(any.Rules.Select(ToProto));
                return new V1.SegmentRule { Any = anyGroup };
            case DomainNot not:
                return new V1.SegmentRule { Not = ToProto(not.Rule) };
            case ConditionRule c:
                var condition = new SegmentCondition { Field = (V1.SegmentField)c.Field, Key = c.Key, Operator = (V1.SegmentOperator)c.Operator };
                switch (c.Value.Kind)
                {
                    case RuleValueKind.Number: condition.Number = c.Value.Number; break;
                    case RuleValueKind.Text: condition.Text = c.Value.Text; break;
                    case RuleValueKind.Flag: condition.Flag = c.Value.Flag; break;
                    case RuleValueKind.Stage: condition.Stage = (Journey.Common.V1.JourneyStage)c.Value.Stage; break;
                    case RuleValueKind.CustomerType: condition.CustomerType = (Journey.Common.V1.CustomerType)c.Value.CustomerType; break;
                }

                return new V1.SegmentRule { Condition = condition };
            default:
                return new V1.SegmentRule();
        }
    }

    /// <summary>A rule tree; absent parts become null so the domain names them in its violations.</summary>
    public static DomainRule? ToDomain(V1.SegmentRule? rule, int depth = 0)
    {
        if (rule is null || depth > DomainRule.MaxDepth + 1)
        {
            return null;
        }

        return rule.RuleCase switch
        {
            V1.SegmentRule.RuleOneofCase.All => new DomainAll(rule.All.Rules.Select(r => ToDomain(r, depth + 1)).ToList()),
            V1.SegmentRule.RuleOneofCase.Any => new DomainAny(rule.Any.Rules.Select(r => ToDomain(r, depth + 1)).ToList()),
            V1.SegmentRule.RuleOneofCase.Not => new DomainNot(ToDomain(rule.Not, depth + 1)),
            V1.SegmentRule.RuleOneofCase.Condition => ToDomain(rule.Condition),
            _ => null,
        };
    }

    private static ConditionRule ToDomain(SegmentCondition c)
    {
        var value = c.ValueCase switch
        {
            SegmentCondition.ValueOneofCase.Number => new RuleValue(RuleValueKind.Number, Number: c.Number),
            SegmentCondition.ValueOneofCase.Text => new RuleValue(RuleValueKind.Text, Text: c.Text),
            SegmentCondition.ValueOneofCase.Flag => new RuleValue(RuleValueKind.Flag, Flag: c.Flag),
            SegmentCondition.ValueOneofCase.Stage => new RuleValue(RuleValueKind.Stage, Stage: System.Enum.IsDefined((DomainStage)c.Stage) ? (DomainStage)c.Stage : DomainStage.Unspecified),
            SegmentCondition.ValueOneofCase.CustomerType => new RuleValue(RuleValueKind.CustomerType, CustomerType: System.Enum.IsDefined((DomainCustomerType)c.CustomerType) ? (DomainCustomerType)c.CustomerType : DomainCustomerType.Unspecified),
            _ => new RuleValue(RuleValueKind.None),
        };
        var field = System.Enum.IsDefined((DomainField)c.Field) ? (DomainField)c.Field : DomainField.Unspecified;
        var op = System.Enum.IsDefined((DomainOperator)c.Operator) ? (DomainOperator)c.Operator : DomainOperator.Unspecified;
        return new ConditionRule(field, c.Key, op, value);
    }

    public static DescribeAudienceResponse ToProto(AudienceDescription audience)
    {
        var response = new DescribeAudienceResponse
        {
            BelowMinimum = audience.BelowMinimum,
            MinimumSize = audience.MinimumSize,
            Size = audience.Size,
            ComputeTime = Time(audience.ComputedAt),
        };
        response.TopInterests.AddRange(audience.TopInterests.Select(i => new AudienceInterest { Topic = i.Topic, Members = i.Members, MeanAffinity = i.MeanAffinity }));
        response.Stages.AddRange(audience.Stages.Select(s => new StageCount { Stage = (Journey.Common.V1.JourneyStage)s.Stage, Members = s.Members }));
        response.Channels.AddRange(audience.Channels.Select(c => new ChannelCount { Channel = (Channel)c.Channel, Members = c.Members }));
        response.CustomerTypes.AddRange(audience.CustomerTypes.Select(t => new CustomerTypeCount { CustomerType = (Journey.Common.V1.CustomerType)t.Type, Members = t.Members }));
        return response;
    }

    private static Timestamp? Time(DateTimeOffset? at) => at is { } value ? Timestamp.FromDateTimeOffset(value) : null;
}
