using System.Text.RegularExpressions;
using Journey.Shared.Errors;

namespace Journey.Profile.Domain;

/// <summary>The profile field a condition tests; numbers match journey.profile.v1.SegmentField.</summary>
public enum SegmentField
{
    /// <summary>Not set.</summary>
    Unspecified = 0,

    /// <summary>Journey stage.</summary>
    Stage = 1,

    /// <summary>Readiness 0-100.</summary>
    Readiness = 2,

    /// <summary>Affinity of an interest.</summary>
    Interest = 3,

    /// <summary>Open service tickets.</summary>
    OpenServiceTickets = 4,

    /// <summary>Abandoned-cart flag.</summary>
    AbandonedCart = 5,

    /// <summary>Customer type.</summary>
    CustomerType = 6,

    /// <summary>A trait.</summary>
    Trait = 7,

    /// <summary>Whole days since the last interaction.</summary>
    DaysSinceLastInteraction = 8,
}

/// <summary>Comparison; numbers match journey.profile.v1.SegmentOperator.</summary>
public enum SegmentOperator
{
    /// <summary>Not set.</summary>
    Unspecified = 0,

    /// <summary>Equal.</summary>
    Equals = 1,

    /// <summary>Not equal.</summary>
    NotEquals = 2,

    /// <summary>Greater than.</summary>
    GreaterThan = 3,

    /// <summary>Greater or equal.</summary>
    GreaterOrEqual = 4,

    /// <summary>Less than.</summary>
    LessThan = 5,

    /// <summary>Less or equal.</summary>
    LessOrEqual = 6,

    /// <summary>Present.</summary>
    Exists = 7,
}

/// <summary>Which value a condition carries.</summary>
public enum RuleValueKind
{
    /// <summary>None.</summary>
    None,

    /// <summary>A number.</summary>
    Number,

    /// <summary>A text.</summary>
    Text,

    /// <summary>A flag.</summary>
    Flag,

    /// <summary>A stage.</summary>
    Stage,

    /// <summary>A customer type.</summary>
    CustomerType,
}

/// <summary>A condition's value: <see cref="Kind"/> says which member is meaningful.</summary>
public sealed record RuleValue(RuleValueKind Kind, double Number = 0, string Text = "", bool Flag = false, JourneyStage Stage = JourneyStage.Unspecified, CustomerType CustomerType = CustomerType.Unspecified);

/// <summary>A segment rule tree.</summary>
public abstract record SegmentRule
{
    /// <summary>Most nesting levels.</summary>
    public const int MaxDepth = 8;

    /// <summary>Most conditions in a tree.</summary>
    public const int MaxConditions = 100;

    /// <summary>Most rules in a group.</summary>
    public const int MaxGroupSize = 20;

    /// <summary>Whether <paramref name="profile"/> satisfies the rule at <paramref name="now"/>.</summary>
    public abstract bool Matches(CustomerProfile profile, ProfileView view, DateTimeOffset now);

    /// <summary>
    /// Whether time alone can change the outcome: days since the last interaction, and readiness and
    /// interests, which decay. Segments with such rules are re-evaluated on a schedule, not only on writes.
    /// </summary>
    public abstract bool DependsOnTime { get; }
}

/// <summary>AND.</summary>
public sealed record AllRule(IReadOnlyList<SegmentRule?> Rules) : SegmentRule
{
    /// <inheritdoc />
    public override bool Matches(CustomerProfile profile, ProfileView view, DateTimeOffset now) => Rules.All(r => r!.Matches(profile, view, now));

    /// <inheritdoc />
    public override bool DependsOnTime => Rules.Any(r => r!.DependsOnTime);
}

/// <summary>OR.</summary>
public sealed record AnyRule(IReadOnlyList<SegmentRule?> Rules) : SegmentRule
{
    /// <inheritdoc />
    public override bool Matches(CustomerProfile profile, ProfileView view, DateTimeOffset now) => Rules.Any(r => r!.Matches(profile, view, now));

    /// <inheritdoc />
    public override bool DependsOnTime => Rules.Any(r => r!.DependsOnTime);
}

