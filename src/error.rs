//! The server's request error and its single mapping to CQL error codes.
//!
//! Invariant: every error a client sees passes through `CqlError::to_body`; no other
//! module picks a wire error code.

use std::net::IpAddr;

use bytes::Bytes;
use strata_protocol::{
    Consistency, DecodeError, ErrorBody, ErrorKind, FailureInfo, ProtocolError, WriteType,
};

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
    /// Not enough live replicas (0x1000); `dc` names the DC without a quorum at
    /// EACH_QUORUM, as Cassandra's message does.
    #[error("Cannot achieve consistency level {}{}", consistency_name(*.consistency), .dc.as_ref().map(|dc| format!(" in DC {dc}")).unwrap_or_default())]
    Unavailable {
        consistency: Consistency,
        required: i32,
        alive: i32,
        dc: Option<String>,
    },
    /// Fewer than `block_for` replicas acknowledged a write in time (0x1100). `contentions`
    /// (Paxos contentions, v5) is sent only for CAS writes, whose message names them as
    /// Cassandra's `CasWriteTimeoutException` does.
    #[error("{}", write_timeout_message(*.received, *.contentions))]
    WriteTimeout {
        consistency: Consistency,
        received: i32,
        block_for: i32,
        write_type: WriteType,
        contentions: Option<u16>,
    },
    /// Fewer than `block_for` replicas answered a read in time (0x1200); `data_present`:
    /// the replica asked for data answered.
    #[error("Operation timed out - received only {received} responses.")]
    ReadTimeout {
        consistency: Consistency,
        received: i32,
        block_for: i32,
        data_present: bool,
    },
    /// Replicas failed a read (0x1300): v5 clients get `failures` as a reason map, v4
    /// clients their count (the codec converts).
    #[error("Operation failed - received {received} responses and {} failures: {}", failures.len(), failure_list(failures))]
    ReadFailure {
        consistency: Consistency,
        received: i32,
        block_for: i32,
        failures: Vec<(IpAddr, FailureReason)>,
        data_present: bool,
    },
    /// Replicas failed a write (0x1500); `failures` as for `ReadFailure`.
    #[error("Operation failed - received {received} responses and {} failures: {}", failures.len(), failure_list(failures))]
    WriteFailure {
        consistency: Consistency,
        received: i32,
        block_for: i32,
        failures: Vec<(IpAddr, FailureReason)>,
        write_type: WriteType,
    },
    /// A broken request body (0x000A).
    #[error("{0}")]
    Protocol(String),
    /// The operation is not allowed on this object (0x2100).
    #[error("{0}")]
    Unauthorized(String),
    /// A login failed (0x0100, Bad credentials), e.g. a wrong password.
    #[error("{0}")]
    BadCredentials(String),
    /// A function failed while it ran (0x1400), e.g. `fromJson()` on text that is not a
    /// value of the receiver's type; the message is Cassandra's `FunctionExecutionException`.
    #[error("execution of '{keyspace}.{function}[{}]' failed: {message}", arg_types.join(", "))]
    FunctionFailure {
        keyspace: String,
        function: String,
        arg_types: Vec<String>,
        message: String,
    },
    /// A configuration problem, e.g. a bad replication option (0x2300).
    #[error("{0}")]
    Config(String),
    /// The server failed (0x0000); the message says what failed, never a panic text.
    #[error("{0}")]
    Server(String),
    /// The node is overloaded (0x1001).
    #[error("{0}")]
    Overloaded(String),
    /// Another schema change committed between a DDL's checks and its commit; the
    /// executor re-runs the statement, so clients see it (0x0000) only after repeated
    /// conflicts.
    #[error("The schema changed concurrently; the statement was retried and conflicted each time. Retry it.")]
    SchemaConflict,
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
                ..
            } => ErrorKind::Unavailable {
                consistency: *consistency,
                required: *required,
                alive: *alive,
            },
            CqlError::WriteTimeout {
                consistency,
                received,
                block_for,
                write_type,
                contentions,
            } => ErrorKind::WriteTimeout {
                consistency: *consistency,
                received: *received,
                block_for: *block_for,
                write_type: *write_type,
                contentions: *contentions,
            },
            CqlError::ReadTimeout {
                consistency,
                received,
                block_for,
                data_present,
            } => ErrorKind::ReadTimeout {
                consistency: *consistency,
                received: *received,
                block_for: *block_for,
                data_present: *data_present,
            },
            CqlError::ReadFailure {
                consistency,
                received,
                block_for,
                failures,
                data_present,
            } => ErrorKind::ReadFailure {
                consistency: *consistency,
                received: *received,
                block_for: *block_for,
                failures: reason_map(failures),
                data_present: *data_present,
            },
            CqlError::WriteFailure {
                consistency,
                received,
                block_for,
                failures,
                write_type,
            } => ErrorKind::WriteFailure {
                consistency: *consistency,
                received: *received,
                block_for: *block_for,
                failures: reason_map(failures),
                write_type: *write_type,
            },
            CqlError::Protocol(_) => ErrorKind::Protocol,
            CqlError::Config(_) => ErrorKind::ConfigError,
            CqlError::FunctionFailure {
                keyspace,
                function,
                arg_types,
                ..
            } => ErrorKind::FunctionFailure {
                keyspace: keyspace.clone(),
                function: function.clone(),
                arg_types: arg_types.clone(),
            },
            CqlError::Unauthorized(_) => ErrorKind::Unauthorized,
            CqlError::BadCredentials(_) => ErrorKind::AuthenticationError,
            CqlError::Server(_) | CqlError::SchemaConflict => ErrorKind::Server,
            CqlError::Overloaded(_) => ErrorKind::Overloaded,
        };
        ErrorBody {
            kind,
            message: self.to_string(),
        }
    }
}

