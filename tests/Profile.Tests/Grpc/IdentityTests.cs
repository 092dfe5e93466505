using Grpc.Core;
using Journey.Common.V1;
using Journey.Profile.V1;
using Journey.Testing;
using static Journey.Profile.Tests.ProfileHost;

namespace Journey.Profile.Tests.Grpc;

public sealed class IdentityTests() : HostedTests<ProfileHost>(() => StartAsync(new Dictionary<string, string?> { ["Journey:Profile:MaxAnonymousIdentifiers"] = "3" }))
{
    [Fact]
    public async Task Identify_WhenNothingKnown_CreatesAnonymousProfile()
    {
        var response = await Host.IdentifyAsync(Cookie("c-new"));

        Assert.True(response.Created);
        Assert.Equal(CustomerType.Anonymous, response.Profile.CustomerType);
        Assert.Equal(IdentifierKind.AnonymousId, response.Profile.Identification.IdentifiedBy);
        Assert.Equal(1, response.Profile.Version);
        Assert.Equal(response.Profile.Name, (await Host.TryLookupAsync(Cookie("c-new")))!.Name);
    }

    [Fact]
    public async Task Identify_WhenAnonymousVisitorLogsIn_MergesIntoKnownWithCombinedHistory()
    {
        var start = Host.Clock.GetUtcNow();
        var anonymous = await Host.RecordAsync(Cookie("c-anna"),
            Interaction(Cookie("c-anna"), InteractionType.ContentConsumed, start, [JourneyStage.Consideration], ["lease-vs-buy"], "contents/lease-guide"),
            Interaction(Cookie("c-anna"), InteractionType.CartAdd, start.AddMinutes(1), [JourneyStage.Evaluation]));
        var known = await Host.RecordAsync(Customer("cust-anna"),
            Interaction(Customer("cust-anna"), InteractionType.EmailOpen, start.AddMinutes(2), [JourneyStage.Awareness], ["newsletter"], channel: Channel.Email),
            Interaction(Customer("cust-anna"), InteractionType.ServiceTicketOpened, start.AddMinutes(3), channel: Channel.CallCentre));

        var response = await Host.IdentifyAsync(Customer("cust-anna"), Cookie("c-anna"), Email("Anna@Example.com"));

        Assert.False(response.Created);
        Assert.Equal(known.Name, response.Profile.Name);
        Assert.Equal([anonymous.Name], response.MergedProfiles);
        var survivor = response.Profile;
        Assert.Equal(CustomerType.Known, survivor.CustomerType);
        Assert.Equal(IdentifierKind.CustomerId, survivor.Identification.IdentifiedBy);
        Assert.Equal(JourneyStage.Evaluation, survivor.Stage);
        Assert.Equal([JourneyStage.Awareness, JourneyStage.Consideration, JourneyStage.Evaluation], survivor.StageHistory.Select(s => s.Stage).OrderBy(s => s));
        Assert.Contains(survivor.Interests, i => i.Topic == "lease-vs-buy");
        Assert.Contains(survivor.Interests, i => i.Topic == "newsletter");
        Assert.True(survivor.AbandonedCart);
        Assert.Equal(1, survivor.OpenServiceTickets);
        Assert.Equal(["lease-guide"], survivor.ConsumedContents);
        Assert.Equal([Channel.Web, Channel.Email, Channel.CallCentre], survivor.Channels.Select(c => c.Channel).OrderBy(c => c == Channel.Web ? 0 : c == Channel.Email ? 1 : 2));
        // The merged-away id keeps answering, with the survivor.
        Assert.Equal(survivor.Name, (await Host.GetAsync(anonymous.Name)).Name);
        Assert.Equal(survivor.Name, (await Host.TryLookupAsync(Cookie("c-anna")))!.Name);
        var merges = await Host.Client.ListProfileMergesAsync(new ListProfileMergesRequest { Parent = survivor.Name });
        var merge = Assert.Single(merges.Merges);
        Assert.Equal(anonymous.Name, merge.Merged);
        Assert.Equal(IdentifierKind.AnonymousId, merge.LinkedBy);
        Assert.Contains(merge.MovedIdentifiers, i => i.Kind == IdentifierKind.AnonymousId && i.Value == "c-anna");
    }

