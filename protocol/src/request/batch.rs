//! BATCH: `<type:byte><n:short><statement>*<consistency><flags>[serial_consistency][timestamp]`, plus
//! `[keyspace][now_in_seconds]` in v5. A statement is `<kind:byte>` then a `[long string]` query (kind 0) or a
//! `[short bytes]` prepared id (kind 1), then `<n:short><value>*`.
//!
//! Named values (flag 0x40) are refused: the flags come after the statements, so a decoder cannot know
//! names precede the values, which is why the spec calls the flag broken (CASSANDRA-10246).

use bytes::{BufMut, Bytes, BytesMut};

use super::query::{
    flag, put_flags, put_tail, put_values, read_common_tail, read_flags, read_v5_tail, read_values,
    tail_flags,
};
use crate::error::{EncodeError, ProtocolError};
use crate::frame::ProtocolVersion;
use crate::types::{
    put_consistency, put_long_string, put_short_bytes, short_len, Consistency, Reader, Values,
};

const KNOWN_FLAGS_V4: u32 = flag::SERIAL_CONSISTENCY | flag::TIMESTAMP | flag::NAMES_FOR_VALUES;
const KNOWN_FLAGS_V5: u32 = KNOWN_FLAGS_V4 | flag::KEYSPACE | flag::NOW_IN_SECONDS;
const KIND_QUERY: u8 = 0;
const KIND_PREPARED: u8 = 1;
/// Smallest statement: kind byte, empty `[short bytes]` id, zero value count.
const MIN_STATEMENT_BYTES: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum BatchType {
    Logged = 0,
    Unlogged = 1,
    Counter = 2,
}

impl TryFrom<u8> for BatchType {
    type Error = ProtocolError;
    fn try_from(byte: u8) -> Result<Self, ProtocolError> {
        match byte {
            0 => Ok(Self::Logged),
            1 => Ok(Self::Unlogged),
            2 => Ok(Self::Counter),
            other => Err(ProtocolError::UnknownBatchType(other)),
        }
    }
}

/// One statement of a batch. Values are always positional (see the module note on named values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchStatement {
    Query { query: String, values: Values },
    Prepared { id: Bytes, values: Values },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub batch_type: BatchType,
    pub statements: Vec<BatchStatement>,
    pub consistency: Consistency,
    pub serial_consistency: Option<Consistency>,
    pub timestamp: Option<i64>,
    /// v5 only.
    pub keyspace: Option<String>,
    /// v5 only.
    pub now_in_seconds: Option<i32>,
}

pub(super) fn decode(body: &mut Reader, version: ProtocolVersion) -> Result<Batch, ProtocolError> {
    let batch_type = BatchType::try_from(body.read_byte("batch type")?)?;
    let count = usize::from(body.read_short("batch statement count")?);
    body.check_count(count, MIN_STATEMENT_BYTES, "batch statements")?;
    let statements = (0..count)
        .map(|_| decode_statement(body))
        .collect::<Result<_, _>>()?;
    let consistency = body.read_consistency("batch consistency")?;
    let flags = read_flags(body, version, KNOWN_FLAGS_V4, KNOWN_FLAGS_V5, "batch")?;
    if flags & flag::NAMES_FOR_VALUES != 0 {
        return Err(ProtocolError::Invalid {
            what: "batch",
            reason: "named values are not supported in BATCH",
        });
    }
    let mut batch = Batch {
        batch_type,
        statements,
        consistency,
        serial_consistency: None,
        timestamp: None,
        keyspace: None,
        now_in_seconds: None,
    };
    read_common_tail(
        body,
        flags,
        &mut batch.serial_consistency,
        &mut batch.timestamp,
    )?;
    read_v5_tail(body, flags, &mut batch.keyspace, &mut batch.now_in_seconds)?;
    Ok(batch)
}

fn decode_statement(body: &mut Reader) -> Result<BatchStatement, ProtocolError> {
    match body.read_byte("batch statement kind")? {
        KIND_QUERY => {
            let query = body.read_long_string("batch query")?;
            Ok(BatchStatement::Query {
                query,
                values: read_values(body, false)?,
            })
        }
        KIND_PREPARED => {
            let id = body.read_short_bytes("batch prepared id")?;
            Ok(BatchStatement::Prepared {
                id,
                values: read_values(body, false)?,
            })
        }
        other => Err(ProtocolError::UnknownBatchStatementKind(other)),
    }
}

pub(super) fn encode(
    batch: &Batch,
    version: ProtocolVersion,
    out: &mut BytesMut,
) -> Result<(), EncodeError> {
    out.put_u8(batch.batch_type as u8);
    out.put_u16(short_len(batch.statements.len(), "batch statements")?);
    for statement in &batch.statements {
        let values = match statement {
            BatchStatement::Query { query, values } => {
                out.put_u8(KIND_QUERY);
                put_long_string(out, query, "batch query")?;
                values
            }
            BatchStatement::Prepared { id, values } => {
                out.put_u8(KIND_PREPARED);
                put_short_bytes(out, id, "batch prepared id")?;
                values
            }
        };
        put_positional(out, values)?;
    }
    put_consistency(out, batch.consistency);
    let flags = tail_flags(
        batch.serial_consistency,
        batch.timestamp,
        batch.keyspace.as_deref(),
        batch.now_in_seconds,
    );
    put_flags(out, version, flags);
    put_tail(
        out,
        version,
        batch.serial_consistency,
        batch.timestamp,
        batch.keyspace.as_deref(),
        batch.now_in_seconds,
    )
}

/// Batch values carry no names on the wire; named ones are written without their names.
fn put_positional(out: &mut BytesMut, values: &Values) -> Result<(), EncodeError> {
    match values {
        Values::Positional(_) => put_values(out, values),
        Values::Named(named) => put_values(
            out,
            &Values::Positional(named.iter().map(|(_, value)| value.clone()).collect()),
        ),
    }
}