/// Why a replica failed a request: Cassandra's `RequestFailureReason`, whose code is
/// what a v5 reason map carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureReason {
    Unknown,
    ReadTooManyTombstones,
    Timeout,
    IncompatibleSchema,
}

impl FailureReason {
    pub fn code(self) -> u16 {
        match self {
            FailureReason::Unknown => 0,
            FailureReason::ReadTooManyTombstones => 1,
            FailureReason::Timeout => 2,
            FailureReason::IncompatibleSchema => 3,
        }
    }

    fn name(self) -> &'static str {
        match self {
            FailureReason::Unknown => "UNKNOWN",
            FailureReason::ReadTooManyTombstones => "READ_TOO_MANY_TOMBSTONES",
            FailureReason::Timeout => "TIMEOUT",
            FailureReason::IncompatibleSchema => "INCOMPATIBLE_SCHEMA",
        }
    }
}

fn reason_map(failures: &[(IpAddr, FailureReason)]) -> FailureInfo {
    FailureInfo::ReasonMap(
        failures
            .iter()
            .map(|(address, reason)| (*address, reason.code()))
            .collect(),
    )
}

/// `REASON from /address, ...`, as Cassandra lists failures in the message.
fn failure_list(failures: &[(IpAddr, FailureReason)]) -> String {
    failures
        .iter()
        .map(|(address, reason)| format!("{} from /{address}", reason.name()))
        .collect::<Vec<_>>()
        .join(", ")
}

impl From<crate::auth::AuthError> for CqlError {
    fn from(e: crate::auth::AuthError) -> Self {
        use crate::auth::AuthError;
        match e {
            AuthError::BadCredentials(message) => CqlError::BadCredentials(message),
            AuthError::Unauthorized(message) => CqlError::Unauthorized(message),
            AuthError::Hash(_) => CqlError::Server(e.to_string()),
        }
    }
}

impl From<&DecodeError> for CqlError {
    fn from(e: &DecodeError) -> Self {
        CqlError::Protocol(e.to_string())
    }
}

