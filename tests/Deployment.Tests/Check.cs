using System.Text.Json.Nodes;

namespace Journey.Deployment.Tests;

/// <summary>Assertions and in-memory edits shared by the tests.</summary>
internal static class Check
{
    /// <summary>Fails with every violation on its own line, each naming object and field.</summary>
    public static void None(IEnumerable<Violation> violations, string source)
    {
        var found = violations.ToList();
        if (found.Count > 0)
        {
            Assert.Fail($"{source}: {found.Count} problem(s):{Environment.NewLine}{string.Join(Environment.NewLine, found)}");
        }
    }

    /// <summary>Asserts that a violation names exactly this object and field, and returns it.</summary>
    public static Violation Reports(IEnumerable<Violation> violations, string objectId, string field)
    {
        var found = violations.ToList();
        return found.FirstOrDefault(v => v.Resource == objectId && v.Field == field)
            ?? throw new Xunit.Sdk.XunitException(
                $"expected a violation for {objectId} at {field}; got:{Environment.NewLine}{string.Join(Environment.NewLine, found)}");
    }

    /// <summary>A copy of <paramref name="set"/> in which one object has been changed.</summary>
    public static ManifestSet With(ManifestSet set, string kind, string name, Action<JsonObject> change)
    {
        var objects = set.Objects.Select(o => (JsonObject)o.DeepClone()).ToList();
        var target = objects.Single(o => ManifestSet.Kind(o) == kind && ManifestSet.Name(o) == name);
        change(target);
        return new ManifestSet(set.Source + " (edited)", objects, []);
    }

    /// <summary>The object at a dotted path such as spec.template.spec.containers[0].</summary>
    public static JsonObject At(JsonObject root, string path)
    {
        JsonNode? node = root;
        foreach (var part in path.Split('.'))
        {
            var bracket = part.IndexOf('[', StringComparison.Ordinal);
            node = bracket < 0 ? node?[part] : node?[part[..bracket]]?[int.Parse(part[(bracket + 1)..^1], System.Globalization.CultureInfo.InvariantCulture)];
        }

        return node as JsonObject ?? throw new InvalidOperationException($"no object at {path}");
    }
}
