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

/// LEB128 varint: 7 bits a byte, low group first, high bit set on all but the last byte.
pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Converts an in-memory length to the on-disk u32. Every caller has already bounded the
/// length far below 4 GiB (keys, values, blocks, records), so saturation never happens in
/// practice; saturating keeps this panic-free and any mismatch would fail the CRC check.
pub(crate) fn len_u32(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

/// A key's first 8 bytes as a big-endian integer, zero-padded: prefixes order like the keys
/// wherever they differ (a shorter key pads with zeros, which never sort after a real
/// byte), so sorted structures compare integers first and key bytes only on ties.
pub(crate) fn key_prefix(key: &[u8]) -> u64 {
    match key.first_chunk::<8>() {
        Some(p) => u64::from_be_bytes(*p),
        None => {
            let mut p = [0u8; 8];
            p.iter_mut().zip(key).for_each(|(d, s)| *d = *s);
            u64::from_be_bytes(p)
        }
    }
}

/// A bounds-checked cursor over a byte slice.
#[derive(Clone)]
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
    pub(crate) fn take(&mut self, n: usize) -> DecodeResult<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .ok_or(DecodeError("length overflow"))?;
        let out = self
            .buf
            .get(self.pos..end)
            .ok_or(DecodeError("truncated"))?;
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
    /// A varint (see `put_varint`) that fits in a u32.
    pub(crate) fn varint_u32(&mut self) -> DecodeResult<u32> {
        let mut v = 0u64;
        for shift in (0..35).step_by(7) {
            let b = self.u8()?;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return u32::try_from(v).map_err(|_| DecodeError("varint exceeds u32"));
            }
        }
        Err(DecodeError("varint too long"))
    }
    /// A varint-length-prefixed byte string of at most `max` bytes.
    pub(crate) fn varint_bytes(&mut self, max: usize) -> DecodeResult<&'a [u8]> {
        let len = self.varint_u32()? as usize;
        if len > max {
            return Err(DecodeError("length exceeds bound"));
        }
        self.take(len)
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
        self.check_count(n, min_item_bytes)?;
        Ok(n)
    }
    /// Checks that `n` items of at least `min_item_bytes` each fit in what is left.
    pub(crate) fn check_count(&self, n: usize, min_item_bytes: usize) -> DecodeResult<()> {
        if n.saturating_mul(min_item_bytes.max(1)) > self.remaining() {
            return Err(DecodeError("count exceeds remaining bytes"));
        }
        Ok(())
    }
}

/// CRC32 (IEEE) of `data`.
pub(crate) fn crc32(data: &[u8]) -> u32 {
    crc32fast::hash(data)
}