impl From<ProtocolError> for CqlError {
    fn from(e: ProtocolError) -> Self {
        CqlError::Protocol(e.to_string())
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

impl From<strata_engine::Error> for CqlError {
    fn from(e: strata_engine::Error) -> Self {
        CqlError::Server(format!("storage error: {e}"))
    }
}

/// A write timeout's message: a CAS timeout names its contentions, as Cassandra's
/// `CasWriteTimeoutException` does.
fn write_timeout_message(received: i32, contentions: Option<u16>) -> String {
    match contentions {
        Some(n) => format!("CAS operation timed out - encountered contentions: {n}"),
        None => format!("Operation timed out - received only {received} responses."),
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

#[cfg(test)]
mod tests {
    use bytes::BytesMut;
    use strata_protocol::{ProtocolVersion, Response};

    use super::*;

    /// The body after the `[string]` message: the code-specific fields drivers decode.
    fn extra_fields(error: &CqlError, version: ProtocolVersion) -> (i32, Vec<u8>) {
        let mut out = BytesMut::new();
        Response::Error(error.to_body())
            .encode_body(version, &mut out)
            .expect("encode");
        let code = i32::from_be_bytes(out[..4].try_into().unwrap());
        let message_len = u16::from_be_bytes(out[4..6].try_into().unwrap()) as usize;
        assert_eq!(&out[6..6 + message_len], error.to_string().as_bytes());
        (code, out[6 + message_len..].to_vec())
    }

    const QUORUM: [u8; 2] = [0, 4];

    fn counts(received: i32, block_for: i32) -> Vec<u8> {
        [
            &QUORUM[..],
            &received.to_be_bytes(),
            &block_for.to_be_bytes(),
        ]
        .concat()
    }

    fn string(s: &str) -> Vec<u8> {
        [&(s.len() as u16).to_be_bytes()[..], s.as_bytes()].concat()
    }

    #[test]
    fn unavailable_carries_consistency_required_and_alive() {
        let error = CqlError::Unavailable {
            consistency: Consistency::Quorum,
            required: 2,
            alive: 1,
            dc: None,
        };
        assert_eq!(error.to_string(), "Cannot achieve consistency level QUORUM");
        let each = CqlError::Unavailable {
            consistency: Consistency::EachQuorum,
            required: 2,
            alive: 0,
            dc: Some("dc2".into()),
        };
        assert_eq!(
            each.to_string(),
            "Cannot achieve consistency level EACH_QUORUM in DC dc2"
        );
        let (code, extra) = extra_fields(&error, ProtocolVersion::V4);
        assert_eq!((code, extra), (0x1000, counts(2, 1)));
    }

    #[test]
    fn write_timeout_sends_contentions_only_for_cas_on_v5() {
        let cas = CqlError::WriteTimeout {
            consistency: Consistency::Quorum,
            received: 1,
            block_for: 2,
            write_type: WriteType::Cas,
            contentions: Some(3),
        };
        assert_eq!(
            cas.to_string(),
            "CAS operation timed out - encountered contentions: 3"
        );
        let base = [counts(1, 2), string("CAS")].concat();
        assert_eq!(
            extra_fields(&cas, ProtocolVersion::V4),
            (0x1100, base.clone())
        );
        assert_eq!(
            extra_fields(&cas, ProtocolVersion::V5),
            (0x1100, [base, vec![0, 3]].concat())
        );
        let simple = CqlError::WriteTimeout {
            consistency: Consistency::Quorum,
            received: 0,
            block_for: 2,
            write_type: WriteType::Simple,
            contentions: None,
        };
        assert_eq!(
            extra_fields(&simple, ProtocolVersion::V5),
            (0x1100, [counts(0, 2), string("SIMPLE")].concat())
        );
    }

    #[test]
    fn read_timeout_carries_data_present() {
        let error = CqlError::ReadTimeout {
            consistency: Consistency::Quorum,
            received: 1,
            block_for: 2,
            data_present: true,
        };
        assert_eq!(
            extra_fields(&error, ProtocolVersion::V4),
            (0x1200, [counts(1, 2), vec![1]].concat())
        );
    }

    #[test]
    fn failures_are_a_reason_map_on_v5_and_a_count_on_v4() {
        let failures = vec![(
            IpAddr::from([127, 0, 0, 2]),
            FailureReason::ReadTooManyTombstones,
        )];
        let read = CqlError::ReadFailure {
            consistency: Consistency::Quorum,
            received: 1,
            block_for: 2,
            failures: failures.clone(),
            data_present: false,
        };
        assert_eq!(
            read.to_string(),
            "Operation failed - received 1 responses and 1 failures: READ_TOO_MANY_TOMBSTONES from /127.0.0.2"
        );
        let reasons = [&1i32.to_be_bytes()[..], &[4, 127, 0, 0, 2], &[0, 1]].concat();
        assert_eq!(
            extra_fields(&read, ProtocolVersion::V4),
            (
                0x1300,
                [counts(1, 2), 1i32.to_be_bytes().to_vec(), vec![0]].concat()
            )
        );
        assert_eq!(
            extra_fields(&read, ProtocolVersion::V5),
            (0x1300, [counts(1, 2), reasons.clone(), vec![0]].concat())
        );
        let write = CqlError::WriteFailure {
            consistency: Consistency::Quorum,
            received: 1,
            block_for: 2,
            failures,
            write_type: WriteType::Batch,
        };
        assert_eq!(
            extra_fields(&write, ProtocolVersion::V4),
            (
                0x1500,
                [counts(1, 2), 1i32.to_be_bytes().to_vec(), string("BATCH")].concat()
            )
        );
        assert_eq!(
            extra_fields(&write, ProtocolVersion::V5),
            (0x1500, [counts(1, 2), reasons, string("BATCH")].concat())
        );
    }

    #[test]
    fn wire_level_errors_map_to_protocol_errors() {
        let error = CqlError::from(ProtocolError::UnknownConsistency(0x99));
        assert_eq!(error.to_body().kind, ErrorKind::Protocol);
    }
}
