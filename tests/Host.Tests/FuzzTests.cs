using System.Text;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Journey.Consent;
using Journey.Profile;
using Journey.Recommendation;
using Journey.Testing;
using Journey.Touchpoint;
using Microsoft.Data.Sqlite;

namespace Journey.Host.Tests;

/// <summary>
/// Drives every RPC of every public service with random and malformed messages through real gRPC:
/// bytes that are no protobuf, wrong wire types, huge strings, deep nesting, invalid UTF-8,
/// out-of-range enums and timestamps, random field values. No call may end in INTERNAL or UNKNOWN,
/// the host must stay up, and a refused call must leave the stores as they were.
/// </summary>
public sealed class FuzzTests
{
    private static readonly ServiceDescriptor[] Services =
    [
        Journey.Touchpoint.V1.TouchpointService.Descriptor,
        Journey.Profile.V1.ProfileService.Descriptor,
        Journey.Consent.V1.ConsentService.Descriptor,
        Journey.Recommendation.V1.RecommendationService.Descriptor,
        Journey.Platform.V1.DeadLetterService.Descriptor,
        Journey.Platform.V1.AuditService.Descriptor,
        Journey.Platform.V1.DiagnosticsService.Descriptor,
    ];

    private static readonly Marshaller<byte[]> Raw = Marshallers.Create(b => b, b => b);

    /// <summary>
    /// All four services with no write-rate limit, and delivery held: the relay would otherwise drain
    /// outboxes while the fingerprints of the stores are taken.
    /// </summary>
    private static Task<TestPlatform> StartPlatformAsync() =>
        TestPlatform.StartAsync(
            [TouchpointModule.Definition, ProfileModule.Definition, ConsentModule.Definition, RecommendationModule.Definition],
            new Dictionary<string, string?>
            {
                ["Journey:Limits:WriteCallsPerSecond"] = "1000000",
                ["Journey:Limits:WriteBurst"] = "1000000",
                ["Journey:Events:DeliveryEnabled"] = "false",
            });

    [Fact]
    public async Task EveryRpc_WithRandomAndMalformedInput_NeverFailsInternallyOrWritesPartially()
    {
        await using var platform = await StartPlatformAsync();
        var random = new Random(20261123);
        var invoker = platform.Channel.CreateCallInvoker();
        var cases = 0;
        var failures = new List<string>();
        foreach (var service in Services)
        {
            foreach (var method in service.Methods)
            {
                foreach (var payload in Payloads(method.InputType, random))
                {
                    var before = Fingerprint(platform.DataDirectory);
                    var status = await CallAsync(invoker, service, method, payload);
                    cases++;
                    if (status.StatusCode is StatusCode.Internal or StatusCode.Unknown)
                    {
                        failures.Add($"{method.FullName}: {status.StatusCode} {status.Detail} for {Convert.ToHexString(payload.AsSpan(0, Math.Min(payload.Length, 40)))}");
                    }
                    else if (status.StatusCode != StatusCode.OK && Fingerprint(platform.DataDirectory) != before)
                    {
                        failures.Add($"{method.FullName}: refused with {status.StatusCode} but the stores changed");
                    }
                }
            }
        }

        var health = await new Grpc.Health.V1.Health.HealthClient(platform.Channel).CheckAsync(new Grpc.Health.V1.HealthCheckRequest());
        Console.WriteLine($"fuzz: {cases} cases over {Services.Sum(s => s.Methods.Count)} methods, {failures.Count} failures");
        Assert.True(failures.Count == 0, $"{failures.Count} of {cases} cases failed:\n" + string.Join('\n', failures.Take(30)));
        Assert.True(cases >= 500, $"only {cases} cases ran");
        Assert.Equal(Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving, health.Status);
    }

