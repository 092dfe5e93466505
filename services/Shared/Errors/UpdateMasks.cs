using Google.Protobuf.WellKnownTypes;

namespace Journey.Shared.Errors;

/// <summary>
/// Reads an <c>update_mask</c> the one way every update method does (AIP-134): at least one path, each
/// a field the method can change, or <c>*</c> alone for every one of them. An empty mask is refused
/// rather than read as "everything", so a client that forgot the mask never overwrites fields it did
/// not send. A path may be written as in the proto (<c>display_name</c>) or as in protobuf's JSON
/// mapping (<c>displayName</c>), which is how a JSON/HTTP client's <c>?updateMask=</c> arrives (0027).
/// </summary>
public static class UpdateMasks
{
    /// <summary>The flags of <paramref name="mask"/>'s paths; INVALID_ARGUMENT on <c>update_mask</c> when it is empty or names a path not in <paramref name="paths"/>.</summary>
    /// <param name="mask">The request's mask; null counts as empty.</param>
    /// <param name="paths">Every path that can change, with its flag.</param>
    /// <param name="all">The flags <c>*</c> stands for.</param>
    public static TFlags Parse<TFlags>(FieldMask? mask, IReadOnlyDictionary<string, TFlags> paths, TFlags all)
        where TFlags : struct, System.Enum
    {
        ArgumentNullException.ThrowIfNull(paths);
        var known = string.Join(", ", paths.Keys);
        if (mask is null || mask.Paths.Count == 0)
        {
            throw new InvalidArgumentException("update_mask", $"must name at least one field to change ({known}), or '*' for all of them");
        }

        if (mask.Paths.Count == 1 && mask.Paths[0] == "*")
        {
            return all;
        }

        ulong result = 0;
        foreach (var path in mask.Paths)
        {
            result |= paths.TryGetValue(path, out var flag) || paths.TryGetValue(SnakeCase(path), out flag)
                ? Convert.ToUInt64(flag, System.Globalization.CultureInfo.InvariantCulture)
                : throw new InvalidArgumentException("update_mask", $"'{(path.Length > 64 ? path[..64] : path)}' is not a field that can change; use {known}, or '*' alone");
        }

        return (TFlags)System.Enum.ToObject(typeof(TFlags), result);
    }

    /// <summary><c>intendedExperience.targetRating</c> as <c>intended_experience.target_rating</c>.</summary>
    private static string SnakeCase(string path)
    {
        if (!path.Any(char.IsAsciiLetterUpper))
        {
            return path;
        }

        var snake = new System.Text.StringBuilder(path.Length + 4);
        foreach (var c in path)
        {
            if (char.IsAsciiLetterUpper(c))
            {
                snake.Append('_').Append(char.ToLowerInvariant(c));
            }
            else
            {
                snake.Append(c);
            }
        }

        return snake.ToString();
    }
}
