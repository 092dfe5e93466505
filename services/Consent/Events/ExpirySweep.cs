using System.ComponentModel.DataAnnotations;
using Journey.Consent.Domain;
using Journey.Shared.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Journey.Consent.Events;

/// <summary>How the consent service publishes expired grants.</summary>
public sealed class ConsentExpiryOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Journey:Consent:Expiry";

    /// <summary>
    /// Time between two sweeps for expired grants, measured on the injected <see cref="TimeProvider"/>'s
    /// timers. Default 1 minute; 10 milliseconds to 1 day. An expiry reaches the read models of other
    /// services at most this much (plus delivery) after it happened; checks never wait for it.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "1.00:00:00")]
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Grants marked and published per store transaction. Default 500; 1 to 10000.</summary>
    [Range(1, 10_000)]
    public int BatchSize { get; set; } = 500;
}

/// <summary>Start-up validation of <see cref="ConsentExpiryOptions"/>.</summary>
[OptionsValidator]
internal sealed partial class ConsentExpiryOptionsValidator : IValidateOptions<ConsentExpiryOptions>;

/// <summary>
/// Runs <see cref="ExpiryUseCases.PublishDueExpiriesAsync"/> at every tick of a timer on the injected
/// clock. Every replica may run it: the store marks each grant once, so concurrent sweeps and
/// restarts never publish an expiry twice.
/// </summary>
internal sealed partial class ExpirySweep(ExpiryUseCases useCases, IOptions<ConsentExpiryOptions> options, TimeProvider time, ILogger<ExpirySweep> logger) : BackgroundService
{
    // On the background threads, below the priority of calls (see BackgroundScheduler).
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => BackgroundScheduler.Shared.Run(() => SweepAsync(stoppingToken));

    private async Task SweepAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        using var timer = new PeriodicTimer(settings.SweepInterval, time);
        do
        {
            try
            {
                var published = await useCases.PublishDueExpiriesAsync(settings.BatchSize, stoppingToken);
                if (published > 0)
                {
                    LogPublished(published);
                }
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                // The next tick retries; what was marked stays marked, what was not is found again.
                LogFailed(ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    [LoggerMessage(EventId = 1, EventName = "ConsentExpiriesPublished", Level = LogLevel.Information, Message = "Published {Count} consent expiries")]
    private partial void LogPublished(int count);

    [LoggerMessage(EventId = 2, EventName = "ConsentExpirySweepFailed", Level = LogLevel.Warning, Message = "Consent expiry sweep failed; retrying at the next tick")]
    private partial void LogFailed(Exception exception);
}

/// <summary>Registration of the expiry sweep.</summary>
internal static class ExpirySweepRegistration
{
    public static IServiceCollection AddExpirySweep(this IServiceCollection services)
    {
        services.AddValidatedOptions<ConsentExpiryOptions, ConsentExpiryOptionsValidator>(ConsentExpiryOptions.Section);
        services.AddSingleton<ExpiryUseCases>();
        services.AddHostedService<ExpirySweep>();
        return services;
    }
}
