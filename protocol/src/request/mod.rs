//! Request messages, one file per opcode.
//!
//! [`Request::decode`] turns an [`Envelope`] (already decompressed, custom payload stripped) into a typed
//! request. Decoding is strict: unknown flag bits and trailing bytes are refused, because an unknown bit may
//! change the meaning of what follows. [`Request::encode`] is the client side, used by tests and tools.

mod auth_response;
mod batch;
mod execute;
mod options;
mod prepare;
mod query;
mod register;
mod startup;

use std::collections::BTreeMap;

use bytes::{Bytes, BytesMut};

pub use batch::{Batch, BatchStatement, BatchType};
pub use query::QueryParams;

use crate::error::{EncodeError, ProtocolError};
use crate::frame::{Envelope, Opcode, ProtocolVersion};
use crate::response::event::EventType;
use crate::types::Reader;

/// A decoded client request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// STARTUP options (`CQL_VERSION`, `COMPRESSION`, `DRIVER_NAME`...).
    Startup(BTreeMap<String, String>),
    Options,
    Query {
        query: String,
        params: QueryParams,
    },
    /// PREPARE; `keyspace` is v5 only.
    Prepare {
        query: String,
        keyspace: Option<String>,
    },
    /// EXECUTE; `result_metadata_id` is v5 only.
    Execute {
        id: Bytes,
        result_metadata_id: Option<Bytes>,
        params: QueryParams,
    },
    Batch(Batch),
    Register(Vec<EventType>),
    /// AUTH_RESPONSE token (a `[bytes]`, possibly null).
    AuthResponse(Option<Bytes>),
}

impl Request {
    /// Decodes the body of a request envelope.
    pub fn decode(envelope: &Envelope) -> Result<Request, ProtocolError> {
        let version = envelope.version;
        let mut body = Reader::new(envelope.body.clone());
        let request = match envelope.opcode {
            Opcode::Startup => Self::Startup(startup::decode(&mut body)?),
            Opcode::Options => Self::Options,
            Opcode::Query => {
                let (query, params) = query::decode(&mut body, version)?;
                Self::Query { query, params }
            }
            Opcode::Prepare => {
                let (query, keyspace) = prepare::decode(&mut body, version)?;
                Self::Prepare { query, keyspace }
            }
            Opcode::Execute => {
                let (id, result_metadata_id, params) = execute::decode(&mut body, version)?;
                Self::Execute {
                    id,
                    result_metadata_id,
                    params,
                }
            }
            Opcode::Batch => Self::Batch(batch::decode(&mut body, version)?),
            Opcode::Register => Self::Register(register::decode(&mut body)?),
            Opcode::AuthResponse => Self::AuthResponse(auth_response::decode(&mut body)?),
            response_opcode => return Err(ProtocolError::NotARequest(response_opcode)),
        };
        body.expect_end("request body")?;
        Ok(request)
    }

    /// The opcode this request travels under.
    pub fn opcode(&self) -> Opcode {
        match self {
            Self::Startup(_) => Opcode::Startup,
            Self::Options => Opcode::Options,
            Self::Query { .. } => Opcode::Query,
            Self::Prepare { .. } => Opcode::Prepare,
            Self::Execute { .. } => Opcode::Execute,
            Self::Batch(_) => Opcode::Batch,
            Self::Register(_) => Opcode::Register,
            Self::AuthResponse(_) => Opcode::AuthResponse,
        }
    }

    /// Encodes the body (client side; used by tests and tools).
    pub fn encode(&self, version: ProtocolVersion, out: &mut BytesMut) -> Result<(), EncodeError> {
        match self {
            Self::Startup(options) => startup::encode(options, out),
            Self::Options => Ok(()),
            Self::Query { query, params } => query::encode(query, params, version, out),
            Self::Prepare { query, keyspace } => {
                prepare::encode(query, keyspace.as_deref(), version, out)
            }
            Self::Execute {
                id,
                result_metadata_id,
                params,
            } => execute::encode(id, result_metadata_id.as_deref(), params, version, out),
            Self::Batch(batch) => batch::encode(batch, version, out),
            Self::Register(events) => register::encode(events, out),
            Self::AuthResponse(token) => auth_response::encode(token.as_ref(), out),
        }
    }
}
