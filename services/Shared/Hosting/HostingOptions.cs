using System.ComponentModel.DataAnnotations;
using System.Net;
using Microsoft.Extensions.Options;

namespace Journey.Shared.Hosting;

/// <summary>Where the host listens and which services it runs (section <c>Journey:Hosting</c>).</summary>
public sealed class HostingOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Journey:Hosting";

    /// <summary>The IP address to listen on. Default <c>127.0.0.1</c>: a laptop run is not reachable from the network unless asked.</summary>
    [Required]
    public string Address { get; set; } = "127.0.0.1";

    /// <summary>The TCP port for gRPC (HTTP/2 without TLS); 0 picks a free one. Default 5080.</summary>
    [Range(0, 65535)]
    public int Port { get; set; } = 5080;

    /// <summary>
    /// The TCP port for HTTP/1.1 and HTTP/2 (the tracking API, the <c>/healthz</c> endpoints, and gRPC
    /// for clients that reach it this way); 0 picks a free one. Default: none (off). The local run's
    /// <c>appsettings.json</c> sets 5081.
    /// </summary>
    [Range(0, 65535)]
    public int? HttpPort { get; set; }

    /// <summary>The services to run, by name (<c>touchpoint</c>, <c>profile</c>, <c>consent</c>, <c>recommendation</c>). Default: all of them.</summary>
    public string[]? Modules { get; set; }

    /// <summary>Whether gRPC server reflection is served (for grpcurl and <c>buf curl</c>). Default true.</summary>
    public bool Reflection { get; set; } = true;

    /// <summary>Parses <see cref="Address"/>; null when it is not an IP address.</summary>
    public IPAddress? ParsedAddress => IPAddress.TryParse(Address, out var address) ? address : null;
}

/// <summary>Start-up validation of <see cref="HostingOptions"/>.</summary>
[OptionsValidator]
public sealed partial class HostingOptionsValidator : IValidateOptions<HostingOptions>;

/// <summary>Rules over <see cref="HostingOptions"/> that need the list of known services.</summary>
internal sealed class HostingRules(IReadOnlyList<string> knownModules) : IValidateOptions<HostingOptions>
{
    public ValidateOptionsResult Validate(string? name, HostingOptions options)
    {
        if (options.ParsedAddress is null)
        {
            return ValidateOptionsResult.Fail($"Journey:Hosting:Address '{options.Address}' is not an IP address (use e.g. 127.0.0.1 or 0.0.0.0).");
        }

        if (options.HttpPort is { } http && http != 0 && http == options.Port)
        {
            return ValidateOptionsResult.Fail($"Journey:Hosting:HttpPort {http} is also Journey:Hosting:Port: give the HTTP listener a port of its own, or 0 for a free one.");
        }

        var unknown = (options.Modules ?? []).Where(m => !knownModules.Contains(m, StringComparer.OrdinalIgnoreCase)).ToList();
        if (unknown.Count > 0)
        {
            return ValidateOptionsResult.Fail($"Journey:Hosting:Modules names unknown services ({string.Join(", ", unknown)}); known: {string.Join(", ", knownModules)}.");
        }

        return options.Modules is { Length: 0 }
            ? ValidateOptionsResult.Fail("Journey:Hosting:Modules is empty: name at least one service, or leave it unset to run all.")
            : ValidateOptionsResult.Success;
    }
}
