using Journey.Recommendation.Domain;
using Journey.Shared.Hosting;
using Microsoft.Extensions.Hosting;

namespace Journey.Recommendation.Storage;

/// <summary>
/// Runs the <see cref="RecommendationJournal"/>'s writer for the life of the host. A stop lets it store
/// every record already answered before the store closes; it gives up only when the host's stop
/// timeout runs out.
/// </summary>
internal sealed class RecommendationJournalWriter(RecommendationJournal journal) : IHostedService, IDisposable
{
    private readonly CancellationTokenSource _abandon = new();
    private Task _writing = Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _writing = BackgroundScheduler.Shared.Run(() => journal.RunAsync(_abandon.Token));
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        journal.Complete();
        await using var registration = cancellationToken.Register(_abandon.Cancel);
        try
        {
            await _writing;
        }
        catch (OperationCanceledException) when (_abandon.IsCancellationRequested)
        {
            // The stop timeout ran out with the store still failing; what is left was answered but is not stored.
        }
    }

    public void Dispose() => _abandon.Dispose();
}
