using System.IO.Compression;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Journey.WebConsole;

/// <summary>
/// Apache ECharts, which the console's charts are drawn with: built into this assembly from the
/// npm package that package-lock.json pins, and served by the host under a name holding a hash of
/// its bytes, so a browser may keep it for a year and an upgrade is a new address.
/// </summary>
public static class ChartLibrary
{
    private const string Resource = "echarts.min.js";

    private static readonly Lazy<(byte[] Plain, byte[] Gzipped, string Path)> Script = new(Load);

    /// <summary>The address pages load the library from, e.g. <c>/console/assets/echarts-1a2b3c4d5e6f.min.js</c>.</summary>
    public static string Path => Script.Value.Path;

    /// <summary>Serves the library at <see cref="Path"/>, compressed for browsers that take gzip.</summary>
    internal static void MapChartLibrary(this WebApplication app) =>
        app.MapGet(Path, (HttpContext context) =>
        {
            var (plain, gzipped, _) = Script.Value;
            var headers = context.Response.Headers;
            headers.CacheControl = "public, max-age=31536000, immutable";
            headers.Vary = HeaderNames.AcceptEncoding;
            var gzip = context.Request.Headers.AcceptEncoding.Any(e => e?.Contains("gzip", StringComparison.OrdinalIgnoreCase) == true);
            if (gzip)
            {
                headers.ContentEncoding = "gzip";
            }

            return Results.Bytes(gzip ? gzipped : plain, "text/javascript; charset=utf-8");
        });

    private static (byte[], byte[], string) Load()
    {
        using var stream = typeof(ChartLibrary).Assembly.GetManifestResourceStream(Resource)
            ?? throw new InvalidOperationException($"{Resource} is not built into {typeof(ChartLibrary).Assembly.GetName().Name}: the build's npm ci in services/WebConsole did not run");
        using var plain = new MemoryStream();
        stream.CopyTo(plain);
        using var gzipped = new MemoryStream();
        using (var compressor = new GZipStream(gzipped, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            compressor.Write(plain.GetBuffer(), 0, (int)plain.Length);
        }

        var hash = Convert.ToHexStringLower(SHA256.HashData(plain.ToArray()))[..12];
        return (plain.ToArray(), gzipped.ToArray(), $"/console/assets/echarts-{hash}.min.js");
    }
}
