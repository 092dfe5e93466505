using System.Text.Json.Nodes;
using Journey.Host;
using Journey.Shared.Events;

namespace Journey.Deployment.Tests;

/// <summary>
/// What a platform team checks in review, as functions from rendered objects to violations. Each
/// violation names the object and the field, so a failing test says what to fix.
/// </summary>
public static class Policies
{
    /// <summary>The namespace every Journey object lives in.</summary>
    public const string Namespace = "journey";

    /// <summary>
    /// Secrets the prod overlay refers to but does not contain: they hold credentials, so they are
    /// created outside Git before prod is applied (k8s/README.md, "Secrets"). The dev overlay
    /// generates exactly these names and keys with public dev-only values, and a test keeps the two
    /// in step.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string[]> SecretsCreatedOutsideGit = new Dictionary<string, string[]>
    {
        ["journey-privacy"] = ["identifier-hash-key", "encryption-key"],
        ["journey-dapr-app-token"] = ["token"],
        ["journey-valkey"] = ["password"],
    }
        .Concat(JourneyServices.Known.Topics.Services.SelectMany(app => new[]
        {
            KeyValuePair.Create($"{app}-mongodb", new[] { "username", "password", "connection-string" }),
            KeyValuePair.Create($"{app}-mongodb-admin", new[] { "username", "password", "keyfile" }),
        }))
        .ToDictionary();

    private static readonly string[] ProbeKinds = ["livenessProbe", "readinessProbe", "startupProbe"];
    private static readonly string[] ResourceFields = ["requests.cpu", "requests.memory", "limits.cpu", "limits.memory"];

    /// <summary>Every policy that holds for any overlay.</summary>
    public static IReadOnlyList<Violation> All(ManifestSet set, IReadOnlyDictionary<string, string[]> externalSecrets) =>
    [
        .. RestrictedSecurity(set),
        .. Resources(set),
        .. Probes(set),
        .. PinnedImages(set),
        .. DaprSidecars(set),
        .. DaprAppTokens(set),
        .. ServicePorts(set),
        .. HttpListeners(set),
        .. Selectors(set),
        .. References(set, externalSecrets),
        .. TopicScoping(set),
        .. ReplicaSets(set),
        .. Namespaces(set),
    ];

    /// <summary>Non-root, read-only root filesystem, no privilege escalation, no capabilities, RuntimeDefault seccomp, no API token.</summary>
    public static IEnumerable<Violation> RestrictedSecurity(ManifestSet set)
    {
        foreach (var w in set.Workloads)
        {
            var pod = w.PodSpec;
            foreach (var hostField in new[] { "hostNetwork", "hostPID", "hostIPC" })
            {
                if (pod.Bool(hostField) == true)
                {
                    yield return new(w.Id, $"{w.PodSpecPath}.{hostField}", "must not be true");
                }
            }

            if (pod.Bool("automountServiceAccountToken") != false)
            {
                yield return new(w.Id, $"{w.PodSpecPath}.automountServiceAccountToken", "must be false: no Journey pod needs the Kubernetes API");
            }

            foreach (var (c, path, _) in w.Containers)
            {
                var sc = c["securityContext"];
                if (sc.Bool("allowPrivilegeEscalation") != false)
                {
                    yield return new(w.Id, $"{path}.securityContext.allowPrivilegeEscalation", "must be false");
                }

                if (sc.Bool("readOnlyRootFilesystem") != true)
                {
                    yield return new(w.Id, $"{path}.securityContext.readOnlyRootFilesystem", "must be true (mount an emptyDir where the process writes)");
                }

                if (sc.Bool("privileged") == true)
                {
                    yield return new(w.Id, $"{path}.securityContext.privileged", "must not be true");
                }

                if (!sc.Items("capabilities", "drop").Any(d => d.Str() == "ALL"))
                {
                    yield return new(w.Id, $"{path}.securityContext.capabilities.drop", "must contain ALL");
                }

                if (sc.Items("capabilities", "add").Any())
                {
                    yield return new(w.Id, $"{path}.securityContext.capabilities.add", "must be empty");
                }

                var nonRoot = sc.Bool("runAsNonRoot") ?? pod.Bool("securityContext", "runAsNonRoot");
                if (nonRoot != true)
                {
                    yield return new(w.Id, $"{path}.securityContext.runAsNonRoot", "must be true (here or in the pod's securityContext)");
                }

                if ((sc.Number("runAsUser") ?? pod.Number("securityContext", "runAsUser")) == 0)
                {
                    yield return new(w.Id, $"{path}.securityContext.runAsUser", "must not be 0");
                }

                var seccomp = sc.Str("seccompProfile", "type") ?? pod.Str("securityContext", "seccompProfile", "type");
                if (seccomp is not ("RuntimeDefault" or "Localhost"))
                {
                    yield return new(w.Id, $"{path}.securityContext.seccompProfile.type", "must be RuntimeDefault (here or in the pod's securityContext)");
                }
            }
        }
    }

    /// <summary>Every container, init containers included, has CPU and memory requests and limits.</summary>
    public static IEnumerable<Violation> Resources(ManifestSet set) =>
        from w in set.Workloads
        from c in w.Containers
        from field in ResourceFields
        where c.Container.Get(["resources", .. field.Split('.')]) is null
        select new Violation(w.Id, $"{c.Path}.resources.{field}", "is required");

