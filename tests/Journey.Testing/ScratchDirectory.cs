namespace Journey.Testing;

/// <summary>
/// A temporary folder for one test's data, removed with everything in it on dispose. Host-process tests
/// write whole databases (a crash test leaves about 120 MB), so a run on a developer's machine or in CI
/// must not leave them behind. Dispose it after the hosts using it have stopped.
/// </summary>
public sealed class ScratchDirectory : IDisposable
{
    /// <summary>Creates a new folder under the system's temp folder, named <paramref name="prefix"/> plus a random suffix.</summary>
    public ScratchDirectory(string prefix) => Path = Directory.CreateTempSubdirectory(prefix).FullName;

    /// <summary>The folder's full path.</summary>
    public string Path { get; }

    /// <inheritdoc />
    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A file a process still holds open goes with the temp folder's own clean-up; not worth failing a test.
        }
    }
}
