//! SUPPORTED: a `[string multimap]` of options (`CQL_VERSION`, `COMPRESSION`, `PROTOCOL_VERSIONS`...).
//! Python requires `CQL_VERSION` and `COMPRESSION` to be present; which keys to send is the server's choice.

use bytes::BytesMut;

use crate::error::{EncodeError, ProtocolError};
use crate::types::{put_string_multimap, Reader};

pub(super) fn encode(
    options: &[(String, Vec<String>)],
    out: &mut BytesMut,
) -> Result<(), EncodeError> {
    put_string_multimap(out, options, "SUPPORTED options")
}

pub(super) fn decode(body: &mut Reader) -> Result<Vec<(String, Vec<String>)>, ProtocolError> {
    body.read_string_multimap("SUPPORTED options")
}
