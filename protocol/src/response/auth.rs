//! AUTH_CHALLENGE and AUTH_SUCCESS: a SASL token as `[bytes]`, possibly null.

use bytes::{Bytes, BytesMut};

use crate::error::{EncodeError, ProtocolError};
use crate::types::{put_bytes, Reader};

pub(super) fn encode(token: Option<&Bytes>, out: &mut BytesMut) -> Result<(), EncodeError> {
    put_bytes(out, token.map(|token| token.as_ref()), "auth token")
}

pub(super) fn decode(body: &mut Reader) -> Result<Option<Bytes>, ProtocolError> {
    body.read_bytes("auth token")
}
