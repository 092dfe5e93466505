using Journey.Shared.Errors;
using Journey.Shared.Paging;

namespace Journey.Shared.Tests.Paging;

public sealed class PageTokensTests
{
    [Theory]
    [InlineData(0, 50)]
    [InlineData(1, 1)]
    [InlineData(500, 500)]
    [InlineData(501, 500)]
    public void Size_WhenNotNegative_IsDefaultOrClamped(int requested, int served) => Assert.Equal(served, PageTokens.Size(requested));

    [Fact]
    public void Size_WhenNegative_IsInvalidArgumentNamingTheField()
    {
        var error = Assert.Throws<InvalidArgumentException>(() => PageTokens.Size(-1, "page_size"));

        Assert.Contains(error.Violations, v => v.Field == "page_size");
    }

    [Theory]
    [InlineData("touchpoints/lease-calculator")]
    [InlineData("1763876400000.42")]
    [InlineData("ä/ö+ü=")]
    public void Decode_OfEncode_IsTheKey(string key)
    {
        var token = PageTokens.Encode(key);

        Assert.DoesNotContain('=', token);
        Assert.Equal(key, PageTokens.Decode(token));
        Assert.Equal(key, PageTokens.TryDecode(token));
    }

    [Theory]
    [InlineData("not base64!")]
    [InlineData("@@@@")]
    public void Decode_WhenNotAToken_IsInvalidArgumentAndTryDecodeIsNull(string token)
    {
        Assert.Null(PageTokens.TryDecode(token));
        var error = Assert.Throws<InvalidArgumentException>(() => PageTokens.Decode(token));
        Assert.Contains(error.Violations, v => v.Field == "page_token");
    }

    [Fact]
    public void Decode_WhenEmpty_IsTheFirstPage()
    {
        Assert.Equal("", PageTokens.Decode(""));
        Assert.Null(PageTokens.TryDecode(""));
        Assert.Null(PageTokens.TryDecode(PageTokens.Encode(new string('k', 257))));
    }
}