    [Fact]
    public async Task Identify_WhenTwoCustomersShareAComputer_NeverMergesAndRecordsConflictOnBoth()
    {
        var first = await Host.IdentifyAsync(Customer("cust-a"), Cookie("family-pc"), Email("a@example.com"));
        Host.Clock.Advance(TimeSpan.FromMinutes(5));

        var second = await Host.IdentifyAsync(Customer("cust-b"), Cookie("family-pc"));

        Assert.True(second.Created);
        Assert.Empty(second.MergedProfiles);
        Assert.Equal([first.Profile.Name], second.ConflictingProfiles);
        // The cookie follows the customer identified last; nothing else moves.
        Assert.Equal(second.Profile.Name, (await Host.TryLookupAsync(Cookie("family-pc")))!.Name);
        var a = await Host.GetAsync(first.Profile.Name);
        var b = await Host.GetAsync(second.Profile.Name);
        Assert.Equal(first.Profile.Name, (await Host.TryLookupAsync(Customer("cust-a")))!.Name);
        Assert.Contains(a.Conflicts, c => c.OtherProfile == b.Name && c.SharedKind == IdentifierKind.AnonymousId);
        Assert.Contains(b.Conflicts, c => c.OtherProfile == a.Name && c.SharedKind == IdentifierKind.AnonymousId);
        Assert.DoesNotContain(a.Identifiers, i => i.Kind == IdentifierKind.AnonymousId);
    }

    [Fact]
    public async Task Identify_WhenCallLinksEmailsOfTwoCustomers_KeepsEachEmailWithItsCustomer()
    {
        var a = await Host.IdentifyAsync(Customer("cust-c"), Email("c@example.com"));
        var b = await Host.IdentifyAsync(Customer("cust-d"), Email("d@example.com"));

        var linking = await Host.IdentifyAsync(Email("c@example.com"), Email("d@example.com"));

        Assert.Empty(linking.MergedProfiles);
        Assert.Single(linking.ConflictingProfiles);
        Assert.Equal(a.Profile.Name, (await Host.TryLookupAsync(Email("c@example.com")))!.Name);
        Assert.Equal(b.Profile.Name, (await Host.TryLookupAsync(Email("d@example.com")))!.Name);
    }

    [Fact]
    public async Task Identify_WhenAnonymousIdentifiersExceedCap_DropsOldestFirst()
    {
        var profile = await Host.IdentifyAsync(Customer("cust-cap"), Cookie("cap-1"));
        foreach (var cookie in new[] { "cap-2", "cap-3", "cap-4" })
        {
            Host.Clock.Advance(TimeSpan.FromMinutes(1));
            await Host.IdentifyAsync(Customer("cust-cap"), Cookie(cookie));
        }

        var current = await Host.GetAsync(profile.Profile.Name);

        Assert.Equal(["cap-2", "cap-3", "cap-4"], current.Identifiers.Where(i => i.Kind == IdentifierKind.AnonymousId).Select(i => i.Value));
        Assert.Null(await Host.TryLookupAsync(Cookie("cap-1")));
    }

    [Fact]
    public async Task Identify_WhenEmailGiven_StoresOnlyItsHash()
    {
        var response = await Host.IdentifyAsync(Email("Mixed.Case@Example.com"), Id(IdentifierKind.Phone, "+49 170 1234567"));

        var email = Assert.Single(response.Profile.Identifiers, i => i.Kind == IdentifierKind.Email);
        Assert.Matches("^[0-9a-f]{64}$", email.Value);
        Assert.DoesNotContain("email", response.Profile.Traits.Keys);
        Assert.Equal(response.Profile.Name, (await Host.TryLookupAsync(Email("mixed.case@example.com")))!.Name);
        Assert.Equal(response.Profile.Name, (await Host.TryLookupAsync(Id(IdentifierKind.Email, email.Value)))!.Name);
        Assert.Equal(CustomerType.Known, response.Profile.CustomerType);
    }

