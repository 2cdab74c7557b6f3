//! v5 segment framing (spec v5 §2), used after the handshake.
//!
//! All integers here are little-endian (the envelopes inside stay big-endian).
//! - Uncompressed header, 6 bytes: a 3-byte word (bits 0-16 payload length, bit 17 self-contained) then the
//!   CRC24 of those 3 bytes.
//! - LZ4 header, 8 bytes: a 5-byte word (bits 0-16 compressed length, bits 17-33 uncompressed length, bit 34
//!   self-contained) then the CRC24 of those 5 bytes. Uncompressed length 0 means the payload was sent as is.
//!   The LZ4 block carries no length prefix.
//! - After the payload: the CRC32 of the payload bytes as sent, seeded by first feeding `fa 2d 55 ca`
//!   (the spec omits the seed; Cassandra and every driver use it).
//!
//! A self-contained segment holds one or more whole envelopes. An envelope larger than [`MAX_PAYLOAD`] is
//! split over consecutive non-self-contained segments.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::compression::decompress_lz4_block;
use crate::error::DecodeError;

/// Largest segment payload (17 bits), compressed or not.
pub const MAX_PAYLOAD: usize = 131_071;
const UNCOMPRESSED_HEADER_LEN: usize = 6;
const LZ4_HEADER_LEN: usize = 8;
const TRAILER_LEN: usize = 4;
const CRC24_INIT: u32 = 0x0087_5060;
const CRC24_POLY: u32 = 0x0197_4F0B;
const CRC32_SEED: [u8; 4] = [0xfa, 0x2d, 0x55, 0xca];
const LENGTH_MASK: u64 = 0x1_FFFF;

/// CRC24 as Cassandra computes it over a segment header: init 0x875060, polynomial 0x1974F0B, fed one
/// byte at a time in buffer order (which is least significant first for the little-endian header).
pub fn crc24(bytes: &[u8]) -> u32 {
    let mut crc = CRC24_INIT;
    for byte in bytes {
        crc ^= u32::from(*byte) << 16;
        for _ in 0..8 {
            crc <<= 1;
            if crc & 0x0100_0000 != 0 {
                crc ^= CRC24_POLY;
            }
        }
    }
    crc & 0x00FF_FFFF
}

/// CRC32 of a segment payload, seeded with `fa 2d 55 ca`.
pub fn crc32(bytes: &[u8]) -> u32 {
    crc32_of_parts(&[bytes])
}

fn crc32_of_parts(parts: &[&[u8]]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&CRC32_SEED);
    parts.iter().for_each(|part| hasher.update(part));
    hasher.finalize()
}

/// A decoded segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// The payload, decompressed.
    pub payload: Bytes,
    /// True when the payload holds whole envelopes only.
    pub self_contained: bool,
}

/// The fields of a segment header after its CRC24 was checked.
struct SegmentHeader {
    header_len: usize,
    /// Payload bytes on the wire.
    wire_len: usize,
    /// Decompressed length; 0 when the payload is not compressed.
    uncompressed_len: usize,
    self_contained: bool,
}

fn le_word(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .rev()
        .fold(0, |acc, byte| (acc << 8) | u64::from(*byte))
}

fn peek_header(buf: &[u8], lz4: bool) -> Result<Option<SegmentHeader>, DecodeError> {
    let (header_len, word_len) = if lz4 {
        (LZ4_HEADER_LEN, 5)
    } else {
        (UNCOMPRESSED_HEADER_LEN, 3)
    };
    let Some(header) = buf.get(..header_len) else {
        return Ok(None);
    };
    let (word_bytes, crc_bytes) = header.split_at(word_len);
    let received = le_word(crc_bytes) as u32;
    let computed = crc24(word_bytes);
    if computed != received {
        return Err(DecodeError::HeaderCrcMismatch { computed, received });
    }
    let word = le_word(word_bytes);
    let wire_len = (word & LENGTH_MASK) as usize;
    Ok(Some(if lz4 {
        SegmentHeader {
            header_len,
            wire_len,
            uncompressed_len: ((word >> 17) & LENGTH_MASK) as usize,
            self_contained: word & (1 << 34) != 0,
        }
    } else {
        SegmentHeader {
            header_len,
            wire_len,
            uncompressed_len: 0,
            self_contained: word & (1 << 17) != 0,
        }
    }))
}

