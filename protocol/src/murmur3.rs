//! Cassandra's Murmur3Partitioner token.

/// The token of a serialized partition key.
pub fn token(key: &[u8]) -> i64 {
    let _ = key;
    todo!()
}