    /// <summary>Every long-running container has startup, liveness and readiness probes.</summary>
    public static IEnumerable<Violation> Probes(ManifestSet set) =>
        from w in set.Workloads
        where ManifestSet.Kind(w.Resource) is not ("Job" or "CronJob")
        from c in w.Containers
        where !c.IsInit
        from probe in ProbeKinds
        where c.Container[probe] is null
        select new Violation(w.Id, $"{c.Path}.{probe}", "is required");

    /// <summary>Images carry a version tag (not latest) or a digest, so a rollout is repeatable.</summary>
    public static IEnumerable<Violation> PinnedImages(ManifestSet set)
    {
        foreach (var w in set.Workloads)
        {
            foreach (var (c, path, _) in w.Containers)
            {
                var image = c.Str("image") ?? "";
                var lastSegment = image[(image.LastIndexOf('/') + 1)..];
                var pinned = image.Contains("@sha256:", StringComparison.Ordinal)
                    || (lastSegment.Contains(':', StringComparison.Ordinal) && !lastSegment.EndsWith(":latest", StringComparison.Ordinal));
                if (!pinned)
                {
                    yield return new(w.Id, $"{path}.image", $"'{image}' must name a version tag or a digest (the base kustomization's images: entry sets the application's)");
                }
            }
        }
    }

    /// <summary>
    /// Every Dapr-enabled Deployment wires the app API token both ways: the sidecar reads the Secret
    /// named by <c>dapr.io/app-token-secret</c> (key <c>token</c>, as Dapr requires) and the app
    /// container gets the same Secret key as <c>APP_API_TOKEN</c> (or <c>Journey__Events__AppApiToken</c>),
    /// so the app can refuse event deliveries that do not come from its sidecar.
    /// </summary>
    public static IEnumerable<Violation> DaprAppTokens(ManifestSet set)
    {
        foreach (var w in set.Workloads.Where(w => ManifestSet.Kind(w.Resource) == "Deployment"))
        {
            var annotations = w.PodAnnotations;
            if (!annotations.TryGetValue("dapr.io/enabled", out var enabled) || enabled != "true")
            {
                continue;
            }

            var at = $"{string.Join('.', w.TemplatePath)}.metadata.annotations";
            if (!annotations.TryGetValue("dapr.io/app-token-secret", out var secret) || string.IsNullOrEmpty(secret))
            {
                yield return new(w.Id, $"{at}.dapr.io/app-token-secret", "must name the Secret whose 'token' the sidecar sends as dapr-api-token");
                continue;
            }

            var app = w.Containers.Where(c => !c.IsInit).Select(c => (c.Container, c.Path)).FirstOrDefault();
            var wired = app.Container.Items("env").Any(variable =>
                variable.Str("name") is "APP_API_TOKEN" or "Journey__Events__AppApiToken"
                && variable.Str("valueFrom", "secretKeyRef", "name") == secret
                && variable.Str("valueFrom", "secretKeyRef", "key") == "token");
            if (!wired)
            {
                yield return new(w.Id, $"{app.Path}.env", $"must set APP_API_TOKEN from secretKeyRef {secret}/token, the Secret the sidecar sends (dapr.io/app-token-secret); without it the app cannot tell its sidecar from anyone else");
            }
        }
    }