    /// <summary>
    /// Every Timestamp field of every request, at the edges of what the protos accept: the first instant
    /// of the year 1, one nanosecond after it, and the last nanosecond of the year 9999, alone and in
    /// every combination with the Timestamp fields beside it (both ends of a period). Each is sent in an
    /// otherwise empty request and in a valid one (a seed), so the time reaches the code behind the
    /// other fields' checks. A call must succeed or be refused with INVALID_ARGUMENT; the valid one,
    /// when refused, must name one of the times it carried (or the message holding them).
    /// </summary>
    [Fact]
    public async Task EveryTimestampField_AtTheEdgesOfItsRange_IsHandledOrRefusedNamingTheField()
    {
        await using var platform = await StartPlatformAsync();
        var seeds = await EdgeSeeds.CreateAsync(platform.Channel);
        var invoker = platform.Channel.CreateCallInvoker();
        var failures = new List<string>();
        var cases = 0;
        var sequence = 0;
        foreach (var service in Services)
        {
            foreach (var method in service.Methods)
            {
                var paths = TimestampPaths(method.InputType, []).ToList();
                if (paths.Count == 0)
                {
                    continue;
                }

                if (!seeds.Has(method))
                {
                    failures.Add($"{method.FullName}: has Timestamp fields ({string.Join(", ", paths.Select(Name))}) but no valid seed request in {nameof(EdgeSeeds)}");
                    continue;
                }

                var unchanged = await CallAsync(invoker, service, method, (await seeds.BuildAsync(method, ++sequence)).ToByteArray());
                await seeds.CleanUpAsync(method, sequence);
                if (unchanged.StatusCode != StatusCode.OK)
                {
                    failures.Add($"{method.FullName}: the seed itself is refused ({unchanged.StatusCode} {unchanged.Detail}), so its edge cases would prove nothing");
                    continue;
                }

                foreach (var assignment in EdgeAssignments(paths))
                {
                    var set = assignment.Where(a => a.Time is not null).Select(a => Name(a.Path)).ToList();
                    var described = string.Join(", ", assignment.Select(a => $"{Name(a.Path)}={(a.Time is null ? "unset" : a.Time.ToString())}"));

                    var bare = (IMessage)Activator.CreateInstance(method.InputType.ClrType)!;
                    Assign(bare, assignment);
                    var bareStatus = await CallAsync(invoker, service, method, bare.ToByteArray());
                    cases++;
                    if (bareStatus.StatusCode is StatusCode.Internal or StatusCode.Unknown)
                    {
                        failures.Add($"{method.FullName} (otherwise empty) {described}: {bareStatus.StatusCode} {bareStatus.Detail}");
                    }

                    var seeded = await seeds.BuildAsync(method, ++sequence);
                    Assign(seeded, assignment);
                    var error = await TryCallAsync(invoker, service, method, seeded.ToByteArray());
                    await seeds.CleanUpAsync(method, sequence);
                    cases++;
                    if (error is null)
                    {
                        continue;
                    }

                    var named = error.GetRpcStatus()?.GetDetail<Google.Rpc.BadRequest>()?.FieldViolations.Select(v => WithoutIndexes(v.Field)).ToList() ?? [];
                    if (error.StatusCode != StatusCode.InvalidArgument
                        || !named.Any(field => set.Any(path => WithoutIndexes(path) == field || WithoutIndexes(path).StartsWith(field + ".", StringComparison.Ordinal))))
                    {
                        failures.Add($"{method.FullName} (valid seed) {described}: {error.StatusCode} {error.Status.Detail} [{string.Join(", ", named)}]");
                    }
                }
            }
        }

        Console.WriteLine($"edge times: {cases} cases, {failures.Count} failures");
        Assert.True(failures.Count == 0, $"{failures.Count} of {cases} cases failed:\n" + string.Join('\n', failures.Take(40)));
        Assert.True(cases >= 300, $"only {cases} cases ran");
    }

    /// <summary>The first instant of the year 1, one nanosecond after it, and the last nanosecond of the year 9999.</summary>
    private static readonly Timestamp[] EdgeTimes =
    [
        new() { Seconds = -62_135_596_800, Nanos = 0 },
        new() { Seconds = -62_135_596_800, Nanos = 1 },
        new() { Seconds = 253_402_300_799, Nanos = 999_999_999 },
    ];

    /// <summary>Every Timestamp field reachable from <paramref name="type"/>, as the chain of fields that leads to it.</summary>
    private static IEnumerable<FieldDescriptor[]> TimestampPaths(MessageDescriptor type, string[] enclosing)
    {
        foreach (var field in type.Fields.InDeclarationOrder())
        {
            if (field.FieldType != FieldType.Message || field.IsMap)
            {
                continue;
            }

            if (field.MessageType.FullName == Timestamp.Descriptor.FullName)
            {
                yield return [field];
            }
            else if (!field.MessageType.File.Package.StartsWith("google.", StringComparison.Ordinal) && !enclosing.Contains(field.MessageType.FullName) && enclosing.Length < 5)
            {
                foreach (var rest in TimestampPaths(field.MessageType, [.. enclosing, type.FullName]))
                {
                    yield return [field, .. rest];
                }
            }
        }
    }

    /// <summary>
    /// For each group of Timestamp fields in one message (a period's two ends, a content's validity), every
    /// assignment of unset or an edge time to each of them, but all unset.
    /// </summary>
    private static IEnumerable<(FieldDescriptor[] Path, Timestamp? Time)[]> EdgeAssignments(List<FieldDescriptor[]> paths)
    {
        foreach (var group in paths.GroupBy(p => string.Join('.', p[..^1].Select(f => f.FullName))))
        {
            var members = group.ToList();
            var choices = (int)Math.Pow(EdgeTimes.Length + 1, members.Count);
            for (var combination = 1; combination < choices; combination++)
            {
                var assignment = new (FieldDescriptor[] Path, Timestamp? Time)[members.Count];
                var rest = combination;
                for (var i = 0; i < members.Count; i++)
                {
                    var choice = rest % (EdgeTimes.Length + 1);
                    rest /= EdgeTimes.Length + 1;
                    assignment[i] = (members[i], choice == 0 ? null : EdgeTimes[choice - 1]);
                }

                yield return assignment;
            }
        }
    }