/// Decodes one segment from the front of `buf`, or `Ok(None)` while it is incomplete. Nothing is consumed
/// until the whole segment is buffered; a segment never exceeds 8 + 131071 + 4 bytes.
pub fn decode(buf: &mut BytesMut, lz4: bool) -> Result<Option<Segment>, DecodeError> {
    let Some(header) = peek_header(buf, lz4)? else {
        return Ok(None);
    };
    let total = header.header_len + header.wire_len + TRAILER_LEN;
    if buf.len() < total {
        return Ok(None);
    }
    buf.advance(header.header_len);
    let payload = buf.split_to(header.wire_len).freeze();
    let received = buf.get_u32_le();
    let computed = crc32(&payload);
    if computed != received {
        return Err(DecodeError::PayloadCrcMismatch { computed, received });
    }
    let payload = match header.uncompressed_len {
        0 => payload,
        stated => Bytes::from(decompress_lz4_block(&payload, stated, MAX_PAYLOAD).map_err(
            |_| {
                DecodeError::MalformedSegment(
                    "lz4 payload does not decompress to its stated length",
                )
            },
        )?),
    };
    Ok(Some(Segment {
        payload,
        self_contained: header.self_contained,
    }))
}

/// Frames a byte stream given as consecutive `parts` (whole envelopes) into `out`: one self-contained
/// segment when it fits in [`MAX_PAYLOAD`], otherwise consecutive non-self-contained segments.
pub fn encode(parts: &[&[u8]], lz4: bool, out: &mut BytesMut) {
    let total: usize = parts.iter().map(|part| part.len()).sum();
    let self_contained = total <= MAX_PAYLOAD;
    let mut chunks = Chunks {
        parts,
        part: 0,
        offset: 0,
    };
    loop {
        let chunk = chunks.next_chunk(MAX_PAYLOAD);
        if chunk.is_empty() && !(self_contained && total == 0) {
            break;
        }
        if lz4 {
            put_lz4_segment(&chunk, self_contained, out);
        } else {
            put_uncompressed_segment(&chunk, self_contained, out);
        }
        if self_contained {
            break;
        }
    }
}

fn put_uncompressed_segment(chunk: &[&[u8]], self_contained: bool, out: &mut BytesMut) {
    let len: usize = chunk.iter().map(|part| part.len()).sum();
    let word = len as u64 | (u64::from(self_contained) << 17);
    put_header(out, word, 3);
    chunk.iter().for_each(|part| out.put_slice(part));
    out.put_u32_le(crc32_of_parts(chunk));
}

fn put_lz4_segment(chunk: &[&[u8]], self_contained: bool, out: &mut BytesMut) {
    let raw = chunk.concat();
    let compressed = lz4_flex::block::compress(&raw);
    // Incompressible data travels as is, flagged by an uncompressed length of 0 (as Cassandra does).
    let (payload, uncompressed_len) = if compressed.len() < raw.len() {
        (compressed.as_slice(), raw.len())
    } else {
        (raw.as_slice(), 0)
    };
    let word = payload.len() as u64
        | ((uncompressed_len as u64) << 17)
        | (u64::from(self_contained) << 34);
    put_header(out, word, 5);
    out.put_slice(payload);
    out.put_u32_le(crc32(payload));
}

fn put_header(out: &mut BytesMut, word: u64, word_len: usize) {
    let start = out.len();
    out.put_uint_le(word, word_len);
    let crc = out.get(start..).map(crc24).unwrap_or_default();
    out.put_uint_le(u64::from(crc), 3);
}

/// Walks consecutive byte slices in chunks of a bounded size without copying.
struct Chunks<'a> {
    parts: &'a [&'a [u8]],
    part: usize,
    offset: usize,
}

impl<'a> Chunks<'a> {
    fn next_chunk(&mut self, max: usize) -> Vec<&'a [u8]> {
        let mut chunk = Vec::new();
        let mut room = max;
        while room > 0 {
            let Some(part) = self.parts.get(self.part) else {
                break;
            };
            let rest = part.get(self.offset..).unwrap_or_default();
            let (taken, _) = rest.split_at(rest.len().min(room));
            if !taken.is_empty() {
                chunk.push(taken);
            }
            room -= taken.len();
            self.offset += taken.len();
            if self.offset >= part.len() {
                self.part += 1;
                self.offset = 0;
            }
        }
        chunk
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(text: &str) -> Vec<u8> {
        let digits: Vec<u8> = text.bytes().filter(u8::is_ascii_hexdigit).collect();
        digits
            .chunks(2)
            .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
            .collect()
    }

