using Grpc.Core;
using Journey.Profile.Domain;
using Journey.Profile.V1;
using Journey.Shared.Errors;
using Journey.Shared.Privacy;

namespace Journey.Profile.Grpc;

/// <summary>The gRPC face of the profile service.</summary>
internal sealed class ProfileGrpcService(ProfileJourney journey, IdentifierHasher hasher) : ProfileService.ProfileServiceBase
{
    public override async Task<GetProfileResponse> GetProfile(GetProfileRequest request, ServerCallContext context) =>
        new() { Profile = ProfileMapping.ToProto(await journey.GetAsync(ProfileMapping.IdFromName(request.Name), context.CancellationToken)) };

    public override async Task<LookupProfileResponse> LookupProfile(LookupProfileRequest request, ServerCallContext context) =>
        new() { Profile = ProfileMapping.ToProto(await journey.LookupAsync(ProfileMapping.ToLookupKey(request.Identifier, hasher), context.CancellationToken)) };
}

/// <summary>Between the proto contract and the domain.</summary>
internal static class ProfileMapping
{
    private const string Prefix = "profiles/";

    public static V1.Profile ToProto(PersonProfile profile)
    {
        var proto = new V1.Profile
        {
            Name = Prefix + profile.Id,
            CustomerType = (Journey.Events.V1.CustomerType)profile.CustomerType,
            Stage = (Common.V1.JourneyStage)profile.Stage,
            InteractionCount = profile.InteractionCount,
            FirstInteractionTime = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(profile.FirstInteractionAt),
            LastInteractionTime = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(profile.LastInteractionAt),
            Etag = profile.Version.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        proto.Identifiers.AddRange(profile.Identifiers.Select(i => new Common.V1.Identifier { Kind = (Common.V1.IdentifierKind)i.Kind, Value = i.Value }));
        return proto;
    }

    public static string IdFromName(string name) =>
        name.StartsWith(Prefix, StringComparison.Ordinal) && Guid.TryParse(name.AsSpan(Prefix.Length), out _)
            ? name[Prefix.Length..]
            : throw new InvalidArgumentException("name", "must be a profile name like profiles/0190f3c2-…");

    /// <summary>The stored form of a looked-up identifier: e-mail and phone are compared by their keyed hash.</summary>
    public static PersonIdentifier ToLookupKey(Common.V1.Identifier? identifier, IdentifierHasher hasher)
    {
        var validation = new Validation();
        validation.Require(identifier is not null, "identifier", "is required");
        validation.ThrowIfInvalid();
        var kind = (Domain.IdentifierKind)identifier!.Kind;
        validation
            .Require(kind != Domain.IdentifierKind.Unspecified && Enum.IsDefined(kind), "identifier.kind", "must be set to a known identifier kind")
            .Require(identifier.Value.Trim().Length is >= 1 and <= 256, "identifier.value", "must be 1 to 256 characters")
            .ThrowIfInvalid();
        return kind switch
        {
            Domain.IdentifierKind.Email => new PersonIdentifier(kind, hasher.HashEmail(identifier.Value)),
            Domain.IdentifierKind.Phone => new PersonIdentifier(kind, hasher.HashPhone(identifier.Value)),
            _ => new PersonIdentifier(kind, identifier.Value.Trim()),
        };
    }
}
