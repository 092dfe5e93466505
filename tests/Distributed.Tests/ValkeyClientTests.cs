using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Journey.Distributed.Tests;

/// <summary>The client against a scripted server on loopback: each exchange is a request it must send and the reply it gets.</summary>
public sealed class ValkeyClientTests
{
    [Fact]
    public async Task XRange_WhenThePasswordIsGiven_AuthenticatesFirstAndReadsNestedEntries()
    {
        // A bulk string may hold CRLF and multi-byte characters: it is read by its byte length.
        const string Data = "{\"id\":\"e1\",\"text\":\"caf\u00e9\r\nline\"}";
        await using var server = FakeServer.Start(
            ("*2\r\n$4\r\nAUTH\r\n$6\r\nsecret\r\n", "+OK\r\n"),
            ("*6\r\n$6\r\nXRANGE\r\n$20\r\ninteraction-recorded\r\n$4\r\n(1-0\r\n$1\r\n+\r\n$5\r\nCOUNT\r\n$2\r\n10\r\n",
                "*2\r\n" +
                $"*2\r\n$3\r\n2-0\r\n*2\r\n$4\r\ndata\r\n${Encoding.UTF8.GetByteCount(Data)}\r\n{Data}\r\n" +
                "*2\r\n$3\r\n3-0\r\n*4\r\n$4\r\ndata\r\n$2\r\n{}\r\n$8\r\nmetadata\r\n$-1\r\n"));
        await using var client = await ValkeyClient.ConnectAsync(server.Address, "secret");

        var entries = await client.XRangeAsync("interaction-recorded", "(1-0", "+", 10);

        Assert.Equal(["2-0", "3-0"], entries.Select(e => e.Id));
        Assert.Equal(Data, entries[0].Fields["data"]);
        Assert.Equal("{}", entries[1].Fields["data"]);
        await server.Completed;
    }

    [Fact]
    public async Task Commands_WhenTheServerAnswersIntegersArraysAndNothing_ReadEachShape()
    {
        await using var server = FakeServer.Start(
            ("*2\r\n$4\r\nXLEN\r\n$3\r\nabc\r\n", ":42\r\n"),
            ("*2\r\n$4\r\nKEYS\r\n$13\r\n*.dead-letter\r\n", "*2\r\n$35\r\nprofile.consent-changed.dead-letter\r\n$3\r\nx.y\r\n"),
            ("*6\r\n$9\r\nXREVRANGE\r\n$5\r\nempty\r\n$1\r\n+\r\n$1\r\n-\r\n$5\r\nCOUNT\r\n$1\r\n1\r\n", "*0\r\n"));
        await using var client = await ValkeyClient.ConnectAsync(server.Address, null);

        var length = await client.XLenAsync("abc");
        var keys = await client.KeysAsync("*.dead-letter");
        var last = await client.LastIdAsync("empty");

        Assert.Equal((42L, "0-0"), (length, last));
        Assert.Equal(["profile.consent-changed.dead-letter", "x.y"], keys);
        await server.Completed;
    }

    [Fact]
    public async Task Command_WhenTheServerAnswersAnError_ThrowsItsText()
    {
        await using var server = FakeServer.Start(("*2\r\n$4\r\nAUTH\r\n$5\r\nwrong\r\n", "-WRONGPASS invalid username-password pair\r\n"));

        var error = await Assert.ThrowsAsync<ValkeyException>(() => ValkeyClient.ConnectAsync(server.Address, "wrong"));

        Assert.Equal("WRONGPASS invalid username-password pair", error.Message);
    }

    /// <summary>Accepts one connection and plays the exchanges in order; <see cref="Completed"/> fails if a request differs.</summary>
    private sealed class FakeServer : IAsyncDisposable
    {
        private readonly TcpListener _listener;

        private FakeServer(TcpListener listener, (string Request, string Reply)[] exchanges)
        {
            _listener = listener;
            Completed = PlayAsync(exchanges);
        }

        public string Address => $"127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

        public Task Completed { get; }

        public static FakeServer Start(params (string Request, string Reply)[] exchanges)
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return new FakeServer(listener, exchanges);
        }

        public async ValueTask DisposeAsync()
        {
            _listener.Stop();
            try
            {
                await Completed;
            }
            catch (Exception e) when (e is SocketException or IOException or ObjectDisposedException)
            {
                // The client went away first (the error test); nothing left to check.
            }

            _listener.Dispose();
        }

        private async Task PlayAsync((string Request, string Reply)[] exchanges)
        {
            using var socket = await _listener.AcceptTcpClientAsync();
            var stream = socket.GetStream();
            foreach (var (request, reply) in exchanges)
            {
                var expected = Encoding.UTF8.GetBytes(request);
                var received = new byte[expected.Length];
                await stream.ReadExactlyAsync(received);
                Assert.Equal(request, Encoding.UTF8.GetString(received));
                // In two writes, so the client has to read one reply across reads.
                var bytes = Encoding.UTF8.GetBytes(reply);
                await stream.WriteAsync(bytes.AsMemory(0, bytes.Length / 2));
                await stream.FlushAsync();
                await stream.WriteAsync(bytes.AsMemory(bytes.Length / 2));
            }
        }
    }
}
