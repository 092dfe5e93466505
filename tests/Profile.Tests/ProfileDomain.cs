using Journey.Profile.Domain;
using Journey.Profile.Events;
using Journey.Shared.Privacy;
using Journey.Shared.Reports;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Journey.Profile.Tests;

/// <summary>The profile use cases over given stores, wired by hand as <see cref="ProfileModule"/> wires them, with default options and a zero key.</summary>
internal sealed class ProfileDomain
{
    public ProfileDomain(IProfileStore store, ISegmentStore segmentStore, TimeProvider time)
    {
        var options = Options.Create(new ProfileOptions());
        var definitions = new SegmentDefinitions(segmentStore, options, time);
        var events = new ProfileEventMapper();
        var changes = new ProfileChanges();
        var input = new ProfileInput(Hasher, IdentifierPolicy.Default);
        var tombstones = new ErasureTombstones(Hasher, Options.Create(new PrivacyOptions()));
        var protector = new PersonalDataProtector(new byte[32]);
        var writes = new IdentityWrites(store, definitions, events, changes, options, NullLogger<IdentityWrites>.Instance);
        Identity = new IdentityUseCases(writes, input, protector, options, time, NullLogger<IdentityUseCases>.Instance);
        Ingest = new IngestUseCases(writes, store, tombstones, options, time);
        Lookup = new LookupUseCases(store, input, protector, changes, options, time);
        Erasure = new ErasureUseCases(store, input, events, tombstones, changes, options, time, NullLogger<ErasureUseCases>.Instance);
        Memberships = new MembershipUseCases(store, definitions, events, changes, options, time);
        Segments = new SegmentUseCases(segmentStore, definitions, store, Memberships, new AudienceNoise(new byte[32], options.Value.AudienceNoiseEpsilon),
            new ReportCache<AudienceKey, AudienceDescription>(Options.Create(new ReportsOptions()), time, NullLogger<ReportCache<AudienceKey, AudienceDescription>>.Instance), options, time);
    }

    /// <summary>The identifier hasher, with the same zero key the use cases hash with.</summary>
    public IdentifierHasher Hasher { get; } = new(new byte[32]);

    public IdentityUseCases Identity { get; }

    public IngestUseCases Ingest { get; }

    public LookupUseCases Lookup { get; }

    public ErasureUseCases Erasure { get; }

    public MembershipUseCases Memberships { get; }

    public SegmentUseCases Segments { get; }
}
