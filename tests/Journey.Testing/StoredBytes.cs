namespace Journey.Testing;

/// <summary>
/// Reads stores' files byte for byte, as anyone holding the disk could: a database, its write-ahead
/// log and its shared-memory index, or every file under a data directory.
/// </summary>
public static class StoredBytes
{
    /// <summary>A SQLite database file and, where they exist, its <c>-wal</c> and <c>-shm</c> files.</summary>
    public static IEnumerable<string> FilesOf(string databasePath) =>
        new[] { databasePath, databasePath + "-wal", databasePath + "-shm" }.Where(File.Exists);

    /// <summary>Every file under <paramref name="directory"/>.</summary>
    public static IEnumerable<string> FilesUnder(string directory) => Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories);

    /// <summary>Where each of <paramref name="needles"/> occurs in <paramref name="files"/>: one line per file and needle found, with the count.</summary>
    public static List<string> Find(IEnumerable<string> files, IReadOnlyDictionary<string, byte[]> needles)
    {
        var found = new List<string>();
        foreach (var file in files)
        {
            var bytes = Read(file);
            foreach (var (name, needle) in needles)
            {
                var count = Count(bytes, needle);
                if (count > 0)
                {
                    found.Add($"{Path.GetFileName(file)}: {name} x{count}");
                }
            }
        }

        return found;
    }

    private static byte[] Read(string file)
    {
        // Shared with the writer that may still hold the file open.
        using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    private static int Count(byte[] haystack, byte[] needle)
    {
        var count = 0;
        var rest = haystack.AsSpan();
        for (var at = rest.IndexOf(needle); at >= 0; at = rest.IndexOf(needle))
        {
            count++;
            rest = rest[(at + 1)..];
        }

        return count;
    }
}
