using Journey.Common.V1;
using Journey.Touchpoint.V1;

namespace Journey.Host.Tests;

/// <summary>The touchpoint the end-to-end tests record on: an owned web page of criticality 3.</summary>
internal static class WebTouchpoints
{
    public static Touchpoint.V1.Touchpoint Create(string displayName, JourneyStage stage, string statement, double targetRating = 4) => new()
    {
        DisplayName = displayName,
        Channel = Channel.Web,
        Ownership = Ownership.Owned,
        Stages = { stage },
        Criticality = 3,
        IntendedExperience = new IntendedExperience { TargetRating = targetRating, Statement = statement },
    };
}
