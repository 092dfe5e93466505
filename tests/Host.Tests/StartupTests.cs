using System.Text.RegularExpressions;
using Journey.Testing;

namespace Journey.Host.Tests;

public sealed class StartupTests
{
    [Theory]
    [InlineData("--Journey:Storage:Provider=Mongo", "Journey:Storage:Mongo:ConnectionString")]
    [InlineData("--Journey:Hosting:Modules=billing", "Journey:Hosting:Modules")]
    [InlineData("--Journey:Events:MaxAttempts=0", "Journey:Events: ")]
    [InlineData("--Journey:Touchpoint:StreamTransactionSize=10", "Journey:Touchpoint: ")]
    [InlineData("--Journey:Touchpoint:StreamTransactionSize=10", "StreamTransactionSize")]
    [InlineData("--Journey:Hosting:Address=localhost", "Journey:Hosting:Address")]
    [InlineData("--Journey:Auth:Authority=http://login.example.com/realms/journey", "Journey:Auth:Authority")]
    [InlineData("--Journey:Auth:Authority=login.example.com", "Journey:Auth:Authority")]
    [InlineData("--Journey:Storage:Mongo:ConnectionString=mongodb://127.0.0.1:1/?replicaSet=rs0", "Journey:Privacy:IdentifierHashKey")]
    public async Task Start_WhenASettingIsWrong_ExitsWithOneLineNamingIt(string argument, string setting)
    {
        using var scratch = new ScratchDirectory("journey-host-");
        var data = scratch.Path;
        await using var host = HostProcess.Start(data, argument);

        var exitCode = await host.WaitForExitAsync();

        Assert.Equal(2, exitCode);
        var line = Assert.Single(host.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), l => l.StartsWith("Journey cannot start:", StringComparison.Ordinal));
        Assert.Contains(setting, line);
        Assert.DoesNotContain("   at ", host.Output);
    }

    [Fact]
    public async Task Start_WhenTheHttpPortIsTheGrpcPort_ExitsNamingHttpPort()
    {
        using var scratch = new ScratchDirectory("journey-host-");
        await using var host = HostProcess.Start(scratch.Path, "--Journey:Hosting:Port=5999", "--Journey:Hosting:HttpPort=5999");

        Assert.Equal(2, await host.WaitForExitAsync());
        Assert.Contains("Journey:Hosting:HttpPort 5999 is also Journey:Hosting:Port", host.Output);
    }

    [Fact]
    public async Task Start_WithAnHttpPort_AnswersHealthOverHttp1()
    {
        using var scratch = new ScratchDirectory("journey-host-");
        await using var host = HostProcess.Start(scratch.Path);
        await host.WaitUntilListeningAsync();
        using var http = new HttpClient { BaseAddress = new Uri(host.HttpAddress) };

        using var live = await http.GetAsync("/healthz/live");
        using var ready = await http.GetAsync("/healthz/ready");

        Assert.Equal(new Version(1, 1), live.Version);
        Assert.Equal(System.Net.HttpStatusCode.OK, live.StatusCode);
        Assert.Equal("Healthy", await ready.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Start_WhenSeveralSectionsAreWrong_NamesEachProblemOnceOnOneLine()
    {
        using var scratch = new ScratchDirectory("journey-host-");
        await using var host = HostProcess.Start(scratch.Path,
            "--Journey:Storage:Provider=Mongo", "--Journey:Events:MaxAttempts=0", "--Journey:Touchpoint:StreamTransactionSize=10");

        var exitCode = await host.WaitForExitAsync();

        Assert.Equal(2, exitCode);
        var line = Assert.Single(host.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), l => l.StartsWith("Journey cannot start:", StringComparison.Ordinal));
        Assert.Contains("Journey:Events: ", line);
        Assert.Contains("Journey:Touchpoint: ", line);
        // The privacy keys' rule depends on the storage provider: its own problem is named, the storage one only once.
        Assert.Single(Regex.Matches(line, "Journey:Storage:Mongo:ConnectionString"));
        Assert.Contains("Journey:Privacy:IdentifierHashKey", line);
    }

    [Fact]
    public async Task Start_WithDefaults_ServesHealthOnLoopbackAndCreatesTheDataDirectory()
    {
        using var scratch = new ScratchDirectory("journey-host-");
        var data = Path.Combine(scratch.Path, "fresh");
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

    [Fact]
    public async Task Start_FirstTime_LoadsTheDemoJourneyOnceThroughThePublicApis()
    {
        using var scratch = new ScratchDirectory("journey-demo-");
        var data = scratch.Path;
        await using (var host = HostProcess.Start(data, "--Journey:Demo:Enabled=true"))
        {
            await host.WaitUntilListeningAsync();
            using var channel = host.CreateChannel(data, [.. JourneyServices.Known.Scopes.All]);
            var touchpoints = new Journey.Touchpoint.V1.TouchpointService.TouchpointServiceClient(channel);
            Assert.True(await TestPlatform.EventuallyAsync(() => Task.FromResult(File.Exists(Path.Combine(data, "demo-data.loaded")))), host.Output);

            var listed = await touchpoints.ListTouchpointsAsync(new Journey.Touchpoint.V1.ListTouchpointsRequest { PageSize = 100 });
            var purpose = await new Journey.Consent.V1.ConsentService.ConsentServiceClient(channel).GetPurposeAsync(new Journey.Consent.V1.GetPurposeRequest { Name = "purposes/personalisation" });
            var content = await new Journey.Recommendation.V1.RecommendationService.RecommendationServiceClient(channel).GetContentAsync(new Journey.Recommendation.V1.GetContentRequest { Name = "contents/lease-vs-buy-guide" });

            Assert.Contains("touchpoints/lease-calculator", listed.Touchpoints.Select(t => t.Name));
            Assert.Contains("touchpoints/review-site", listed.Touchpoints.Select(t => t.Name));
            Assert.Equal(Journey.Consent.V1.LegalBasis.Consent, purpose.Purpose.LegalBasis);
            Assert.Equal("Lease or buy? A guide", content.Content.Title);
            await host.KillAsync();
        }

        await using var again = HostProcess.Start(data, "--Journey:Demo:Enabled=true");
        await again.WaitUntilListeningAsync();
        Assert.True(
            await TestPlatform.EventuallyAsync(() => Task.FromResult(again.Output.Contains(DemoData.AlreadyLoadedMessage, StringComparison.Ordinal)), TimeSpan.FromSeconds(30)),
            $"the restarted host did not say the demo was already there:\n{again.Output}");
        Assert.DoesNotContain("Demo data not loaded", again.Output);
        Assert.DoesNotContain(DemoData.LoadedMessage + ":", again.Output);
    }

    [Theory]
    [InlineData("development-signing-key.pem", "Delete the file")]
    [InlineData("identifier-hash.key", "restore it from the data directory's backup")]
    [InlineData("encryption.key", "restore it from the data directory's backup")]
    public async Task Start_WhenAKeyFileIsDamaged_ExitsWithOneLineNamingItAndWhatToDo(string fileName, string advice)
    {
        using var scratch = new ScratchDirectory("journey-host-");
        await File.WriteAllTextAsync(Path.Combine(scratch.Path, fileName), "-----BEGIN PRIVATE KEY-----\nMIGH");
        await using var host = HostProcess.Start(scratch.Path);

        var exitCode = await host.WaitForExitAsync();

        Assert.Equal(2, exitCode);
        var line = Assert.Single(host.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), l => l.StartsWith("Journey cannot start:", StringComparison.Ordinal));
        Assert.Contains(fileName, line);
        Assert.Contains(advice, line);
        Assert.DoesNotContain("   at ", host.Output);
    }

    [Fact]
    public async Task TokenCommand_PrintsATokenTheHostAccepts()
    {
        using var scratch = new ScratchDirectory("journey-token-");
        var data = scratch.Path;
        var start = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { Path.Combine(AppContext.BaseDirectory, "Journey.Host.dll"), "token", "--scopes", "admin", $"--Journey:Storage:DataDirectory={data}" })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = System.Diagnostics.Process.Start(start)!;
        var token = (await process.StandardOutput.ReadToEndAsync()).Trim();
        await process.WaitForExitAsync();
        await using var host = HostProcess.Start(data);
        await host.WaitUntilListeningAsync();
        using var channel = TestPlatform.ChannelWithToken(host.Address, token);

        var response = await new Journey.Platform.V1.DeadLetterService.DeadLetterServiceClient(channel).ListDeadLettersAsync(new Journey.Platform.V1.ListDeadLettersRequest());

        Assert.Equal(0, process.ExitCode);
        Assert.Equal(3, token.Split('.').Length);
        Assert.Empty(response.DeadLetters);
    }
}
