using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Journey.Deployment.Tests;

/// <summary>
/// A container's environment as the kubelet builds it from a render: <c>envFrom</c> sources in
/// order, then <c>env</c> in order, each value with its <c>$(VAR)</c> references expanded against
/// what is already defined. ConfigMaps come from the render; every Secret value is a test value
/// from <see cref="TestSecrets"/> (prod's Secrets are created outside Git, dev's name hosts inside
/// a cluster), after checking that the Secret and key exist where the overlay says.
/// </summary>
public static class ContainerEnvironment
{
    /// <summary>The environment of <paramref name="container"/>, a container of <paramref name="workload"/> in <paramref name="set"/>.</summary>
    public static IReadOnlyDictionary<string, string> Resolve(ManifestSet set, Workload workload, JsonNode container, TestSecrets secrets)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var source in container.Items("envFrom"))
        {
            var prefix = source.Str("prefix") ?? "";
            if (source.Str("configMapRef", "name") is { } mapName)
            {
                var map = set.Find("ConfigMap", mapName) ?? throw Missing(workload, $"ConfigMap '{mapName}' (envFrom)");
                foreach (var (key, value) in map["data"] as JsonObject ?? [])
                {
                    env[prefix + key] = value.Str() ?? "";
                }
            }
            else if (source.Str("secretRef", "name") is { } secretName)
            {
                foreach (var key in SecretKeys(set, secretName) ?? throw Missing(workload, $"Secret '{secretName}' (envFrom)"))
                {
                    env[prefix + key] = secrets.Value(secretName, key);
                }
            }
        }

        foreach (var variable in container.Items("env"))
        {
            var name = variable.Str("name")!;
            var from = variable.Get("valueFrom");
            if (from is null)
            {
                env[name] = Expand(variable.Str("value") ?? "", env);
            }
            else if (from.Get("secretKeyRef") is { } secretRef)
            {
                var (secret, key) = (secretRef.Str("name")!, secretRef.Str("key")!);
                if (SecretKeys(set, secret)?.Contains(key) != true)
                {
                    throw Missing(workload, $"key '{key}' of Secret '{secret}' (env {name})");
                }

                env[name] = secrets.Value(secret, key);
            }
            else if (from.Get("configMapKeyRef") is { } mapRef)
            {
                env[name] = set.Find("ConfigMap", mapRef.Str("name")).Str("data", mapRef.Str("key")!)
                    ?? throw Missing(workload, $"key '{mapRef.Str("key")}' of ConfigMap '{mapRef.Str("name")}' (env {name})");
            }
            else if (from.Str("fieldRef", "fieldPath") is { } field)
            {
                env[name] = field switch
                {
                    "metadata.name" => $"{ManifestSet.Name(workload.Resource)}-test",
                    "metadata.namespace" => workload.Resource.Str("metadata", "namespace") ?? "default",
                    "spec.serviceAccountName" => workload.PodSpec.Str("serviceAccountName") ?? "default",
                    "spec.nodeName" => "test-node",
                    "status.podIP" or "status.hostIP" => "127.0.0.1",
                    _ => throw new InvalidOperationException($"{workload.Id}: env {name} reads fieldRef '{field}', which the test does not know how to fill"),
                };
            }
            else
            {
                throw new InvalidOperationException($"{workload.Id}: env {name} has a valueFrom the test does not know how to fill ({from.ToJsonString()})");
            }
        }

        return env;
    }

    /// <summary>The keys of a Secret: from the render (dev) or from the list of Secrets created outside Git (prod).</summary>
    private static string[]? SecretKeys(ManifestSet set, string name) =>
        set.Find("Secret", name) is { } secret
            ? [.. (secret["data"] as JsonObject ?? []).Select(p => p.Key), .. (secret["stringData"] as JsonObject ?? []).Select(p => p.Key)]
            : Policies.SecretsCreatedOutsideGit.TryGetValue(name, out var keys) ? keys : null;

    /// <summary>Kubernetes' expansion: $(VAR) of a variable defined earlier is replaced, $$ is a literal $, anything else stays.</summary>
    private static string Expand(string value, Dictionary<string, string> defined)
    {
        var result = new StringBuilder(value.Length);
        for (var i = 0; i < value.Length; i++)
        {
            if (value[i] == '$' && i + 1 < value.Length && value[i + 1] == '$')
            {
                result.Append('$');
                i++;
            }
            else if (value[i] == '$' && i + 1 < value.Length && value[i + 1] == '(' && value.IndexOf(')', i) is var end and > 0
                && defined.TryGetValue(value[(i + 2)..end], out var replacement))
            {
                result.Append(replacement);
                i = end;
            }
            else
            {
                result.Append(value[i]);
            }
        }

        return result.ToString();
    }

    private static InvalidOperationException Missing(Workload workload, string what) =>
        new($"{workload.Id}: {what} is neither in the render nor among the Secrets created outside Git");
}

/// <summary>
/// Test values for Secret keys, made up per run and the same for every reader of one key: keys of
/// the size the host requires, tokens and passwords, and a MongoDB connection string to a port on
/// 127.0.0.1 where nothing listens (the store is unreachable, and nothing leaves the machine).
/// </summary>
public sealed class TestSecrets(int unreachablePort)
{
    private readonly Dictionary<(string Secret, string Key), string> _values = [];

    /// <summary>The value of <paramref name="key"/> in Secret <paramref name="secret"/>.</summary>
    public string Value(string secret, string key)
    {
        lock (_values)
        {
            if (!_values.TryGetValue((secret, key), out var value))
            {
                value = Make(secret, key);
                _values[(secret, key)] = value;
            }

            return value;
        }
    }

    private string Make(string secret, string key) => key switch
    {
        // Base64 of 32 bytes: the HMAC key for identifiers and the AES-256 key (PrivacyOptions).
        "identifier-hash-key" or "encryption-key" => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
        "token" or "password" => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24)),
        "username" => secret.Split('-')[0],
        "keyfile" => Convert.ToBase64String(RandomNumberGenerator.GetBytes(756)),
        "connection-string" => $"mongodb://{Value(secret, "username")}:{Value(secret, "password")}@127.0.0.1:{unreachablePort}/?replicaSet=rs0",
        _ => throw new InvalidOperationException($"Secret '{secret}' key '{key}': no test value for this key; add one to TestSecrets"),
    };
}
