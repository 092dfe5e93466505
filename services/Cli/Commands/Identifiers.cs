using System.CommandLine;
using Journey.Common.V1;

namespace Journey.Cli.Commands;

/// <summary>The options that name a person: any of them, several together for consent and recommendations.</summary>
internal sealed class IdentifierOptions
{
    private readonly Option<string?> _email = new("--email") { Description = "The person's e-mail address." };
    private readonly Option<string?> _customerId = new("--customer-id") { Description = "The person's customer id." };
    private readonly Option<string?> _anonymousId = new("--anonymous-id") { Description = "An anonymous (cookie) id." };
    private readonly Option<string?> _phone = new("--phone") { Description = "The person's phone number." };
    private readonly Option<string?> _deviceId = new("--device-id") { Description = "A device id." };

    public void AddTo(Command command)
    {
        command.Options.Add(_email);
        command.Options.Add(_customerId);
        command.Options.Add(_anonymousId);
        command.Options.Add(_phone);
        command.Options.Add(_deviceId);
    }

    /// <summary>The person the options name, as every request addresses one; null when none is named and none is required.</summary>
    public PersonRef? Person(ParseResult parse, bool required = true)
    {
        var identifiers = Read(parse, required);
        return identifiers.Count == 0 ? null : new PersonRef { Identifiers = new IdentifierSet { Identifiers = { identifiers } } };
    }

    public List<Identifier> Read(ParseResult parse, bool required = true)
    {
        var identifiers = new List<Identifier>();
        Add(parse.GetValue(_customerId), IdentifierKind.CustomerId);
        Add(parse.GetValue(_email), IdentifierKind.Email);
        Add(parse.GetValue(_phone), IdentifierKind.Phone);
        Add(parse.GetValue(_anonymousId), IdentifierKind.AnonymousId);
        Add(parse.GetValue(_deviceId), IdentifierKind.DeviceId);
        if (required && identifiers.Count == 0)
        {
            throw CliException.Usage("name the person with --email, --customer-id, --anonymous-id, --phone or --device-id.");
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
