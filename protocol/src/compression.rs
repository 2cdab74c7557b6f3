//! v4 per-envelope body compression (spec v4 §5): LZ4 with a 4-byte big-endian uncompressed-length prefix,
//! or a raw snappy block.

use crate::error::{EncodeError, ProtocolError};

/// A negotiated compression algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Lz4,
    Snappy,
}

impl Compression {
    /// Parses a STARTUP `COMPRESSION` value (case-insensitive).
    pub fn from_name(name: &str) -> Result<Self, ProtocolError> {
        let _ = name;
        todo!()
    }

    /// Compresses a v4 envelope body.
    pub fn compress(self, body: &[u8]) -> Result<Vec<u8>, EncodeError> {
        let _ = body;
        todo!()
    }

    /// Decompresses a v4 envelope body; refuses output larger than `max_len`.
    pub fn decompress(self, body: &[u8], max_len: usize) -> Result<Vec<u8>, ProtocolError> {
        let _ = (body, max_len);
        todo!()
    }
}
