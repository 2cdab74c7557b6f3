//! ERROR: `<code:int><message:string>[extra]` (spec §8).

use std::net::IpAddr;

use bytes::Bytes;

use crate::types::Consistency;

/// The `writeType` of write timeouts and failures. Drivers look it up in a fixed table, so only these exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteType {
    Simple,
    Batch,
    UnloggedBatch,
    Counter,
    BatchLog,
    Cas,
    View,
    Cdc,
}

/// Which replicas failed: v4 sends a count, v5 a map from replica address to failure reason code.
/// Each form is converted to the other when the connection's version needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureInfo {
    NumFailures(i32),
    ReasonMap(Vec<(IpAddr, u16)>),
}

/// The error code and its code-specific extra fields.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    Server,
    Protocol,
    AuthenticationError,
    Unavailable { consistency: Consistency, required: i32, alive: i32 },
    Overloaded,
    IsBootstrapping,
    TruncateError,
    WriteTimeout { consistency: Consistency, received: i32, block_for: i32, write_type: WriteType, contentions: Option<u16> },
    ReadTimeout { consistency: Consistency, received: i32, block_for: i32, data_present: bool },
    ReadFailure { consistency: Consistency, received: i32, block_for: i32, failures: FailureInfo, data_present: bool },
    FunctionFailure { keyspace: String, function: String, arg_types: Vec<String> },
    WriteFailure { consistency: Consistency, received: i32, block_for: i32, failures: FailureInfo, write_type: WriteType },
    CdcWriteFailure,
    CasWriteUnknown { consistency: Consistency, received: i32, block_for: i32 },
    SyntaxError,
    Unauthorized,
    Invalid,
    ConfigError,
    /// `table` is empty when a keyspace already exists.
    AlreadyExists { keyspace: String, table: String },
    Unprepared { id: Bytes },
}

/// An ERROR response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorBody {
    pub kind: ErrorKind,
    pub message: String,
}

impl ErrorKind {
    /// The wire error code.
    pub fn code(&self) -> i32 {
        todo!()
    }
}
