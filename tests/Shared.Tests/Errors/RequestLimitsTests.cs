using System.Diagnostics;
using Google.Protobuf;
using Google.Rpc;
using Grpc.Core;
using Journey.Shared.Errors;
using Journey.Shared.Security;
using Journey.Shared.Tests.Probe;
using Journey.Testing;

namespace Journey.Shared.Tests.Errors;

public sealed class RequestLimitsTests
{
    private static readonly RequestLimits Defaults = new(new LimitsOptions());

    [Fact]
    public void Defaults_AreAboveEveryMaximumTheProtosDocument()
    {
        var options = new LimitsOptions();

        Assert.Equal(100_000, options.MaxStringLength);
        Assert.Equal(1024 * 1024, options.MaxBytesLength);
        Assert.Equal(1000, options.MaxRepeatedCount);
        Assert.Equal(100, options.MaxMapEntries);
        Assert.Equal(32, options.MaxDepth);
        Assert.Equal(250_000, options.MaxValues);
    }

    [Fact]
    public void Check_WhenRequestAtTheDocumentedMaxima_PassesTheDefaults()
    {
        // A batch of 1,000 interactions with 32 properties each (keys 64, values 512 characters),
        // 10 tags, a 100,000-character text and a segment-like tree 20 levels deep.
        var request = Batch(1000, properties: 32, valueLength: 512);
        request.Text = new string('p', 100_000);
        request.Data = ByteString.CopyFrom(new byte[64 * 1024]);
        request.Node = Chain(20);

        Assert.Null(Defaults.Check(request));
    }

    [Theory]
    [MemberData(nameof(Oversized))]
    public void Check_WhenAFieldIsOverItsCeiling_NamesTheFieldPathTheLimitAndTheSetting(string name, WaitRequest request, string path, string setting, string limit)
    {
        var violation = Defaults.Check(request);

        Assert.NotNull(violation);
        Assert.Equal(path, violation.Field);
        Assert.Contains($"Journey:Limits:{setting}", violation.Description);
        Assert.Contains(limit, violation.Description);
        Assert.False(string.IsNullOrEmpty(name));
    }

    public static TheoryData<string, WaitRequest, string, string, string> Oversized()
    {
        var longText = new WaitRequest { Text = new string('x', 100_001) };
        var longBytes = new WaitRequest { Data = ByteString.CopyFrom(new byte[(1024 * 1024) + 1]) };
        var manyNumbers = new WaitRequest();
        manyNumbers.Numbers.AddRange(Enumerable.Range(0, 1001));
        var manyItems = Batch(1001, properties: 0, valueLength: 0);
        var bigMap = Batch(5, properties: 0, valueLength: 0);
        for (var i = 0; i < 101; i++)
        {
            bigMap.Items[3].Properties[$"k{i}"] = "v";
        }

        var longMapValue = Batch(5, properties: 2, valueLength: 0);
        longMapValue.Items[1].Properties["note"] = new string('v', 100_001);
        var longMapKey = Batch(5, properties: 0, valueLength: 0);
        longMapKey.Items[2].Properties[new string('k', 100_001)] = "v";
        var longTag = Batch(5, properties: 0, valueLength: 0);
        longTag.Items[2].Tags.Add("fine");
        longTag.Items[2].Tags.Add(new string('t', 100_001));
        // The request is level 1 and its node level 2, so the 31st child is the 33rd level, one too many.
        var deep = new WaitRequest { Node = Chain(40) };
        var deepLabel = new WaitRequest { Node = Chain(3) };
        deepLabel.Node.Child.Child.Label = new string('l', 100_001);
        return new()
        {
            { "string", longText, "text", "MaxStringLength", "100000" },
            { "bytes", longBytes, "data", "MaxBytesLength", "1048576" },
            { "repeated scalars", manyNumbers, "numbers", "MaxRepeatedCount", "1000" },
            { "repeated messages", manyItems, "items", "MaxRepeatedCount", "1000" },
            { "map entries", bigMap, "items[3].properties", "MaxMapEntries", "100" },
            { "map value", longMapValue, "items[1].properties", "MaxStringLength", "a value" },
            { "map key", longMapKey, "items[2].properties", "MaxStringLength", "a key" },
            { "string in a list", longTag, "items[2].tags[1]", "MaxStringLength", "100000" },
            { "depth", deep, "node" + string.Concat(Enumerable.Repeat(".child", 31)), "MaxDepth", "32" },
            { "nested string", deepLabel, "node.child.child.label", "MaxStringLength", "100000" },
        };
    }

    [Fact]
    public void Check_WhenValuesInAllExceedTheCeiling_NamesWhereItWasCrossed()
    {
        var limits = new RequestLimits(new LimitsOptions { MaxValues = 100 });

        var violation = limits.Check(Batch(20, properties: 4, valueLength: 1));

        Assert.NotNull(violation);
        Assert.Contains("Journey:Limits:MaxValues", violation.Description);
        Assert.StartsWith("items[", violation.Field);
    }

