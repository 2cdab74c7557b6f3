//! The CQL data model on top of the engine: key layout, partition updates, and decoding
//! engine entries back into rows.

// Client input (or, for storage, bytes read back from disk) must never panic the server:
// the protocol and engine crates' lints, here for this module (tests may unwrap).
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod layout;
pub mod mutation;
pub mod read;

pub use mutation::{ClusteringRange, Operation, PartitionUpdate};
pub use read::{CellData, ClusteringLayout, Decoded, Decoder, Row, StaticRows};
