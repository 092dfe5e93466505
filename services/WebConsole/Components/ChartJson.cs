using System.Text.Json;
using System.Text.Json.Serialization;

namespace Journey.WebConsole.Components;

/// <summary>How chart options are written: ECharts' camel-case names, no nulls (an absent option is ECharts' default).</summary>
public static class ChartJson
{
    /// <summary>The serializer options.</summary>
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };
}
