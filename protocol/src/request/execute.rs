//! EXECUTE: `<id:short bytes>`, v5 `<result_metadata_id:short bytes>`, then the query parameters.

use bytes::{Bytes, BytesMut};

use crate::error::{EncodeError, ProtocolError};
use crate::frame::ProtocolVersion;
use crate::request::QueryParams;
use crate::types::{put_short_bytes, Reader};

pub(super) fn decode(
    body: &mut Reader,
    version: ProtocolVersion,
) -> Result<(Bytes, Option<Bytes>, QueryParams), ProtocolError> {
    let id = body.read_short_bytes("EXECUTE id")?;
    let result_metadata_id = match version {
        ProtocolVersion::V4 => None,
        ProtocolVersion::V5 => Some(body.read_short_bytes("EXECUTE result metadata id")?),
    };
    let params = QueryParams::decode(body, version)?;
    Ok((id, result_metadata_id, params))
}

pub(super) fn encode(
    id: &[u8],
    result_metadata_id: Option<&[u8]>,
    params: &QueryParams,
    version: ProtocolVersion,
    out: &mut BytesMut,
) -> Result<(), EncodeError> {
    put_short_bytes(out, id, "EXECUTE id")?;
    if version == ProtocolVersion::V5 {
        put_short_bytes(
            out,
            result_metadata_id.unwrap_or_default(),
            "EXECUTE result metadata id",
        )?;
    }
    params.encode(version, out)
}
