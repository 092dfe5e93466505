using Journey.Common.V1;

namespace Journey.Testing;

/// <summary>Builds the <see cref="PersonRef"/> every request that addresses a person takes.</summary>
public static class Persons
{
    /// <summary>A person named by these identifiers.</summary>
    public static PersonRef Of(params IEnumerable<Identifier> identifiers) =>
        new() { Identifiers = new IdentifierSet { Identifiers = { identifiers } } };

    /// <summary>A person named by their profile, <c>profiles/{profile}</c>.</summary>
    public static PersonRef Profile(string name) => new() { Profile = name };
}
