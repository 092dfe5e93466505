namespace Journey.Shared.Errors;

/// <summary>
/// Collects every violation of a request before throwing once, so a caller fixes all fields in one
/// round trip instead of discovering them one at a time.
/// </summary>
public sealed class Validation
{
    private List<FieldViolation>? _violations;

    /// <summary>True when nothing has been reported.</summary>
    public bool IsValid => _violations is null;

    /// <summary>Records a violation when <paramref name="condition"/> is false.</summary>
    public Validation Require(bool condition, string field, string description)
    {
        if (!condition)
        {
            Add(field, description);
        }

        return this;
    }

    /// <summary>Records a violation.</summary>
    public Validation Add(string field, string description)
    {
        (_violations ??= []).Add(new FieldViolation(field, description));
        return this;
    }

    /// <summary>The violations recorded so far.</summary>
    public IReadOnlyList<FieldViolation> Violations => _violations ?? (IReadOnlyList<FieldViolation>)[];

    /// <summary>Throws <see cref="InvalidArgumentException"/> when anything was recorded.</summary>
    public void ThrowIfInvalid()
    {
        if (_violations is not null)
        {
            throw new InvalidArgumentException(_violations);
        }
    }
}
