using Journey.Consent.Domain;
using Microsoft.Extensions.Hosting;

namespace Journey.Consent.Storage;

/// <summary>Fills the decision index from the ledger before the host starts serving, so no check answers from an empty index.</summary>
internal sealed class DecisionIndexLoader(IConsentLedger ledger, DecisionIndex index) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => ledger.LoadStateAsync(index, cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
