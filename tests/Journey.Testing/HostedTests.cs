using Xunit;

namespace Journey.Testing;

/// <summary>
/// A test class whose tests each run against a host of their own: xUnit makes one instance per test,
/// starts the host before the test and stops it after.
/// </summary>
/// <typeparam name="THost">The module's test host.</typeparam>
/// <param name="start">Starts the host the class's tests run against.</param>
public abstract class HostedTests<THost>(Func<Task<THost>> start) : IAsyncLifetime
    where THost : class, IAsyncDisposable
{
    private THost? _host;

    /// <summary>The running test's host.</summary>
    protected THost Host => _host ?? throw new InvalidOperationException("The host starts in InitializeAsync.");

    /// <summary>Starts the host; a class that needs more set up first calls this, then adds its own.</summary>
    public virtual async Task InitializeAsync() => _host = await start();

    /// <summary>Stops the host.</summary>
    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }
}