    /// <summary>Sets (or clears) each path's Timestamp, creating the messages on the way; a repeated field's first element.</summary>
    private static void Assign(IMessage message, (FieldDescriptor[] Path, Timestamp? Time)[] assignment)
    {
        foreach (var (path, time) in assignment)
        {
            var current = message;
            foreach (var field in path[..^1])
            {
                if (field.IsRepeated)
                {
                    var list = (System.Collections.IList)field.Accessor.GetValue(current);
                    if (list.Count == 0)
                    {
                        list.Add(Activator.CreateInstance(field.MessageType.ClrType));
                    }

                    current = (IMessage)list[0]!;
                }
                else
                {
                    if (field.Accessor.GetValue(current) is not IMessage next)
                    {
                        next = (IMessage)Activator.CreateInstance(field.MessageType.ClrType)!;
                        field.Accessor.SetValue(current, next);
                    }

                    current = next;
                }
            }

            if (time is null)
            {
                path[^1].Accessor.Clear(current);
            }
            else
            {
                path[^1].Accessor.SetValue(current, time.Clone());
            }
        }
    }

    private static string Name(FieldDescriptor[] path) => string.Join('.', path.Select(f => f.IsRepeated ? f.Name + "[0]" : f.Name));

    private static string WithoutIndexes(string field) => System.Text.RegularExpressions.Regex.Replace(field, @"\[\d+\]", "");


    private static async Task<Status> CallAsync(CallInvoker invoker, ServiceDescriptor service, MethodDescriptor method, byte[] payload) =>
        (await TryCallAsync(invoker, service, method, payload))?.Status ?? Status.DefaultSuccess;

