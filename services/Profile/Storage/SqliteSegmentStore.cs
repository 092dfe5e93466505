using Journey.Profile.Domain;
using Journey.Shared.Errors;
using Journey.Shared.Paging;
using Journey.Shared.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using static Journey.Shared.Storage.SqliteCommands;

namespace Journey.Profile.Storage;

/// <summary>Segment definitions and members in the service's SQLite file.</summary>
internal sealed class SqliteSegmentStore([FromKeyedServices(ProfileModule.Name)] SqliteDatabase db) : ISegmentStore
{
    private readonly SqliteDatabase _db = db.Migrated(ProfileSqliteSchema.Migrations);

    public Task CreateAsync(Segment segment, CancellationToken cancellationToken) =>
        _db.WriteAsync(async (connection, tx, ct) =>
        {
            try
            {
                return await ExecuteAsync(
                    connection,
                    tx,
                    "INSERT INTO segments (id, display_name, rule, created_at) VALUES ($id, $name, $rule, $at)",
                    ct,
                    ("$id", segment.Id),
                    ("$name", segment.DisplayName),
                    ("$rule", RuleDocument.Serialize(segment.Rule)),
                    ("$at", segment.CreatedAt.ToUnixTimeMilliseconds()));
            }
            catch (SqliteException ex) when (ex.SqliteErrorCode == 19)
            {
                throw new AlreadyExistsException("Segment", "segments/" + segment.Id);
            }
        }, cancellationToken);

    public Task<Segment?> GetAsync(string id, CancellationToken cancellationToken) =>
        _db.ReadAsync(async (connection, ct) =>
        {
            await using var command = Command(connection, null, "SELECT id, display_name, rule, created_at FROM segments WHERE id = $id", ("$id", id));
            return (await ReadAsync(command, ct)).FirstOrDefault();
        }, cancellationToken);

    public async Task<Page<Segment>> ListAsync(int pageSize, string pageToken, CancellationToken cancellationToken)
    {
        var after = PageTokens.Decode(pageToken);
        var rows = await _db.ReadAsync(async (connection, ct) =>
        {
            await using var command = Command(connection, null, "SELECT id, display_name, rule, created_at FROM segments WHERE id > $after ORDER BY id LIMIT $limit", ("$after", after), ("$limit", pageSize + 1));
            return await ReadAsync(command, ct);
        }, cancellationToken);
        var page = rows.Take(pageSize).ToList();
        return new Page<Segment>(page, rows.Count > pageSize ? PageTokens.Encode(page[^1].Id) : "");
    }

    public Task<IReadOnlyList<Segment>> ListAllAsync(CancellationToken cancellationToken) =>
        _db.ReadAsync<IReadOnlyList<Segment>>(async (connection, ct) =>
        {
            await using var command = Command(connection, null, "SELECT id, display_name, rule, created_at FROM segments ORDER BY id");
            return await ReadAsync(command, ct);
        }, cancellationToken);

    public Task<bool> DeleteAsync(string id, CancellationToken cancellationToken) =>
        _db.WriteAsync(async (connection, tx, ct) =>
        {
            await ExecuteAsync(connection, tx, "DELETE FROM segment_members WHERE segment_id = $id", ct, ("$id", id));
            return await ExecuteAsync(connection, tx, "DELETE FROM segments WHERE id = $id", ct, ("$id", id)) == 1;
        }, cancellationToken);

    public async Task<Page<string>> ListMembersAsync(string segmentId, int pageSize, string pageToken, CancellationToken cancellationToken)
    {
        var after = PageTokens.Decode(pageToken);
        var rows = await _db.ReadAsync(async (connection, ct) =>
        {
            await using var command = Command(
                connection,
                null,
                "SELECT profile_id FROM segment_members WHERE segment_id = $segment AND profile_id > $after ORDER BY profile_id LIMIT $limit",
                ("$segment", segmentId),
                ("$after", after),
                ("$limit", pageSize + 1));
            var ids = new List<string>();
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                ids.Add(reader.GetString(0));
            }

            return ids;
        }, cancellationToken);
        var page = rows.Take(pageSize).ToList();
        return new Page<string>(page, rows.Count > pageSize ? PageTokens.Encode(page[^1]) : "");
    }

    private static async Task<List<Segment>> ReadAsync(SqliteCommand command, CancellationToken ct)
    {
        var segments = new List<Segment>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            segments.Add(new Segment(reader.GetString(0), reader.GetString(1), RuleDocument.Deserialize(reader.GetString(2)), ProfileDocument.Time(reader.GetInt64(3))));
        }

        return segments;
    }
}
