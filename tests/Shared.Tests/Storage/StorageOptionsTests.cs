using Journey.Shared.Events;
using Journey.Shared.Hosting;
using Journey.Shared.Storage;
using Journey.Testing;

namespace Journey.Shared.Tests.Storage;

public sealed class StorageOptionsTests
{
    [Fact]
    public void Defaults_WhenNothingConfigured_AreEmbeddedSqliteInDotData()
    {
        var options = new StorageOptions();

        Assert.Equal(StorageProvider.Sqlite, options.EffectiveProvider);
        Assert.Equal(".data", options.DataDirectory);
        Assert.Equal("journey-", options.Mongo.DatabasePrefix);
        Assert.Equal(TimeSpan.FromSeconds(5), options.Mongo.ServerSelectionTimeout);
        Assert.Null(options.SqliteWriterCacheMiB);
        Assert.Equal(2, SqliteDatabase.DefaultWriterCacheMiB);
        Assert.Equal(2047, options.SqliteQueryMapMiB);
    }

    [Theory]
    [InlineData(nameof(StorageOptions.SqliteWriterCacheMiB), 1, "between 2 and 1024")]
    [InlineData(nameof(StorageOptions.SqliteWriterCacheMiB), 1025, "between 2 and 1024")]
    [InlineData(nameof(StorageOptions.SqliteQueryMapMiB), -1, "between 0 and 2047")]
    [InlineData(nameof(StorageOptions.SqliteQueryMapMiB), 2048, "between 0 and 2047")]
    public void Validate_WhenASqliteSizeIsOutOfRange_FailsNamingTheSettingAndRange(string setting, int mib, string range)
    {
        var options = setting == nameof(StorageOptions.SqliteWriterCacheMiB)
            ? new StorageOptions { SqliteWriterCacheMiB = mib }
            : new StorageOptions { SqliteQueryMapMiB = mib };

        OptionsAssert.FailsNaming(new StorageOptionsValidator(), options, setting, range);
    }

    [Fact]
    public void RetentionsAndRetryTime_Defaults_AreTheDocumentedOnes()
    {
        var options = new StorageOptions();

        Assert.Equal(TimeSpan.FromSeconds(10), options.Mongo.TransactionRetryTime);
        Assert.Equal(TimeSpan.FromDays(30), options.InboxRetention);
        Assert.Equal(TimeSpan.FromDays(730), options.AuditRetention);
    }

    [Fact]
    public void Validate_WhenTheInboxWouldForgetEventsWithinADay_FailsNamingTheSetting()
    {
        OptionsAssert.FailsNaming(new StorageOptionsValidator(), new StorageOptions { InboxRetention = TimeSpan.FromHours(1) }, nameof(StorageOptions.InboxRetention));
    }

    [Fact]
    public void EffectiveProvider_WhenOnlyConnectionStringSet_IsMongo()
    {
        var options = new StorageOptions { Mongo = { ConnectionString = "mongodb://127.0.0.1:27017/?replicaSet=rs0" } };

        Assert.Equal(StorageProvider.Mongo, options.EffectiveProvider);
    }

    [Fact]
    public void Validate_WhenMongoWithoutConnectionString_FailsNamingTheSetting()
    {
        OptionsAssert.FailsNaming(new StorageProviderRule(), new StorageOptions { Provider = StorageProvider.Mongo }, "Journey:Storage:Mongo:ConnectionString");
    }

    [Fact]
    public void Validate_WhenDatabasePrefixHasSpaces_FailsNamingTheSetting()
    {
        OptionsAssert.FailsNaming(new StorageOptionsValidator(), new StorageOptions { Mongo = { DatabasePrefix = "my db" } }, "Journey:Storage:Mongo:DatabasePrefix");
    }

    [Fact]
    public void EventsDefaults_AreInProcessWithBoundedRetries()
    {
        var options = new EventsOptions();

        Assert.Equal(EventTransport.InProcess, options.Transport);
        Assert.Equal("journey-pubsub", options.PubSubName);
        Assert.True(options.DeliveryEnabled);
        Assert.Equal(8, options.MaxAttempts);
        Assert.Equal(TimeSpan.FromMilliseconds(200), options.InitialBackoff);
        Assert.Equal(TimeSpan.FromMinutes(1), options.MaxBackoff);
        Assert.Equal(512, options.BatchSize);
        Assert.Equal(TimeSpan.FromSeconds(30), options.OutboxLease);
    }

    [Fact]
    public void EventsValidate_WhenPubSubNameHasCapitals_FailsNamingTheSetting()
    {
        OptionsAssert.FailsNaming(new EventsOptionsValidator(), new EventsOptions { PubSubName = "Journey PubSub" }, "Journey:Events:PubSubName");
    }

    [Fact]
    public void EventsValidate_WhenOutboxLeaseUnderASecond_FailsNamingTheSetting()
    {
        OptionsAssert.FailsNaming(new EventsOptionsValidator(), new EventsOptions { OutboxLease = TimeSpan.FromMilliseconds(500) }, "OutboxLease");
    }

    [Theory]
    [InlineData("localhost", null, "Journey:Hosting:Address")]
    [InlineData("127.0.0.1", "billing", "Journey:Hosting:Modules")]
    public void HostingValidate_WhenAddressOrModuleWrong_FailsNamingTheSetting(string address, string? module, string setting)
    {
        var options = new HostingOptions { Address = address, Modules = module is null ? null : [module] };

        OptionsAssert.FailsNaming(new HostingRules(["profile", "consent"]), options, setting);
    }

    [Fact]
    public void HostingDefaults_AreLoopbackPort5080AllModules()
    {
        var options = new HostingOptions();

        Assert.Equal("127.0.0.1", options.Address);
        Assert.Equal(5080, options.Port);
        Assert.Null(options.Modules);
        Assert.True(options.Reflection);
    }
}
