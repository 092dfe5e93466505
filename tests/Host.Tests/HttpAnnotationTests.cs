using System.Reflection;
using Google.Api;
using Google.Protobuf.Reflection;

namespace Journey.Host.Tests;

/// <summary>
/// Every public method of every journey.*.v1 service has a JSON/HTTP form (0027): a
/// <c>google.api.http</c> annotation, read from the generated descriptors the host serves.
/// </summary>
public sealed class HttpAnnotationTests
{
    /// <summary>Client-streaming methods, which JSON transcoding cannot serve, and why each is left out.</summary>
    private static readonly Dictionary<string, string> LeftOut = new()
    {
        ["journey.touchpoint.v1.TouchpointService.StreamInteractions"] = "client streaming: JSON transcoding serves unary and server-streaming methods only; RecordInteractions takes the same interactions in batches",
    };

    [Fact]
    public void EveryJourneyMethod_HasAnHttpAnnotation_UnlessItCannotBeTranscoded()
    {
        var services = JourneyServices();
        Assert.Contains(services, s => s.FullName == "journey.profile.v1.ProfileService");
        Assert.True(services.Count >= 8, $"only {services.Count} journey services found: {string.Join(", ", services.Select(s => s.FullName))}");

        Assert.Empty(Unannotated(services).Except(LeftOut.Keys));
        Assert.All(LeftOut.Keys, name => Assert.True(
            services.SelectMany(s => s.Methods).Single(m => m.FullName == name).IsClientStreaming,
            $"{name} is left out of transcoding but is not client streaming; annotate it."));
    }

    [Fact]
    public void Unannotated_OnAServiceWithoutAnnotations_NamesEveryMethod()
    {
        var health = Grpc.Health.V1.Health.Descriptor;

        Assert.Equal(health.Methods.Select(m => m.FullName), Unannotated([health]));
    }

    /// <summary>The generated descriptors of every service in a journey.*.v1 package the host's assemblies hold.</summary>
    internal static List<ServiceDescriptor> JourneyServices() =>
        [.. typeof(Journey.Touchpoint.TouchpointModule).Assembly.GetReferencedAssemblies().Select(Assembly.Load)
            .Concat([typeof(Journey.Touchpoint.TouchpointModule).Assembly, typeof(Journey.Profile.ProfileModule).Assembly, typeof(Journey.Consent.ConsentModule).Assembly, typeof(Journey.Recommendation.RecommendationModule).Assembly])
            .Distinct()
            .SelectMany(a => a.GetTypes())
            .Where(t => t.IsAbstract && t.IsSealed && t.GetProperty("Descriptor", BindingFlags.Public | BindingFlags.Static)?.PropertyType == typeof(ServiceDescriptor))
            .Select(t => (ServiceDescriptor)t.GetProperty("Descriptor")!.GetValue(null)!)
            .Where(s => s.File.Package.StartsWith("journey.", StringComparison.Ordinal) && s.File.Package.EndsWith(".v1", StringComparison.Ordinal))
            .DistinctBy(s => s.FullName)];

    private static IEnumerable<string> Unannotated(IEnumerable<ServiceDescriptor> services) =>
        services.SelectMany(s => s.Methods)
            .Where(m => m.GetOptions()?.GetExtension(AnnotationsExtensions.Http) is null)
            .Select(m => m.FullName);
}