    /// <summary>
    /// Every Deployment is one Journey service with its Dapr sidecar: an app id from
    /// <see cref="JourneyServices.All"/>, the app port one of its container ports, app protocol h2c, a
    /// Configuration that exists, the module and port settings agreeing with the annotations, and
    /// gRPC health probes on that port. Every service has exactly one Deployment.
    /// </summary>
    public static IEnumerable<Violation> DaprSidecars(ManifestSet set)
    {
        var seen = new List<string>();
        foreach (var w in set.Workloads.Where(w => ManifestSet.Kind(w.Resource) == "Deployment"))
        {
            var annotations = w.PodAnnotations;
            var at = $"{string.Join('.', w.TemplatePath)}.metadata.annotations";
            string? Annotation(string key) => annotations.TryGetValue(key, out var value) ? value : null;
            if (Annotation("dapr.io/enabled") != "true")
            {
                yield return new(w.Id, $"{at}.dapr.io/enabled", "must be \"true\": every Journey service talks to the others through its Dapr sidecar");
                continue;
            }

            var appId = Annotation("dapr.io/app-id");
            if (appId is null || !JourneyServices.Known.Topics.Services.Contains(appId))
            {
                yield return new(w.Id, $"{at}.dapr.io/app-id", $"'{appId}' is not one of the services in JourneyServices.All ({string.Join(", ", JourneyServices.Known.Topics.Services)})");
            }
            else
            {
                seen.Add(appId);
            }

            var appContainer = w.Containers.FirstOrDefault(c => !c.IsInit);
            var portText = Annotation("dapr.io/app-port");
            var ports = appContainer.Container.Items("ports").Select(p => p.Number("containerPort")).ToList();
            if (!int.TryParse(portText, out var appPort) || !ports.Contains(appPort))
            {
                yield return new(w.Id, $"{at}.dapr.io/app-port", $"'{portText}' is not a containerPort of {appContainer.Container.Str("name")} ({string.Join(", ", ports)})");
            }

            if (Annotation("dapr.io/app-protocol") != "h2c")
            {
                yield return new(w.Id, $"{at}.dapr.io/app-protocol", $"'{Annotation("dapr.io/app-protocol")}' must be h2c: one HTTP/2-only port serves the gRPC API and the HTTP subscription endpoints (k8s/README.md)");
            }

            var config = Annotation("dapr.io/config");
            if (set.Find("Configuration", config) is null)
            {
                yield return new(w.Id, $"{at}.dapr.io/config", $"'{config}' names no Dapr Configuration in this render");
            }

            if (appContainer.Container is null)
            {
                continue;
            }

            var env = EffectiveEnvironment(set, appContainer.Container);
            string? Env(string name) => env.TryGetValue(name, out var value) ? value : null;
            var envAt = $"{appContainer.Path}.env";
            if (Env("Journey__Hosting__Modules") != appId)
            {
                yield return new(w.Id, $"{envAt}.Journey__Hosting__Modules", $"'{Env("Journey__Hosting__Modules")}' must be the app id '{appId}': one module per Deployment");
            }

            if (Env("OTEL_SERVICE_NAME") != appId)
            {
                yield return new(w.Id, $"{envAt}.OTEL_SERVICE_NAME", $"'{Env("OTEL_SERVICE_NAME")}' must be the app id '{appId}', so traces name the service");
            }

            if (Env("Journey__Hosting__Port") != portText)
            {
                yield return new(w.Id, $"{envAt}.Journey__Hosting__Port", $"'{Env("Journey__Hosting__Port")}' must equal dapr.io/app-port '{portText}'");
            }

            if (Env("Journey__Hosting__Address") != "0.0.0.0")
            {
                yield return new(w.Id, $"{envAt}.Journey__Hosting__Address", "must be 0.0.0.0: the sidecar, the probes and the Service reach the pod on its own address");
            }

            if (Env("Journey__Events__Transport") != "Dapr")
            {
                yield return new(w.Id, $"{envAt}.Journey__Events__Transport", "must be Dapr");
            }

            var pubsub = set.Find("Component", Env("Journey__Events__PubSubName"));
            if (pubsub is null || !pubsub.Items("scopes").Any(s => s.Str() == appId))
            {
                yield return new(w.Id, $"{envAt}.Journey__Events__PubSubName", $"'{Env("Journey__Events__PubSubName")}' must name a Dapr pub/sub Component scoped to '{appId}'");
            }

            if (Env("Journey__Storage__Provider") != "Mongo")
            {
                yield return new(w.Id, $"{envAt}.Journey__Storage__Provider", "must be Mongo: named outright, so a missing connection string stops the service instead of falling back");
            }

            foreach (var (probe, service) in new[] { ("startupProbe", "live"), ("livenessProbe", "live"), ("readinessProbe", "ready") })
            {
                if (probe == "readinessProbe" && !string.IsNullOrEmpty(Env("Journey__Hosting__HttpPort")))
                {
                    // HttpListeners checks it: readiness over the HTTP listener proves both ports.
                    continue;
                }

                var grpc = appContainer.Container.Get(probe, "grpc");
                if (grpc.Number("port") != appPort || grpc.Str("service") != service)
                {
                    yield return new(w.Id, $"{appContainer.Path}.{probe}.grpc", $"must probe grpc.health.v1 service '{service}' on port {portText}");
                }
            }
        }

        foreach (var app in JourneyServices.Known.Topics.Services)
        {
            var count = seen.Count(s => s == app);
            if (count != 1)
            {
                yield return new($"Deployment/{app}", "", $"service '{app}' has {count} Deployments; it needs exactly one");
            }
        }
    }

