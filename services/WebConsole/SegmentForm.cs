using System.Globalization;
using Journey.Common.V1;
using Journey.Profile.V1;
using Journey.WebConsole.Components;
using Microsoft.AspNetCore.Http;

namespace Journey.WebConsole;

/// <summary>
/// The console's "define a segment" form: an id, a display name and up to <see cref="Rows"/>
/// conditions that must all (or any) hold, read into a CreateSegment request. The form checks only
/// what it must to build the request (a value of the field's type); the profile service judges the
/// rest and its answer is shown as it gives it, so the console and the API cannot disagree on a rule.
/// </summary>
public static class SegmentForm
{
    /// <summary>How many condition rows the form offers.</summary>
    public const int Rows = 4;

    /// <summary>The fields a condition may test, as the form names them, with how people read them.</summary>
    public static readonly IReadOnlyList<(string Value, string Label, SegmentField Field)> Fields =
    [
        ("stage", "Journey stage", SegmentField.Stage),
        ("readiness", "Readiness (0–100)", SegmentField.Readiness),
        ("interest", "Interest in topic (0–1)", SegmentField.Interest),
        ("open-tickets", "Open service tickets", SegmentField.OpenServiceTickets),
        ("abandoned-cart", "Abandoned cart (yes/no)", SegmentField.AbandonedCart),
        ("customer-type", "Customer type (known/anonymous)", SegmentField.CustomerType),
        ("trait", "Trait", SegmentField.Trait),
        ("days-since-last-interaction", "Days since last interaction", SegmentField.DaysSinceLastInteraction),
    ];

    /// <summary>The comparisons, as the form names them.</summary>
    public static readonly IReadOnlyList<(string Value, string Label, SegmentOperator Operator)> Operators =
    [
        ("eq", "is", SegmentOperator.Equals),
        ("ne", "is not", SegmentOperator.NotEquals),
        ("gt", "more than", SegmentOperator.GreaterThan),
        ("ge", "at least", SegmentOperator.GreaterOrEqual),
        ("lt", "less than", SegmentOperator.LessThan),
        ("le", "at most", SegmentOperator.LessOrEqual),
        ("exists", "is present", SegmentOperator.Exists),
    ];

    /// <summary>The names of the form's inputs, one set per row.</summary>
    public static string FieldInput(int row) => $"field{row}";

    /// <inheritdoc cref="FieldInput"/>
    public static string KeyInput(int row) => $"key{row}";

    /// <inheritdoc cref="FieldInput"/>
    public static string OperatorInput(int row) => $"op{row}";

    /// <inheritdoc cref="FieldInput"/>
    public static string ValueInput(int row) => $"value{row}";

    /// <summary>The names of every input the form has, to carry a draft back to the page.</summary>
    public static IEnumerable<string> Inputs =>
        new[] { "id", "display_name", "match" }.Concat(Enumerable.Range(1, Rows).SelectMany(r => new[] { FieldInput(r), KeyInput(r), OperatorInput(r), ValueInput(r) }));

    /// <summary>The request the form describes, or what to fix in it.</summary>
    public static (CreateSegmentRequest? Request, string? Problem) Read(Func<string, string> form)
    {
        var problems = new List<string>();
        var conditions = new List<SegmentRule>();
        for (var row = 1; row <= Rows; row++)
        {
            var fieldName = form(FieldInput(row)).Trim();
            if (fieldName.Length == 0)
            {
                continue;
            }

            var field = Fields.FirstOrDefault(f => f.Value == fieldName);
            var op = Operators.FirstOrDefault(o => o.Value == form(OperatorInput(row)).Trim());
            if (field.Value is null || op.Value is null)
            {
                problems.Add($"Condition {row}: choose a field and a comparison.");
                continue;
            }

            var condition = new SegmentCondition { Field = field.Field, Key = form(KeyInput(row)).Trim(), Operator = op.Operator };
            if (op.Operator != SegmentOperator.Exists && SetValue(condition, form(ValueInput(row)).Trim()) is { } problem)
            {
                problems.Add($"Condition {row}: {problem}");
                continue;
            }

            conditions.Add(new SegmentRule { Condition = condition });
        }

        if (conditions.Count == 0 && problems.Count == 0)
        {
            problems.Add("Give at least one condition.");
        }

        if (problems.Count > 0)
        {
            return (null, string.Join(" ", problems));
        }

        var rule = conditions.Count == 1 ? conditions[0] : Group(conditions, any: form("match") == "any");
        var request = new CreateSegmentRequest
        {
            SegmentId = form("id").Trim(),
            Segment = new Segment { DisplayName = form("display_name").Trim(), Rule = rule },
        };
        return (request, null);
    }

    /// <summary>Reads a posted form.</summary>
    public static Func<string, string> Of(IFormCollection form) => name => form.TryGetValue(name, out var value) ? value.ToString() : "";

    private static SegmentRule Group(List<SegmentRule> rules, bool any)
    {
        var group = new SegmentRuleGroup();
        group.Rules.AddRange(rules);
        return any ? new SegmentRule { Any = group } : new SegmentRule { All = group };
    }

    /// <summary>Sets the condition's value as its field reads it; the problem when the text is not such a value.</summary>
    private static string? SetValue(SegmentCondition condition, string text)
    {
        switch (condition.Field)
        {
            case SegmentField.Stage:
                var stage = Labels.Stages.FirstOrDefault(s => string.Equals(Labels.Of(s), text, StringComparison.OrdinalIgnoreCase));
                if (stage == JourneyStage.Unspecified)
                {
                    return $"\"{text}\" is not a stage; give one of {string.Join(", ", Labels.Stages.Select(Labels.Of))}.";
                }

                condition.Stage = stage;
                return null;
            case SegmentField.AbandonedCart:
                if (text.ToLowerInvariant() is not ("yes" or "no" or "true" or "false"))
                {
                    return $"\"{text}\" is not yes or no.";
                }

                condition.Flag = text.ToLowerInvariant() is "yes" or "true";
                return null;
            case SegmentField.CustomerType:
                var type = text.ToLowerInvariant() switch
                {
                    "known" => CustomerType.Known,
                    "anonymous" => CustomerType.Anonymous,
                    _ => CustomerType.Unspecified,
                };
                if (type == CustomerType.Unspecified)
                {
                    return $"\"{text}\" is not a customer type; give known or anonymous.";
                }

                condition.CustomerType = type;
                return null;
            case SegmentField.Trait:
                condition.Text = text;
                return null;
            default:
                if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) || !double.IsFinite(number))
                {
                    return $"\"{text}\" is not a number (write it like 0.5 or 60).";
                }

                condition.Number = number;
                return null;
        }
    }
}
