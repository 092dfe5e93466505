using Grpc.Core;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Http;

namespace Journey.WebConsole.Components;

/// <summary>
/// A console view: calls the public APIs with the signed-in person's token and turns what they
/// refuse into what the person should do (sign in, ask for a scope), never into an error page.
/// The page answers with a refusal's status (403, 400, 503) only when nothing of it could be shown;
/// a page whose other sections were answered is a 200 that says, in the refused section, why.
/// </summary>
public abstract class ConsolePage : ComponentBase
{
    /// <summary>The public APIs.</summary>
    [Inject]
    protected ConsoleApi Api { get; set; } = default!;

    [Inject]
    private NavigationManager Navigation { get; set; } = default!;

    [Inject]
    private IHttpContextAccessor Http { get; set; } = default!;

    private bool _answered;
    private bool _refused;
    private bool _notFound;

    /// <summary>Why part of the page could not be shown, or null. A page with independent sections reads and clears it after each.</summary>
    protected string? Problem { get; set; }

    /// <summary>
    /// Calls one API method whose NOT_FOUND means there is nothing of the kind yet (a person with no
    /// consent decision): answers <paramref name="absent"/> then, not a problem; other refusals as <see cref="CallAsync{T}"/>.
    /// </summary>
    protected async Task<T?> CallOrAbsentAsync<T>(Func<CallOptions, AsyncUnaryCall<T>> call, T absent)
        where T : class
    {
        var answer = await CallAsync(call);
        if (answer is null && _notFound)
        {
            Problem = null;
            return absent;
        }

        return answer;
    }

    /// <summary>Calls one API method; on refusal records <see cref="Problem"/> and returns null.</summary>
    protected async Task<T?> CallAsync<T>(Func<CallOptions, AsyncUnaryCall<T>> call)
        where T : class
    {
        _notFound = false;
        if (!Api.SignedIn)
        {
            Navigation.NavigateTo($"/console/sign-in?return={Uri.EscapeDataString(new Uri(Navigation.Uri).PathAndQuery)}");
            return null;
        }

        try
        {
            var answer = await call(Api.Call(CancellationToken.None));
            Answered();
            return answer;
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.Unauthenticated)
        {
            Navigation.NavigateTo($"/console/sign-in?return={Uri.EscapeDataString(new Uri(Navigation.Uri).PathAndQuery)}&expired=1");
            return null;
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.PermissionDenied)
        {
            Refused(StatusCodes.Status403Forbidden, $"Your sign-in may not see this: {ex.Status.Detail}");
            return null;
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound)
        {
            // Said in the page with 200: a 404 set while rendering makes the renderer drop the page's body.
            Problem = ex.Status.Detail;
            _notFound = true;
            Answered();
            return null;
        }
        catch (RpcException ex) when (ex.StatusCode is StatusCode.InvalidArgument or StatusCode.FailedPrecondition or StatusCode.OutOfRange)
        {
            Refused(StatusCodes.Status400BadRequest, ex.Status.Detail);
            return null;
        }
        catch (RpcException ex)
        {
            Refused(StatusCodes.Status503ServiceUnavailable, $"The service did not answer ({ex.StatusCode}): {ex.Status.Detail}");
            return null;
        }
    }

    /// <summary>
    /// Shows <paramref name="problem"/> in the page, answered with <paramref name="status"/> so tools see
    /// it too, unless another call of the page was answered.
    /// </summary>
    private void Refused(int status, string problem)
    {
        Problem = problem;
        if (!_answered && Http.HttpContext is { Response.HasStarted: false } context)
        {
            _refused = true;
            context.Response.StatusCode = status;
        }
    }

    /// <summary>Part of the page can be shown: an earlier refusal no longer decides its status.</summary>
    private void Answered()
    {
        _answered = true;
        if (_refused && Http.HttpContext is { Response.HasStarted: false } context)
        {
            _refused = false;
            context.Response.StatusCode = StatusCodes.Status200OK;
        }
    }
}
