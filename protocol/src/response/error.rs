//! ERROR: `<code:int><message:string>[extra]` (spec §8).

use std::net::{IpAddr, Ipv4Addr};

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::{EncodeError, ProtocolError};
use crate::frame::ProtocolVersion;
use crate::types::{
    int_len, put_consistency, put_inetaddr, put_short_bytes, put_string, put_string_list,
    Consistency, Reader,
};

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
    Unavailable {
        consistency: Consistency,
        required: i32,
        alive: i32,
    },
    Overloaded,
    IsBootstrapping,
    TruncateError,
    WriteTimeout {
        consistency: Consistency,
        received: i32,
        block_for: i32,
        write_type: WriteType,
        contentions: Option<u16>,
    },
    ReadTimeout {
        consistency: Consistency,
        received: i32,
        block_for: i32,
        data_present: bool,
    },
    ReadFailure {
        consistency: Consistency,
        received: i32,
        block_for: i32,
        failures: FailureInfo,
        data_present: bool,
    },
    FunctionFailure {
        keyspace: String,
        function: String,
        arg_types: Vec<String>,
    },
    WriteFailure {
        consistency: Consistency,
        received: i32,
        block_for: i32,
        failures: FailureInfo,
        write_type: WriteType,
    },
    CdcWriteFailure,
    CasWriteUnknown {
        consistency: Consistency,
        received: i32,
        block_for: i32,
    },
    SyntaxError,
    Unauthorized,
    Invalid,
    ConfigError,
    /// `table` is empty when a keyspace already exists.
    AlreadyExists {
        keyspace: String,
        table: String,
    },
    Unprepared {
        id: Bytes,
    },
}

/// An ERROR response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorBody {
    pub kind: ErrorKind,
    pub message: String,
}

const WRITE_TYPE_NAMES: [(WriteType, &str); 8] = [
    (WriteType::Simple, "SIMPLE"),
    (WriteType::Batch, "BATCH"),
    (WriteType::UnloggedBatch, "UNLOGGED_BATCH"),
    (WriteType::Counter, "COUNTER"),
    (WriteType::BatchLog, "BATCH_LOG"),
    (WriteType::Cas, "CAS"),
    (WriteType::View, "VIEW"),
    (WriteType::Cdc, "CDC"),
];

impl WriteType {
    /// The wire name.
    pub fn name(self) -> &'static str {
        WRITE_TYPE_NAMES
            .iter()
            .find(|(write_type, _)| *write_type == self)
            .map_or("", |(_, name)| name)
    }

    fn from_name(name: &str) -> Result<Self, ProtocolError> {
        WRITE_TYPE_NAMES
            .iter()
            .find(|(_, known)| *known == name)
            .map(|(write_type, _)| *write_type)
            .ok_or(ProtocolError::Invalid {
                what: "write type",
                reason: "unknown write type",
            })
    }
}

impl ErrorKind {
    /// The wire error code (spec §8).
    pub fn code(&self) -> i32 {
        match self {
            Self::Server => 0x0000,
            Self::Protocol => 0x000A,
            Self::AuthenticationError => 0x0100,
            Self::Unavailable { .. } => 0x1000,
            Self::Overloaded => 0x1001,
            Self::IsBootstrapping => 0x1002,
            Self::TruncateError => 0x1003,
            Self::WriteTimeout { .. } => 0x1100,
            Self::ReadTimeout { .. } => 0x1200,
            Self::ReadFailure { .. } => 0x1300,
            Self::FunctionFailure { .. } => 0x1400,
            Self::WriteFailure { .. } => 0x1500,
            Self::CdcWriteFailure => 0x1600,
            Self::CasWriteUnknown { .. } => 0x1700,
            Self::SyntaxError => 0x2000,
            Self::Unauthorized => 0x2100,
            Self::Invalid => 0x2200,
            Self::ConfigError => 0x2300,
            Self::AlreadyExists { .. } => 0x2400,
            Self::Unprepared { .. } => 0x2500,
        }
    }

    /// The kind for an error code that carries no extra body.
    fn without_body(code: i32) -> Option<Self> {
        Some(match code {
            0x0000 => Self::Server,
            0x000A => Self::Protocol,
            0x0100 => Self::AuthenticationError,
            0x1001 => Self::Overloaded,
            0x1002 => Self::IsBootstrapping,
            0x1003 => Self::TruncateError,
            0x1600 => Self::CdcWriteFailure,
            0x2000 => Self::SyntaxError,
            0x2100 => Self::Unauthorized,
            0x2200 => Self::Invalid,
            0x2300 => Self::ConfigError,
            _ => return None,
        })
    }

