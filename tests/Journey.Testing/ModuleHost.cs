namespace Journey.Testing;

/// <summary>
/// A running <see cref="TestPlatform"/> of one module and that module's generated gRPC client: the
/// part every module's test host shares. Each test project derives its own host, which adds the
/// clock and the helpers that speak the module's API.
/// </summary>
/// <typeparam name="TClient">The module's generated client.</typeparam>
public abstract class ModuleHost<TClient> : IAsyncDisposable
    where TClient : class
{
    /// <summary>Wraps <paramref name="platform"/>, which the host now owns and disposes.</summary>
    protected ModuleHost(TestPlatform platform, TClient client)
    {
        Platform = platform;
        Client = client;
    }

    /// <summary>The running host.</summary>
    public TestPlatform Platform { get; }

    /// <summary>The module's client, over <see cref="TestPlatform.Channel"/>.</summary>
    public TClient Client { get; }

    /// <summary>Stops the host.</summary>
    public ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return Platform.DisposeAsync();
    }
}
