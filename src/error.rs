//! The server's request error and its single mapping to CQL error codes.
//!
//! Invariant: every error a client sees passes through `CqlError::to_body`; no other
//! module picks a wire error code.

use bytes::Bytes;
use strata_protocol::{Consistency, ErrorBody, ErrorKind};

use crate::cluster::CoordinatorError;
use crate::cql::ParseError;
use crate::types::TypeError;

#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum CqlError {
    /// The statement does not parse (0x2000).
    #[error("{0}")]
    Syntax(String),
    /// The statement is well-formed but not valid here (0x2200).
    #[error("{0}")]
    Invalid(String),
    /// CREATE of something that exists (0x2400); `table` is empty for a keyspace.
    #[error("{message}")]
    AlreadyExists {
        keyspace: String,
        table: String,
        message: String,
    },
    /// EXECUTE of an id this node does not know (0x2500).
    #[error("Prepared query with ID {} not found (either the query was not prepared on this host (maybe the host has been restarted?) or you have prepared too many queries and it has been evicted from the internal cache)", hex(.0))]
    Unprepared(Bytes),
    /// Not enough live replicas (0x1000).
    #[error("Cannot achieve consistency level {}", consistency_name(*.consistency))]
    Unavailable {
        consistency: Consistency,
        required: i32,
        alive: i32,
    },
    /// A broken request body (0x000A).
    #[error("{0}")]
    Protocol(String),
    /// The operation is not allowed on this object (0x2100).
    #[error("{0}")]
    Unauthorized(String),
    /// A configuration problem, e.g. a bad replication option (0x2300).
    #[error("{0}")]
    Config(String),
    /// The server failed (0x0000); the message says what failed, never a panic text.
    #[error("{0}")]
    Server(String),
    /// The node is overloaded (0x1001).
    #[error("{0}")]
    Overloaded(String),
}

impl CqlError {
    pub fn invalid(message: impl Into<String>) -> CqlError {
        CqlError::Invalid(message.into())
    }

    /// CREATE of a table (or view) whose name is taken, in Cassandra's words.
    pub fn table_exists(keyspace: &str, table: &str) -> CqlError {
        CqlError::AlreadyExists {
            keyspace: keyspace.to_string(),
            table: table.to_string(),
            message: format!(
                "Cannot add already existing table \"{table}\" to keyspace \"{keyspace}\""
            ),
        }
    }

    /// CREATE of a keyspace whose name is taken, in Cassandra's words.
    pub fn keyspace_exists(keyspace: &str) -> CqlError {
        CqlError::AlreadyExists {
            keyspace: keyspace.to_string(),
            table: String::new(),
            message: format!("Cannot add existing keyspace \"{keyspace}\""),
        }
    }

    pub fn to_body(&self) -> ErrorBody {
        let kind = match self {
            CqlError::Syntax(_) => ErrorKind::SyntaxError,
            CqlError::Invalid(_) => ErrorKind::Invalid,
            CqlError::AlreadyExists {
                keyspace, table, ..
            } => ErrorKind::AlreadyExists {
                keyspace: keyspace.clone(),
                table: table.clone(),
            },
            CqlError::Unprepared(id) => ErrorKind::Unprepared { id: id.clone() },
            CqlError::Unavailable {
                consistency,
                required,
                alive,
            } => ErrorKind::Unavailable {
                consistency: *consistency,
                required: *required,
                alive: *alive,
            },
            CqlError::Protocol(_) => ErrorKind::Protocol,
            CqlError::Config(_) => ErrorKind::ConfigError,
            CqlError::Unauthorized(_) => ErrorKind::Unauthorized,
            CqlError::Server(_) => ErrorKind::Server,
            CqlError::Overloaded(_) => ErrorKind::Overloaded,
        };
        ErrorBody {
            kind,
            message: self.to_string(),
        }
    }
}

impl From<ParseError> for CqlError {
    fn from(e: ParseError) -> Self {
        CqlError::Syntax(e.to_string())
    }
}

impl From<TypeError> for CqlError {
    fn from(e: TypeError) -> Self {
        match e {
            TypeError::Syntax(m) => CqlError::Syntax(m),
            TypeError::CorruptKey(_) => CqlError::Server(e.to_string()),
            other => CqlError::Invalid(other.to_string()),
        }
    }
}

impl From<CoordinatorError> for CqlError {
    fn from(e: CoordinatorError) -> Self {
        match e {
            CoordinatorError::Unavailable {
                consistency,
                required,
                alive,
            } => CqlError::Unavailable {
                consistency,
                required,
                alive,
            },
            other => CqlError::Server(other.to_string()),
        }
    }
}

impl From<strata_engine::Error> for CqlError {
    fn from(e: strata_engine::Error) -> Self {
        CqlError::Server(format!("storage error: {e}"))
    }
}

pub fn consistency_name(c: Consistency) -> &'static str {
    match c {
        Consistency::Any => "ANY",
        Consistency::One => "ONE",
        Consistency::Two => "TWO",
        Consistency::Three => "THREE",
        Consistency::Quorum => "QUORUM",
        Consistency::All => "ALL",
        Consistency::LocalQuorum => "LOCAL_QUORUM",
        Consistency::EachQuorum => "EACH_QUORUM",
        Consistency::Serial => "SERIAL",
        Consistency::LocalSerial => "LOCAL_SERIAL",
        Consistency::LocalOne => "LOCAL_ONE",
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub type CqlResult<T> = Result<T, CqlError>;
