using System.CommandLine;

namespace Journey.Cli;

/// <summary>How the output is written: a table for people, one JSON document for scripts.</summary>
public enum OutputFormat
{
    Table,
    Json,
}

/// <summary>The options every command shares, resolved once per invocation.</summary>
public sealed record Globals(Uri Address, string? Token, OutputFormat Output, TimeSpan Timeout);

internal sealed class GlobalOptions(CliEnvironment environment)
{
    public const string DefaultAddress = "http://127.0.0.1:5080";

    private readonly Option<string?> _address = new("--address")
    {
        Description = $"The host or service address (default {DefaultAddress}, or JOURNEY_ADDRESS).",
        Recursive = true,
    };

    private readonly Option<string?> _token = new("--token")
    {
        Description = "A bearer token (or JOURNEY_TOKEN); a local host prints one with its 'token' command.",
        Recursive = true,
    };

    private readonly Option<string> _output = new("--output", "-o")
    {
        Description = "table (default) or json: one JSON document on stdout, for scripts.",
        DefaultValueFactory = _ => "table",
        Recursive = true,
    };

    private readonly Option<double> _timeout = new("--timeout")
    {
        Description = "Deadline of every call in seconds (default 30).",
        DefaultValueFactory = _ => 30,
        Recursive = true,
    };

    public void AddTo(RootCommand root)
    {
        _output.AcceptOnlyFromAmong("table", "json");
        _timeout.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<double>() is <= 0 or > 86_400)
            {
                result.AddError("--timeout must be between 0 and 86400 seconds.");
            }
        });
        root.Options.Add(_address);
        root.Options.Add(_token);
        root.Options.Add(_output);
        root.Options.Add(_timeout);
    }

    public Globals Read(ParseResult parse)
    {
        var addressText = parse.GetValue(_address) ?? environment.GetVariable("JOURNEY_ADDRESS") ?? DefaultAddress;
        if (!Uri.TryCreate(addressText, UriKind.Absolute, out var address) || (address.Scheme != Uri.UriSchemeHttp && address.Scheme != Uri.UriSchemeHttps))
        {
            throw CliException.Usage($"--address '{addressText}' is not an http:// or https:// address.");
        }

        var token = parse.GetValue(_token) ?? environment.GetVariable("JOURNEY_TOKEN");
        var output = parse.GetValue(_output) == "json" ? OutputFormat.Json : OutputFormat.Table;
        return new Globals(address, string.IsNullOrWhiteSpace(token) ? null : token.Trim(), output, TimeSpan.FromSeconds(parse.GetValue(_timeout)));
    }
}
