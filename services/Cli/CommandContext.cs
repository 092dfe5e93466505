using Google.Protobuf;
using Google.Rpc;
using Grpc.Core;
using Grpc.Net.Client;

namespace Journey.Cli;

/// <summary>One invocation: the resolved global options, the writers, and a channel made on first use.</summary>
public sealed class CommandContext(Globals globals, TextWriter stdout, TextWriter stderr, CliEnvironment environment) : IDisposable
{
    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default.WithFormatEnumsAsIntegers(false));
    private GrpcChannel? _channel;

    public Globals Globals { get; } = globals;

    public TextWriter Out { get; } = stdout;

    public TextWriter Error { get; } = stderr;

    public CliEnvironment Environment { get; } = environment;

    public bool Json => Globals.Output == OutputFormat.Json;

    public GrpcChannel Channel => _channel ??= CreateChannel();

    /// <summary>Call options with the deadline; every call carries one.</summary>
    public CallOptions Call(CancellationToken cancellationToken) =>
        new(deadline: DateTime.UtcNow + Globals.Timeout, cancellationToken: cancellationToken);

    /// <summary>Runs a command body, turning a gRPC failure into one line on stderr and its exit code.</summary>
    public async Task<int> RunAsync(Func<Task<int>> body)
    {
        try
        {
            return await body();
        }
        catch (RpcException e)
        {
            var (code, line) = Describe(e);
            await Error.WriteLineAsync(line);
            return code;
        }
        finally
        {
            Dispose();
        }
    }

    public void WriteJson(IMessage message) => Out.WriteLine(Formatter.Format(message));

    /// <summary>Writes a reply: the message as one JSON document with <c>--output json</c>, else <paramref name="table"/>; the command succeeded.</summary>
    public int Reply(IMessage response, Action table)
    {
        if (Json)
        {
            WriteJson(response);
        }
        else
        {
            table();
        }

        return ExitCodes.Ok;
    }

    /// <summary>Writes a page of a listing as <see cref="Reply"/> does; as a table, the next page's token follows on stderr.</summary>
    public int ReplyPage(IMessage response, Func<Output.Table> table, string nextPageToken) => Reply(response, () =>
    {
        table().Write(Out);
        Output.Render.NextPage(this, nextPageToken);
    });

    public static string FormatJson(IMessage message) => Formatter.Format(message);

    /// <summary>The exit code and the one-line message for a failed call.</summary>
    public (int ExitCode, string Message) Describe(RpcException e)
    {
        var status = StatusName(e.StatusCode);
        var detail = string.IsNullOrWhiteSpace(e.Status.Detail) ? "" : $": {e.Status.Detail}";
        switch (e.StatusCode)
        {
            case StatusCode.Unauthenticated when Globals.Token is null:
                return (ExitCodes.Unauthenticated, $"error: {status}{detail}. No token was given: pass --token or set JOURNEY_TOKEN (a local host prints one: dotnet run --project services/Host -- token).");
            case StatusCode.Unauthenticated:
                return (ExitCodes.Unauthenticated, $"error: {status}{detail}. The token was refused: it may be expired or signed by another host.");
            case StatusCode.PermissionDenied:
                return (ExitCodes.Unauthenticated, $"error: {status}{detail}. The token lacks the scope this command needs.");
            case StatusCode.Unavailable:
                var cause = Innermost(e.Status.DebugException)?.Message ?? e.Status.Detail;
                return (ExitCodes.Unavailable, $"error: {status}: cannot reach {Globals.Address} ({cause}).");
            case StatusCode.DeadlineExceeded:
                return (ExitCodes.Unavailable, $"error: {status}: {Globals.Address} did not answer within {Globals.Timeout.TotalSeconds:0.###} s (raise --timeout).");
            default:
                return (ExitCodes.Server, $"error: {status}{detail}{Violations(e)}");
        }
    }

    /// <summary>The status as the gRPC spec spells it, e.g. INVALID_ARGUMENT.</summary>
    public static string StatusName(StatusCode code) => code switch
    {
        StatusCode.OK => "OK",
        StatusCode.InvalidArgument => "INVALID_ARGUMENT",
        StatusCode.DeadlineExceeded => "DEADLINE_EXCEEDED",
        StatusCode.NotFound => "NOT_FOUND",
        StatusCode.AlreadyExists => "ALREADY_EXISTS",
        StatusCode.PermissionDenied => "PERMISSION_DENIED",
        StatusCode.ResourceExhausted => "RESOURCE_EXHAUSTED",
        StatusCode.FailedPrecondition => "FAILED_PRECONDITION",
        StatusCode.OutOfRange => "OUT_OF_RANGE",
        StatusCode.Unimplemented => "UNIMPLEMENTED",
        StatusCode.Unavailable => "UNAVAILABLE",
        StatusCode.DataLoss => "DATA_LOSS",
        StatusCode.Unauthenticated => "UNAUTHENTICATED",
        _ => code.ToString().ToUpperInvariant(),
    };

    /// <summary>The BadRequest field violations of a status, as " [field: rule; ...]", or empty.</summary>
    public static string Violations(RpcException e)
    {
        var badRequest = e.GetRpcStatus()?.GetDetail<BadRequest>();
        if (badRequest is null || badRequest.FieldViolations.Count == 0)
        {
            return "";
        }

        return " [" + string.Join("; ", badRequest.FieldViolations.Select(v => $"{v.Field}: {v.Description}")) + "]";
    }

    private static Exception? Innermost(Exception? exception)
    {
        while (exception?.InnerException is not null)
        {
            exception = exception.InnerException;
        }

        return exception;
    }

    public void Dispose()
    {
        _channel?.Dispose();
        _channel = null;
    }

    private GrpcChannel CreateChannel()
    {
        var options = new GrpcChannelOptions { MaxReceiveMessageSize = 64 * 1024 * 1024 };
        if (Globals.Token is { } token)
        {
            var credentials = CallCredentials.FromInterceptor((_, metadata) =>
            {
                metadata.Add("authorization", $"Bearer {token}");
                return Task.CompletedTask;
            });
            options.Credentials = ChannelCredentials.Create(Globals.Address.Scheme == Uri.UriSchemeHttps ? ChannelCredentials.SecureSsl : ChannelCredentials.Insecure, credentials);
            // A plain-text loopback host is the local default; tokens over it are the operator's choice.
            options.UnsafeUseInsecureChannelCallCredentials = true;
        }

        return GrpcChannel.ForAddress(Globals.Address, options);
    }
}