    /// Golden vectors of brief §1.9, computed independently of this code.
    #[test]
    fn golden_ready_and_options_segments() {
        let ready = hex("850000000200000000");
        let mut out = BytesMut::new();
        encode(&[&ready], false, &mut out);
        assert_eq!(
            out.to_vec(),
            hex("090002 a4c8c1 850000000200000000 4f5a5d99")
        );
        let options = hex("050000010500000000");
        let mut out = BytesMut::new();
        encode(&[&options], false, &mut out);
        assert_eq!(
            out.to_vec(),
            hex("090002 a4c8c1 050000010500000000 b5557486")
        );
        let segment = decode(&mut out, false).unwrap().unwrap();
        assert!(segment.self_contained);
        assert_eq!(segment.payload.to_vec(), options);
        assert!(out.is_empty());
    }

    fn decode_all(mut buf: BytesMut, lz4: bool) -> Vec<Segment> {
        let mut segments = Vec::new();
        while let Some(segment) = decode(&mut buf, lz4).unwrap() {
            segments.push(segment);
        }
        assert!(buf.is_empty());
        segments
    }

    #[test]
    fn large_payload_is_split_and_rejoined_in_both_variants() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
        for lz4 in [false, true] {
            let mut out = BytesMut::new();
            let (head, tail) = data.split_at(1000);
            encode(&[head, tail], lz4, &mut out);
            let segments = decode_all(out, lz4);
            assert_eq!(segments.len(), 3, "lz4={lz4}");
            assert!(segments.iter().all(|segment| !segment.self_contained));
            assert!(segments
                .iter()
                .all(|segment| segment.payload.len() <= MAX_PAYLOAD));
            let joined: Vec<u8> = segments
                .iter()
                .flat_map(|segment| segment.payload.to_vec())
                .collect();
            assert_eq!(joined, data);
        }
    }

    #[test]
    fn lz4_compresses_compressible_and_passes_incompressible_through() {
        let compressible = vec![7u8; 10_000];
        let mut out = BytesMut::new();
        encode(&[&compressible], true, &mut out);
        assert!(out.len() < 1000);
        assert_eq!(decode_all(out, true)[0].payload.to_vec(), compressible);
        let incompressible: Vec<u8> = (0..64u8).collect();
        let mut out = BytesMut::new();
        encode(&[&incompressible], true, &mut out);
        // Header word: compressed length 64, uncompressed length 0, self-contained.
        assert_eq!(le_word(&out[..5]), 64 | (1 << 34));
        assert_eq!(decode_all(out, true)[0].payload.to_vec(), incompressible);
    }

    #[test]
    fn partial_segment_waits_and_corruption_is_detected() {
        let mut full = BytesMut::new();
        encode(&[b"hello envelope"], false, &mut full);
        let mut partial = BytesMut::from(&full[..full.len() - 1]);
        assert_eq!(decode(&mut partial, false).unwrap(), None);
        assert_eq!(
            partial.len(),
            full.len() - 1,
            "nothing consumed while incomplete"
        );

        let mut bad_header = full.clone();
        bad_header[0] ^= 1;
        assert!(matches!(
            decode(&mut bad_header, false),
            Err(DecodeError::HeaderCrcMismatch { .. })
        ));
        let mut bad_payload = full.clone();
        bad_payload[7] ^= 1;
        assert!(matches!(
            decode(&mut bad_payload, false),
            Err(DecodeError::PayloadCrcMismatch { .. })
        ));
    }

    #[test]
    fn lz4_segment_with_wrong_uncompressed_length_is_refused() {
        let raw = vec![1u8; 1000];
        let compressed = lz4_flex::block::compress(&raw);
        let mut out = BytesMut::new();
        put_header(
            &mut out,
            compressed.len() as u64 | (999 << 17) | (1 << 34),
            5,
        );
        out.put_slice(&compressed);
        out.put_u32_le(crc32(&compressed));
        assert!(matches!(
            decode(&mut out, true),
            Err(DecodeError::MalformedSegment(_))
        ));
    }
}