    /// What a v4 client can understand: CAS_WRITE_UNKNOWN is v5 only, so v4 gets a CAS write timeout
    /// (as Cassandra does).
    fn for_version(&self, version: ProtocolVersion) -> std::borrow::Cow<'_, Self> {
        match self {
            Self::CasWriteUnknown {
                consistency,
                received,
                block_for,
            } if version == ProtocolVersion::V4 => std::borrow::Cow::Owned(Self::WriteTimeout {
                consistency: *consistency,
                received: *received,
                block_for: *block_for,
                write_type: WriteType::Cas,
                contentions: None,
            }),
            _ => std::borrow::Cow::Borrowed(self),
        }
    }
}

impl ErrorBody {
    /// An error of a kind without extra fields, or with them already filled in.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    pub(crate) fn encode(
        &self,
        version: ProtocolVersion,
        out: &mut BytesMut,
    ) -> Result<(), EncodeError> {
        let kind = self.kind.for_version(version);
        out.put_i32(kind.code());
        put_string(out, &self.message, "error message")?;
        match kind.as_ref() {
            ErrorKind::Unavailable {
                consistency,
                required,
                alive,
            } => {
                put_consistency(out, *consistency);
                out.put_i32(*required);
                out.put_i32(*alive);
            }
            ErrorKind::WriteTimeout {
                consistency,
                received,
                block_for,
                write_type,
                contentions,
            } => {
                put_counts(out, *consistency, *received, *block_for);
                put_string(out, write_type.name(), "write type")?;
                if version == ProtocolVersion::V5 && *write_type == WriteType::Cas {
                    out.put_u16(contentions.unwrap_or(0));
                }
            }
            ErrorKind::ReadTimeout {
                consistency,
                received,
                block_for,
                data_present,
            } => {
                put_counts(out, *consistency, *received, *block_for);
                out.put_u8(u8::from(*data_present));
            }
            ErrorKind::ReadFailure {
                consistency,
                received,
                block_for,
                failures,
                data_present,
            } => {
                put_counts(out, *consistency, *received, *block_for);
                put_failures(out, failures, version)?;
                out.put_u8(u8::from(*data_present));
            }
            ErrorKind::WriteFailure {
                consistency,
                received,
                block_for,
                failures,
                write_type,
            } => {
                put_counts(out, *consistency, *received, *block_for);
                put_failures(out, failures, version)?;
                put_string(out, write_type.name(), "write type")?;
            }
            ErrorKind::CasWriteUnknown {
                consistency,
                received,
                block_for,
            } => {
                put_counts(out, *consistency, *received, *block_for);
            }
            ErrorKind::FunctionFailure {
                keyspace,
                function,
                arg_types,
            } => {
                put_string(out, keyspace, "function keyspace")?;
                put_string(out, function, "function name")?;
                put_string_list(out, arg_types, "function argument types")?;
            }
            ErrorKind::AlreadyExists { keyspace, table } => {
                put_string(out, keyspace, "keyspace")?;
                put_string(out, table, "table")?;
            }
            ErrorKind::Unprepared { id } => put_short_bytes(out, id, "unprepared id")?,
            _ => {}
        }
        Ok(())
    }

    pub(crate) fn decode(
        body: &mut Reader,
        version: ProtocolVersion,
    ) -> Result<Self, ProtocolError> {
        let code = body.read_int("error code")?;
        let message = body.read_string("error message")?;
        let kind = match ErrorKind::without_body(code) {
            Some(kind) => kind,
            None => decode_extra(body, code, version)?,
        };
        Ok(Self { kind, message })
    }
}