/// <summary>NOT.</summary>
public sealed record NotRule(SegmentRule? Rule) : SegmentRule
{
    /// <inheritdoc />
    public override bool Matches(CustomerProfile profile, ProfileView view, DateTimeOffset now) => !Rule!.Matches(profile, view, now);

    /// <inheritdoc />
    public override bool DependsOnTime => Rule!.DependsOnTime;
}

/// <summary>A comparison of a profile field with a value.</summary>
public sealed record ConditionRule(SegmentField Field, string Key, SegmentOperator Operator, RuleValue Value) : SegmentRule
{
    /// <inheritdoc />
    public override bool DependsOnTime => Field is SegmentField.DaysSinceLastInteraction or SegmentField.Readiness or SegmentField.Interest;

    /// <inheritdoc />
    public override bool Matches(CustomerProfile profile, ProfileView view, DateTimeOffset now)
    {
        switch (Field)
        {
            case SegmentField.Stage:
                return Compare((int)profile.Stage, (int)Value.Stage);
            case SegmentField.Readiness:
                return Compare(view.Readiness, Value.Number);
            case SegmentField.Interest:
                return Compare(view.Interests.FirstOrDefault(i => i.Topic == Key).Affinity, Value.Number);
            case SegmentField.OpenServiceTickets:
                return Compare(profile.OpenServiceTickets, Value.Number);
            case SegmentField.AbandonedCart:
                return Compare(profile.AbandonedCart ? 1 : 0, Value.Flag ? 1 : 0);
            case SegmentField.CustomerType:
                return Compare((int)profile.CustomerType, (int)Value.CustomerType);
            case SegmentField.Trait:
                var has = profile.Traits.TryGetValue(Key, out var trait) && !CustomerProfile.ProtectedTraitKeys.Contains(Key);
                return Operator switch
                {
                    SegmentOperator.Exists => has,
                    SegmentOperator.Equals => has && trait == Value.Text,
                    _ => !has || trait != Value.Text,
                };
            case SegmentField.DaysSinceLastInteraction:
                return profile.LastInteractionAt is { } last && Compare(Math.Floor((now - last).TotalDays), Value.Number);
            default:
                return false;
        }
    }

    private bool Compare(double actual, double expected) => Operator switch
    {
        SegmentOperator.Equals => actual == expected,
        SegmentOperator.NotEquals => actual != expected,
        SegmentOperator.GreaterThan => actual > expected,
        SegmentOperator.GreaterOrEqual => actual >= expected,
        SegmentOperator.LessThan => actual < expected,
        SegmentOperator.LessOrEqual => actual <= expected,
        _ => false,
    };
}

/// <summary>Validation of segment definitions, reporting proto field paths.</summary>
public static partial class SegmentRules
{
    /// <summary>Validates a whole segment definition.</summary>
    public static void Validate(string segmentId, string displayName, SegmentRule? rule)
    {
        var validation = new Validation();
        validation.Require(SegmentId().IsMatch(segmentId), "segment_id", "must be 1 to 63 characters of [a-z0-9-], starting with a letter");
        validation.Require(displayName.Trim().Length is >= 1 and <= 200, "segment.display_name", "must be 1 to 200 characters");
        var conditions = 0;
        Check(rule, "segment.rule", 1, validation, ref conditions);
        validation.Require(conditions <= SegmentRule.MaxConditions, "segment.rule", $"has {conditions} conditions; at most {SegmentRule.MaxConditions} are allowed");
        validation.ThrowIfInvalid();
    }

    private static void Check(SegmentRule? rule, string path, int depth, Validation validation, ref int conditions)
    {
        if (depth > SegmentRule.MaxDepth)
        {
            validation.Add(path, $"nests deeper than {SegmentRule.MaxDepth} levels");
            return;
        }

        switch (rule)
        {
            case null:
                validation.Add(path, "is required: set one of all, any, not or condition");
                break;
            case AllRule all:
                CheckGroup(all.Rules, path + ".all", depth, validation, ref conditions);
                break;
            case AnyRule any:
                CheckGroup(any.Rules, path + ".any", depth, validation, ref conditions);
                break;
            case NotRule not:
                Check(not.Rule, path + ".not", depth + 1, validation, ref conditions);
                break;
            case ConditionRule condition:
                conditions++;
                CheckCondition(condition, path + ".condition", validation);
                break;
        }
    }