    /// <summary>
    /// A Deployment whose service listens for HTTP/1.1 (<c>Journey__Hosting__HttpPort</c> set) names
    /// that port <c>http</c>, apart from the gRPC port; its readiness probe asks <c>/healthz/ready</c>
    /// there, a Service publishes it, and its NetworkPolicy lets API clients reach it. One without the
    /// setting declares no <c>http</c> port, so nothing routes to a port nobody listens on. Every
    /// service's Deployment has one: JSON transcoding serves each service's methods there, and the
    /// touchpoint service's tracking API too.
    /// </summary>
    public static IEnumerable<Violation> HttpListeners(ManifestSet set)
    {
        foreach (var w in set.Workloads.Where(w => ManifestSet.Kind(w.Resource) == "Deployment"))
        {
            var app = w.Containers.FirstOrDefault(c => !c.IsInit);
            if (app.Container is null)
            {
                continue;
            }

            var env = EffectiveEnvironment(set, app.Container);
            var setting = env.TryGetValue("Journey__Hosting__HttpPort", out var value) ? value : "";
            var named = app.Container.Items("ports").FirstOrDefault(p => p.Str("name") == "http");
            var envAt = $"{app.Path}.env.Journey__Hosting__HttpPort";
            if (string.IsNullOrEmpty(setting))
            {
                if (w.PodAnnotations.TryGetValue("dapr.io/app-id", out var appId) && JourneyServices.All.Any(m => m.Name == appId))
                {
                    yield return new(w.Id, envAt, "must be set: every service serves JSON over HTTP/1.1 (and the touchpoint service the tracking API)");
                }

                if (named is not null)
                {
                    yield return new(w.Id, $"{app.Path}.ports", "declares port 'http' but Journey__Hosting__HttpPort is unset, so nothing listens there");
                }

                continue;
            }

            if (!int.TryParse(setting, out var port) || port is < 1 or > 65535)
            {
                yield return new(w.Id, envAt, $"'{setting}' must be a port number (1 to 65535)");
                continue;
            }

            if (env.TryGetValue("Journey__Hosting__Port", out var grpcPort) && grpcPort == setting)
            {
                yield return new(w.Id, envAt, $"'{setting}' must differ from Journey__Hosting__Port");
            }

            if (named?.Number("containerPort") != port)
            {
                yield return new(w.Id, $"{app.Path}.ports", $"must name containerPort {port} 'http' (Journey__Hosting__HttpPort)");
            }

            var ready = app.Container.Get("readinessProbe", "httpGet");
            if (ready.Str("path") != "/healthz/ready" || (ready.Str("port") != "http" && ready.Number("port") != port))
            {
                yield return new(w.Id, $"{app.Path}.readinessProbe.httpGet", $"must ask /healthz/ready on port http ({port})");
            }

            var services = set.OfKind("Service").Where(s => w.Matches(s.Labels("spec", "selector"))).ToList();
            if (!services.Any(s => s.Items("spec", "ports").Any(p => p.Str("targetPort") == "http" || p.Number("targetPort") == port)))
            {
                yield return new(w.Id, $"{app.Path}.ports", $"port http ({port}) is published by no Service selecting these pods");
            }

            var policies = set.OfKind("NetworkPolicy").Where(p => p.Labels("spec", "podSelector", "matchLabels") is { Count: > 0 } selector && w.Matches(selector)).ToList();
            if (!policies.Any(p => p.Items("spec", "ingress").Any(rule => rule.Items("ports").Any(rp => rp.Number("port") == port || rp.Str("port") == "http"))))
            {
                yield return new(w.Id, $"{app.Path}.ports", $"port http ({port}) is opened by no NetworkPolicy ingress rule selecting these pods");
            }
        }
    }

    /// <summary>Every Service selects pods, and every port's targetPort is a port of those pods.</summary>
    public static IEnumerable<Violation> ServicePorts(ManifestSet set)
    {
        foreach (var service in set.OfKind("Service"))
        {
            var id = ManifestSet.Id(service);
            var selector = service.Labels("spec", "selector");
            var selected = set.Workloads.Where(w => w.Matches(selector)).ToList();
            if (selected.Count == 0)
            {
                yield return new(id, "spec.selector", $"selects no pods of this render ({Format(selector)})");
                continue;
            }

            var ports = service.Items("spec", "ports").ToList();
            for (var i = 0; i < ports.Count; i++)
            {
                var target = ports[i].Get("targetPort") ?? ports[i].Get("port");
                var targetText = target.Str();
                foreach (var w in selected)
                {
                    var containerPorts = w.Containers.Where(c => !c.IsInit).SelectMany(c => c.Container.Items("ports")).ToList();
                    var match = int.TryParse(targetText, out var number)
                        ? containerPorts.Any(p => p.Number("containerPort") == number)
                        : containerPorts.Any(p => p.Str("name") == targetText);
                    if (!match)
                    {
                        var known = string.Join(", ", containerPorts.Select(p => $"{p.Str("name")}={p.Number("containerPort")}"));
                        yield return new(id, $"spec.ports[{i}].targetPort", $"'{targetText}' is not a container port of {w.Id} ({known})");
                    }
                }
            }
        }
    }

