using System.Text.RegularExpressions;
using Journey.Shared.Events;
using Journey.Shared.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Journey.Shared.Tests.Hosting;

public sealed class ValidatedOptionsTests
{
    [Fact]
    public void StartupValidation_WhenARangeIsBroken_NamesTheSectionAndTheSetting()
    {
        using var services = Build(new() { ["Journey:Events:BatchSize"] = "0" });

        var failure = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IStartupValidator>().Validate());

        var message = Assert.Single(failure.Failures);
        Assert.StartsWith("Journey:Events: ", message, StringComparison.Ordinal);
        Assert.Contains("BatchSize", message, StringComparison.Ordinal);
        Assert.Contains("between 1 and 10000", message, StringComparison.Ordinal);
    }

    [Fact]
    public void StartupValidation_WhenTheMessageNamesTheSettingAlready_DoesNotRepeatTheSection()
    {
        using var services = Build(new() { ["Journey:Events:PubSubName"] = "Not_A_Name" });

        var failure = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<EventsOptions>>().Value);

        var message = Assert.Single(failure.Failures);
        Assert.Single(Regex.Matches(message, "Journey:Events"));
        Assert.Contains("Journey:Events:PubSubName must be a Kubernetes-style name", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_WhenValid_AreBoundFromTheSection()
    {
        using var services = Build(new() { ["Journey:Events:BatchSize"] = "64" });

        services.GetRequiredService<IStartupValidator>().Validate();

        Assert.Equal(64, services.GetRequiredService<IOptions<EventsOptions>>().Value.BatchSize);
    }

    private static ServiceProvider Build(Dictionary<string, string?> settings)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
        services.AddValidatedOptions<EventsOptions, EventsOptionsValidator>(EventsOptions.Section);
        return services.BuildServiceProvider();
    }
}
