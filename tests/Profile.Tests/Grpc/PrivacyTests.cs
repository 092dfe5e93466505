using System.Text;
using Grpc.Core;
using Journey.Common.V1;
using Journey.Events.V1;
using Journey.Profile.V1;
using Journey.Shared.Events;
using Journey.Shared.Privacy;
using Journey.Shared.Storage;
using Journey.Testing;
using Microsoft.Extensions.DependencyInjection;
using static Journey.Profile.Tests.ProfileHost;

namespace Journey.Profile.Tests.Grpc;

public sealed class PrivacyTests() : HostedTests<ProfileHost>(() => StartAsync())
{
    private const string ClearEmail = "erika.mustermann@example.com";
    private const string ClearPhone = "+49 170 5550123";

    [Fact]
    public async Task Store_WhenKnownCustomerGaveEmailAndPhone_HoldsNeitherInClear()
    {
        await IdentifyErikaAsync();

        var bytes = await StoreBytesAsync();

        Assert.DoesNotContain(ClearEmail, bytes, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("5550123", bytes, StringComparison.Ordinal);
        // The hash is there: proof that the scan reads the stored rows at all.
        Assert.Contains(Host.Platform.Services.GetRequiredService<IdentifierHasher>().HashEmail(ClearEmail), bytes, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExportProfile_ByAnyIdentifier_ReturnsEverythingAsOneDocument()
    {
        var anonymous = await Host.IdentifyAsync(Cookie("erika-phone"));
        var known = await IdentifyErikaAsync();
        await Host.RecordAsync(Cookie("erika-cookie"), Interaction(Cookie("erika-cookie"), InteractionType.ContentConsumed, Host.Clock.GetUtcNow(), topics: ["family-cars"], content: "contents/family"));
        await Host.IdentifyAsync(Customer("cust-erika"), Cookie("erika-phone"));

        var export = (await Host.Client.ExportProfileAsync(new ExportProfileRequest { Person = Persons.Of(Email(ClearEmail)) })).Export;

        Assert.Equal(known.Profile.Name, export.Profile.Name);
        Assert.Equal(ClearEmail, export.Profile.Traits["email"]);
        Assert.Equal("+491705550123", export.Profile.Traits["phone"]);
        Assert.Equal("estate", export.Profile.Traits["preferred_model"]);
        Assert.Equal(["family-cars"], export.Profile.Interests.Select(i => i.Topic));
        Assert.Equal(["family"], export.Profile.ConsumedContents);
        Assert.Equal([anonymous.Profile.Name], export.Merges.Select(m => m.Merged));
        Assert.Equal([anonymous.Profile.Name], export.MergedProfileNames);
        // Reads without the privacy scope never see the clear address.
        Assert.DoesNotContain("email", (await Host.GetAsync(known.Profile.Name)).Traits.Keys);
    }

    [Fact]
    public async Task ExportProfile_WhenChannelConsentIsHeld_ListsTheDecisions()
    {
        var known = await IdentifyErikaAsync();
        var at = Host.Clock.GetUtcNow();
        var grant = new ConsentChanged
        {
            Subject = "subjects/erika",
            Purpose = "purposes/marketing-email",
            Granted = true,
            EffectiveTime = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(at),
            Identifiers = { Customer("cust-erika") },
            Channels = { Channel.Email },
        };
        await Host.PublishAsync(ProfileTopics.ConsentChanged, "consent", grant);
        Assert.True(await TestPlatform.EventuallyAsync(async () => await Host.PendingAsync() == 0));

        var export = (await Host.Client.ExportProfileAsync(new ExportProfileRequest { Person = Persons.Of(Customer("cust-erika")) })).Export;

        Assert.Equal(known.Profile.Name, export.Profile.Name);
        var held = Assert.Single(export.ChannelConsents);
        Assert.Equal("purposes/marketing-email", held.Purpose);
        Assert.True(held.Granted);
        Assert.Equal([Channel.Email], held.Channels);
        Assert.Equal(at, held.DecideTime.ToDateTimeOffset());
    }

    [Fact]
    public async Task ExportProfile_WhenNobodyHoldsTheIdentifier_IsNotFound()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => Host.Client.ExportProfileAsync(new ExportProfileRequest { Person = Persons.Of(Email("nobody@example.com")) }).ResponseAsync);

        Assert.Equal(StatusCode.NotFound, error.StatusCode);
    }

    [Fact]
    public async Task EraseProfile_LeavesNothingAboutThePersonInAnyTable()
    {
        var anonymous = await Host.IdentifyAsync(Cookie("erika-phone"));
        var known = await IdentifyErikaAsync();
        await Host.IdentifyAsync(Customer("cust-erika"), Cookie("erika-phone"));
        var neighbour = await Host.IdentifyAsync(Customer("cust-neighbour"), Cookie("erika-cookie"));
        await Host.Client.CreateSegmentAsync(new CreateSegmentRequest
        {
            SegmentId = "everyone",
            Segment = new Segment { DisplayName = "Everyone", Rule = new SegmentRule { Condition = new SegmentCondition { Field = SegmentField.Readiness, Operator = SegmentOperator.GreaterOrEqual, Number = 0 } } },
        });
        await Host.RecordAsync(Customer("cust-erika"), Interaction(Customer("cust-erika"), InteractionType.View, Host.Clock.GetUtcNow()));
        Assert.Contains(neighbour.Profile.Name, (await Host.GetAsync(known.Profile.Name)).Conflicts.Select(c => c.OtherProfile));
        var hash = Host.Platform.Services.GetRequiredService<IdentifierHasher>().HashEmail(ClearEmail);
        var knownId = known.Profile.Name["profiles/".Length..];
        var anonymousId = anonymous.Profile.Name["profiles/".Length..];
        Assert.True(await RowsMentioningAsync(knownId, anonymousId, hash, "cust-erika", "erika-phone") > 5);

        var erased = await Host.Client.EraseProfileAsync(new EraseProfileRequest { Person = Persons.Of(Customer("cust-erika")), Erasure = "erasures/e-1" });

        Assert.True(erased.RecordsErased >= 8, $"erased {erased.RecordsErased}");
        Assert.Null(await Host.TryLookupAsync(Email(ClearEmail)));
        Assert.Equal(StatusCode.NotFound, (await Assert.ThrowsAsync<RpcException>(() => Host.GetAsync(known.Profile.Name))).StatusCode);
        Assert.Equal(StatusCode.NotFound, (await Assert.ThrowsAsync<RpcException>(() => Host.GetAsync(anonymous.Profile.Name))).StatusCode);
        Assert.Empty((await Host.GetAsync(neighbour.Profile.Name)).Conflicts);
        Assert.True(await TestPlatform.EventuallyAsync(async () => await RowsMentioningAsync(knownId, anonymousId, hash, "cust-erika", "erika-phone") == 0));
    }

    [Fact]
    public async Task EraseProfile_WhenNobodyHeld_SucceedsWithNothingErased()
    {
        var erased = await Host.Client.EraseProfileAsync(new EraseProfileRequest { Person = Persons.Of(Customer("never-seen")) });

        Assert.Equal(0, erased.RecordsErased);
    }

    [Fact]
    public async Task EraseProfile_WhenErasureNameMalformed_IsInvalidArgument()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => Host.Client.EraseProfileAsync(new EraseProfileRequest { Person = Persons.Of(Customer("x")), Erasure = "nope" }).ResponseAsync);

