using Journey.Testing;

namespace Journey.Host.Tests;

public sealed class StartupTests
{
    [Theory]
    [InlineData("--Journey:Storage:Provider=Mongo", "Journey:Storage:Mongo:ConnectionString")]
    [InlineData("--Journey:Hosting:Modules=billing", "Journey:Hosting:Modules")]
    [InlineData("--Journey:Events:MaxAttempts=0", "MaxAttempts")]
    [InlineData("--Journey:Hosting:Address=localhost", "Journey:Hosting:Address")]
    public async Task Start_WhenASettingIsWrong_ExitsWithOneLineNamingIt(string argument, string setting)
    {
        var data = Directory.CreateTempSubdirectory("journey-host-").FullName;
        await using var host = HostProcess.Start(data, argument);

        var exitCode = await host.WaitForExitAsync();

        Assert.Equal(2, exitCode);
        var line = Assert.Single(host.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), l => l.StartsWith("Journey cannot start:", StringComparison.Ordinal));
        Assert.Contains(setting, line);
        Assert.DoesNotContain("   at ", host.Output);
    }

    [Fact]
    public async Task Start_WithDefaults_ServesHealthOnLoopbackAndCreatesTheDataDirectory()
    {
        var data = Path.Combine(Directory.CreateTempSubdirectory("journey-host-").FullName, "fresh");
        await using var host = HostProcess.Start(data);

        var address = await host.WaitUntilListeningAsync();
        using var channel = host.CreateChannel();
        var health = new Grpc.Health.V1.Health.HealthClient(channel);
        var ready = await health.CheckAsync(new Grpc.Health.V1.HealthCheckRequest { Service = "ready" });

        Assert.StartsWith("http://127.0.0.1:", address);
        Assert.Equal(Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving, ready.Status);
        Assert.True(File.Exists(Path.Combine(data, "bus.db")));
        foreach (var service in new[] { "touchpoint", "profile", "consent", "recommendation" })
        {
            Assert.True(File.Exists(Path.Combine(data, $"{service}.db")), $"{service}.db missing");
        }
    }
}
