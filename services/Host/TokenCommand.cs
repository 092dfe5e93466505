using Journey.Shared.Security;
using Journey.Shared.Storage;

namespace Journey.Host;

/// <summary>
/// <c>journey-host token [--scopes "a b"] [--subject name] [--hours n]</c>: prints a development
/// token signed with the key in the data directory, so the secure local default is also the easy
/// one. Refuses when the host is configured for a real identity provider.
/// </summary>
internal static class TokenCommand
{
    public static bool IsRequested(string[] args) => args.Length > 0 && args[0] == "token";

    public static int Run(string[] args)
    {
        var options = args.Skip(1).ToList();
        var configuration = new ConfigurationBuilder()
            .SetBasePath(AppContext.BaseDirectory)
            .AddJsonFile("appsettings.json", optional: true)
            .AddEnvironmentVariables()
            .AddCommandLine(options.Where(o => o.StartsWith("--Journey:", StringComparison.Ordinal)).ToArray())
            .Build();
        if (!string.IsNullOrWhiteSpace(configuration["Journey:Auth:Authority"]))
        {
            Console.Error.WriteLine("Journey:Auth:Authority is set: tokens come from that identity provider, not from this host.");
            return 2;
        }

        var known = JourneyServices.Known.Scopes;
        var scopes = Value(options, "--scopes")?.Split(' ', StringSplitOptions.RemoveEmptyEntries) ?? [.. known.All];
        var unknown = scopes.Where(s => !known.Contains(s)).ToList();
        if (unknown.Count > 0)
        {
            Console.Error.WriteLine($"Unknown scopes: {string.Join(", ", unknown)}. Known: {string.Join(" ", known.All)}");
            return 2;
        }

        var hours = int.TryParse(Value(options, "--hours"), out var h) && h is > 0 and <= 24 ? h : 8;
        DevelopmentIssuer issuer;
        try
        {
            issuer = DevelopmentIssuer.Open(
                configuration["Journey:Storage:DataDirectory"] ?? ".data",
                configuration["Journey:Auth:Issuer"] ?? "journey-development",
                configuration["Journey:Auth:Audience"] ?? "journey");
        }
        catch (KeyFileException ex)
        {
            Console.Error.WriteLine(ex.Message);
            return 2;
        }

        Console.WriteLine(issuer.CreateToken(Value(options, "--subject") ?? Environment.UserName, scopes, TimeSpan.FromHours(hours)));
        return 0;
    }

    private static string? Value(List<string> options, string name)
    {
        var index = options.IndexOf(name);
        return index >= 0 && index + 1 < options.Count ? options[index + 1] : null;
    }
}
