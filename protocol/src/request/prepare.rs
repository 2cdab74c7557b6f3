//! PREPARE: `<query:long string>`; v5 adds `<flags:int>[keyspace:string]` (flag 0x01: a keyspace follows).

use bytes::{BufMut, BytesMut};

use crate::error::{EncodeError, ProtocolError};
use crate::frame::ProtocolVersion;
use crate::types::{put_long_string, put_string, Reader};

const WITH_KEYSPACE: u32 = 0x01;

pub(super) fn decode(
    body: &mut Reader,
    version: ProtocolVersion,
) -> Result<(String, Option<String>), ProtocolError> {
    let query = body.read_long_string("PREPARE query")?;
    if version == ProtocolVersion::V4 {
        return Ok((query, None));
    }
    let flags = body.read_int("PREPARE flags")? as u32;
    if flags & !WITH_KEYSPACE != 0 {
        return Err(ProtocolError::UnknownFlags {
            what: "PREPARE",
            flags,
        });
    }
    let keyspace = match flags & WITH_KEYSPACE {
        0 => None,
        _ => Some(body.read_string("PREPARE keyspace")?),
    };
    Ok((query, keyspace))
}

pub(super) fn encode(
    query: &str,
    keyspace: Option<&str>,
    version: ProtocolVersion,
    out: &mut BytesMut,
) -> Result<(), EncodeError> {
    put_long_string(out, query, "PREPARE query")?;
    if version == ProtocolVersion::V4 {
        return Ok(());
    }
    match keyspace {
        Some(keyspace) => {
            out.put_i32(WITH_KEYSPACE as i32);
            put_string(out, keyspace, "PREPARE keyspace")
        }
        None => {
            out.put_i32(0);
            Ok(())
        }
    }
}