    [Fact]
    public async Task Identify_WhenManyCallersRaceOnANewIdentifier_AllGetTheSameProfile()
    {
        var calls = Enumerable.Range(0, 12).Select(i => Host.IdentifyAsync(Customer("race"), Id(IdentifierKind.DeviceId, $"race-device-{i}")));

        var responses = await Task.WhenAll(calls);

        var name = Assert.Single(responses.Select(r => r.Profile.Name).Distinct());
        Assert.Single(responses, r => r.Created);
        var profile = await Host.GetAsync(name);
        Assert.Equal(1, profile.Identifiers.Count(i => i.Kind == IdentifierKind.CustomerId));
        Assert.Equal(3, profile.Identifiers.Count(i => i.Kind == IdentifierKind.DeviceId));
    }

    [Fact]
    public async Task Identify_WhenRequestInvalid_NamesEveryField()
    {
        var request = new IdentifyRequest();
        request.Identifiers.Add(Id(IdentifierKind.Unspecified, "x"));
        request.Identifiers.Add(Email("not-an-address"));
        request.Identifiers.Add(Cookie(new string('x', 257)));
        request.Traits["Bad Key"] = "v";

        var error = await Assert.ThrowsAsync<RpcException>(() => Host.Client.IdentifyAsync(request).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal(["identifiers[0].kind", "identifiers[1].value", "identifiers[2].value", "traits[Bad Key]"], Violations(error));
    }

    [Fact]
    public async Task Identify_WhenAnIdentifierIsAPlaceholder_RefusesItAndMergesNoOne()
    {
        var first = await Host.IdentifyAsync(Cookie("c-real-1"));
        var request = new IdentifyRequest();
        request.Identifiers.Add(Cookie("c-real-2"));
        request.Identifiers.Add(Customer("undefined"));

        var error = await Assert.ThrowsAsync<RpcException>(() => Host.Client.IdentifyAsync(request).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal(["identifiers[1].value"], Violations(error));
        Assert.Contains("undefined", error.Status.Detail);
        Assert.Null(await Host.TryLookupAsync(Cookie("c-real-2")));
        var lookup = await Assert.ThrowsAsync<RpcException>(() => Host.TryLookupAsync(Customer("undefined")));
        Assert.Equal(StatusCode.InvalidArgument, lookup.StatusCode);
        Assert.Equal(first.Profile.Name, (await Host.TryLookupAsync(Cookie("c-real-1")))!.Name);
    }

    [Fact]
    public async Task Identify_WhenNoIdentifiers_IsInvalidArgument()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => Host.Client.IdentifyAsync(new IdentifyRequest()).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal(["identifiers"], Violations(error));
    }

    [Fact]
    public async Task Identify_WhenProfileIdUnknown_IsNotFound()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => Host.IdentifyAsync(Id(IdentifierKind.ProfileId, new string('a', 32)), Cookie("x")));

