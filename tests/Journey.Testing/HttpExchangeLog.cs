using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace Journey.Testing;

/// <summary>
/// What a host under test was asked over HTTP and what it answered, recorded by a middleware in
/// front of its pipeline: the server's side of what a browser sent (preflights, Content-Type,
/// Origin) and of the CORS headers it got back.
/// </summary>
public sealed class HttpExchangeLog : IStartupFilter
{
    private readonly ConcurrentQueue<HttpExchange> _exchanges = new();

    /// <summary>The exchanges so far, in the order they finished.</summary>
    public IReadOnlyList<HttpExchange> Exchanges => [.. _exchanges];

    /// <summary>Registers the log with a host's services (TestPlatform's configureServices).</summary>
    public void AddTo(IServiceCollection services) => services.AddSingleton<IStartupFilter>(this);

    /// <inheritdoc />
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use(async (context, following) =>
        {
            await following(context);
            var request = context.Request;
            var response = context.Response.Headers;
            _exchanges.Enqueue(new HttpExchange(
                request.Method, request.Path.Value ?? "", request.Headers.Origin.ToString(), request.ContentType ?? "",
                request.Headers.AccessControlRequestHeaders.ToString(), context.Response.StatusCode,
                response.AccessControlAllowOrigin.ToString(), response.AccessControlAllowHeaders.ToString()));
        });
        next(app);
    };
}

/// <summary>One request to the host and its answer.</summary>
/// <param name="Method">The HTTP method.</param>
/// <param name="Path">The request path.</param>
/// <param name="Origin">The Origin header, empty when none.</param>
/// <param name="ContentType">The Content-Type, empty when none.</param>
/// <param name="RequestedHeaders">A preflight's Access-Control-Request-Headers.</param>
/// <param name="Status">The answer's status.</param>
/// <param name="AllowOrigin">The answer's Access-Control-Allow-Origin, empty when none.</param>
/// <param name="AllowHeaders">The answer's Access-Control-Allow-Headers, empty when none.</param>
public sealed record HttpExchange(string Method, string Path, string Origin, string ContentType, string RequestedHeaders, int Status, string AllowOrigin, string AllowHeaders);