    [Fact]
    public void Check_WhenRequestWithinLimitsHasNoMaps_AllocatesNothing()
    {
        var request = Batch(1000, properties: 0, valueLength: 0);
        foreach (var item in request.Items)
        {
            item.Tags.Add("electric-cars");
        }

        Assert.Null(Defaults.Check(request));
        var before = GC.GetAllocatedBytesForCurrentThread();
        var violation = Defaults.Check(request);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Null(violation);
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void Check_OnABatchOfAThousandInteractions_CostsAFractionOfParsingIt()
    {
        var bytes = Batch(1000, properties: 4, valueLength: 24).ToByteArray();
        var parse = Fastest(() => WaitRequest.Parser.ParseFrom(bytes));
        var parsed = WaitRequest.Parser.ParseFrom(bytes);
        var check = Fastest(() => Defaults.Check(parsed));

        // Measured about 16% of parsing on the development machine (which is itself a small part of storing
        // the batch); the bound leaves room for a busy runner.
        Assert.True(check < parse * 0.35, $"check {check.TotalMicroseconds:0} µs, parse {parse.TotalMicroseconds:0} µs");
    }

    [Fact]
    public async Task Call_WhenAFieldIsOverItsCeiling_IsInvalidArgumentWithBadRequestNamingThePath()
    {
        await using var platform = await TestPlatform.StartAsync([ProbeModule.Module]);
        var client = new ProbeService.ProbeServiceClient(platform.Channel);
        var request = Batch(5, properties: 0, valueLength: 0);
        for (var i = 0; i < 101; i++)
        {
            request.Items[3].Properties[$"k{i}"] = "v";
        }

        var error = await Assert.ThrowsAsync<RpcException>(async () => await client.WaitAsync(request));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        var violation = Assert.Single(error.GetRpcStatus()!.GetDetail<BadRequest>().FieldViolations);
        Assert.Equal("items[3].properties", violation.Field);
        Assert.Contains("Journey:Limits:MaxMapEntries", violation.Description);
        Assert.Contains("items[3].properties", error.Status.Detail);
    }

    [Fact]
    public async Task Call_WhenCeilingConfiguredLower_AppliesTheConfiguredValue()
    {
        await using var platform = await TestPlatform.StartAsync([ProbeModule.Module], new Dictionary<string, string?>
        {
            ["Journey:Limits:MaxStringLength"] = "10",
        });
        var client = new ProbeService.ProbeServiceClient(platform.Channel);

        await client.WaitAsync(new WaitRequest { Text = "ten chars!" });
        var error = await Assert.ThrowsAsync<RpcException>(async () => await client.WaitAsync(new WaitRequest { Text = "eleven chars" }));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal("text", Assert.Single(error.GetRpcStatus()!.GetDetail<BadRequest>().FieldViolations).Field);
    }

    [Fact]
    public async Task Stream_WhenALaterMessageIsOverACeiling_EndsWithInvalidArgumentAfterTheEarlierOnes()
    {
        await using var platform = await TestPlatform.StartAsync([ProbeModule.Module]);
        using var call = new ProbeService.ProbeServiceClient(platform.Channel).Upload();
        var oversized = new WaitRequest();
        oversized.Numbers.AddRange(Enumerable.Range(0, 1001));

        await call.RequestStream.WriteAsync(new WaitRequest { Text = "fine" });
        await call.RequestStream.WriteAsync(oversized);
        await call.RequestStream.CompleteAsync();
        var error = await Assert.ThrowsAsync<RpcException>(async () => await call.ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal("numbers", Assert.Single(error.GetRpcStatus()!.GetDetail<BadRequest>().FieldViolations).Field);
    }

    private static WaitRequest Batch(int items, int properties, int valueLength)
    {
        var request = new WaitRequest();
        for (var i = 0; i < items; i++)
        {
            var item = new Item { Name = $"interaction-{i}" };
            for (var p = 0; p < properties; p++)
            {
                item.Properties[$"{p:D2}".PadRight(64, 'k')] = new string('v', valueLength);
            }

            request.Items.Add(item);
        }

        return request;
    }

    private static Node Chain(int levels)
    {
        var root = new Node { Label = "0" };
        var node = root;
        for (var i = 1; i < levels; i++)
        {
            node.Child = new Node { Label = i.ToString(System.Globalization.CultureInfo.InvariantCulture) };
            node = node.Child;
        }

        return root;
    }

    private static TimeSpan Fastest(Action action)
    {
        // Warm up first: the server's hot path runs optimised code, not the first tier.
        for (var run = 0; run < 100; run++)
        {
            action();
        }

        var best = TimeSpan.MaxValue;
        for (var run = 0; run < 30; run++)
        {
            var clock = Stopwatch.StartNew();
            action();
            best = clock.Elapsed < best ? clock.Elapsed : best;
        }

        return best;
    }
}
