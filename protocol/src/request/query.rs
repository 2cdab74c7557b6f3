//! QUERY: `<query:long string><query parameters>`, and the query parameters shared with EXECUTE.
//!
//! Parameters: `<consistency><flags>[values][page_size][paging_state][serial_consistency][timestamp]`, plus
//! `[keyspace][now_in_seconds]` in v5. The flags are a `[byte]` in v4 and an `[int]` in v5.

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::{EncodeError, ProtocolError};
use crate::frame::ProtocolVersion;
use crate::types::{
    put_bytes, put_consistency, put_long_string, put_string, put_value, short_len, Consistency,
    Reader, Value, Values,
};

pub(super) mod flag {
    pub const VALUES: u32 = 0x01;
    pub const SKIP_METADATA: u32 = 0x02;
    pub const PAGE_SIZE: u32 = 0x04;
    pub const PAGING_STATE: u32 = 0x08;
    pub const SERIAL_CONSISTENCY: u32 = 0x10;
    pub const TIMESTAMP: u32 = 0x20;
    pub const NAMES_FOR_VALUES: u32 = 0x40;
    pub const KEYSPACE: u32 = 0x80;
    pub const NOW_IN_SECONDS: u32 = 0x100;
    pub const KNOWN_V4: u32 = 0x7F;
    pub const KNOWN_V5: u32 = 0x1FF;
}

/// Query parameters of QUERY and EXECUTE (spec §4.1.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryParams {
    pub consistency: Consistency,
    pub values: Values,
    /// Flag 0x02: the client has the result metadata and wants rows without it.
    pub skip_metadata: bool,
    /// Flag 0x04: rows per page.
    pub page_size: Option<i32>,
    /// Flag 0x08: where the previous page stopped.
    pub paging_state: Option<Bytes>,
    /// Flag 0x10: SERIAL or LOCAL_SERIAL for the Paxos phase of a conditional update.
    pub serial_consistency: Option<Consistency>,
    /// Flag 0x20: client-side default timestamp in microseconds.
    pub timestamp: Option<i64>,
    /// Flag 0x80 (v5): keyspace to run in instead of the connection's.
    pub keyspace: Option<String>,
    /// Flag 0x100 (v5): "now" in seconds, for testing TTLs.
    pub now_in_seconds: Option<i32>,
}

impl QueryParams {
    /// Parameters with the given consistency and nothing else set.
    pub fn new(consistency: Consistency) -> Self {
        Self {
            consistency,
            values: Values::default(),
            skip_metadata: false,
            page_size: None,
            paging_state: None,
            serial_consistency: None,
            timestamp: None,
            keyspace: None,
            now_in_seconds: None,
        }
    }

    pub(crate) fn decode(
        body: &mut Reader,
        version: ProtocolVersion,
    ) -> Result<Self, ProtocolError> {
        let consistency = body.read_consistency("consistency")?;
        let flags = read_flags(
            body,
            version,
            flag::KNOWN_V4,
            flag::KNOWN_V5,
            "query parameters",
        )?;
        let values = match flags & flag::VALUES {
            0 => Values::default(),
            _ => read_values(body, flags & flag::NAMES_FOR_VALUES != 0)?,
        };
        let mut params = Self::new(consistency);
        params.values = values;
        params.skip_metadata = flags & flag::SKIP_METADATA != 0;
        if flags & flag::PAGE_SIZE != 0 {
            params.page_size = Some(body.read_int("page size")?);
        }
        if flags & flag::PAGING_STATE != 0 {
            params.paging_state = body.read_bytes("paging state")?;
        }
        read_common_tail(
            body,
            flags,
            &mut params.serial_consistency,
            &mut params.timestamp,
        )?;
        read_v5_tail(
            body,
            flags,
            &mut params.keyspace,
            &mut params.now_in_seconds,
        )?;
        Ok(params)
    }

    pub(crate) fn encode(
        &self,
        version: ProtocolVersion,
        out: &mut BytesMut,
    ) -> Result<(), EncodeError> {
        put_consistency(out, self.consistency);
        let flags = values_flags(&self.values)
            | bool_flag(self.skip_metadata, flag::SKIP_METADATA)
            | bool_flag(self.page_size.is_some(), flag::PAGE_SIZE)
            | bool_flag(self.paging_state.is_some(), flag::PAGING_STATE)
            | tail_flags(
                self.serial_consistency,
                self.timestamp,
                self.keyspace.as_deref(),
                self.now_in_seconds,
            );
        put_flags(out, version, flags);
        if flags & flag::VALUES != 0 {
            put_values(out, &self.values)?;
        }
        if let Some(page_size) = self.page_size {
            out.put_i32(page_size);
        }
        if let Some(paging_state) = &self.paging_state {
            put_bytes(out, Some(paging_state), "paging state")?;
        }
        put_tail(
            out,
            version,
            self.serial_consistency,
            self.timestamp,
            self.keyspace.as_deref(),
            self.now_in_seconds,
        )
    }
}

pub(super) fn decode(
    body: &mut Reader,
    version: ProtocolVersion,
) -> Result<(String, QueryParams), ProtocolError> {
    let query = body.read_long_string("QUERY string")?;
    Ok((query, QueryParams::decode(body, version)?))
}

pub(super) fn encode(
    query: &str,
    params: &QueryParams,
    version: ProtocolVersion,
    out: &mut BytesMut,
) -> Result<(), EncodeError> {
    put_long_string(out, query, "QUERY string")?;
    params.encode(version, out)
}

