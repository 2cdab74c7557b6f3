//! v5 segment framing (spec v5 §2): little-endian headers protected by CRC24, payloads by CRC32.
//!
//! Uncompressed header: 3 bytes (17-bit payload length, self-contained bit) + 3 bytes CRC24.
//! LZ4 header: 5 bytes (17-bit compressed length, 17-bit uncompressed length, self-contained bit) + CRC24.
//! After the payload: 4 bytes CRC32 (zlib CRC32 seeded by first feeding `fa 2d 55 ca`).

use bytes::{Bytes, BytesMut};

use crate::error::DecodeError;

/// Largest segment payload (17 bits).
pub const MAX_PAYLOAD: usize = 131_071;

/// CRC24 as Cassandra computes it over a segment header (init 0x875060, polynomial 0x1974F0B).
pub fn crc24(bytes: &[u8]) -> u32 {
    let _ = bytes;
    todo!()
}

/// CRC32 of a segment payload, seeded with `fa 2d 55 ca`.
pub fn crc32(bytes: &[u8]) -> u32 {
    let _ = bytes;
    todo!()
}

/// A decoded segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// The payload, decompressed.
    pub payload: Bytes,
    /// True when the payload holds whole envelopes only.
    pub self_contained: bool,
}

/// Decodes one segment from the front of `buf`, or `Ok(None)` while it is incomplete.
pub fn decode(buf: &mut BytesMut, lz4: bool) -> Result<Option<Segment>, DecodeError> {
    let _ = (buf, lz4);
    todo!()
}

/// Frames `envelopes` (already encoded envelopes, back to back) into `out`: one self-contained segment when
/// they fit, otherwise non-self-contained segments of at most [`MAX_PAYLOAD`] bytes each.
pub fn encode(parts: &[&[u8]], lz4: bool, out: &mut BytesMut) {
    let _ = (parts, lz4, out);
    todo!()
}
