using System.CommandLine;
using Journey.Common.V1;

namespace Journey.Cli.Commands;

/// <summary>
/// The options that name a person, as every request addresses one (<c>PersonRef</c>): their profile
/// (<c>--profile</c>), or any of their identifiers, several together for consent and recommendations.
/// </summary>
internal sealed class IdentifierOptions
{
    private readonly Option<string?> _profile = new("--profile") { Description = "The person's profile, its id or its name (profiles/{id}); instead of identifiers." };
    private readonly Option<string?> _email = new("--email") { Description = "The person's e-mail address." };
    private readonly Option<string?> _customerId = new("--customer-id") { Description = "The person's customer id." };
    private readonly Option<string?> _anonymousId = new("--anonymous-id") { Description = "An anonymous (cookie) id." };
    private readonly Option<string?> _phone = new("--phone") { Description = "The person's phone number." };
    private readonly Option<string?> _deviceId = new("--device-id") { Description = "A device id." };

    public void AddTo(Command command)
    {
        command.Options.Add(_profile);
        command.Options.Add(_email);
        command.Options.Add(_customerId);
        command.Options.Add(_anonymousId);
        command.Options.Add(_phone);
        command.Options.Add(_deviceId);
    }

    /// <summary>The person the options name, as every request addresses one; null when none is named and none is required.</summary>
    public PersonRef? Person(ParseResult parse, bool required = true)
    {
        var identifiers = Read(parse, required: false);
        if (parse.GetValue(_profile) is { } profile && !string.IsNullOrWhiteSpace(profile))
        {
            return identifiers.Count == 0
                ? new PersonRef { Profile = Names.Full("profiles", profile.Trim()) }
                : throw CliException.Usage("name the person either with --profile or with identifiers, not both.");
        }

        if (required && identifiers.Count == 0)
        {
            throw CliException.Usage(Missing);
        }

        return identifiers.Count == 0 ? null : new PersonRef { Identifiers = new IdentifierSet { Identifiers = { identifiers } } };
    }

    private const string Missing = "name the person with --profile, --email, --customer-id, --anonymous-id, --phone or --device-id.";

    private List<Identifier> Read(ParseResult parse, bool required)
    {
        var identifiers = new List<Identifier>();
        Add(parse.GetValue(_customerId), IdentifierKind.CustomerId);
        Add(parse.GetValue(_email), IdentifierKind.Email);
        Add(parse.GetValue(_phone), IdentifierKind.Phone);
        Add(parse.GetValue(_anonymousId), IdentifierKind.AnonymousId);
        Add(parse.GetValue(_deviceId), IdentifierKind.DeviceId);
        if (required && identifiers.Count == 0)
        {
            throw CliException.Usage(Missing);
        }

        return identifiers;

        void Add(string? value, IdentifierKind kind)
        {
            if (!string.IsNullOrWhiteSpace(value))
            {
                identifiers.Add(new Identifier { Kind = kind, Value = value });
            }
        }
    }
}
