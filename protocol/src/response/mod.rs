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
use crate::types::Reader;
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
    /// SUPPORTED options as a `[string multimap]`, in the order given.
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
    pub fn encode_body(
        &self,
        version: ProtocolVersion,
        out: &mut BytesMut,
    ) -> Result<(), EncodeError> {
        if let Some(tail) = self.encode_body_head(version, out)? {
            out.extend_from_slice(&tail);
        }
        Ok(())
    }

    /// Writes the body except pre-encoded row content, which is returned so that the codec can copy it
    /// straight to its destination (see [`result::EncodedRows`]).
    pub(crate) fn encode_body_head(
        &self,
        version: ProtocolVersion,
        out: &mut BytesMut,
    ) -> Result<Option<Bytes>, EncodeError> {
        match self {
            Self::Error(error) => error.encode(version, out)?,
            Self::Ready => {}
            Self::Authenticate(authenticator) => authenticate::encode(authenticator, out)?,
            Self::Supported(options) => supported::encode(options, out)?,
            Self::Result(result) => return result.encode(version, out),
            Self::Event(event) => event.encode(out)?,
            Self::AuthChallenge(token) | Self::AuthSuccess(token) => {
                auth::encode(token.as_ref(), out)?
            }
        }
        Ok(None)
    }

    /// Decodes a response body (client side; used by tests and tools).
    pub fn decode(
        version: ProtocolVersion,
        opcode: Opcode,
        body: Bytes,
    ) -> Result<Response, ProtocolError> {
        let mut body = Reader::new(body);
        let response = match opcode {
            Opcode::Error => Self::Error(ErrorBody::decode(&mut body, version)?),
            Opcode::Ready => Self::Ready,
            Opcode::Authenticate => Self::Authenticate(authenticate::decode(&mut body)?),
            Opcode::Supported => Self::Supported(supported::decode(&mut body)?),
            Opcode::Result => Self::Result(ResultBody::decode(&mut body, version)?),
            Opcode::Event => Self::Event(Event::decode(&mut body)?),
            Opcode::AuthChallenge => Self::AuthChallenge(auth::decode(&mut body)?),
            Opcode::AuthSuccess => Self::AuthSuccess(auth::decode(&mut body)?),
            request_opcode => return Err(ProtocolError::NotAResponse(request_opcode)),
        };
        body.expect_end("response body")?;
        Ok(response)
    }
}
