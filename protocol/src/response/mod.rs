//! Response messages, one file per opcode.
//!
//! [`Response::encode_body`] writes the message body for a negotiated version; framing, tracing id, warnings
//! and compression are the codec's job. [`Response::decode`] is the client side, used by tests and tools.

mod auth;
mod authenticate;
pub mod error;
pub mod event;
mod ready;
pub mod result;
mod supported;

use bytes::{Bytes, BytesMut};

use crate::error::{EncodeError, ProtocolError};
use crate::frame::{Opcode, ProtocolVersion};
use error::ErrorBody;
use event::Event;
use result::ResultBody;

/// A server response message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    Error(ErrorBody),
    Ready,
    /// AUTHENTICATE with the authenticator class name.
    Authenticate(String),
    /// SUPPORTED options as a [string multimap], in the order given.
    Supported(Vec<(String, Vec<String>)>),
    Result(ResultBody),
    Event(Event),
    AuthChallenge(Option<Bytes>),
    AuthSuccess(Option<Bytes>),
}

impl Response {
    /// The opcode this response travels under.
    pub fn opcode(&self) -> Opcode {
        match self {
            Self::Error(_) => Opcode::Error,
            Self::Ready => Opcode::Ready,
            Self::Authenticate(_) => Opcode::Authenticate,
            Self::Supported(_) => Opcode::Supported,
            Self::Result(_) => Opcode::Result,
            Self::Event(_) => Opcode::Event,
            Self::AuthChallenge(_) => Opcode::AuthChallenge,
            Self::AuthSuccess(_) => Opcode::AuthSuccess,
        }
    }

    /// Writes the message body (no header) for `version`.
    pub fn encode_body(&self, version: ProtocolVersion, out: &mut BytesMut) -> Result<(), EncodeError> {
        let _ = (version, out);
        todo!()
    }

    /// Decodes a response body (client side; used by tests and tools).
    pub fn decode(version: ProtocolVersion, opcode: Opcode, body: Bytes) -> Result<Response, ProtocolError> {
        let _ = (version, opcode, body);
        todo!()
    }
}