fn decode_extra(
    body: &mut Reader,
    code: i32,
    version: ProtocolVersion,
) -> Result<ErrorKind, ProtocolError> {
    Ok(match code {
        0x1000 => ErrorKind::Unavailable {
            consistency: body.read_consistency("consistency")?,
            required: body.read_int("required")?,
            alive: body.read_int("alive")?,
        },
        0x1100 => {
            let (consistency, received, block_for) = read_counts(body)?;
            let write_type = WriteType::from_name(&body.read_string("write type")?)?;
            let contentions = match (version, write_type) {
                (ProtocolVersion::V5, WriteType::Cas) => Some(body.read_short("contentions")?),
                _ => None,
            };
            ErrorKind::WriteTimeout {
                consistency,
                received,
                block_for,
                write_type,
                contentions,
            }
        }
        0x1200 => {
            let (consistency, received, block_for) = read_counts(body)?;
            ErrorKind::ReadTimeout {
                consistency,
                received,
                block_for,
                data_present: body.read_byte("data present")? != 0,
            }
        }
        0x1300 => {
            let (consistency, received, block_for) = read_counts(body)?;
            let failures = read_failures(body, version)?;
            let data_present = body.read_byte("data present")? != 0;
            ErrorKind::ReadFailure {
                consistency,
                received,
                block_for,
                failures,
                data_present,
            }
        }
        0x1400 => ErrorKind::FunctionFailure {
            keyspace: body.read_string("function keyspace")?,
            function: body.read_string("function name")?,
            arg_types: body.read_string_list("function argument types")?,
        },
        0x1500 => {
            let (consistency, received, block_for) = read_counts(body)?;
            let failures = read_failures(body, version)?;
            let write_type = WriteType::from_name(&body.read_string("write type")?)?;
            ErrorKind::WriteFailure {
                consistency,
                received,
                block_for,
                failures,
                write_type,
            }
        }
        0x1700 => {
            let (consistency, received, block_for) = read_counts(body)?;
            ErrorKind::CasWriteUnknown {
                consistency,
                received,
                block_for,
            }
        }
        0x2400 => ErrorKind::AlreadyExists {
            keyspace: body.read_string("keyspace")?,
            table: body.read_string("table")?,
        },
        0x2500 => ErrorKind::Unprepared {
            id: body.read_short_bytes("unprepared id")?,
        },
        _ => {
            return Err(ProtocolError::Invalid {
                what: "error code",
                reason: "unknown error code",
            })
        }
    })
}

fn put_counts(out: &mut BytesMut, consistency: Consistency, received: i32, block_for: i32) {
    put_consistency(out, consistency);
    out.put_i32(received);
    out.put_i32(block_for);
}

fn read_counts(body: &mut Reader) -> Result<(Consistency, i32, i32), ProtocolError> {
    Ok((
        body.read_consistency("consistency")?,
        body.read_int("received")?,
        body.read_int("block for")?,
    ))
}

/// Reason code Cassandra uses for a failure of unknown cause (RequestFailureReason.UNKNOWN).
const UNKNOWN_REASON: u16 = 0;
/// Bounds the reason-map entries invented for a v5 client from a bare failure count.
const MAX_SYNTHETIC_REASONS: i32 = 1024;

/// v4: `<numfailures:int>`; v5: `<n:int>(<inetaddr><reason:short>)*`.
fn put_failures(
    out: &mut BytesMut,
    failures: &FailureInfo,
    version: ProtocolVersion,
) -> Result<(), EncodeError> {
    match (version, failures) {
        (ProtocolVersion::V4, FailureInfo::NumFailures(count)) => out.put_i32(*count),
        (ProtocolVersion::V4, FailureInfo::ReasonMap(reasons)) => {
            out.put_i32(int_len(reasons.len(), "failures")?)
        }
        (ProtocolVersion::V5, FailureInfo::ReasonMap(reasons)) => {
            out.put_i32(int_len(reasons.len(), "failures")?);
            for (address, reason) in reasons {
                put_inetaddr(out, *address);
                out.put_u16(*reason);
            }
        }
        (ProtocolVersion::V5, FailureInfo::NumFailures(count)) => {
            // Only a count is known: report that many unknown-cause failures from the unspecified address.
            let count = (*count).clamp(0, MAX_SYNTHETIC_REASONS);
            out.put_i32(count);
            for _ in 0..count {
                put_inetaddr(out, IpAddr::V4(Ipv4Addr::UNSPECIFIED));
                out.put_u16(UNKNOWN_REASON);
            }
        }
    }
    Ok(())
}

fn read_failures(
    body: &mut Reader,
    version: ProtocolVersion,
) -> Result<FailureInfo, ProtocolError> {
    let count = body.read_int("failure count")?;
    if version == ProtocolVersion::V4 {
        return Ok(FailureInfo::NumFailures(count));
    }
    let count = usize::try_from(count).map_err(|_| ProtocolError::NegativeLength {
        what: "reason map",
        length: count,
    })?;
    body.check_count(count, 7, "reason map")?;
    let reasons = (0..count)
        .map(|_| {
            Ok((
                body.read_inetaddr("failure address")?,
                body.read_short("failure reason")?,
            ))
        })
        .collect::<Result<_, ProtocolError>>()?;
    Ok(FailureInfo::ReasonMap(reasons))
}
