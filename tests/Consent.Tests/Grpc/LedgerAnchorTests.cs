using System.Security.Cryptography;
using System.Text;
using Grpc.Core;
using Journey.Consent.Domain;
using Journey.Consent.Events;
using Journey.Consent.V1;
using Journey.Shared.Security;
using Journey.Shared.Storage;
using Journey.Testing;
using Microsoft.Extensions.DependencyInjection;
using static Journey.Consent.Tests.Grpc.ConsentHost;
using ChainBreak = Journey.Consent.V1.ChainBreak;
using ConsentDecision = Journey.Consent.V1.ConsentDecision;
using ConsentRecord = Journey.Consent.V1.ConsentRecord;

namespace Journey.Consent.Tests.Grpc;

/// <summary>The end of a ledger chain is anchored: in the subject's stored head, and in signed checkpoints over every head.</summary>
public sealed class LedgerAnchorTests
{
    private static readonly IReadOnlyDictionary<string, string?> EverySecond = new Dictionary<string, string?>
    {
        ["Journey:Consent:CheckpointInterval"] = "00:00:01",
    };

    private static async Task<(ConsentHost Host, int Version)> StartAsync(IReadOnlyDictionary<string, string?>? settings = null, TimeProvider? time = null)
    {
        var host = await ConsentHost.StartAsync(time, settings, null, null);
        var version = await host.PolicyAsync();
        await host.PurposeAsync("marketing-email");
        return (host, version);
    }

    private static async Task<List<ConsentRecord>> ThreeRecordsAsync(ConsentHost host, int version) =>
    [
        await host.RecordAsync(Email("ada@example.com"), "marketing-email", ConsentDecision.Granted, version),
        await host.RecordAsync(Email("ada@example.com"), "marketing-email", ConsentDecision.Withdrawn, version),
        await host.RecordAsync(Email("ada@example.com"), "marketing-email", ConsentDecision.Granted, version),
    ];

    private static Task<int> ExecuteAsync(ConsentHost host, string sql, params (string Name, object Value)[] parameters) =>
        host.Platform.Services.GetRequiredKeyedService<SqliteDatabase>(ConsentModule.Name).WriteAsync(async (connection, tx, ct) =>
        {
            await using var command = connection.CreateCommand();
            command.Transaction = tx;
            command.CommandText = sql;
            foreach (var (name, value) in parameters)
            {
                command.Parameters.AddWithValue(name, value);
            }

            return await command.ExecuteNonQueryAsync(ct);
        }, default);

    [Fact]
    public async Task VerifyChain_WhenTheNewestRecordIsDeletedFromTheStore_ReportsTheChainCutOff()
    {
        var (host, version) = await StartAsync();
        await using var _ = host;
        var records = await ThreeRecordsAsync(host, version);

        await ExecuteAsync(host, "DELETE FROM records WHERE id = $id", ("$id", records[2].Name.Split('/')[^1]));
        var result = await host.Client.VerifyConsentChainAsync(new VerifyConsentChainRequest { Subject = records[0].Subject });

        Assert.False(result.Intact);
        Assert.Equal(ChainBreak.Truncated, result.Break);
        Assert.Equal(3, result.FirstBrokenSequence);
        Assert.Empty(result.FirstBrokenRecord);
        Assert.Equal(2, result.RecordsChecked);
        Assert.Equal(3, result.HeadLength);
    }