        Assert.Equal(StatusCode.NotFound, error.StatusCode);
    }

    [Fact]
    public async Task GetProfile_WhenNameMalformedOrUnknown_ReportsStatus()
    {
        var malformed = await Assert.ThrowsAsync<RpcException>(() => Host.GetAsync("people/1"));
        var unknown = await Assert.ThrowsAsync<RpcException>(() => Host.GetAsync("profiles/" + new string('0', 32)));

        Assert.Equal(StatusCode.InvalidArgument, malformed.StatusCode);
        Assert.Equal(["name"], Violations(malformed));
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task BatchGetProfiles_AnswersInTheOrderAskedAndNamesWhatIsWrong()
    {
        var anna = (await Host.IdentifyAsync(Customer("batch-anna"))).Profile.Name;
        var ben = (await Host.IdentifyAsync(Customer("batch-ben"))).Profile.Name;
        var unknown = "profiles/" + new string('0', 32);

        var both = await Host.Client.BatchGetProfilesAsync(new BatchGetProfilesRequest { Names = { ben, anna, ben } });
        var missing = await Assert.ThrowsAsync<RpcException>(() => Host.Client.BatchGetProfilesAsync(new BatchGetProfilesRequest { Names = { anna, unknown } }).ResponseAsync);
        var malformed = await Assert.ThrowsAsync<RpcException>(() => Host.Client.BatchGetProfilesAsync(new BatchGetProfilesRequest { Names = { anna, "people/1" } }).ResponseAsync);
        var none = await Assert.ThrowsAsync<RpcException>(() => Host.Client.BatchGetProfilesAsync(new BatchGetProfilesRequest()).ResponseAsync);
        var tooMany = await Assert.ThrowsAsync<RpcException>(() => Host.Client.BatchGetProfilesAsync(new BatchGetProfilesRequest { Names = { Enumerable.Repeat(anna, 101) } }).ResponseAsync);

        Assert.Equal([ben, anna, ben], both.Profiles.Select(p => p.Name));
        Assert.Equal((StatusCode.NotFound, true), (missing.StatusCode, missing.Status.Detail.StartsWith("names[1]:", StringComparison.Ordinal)));
        Assert.Equal(["names[1]"], Violations(malformed));
        Assert.Equal(["names"], Violations(none));
        Assert.Equal(["names"], Violations(tooMany));
    }

    [Fact]
    public async Task LookupProfile_WhenPersonMissing_IsInvalidArgument()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => Host.Client.LookupProfileAsync(new LookupProfileRequest()).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal(["person"], Violations(error));
    }

    [Fact]
    public async Task LookupProfile_WithTwoIdentifiersOrAMalformedProfileName_IsInvalidArgumentNamingTheField()
    {
        var two = Persons.Of(new Identifier { Kind = IdentifierKind.Email, Value = "a@example.com" }, new Identifier { Kind = IdentifierKind.Email, Value = "b@example.com" });

        var tooMany = await Assert.ThrowsAsync<RpcException>(() => Host.Client.LookupProfileAsync(new LookupProfileRequest { Person = two }).ResponseAsync);
        var malformed = await Assert.ThrowsAsync<RpcException>(() => Host.Client.LookupProfileAsync(new LookupProfileRequest { Person = Persons.Profile("people/1") }).ResponseAsync);

        Assert.Equal((StatusCode.InvalidArgument, StatusCode.InvalidArgument), (tooMany.StatusCode, malformed.StatusCode));
        Assert.Equal(["person.identifiers"], Violations(tooMany));
        Assert.Equal(["person.profile"], Violations(malformed));
    }

    [Fact]
    public async Task LookupProfile_ByProfileName_FindsTheProfile()
    {
        var identified = (await Host.Client.IdentifyAsync(new IdentifyRequest { Identifiers = { new Identifier { Kind = IdentifierKind.Email, Value = "ada@example.com" } } })).Profile;

        var found = (await Host.Client.LookupProfileAsync(new LookupProfileRequest { Person = Persons.Profile(identified.Name) })).Profile;

        Assert.Equal(identified.Name, found.Name);
    }

    [Fact]
    public async Task ListProfileMerges_WhenPagingArgumentsBad_IsInvalidArgument()
    {
        var profile = await Host.IdentifyAsync(Cookie("paging"));

        var negative = await Assert.ThrowsAsync<RpcException>(() => Host.Client.ListProfileMergesAsync(new ListProfileMergesRequest { Parent = profile.Profile.Name, PageSize = -1 }).ResponseAsync);
        var token = await Assert.ThrowsAsync<RpcException>(() => Host.Client.ListProfileMergesAsync(new ListProfileMergesRequest { Parent = profile.Profile.Name, PageToken = "%%%" }).ResponseAsync);

        Assert.Equal(["page_size"], Violations(negative));
        Assert.Equal(["page_token"], Violations(token));
    }

    [Fact]
    public async Task ListProfileMerges_WhenManyMerges_PagesNewestFirst()
    {
        var known = await Host.IdentifyAsync(Customer("cust-pages"));
        var merged = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            Host.Clock.Advance(TimeSpan.FromMinutes(1));
            merged.Add((await Host.IdentifyAsync(Id(IdentifierKind.DeviceId, $"dev-{i}"))).Profile.Name);
            await Host.IdentifyAsync(Customer("cust-pages"), Id(IdentifierKind.DeviceId, $"dev-{i}"));
        }

        var first = await Host.Client.ListProfileMergesAsync(new ListProfileMergesRequest { Parent = known.Profile.Name, PageSize = 2 });
        var second = await Host.Client.ListProfileMergesAsync(new ListProfileMergesRequest { Parent = known.Profile.Name, PageSize = 2, PageToken = first.NextPageToken });

        Assert.Equal([merged[2], merged[1]], first.Merges.Select(m => m.Merged));
        Assert.Equal([merged[0]], second.Merges.Select(m => m.Merged));
        Assert.Equal("", second.NextPageToken);
    }

    [Fact]
    public async Task WatchProfile_WhenProfileChanges_StreamsEachNewVersion()
    {
        var profile = await Host.IdentifyAsync(Cookie("watched"));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        using var call = Host.Client.WatchProfile(new WatchProfileRequest { Name = profile.Profile.Name }, cancellationToken: cts.Token);

        Assert.True(await call.ResponseStream.MoveNext(cts.Token));
        Assert.Equal(1, call.ResponseStream.Current.Profile.Version);
        var request = new IdentifyRequest();
        request.Identifiers.Add(Cookie("watched"));
        request.Traits["preferred_model"] = "estate";
        await Host.Client.IdentifyAsync(request);

        Assert.True(await call.ResponseStream.MoveNext(cts.Token));
        Assert.Equal(2, call.ResponseStream.Current.Profile.Version);
        Assert.Equal("estate", call.ResponseStream.Current.Profile.Traits["preferred_model"]);
    }

    [Fact]
    public async Task Calls_WithoutTokenOrScope_AreRefused()
    {
        var anonymous = new ProfileService.ProfileServiceClient(Host.Platform.CreateAnonymousChannel());
        var reader = new ProfileService.ProfileServiceClient(Host.Platform.CreateChannel("profiles:read"));

        var noToken = await Assert.ThrowsAsync<RpcException>(() => anonymous.GetProfileAsync(new GetProfileRequest { Name = "profiles/x" }).ResponseAsync);
        var identify = await Assert.ThrowsAsync<RpcException>(() => reader.IdentifyAsync(new IdentifyRequest()).ResponseAsync);
        var export = await Assert.ThrowsAsync<RpcException>(() => reader.ExportProfileAsync(new ExportProfileRequest()).ResponseAsync);
        var segment = await Assert.ThrowsAsync<RpcException>(() => reader.CreateSegmentAsync(new CreateSegmentRequest()).ResponseAsync);

        Assert.Equal(StatusCode.Unauthenticated, noToken.StatusCode);
        Assert.Equal(StatusCode.PermissionDenied, identify.StatusCode);
        Assert.Equal(StatusCode.PermissionDenied, export.StatusCode);
        Assert.Equal(StatusCode.PermissionDenied, segment.StatusCode);
    }

    internal static string[] Violations(RpcException error) =>
        error.GetRpcStatus()?.GetDetail<Google.Rpc.BadRequest>()?.FieldViolations.Select(v => v.Field).ToArray() ?? [];
}
