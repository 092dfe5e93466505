using Journey.Touchpoint.Domain;

namespace Journey.Touchpoint.Tests.Domain;

public sealed class PersonGroupingTests
{
    private static readonly PersonIdentifier Cookie = new(IdentifierKind.AnonymousId, "cookie");
    private static readonly PersonIdentifier Device = new(IdentifierKind.DeviceId, "device");
    private static readonly PersonIdentifier CustomerA = new(IdentifierKind.CustomerId, "A");
    private static readonly PersonIdentifier EmailA = new(IdentifierKind.Email, "a-hash");
    private static readonly PersonIdentifier Profile = new(IdentifierKind.ProfileId, "p-1");

    [Fact]
    public async Task NothingLinked_StartsANewPerson()
    {
        Assert.Null(await ChooseAsync([Cookie, CustomerA], new Dictionary<PersonIdentifier, KnownBy>()));
    }

    [Fact]
    public async Task OnlyWeakIdentifiers_FollowTheFirstLinkedOne()
    {
        var chosen = await ChooseAsync([Cookie, Device], new() { [Device] = KnownBy.CustomerId, [Cookie] = KnownBy.None });

        Assert.Equal(0, chosen);
    }

    [Fact]
    public async Task ALinkedCustomerId_DecidesOverEarlierWeakAndEmailLinks()
    {
        var chosen = await ChooseAsync([Cookie, EmailA, CustomerA], new() { [Cookie] = KnownBy.None, [EmailA] = KnownBy.Email, [CustomerA] = KnownBy.CustomerId });

        Assert.Equal(2, chosen);
    }

    [Fact]
    public async Task ALinkedProfileId_DecidesFirst()
    {
        var chosen = await ChooseAsync([CustomerA, Profile], new() { [CustomerA] = KnownBy.CustomerId, [Profile] = KnownBy.None });

        Assert.Equal(1, chosen);
    }

    [Fact]
    public async Task ANewCustomerOnACookieOfAnotherKnownCustomer_StartsANewPerson()
    {
        Assert.Null(await ChooseAsync([Cookie, CustomerA], new() { [Cookie] = KnownBy.CustomerId }));
        Assert.Null(await ChooseAsync([Cookie, EmailA], new() { [Cookie] = KnownBy.Email }));
    }

    [Fact]
    public async Task ANewCustomerOnAnAnonymousVisitorsCookie_JoinsThatVisitor()
    {
        var chosen = await ChooseAsync([Cookie, CustomerA], new() { [Cookie] = KnownBy.None });

        Assert.Equal(0, chosen);
    }

    [Fact]
    public async Task AnEmailOfAPersonWithAnotherCustomerId_IsNotTakenForANewCustomerId()
    {
        Assert.Null(await ChooseAsync([CustomerA, EmailA], new() { [EmailA] = KnownBy.Email | KnownBy.CustomerId }));
        Assert.Equal(1, await ChooseAsync([CustomerA, EmailA], new() { [EmailA] = KnownBy.Email }));
        Assert.Equal(0, await ChooseAsync([EmailA], new() { [EmailA] = KnownBy.Email | KnownBy.CustomerId }));
    }

    [Fact]
    public async Task KnownBy_IsAskedOnlyWhenTheChoiceDependsOnIt()
    {
        var asked = 0;
        var chosen = await PersonGrouping.ChooseAsync([Cookie, Device], _ => true, _ =>
        {
            asked++;
            return ValueTask.FromResult(KnownBy.None);
        });

        Assert.Equal(0, chosen);
        Assert.Equal(0, asked);
    }

    private static ValueTask<int?> ChooseAsync(PersonIdentifier[] identifiers, Dictionary<PersonIdentifier, KnownBy> linked) =>
        PersonGrouping.ChooseAsync(identifiers, i => linked.ContainsKey(identifiers[i]), i => ValueTask.FromResult(linked[identifiers[i]]));
}
