using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Journey.Shared.Hosting;

/// <summary>
/// Binds a settings class to its configuration section and validates it at start-up, with failures
/// that name the section. The options validation generator words its messages after the class and
/// property ("The field TouchpointOptions.RetentionDays must be between 1 and 3650.") and ignores
/// the <c>ErrorMessage</c> of <c>[Range]</c> (dotnet/runtime#123137), so without the section an
/// operator would have to know which class reads which of the platform's settings.
/// </summary>
public static class ValidatedOptions
{
    /// <summary>
    /// Binds <typeparamref name="TOptions"/> to <paramref name="section"/>, validates it with the
    /// generated <typeparamref name="TValidator"/> when the host starts, and puts the section in front
    /// of every failure that does not already name it.
    /// </summary>
    public static OptionsBuilder<TOptions> AddValidatedOptions<TOptions, TValidator>(this IServiceCollection services, string section)
        where TOptions : class
        where TValidator : class, IValidateOptions<TOptions>
    {
        services.AddSingleton<TValidator>();
        services.AddSingleton<IValidateOptions<TOptions>>(sp => new SectionNamed<TOptions>(section, sp.GetRequiredService<TValidator>()));
        return services.AddOptions<TOptions>().BindConfiguration(section).ValidateOnStart();
    }

    private sealed class SectionNamed<TOptions>(string section, IValidateOptions<TOptions> inner) : IValidateOptions<TOptions>
        where TOptions : class
    {
        public ValidateOptionsResult Validate(string? name, TOptions options)
        {
            var result = inner.Validate(name, options);
            return result.Failed
                ? ValidateOptionsResult.Fail(result.Failures.Select(f => f.Contains(section + ":", StringComparison.Ordinal) ? f : $"{section}: {f}"))
                : result;
        }
    }
}
