namespace Journey.WebConsole;

/// <summary>The web console (section <c>Journey:Console</c>), served on the HTTP listener under <c>/console</c>.</summary>
public sealed class WebConsoleOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Journey:Console";

    /// <summary>Whether the host serves the console. Default true; it is reachable only where the HTTP listener is on.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// The gRPC address the console calls the services at, e.g. <c>http://touchpoint:8080</c>. Empty:
    /// this host's own gRPC listener, which serves every service it runs.
    /// </summary>
    public string? ApiAddress { get; set; }
}