    /// <summary>Selectors and references between objects point at something: a typo in a label makes a policy or budget silently apply to nothing.</summary>
    public static IEnumerable<Violation> Selectors(ManifestSet set)
    {
        foreach (var policy in set.OfKind("NetworkPolicy"))
        {
            var id = ManifestSet.Id(policy);
            var selector = policy.Labels("spec", "podSelector", "matchLabels");
            if (selector.Count > 0 && !set.Workloads.Any(w => w.Matches(selector)))
            {
                yield return new(id, "spec.podSelector.matchLabels", $"selects no pods of this render ({Format(selector)})");
            }

            foreach (var direction in new[] { ("ingress", "from"), ("egress", "to") })
            {
                var rules = policy.Items("spec", direction.Item1).ToList();
                for (var r = 0; r < rules.Count; r++)
                {
                    var peers = rules[r].Items(direction.Item2).ToList();
                    for (var p = 0; p < peers.Count; p++)
                    {
                        // Peers in other namespaces (Dapr, DNS, the collector) are outside this render.
                        if (peers[p].Get("namespaceSelector") is not null)
                        {
                            continue;
                        }

                        var peer = peers[p].Labels("podSelector", "matchLabels");
                        if (peer.Count > 0 && !set.Workloads.Any(w => w.Matches(peer)) && !IsApiClientLabel(peer))
                        {
                            yield return new(id, $"spec.{direction.Item1}[{r}].{direction.Item2}[{p}].podSelector.matchLabels", $"selects no pods of this render ({Format(peer)})");
                        }
                    }
                }
            }
        }

        foreach (var budget in set.OfKind("PodDisruptionBudget"))
        {
            var selector = budget.Labels("spec", "selector", "matchLabels");
            if (!set.Workloads.Any(w => w.Matches(selector)))
            {
                yield return new(ManifestSet.Id(budget), "spec.selector.matchLabels", $"selects no pods of this render ({Format(selector)})");
            }
        }

        foreach (var hpa in set.OfKind("HorizontalPodAutoscaler"))
        {
            var id = ManifestSet.Id(hpa);
            var target = set.Workloads.FirstOrDefault(w => ManifestSet.Kind(w.Resource) == hpa.Str("spec", "scaleTargetRef", "kind")
                && ManifestSet.Name(w.Resource) == hpa.Str("spec", "scaleTargetRef", "name"));
            if (target is null)
            {
                yield return new(id, "spec.scaleTargetRef", "names no workload of this render");
                continue;
            }

            var metrics = hpa.Items("spec", "metrics").ToList();
            for (var i = 0; i < metrics.Count; i++)
            {
                var container = metrics[i].Str("containerResource", "container");
                if (container is not null && !target.Containers.Any(c => c.Container.Str("name") == container))
                {
                    yield return new(id, $"spec.metrics[{i}].containerResource.container", $"'{container}' is not a container of {target.Id}");
                }
            }
        }

        foreach (var statefulSet in set.OfKind("StatefulSet"))
        {
            var service = set.Find("Service", statefulSet.Str("spec", "serviceName"));
            if (service is null || service.Str("spec", "clusterIP") != "None")
            {
                yield return new(ManifestSet.Id(statefulSet), "spec.serviceName", $"'{statefulSet.Str("spec", "serviceName")}' must name a headless Service of this render (the members' DNS names)");
            }
        }
    }

    /// <summary>
    /// Every Secret, ConfigMap and ServiceAccount a pod or a Dapr component refers to exists in the
    /// render with the key asked for, or is one of <paramref name="externalSecrets"/> with that key.
    /// </summary>
    public static IEnumerable<Violation> References(ManifestSet set, IReadOnlyDictionary<string, string[]> externalSecrets)
    {
        Violation? Check(string owner, string field, string kind, string? name, string? key)
        {
            var found = set.Find(kind, name);
            if (found is null)
            {
                if (kind == "Secret" && name is not null && externalSecrets.TryGetValue(name, out var keys))
                {
                    return key is null || keys.Contains(key) ? null
                        : new(owner, field, $"key '{key}' is not among the keys of Secret '{name}' created outside Git ({string.Join(", ", keys)})");
                }

                return new(owner, field, $"{kind} '{name}' is neither in this render nor in the list of Secrets created outside Git");
            }

            var hasKey = key is null
                || found.Get("data", key) is not null
                || found.Get("stringData", key) is not null
                || found.Get("binaryData", key) is not null;
            return hasKey ? null : new(owner, field, $"{kind} '{name}' has no key '{key}'");
        }

        foreach (var w in set.Workloads)
        {
            var account = w.PodSpec.Str("serviceAccountName");
            if (account is not null && account != "default" && set.Find("ServiceAccount", account) is null)
            {
                yield return new(w.Id, $"{w.PodSpecPath}.serviceAccountName", $"ServiceAccount '{account}' is not in this render");
            }

            foreach (var (c, path, _) in w.Containers)
            {
                var env = c.Items("env").ToList();
                for (var i = 0; i < env.Count; i++)
                {
                    var from = env[i].Get("valueFrom");
                    if (from.Bool("secretKeyRef", "optional") != true && from.Get("secretKeyRef") is not null
                        && Check(w.Id, $"{path}.env[{i}].valueFrom.secretKeyRef", "Secret", from.Str("secretKeyRef", "name"), from.Str("secretKeyRef", "key")) is { } secret)
                    {
                        yield return secret;
                    }

                    if (from.Bool("configMapKeyRef", "optional") != true && from.Get("configMapKeyRef") is not null
                        && Check(w.Id, $"{path}.env[{i}].valueFrom.configMapKeyRef", "ConfigMap", from.Str("configMapKeyRef", "name"), from.Str("configMapKeyRef", "key")) is { } map)
                    {
                        yield return map;
                    }
                }

                var envFrom = c.Items("envFrom").ToList();
                for (var i = 0; i < envFrom.Count; i++)
                {
                    foreach (var (field, kind) in new[] { ("configMapRef", "ConfigMap"), ("secretRef", "Secret") })
                    {
                        if (envFrom[i].Get(field) is not null && envFrom[i].Bool(field, "optional") != true
                            && Check(w.Id, $"{path}.envFrom[{i}].{field}", kind, envFrom[i].Str(field, "name"), null) is { } missing)
                        {
                            yield return missing;
                        }
                    }
                }
            }

            var volumes = w.PodSpec.Items("volumes").ToList();
            for (var i = 0; i < volumes.Count; i++)
            {
                foreach (var (field, nameField, kind) in new[] { ("secret", "secretName", "Secret"), ("configMap", "name", "ConfigMap") })
                {
                    var source = volumes[i].Get(field);
                    if (source is null || source.Bool("optional") == true)
                    {
                        continue;
                    }

                    var at = $"{w.PodSpecPath}.volumes[{i}].{field}";
                    var items = source.Items("items").Select(item => item.Str("key")).ToList();
                    foreach (var key in items.Count == 0 ? [null] : items)
                    {
                        if (Check(w.Id, at, kind, source.Str(nameField), key) is { } missing)
                        {
                            yield return missing;
                        }
                    }
                }
            }
        }

        foreach (var component in set.OfKind("Component"))
        {
            var metadata = component.Items("spec", "metadata").ToList();
            for (var i = 0; i < metadata.Count; i++)
            {
                if (metadata[i].Get("secretKeyRef") is not null
                    && Check(ManifestSet.Id(component), $"spec.metadata[{i}].secretKeyRef", "Secret", metadata[i].Str("secretKeyRef", "name"), metadata[i].Str("secretKeyRef", "key")) is { } missing)
                {
                    yield return missing;
                }
            }
        }
    }

