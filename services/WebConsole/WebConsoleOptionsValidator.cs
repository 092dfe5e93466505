using Microsoft.Extensions.Options;

namespace Journey.WebConsole;

/// <summary>Start-up validation of <see cref="WebConsoleOptions"/>.</summary>
public sealed class WebConsoleOptionsValidator : IValidateOptions<WebConsoleOptions>
{
    /// <inheritdoc/>
    public ValidateOptionsResult Validate(string? name, WebConsoleOptions options) =>
        string.IsNullOrWhiteSpace(options.ApiAddress)
        || (Uri.TryCreate(options.ApiAddress, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https")
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail($"{WebConsoleOptions.Section}:ApiAddress must be an absolute http:// or https:// address, not '{options.ApiAddress}'.");
}
