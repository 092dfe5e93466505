using Microsoft.AspNetCore.Grpc.JsonTranscoding;
using Microsoft.AspNetCore.Mvc.ApiExplorer;
using Microsoft.AspNetCore.Mvc.ModelBinding;

namespace Journey.Shared.Hosting;

/// <summary>
/// Writes the OpenAPI path of each transcoded method segment by segment, as a client must call it.
/// Microsoft.AspNetCore.Grpc.Swagger describes <c>GET /v1/{name=touchpoints/*}</c> as
/// <c>/v1/{name}</c>: one parameter a client would have to fill with an escaped slash, which routing
/// never matches, and the same path for every resource's Get, which Swashbuckle refuses as a
/// conflict. Here it becomes <c>/v1/touchpoints/{touchpoint}</c>: each <c>*</c> of a resource name
/// is a parameter named after the collection before it, and the server puts the name back together.
/// Runs after that provider (its order is -900).
/// </summary>
internal sealed class ResourcePathDescriptions : IApiDescriptionProvider
{
    private static readonly ModelMetadata Text = new EmptyModelMetadataProvider().GetMetadataForType(typeof(string));

    public int Order => -800;

    public void OnProvidersExecuting(ApiDescriptionProviderContext context)
    {
        foreach (var description in context.Results)
        {
            if (description.ActionDescriptor.EndpointMetadata.OfType<GrpcJsonTranscodingMetadata>().FirstOrDefault() is not { } transcoding
                || Pattern(transcoding.HttpRule) is not { } pattern)
            {
                continue;
            }

            var (path, parameters) = Expand(pattern);
            description.RelativePath = path;
            foreach (var routed in description.ParameterDescriptions.Where(p => p.Source == BindingSource.Path).ToList())
            {
                description.ParameterDescriptions.Remove(routed);
            }

            foreach (var parameter in parameters)
            {
                description.ParameterDescriptions.Add(new ApiParameterDescription { Name = parameter, ModelMetadata = Text, Source = BindingSource.Path, IsRequired = true });
            }
        }
    }

    public void OnProvidersExecuted(ApiDescriptionProviderContext context)
    {
    }

    /// <summary>
    /// <c>/v1/{name=sources/*/writeKeys/*}:rotate</c> becomes <c>v1/sources/{source}/writeKeys/{writeKey}:rotate</c>
    /// with parameters <c>source</c> and <c>writeKey</c>; a plain <c>{field}</c> stays a parameter of its own.
    /// </summary>
    internal static (string Path, List<string> Parameters) Expand(string pattern)
    {
        var verbAt = pattern.LastIndexOf(':');
        var verb = verbAt > pattern.LastIndexOf('}') && verbAt > pattern.LastIndexOf('/') ? pattern[verbAt..] : "";
        var template = pattern[..(pattern.Length - verb.Length)].TrimStart('/');
        var segments = new List<string>();
        var parameters = new List<string>();
        var at = 0;
        while (at < template.Length)
        {
            if (template[at] == '{')
            {
                var close = template.IndexOf('}', at);
                var variable = template[(at + 1)..close];
                var equals = variable.IndexOf('=', StringComparison.Ordinal);
                if (equals < 0)
                {
                    segments.Add("{" + variable + "}");
                    parameters.Add(variable);
                }
                else
                {
                    foreach (var part in variable[(equals + 1)..].Split('/'))
                    {
                        if (part is "*" or "**")
                        {
                            var name = Singular(segments.Count > 0 ? segments[^1] : variable[..equals]);
                            segments.Add("{" + name + "}");
                            parameters.Add(name);
                        }
                        else
                        {
                            segments.Add(part);
                        }
                    }
                }

                at = close + 1;
            }
            else
            {
                var slash = template.IndexOf('/', at);
                var end = slash < 0 ? template.Length : slash;
                if (end > at)
                {
                    segments.Add(template[at..end]);
                }

                at = end;
            }

            if (at < template.Length && template[at] == '/')
            {
                at++;
            }
        }

        return (string.Join('/', segments) + verb, parameters);
    }

    private static string Singular(string collection) =>
        collection.EndsWith('s') && collection.Length > 1 ? collection[..^1] : collection;

    private static string? Pattern(Google.Api.HttpRule rule) => rule.PatternCase switch
    {
        Google.Api.HttpRule.PatternOneofCase.Get => rule.Get,
        Google.Api.HttpRule.PatternOneofCase.Post => rule.Post,
        Google.Api.HttpRule.PatternOneofCase.Put => rule.Put,
        Google.Api.HttpRule.PatternOneofCase.Patch => rule.Patch,
        Google.Api.HttpRule.PatternOneofCase.Delete => rule.Delete,
        Google.Api.HttpRule.PatternOneofCase.Custom => rule.Custom.Path,
        _ => null,
    };
}