    /// <summary>
    /// The pub/sub component's topic scoping is exactly what the modules declare (<see cref="TopicMap"/>): each
    /// service publishes its topics and the dead-letter topics of its subscriptions, subscribes to
    /// what it handles, and no other topic name is allowed. Declarative Subscriptions, Resiliency
    /// and Configuration name only known apps and topics.
    /// </summary>
    public static IEnumerable<Violation> TopicScoping(ManifestSet set)
    {
        var apps = JourneyServices.Known.Topics.Services;
        var deadLetters = JourneyServices.Known.Topics.Subscribers.SelectMany(t => t.Value.Select(app => Topics.DeadLetter(app, t.Key))).ToHashSet();
        var known = JourneyServices.Known.Topics.Publishers.Keys.Concat(deadLetters).ToHashSet();
        var publishes = apps.ToDictionary(app => app, app => JourneyServices.Known.Topics.Publishers.Where(t => t.Value.Contains(app)).Select(t => t.Key)
            .Concat(JourneyServices.Known.Topics.Subscribers.Where(t => t.Value.Contains(app)).Select(t => Topics.DeadLetter(app, t.Key))).ToHashSet());
        var subscribes = apps.ToDictionary(app => app, app => JourneyServices.Known.Topics.Subscribers.Where(t => t.Value.Contains(app)).Select(t => t.Key).ToHashSet());

        var pubsubs = set.OfKind("Component").Where(c => c.Str("spec", "type")?.StartsWith("pubsub.", StringComparison.Ordinal) == true).ToList();
        if (pubsubs.Count == 0)
        {
            yield return new("Component", "spec.type", "no Dapr pub/sub component in this render");
        }

        foreach (var component in pubsubs)
        {
            var id = ManifestSet.Id(component);
            var metadata = component.Items("spec", "metadata").ToList();
            string Field(string name) => $"spec.metadata[{metadata.FindIndex(m => m.Str("name") == name)}].value ({name})";
            string? Value(string name) => metadata.FirstOrDefault(m => m.Str("name") == name).Str("value");

            var scopes = component.Items("scopes").Select(s => s.Str() ?? "").ToHashSet();
            if (!scopes.SetEquals(apps))
            {
                yield return new(id, "scopes", $"must be exactly the services {string.Join(", ", apps)}; is {string.Join(", ", scopes)}");
            }

            var allowed = Value("allowedTopics");
            if (allowed is null)
            {
                yield return new(id, "spec.metadata", "allowedTopics is missing: any topic name would be accepted");
            }
            else
            {
                var topics = SplitList(allowed);
                foreach (var unknown in topics.Except(known))
                {
                    yield return new(id, Field("allowedTopics"), $"topic '{unknown}' is neither a declared topic nor a dead-letter topic of a declared subscription");
                }

                foreach (var missing in known.Except(topics))
                {
                    yield return new(id, Field("allowedTopics"), $"topic '{missing}' is in Topics but not allowed");
                }
            }

            foreach (var (name, expected) in new[] { ("publishingScopes", publishes), ("subscriptionScopes", subscribes) })
            {
                var text = Value(name);
                if (text is null)
                {
                    yield return new(id, "spec.metadata", $"{name} is missing: an app not listed may use every topic");
                    continue;
                }

                var scoped = ParseScopes(text);
                foreach (var app in scoped.Keys.Except(apps))
                {
                    yield return new(id, Field(name), $"app '{app}' is not one of the services in JourneyServices.All");
                }

                foreach (var app in apps)
                {
                    if (!scoped.TryGetValue(app, out var actual))
                    {
                        yield return new(id, Field(name), $"service '{app}' is not listed, so Dapr would let it use every topic");
                        continue;
                    }

                    foreach (var topic in actual.Except(expected[app]))
                    {
                        var why = known.Contains(topic) ? $"Topics does not let '{app}' do that" : "the topic is not in Topics";
                        yield return new(id, Field(name), $"'{app}' is given topic '{topic}', but {why}");
                    }

                    foreach (var topic in expected[app].Except(actual))
                    {
                        yield return new(id, Field(name), $"'{app}' lacks topic '{topic}', which Topics says it needs");
                    }
                }
            }
        }

        foreach (var subscription in set.OfKind("Subscription"))
        {
            var id = ManifestSet.Id(subscription);
            var topic = subscription.Str("spec", "topic") ?? "";
            if (!JourneyServices.Known.Topics.Subscribers.TryGetValue(topic, out var subscribers))
            {
                yield return new(id, "spec.topic", $"topic '{topic}' is not in Topics");
                continue;
            }

            var scoped = subscription.Items("scopes").Select(s => s.Str() ?? "").ToList();
            if (scoped.Count != 1 || !subscribers.Contains(scoped[0]))
            {
                yield return new(id, "scopes", $"must name the one subscribing service, one of {string.Join(", ", subscribers)} (the modules' Subscribes)");
            }
            else if (subscription.Str("spec", "deadLetterTopic") != Topics.DeadLetter(scoped[0], topic))
            {
                yield return new(id, "spec.deadLetterTopic", $"must be '{Topics.DeadLetter(scoped[0], topic)}'");
            }
        }

        foreach (var resiliency in set.OfKind("Resiliency"))
        {
            var id = ManifestSet.Id(resiliency);
            foreach (var app in resiliency.Items("scopes").Select(s => s.Str()).Where(s => !apps.Contains(s!)))
            {
                yield return new(id, "scopes", $"'{app}' is not one of the services in JourneyServices.All");
            }

            foreach (var app in (resiliency.Get("spec", "targets", "apps") as JsonObject)?.Select(p => p.Key).Where(a => !apps.Contains(a)) ?? [])
            {
                yield return new(id, $"spec.targets.apps.{app}", "is not one of the services in JourneyServices.All");
            }
        }
    }