    private static void CheckGroup(IReadOnlyList<SegmentRule?> rules, string path, int depth, Validation validation, ref int conditions)
    {
        if (rules.Count is 0 or > SegmentRule.MaxGroupSize)
        {
            validation.Add(path + ".rules", $"must hold 1 to {SegmentRule.MaxGroupSize} rules");
        }

        for (var i = 0; i < rules.Count && i < SegmentRule.MaxGroupSize; i++)
        {
            Check(rules[i], $"{path}.rules[{i}]", depth + 1, validation, ref conditions);
        }
    }

    private static void CheckCondition(ConditionRule condition, string path, Validation validation)
    {
        var ordered = condition.Operator is >= SegmentOperator.Equals and <= SegmentOperator.LessOrEqual;
        var equality = condition.Operator is SegmentOperator.Equals or SegmentOperator.NotEquals;
        var needsKey = condition.Field is SegmentField.Interest or SegmentField.Trait;
        if (needsKey)
        {
            validation.Require(condition.Key.Length is >= 1 and <= 64, path + ".key", "must name the interest topic or trait (1 to 64 characters)");
        }
        else
        {
            validation.Require(condition.Key.Length == 0, path + ".key", "must be empty unless the field is INTEREST or TRAIT");
        }

        switch (condition.Field)
        {
            case SegmentField.Unspecified:
                validation.Add(path + ".field", "is required");
                return;
            case SegmentField.Stage:
                Expect(RuleValueKind.Stage, "stage", ordered);
                validation.Require(condition.Value.Kind != RuleValueKind.Stage || condition.Value.Stage != JourneyStage.Unspecified, path + ".stage", "must be a journey stage, not unspecified");
                break;
            case SegmentField.Readiness:
                Expect(RuleValueKind.Number, "number", ordered);
                validation.Require(condition.Value.Kind != RuleValueKind.Number || condition.Value.Number is >= 0 and <= 100, path + ".number", "readiness is compared with 0 to 100");
                break;
            case SegmentField.Interest:
                Expect(RuleValueKind.Number, "number", ordered);
                validation.Require(condition.Value.Kind != RuleValueKind.Number || condition.Value.Number is >= 0 and <= 1, path + ".number", "an interest affinity is compared with 0 to 1");
                break;
            case SegmentField.OpenServiceTickets or SegmentField.DaysSinceLastInteraction:
                Expect(RuleValueKind.Number, "number", ordered);
                validation.Require(condition.Value.Kind != RuleValueKind.Number || condition.Value.Number >= 0, path + ".number", "must be 0 or more");
                break;
            case SegmentField.AbandonedCart:
                Expect(RuleValueKind.Flag, "flag", equality);
                break;
            case SegmentField.CustomerType:
                Expect(RuleValueKind.CustomerType, "customer_type", equality);
                validation.Require(condition.Value.Kind != RuleValueKind.CustomerType || condition.Value.CustomerType != CustomerType.Unspecified, path + ".customer_type", "must be KNOWN or ANONYMOUS");
                break;
            case SegmentField.Trait when condition.Operator == SegmentOperator.Exists:
                validation.Require(condition.Value.Kind == RuleValueKind.None, path, "EXISTS takes no value");
                break;
            case SegmentField.Trait:
                Expect(RuleValueKind.Text, "text", equality);
                break;
            default:
                validation.Add(path + ".field", "is not a known field");
                return;
        }

        void Expect(RuleValueKind kind, string member, bool operatorAllowed)
        {
            if (condition.Operator == SegmentOperator.Unspecified)
            {
                validation.Add(path + ".operator", "is required");
            }
            else if (!operatorAllowed)
            {
                validation.Add(path + ".operator", $"{condition.Operator} does not apply to {condition.Field}");
            }

            validation.Require(condition.Value.Kind == kind, path + "." + member, $"is required for {condition.Field} (set the {member} value)");
            if (kind == RuleValueKind.Number && condition.Value.Kind == kind)
            {
                validation.Require(double.IsFinite(condition.Value.Number), path + ".number", "must be a finite number");
            }
        }
    }

    [GeneratedRegex("^[a-z][a-z0-9-]{0,62}$")]
    private static partial Regex SegmentId();
}
