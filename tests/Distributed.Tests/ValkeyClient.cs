using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Journey.Distributed.Tests;

/// <summary>One entry of a stream: its id and its field/value pairs.</summary>
public sealed record StreamEntry(string Id, IReadOnlyDictionary<string, string> Fields);

/// <summary>
/// The few Valkey commands the scenarios read the broker with (AUTH, XLEN, XRANGE, XREVRANGE, KEYS),
/// over one connection, in RESP2: the scenarios look at what Dapr's Redis Streams component wrote
/// (one stream per topic, the CloudEvent under field <c>data</c>), not at what the services report.
/// </summary>
public sealed class ValkeyClient : IAsyncDisposable
{
    private readonly TcpClient _tcp;
    private readonly Stream _stream;
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;

    private ValkeyClient(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
    }

    /// <summary>Connects to <paramref name="hostPort"/> and authenticates when <paramref name="password"/> is given.</summary>
    public static async Task<ValkeyClient> ConnectAsync(string hostPort, string? password, CancellationToken cancellationToken = default)
    {
        var colon = hostPort.LastIndexOf(':');
        var tcp = new TcpClient { NoDelay = true };
        try
        {
            await tcp.ConnectAsync(hostPort[..colon], int.Parse(hostPort[(colon + 1)..], CultureInfo.InvariantCulture), cancellationToken);
            var client = new ValkeyClient(tcp);
            if (!string.IsNullOrEmpty(password))
            {
                await client.CommandAsync(cancellationToken, "AUTH", password);
            }

            return client;
        }
        catch
        {
            tcp.Dispose();
            throw;
        }
    }

    /// <summary>The number of entries in stream <paramref name="key"/>; 0 when it does not exist.</summary>
    public async Task<long> XLenAsync(string key, CancellationToken cancellationToken = default) =>
        (long)(await CommandAsync(cancellationToken, "XLEN", key))!;

    /// <summary>Entries of stream <paramref name="key"/> from <paramref name="start"/> to <paramref name="end"/> (XRANGE syntax, <c>(</c> for exclusive), at most <paramref name="count"/>.</summary>
    public async Task<IReadOnlyList<StreamEntry>> XRangeAsync(string key, string start, string end, int count, CancellationToken cancellationToken = default) =>
        Entries(await CommandAsync(cancellationToken, "XRANGE", key, start, end, "COUNT", count.ToString(CultureInfo.InvariantCulture)));

    /// <summary>The id of the last entry of stream <paramref name="key"/>, or <c>0-0</c> when it has none.</summary>
    public async Task<string> LastIdAsync(string key, CancellationToken cancellationToken = default)
    {
        var last = Entries(await CommandAsync(cancellationToken, "XREVRANGE", key, "+", "-", "COUNT", "1"));
        return last.Count == 0 ? "0-0" : last[0].Id;
    }

    /// <summary>The keys matching <paramref name="pattern"/> (KEYS: fine on a test broker, never on a production one).</summary>
    public async Task<IReadOnlyList<string>> KeysAsync(string pattern, CancellationToken cancellationToken = default) =>
        ((object?[])(await CommandAsync(cancellationToken, "KEYS", pattern))!).Select(k => (string)k!).ToList();

    /// <summary>
    /// Sends one command and reads its reply: a string for simple and bulk strings, a long for
    /// integers, an object array for arrays, null for nil. An error reply throws <see cref="ValkeyException"/>.
    /// </summary>
    public async Task<object?> CommandAsync(CancellationToken cancellationToken, params string[] arguments)
    {
        var request = new StringBuilder().Append('*').Append(arguments.Length).Append("\r\n");
        foreach (var argument in arguments)
        {
            request.Append('$').Append(Encoding.UTF8.GetByteCount(argument)).Append("\r\n").Append(argument).Append("\r\n");
        }

        await _stream.WriteAsync(Encoding.UTF8.GetBytes(request.ToString()), cancellationToken);
        return await ReadReplyAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync();
        _tcp.Dispose();
    }

    private static List<StreamEntry> Entries(object? reply)
    {
        var entries = new List<StreamEntry>();
        foreach (var item in (object?[]?)reply ?? [])
        {
            var pair = (object?[])item!;
            var values = (object?[])pair[1]!;
            var fields = new Dictionary<string, string>(StringComparer.Ordinal);
            for (var i = 0; i + 1 < values.Length; i += 2)
            {
                fields[(string)values[i]!] = (string)values[i + 1]!;
            }

            entries.Add(new StreamEntry((string)pair[0]!, fields));
        }

        return entries;
    }

    private async Task<object?> ReadReplyAsync(CancellationToken cancellationToken)
    {
        var line = await ReadLineAsync(cancellationToken);
        var body = line[1..];
        switch (line[0])
        {
            case '+':
                return body;
            case '-':
                throw new ValkeyException(body);
            case ':':
                return long.Parse(body, CultureInfo.InvariantCulture);
            case '$':
                var length = int.Parse(body, CultureInfo.InvariantCulture);
                if (length < 0)
                {
                    return null;
                }

                var bytes = await ReadExactlyAsync(length + 2, cancellationToken);
                return Encoding.UTF8.GetString(bytes, 0, length);
            case '*':
                var count = int.Parse(body, CultureInfo.InvariantCulture);
                if (count < 0)
                {
                    return null;
                }

                var items = new object?[count];
                for (var i = 0; i < count; i++)
                {
                    items[i] = await ReadReplyAsync(cancellationToken);
                }

                return items;
            default:
                throw new ValkeyException($"unexpected reply type '{line[0]}'");
        }
    }

    private async Task<string> ReadLineAsync(CancellationToken cancellationToken)
    {
        var line = new List<byte>();
        while (true)
        {
            if (_start == _end)
            {
                await FillAsync(cancellationToken);
            }

            var b = _buffer[_start++];
            if (b == '\n' && line.Count > 0 && line[^1] == '\r')
            {
                return Encoding.UTF8.GetString(line.ToArray(), 0, line.Count - 1);
            }

            line.Add(b);
        }
    }

    private async Task<byte[]> ReadExactlyAsync(int count, CancellationToken cancellationToken)
    {
        var result = new byte[count];
        var copied = 0;
        while (copied < count)
        {
            if (_start == _end)
            {
                await FillAsync(cancellationToken);
            }

            var chunk = Math.Min(count - copied, _end - _start);
            Array.Copy(_buffer, _start, result, copied, chunk);
            _start += chunk;
            copied += chunk;
        }

        return result;
    }

    private async Task FillAsync(CancellationToken cancellationToken)
    {
        _start = 0;
        _end = await _stream.ReadAsync(_buffer, cancellationToken);
        if (_end == 0)
        {
            throw new ValkeyException("the server closed the connection");
        }
    }
}

/// <summary>An error reply, or a broken connection.</summary>
public sealed class ValkeyException(string message) : Exception(message);