    /// <summary>Calls <paramref name="method"/> with raw bytes; null on success, else the error with its trailers.</summary>
    private static async Task<RpcException?> TryCallAsync(CallInvoker invoker, ServiceDescriptor service, MethodDescriptor method, byte[] payload)
    {
        try
        {
            if (method.IsClientStreaming)
            {
                var streaming = new Method<byte[], byte[]>(MethodType.ClientStreaming, service.FullName, method.Name, Raw, Raw);
                using var call = invoker.AsyncClientStreamingCall(streaming, null, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(10)));
                await call.RequestStream.WriteAsync(payload);
                await call.RequestStream.CompleteAsync();
                await call.ResponseAsync;
            }
            else if (method.IsServerStreaming)
            {
                var streaming = new Method<byte[], byte[]>(MethodType.ServerStreaming, service.FullName, method.Name, Raw, Raw);
                using var call = invoker.AsyncServerStreamingCall(streaming, null, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(2)), payload);
                while (await call.ResponseStream.MoveNext(CancellationToken.None))
                {
                }
            }
            else
            {
                var unary = new Method<byte[], byte[]>(MethodType.Unary, service.FullName, method.Name, Raw, Raw);
                await invoker.AsyncUnaryCall(unary, null, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(10)), payload);
            }

            return null;
        }
        catch (RpcException ex)
        {
            return ex;
        }
    }

    /// <summary>The cases for one request type: malformed bytes first, then random messages built from the descriptor.</summary>
    private static IEnumerable<byte[]> Payloads(MessageDescriptor type, Random random)
    {
        yield return [];
        yield return [0xFF, 0xFF, 0xFF, 0xFF];
        yield return RandomBytes(random, 64);
        yield return RandomBytes(random, 4096);
        // Field 1 as a string of invalid UTF-8.
        yield return [0x0A, 0x04, 0xC3, 0x28, 0xA0, 0xA1];
        // Field 1 declared with a length far beyond the message.
        yield return [0x0A, 0xFF, 0xFF, 0xFF, 0x0F, 0x00];
        // Deep nesting: field 1 wrapping itself 200 times.
        yield return Nest(200);
        for (var i = 0; i < 30; i++)
        {
            var message = (IMessage)Activator.CreateInstance(type.ClrType)!;
            Fill(message, random, depth: 0);
            yield return message.ToByteArray();
        }
    }

    private static void Fill(IMessage message, Random random, int depth)
    {
        foreach (var field in message.Descriptor.Fields.InDeclarationOrder())
        {
            if (random.Next(3) == 0)
            {
                continue;
            }

            if (field.IsMap)
            {
                var map = (System.Collections.IDictionary)field.Accessor.GetValue(message);
                for (var i = random.Next(40); i > 0; i--)
                {
                    map[RandomString(random)] = RandomString(random);
                }

                continue;
            }

            if (field.IsRepeated)
            {
                var list = (System.Collections.IList)field.Accessor.GetValue(message);
                for (var i = random.Next(4); i > 0; i--)
                {
                    if (Value(field, random, depth) is { } item)
                    {
                        list.Add(item);
                    }
                }

                continue;
            }

            if (Value(field, random, depth) is { } value)
            {
                field.Accessor.SetValue(message, value);
            }
        }
    }

    private static object? Value(FieldDescriptor field, Random random, int depth) => field.FieldType switch
    {
        FieldType.String => RandomString(random),
        FieldType.Bytes => ByteString.CopyFrom(RandomBytes(random, random.Next(0, 200_000))),
        FieldType.Bool => random.Next(2) == 0,
        FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32 => random.Next(4) switch { 0 => int.MinValue, 1 => int.MaxValue, 2 => 0, _ => random.Next(-5, 1200) },
        FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64 => random.Next(3) switch { 0 => long.MinValue, 1 => long.MaxValue, _ => (long)random.Next(-5, 100) },
        FieldType.UInt32 or FieldType.Fixed32 => (uint)random.Next(),
        FieldType.UInt64 or FieldType.Fixed64 => (ulong)random.NextInt64(),
        FieldType.Double => random.Next(4) switch { 0 => double.NaN, 1 => double.PositiveInfinity, 2 => -1.0, _ => random.NextDouble() * 10 },
        FieldType.Float => (float)random.NextDouble(),
        FieldType.Enum => random.Next(3) == 0 ? 99 : field.EnumType.Values[random.Next(field.EnumType.Values.Count)].Number,
        FieldType.Message when field.MessageType.FullName == Timestamp.Descriptor.FullName => random.Next(4) switch
        {
            0 => new Timestamp { Seconds = long.MaxValue, Nanos = -5 },
            1 => Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddYears(-random.Next(0, 3))),
            2 => EdgeTimes[random.Next(EdgeTimes.Length)].Clone(),
            _ => new Timestamp { Seconds = random.NextInt64(-100_000_000_000, 100_000_000_000) },
        },
        FieldType.Message when field.MessageType.FullName == Duration.Descriptor.FullName => new Duration { Seconds = random.NextInt64(-1_000_000_000, 1_000_000_000_000), Nanos = random.Next(-2, 2) },
        FieldType.Message when depth < 3 => Nested(field.MessageType, random, depth + 1),
        _ => null,
    };

    private static IMessage Nested(MessageDescriptor type, Random random, int depth)
    {
        var message = (IMessage)Activator.CreateInstance(type.ClrType)!;
        Fill(message, random, depth);
        return message;
    }

    private static string RandomString(Random random) => random.Next(6) switch
    {
        0 => "",
        1 => new string('x', random.Next(1_000, 300_000)),
        2 => "touchpoints/" + (char)random.Next('a', 'z') + "é\u0000\uFFFF",
        3 => "purposes/personalisation",
        4 => "'; DROP TABLE touchpoints; --",
        _ => Encoding.UTF8.GetString(RandomBytes(random, random.Next(1, 40))),
    };

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    private static byte[] Nest(int levels)
    {
        byte[] inner = [];
        for (var i = 0; i < levels; i++)
        {
            var prefix = new List<byte> { 0x0A };
            var length = inner.Length;
            do
            {
                var b = (byte)(length & 0x7F);
                length >>= 7;
                prefix.Add(length > 0 ? (byte)(b | 0x80) : b);
            }
            while (length > 0);
            inner = [.. prefix, .. inner];
        }

        return inner;
    }

    /// <summary>Row counts of every table in every service store, but the audit trail (refusals of sensitive calls are audited by design) and the bus.</summary>
    private static string Fingerprint(string dataDirectory)
    {
        var parts = new List<string>();
        foreach (var file in Directory.GetFiles(dataDirectory, "*.db").Where(f => Path.GetFileName(f) != "bus.db").Order())
        {
            using var connection = new SqliteConnection($"Data Source={file};Mode=ReadOnly;Pooling=False");
            connection.Open();
            using var tables = connection.CreateCommand();
            tables.CommandText = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN ('audit', 'sqlite_sequence') ORDER BY name";
            var names = new List<string>();
            using (var reader = tables.ExecuteReader())
            {
                while (reader.Read())
                {
                    names.Add(reader.GetString(0));
                }
            }

            foreach (var name in names)
            {
                using var count = connection.CreateCommand();
                count.CommandText = $"SELECT COUNT(*) FROM \"{name}\"";
                parts.Add($"{Path.GetFileName(file)}:{name}={count.ExecuteScalar()}");
            }
        }

        return string.Join(';', parts);
    }
}
