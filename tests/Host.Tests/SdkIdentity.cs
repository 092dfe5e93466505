using Journey.Common.V1;
using Journey.Profile.V1;
using Journey.Testing;

namespace Journey.Host.Tests;

/// <summary>What the tracking SDKs' identify and alias calls leave in the profile service.</summary>
internal static class SdkIdentity
{
    /// <summary>
    /// Waits (up to 30 s, the calls cross the bus) until one profile holds <c>{prefix}@example.com</c>,
    /// the user id <c>{prefix}-user</c> and the anonymous ids <c>{prefix}-anon</c> and
    /// <c>{prefix}-anon2</c>, and returns it.
    /// </summary>
    public static async Task<Profile.V1.Profile> LinkedProfileAsync(ProfileService.ProfileServiceClient profiles, string prefix)
    {
        Profile.V1.Profile? profile = null;
        Assert.True(await TestPlatform.EventuallyAsync(async () =>
        {
            profile = await LookupAsync(profiles, new Identifier { Kind = IdentifierKind.Email, Value = $"{prefix}@example.com" });
            var aliased = await LookupAsync(profiles, new Identifier { Kind = IdentifierKind.AnonymousId, Value = $"{prefix}-anon2" });
            return profile is not null && aliased?.Name == profile.Name
                && profile.Identifiers.Any(i => i.Kind == IdentifierKind.CustomerId && i.Value == $"{prefix}-user")
                && profile.Identifiers.Any(i => i.Kind == IdentifierKind.AnonymousId && i.Value == $"{prefix}-anon");
        }, TimeSpan.FromSeconds(30)), $"identity not linked: {profile}");
        return profile!;
    }

    /// <summary>The profile holding <paramref name="identifier"/>, or null when there is none.</summary>
    public static async Task<Profile.V1.Profile?> LookupAsync(ProfileService.ProfileServiceClient profiles, Identifier identifier)
    {
        try
        {
            return (await profiles.LookupProfileAsync(new LookupProfileRequest { Person = Persons.Of(identifier) })).Profile;
        }
        catch (Grpc.Core.RpcException e) when (e.StatusCode == Grpc.Core.StatusCode.NotFound)
        {
            return null;
        }
    }
}
