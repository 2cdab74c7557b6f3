//! The versions Strata presents itself as, to drivers (`system.local`, SUPPORTED), to
//! other nodes (gossip) and to operators (`nodetool version`, the start-up log). A leaf
//! module, so that every layer can name them without depending on the one printing them.

/// The Apache Cassandra release Strata is compatible with.
pub const RELEASE_VERSION: &str = "5.0.0";
/// The CQL language version (`system.local.cql_version`, SUPPORTED's `CQL_VERSION`).
pub const CQL_VERSION: &str = "3.4.7";
/// The highest native protocol version served, as `system.local` reports it.
pub const NATIVE_PROTOCOL_VERSION: &str = "5";
/// The partitioner Strata's tokens are (Murmur3), as Cassandra names it.
pub const PARTITIONER: &str = "org.apache.cassandra.dht.Murmur3Partitioner";
