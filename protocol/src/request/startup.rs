//! STARTUP: a `[string map]` of options (`CQL_VERSION` mandatory, `COMPRESSION`, `DRIVER_NAME`...).

use std::collections::BTreeMap;

use bytes::BytesMut;

use crate::error::{EncodeError, ProtocolError};
use crate::types::{put_string_map, Reader};

pub(super) fn decode(body: &mut Reader) -> Result<BTreeMap<String, String>, ProtocolError> {
    body.read_string_map("STARTUP options")
}

pub(super) fn encode(
    options: &BTreeMap<String, String>,
    out: &mut BytesMut,
) -> Result<(), EncodeError> {
    put_string_map(
        out,
        options
            .iter()
            .map(|(key, value)| (key.as_str(), value.as_str())),
        "STARTUP options",
    )
}
