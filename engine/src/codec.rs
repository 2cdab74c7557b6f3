//! Little-endian encoding helpers shared by every on-disk format.
//!
//! Invariants: every integer on disk is little-endian; decoding never panics and never
//! reads past the slice (a short or malformed input gives [`DecodeError`]); lengths read
//! from disk are bounded before anything is allocated for them.

/// Why a byte string could not be decoded (mapped to `Error::Corruption` by callers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DecodeError(pub &'static str);

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

pub(crate) type DecodeResult<T> = std::result::Result<T, DecodeError>;

pub(crate) fn put_u8(out: &mut Vec<u8>, v: u8) {
    out.push(v);
}
pub(crate) fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}
pub(crate) fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}
pub(crate) fn put_i64(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(&v.to_le_bytes());
}
/// Length-prefixed (u32) byte string. Callers bound `bytes.len()` beforehand.
pub(crate) fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_u32(out, len_u32(bytes.len()));
    out.extend_from_slice(bytes);
}

/// Converts an in-memory length to the on-disk u32. Every caller has already bounded the
/// length far below 4 GiB (keys, values, blocks, records), so saturation never happens in
/// practice; saturating keeps this panic-free and any mismatch would fail the CRC check.
pub(crate) fn len_u32(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

/// A bounds-checked cursor over a byte slice.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }
    pub(crate) fn position(&self) -> usize {
        self.pos
    }
    pub(crate) fn take(&mut self, n: usize) -> DecodeResult<&'a [u8]> {
        let end = self.pos.checked_add(n).ok_or(DecodeError("length overflow"))?;
        let out = self.buf.get(self.pos..end).ok_or(DecodeError("truncated"))?;
        self.pos = end;
        Ok(out)
    }
    fn array<const N: usize>(&mut self) -> DecodeResult<[u8; N]> {
        let bytes = self.take(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }
    pub(crate) fn u8(&mut self) -> DecodeResult<u8> {
        Ok(self.array::<1>()?[0])
    }
    pub(crate) fn u32(&mut self) -> DecodeResult<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    pub(crate) fn u64(&mut self) -> DecodeResult<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    pub(crate) fn i64(&mut self) -> DecodeResult<i64> {
        Ok(i64::from_le_bytes(self.array()?))
    }
    /// A u32-length-prefixed byte string of at most `max` bytes.
    pub(crate) fn bytes(&mut self, max: usize) -> DecodeResult<&'a [u8]> {
        let len = self.u32()? as usize;
        if len > max {
            return Err(DecodeError("length exceeds bound"));
        }
        self.take(len)
    }
    /// A count that must fit in what is left, given each item takes at least `min_item_bytes`.
    pub(crate) fn count(&mut self, min_item_bytes: usize) -> DecodeResult<usize> {
        let n = self.u32()? as usize;
        if n.saturating_mul(min_item_bytes.max(1)) > self.remaining() {
            return Err(DecodeError("count exceeds remaining bytes"));
        }
        Ok(n)
    }
}

/// CRC32 (IEEE) of `data`.
pub(crate) fn crc32(data: &[u8]) -> u32 {
    crc32fast::hash(data)
}

/// Splits `buf` into (body, trailing CRC) and checks the CRC.
pub(crate) fn check_trailing_crc(buf: &[u8]) -> DecodeResult<&[u8]> {
    let split = buf.len().checked_sub(4).ok_or(DecodeError("block shorter than its checksum"))?;
    let (body, tail) = buf.split_at(split);
    let mut crc = [0u8; 4];
    crc.copy_from_slice(tail);
    if crc32(body) != u32::from_le_bytes(crc) {
        return Err(DecodeError("checksum mismatch"));
    }
    Ok(body)
}

/// Appends the CRC of everything in `out` from `start` on.
pub(crate) fn seal_crc(out: &mut Vec<u8>, start: usize) {
    let crc = crc32(out.get(start..).unwrap_or_default());
    put_u32(out, crc);
}

/// 64-bit hash for Bloom filters (FNV-1a followed by a murmur3 finalizer for avalanche).
/// Part of the array format: changing it invalidates every Bloom filter on disk.
pub(crate) fn hash64(data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in data {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_rejects_truncated_and_oversized_input() {
        let mut out = Vec::new();
        put_bytes(&mut out, b"hello");
        let mut r = Reader::new(&out);
        assert_eq!(r.bytes(10).unwrap(), b"hello");
        let mut r = Reader::new(&out);
        assert!(r.bytes(3).is_err());
        let mut r = Reader::new(&out[..6]);
        assert!(r.bytes(10).is_err());
        let mut r = Reader::new(&[1, 2]);
        assert!(r.u32().is_err());
    }

    #[test]
    fn crc_detects_a_flipped_bit() {
        let mut out = b"some block".to_vec();
        seal_crc(&mut out, 0);
        assert!(check_trailing_crc(&out).is_ok());
        out[3] ^= 1;
        assert!(check_trailing_crc(&out).is_err());
    }
}
