using System.Text.RegularExpressions;
using Journey.Shared.Events;
using Journey.Testing;
using Journey.Touchpoint;

namespace Journey.Host.Tests;

/// <summary>The event map in docs/architecture.md says exactly what the modules declare (<see cref="TopicMap"/>).</summary>
public sealed partial class ArchitectureDocTests
{
    [Fact]
    public void EventMap_MatchesTheTopicRegistry()
    {
        var documented = EventMap(File.ReadAllText(Path.Combine(Repository.Root, "docs", "architecture.md")));

        var map = JourneyServices.Known.Topics;
        Assert.Empty(map.Problems);
        Assert.Equal(map.Publishers.Keys.Order(StringComparer.Ordinal), documented.Keys.Order(StringComparer.Ordinal));
        foreach (var (topic, (publishers, subscribers)) in documented)
        {
            Assert.True(map.Publishers[topic].Order().SequenceEqual(publishers.Order()), $"docs/architecture.md names other publishers of {topic} than the modules declare");
            Assert.True(map.Subscribers[topic].Order().SequenceEqual(subscribers.Order()), $"docs/architecture.md names other subscribers of {topic} than the modules declare");
        }
    }

    [Fact]
    public void EventMap_WhenARowDiffers_IsNoticed()
    {
        // Proves the parser reads the table: a subscriber added to one row changes what it returns.
        var page = File.ReadAllText(Path.Combine(Repository.Root, "docs", "architecture.md"));
        var edited = page.Replace("| `touchpoint-changed` | `TouchpointChanged` | touchpoint | recommendation |", "| `touchpoint-changed` | `TouchpointChanged` | touchpoint | profile, recommendation |", StringComparison.Ordinal);

        Assert.NotEqual(EventMap(page)[TouchpointTopics.TouchpointChanged].Subscribers, EventMap(edited)[TouchpointTopics.TouchpointChanged].Subscribers);
    }

    private static Dictionary<string, (List<string> Publishers, List<string> Subscribers)> EventMap(string page) =>
        Row().Matches(page).ToDictionary(
            m => m.Groups["topic"].Value,
            m => (Names(m.Groups["publishers"].Value), Names(m.Groups["subscribers"].Value)));

    private static List<string> Names(string cell) =>
        cell.Trim().StartsWith('(') ? [] : cell.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToList();

    [GeneratedRegex(@"^\| `(?<topic>[a-z-]+)` \| `[A-Za-z]+` \| (?<publishers>[^|]+) \| (?<subscribers>[^|]+) \|$", RegexOptions.Multiline)]
    private static partial Regex Row();
}
