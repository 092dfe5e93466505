using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using Journey.Cli.Input;
using Journey.Cli.Output;

namespace Journey.Cli.Commands;

/// <summary>Sends catalog entries one by one and reports created, existing and rejected entries with their lines.</summary>
internal static class CatalogImport
{
    public enum Outcome
    {
        Created,
        Updated,
        Existing,
    }

    public static async Task<int> RunAsync<T>(CommandContext context, IReadOnlyList<CatalogEntry<T>> entries, Func<T, Task<Outcome>> send)
        where T : class, IMessage<T>, new()
    {
        var counts = new Dictionary<Outcome, int> { [Outcome.Created] = 0, [Outcome.Updated] = 0, [Outcome.Existing] = 0 };
        var rejected = new List<(string Where, string Reason)>();
        foreach (var entry in entries)
        {
            if (entry.Message is null)
            {
                rejected.Add((entry.Where, entry.Error ?? "unreadable"));
                continue;
            }

            try
            {
                counts[await send(entry.Message)]++;
            }
            catch (RpcException e) when (e.StatusCode is StatusCode.InvalidArgument or StatusCode.FailedPrecondition or StatusCode.NotFound or StatusCode.Aborted)
            {
                rejected.Add((entry.Where, $"{CommandContext.StatusName(e.StatusCode)}: {e.Status.Detail}{CommandContext.Violations(e)}"));
            }
        }

        if (context.Json)
        {
            var document = new Dictionary<string, object>
            {
                ["created"] = counts[Outcome.Created],
                ["updated"] = counts[Outcome.Updated],
                ["existing"] = counts[Outcome.Existing],
                ["rejected"] = rejected.Select(r => new Dictionary<string, string> { ["where"] = r.Where, ["reason"] = r.Reason }).ToList(),
            };
            await context.Out.WriteLineAsync(JsonSerializer.Serialize(document));
        }
        else
        {
            await context.Out.WriteLineAsync($"created {counts[Outcome.Created]}, updated {counts[Outcome.Updated]}, already present {counts[Outcome.Existing]}, rejected {rejected.Count}");
            if (rejected.Count > 0)
            {
                var table = new Table("where", "reason");
                foreach (var (where, reason) in rejected)
                {
                    table.Add(where, reason);
                }

                table.Write(context.Out);
            }
        }

        return rejected.Count == 0 ? ExitCodes.Ok : ExitCodes.InputFile;
    }
}
