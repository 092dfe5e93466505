using System.Text;

namespace Journey.Shared.Storage;

/// <summary>
/// A secret created once in the data directory (a signing key, a hashing or encryption key) and read
/// back by everyone who opens the folder, readable by the owner only.
/// </summary>
/// <remarks>
/// The file is created exclusively (O_EXCL), so processes and threads opening a fresh folder at once end
/// up with one secret. A temporary file moved into place with <c>File.Move(overwrite: false)</c> did
/// not do: with four threads opening fresh folders together, about one round in 25 left threads holding
/// different secrets in memory while only one of them was on disk.
/// </remarks>
public static class KeyFile
{
    // The creator holds the file exclusively while it writes, so this only covers the instant between its create and its lock.
    private static readonly TimeSpan WriterGrace = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Returns the secret in <paramref name="path"/>, writing <paramref name="create"/>'s text first when
    /// the file does not exist. <paramref name="isWhole"/> tells a complete secret from one another
    /// process is still writing; a file that never becomes whole throws <see cref="KeyFileException"/>
    /// with <paramref name="whenDamaged"/> as the advice.
    /// </summary>
    public static string ReadOrCreate(string path, Func<string> create, Func<string, bool> isWhole, string whenDamaged)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        FileStream? file = null;
        try
        {
            file = new FileStream(path, options);
        }
        catch (IOException) when (File.Exists(path))
        {
        }

        if (file is not null)
        {
            using (file)
            {
                var secret = create();
                file.Write(Encoding.UTF8.GetBytes(secret));
                file.Flush(flushToDisk: true);
                return secret;
            }
        }

        var deadline = DateTime.UtcNow + WriterGrace;
        while (true)
        {
            string? text = null;
            try
            {
                text = File.ReadAllText(path);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                // The creator still holds it exclusively.
            }

            if (text is not null && isWhole(text))
            {
                return text;
            }

            if (DateTime.UtcNow >= deadline)
            {
                throw new KeyFileException($"The key file '{path}' holds no usable key. {whenDamaged}");
            }

            Thread.Sleep(10);
        }
    }
}

/// <summary>A key file exists but holds no usable key; the message says what to do.</summary>
public sealed class KeyFileException(string message) : Exception(message);
