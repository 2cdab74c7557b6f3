//! AUTH_RESPONSE: the client's SASL token as `[bytes]` (PLAIN: `\0user\0password`).

use bytes::{Bytes, BytesMut};

use crate::error::{EncodeError, ProtocolError};
use crate::types::{put_bytes, Reader};

pub(super) fn decode(body: &mut Reader) -> Result<Option<Bytes>, ProtocolError> {
    body.read_bytes("AUTH_RESPONSE token")
}

pub(super) fn encode(token: Option<&Bytes>, out: &mut BytesMut) -> Result<(), EncodeError> {
    put_bytes(
        out,
        token.map(|token| token.as_ref()),
        "AUTH_RESPONSE token",
    )
}