    /// <summary>Every MongoDB runs as a replica set, and every connection string says so: the outbox needs multi-document transactions.</summary>
    public static IEnumerable<Violation> ReplicaSets(ManifestSet set)
    {
        foreach (var w in set.Workloads)
        {
            foreach (var (c, path, _) in w.Containers.Where(c => c.Container.Items("command").FirstOrDefault().Str() == "mongod"))
            {
                var args = c.Items("args").Select(a => a.Str() ?? "").ToList();
                if (!args.Any(a => a.StartsWith("--replSet", StringComparison.Ordinal)))
                {
                    yield return new(w.Id, $"{path}.args", "mongod must run with --replSet: the outbox writes in multi-document transactions");
                }

                if (!args.Any(a => a.StartsWith("--keyFile", StringComparison.Ordinal)))
                {
                    yield return new(w.Id, $"{path}.args", "mongod must run with --keyFile: members authenticate one another, clients need an account");
                }

                // WiredTiger sizes its cache from the node's memory unless told; half the limit
                // leaves room for mongod's own structures and the filesystem cache.
                var cache = args.FirstOrDefault(a => a.StartsWith("--wiredTigerCacheSizeGB=", StringComparison.Ordinal));
                var limit = Bytes(c.Str("resources", "limits", "memory"));
                if (cache is null || !double.TryParse(cache.Split('=')[1], System.Globalization.CultureInfo.InvariantCulture, out var gigabytes)
                    || limit is null || gigabytes * 1024 * 1024 * 1024 > limit / 2)
                {
                    yield return new(w.Id, $"{path}.args", $"--wiredTigerCacheSizeGB must be set and at most half of resources.limits.memory ({c.Str("resources", "limits", "memory")})");
                }
            }
        }

        foreach (var secret in set.OfKind("Secret"))
        {
            var encoded = secret.Str("data", "connection-string");
            if (encoded is not null && !System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(encoded)).Contains("replicaSet=", StringComparison.Ordinal))
            {
                yield return new(ManifestSet.Id(secret), "data.connection-string", "must name the replica set (replicaSet=…)");
            }
        }
    }

    /// <summary>Everything lives in the journey namespace, which enforces the restricted Pod Security Standard.</summary>
    public static IEnumerable<Violation> Namespaces(ManifestSet set)
    {
        foreach (var o in set.Objects.Where(o => ManifestSet.Kind(o) != "Namespace"))
        {
            if (o.Str("metadata", "namespace") != Namespace)
            {
                yield return new(ManifestSet.Id(o), "metadata.namespace", $"must be {Namespace}");
            }
        }

        var ns = set.Find("Namespace", Namespace);
        if (ns.Str("metadata", "labels", "pod-security.kubernetes.io/enforce") != "restricted")
        {
            yield return new($"Namespace/{Namespace}", "metadata.labels.pod-security.kubernetes.io/enforce", "must be restricted");
        }
    }

    /// <summary>
    /// Production shape: every service on two pods or more (its autoscaler's minimum), spread over
    /// nodes, with a disruption budget; every replica set three members or more on different
    /// nodes, with a budget; tokens from a real identity provider; no Secret in Git.
    /// </summary>
    public static IEnumerable<Violation> HighAvailability(ManifestSet set)
    {
        var budgets = set.OfKind("PodDisruptionBudget").ToList();
        bool Budgeted(Workload w) => budgets.Any(b => w.Matches(b.Labels("spec", "selector", "matchLabels")));
        bool SpreadOverNodes(Workload w, string kind) =>
            w.PodSpec.Items("affinity", "podAntiAffinity", kind).Any(term =>
                (term.Get("podAffinityTerm") ?? term).Str("topologyKey") == "kubernetes.io/hostname");

        foreach (var w in set.Workloads)
        {
            switch (ManifestSet.Kind(w.Resource))
            {
                case "Deployment":
                    var hpa = set.OfKind("HorizontalPodAutoscaler").FirstOrDefault(h => h.Str("spec", "scaleTargetRef", "name") == ManifestSet.Name(w.Resource));
                    if ((hpa.Number("spec", "minReplicas") ?? 1) < 2)
                    {
                        yield return new(w.Id, "HorizontalPodAutoscaler.spec.minReplicas", "needs an autoscaler with minReplicas of 2 or more");
                    }

                    if (!SpreadOverNodes(w, "preferredDuringSchedulingIgnoredDuringExecution") && !SpreadOverNodes(w, "requiredDuringSchedulingIgnoredDuringExecution"))
                    {
                        yield return new(w.Id, $"{w.PodSpecPath}.affinity.podAntiAffinity", "must keep replicas apart by kubernetes.io/hostname");
                    }

                    if (!Budgeted(w))
                    {
                        yield return new(w.Id, "PodDisruptionBudget", "no PodDisruptionBudget selects its pods");
                    }

                    break;
                case "StatefulSet" when w.PodLabels.GetValueOrDefault("app.kubernetes.io/name") == "mongodb":
                    if ((w.Resource.Number("spec", "replicas") ?? 1) < 3)
                    {
                        yield return new(w.Id, "spec.replicas", "a production replica set needs three members or more, to keep a majority when one is lost");
                    }

                    if (!SpreadOverNodes(w, "requiredDuringSchedulingIgnoredDuringExecution"))
                    {
                        yield return new(w.Id, $"{w.PodSpecPath}.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution", "must put every member on its own node");
                    }

                    if (!Budgeted(w))
                    {
                        yield return new(w.Id, "PodDisruptionBudget", "no PodDisruptionBudget selects its pods");
                    }

                    break;
            }
        }

        var authority = set.OfKind("ConfigMap").Select(m => m.Str("data", "Journey__Auth__Authority")).FirstOrDefault(a => a is not null);
        if (authority is null || !authority.StartsWith("https://", StringComparison.Ordinal))
        {
            yield return new("ConfigMap/journey-config", "data.Journey__Auth__Authority", "must be the identity provider's https URL: without it every pod is its own development issuer");
        }

        foreach (var secret in set.OfKind("Secret"))
        {
            yield return new(ManifestSet.Id(secret), "", "production Secrets are created outside Git (k8s/README.md, \"Secrets\"), never rendered from it");
        }
    }

    /// <summary>A container's environment as the kubelet builds it: envFrom ConfigMaps, then env; Secret values as secret:name/key.</summary>
    public static IReadOnlyDictionary<string, string> EffectiveEnvironment(ManifestSet set, JsonNode container)
    {
        var env = new Dictionary<string, string>();
        foreach (var source in container.Items("envFrom"))
        {
            if (set.Find("ConfigMap", source.Str("configMapRef", "name")) is { } map && map["data"] is JsonObject data)
            {
                foreach (var (key, value) in data)
                {
                    env[key] = value.Str() ?? "";
                }
            }
        }

        foreach (var variable in container.Items("env"))
        {
            env[variable.Str("name")!] = variable.Str("value")
                ?? $"secret:{variable.Str("valueFrom", "secretKeyRef", "name")}/{variable.Str("valueFrom", "secretKeyRef", "key")}";
        }

        return env;
    }

    /// <summary>Parses Dapr's "app1=t1,t2;app2=t3" scope lists.</summary>
    public static IReadOnlyDictionary<string, HashSet<string>> ParseScopes(string text) =>
        text.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(entry => entry.Split('=', 2, StringSplitOptions.TrimEntries))
            .GroupBy(parts => parts[0])
            .ToDictionary(g => g.Key, g => g.SelectMany(parts => SplitList(parts.Length > 1 ? parts[1] : "")).ToHashSet());

    /// <summary>A memory quantity (256Mi, 2Gi, 1G, 512000) in bytes; null when not one of those forms.</summary>
    public static double? Bytes(string? quantity)
    {
        if (quantity is null)
        {
            return null;
        }

        var units = new (string Suffix, double Factor)[] { ("Ki", 1024d), ("Mi", 1024d * 1024), ("Gi", 1024d * 1024 * 1024), ("k", 1e3), ("M", 1e6), ("G", 1e9), ("", 1) };
        var (suffix, factor) = units.First(u => quantity.EndsWith(u.Suffix, StringComparison.Ordinal));
        return double.TryParse(quantity[..^suffix.Length], System.Globalization.CultureInfo.InvariantCulture, out var value) ? value * factor : null;
    }

    private static HashSet<string> SplitList(string text) =>
        text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet();

    private static string Format(IReadOnlyDictionary<string, string> labels) => string.Join(", ", labels.Select(l => $"{l.Key}={l.Value}"));

    // API clients are outside Journey: the label marks pods others deploy.
    private static bool IsApiClientLabel(IReadOnlyDictionary<string, string> labels) =>
        labels.Count == 1 && labels.ContainsKey("journey/api-client");
}