/// Reads the flags (`[byte]` in v4, `[int]` in v5) and refuses unknown bits.
pub(super) fn read_flags(
    body: &mut Reader,
    version: ProtocolVersion,
    known_v4: u32,
    known_v5: u32,
    what: &'static str,
) -> Result<u32, ProtocolError> {
    let (flags, known) = match version {
        ProtocolVersion::V4 => (u32::from(body.read_byte(what)?), known_v4),
        ProtocolVersion::V5 => (body.read_int(what)? as u32, known_v5),
    };
    if flags & !known != 0 {
        return Err(ProtocolError::UnknownFlags { what, flags });
    }
    Ok(flags)
}

pub(super) fn put_flags(out: &mut BytesMut, version: ProtocolVersion, flags: u32) {
    match version {
        // v5-only bits (keyspace, now_in_seconds) cannot be expressed in v4 and are dropped with their fields.
        ProtocolVersion::V4 => out.put_u8((flags & flag::KNOWN_V4) as u8),
        ProtocolVersion::V5 => out.put_u32(flags),
    }
}

/// `<n:short>` then n `[value]`s, each preceded by a `[string]` name when `named`.
pub(super) fn read_values(body: &mut Reader, named: bool) -> Result<Values, ProtocolError> {
    let count = usize::from(body.read_short("value count")?);
    body.check_count(count, 4, "values")?;
    if named {
        let values = (0..count)
            .map(|_| Ok((body.read_string("value name")?, body.read_value("value")?)))
            .collect::<Result<_, ProtocolError>>()?;
        return Ok(Values::Named(values));
    }
    let values = (0..count)
        .map(|_| body.read_value("value"))
        .collect::<Result<_, _>>()?;
    Ok(Values::Positional(values))
}

pub(super) fn put_values(out: &mut BytesMut, values: &Values) -> Result<(), EncodeError> {
    match values {
        Values::Positional(values) => {
            out.put_u16(short_len(values.len(), "values")?);
            values
                .iter()
                .try_for_each(|value| put_value(out, value, "value"))
        }
        Values::Named(values) => {
            out.put_u16(short_len(values.len(), "values")?);
            values
                .iter()
                .try_for_each(|(name, value): &(String, Value)| {
                    put_string(out, name, "value name")?;
                    put_value(out, value, "value")
                })
        }
    }
}

/// The VALUES / NAMES_FOR_VALUES flags for `values` (no flag for zero positional values).
pub(super) fn values_flags(values: &Values) -> u32 {
    match values {
        Values::Positional(values) if values.is_empty() => 0,
        Values::Positional(_) => flag::VALUES,
        Values::Named(_) => flag::VALUES | flag::NAMES_FOR_VALUES,
    }
}

fn bool_flag(set: bool, bit: u32) -> u32 {
    if set {
        bit
    } else {
        0
    }
}

/// Flags of the parameters QUERY, EXECUTE and BATCH share at their end.
pub(super) fn tail_flags(
    serial_consistency: Option<Consistency>,
    timestamp: Option<i64>,
    keyspace: Option<&str>,
    now_in_seconds: Option<i32>,
) -> u32 {
    bool_flag(serial_consistency.is_some(), flag::SERIAL_CONSISTENCY)
        | bool_flag(timestamp.is_some(), flag::TIMESTAMP)
        | bool_flag(keyspace.is_some(), flag::KEYSPACE)
        | bool_flag(now_in_seconds.is_some(), flag::NOW_IN_SECONDS)
}

/// `[serial_consistency][timestamp]`, present per flags 0x10 and 0x20.
pub(super) fn read_common_tail(
    body: &mut Reader,
    flags: u32,
    serial_consistency: &mut Option<Consistency>,
    timestamp: &mut Option<i64>,
) -> Result<(), ProtocolError> {
    if flags & flag::SERIAL_CONSISTENCY != 0 {
        *serial_consistency = Some(body.read_consistency("serial consistency")?);
    }
    if flags & flag::TIMESTAMP != 0 {
        *timestamp = Some(body.read_long("timestamp")?);
    }
    Ok(())
}

/// v5 `[keyspace][now_in_seconds]`, present per flags 0x80 and 0x100 (refused in v4 by the flag check).
pub(super) fn read_v5_tail(
    body: &mut Reader,
    flags: u32,
    keyspace: &mut Option<String>,
    now_in_seconds: &mut Option<i32>,
) -> Result<(), ProtocolError> {
    if flags & flag::KEYSPACE != 0 {
        *keyspace = Some(body.read_string("keyspace")?);
    }
    if flags & flag::NOW_IN_SECONDS != 0 {
        *now_in_seconds = Some(body.read_int("now in seconds")?);
    }
    Ok(())
}

/// Writes `[serial_consistency][timestamp]` and, in v5, `[keyspace][now_in_seconds]`.
pub(super) fn put_tail(
    out: &mut BytesMut,
    version: ProtocolVersion,
    serial_consistency: Option<Consistency>,
    timestamp: Option<i64>,
    keyspace: Option<&str>,
    now_in_seconds: Option<i32>,
) -> Result<(), EncodeError> {
    if let Some(serial) = serial_consistency {
        put_consistency(out, serial);
    }
    if let Some(timestamp) = timestamp {
        out.put_i64(timestamp);
    }
    if version == ProtocolVersion::V4 {
        return Ok(());
    }
    if let Some(keyspace) = keyspace {
        put_string(out, keyspace, "keyspace")?;
    }
    if let Some(now) = now_in_seconds {
        out.put_i32(now);
    }
    Ok(())
}