        Assert.Equal(["erasure"], IdentityTests.Violations(error));
    }

    [Fact]
    public async Task ErasureRequested_FromConsentService_ErasesThePerson()
    {
        var known = await IdentifyErikaAsync();
        var request = new ErasureRequested { Erasure = "erasures/e-2", RequestTime = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(Host.Clock.GetUtcNow()) };
        request.Identifiers.Add(Id(IdentifierKind.Email, Host.Platform.Services.GetRequiredService<IdentifierHasher>().HashEmail(ClearEmail)));

        await Host.PublishAsync(Topics.ErasureRequested, "consent", request);

        Assert.True(await TestPlatform.EventuallyAsync(async () => await Host.TryLookupAsync(Customer("cust-erika")) is null));
        Assert.Equal(StatusCode.NotFound, (await Assert.ThrowsAsync<RpcException>(() => Host.GetAsync(known.Profile.Name))).StatusCode);
    }

    private async Task<IdentifyResponse> IdentifyErikaAsync()
    {
        var request = new IdentifyRequest();
        request.Identifiers.Add(Customer("cust-erika"));
        request.Identifiers.Add(Email(ClearEmail));
        request.Identifiers.Add(Id(IdentifierKind.Phone, ClearPhone));
        request.Identifiers.Add(Cookie("erika-cookie"));
        request.Traits["preferred_model"] = "estate";
        return await Host.Client.IdentifyAsync(request);
    }

    private SqliteDatabase Database => Host.Platform.Services.GetRequiredKeyedService<SqliteDatabase>(ProfileModule.Name);

    /// <summary>The database file and its write-ahead log as text, the way a dump would show them.</summary>
    private async Task<string> StoreBytesAsync()
    {
        var text = new StringBuilder();
        foreach (var path in new[] { Database.Path, Database.Path + "-wal" }.Where(File.Exists))
        {
            await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream, Encoding.Latin1);
            text.Append(await reader.ReadToEndAsync());
        }

        return text.ToString();
    }

    /// <summary>Rows of any table (the outbox included, once drained) whose text mentions any of <paramref name="needles"/>.</summary>
    private Task<int> RowsMentioningAsync(params string[] needles) =>
        Database.ReadAsync(async (connection, ct) =>
        {
            var tables = new List<string>();
            await using (var list = connection.CreateCommand())
            {
                list.CommandText = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'";
                await using var reader = await list.ExecuteReaderAsync(ct);
                while (await reader.ReadAsync(ct))
                {
                    tables.Add(reader.GetString(0));
                }
            }

            var hits = 0;
            foreach (var table in tables)
            {
                await using var select = connection.CreateCommand();
                select.CommandText = $"SELECT * FROM \"{table}\"";
                await using var reader = await select.ExecuteReaderAsync(ct);
                while (await reader.ReadAsync(ct))
                {
                    for (var i = 0; i < reader.FieldCount; i++)
                    {
                        var value = reader.IsDBNull(i) ? "" : reader.GetValue(i) is byte[] blob ? Encoding.Latin1.GetString(blob) : Convert.ToString(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture) ?? "";
                        if (needles.Any(n => value.Contains(n, StringComparison.Ordinal)))
                        {
                            hits++;
                        }
                    }
                }
            }

            return hits;
        }, CancellationToken.None);
}
