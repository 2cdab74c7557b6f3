//! CQL native protocol v4 and v5 wire format, sans-IO.
//!
//! This crate knows bytes only: no tokio, no sockets, no CQL text parsing, no storage. The server wraps
//! [`ServerCodec`] in a tokio-util codec; everything here can be fuzzed and unit-tested without a runtime.
//!
//! # Decision: our own codec, not the `cassandra-protocol` crate
//! We do not depend on `cassandra-protocol`. Checked against 4.0.1, it panics on malformed input (slices before
//! checking lengths, allocates by attacker-stated sizes), does not strip custom payloads from request bodies,
//! drops the `skip_metadata` query flag and lacks error codes 0x1600/0x1700 (design brief
//! `protocol-and-drivers.md` §3.2). Instead this crate has a strict, bounded, non-panicking decoder and encoder
//! of its own. Compression uses `lz4_flex` (LZ4 block format) and `snap` (raw snappy); CRC32 uses `crc32fast`;
//! CRC24 (v5 segment headers) is implemented in [`segment`] because no maintained crate has Cassandra's variant.
//!
//! # Layout
//! - [`frame`]: the 9-byte envelope header (version, flags, stream, opcode, length), checked before any
//!   allocation ("two-phase": header complete and length within limits, then the body is taken).
//! - [`segment`]: v5 framing (CRC24 header, CRC32 trailer, self-contained and split payloads, LZ4 variant).
//! - [`compression`]: v4 per-envelope compression (LZ4 with a big-endian length prefix, snappy).
//! - [`types`]: the spec's primitive notations: a bounded reader that never panics and writer helpers.
//! - [`request`]: one file per request opcode, decoded from an [`Envelope`] into a [`Request`].
//! - [`response`]: one file per response opcode, encoded from a [`Response`].
//! - [`codec`]: the per-connection state machine: version negotiation, compression, v5 framing switch.
//! - [`murmur3`]: Cassandra's Murmur3Partitioner token.
//! - [`error`]: typed errors per layer.
//!
//! # Invariants
//! - No input makes decoding panic; every length and count read from the wire is checked against the
//!   bytes actually present and against [`Limits`] before anything is allocated.
//! - Responses are always encoded with the connection's negotiated version.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod codec;
pub mod compression;
pub mod error;
pub mod frame;
pub mod murmur3;
pub mod request;
pub mod response;
pub mod segment;
pub mod types;

pub use codec::{unsupported_version_response, Limits, ResponseFrame, ServerCodec};
pub use compression::Compression;
pub use error::{DecodeError, EncodeError, ProtocolError};
pub use frame::{Envelope, Opcode, ProtocolVersion};
pub use request::{Batch, BatchStatement, BatchType, QueryParams, Request};
pub use response::error::{ErrorBody, ErrorKind, FailureInfo, WriteType};
pub use response::event::{Event, EventType, SchemaChange, SchemaChangeTarget, SchemaChangeType};
pub use response::result::{
    ColType, ColumnSpec, EncodedRows, Prepared, ResultBody, Rows, RowsMetadata,
};
pub use response::Response;
pub use types::{Consistency, Value, Values};
