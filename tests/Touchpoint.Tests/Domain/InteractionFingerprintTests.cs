using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Journey.Touchpoint.Domain;

namespace Journey.Touchpoint.Tests.Domain;

public sealed class InteractionFingerprintTests
{
    private static readonly DateTimeOffset Day = new(2026, 3, 1, 10, 0, 0, TimeSpan.Zero);

    public static TheoryData<string, Interaction> Interactions => new()
    {
        { "a page view", Interaction("web-home", [new(IdentifierKind.AnonymousId, "cookie-1")]) },
        {
            "a purchase with value, properties and identifiers out of order",
            Interaction("dealer-1", [new(IdentifierKind.CustomerId, "C-9"), new(IdentifierKind.Email, "9f2c"), new(IdentifierKind.AnonymousId, "a")]) with
            {
                Type = InteractionType.Purchase,
                Value = new MoneyAmount("EUR", 31_990, 500_000_000),
                Properties = new Dictionary<string, string> { ["trim"] = "GT", ["colour"] = "red" },
            }
        },
        {
            "text beyond the ASCII range and longer than the kept buffer",
            Interaction("review-site", [new(IdentifierKind.AnonymousId, "ç-😀")]) with
            {
                Type = InteractionType.Feedback,
                Rating = 4,
                Comment = string.Concat(Enumerable.Repeat("Très bien 👍 ", 200)),
                Content = "contents/ünïcode",
            }
        },
        { "a value longer than its stack buffer", Interaction("dealer-1", []) with { Value = new MoneyAmount(new string('X', 100), long.MinValue, -999_999_999) } },
        { "a time before 1970", Interaction("web-home", []) with { OccurredAt = new DateTimeOffset(1969, 12, 31, 23, 59, 59, 999, TimeSpan.Zero) } },
    };

    [Theory]
    [MemberData(nameof(Interactions))]
    public void Of_MatchesTheDocumentedText(string name, Interaction interaction)
    {
        Assert.False(string.IsNullOrEmpty(name));
        Assert.Equal(Reference(interaction), Convert.ToHexStringLower(InteractionFingerprint.Of(interaction)));
    }

    [Fact]
    public void Of_IgnoresTheOrderOfIdentifiersAndPropertiesAndTheTimeItArrived()
    {
        var first = Interaction("web", [new(IdentifierKind.AnonymousId, "a"), new(IdentifierKind.DeviceId, "d")]) with
        {
            Properties = new Dictionary<string, string> { ["x"] = "1", ["y"] = "2" },
        };
        var again = first with
        {
            Identifiers = [.. first.Identifiers.Reverse()],
            Properties = new Dictionary<string, string> { ["y"] = "2", ["x"] = "1" },
            RecordedAt = first.RecordedAt.AddMinutes(5),
        };

        Assert.Equal(InteractionFingerprint.Of(first), InteractionFingerprint.Of(again));
        Assert.NotEqual(InteractionFingerprint.Of(first), InteractionFingerprint.Of(first with { OccurredAt = first.OccurredAt.AddMilliseconds(1) }));
        Assert.NotEqual(InteractionFingerprint.Of(first), InteractionFingerprint.Of(first with { Comment = "1:" }));
    }

    private static Interaction Interaction(string touchpoint, IReadOnlyList<PersonIdentifier> identifiers) =>
        new("e-1", touchpoint, Day, identifiers, InteractionType.View, "", "", 0, "", null, new Dictionary<string, string>(), Day);

    /// <summary>The fingerprint as its documentation states it, written the plain way: stored fingerprints depend on it.</summary>
    private static string Reference(Interaction interaction)
    {
        var text = new StringBuilder();
        void Field(string value) => text.Append(value.Length).Append(':').Append(value).Append('|');
        Field(interaction.TouchpointId);
        Field(interaction.OccurredAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture));
        Field(((int)interaction.Type).ToString(CultureInfo.InvariantCulture));
        foreach (var key in interaction.Identifiers.Select(i => i.Key).Order(StringComparer.Ordinal))
        {
            Field(key);
        }

        Field(interaction.Content);
        Field(interaction.Recommendation);
        Field(interaction.Rating.ToString(CultureInfo.InvariantCulture));
        Field(interaction.Comment);
        Field(interaction.Value is { } value ? FormattableString.Invariant($"{value.CurrencyCode} {value.Units} {value.Nanos}") : "");
        foreach (var (key, property) in interaction.Properties.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            Field(key);
            Field(property);
        }

        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString()))[..16]);
    }
}
