using Google.Protobuf.WellKnownTypes;
using Journey.Shared.Errors;

namespace Journey.Shared.Tests.Errors;

public sealed class UpdateMasksTests
{
    [Flags]
    private enum Fields
    {
        None = 0,
        DisplayName = 1,
        TargetRating = 2,
    }

    private static readonly Dictionary<string, Fields> Paths = new()
    {
        ["display_name"] = Fields.DisplayName,
        ["intended_experience.target_rating"] = Fields.TargetRating,
    };

    [Fact]
    public void Parse_WhenPathsAreWrittenAsInJson_ReadsThemAsTheProtoNames()
    {
        // A JSON/HTTP client's ?updateMask= arrives in the JSON mapping's lowerCamel spelling.
        var fields = UpdateMasks.Parse(new FieldMask { Paths = { "displayName", "intendedExperience.targetRating" } }, Paths, Fields.DisplayName | Fields.TargetRating);

        Assert.Equal(Fields.DisplayName | Fields.TargetRating, fields);
    }

    [Fact]
    public void Parse_WhenAPathIsUnknownInEitherSpelling_NamesUpdateMask()
    {
        var error = Assert.Throws<InvalidArgumentException>(() => UpdateMasks.Parse(new FieldMask { Paths = { "ownerTeam" } }, Paths, Fields.DisplayName));

        Assert.Equal("update_mask", Assert.Single(error.Violations).Field);
    }
}
