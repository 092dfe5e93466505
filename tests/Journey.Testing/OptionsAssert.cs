using Microsoft.Extensions.Options;
using Xunit;

namespace Journey.Testing;

/// <summary>Assertions on validated options: a bad value must fail and the message must name it.</summary>
public static class OptionsAssert
{
    /// <summary>Asserts that <paramref name="validator"/> refuses <paramref name="options"/> with a message holding every one of <paramref name="expected"/>.</summary>
    public static void FailsNaming<TOptions>(IValidateOptions<TOptions> validator, TOptions options, params string[] expected)
        where TOptions : class
    {
        ArgumentNullException.ThrowIfNull(validator);
        ArgumentNullException.ThrowIfNull(expected);
        var result = validator.Validate(null, options);

        Assert.True(result.Failed);
        foreach (var text in expected)
        {
            Assert.Contains(text, result.FailureMessage, StringComparison.Ordinal);
        }
    }
}
