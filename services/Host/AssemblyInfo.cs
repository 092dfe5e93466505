using System.Runtime.CompilerServices;

// The host tests check the demo's simulated people (same seed, same people) without a running host.
[assembly: InternalsVisibleTo("Journey.Host.Tests")]
