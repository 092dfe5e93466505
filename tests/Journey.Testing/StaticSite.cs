using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Logging;

namespace Journey.Testing;

/// <summary>
/// A static web server on its own loopback port, so a page it serves is of another origin than the
/// host under test and the browser applies CORS for real.
/// </summary>
public sealed class StaticSite : IAsyncDisposable
{
    private readonly WebApplication _app;

    private StaticSite(WebApplication app, string origin)
    {
        _app = app;
        Origin = origin;
    }

    /// <summary>The site's origin, e.g. <c>http://127.0.0.1:41234</c>.</summary>
    public string Origin { get; }

    /// <summary>
    /// Serves each folder of <paramref name="folders"/> under its path prefix (e.g. <c>/sdk</c>) and
    /// each page of <paramref name="pages"/> (a path and a file) as HTML.
    /// </summary>
    public static async Task<StaticSite> StartAsync(IReadOnlyDictionary<string, string> folders, IReadOnlyDictionary<string, string>? pages = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        foreach (var (prefix, folder) in folders)
        {
            app.UseStaticFiles(new StaticFileOptions { RequestPath = prefix, FileProvider = new PhysicalFileProvider(folder), ServeUnknownFileTypes = true });
        }

        foreach (var (path, file) in pages ?? new Dictionary<string, string>())
        {
            app.MapGet(path, () => Results.File(file, "text/html; charset=utf-8"));
        }

        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new StaticSite(app, address.TrimEnd('/'));
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
