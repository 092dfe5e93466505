using System.ComponentModel.DataAnnotations;
using Journey.Shared.Hosting;
using Microsoft.Extensions.Options;

namespace Journey.Host;

/// <summary>The demo a local host loads on a fresh data directory (section <c>Journey:Demo</c>).</summary>
public sealed class DemoOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Journey:Demo";

    /// <summary>Whether a fresh data directory gets the demo at all. Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// How many simulated people walk the journey after the catalog is loaded; 0 loads the catalog
    /// alone. Default 400, 0 to 2000 (about 9 interactions each).
    /// </summary>
    [Range(0, 2000)]
    public int People { get; set; } = 400;
}

/// <summary>Start-up validation of <see cref="DemoOptions"/>.</summary>
[OptionsValidator]
public sealed partial class DemoOptionsValidator : IValidateOptions<DemoOptions>;

/// <summary>Registers the demo loader.</summary>
public static class DemoRegistration
{
    /// <summary>Adds the demo loader and its validated settings.</summary>
    public static IServiceCollection AddJourneyDemo(this IServiceCollection services)
    {
        services.AddValidatedOptions<DemoOptions, DemoOptionsValidator>(DemoOptions.Section);
        return services.AddHostedService<DemoData>();
    }
}
