using Grpc.Net.Client;

namespace Journey.Benchmarks;

/// <summary>A headline scenario: measures one service path and returns its figures with ratios.</summary>
public interface IScenario
{
    string Name { get; }

    Task<IReadOnlyList<Figure>> RunAsync(GrpcChannel channel, Baselines baselines, Settings settings);
}

/// <summary>The scenarios, in the order they run.</summary>
public static class Scenarios
{
    public static readonly IReadOnlyList<IScenario> All = [new IngestionScenario(), new ConsentCheckScenario()];
}
