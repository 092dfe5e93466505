namespace Journey.Cli.Commands;

/// <summary>Resource names: the commands accept either the id (<c>web-home</c>) or the full name (<c>touchpoints/web-home</c>).</summary>
internal static class Names
{
    public static string Full(string collection, string idOrName) =>
        idOrName.StartsWith(collection + "/", StringComparison.Ordinal) ? idOrName : $"{collection}/{idOrName}";

    public static string Id(string collection, string idOrName) =>
        idOrName.StartsWith(collection + "/", StringComparison.Ordinal) ? idOrName[(collection.Length + 1)..] : idOrName;
}