/// Splits `buf` into (body, trailing CRC) and checks the CRC.
pub(crate) fn check_trailing_crc(buf: &[u8]) -> DecodeResult<&[u8]> {
    let split = buf
        .len()
        .checked_sub(4)
        .ok_or(DecodeError("block shorter than its checksum"))?;
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

/// Size of a frame header: `len u32 | crc32(len) u32 | crc32(payload) u32`.
pub(crate) const FRAME_HEADER: usize = 12;

/// Appends one CRC-framed record (used by the WAL and the manifest).
pub(crate) fn put_frame(out: &mut Vec<u8>, payload: &[u8]) {
    let start = begin_frame(out);
    out.extend_from_slice(payload);
    end_frame(out, start);
}

/// Reserves a frame header; encode the payload after it, then call [`end_frame`].
/// Lets callers encode in place instead of building the payload separately.
pub(crate) fn begin_frame(out: &mut Vec<u8>) -> usize {
    let start = out.len();
    out.extend_from_slice(&[0u8; FRAME_HEADER]);
    start
}

/// Fills in the header of the frame started at `start`; returns the payload length.
pub(crate) fn end_frame(out: &mut [u8], start: usize) -> usize {
    let Some((header, payload)) = out
        .get_mut(start..)
        .map(|f| f.split_at_mut(FRAME_HEADER.min(f.len())))
    else {
        return 0;
    };
    let len = len_u32(payload.len()).to_le_bytes();
    let mut h = [0u8; FRAME_HEADER];
    h[..4].copy_from_slice(&len);
    h[4..8].copy_from_slice(&crc32(&len).to_le_bytes());
    h[8..].copy_from_slice(&crc32(payload).to_le_bytes());
    if header.len() == FRAME_HEADER {
        header.copy_from_slice(&h);
    }
    payload.len()
}

/// Result of reading one frame from a log file.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Frame<'a> {
    /// A complete, checksum-valid record and the offset just past it.
    Record(&'a [u8], usize),
    /// Clean end of the log: the end of the file, or only zero padding left
    /// (`logfile::LogFile` writes records over zeros written ahead of them).
    End,
    /// The log ends with an incomplete or checksum-failing record followed by nothing but
    /// zero padding: the normal result of a crash during the last append.
    TornTail,
    /// A damaged record followed by more data: real corruption.
    Corrupt(&'static str),
}

fn all_zero(bytes: &[u8]) -> bool {
    bytes.iter().all(|&b| b == 0)
}

/// Reads the frame at `pos` of `log`, rejecting payloads over `max_payload`.
///
/// A valid header is never all zeros (the CRC of a zero length is not zero), so zeros where
/// a header should start mean the padding has begun. A damaged frame is a torn tail only if
/// nothing but zeros follows the bytes it claims, so a torn last append is tolerated while
/// damage before further records is reported.
pub(crate) fn read_frame(log: &[u8], pos: usize, max_payload: usize) -> Frame<'_> {
    let Some(rest) = log.get(pos..) else {
        return Frame::Corrupt("offset past end");
    };
    if all_zero(rest.get(..FRAME_HEADER.min(rest.len())).unwrap_or_default()) && all_zero(rest) {
        return Frame::End;
    }
    let torn_or = |claimed_end: usize, corrupt: &'static str| {
        if all_zero(log.get(claimed_end..).unwrap_or_default()) {
            Frame::TornTail
        } else {
            Frame::Corrupt(corrupt)
        }
    };
    if rest.len() < FRAME_HEADER {
        return Frame::TornTail;
    }
    let mut r = Reader::new(rest);
    let (Ok(len_bytes), Ok(len_crc), Ok(payload_crc)) = (r.take(4), r.u32(), r.u32()) else {
        return Frame::TornTail;
    };
    let body = pos + FRAME_HEADER;
    if crc32(len_bytes) != len_crc {
        return torn_or(body, "frame header checksum mismatch");
    }
    let mut lb = [0u8; 4];
    lb.copy_from_slice(len_bytes);
    let len = u32::from_le_bytes(lb) as usize;
    if len > max_payload {
        return Frame::Corrupt("frame length exceeds bound");
    }
    let Ok(payload) = r.take(len) else {
        return Frame::TornTail;
    };
    if crc32(payload) != payload_crc {
        return torn_or(body + len, "frame checksum mismatch");
    }
    Frame::Record(payload, body + len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_and_reject_overlong_or_oversized_input() {
        for v in [0u64, 1, 127, 128, 300, 16_383, 16_384, u64::from(u32::MAX)] {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            assert_eq!(
                out.len(),
                (64 - (v | 1).leading_zeros() as usize).div_ceil(7),
                "{v}"
            );
            let mut r = Reader::new(&out);
            assert_eq!(u64::from(r.varint_u32().unwrap()), v);
            assert_eq!(r.remaining(), 0);
        }
        let mut big = Vec::new();
        put_varint(&mut big, u64::from(u32::MAX) + 1);
        assert!(Reader::new(&big).varint_u32().is_err());
        assert!(Reader::new(&[0x80; 6]).varint_u32().is_err());
        assert!(Reader::new(&[0x80]).varint_u32().is_err());
        assert!(Reader::new(&[5, 1, 2]).varint_bytes(10).is_err());
        assert!(Reader::new(&[5, 1, 2, 3, 4, 5]).varint_bytes(4).is_err());
    }

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
    fn frames_distinguish_torn_tails_from_corruption() {
        let mut log = Vec::new();
        put_frame(&mut log, b"first");
        put_frame(&mut log, b"second");
        let Frame::Record(p, next) = read_frame(&log, 0, 100) else {
            panic!()
        };
        assert_eq!(p, b"first");
        let Frame::Record(p, end) = read_frame(&log, next, 100) else {
            panic!()
        };
        assert_eq!(p, b"second");
        assert_eq!(read_frame(&log, end, 100), Frame::End);
        for cut in next + 1..log.len() {
            assert_eq!(
                read_frame(&log[..cut], next, 100),
                Frame::TornTail,
                "cut at {cut}"
            );
        }
        let mut bad = log.clone();
        bad[FRAME_HEADER + 1] ^= 1;
        assert!(matches!(read_frame(&bad, 0, 100), Frame::Corrupt(_)));
        let mut bad_len = log.clone();
        bad_len[0] ^= 1;
        assert!(matches!(read_frame(&bad_len, 0, 100), Frame::Corrupt(_)));
        assert!(matches!(read_frame(&log, 0, 2), Frame::Corrupt(_)));
    }

    #[test]
    fn zero_padding_ends_the_log_and_a_torn_record_before_it_is_a_torn_tail() {
        let mut log = Vec::new();
        put_frame(&mut log, b"first\0\0");
        let end = log.len();
        put_frame(&mut log, b"second");
        let full = log.len();
        log.resize(full + 100, 0);
        let Frame::Record(p, next) = read_frame(&log, 0, 100) else {
            panic!()
        };
        assert_eq!(
            (p, next),
            (&b"first\0\0"[..], end),
            "a record ending in zeros is whole"
        );
        let Frame::Record(_, after) = read_frame(&log, next, 100) else {
            panic!()
        };
        assert_eq!(read_frame(&log, after, 100), Frame::End);
        // A crash while writing "second" over the padding leaves a prefix of it, then zeros.
        for cut in end + 1..full {
            let mut torn = log.clone();
            torn[cut..full].fill(0);
            assert_eq!(read_frame(&torn, end, 100), Frame::TornTail, "cut at {cut}");
        }
        // Damage followed by a non-zero byte further on is corruption, not a torn tail.
        let mut bad = log.clone();
        bad[end + FRAME_HEADER] ^= 1;
        assert_eq!(read_frame(&bad, end, 100), Frame::TornTail);
        bad[full + 50] = 7;
        assert!(matches!(read_frame(&bad, end, 100), Frame::Corrupt(_)));
        let mut bad_header = log.clone();
        bad_header[end] ^= 1;
        bad_header[full + 50] = 7;
        assert!(matches!(
            read_frame(&bad_header, end, 100),
            Frame::Corrupt(_)
        ));
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
