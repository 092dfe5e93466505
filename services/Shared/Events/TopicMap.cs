using Journey.Shared.Hosting;

namespace Journey.Shared.Events;

/// <summary>
/// One service's subscription to a topic, with the services it accepts that topic from: an event on
/// the topic from any other source is refused as poison, not handled.
/// </summary>
/// <param name="Topic">The topic name.</param>
/// <param name="Publishers">The services whose events on the topic the subscriber handles.</param>
public sealed record TopicSubscription(string Topic, IReadOnlyList<string> Publishers)
{
    /// <summary>A subscription to a topic one service publishes.</summary>
    public TopicSubscription(string topic, string publisher)
        : this(topic, [publisher])
    {
    }
}

/// <summary>
/// Who publishes and who subscribes to each topic, aggregated over the modules a host knows (all of
/// them in the executable, whichever it runs), and the checks that keep the declarations consistent.
/// The pub/sub manifests and docs/architecture.md are tested against it.
/// </summary>
public sealed class TopicMap
{
    private readonly List<string> _problems = [];

    /// <summary>Aggregates <paramref name="modules"/>' declarations.</summary>
    public TopicMap(IEnumerable<JourneyModule> modules)
    {
        var known = modules.ToList();
        Services = known.Select(m => m.Name).ToList();
        var publishers = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var subscribers = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var name in Services.GroupBy(n => n, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key))
        {
            _problems.Add($"Two modules are named '{name}': module names are app ids and must be unique.");
        }

        foreach (var module in known)
        {
            foreach (var topic in Duplicates(module.Publishes))
            {
                _problems.Add($"The {module.Name} service declares topic '{topic}' twice in Publishes.");
            }

            foreach (var topic in Duplicates(module.Subscribes.Select(s => s.Topic)))
            {
                _problems.Add($"The {module.Name} service declares topic '{topic}' twice in Subscribes.");
            }

            foreach (var topic in module.Publishes.Distinct(StringComparer.Ordinal))
            {
                Add(publishers, topic, module.Name);
                subscribers.TryAdd(topic, []);
            }

            foreach (var subscription in module.Subscribes.DistinctBy(s => s.Topic, StringComparer.Ordinal))
            {
                Add(subscribers, subscription.Topic, module.Name);
                publishers.TryAdd(subscription.Topic, []);
            }
        }

        foreach (var module in known)
        {
            foreach (var subscription in module.Subscribes)
            {
                if (subscription.Publishers.Count == 0)
                {
                    _problems.Add($"The {module.Name} service subscribes to topic '{subscription.Topic}' from no publisher: name the services it accepts it from.");
                }

                foreach (var publisher in subscription.Publishers)
                {
                    var declared = known.FirstOrDefault(m => m.Name == publisher);
                    if (declared is null)
                    {
                        _problems.Add($"The {module.Name} service subscribes to topic '{subscription.Topic}' from '{publisher}', which is not a known service.");
                    }
                    else if (!declared.Publishes.Contains(subscription.Topic, StringComparer.Ordinal))
                    {
                        _problems.Add($"The {module.Name} service subscribes to topic '{subscription.Topic}' from '{publisher}', but the {publisher} service does not declare it in Publishes.");
                    }
                }
            }
        }

        Publishers = publishers.ToDictionary(p => p.Key, p => (IReadOnlyList<string>)p.Value, StringComparer.Ordinal);
        Subscribers = subscribers.ToDictionary(p => p.Key, p => (IReadOnlyList<string>)p.Value, StringComparer.Ordinal);
    }

    /// <summary>The known services (their app ids), in the order the host lists them.</summary>
    public IReadOnlyList<string> Services { get; }

    /// <summary>Which services publish each topic; every topic a known service publishes or subscribes to has an entry.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Publishers { get; }

    /// <summary>Which services subscribe to each topic. A topic nobody subscribes to is still published for outside consumers.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Subscribers { get; }

    /// <summary>
    /// What is inconsistent: a module name or a declaration given twice, a subscription without a
    /// publisher, or naming a service that is unknown or does not publish the topic. Empty when all agree.
    /// </summary>
    public IReadOnlyList<string> Problems => _problems;

    private static void Add(Dictionary<string, List<string>> map, string topic, string service)
    {
        if (!map.TryGetValue(topic, out var list))
        {
            map[topic] = list = [];
        }

        list.Add(service);
    }

    private static IEnumerable<string> Duplicates(IEnumerable<string> names) =>
        names.GroupBy(n => n, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key);
}
