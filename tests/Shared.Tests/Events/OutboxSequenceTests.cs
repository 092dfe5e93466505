using Google.Protobuf.WellKnownTypes;
using Journey.Shared.Events;

namespace Journey.Shared.Tests.Events;

/// <summary>The order keys the MongoDB outbox computes in memory (SQLite's are its AUTOINCREMENT key, tested by the contract suite).</summary>
public sealed class OutboxSequenceTests
{
    [Fact]
    public void Documents_WhenEventsOfOneTransactionShareAMillisecond_KeepTheirOrder()
    {
        var at = DateTimeOffset.UtcNow;
        var messages = Enumerable.Range(0, 200).Select(i => EventEnvelopes.Create(TestTopics.InteractionRecorded, "touchpoint", new StringValue { Value = $"e{i}" }, at)).ToList();

        var seqs = MongoOutbox.Documents(messages).Select(d => d.Seq).ToList();

        Assert.Equal(seqs, seqs.Order(StringComparer.Ordinal));
        Assert.Equal(seqs.Count, seqs.Distinct().Count());
    }

    [Fact]
    public void Documents_WhenALaterTransactionCarriesAnOlderEvent_OrdersItByTheTransaction()
    {
        var now = DateTimeOffset.UtcNow;
        var first = MongoOutbox.Documents([EventEnvelopes.Create(TestTopics.InteractionRecorded, "touchpoint", new StringValue { Value = "a" }, now)]);
        var second = MongoOutbox.Documents([EventEnvelopes.Create(TestTopics.InteractionRecorded, "touchpoint", new StringValue { Value = "b" }, now.AddMinutes(-5))]);

        Assert.True(string.CompareOrdinal(first[0].Seq, second[0].Seq) < 0);
    }
}