    [Fact]
    public async Task VerifyChain_WhenARecordAndTheStoredHeadAreRewrittenAlike_ReportsTheCheckpointThatCoveredThem()
    {
        var (host, version) = await StartAsync(EverySecond);
        await using var _ = host;
        var records = await ThreeRecordsAsync(host, version);
        var request = new VerifyConsentChainRequest { Subject = records[0].Subject };
        var covered = await TestPlatform.EventuallyAsync(async () => (await host.Client.VerifyConsentChainAsync(request)).CheckpointLength == 3);

        // Turn the withdrawal into a grant and re-seal everything after it, head included: the chain
        // then verifies against itself and against its stored head.
        var subject = Guid.Parse(records[0].Subject.Split('/')[1]);
        var chain = await host.Platform.Services.GetRequiredService<IConsentLedger>().ReadChainAsync(subject, default);
        var second = ConsentChain.Hash(subject, 2, chain[1].Draft with { Granted = true }, chain[0].Hash);
        var third = ConsentChain.Hash(subject, 3, chain[2].Draft, second);
        await ExecuteAsync(host, "UPDATE records SET granted = 1, hash = $hash WHERE id = $id", ("$hash", second), ("$id", chain[1].Draft.Id.ToString()));
        await ExecuteAsync(host, "UPDATE records SET previous_hash = $previous, hash = $hash WHERE id = $id", ("$previous", second), ("$hash", third), ("$id", chain[2].Draft.Id.ToString()));
        await ExecuteAsync(host, "UPDATE subjects SET head_hash = $hash WHERE id = $id", ("$hash", third), ("$id", subject.ToString()));
        var result = await host.Client.VerifyConsentChainAsync(request);

        Assert.False(result.Intact);
        Assert.True(covered, "no checkpoint covered the chain");
        Assert.Equal(ChainBreak.CheckpointMismatch, result.Break);
        Assert.Equal(3, result.FirstBrokenSequence);
        Assert.Equal(records[2].Name, result.FirstBrokenRecord);
        Assert.StartsWith("checkpoints/", result.Checkpoint, StringComparison.Ordinal);

        // Later checkpoints refuse the rewritten head instead of covering it.
        var seen = long.Parse(result.Checkpoint.Split('/')[1], System.Globalization.CultureInfo.InvariantCulture);
        await host.RecordAsync(Email("bob@example.com"), "marketing-email", ConsentDecision.Granted, version);
        Assert.True(await TestPlatform.EventuallyAsync(async () =>
            (await host.Client.ListConsentCheckpointsAsync(new ListConsentCheckpointsRequest { PageSize = 1 })).Checkpoints[0].Number > seen));
        var later = await host.Client.VerifyConsentChainAsync(request);
        Assert.Equal(ChainBreak.CheckpointMismatch, later.Break);
    }

    [Fact]
    public async Task VerifyChain_WhenTheCoveredHeadsAreRewrittenToo_ReportsTheCheckpointInvalid()
    {
        var (host, version) = await StartAsync(EverySecond);
        await using var _ = host;
        var records = await ThreeRecordsAsync(host, version);
        var request = new VerifyConsentChainRequest { Subject = records[0].Subject };
        Assert.True(await TestPlatform.EventuallyAsync(async () => (await host.Client.VerifyConsentChainAsync(request)).CheckpointLength == 3));

        await ExecuteAsync(host, "DELETE FROM records WHERE id = $id", ("$id", records[2].Name.Split('/')[^1]));
        await ExecuteAsync(host, "UPDATE subjects SET chain_length = 2, head_hash = $hash", ("$hash", records[1].Hash));
        await ExecuteAsync(host, "UPDATE checkpoint_heads SET length = 2, hash = $hash", ("$hash", records[1].Hash));
        var result = await host.Client.VerifyConsentChainAsync(request);

        Assert.False(result.Intact);
        Assert.Equal(ChainBreak.CheckpointInvalid, result.Break);
    }

