using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using Google.Protobuf;
using Journey.Cli.Output;
using Journey.Touchpoint.V1;

namespace Journey.Cli.Commands;

/// <summary><c>journey interactions record --file x.jsonl</c>: streams a JSON-lines file in batches.</summary>
internal static class InteractionCommands
{
    private static readonly JsonParser Parser = new(JsonParser.Settings.Default);

    public static Command Create(Func<ParseResult, CommandContext> context)
    {
        var command = new Command("interactions", "Record interactions.");
        var file = new Option<string>("--file", "-f") { Description = "A JSON-lines file: one Interaction in proto JSON per line.", Required = true };
        var batch = new Option<int>("--batch-size") { Description = "Interactions per stream message (default 500).", DefaultValueFactory = _ => 500 };
        batch.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 1 or > 10_000)
            {
                r.AddError("--batch-size must be between 1 and 10000.");
            }
        });
        var record = new Command("record", "Stream the interactions of a JSON-lines file; prints accepted, duplicate and rejected lines.") { file, batch };
        record.SetContextAction(context, (parse, c, ct) => RecordAsync(c, parse.GetRequiredValue(file), parse.GetValue(batch), ct));
        command.Subcommands.Add(record);
        return command;
    }

    /// <summary>A line that was not stored: its line number, and why.</summary>
    public sealed record Rejection(int Line, string InteractionId, string Field, string Reason);

    /// <summary>What happened to a file's lines.</summary>
    public sealed record Summary(int Lines, long Accepted, long Duplicates, long Rejected, IReadOnlyList<Rejection> Listed);

    private static async Task<int> RecordAsync(CommandContext c, string path, int batchSize, CancellationToken ct)
    {
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw CliException.Input($"cannot read '{path}': {e.Message}");
        }

        await using var _ = stream;
        using var reader = new StreamReader(stream);
        var progress = c.Environment.InteractiveError ? new Progress(c.Error, stream.Length) : null;
        var local = new List<Rejection>();
        var sentLines = new List<int>();
        var batch = new StreamInteractionsRequest();
        var lineNumber = 0;
        Grpc.Core.AsyncClientStreamingCall<StreamInteractionsRequest, StreamInteractionsResponse>? call = null;
        try
        {
            string? line;
            while ((line = await reader.ReadLineAsync(ct)) is not null)
            {
                lineNumber++;
                if (string.IsNullOrWhiteSpace(line))
                {
                    continue;
                }

                try
                {
                    batch.Interactions.Add(Parser.Parse<Interaction>(line));
                    sentLines.Add(lineNumber);
                }
                catch (Exception e) when (e is InvalidJsonException or InvalidProtocolBufferException)
                {
                    local.Add(new Rejection(lineNumber, "", "", $"not a valid Interaction in JSON: {e.Message}"));
                }

                if (batch.Interactions.Count >= batchSize)
                {
                    call ??= new TouchpointService.TouchpointServiceClient(c.Channel).StreamInteractions(c.Call(ct));
                    await call.RequestStream.WriteAsync(batch, ct);
                    batch = new StreamInteractionsRequest();
                    progress?.Report(stream.Position, lineNumber);
                }
            }

            StreamInteractionsResponse response;
            if (sentLines.Count == 0)
            {
                response = new StreamInteractionsResponse();
            }
            else
            {
                call ??= new TouchpointService.TouchpointServiceClient(c.Channel).StreamInteractions(c.Call(ct));
                if (batch.Interactions.Count > 0)
                {
                    await call.RequestStream.WriteAsync(batch, ct);
                }

                await call.RequestStream.CompleteAsync();
                response = await call.ResponseAsync;
            }

            progress?.Done(lineNumber);
            var listed = local
                .Concat(response.Rejected.Select(r => new Rejection(r.Index >= 0 && r.Index < sentLines.Count ? sentLines[r.Index] : 0, r.InteractionId, r.Field, r.Reason)))
                .OrderBy(r => r.Line)
                .ToList();
            var summary = new Summary(lineNumber, response.AcceptedCount, response.DuplicateCount, response.RejectedCount + local.Count, listed);
            await WriteAsync(c, summary);
            return summary.Rejected == 0 ? ExitCodes.Ok : ExitCodes.InputFile;
        }
        finally
        {
            call?.Dispose();
        }
    }

    internal static async Task WriteAsync(CommandContext c, Summary summary)
    {
        if (c.Json)
        {
            var document = new
            {
                lines = summary.Lines,
                accepted = summary.Accepted,
                duplicates = summary.Duplicates,
                rejected = summary.Rejected,
                rejections = summary.Listed.Select(r => new { line = r.Line, interactionId = r.InteractionId, field = r.Field, reason = r.Reason }),
            };
            await c.Out.WriteLineAsync(JsonSerializer.Serialize(document));
            return;
        }

        await c.Out.WriteLineAsync($"{summary.Lines} lines: {summary.Accepted} accepted, {summary.Duplicates} duplicate, {summary.Rejected} rejected");
        if (summary.Listed.Count > 0)
        {
            var table = new Table("line", "interaction", "field", "reason");
            foreach (var r in summary.Listed)
            {
                table.Add(r.Line, r.InteractionId, r.Field, r.Reason);
            }

            table.Write(c.Out);
            if (summary.Listed.Count < summary.Rejected)
            {
                await c.Out.WriteLineAsync($"({summary.Rejected - summary.Listed.Count} more rejected lines not listed by the server)");
            }
        }
    }

    /// <summary>A one-line progress bar on a terminal's stderr, redrawn at most ten times a second.</summary>
    private sealed class Progress(TextWriter error, long total)
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private long _lastDraw = -1000;

        public void Report(long position, int lines)
        {
            if (_clock.ElapsedMilliseconds - _lastDraw < 100)
            {
                return;
            }

            _lastDraw = _clock.ElapsedMilliseconds;
            var share = total <= 0 ? 1 : Math.Clamp((double)position / total, 0, 1);
            var filled = (int)(share * 30);
            error.Write($"\r[{new string('#', filled)}{new string('.', 30 - filled)}] {share * 100,5:0.0}%  {lines:N0} lines");
        }

        public void Done(int lines)
        {
            _lastDraw = -1000;
            Report(total, lines);
            error.WriteLine();
        }
    }
}
