//! The CQL data model on top of the engine: key layout, partition updates, and decoding
//! engine entries back into rows.

pub mod layout;
pub mod mutation;
pub mod read;

pub use mutation::{ClusteringRange, Operation, PartitionUpdate};
pub use read::{CellData, ClusteringLayout, Decoded, Decoder, FullRow, Row, StaticRows};