    [Fact]
    public async Task VerifyChain_WhenIntact_NamesTheStoredHeadAndTheCheckpointCoveringIt()
    {
        var (host, version) = await StartAsync(EverySecond);
        await using var _ = host;
        var records = await ThreeRecordsAsync(host, version);
        var request = new VerifyConsentChainRequest { Subject = records[0].Subject };
        Assert.True(await TestPlatform.EventuallyAsync(async () => (await host.Client.VerifyConsentChainAsync(request)).CheckpointLength == 3));
        await host.RecordAsync(Email("ada@example.com"), "marketing-email", ConsentDecision.Withdrawn, version);

        var result = await host.Client.VerifyConsentChainAsync(request);

        Assert.True(result.Intact, result.Break.ToString());
        Assert.Equal(4, result.RecordsChecked);
        Assert.Equal(4, result.HeadLength);
        Assert.True(result.CheckpointLength is 3 or 4);
        Assert.StartsWith("checkpoints/", result.Checkpoint, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ListConsentCheckpoints_ServesSignedStatementsAVerifierChecksWithThePublicKeyAlone()
    {
        var (host, version) = await StartAsync(EverySecond);
        await using var _ = host;
        await host.RecordAsync(Email("ada@example.com"), "marketing-email", ConsentDecision.Granted, version);
        ListConsentCheckpointsResponse? page = null;
        Assert.True(await TestPlatform.EventuallyAsync(async () =>
            (await host.Client.ListConsentCheckpointsAsync(new ListConsentCheckpointsRequest())).Checkpoints.Count == 1));
        await host.RecordAsync(Email("ada@example.com"), "marketing-email", ConsentDecision.Withdrawn, version);
        await host.RecordAsync(Email("ada@example.com"), "marketing-email", ConsentDecision.Granted, version);
        Assert.True(await TestPlatform.EventuallyAsync(async () =>
        {
            page = await host.Client.ListConsentCheckpointsAsync(new ListConsentCheckpointsRequest());
            return page.Checkpoints[0].RecordCount == 3;
        }));

        var latest = page!.Checkpoints[0];
        var previous = page.Checkpoints[1];
        using var key = ECDsa.Create();
        key.ImportFromPem(latest.PublicKeyPem);
        Assert.True(key.VerifyData(latest.Statement.ToByteArray(), latest.Signature.ToByteArray(), HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(key.ExportSubjectPublicKeyInfo())), latest.SigningKeyId);
        var lines = Encoding.UTF8.GetString(latest.Statement.Span).Split('\n');
        Assert.Equal(["journey-consent-checkpoint-v1", latest.Number.ToString(System.Globalization.CultureInfo.InvariantCulture)], lines[..2]);
        Assert.Equal((1L, 3L, latest.RootHash, latest.SigningKeyId), (latest.SubjectCount, latest.RecordCount, lines[5], lines[7]));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(previous.Statement.Span)), latest.PreviousStatementHash);
        Assert.True(previous.Number < latest.Number);
        Assert.Equal(latest, (await host.Client.GetConsentCheckpointAsync(new GetConsentCheckpointRequest { Name = latest.Name })).Checkpoint);

        var trail = host.Platform.Services.GetRequiredService<AuditTrail>().For(ConsentModule.Name)!;
        Assert.Contains(await trail.ListAsync(0, 1000, default), e => e.Method == LedgerMaintenance.AuditMethod && e.Target == latest.Name);
    }

    [Theory]
    [InlineData("checkpoints/999", StatusCode.NotFound)]
    [InlineData("checkpoints/zero", StatusCode.InvalidArgument)]
    [InlineData("purposes/1", StatusCode.InvalidArgument)]
    public async Task GetConsentCheckpoint_WhenMissingOrMalformed_SaysWhich(string name, StatusCode expected)
    {
        var (host, _) = await StartAsync();
        await using var __ = host;

        var error = await Assert.ThrowsAsync<RpcException>(async () => await host.Client.GetConsentCheckpointAsync(new GetConsentCheckpointRequest { Name = name }));

        Assert.Equal(expected, error.StatusCode);
    }

    [Fact]
    public async Task RecordConsent_OnceTheRequestIdRetentionRanOut_AppendsAgain()
    {
        var clock = new HostClock();
        var (host, version) = await StartAsync(EverySecond, clock);
        await using var _ = host;
        var request = new RecordConsentRequest
        {
            Purpose = "purposes/marketing-email",
            Decision = ConsentDecision.Granted,
            PolicyVersion = version,
            CaptureTime = host.Now(),
            RequestId = Guid.NewGuid().ToString(),
        };
        request.Person = Persons.Of(Email("ada@example.com"));
        var first = (await host.Client.RecordConsentAsync(request)).Record;
        clock.Advance(TimeSpan.FromHours(23));
        Assert.Equal(first, (await host.Client.RecordConsentAsync(request)).Record);

        clock.Advance(TimeSpan.FromHours(2));
        var ledger = host.Platform.Services.GetRequiredService<IConsentLedger>();
        Assert.True(await TestPlatform.EventuallyAsync(async () => await ledger.FindRequestAsync(request.RequestId, default) is null), "the expired request id was not swept");
        var again = (await host.Client.RecordConsentAsync(request)).Record;

        Assert.NotEqual(first.Name, again.Name);
    }
}
