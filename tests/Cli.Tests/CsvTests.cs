extern alias cli;

using cli::Journey.Cli;
using cli::Journey.Cli.Input;

namespace Journey.Cli.Tests;

public sealed class CsvTests
{
    [Fact]
    public void Read_WithQuotedFieldsAndBlankLines_KeepsTheLineEachRowStartsOn()
    {
        var rows = Csv.Read(new StringReader("id,Display Name\r\na,\"x, \"\"y\"\"\"\n\nb,\"two\nlines\"\nc,z\n"));

        Assert.Equal([2, 4, 6], rows.Select(r => r.Line));
        Assert.Equal("x, \"y\"", rows[0].Get("display_name"));
        Assert.Equal("two\nlines", rows[1].Get("display_name"));
    }

    [Fact]
    public void Read_WithTooManyFields_NamesTheLine()
    {
        var error = Assert.Throws<CliException>(() => Csv.Read(new StringReader("id,name\na,b\nc,d,e\n")));

        Assert.Equal(ExitCodes.InputFile, error.ExitCode);
        Assert.Contains("line 3", error.Message);
    }

    [Fact]
    public void Read_WithAnUnclosedQuote_NamesTheLine()
    {
        var error = Assert.Throws<CliException>(() => Csv.Read(new StringReader("id,name\na,\"open\n")));

        Assert.Contains("line 2", error.Message);
    }
}
