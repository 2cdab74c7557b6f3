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
    Query { query: String, params: QueryParams },
    /// PREPARE; `keyspace` is v5 only.
    Prepare { query: String, keyspace: Option<String> },
    /// EXECUTE; `result_metadata_id` is v5 only.
    Execute { id: Bytes, result_metadata_id: Option<Bytes>, params: QueryParams },
    Batch(Batch),
    Register(Vec<EventType>),
    /// AUTH_RESPONSE token (a [bytes], possibly null).
    AuthResponse(Option<Bytes>),
}

impl Request {
    /// Decodes the body of a request envelope.
    pub fn decode(envelope: &Envelope) -> Result<Request, ProtocolError> {
        let _ = (envelope, Reader::new(Bytes::new()));
        todo!()
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
        let _ = (version, out);
        todo!()
    }
}
