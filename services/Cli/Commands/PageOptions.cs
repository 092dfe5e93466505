using System.CommandLine;

namespace Journey.Cli.Commands;

/// <summary>The paging options of a list command (AIP-158): at most 100 items by default, and the token of the next page.</summary>
internal sealed class PageOptions
{
    public Option<int> Size { get; } = new("--page-size") { Description = "At most this many (default 100).", DefaultValueFactory = _ => 100 };

    public Option<string?> Token { get; } = new("--page-token") { Description = "The next page, from a previous listing." };

    public int PageSize(ParseResult parse) => parse.GetValue(Size);

    /// <summary>The token given, or empty for the first page.</summary>
    public string PageToken(ParseResult parse) => parse.GetValue(Token) ?? "";
}
