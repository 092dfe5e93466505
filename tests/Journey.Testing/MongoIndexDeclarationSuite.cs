using Journey.Shared.Storage;
using Xunit;

namespace Journey.Testing;

/// <summary>
/// What every service's MongoDB adapters promise about their indexes: built on a server that never
/// answers, they send nothing and only declare. Each service names its adapters and what they declare.
/// </summary>
public abstract class MongoIndexDeclarationSuite : IDisposable
{
    /// <summary>Creates the unreachable store of <paramref name="service"/>'s database.</summary>
    protected MongoIndexDeclarationSuite(string service)
    {
        Mongo = new UnreachableMongo(service);
    }

    /// <summary>The store whose server never answers.</summary>
    protected UnreachableMongo Mongo { get; }

    /// <summary>Builds every MongoDB adapter of the service on <paramref name="store"/>.</summary>
    protected abstract void ConstructAdapters(MongoStore store);

    /// <summary>Asserts what the adapters built by <see cref="ConstructAdapters"/> declared.</summary>
    protected abstract void AssertDeclared(UnreachableMongo mongo);

    [Fact]
    public void Constructors_WithNoServerReachable_SendNothingAndDeclareTheirIndexes()
    {
        ConstructAdapters(Mongo.Store);

        Assert.False(Mongo.Store.Indexes.Ready);
        AssertDeclared(Mongo);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Mongo.Dispose();
        GC.SuppressFinalize(this);
    }
}
