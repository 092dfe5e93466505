using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace Journey.Testing;

/// <summary>
/// A real OpenID Connect issuer on loopback for the tests: panva's oidc-provider from tests/tooling
/// (tests/tooling/oidc-issuer.mjs), with one public client that must use PKCE, JWT access tokens for
/// one audience and a login page that takes any name. The port is chosen before it starts, so a host
/// can be started with it as its authority first and the issuer then told the host's callback.
/// </summary>
public sealed class OidcIssuer : IAsyncDisposable
{
    private readonly Process _process;

    private OidcIssuer(Process process, string address)
    {
        _process = process;
        Address = address;
    }

    /// <summary>The issuer's address (its <c>iss</c>), e.g. <c>http://localhost:41234</c>.</summary>
    public string Address { get; }

    /// <summary>A free loopback port to give <see cref="StartAsync"/>, and the address it will have.</summary>
    public static (int Port, string Address) Reserve(string hostName = "127.0.0.1")
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        return (port, $"http://{hostName}:{port}");
    }

    /// <summary>Starts the issuer on <paramref name="port"/>; it grants every person <paramref name="grantedScopes"/> for <paramref name="audience"/>.</summary>
    public static async Task<OidcIssuer> StartAsync(int port, string hostName, string clientId, string redirectUri, string audience, IEnumerable<string> grantedScopes)
    {
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = Path.Combine(Repository.Root, "tests", "tooling"),
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add("oidc-issuer.mjs");
        start.Environment["JOURNEY_OIDC_PORT"] = port.ToString(CultureInfo.InvariantCulture);
        start.Environment["JOURNEY_OIDC_HOST"] = hostName;
        start.Environment["JOURNEY_OIDC_CLIENT_ID"] = clientId;
        start.Environment["JOURNEY_OIDC_REDIRECT_URI"] = redirectUri;
        start.Environment["JOURNEY_OIDC_AUDIENCE"] = audience;
        start.Environment["JOURNEY_OIDC_GRANTED"] = string.Join(' ', grantedScopes);
        var process = Process.Start(start) ?? throw new InvalidOperationException("node did not start");
        var stderr = process.StandardError.ReadToEndAsync();
        using var expiry = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            while (await process.StandardOutput.ReadLineAsync(expiry.Token) is { } line)
            {
                if (line.StartsWith('{'))
                {
                    var address = JsonDocument.Parse(line).RootElement.GetProperty("issuer").GetString()!;
                    return new OidcIssuer(process, address);
                }
            }
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
        }

        await process.WaitForExitAsync();
        throw new InvalidOperationException($"the OpenID Connect issuer did not start: {await stderr}");
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.StandardInput.Close();
            using var expiry = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try
            {
                await _process.WaitForExitAsync(expiry.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
            }
        }

        _process.Dispose();
    }
}
