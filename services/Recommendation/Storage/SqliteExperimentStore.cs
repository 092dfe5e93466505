using Journey.Recommendation.Domain;
using Journey.Shared.Errors;
using Journey.Shared.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using static Journey.Recommendation.Storage.SqliteSchema;
using static Journey.Shared.Storage.SqliteCommands;

namespace Journey.Recommendation.Storage;

internal sealed class SqliteExperimentStore([FromKeyedServices(RecommendationModule.Name)] SqliteDatabase db) : IExperimentStore
{
    private readonly SqliteDatabase _db = db.Migrated(Migrations);

    public Task CreateAsync(Experiment experiment, CancellationToken cancellationToken) =>
        _db.WriteAsync(async (connection, tx, ct) =>
        {
            try
            {
                return await ExecuteAsync(connection, tx, "INSERT INTO experiments (id, doc, created_at, running, version) VALUES ($id, $doc, $created, $running, $version)", ct, Parameters(experiment, 0));
            }
            catch (SqliteException ex) when (IsUniqueViolation(ex))
            {
                throw new AlreadyExistsException("Experiment", experiment.Name);
            }
        }, cancellationToken);

    public Task UpdateAsync(Experiment experiment, long storedVersion, CancellationToken cancellationToken) =>
        _db.WriteAsync(async (connection, tx, ct) =>
            await ExecuteAsync(connection, tx, "UPDATE experiments SET doc = $doc, running = $running, version = $version WHERE id = $id AND version = $stored", ct, Parameters(experiment, storedVersion)) == 0
                ? throw new ConcurrencyConflictException("Experiment", experiment.Name)
                : 0, cancellationToken);

    public Task<Experiment?> GetAsync(string id, CancellationToken cancellationToken) =>
        _db.ReadAsync(async (connection, ct) =>
        {
            await using var command = Command(connection, null, "SELECT doc FROM experiments WHERE id = $id", ("$id", id));
            return await command.ExecuteScalarAsync(ct) is string doc ? Json.Read<ExperimentDocument>(doc).ToDomain() : null;
        }, cancellationToken);

    public Task<IReadOnlyList<Experiment>> ListAsync((DateTimeOffset CreatedAt, string Id)? before, int limit, CancellationToken cancellationToken) =>
        QueryAsync(
            before is null
                ? "SELECT doc FROM experiments ORDER BY created_at DESC, id DESC LIMIT $limit"
                : "SELECT doc FROM experiments WHERE created_at < $at OR (created_at = $at AND id < $id) ORDER BY created_at DESC, id DESC LIMIT $limit",
            cancellationToken,
            ("$limit", limit), ("$at", before?.CreatedAt.ToUnixTimeMilliseconds() ?? 0), ("$id", before?.Id ?? ""));

    public Task<IReadOnlyList<Experiment>> ListRunningAsync(CancellationToken cancellationToken) =>
        QueryAsync("SELECT doc FROM experiments WHERE running = 1 ORDER BY created_at", cancellationToken);

    private Task<IReadOnlyList<Experiment>> QueryAsync(string sql, CancellationToken cancellationToken, params (string, object?)[] parameters) =>
        _db.ReadAsync<IReadOnlyList<Experiment>>(async (connection, ct) =>
        {
            await using var command = Command(connection, null, sql, parameters);
            var items = new List<Experiment>();
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                items.Add(Json.Read<ExperimentDocument>(reader.GetString(0)).ToDomain());
            }

            return items;
        }, cancellationToken);

    private static (string, object?)[] Parameters(Experiment experiment, long storedVersion) =>
    [
        ("$id", experiment.Id), ("$doc", Json.Write(ExperimentDocument.From(experiment))), ("$created", experiment.CreatedAt.ToUnixTimeMilliseconds()),
        ("$running", experiment.Running ? 1 : 0), ("$version", experiment.Version), ("$stored", storedVersion),
    ];
}
