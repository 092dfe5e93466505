using System.Text.Json;
using System.Text.Json.Serialization;
using Journey.Profile.Domain;

namespace Journey.Profile.Storage;

/// <summary>A segment rule tree as JSON, the same in both adapters.</summary>
internal sealed class RuleDocument
{
    private static readonly JsonSerializerOptions Json = new() { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingDefault };

    public string Type { get; set; } = "";

    public List<RuleDocument>? Rules { get; set; }

    public RuleDocument? Rule { get; set; }

    public int Field { get; set; }

    public string? Key { get; set; }

    public int Operator { get; set; }

    public int ValueKind { get; set; }

    public double Number { get; set; }

    public string? Text { get; set; }

    public bool Flag { get; set; }

    public int Stage { get; set; }

    public int CustomerType { get; set; }

    public static string Serialize(SegmentRule rule) => JsonSerializer.Serialize(From(rule), Json);

    public static SegmentRule Deserialize(string json) => JsonSerializer.Deserialize<RuleDocument>(json, Json)!.ToDomain();

    private static RuleDocument From(SegmentRule? rule) => rule switch
    {
        AllRule all => new RuleDocument { Type = "all", Rules = all.Rules.Select(From).ToList() },
        AnyRule any => new RuleDocument { Type = "any", Rules = any.Rules.Select(From).ToList() },
        NotRule not => new RuleDocument { Type = "not", Rule = From(not.Rule) },
        ConditionRule c => new RuleDocument
        {
            Type = "condition",
            Field = (int)c.Field,
            Key = c.Key,
            Operator = (int)c.Operator,
            ValueKind = (int)c.Value.Kind,
            Number = c.Value.Number,
            Text = c.Value.Text,
            Flag = c.Value.Flag,
            Stage = (int)c.Value.Stage,
            CustomerType = (int)c.Value.CustomerType,
        },
        _ => throw new InvalidOperationException("A stored rule is always complete."),
    };

    private SegmentRule ToDomain() => Type switch
    {
        "all" => new AllRule(Rules!.Select(r => (SegmentRule?)r.ToDomain()).ToList()),
        "any" => new AnyRule(Rules!.Select(r => (SegmentRule?)r.ToDomain()).ToList()),
        "not" => new NotRule(Rule!.ToDomain()),
        _ => new ConditionRule(
            (SegmentField)Field,
            Key ?? "",
            (SegmentOperator)Operator,
            new RuleValue((RuleValueKind)ValueKind, Number, Text ?? "", Flag, (JourneyStage)Stage, (CustomerType)CustomerType)),
    };
}
