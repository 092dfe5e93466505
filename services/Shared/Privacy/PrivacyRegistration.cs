using Journey.Shared.Hosting;
using Journey.Shared.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Journey.Shared.Privacy;

/// <summary>Registers the personal-data keys and what uses them.</summary>
public static class PrivacyRegistration
{
    /// <summary>
    /// Registers <see cref="PersonalDataProtector"/> for a service that keeps personal values in clear
    /// form at rest. Only a process running such a service requires <c>Journey:Privacy:EncryptionKey</c>
    /// with MongoDB, so only its Deployment holds that key.
    /// </summary>
    public static IServiceCollection AddPersonalDataProtection(this IServiceCollection services)
    {
        services.TryAddSingleton(sp => new PersonalDataProtector(PrivacyKeys.EncryptionKey(
            sp.GetRequiredService<IOptions<PrivacyOptions>>().Value, sp.GetRequiredService<IOptions<StorageOptions>>().Value)));
        return services;
    }

    /// <summary>The options, their rules, <see cref="IdentifierHasher"/>, <see cref="IdentifierPolicy"/> and <see cref="ErasureTombstones"/>, which every service uses.</summary>
    internal static IServiceCollection AddPrivacyKeys(this IServiceCollection services)
    {
        services.AddValidatedOptions<PrivacyOptions, PrivacyOptionsValidator>(PrivacyOptions.Section);
        services.AddSingleton<IValidateOptions<PrivacyOptions>, SharedKeysRule>();
        services.AddSingleton(sp => new IdentifierHasher(PrivacyKeys.IdentifierHashKey(
            sp.GetRequiredService<IOptions<PrivacyOptions>>().Value, sp.GetRequiredService<IOptions<StorageOptions>>().Value)));
        services.AddValidatedOptions<IdentityOptions, IdentityOptionsValidator>(IdentityOptions.Section);
        services.AddSingleton<IdentifierPolicy>();
        services.AddSingleton<ErasureTombstones>();
        return services;
    }
}
