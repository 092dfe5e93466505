using Journey.Profile.Domain;

namespace Journey.Profile.Tests.Domain;

public sealed class ProfileJourneyTests
{
    [Theory]
    [InlineData(JourneyStage.Unspecified, 1, new[] { JourneyStage.Consideration }, JourneyStage.Consideration)]
    [InlineData(JourneyStage.Evaluation, 1, new[] { JourneyStage.Awareness }, JourneyStage.Evaluation)]
    [InlineData(JourneyStage.Awareness, 1, new[] { JourneyStage.Evaluation, JourneyStage.Consideration }, JourneyStage.Consideration)]
    [InlineData(JourneyStage.Evaluation, 8, new[] { JourneyStage.Purchase }, JourneyStage.Ownership)]
    [InlineData(JourneyStage.Ownership, 8, new[] { JourneyStage.Purchase }, JourneyStage.Loyalty)]
    [InlineData(JourneyStage.Ownership, 15, new JourneyStage[0], JourneyStage.Loyalty)]
    [InlineData(JourneyStage.Consideration, 15, new JourneyStage[0], JourneyStage.Consideration)]
    [InlineData(JourneyStage.Unspecified, 1, new JourneyStage[0], JourneyStage.Awareness)]
    public void NextStage_MovesForwardNeverBack(JourneyStage current, int type, JourneyStage[] touchpointStages, JourneyStage expected) =>
        Assert.Equal(expected, ProfileJourney.NextStage(current, type, touchpointStages));

    [Fact]
    public void CustomerType_IsKnownWithACustomerIdOrEmail()
    {
        var anonymous = new PersonProfile("p", [new PersonIdentifier(IdentifierKind.AnonymousId, "c")], JourneyStage.Awareness, 1, default, default, 1);

        Assert.Equal(CustomerType.Anonymous, anonymous.CustomerType);
        Assert.Equal(CustomerType.Known, (anonymous with { Identifiers = [new PersonIdentifier(IdentifierKind.Email, "hash")] }).CustomerType);
        Assert.Equal(CustomerType.Known, (anonymous with { Identifiers = [new PersonIdentifier(IdentifierKind.CustomerId, "C-1")] }).CustomerType);
    }
}
