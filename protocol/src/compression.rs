//! v4 per-envelope body compression (spec v4 §5): LZ4 with a 4-byte big-endian uncompressed-length prefix,
//! or a raw snappy block. v5 compresses segments instead (see [`crate::segment`]).

use crate::error::{EncodeError, ProtocolError};

/// An LZ4 block expands at most ~255x; a stated length beyond that is a lie, refused before allocating.
const LZ4_MAX_RATIO: usize = 255;
/// A snappy block expands at most ~22x (a 3-byte copy tag yields 64 bytes).
const SNAPPY_MAX_RATIO: usize = 32;
/// Slack for tiny inputs, whose ratio bound would otherwise be below the format's minimum overhead.
const RATIO_SLACK: usize = 64;

/// A negotiated compression algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Lz4,
    Snappy,
}

impl Compression {
    /// Parses a STARTUP `COMPRESSION` value (case-insensitive, as Cassandra does).
    pub fn from_name(name: &str) -> Result<Self, ProtocolError> {
        match name.to_ascii_lowercase().as_str() {
            "lz4" => Ok(Self::Lz4),
            "snappy" => Ok(Self::Snappy),
            _ => Err(ProtocolError::UnsupportedCompression(name.to_owned())),
        }
    }

    /// The name used in STARTUP and SUPPORTED.
    pub fn name(self) -> &'static str {
        match self {
            Self::Lz4 => "lz4",
            Self::Snappy => "snappy",
        }
    }

    /// Compresses a v4 envelope body.
    pub fn compress(self, body: &[u8]) -> Result<Vec<u8>, EncodeError> {
        match self {
            Self::Lz4 => {
                let length = u32::try_from(body.len()).map_err(|_| EncodeError::TooLong {
                    what: "lz4 body",
                    size: body.len(),
                    max: u32::MAX as usize,
                })?;
                let mut out =
                    Vec::with_capacity(4 + lz4_flex::block::get_maximum_output_size(body.len()));
                out.extend_from_slice(&length.to_be_bytes());
                out.extend_from_slice(&lz4_flex::block::compress(body));
                Ok(out)
            }
            Self::Snappy => snap::raw::Encoder::new()
                .compress_vec(body)
                .map_err(|error| EncodeError::Compression(error.to_string())),
        }
    }

    /// Decompresses a v4 envelope body; refuses output larger than `max_len`.
    pub fn decompress(self, body: &[u8], max_len: usize) -> Result<Vec<u8>, ProtocolError> {
        match self {
            Self::Lz4 => decompress_lz4_prefixed(body, max_len),
            Self::Snappy => {
                let stated = snap::raw::decompress_len(body)
                    .map_err(|error| ProtocolError::Decompression(error.to_string()))?;
                check_stated_length(stated, body.len(), SNAPPY_MAX_RATIO, max_len)?;
                snap::raw::Decoder::new()
                    .decompress_vec(body)
                    .map_err(|error| ProtocolError::Decompression(error.to_string()))
            }
        }
    }
}

fn decompress_lz4_prefixed(body: &[u8], max_len: usize) -> Result<Vec<u8>, ProtocolError> {
    let (prefix, block) = body
        .split_first_chunk::<4>()
        .ok_or(ProtocolError::Truncated {
            what: "lz4 length prefix",
            needed: 4,
            remaining: body.len(),
        })?;
    let stated = i32::from_be_bytes(*prefix);
    let stated = usize::try_from(stated).map_err(|_| ProtocolError::NegativeLength {
        what: "lz4 length prefix",
        length: stated,
    })?;
    decompress_lz4_block(block, stated, max_len)
}

/// Decompresses an LZ4 block that must expand to exactly `stated` bytes (at most `max_len`).
pub(crate) fn decompress_lz4_block(
    block: &[u8],
    stated: usize,
    max_len: usize,
) -> Result<Vec<u8>, ProtocolError> {
    check_stated_length(stated, block.len(), LZ4_MAX_RATIO, max_len)?;
    let mut out = vec![0u8; stated];
    let written = lz4_flex::block::decompress_into(block, &mut out)
        .map_err(|error| ProtocolError::Decompression(error.to_string()))?;
    if written != stated {
        return Err(ProtocolError::Decompression(format!(
            "lz4 block expanded to {written} bytes, {stated} stated"
        )));
    }
    Ok(out)
}

/// Refuses a stated decompressed length beyond the frame limit or beyond what the input could expand to.
fn check_stated_length(
    stated: usize,
    compressed: usize,
    max_ratio: usize,
    max_len: usize,
) -> Result<(), ProtocolError> {
    if stated > max_len {
        return Err(ProtocolError::TooLarge {
            what: "decompressed body",
            size: stated,
            limit: max_len,
        });
    }
    let plausible = compressed
        .saturating_mul(max_ratio)
        .saturating_add(RATIO_SLACK);
    if stated > plausible {
        return Err(ProtocolError::Decompression(format!(
            "stated length {stated} is impossible for {compressed} compressed bytes"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        (0..10_000u32)
            .flat_map(|i| (i % 97).to_be_bytes())
            .collect()
    }

    #[test]
    fn lz4_round_trip_has_big_endian_length_prefix() {
        let body = sample();
        let compressed = Compression::Lz4.compress(&body).unwrap();
        assert_eq!(compressed[..4], (body.len() as u32).to_be_bytes());
        assert!(compressed.len() < body.len());
        assert_eq!(
            Compression::Lz4.decompress(&compressed, 1 << 20).unwrap(),
            body
        );
    }

    #[test]
    fn snappy_round_trip() {
        let body = sample();
        let compressed = Compression::Snappy.compress(&body).unwrap();
        assert!(compressed.len() < body.len());
        assert_eq!(
            Compression::Snappy
                .decompress(&compressed, 1 << 20)
                .unwrap(),
            body
        );
    }

    #[test]
    fn empty_bodies_round_trip() {
        for compression in [Compression::Lz4, Compression::Snappy] {
            let compressed = compression.compress(&[]).unwrap();
            assert_eq!(
                compression.decompress(&compressed, 16).unwrap(),
                Vec::<u8>::new()
            );
        }
    }

    #[test]
    fn refuses_lengths_beyond_limit_or_ratio() {
        let body = sample();
        let compressed = Compression::Lz4.compress(&body).unwrap();
        assert!(matches!(
            Compression::Lz4.decompress(&compressed, 100),
            Err(ProtocolError::TooLarge { .. })
        ));
        // A 10-byte "block" claiming 1 MB is refused before 1 MB is allocated.
        let mut forged = 1_000_000i32.to_be_bytes().to_vec();
        forged.extend_from_slice(&[0u8; 10]);
        assert!(matches!(
            Compression::Lz4.decompress(&forged, 16 << 20),
            Err(ProtocolError::Decompression(_))
        ));
        let negative = (-5i32).to_be_bytes();
        assert!(matches!(
            Compression::Lz4.decompress(&negative, 16),
            Err(ProtocolError::NegativeLength { .. })
        ));
        assert!(Compression::Snappy
            .decompress(&[0xff, 0xff, 0xff, 0xff, 0x0f], 16 << 20)
            .is_err());
    }

    #[test]
    fn parses_names_case_insensitively() {
        assert_eq!(Compression::from_name("LZ4").unwrap(), Compression::Lz4);
        assert_eq!(
            Compression::from_name("snappy").unwrap(),
            Compression::Snappy
        );
        assert!(Compression::from_name("zstd").is_err());
    }
}
