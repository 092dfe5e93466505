using System.Security.Cryptography;
using Journey.Shared.Privacy;

namespace Journey.Shared.Tests.Privacy;

public sealed class IdentifierHasherTests
{
    private static readonly byte[] Key = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();

    [Fact]
    public void HashEmail_WhenCaseAndSpacesDiffer_GivesTheSameHash()
    {
        var hasher = new IdentifierHasher(Key);

        Assert.Equal(hasher.HashEmail("anna.berg@example.com"), hasher.HashEmail("  Anna.Berg@Example.COM "));
    }

    [Fact]
    public void HashEmail_IsHmacSha256HexUnderTheKey()
    {
        var expected = Convert.ToHexStringLower(HMACSHA256.HashData(Key, "anna@example.com"u8.ToArray()));

        Assert.Equal(expected, new IdentifierHasher(Key).HashEmail("anna@example.com"));
    }

    [Fact]
    public void HashEmail_WithAnotherKey_GivesAnotherHash()
    {
        var otherKey = Key.Select(b => (byte)(b + 1)).ToArray();

        Assert.NotEqual(new IdentifierHasher(Key).HashEmail("anna@example.com"), new IdentifierHasher(otherKey).HashEmail("anna@example.com"));
    }

    [Theory]
    [InlineData("+49 (30) 123-4567", "+49301234567")]
    [InlineData("030 1234567", "0301234567")]
    public void NormalizePhone_KeepsDigitsAndLeadingPlus(string raw, string normalized) =>
        Assert.Equal(normalized, IdentifierHasher.NormalizePhone(raw));

    [Theory]
    [InlineData("anna@example.com", true)]
    [InlineData("anna@example", false)]
    [InlineData("@example.com", false)]
    [InlineData("anna@@example.com", false)]
    public void IsPlausibleEmail_ChecksTheShape(string email, bool plausible) =>
        Assert.Equal(plausible, IdentifierHasher.IsPlausibleEmail(email));

    [Fact]
    public void Protect_RoundTripsAndHidesTheValue()
    {
        var protector = new PersonalDataProtector(Key);

        var sealedValue = protector.Protect("anna@example.com");

        Assert.DoesNotContain("anna", sealedValue);
        Assert.NotEqual(sealedValue, protector.Protect("anna@example.com"));
        Assert.Equal("anna@example.com", protector.Unprotect(sealedValue));
    }

    [Fact]
    public void Unprotect_WhenTamperedWith_Throws()
    {
        var protector = new PersonalDataProtector(Key);
        var bytes = Convert.FromBase64String(protector.Protect("anna@example.com"));
        bytes[^1] ^= 0x01;

        Assert.ThrowsAny<CryptographicException>(() => protector.Unprotect(Convert.ToBase64String(bytes)));
    }
}
