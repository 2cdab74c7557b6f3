//! The spec's primitive notations (native_protocol_v5.spec §3).
//!
//! [`Reader`] is a bounded cursor over a [`Bytes`] body: every read checks the remaining length first and
//! returns [`ProtocolError`] instead of panicking. Counts read from the wire never size an allocation beyond
//! what the remaining bytes could possibly hold. `[bytes]` and `[value]` results are zero-copy slices of the
//! body. The `put_*` functions are the encoding side; they refuse lengths a notation cannot carry.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::error::{EncodeError, ProtocolError};

/// `[consistency]`: a `[short]` consistency level code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum Consistency {
    Any = 0,
    One = 1,
    Two = 2,
    Three = 3,
    Quorum = 4,
    All = 5,
    LocalQuorum = 6,
    EachQuorum = 7,
    Serial = 8,
    LocalSerial = 9,
    LocalOne = 10,
}

impl Consistency {
    /// Every level, in code order.
    pub const ALL_LEVELS: [Consistency; 11] = [
        Self::Any,
        Self::One,
        Self::Two,
        Self::Three,
        Self::Quorum,
        Self::All,
        Self::LocalQuorum,
        Self::EachQuorum,
        Self::Serial,
        Self::LocalSerial,
        Self::LocalOne,
    ];
}

impl TryFrom<u16> for Consistency {
    type Error = ProtocolError;
    fn try_from(code: u16) -> Result<Self, ProtocolError> {
        Self::ALL_LEVELS
            .get(usize::from(code))
            .copied()
            .ok_or(ProtocolError::UnknownConsistency(code))
    }
}

/// `[value]`: a bound value as sent by the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// The serialized value (possibly empty).
    Set(Bytes),
    /// Length -1: CQL null.
    Null,
    /// Length -2: "not set", the column is left untouched (protocol v4+).
    Unset,
}

/// The bound values of a QUERY, EXECUTE or batch statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Values {
    /// Values in bind-marker order.
    Positional(Vec<Value>),
    /// Values with their bind-marker names (flag 0x40).
    Named(Vec<(String, Value)>),
}

impl Values {
    /// True when no value is bound.
    pub fn is_empty(&self) -> bool {
        match self {
            Self::Positional(values) => values.is_empty(),
            Self::Named(values) => values.is_empty(),
        }
    }
}

impl Default for Values {
    fn default() -> Self {
        Self::Positional(Vec::new())
    }
}

/// A bounded, non-panicking cursor over a message body.
#[derive(Debug, Clone)]
pub struct Reader {
    buf: Bytes,
}

impl Reader {
    pub fn new(buf: Bytes) -> Self {
        Self { buf }
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.buf.len()
    }

    /// Fails unless every byte was consumed: a well-formed message has no trailing garbage.
    pub fn expect_end(&self, what: &'static str) -> Result<(), ProtocolError> {
        match self.buf.len() {
            0 => Ok(()),
            count => Err(ProtocolError::TrailingBytes { what, count }),
        }
    }

    /// The unread rest, consuming the reader.
    pub fn into_rest(self) -> Bytes {
        self.buf
    }

    fn ensure(&self, needed: usize, what: &'static str) -> Result<(), ProtocolError> {
        if self.buf.len() < needed {
            return Err(ProtocolError::Truncated {
                what,
                needed,
                remaining: self.buf.len(),
            });
        }
        Ok(())
    }

    /// Takes exactly `n` bytes as a zero-copy slice.
    pub fn take(&mut self, n: usize, what: &'static str) -> Result<Bytes, ProtocolError> {
        self.ensure(n, what)?;
        Ok(self.buf.split_to(n))
    }

    /// A count of items that are each at least `min_item_bytes` long: refuses counts the rest cannot hold,
    /// so a forged count never sizes an allocation.
    pub fn check_count(
        &self,
        count: usize,
        min_item_bytes: usize,
        what: &'static str,
    ) -> Result<(), ProtocolError> {
        self.ensure(count.saturating_mul(min_item_bytes), what)
    }

    pub fn read_byte(&mut self, what: &'static str) -> Result<u8, ProtocolError> {
        self.ensure(1, what)?;
        Ok(self.buf.get_u8())
    }

    /// `[short]`: an unsigned 16-bit big-endian integer.
    pub fn read_short(&mut self, what: &'static str) -> Result<u16, ProtocolError> {
        self.ensure(2, what)?;
        Ok(self.buf.get_u16())
    }

    /// `[int]`: a signed 32-bit big-endian integer.
    pub fn read_int(&mut self, what: &'static str) -> Result<i32, ProtocolError> {
        self.ensure(4, what)?;
        Ok(self.buf.get_i32())
    }

    /// `[long]`: a signed 64-bit big-endian integer.
    pub fn read_long(&mut self, what: &'static str) -> Result<i64, ProtocolError> {
        self.ensure(8, what)?;
        Ok(self.buf.get_i64())
    }

    fn read_utf8(&mut self, len: usize, what: &'static str) -> Result<String, ProtocolError> {
        let raw = self.take(len, what)?;
        String::from_utf8(raw.to_vec()).map_err(|_| ProtocolError::InvalidUtf8 { what })
    }

    /// `[string]`: a `[short]` length then UTF-8.
    pub fn read_string(&mut self, what: &'static str) -> Result<String, ProtocolError> {
        let len = self.read_short(what)?;
        self.read_utf8(usize::from(len), what)
    }

    /// `[long string]`: an `[int]` length then UTF-8.
    pub fn read_long_string(&mut self, what: &'static str) -> Result<String, ProtocolError> {
        let len = self.read_non_negative_length(what)?;
        self.read_utf8(len, what)
    }

    fn read_non_negative_length(&mut self, what: &'static str) -> Result<usize, ProtocolError> {
        let length = self.read_int(what)?;
        usize::try_from(length).map_err(|_| ProtocolError::NegativeLength { what, length })
    }

    /// `[bytes]`: an `[int]` length then bytes; a negative length means null.
    pub fn read_bytes(&mut self, what: &'static str) -> Result<Option<Bytes>, ProtocolError> {
        let length = self.read_int(what)?;
        match usize::try_from(length) {
            Ok(len) => self.take(len, what).map(Some),
            Err(_) => Ok(None),
        }
    }

    /// `[value]`: like `[bytes]`, but -1 is null, -2 is "not set" and anything below is invalid.
    pub fn read_value(&mut self, what: &'static str) -> Result<Value, ProtocolError> {
        let length = self.read_int(what)?;
        match length {
            -1 => Ok(Value::Null),
            -2 => Ok(Value::Unset),
            _ => match usize::try_from(length) {
                Ok(len) => self.take(len, what).map(Value::Set),
                Err(_) => Err(ProtocolError::NegativeLength { what, length }),
            },
        }
    }

    /// `[short bytes]`: a `[short]` length then bytes.
    pub fn read_short_bytes(&mut self, what: &'static str) -> Result<Bytes, ProtocolError> {
        let len = self.read_short(what)?;
        self.take(usize::from(len), what)
    }

    /// `[string list]`: a `[short]` count then `[string]`s.
    pub fn read_string_list(&mut self, what: &'static str) -> Result<Vec<String>, ProtocolError> {
        let count = usize::from(self.read_short(what)?);
        self.check_count(count, 2, what)?;
        (0..count).map(|_| self.read_string(what)).collect()
    }

    /// `[string map]`: a `[short]` count then (key `[string]`, value `[string]`) pairs. Later duplicates win.
    pub fn read_string_map(
        &mut self,
        what: &'static str,
    ) -> Result<BTreeMap<String, String>, ProtocolError> {
        let count = usize::from(self.read_short(what)?);
        self.check_count(count, 4, what)?;
        let mut map = BTreeMap::new();
        for _ in 0..count {
            let key = self.read_string(what)?;
            let value = self.read_string(what)?;
            map.insert(key, value);
        }
        Ok(map)
    }

    /// `[string multimap]`: a `[short]` count then (key `[string]`, value `[string list]`) pairs, in wire order.
    pub fn read_string_multimap(
        &mut self,
        what: &'static str,
    ) -> Result<Vec<(String, Vec<String>)>, ProtocolError> {
        let count = usize::from(self.read_short(what)?);
        self.check_count(count, 4, what)?;
        (0..count)
            .map(|_| Ok((self.read_string(what)?, self.read_string_list(what)?)))
            .collect()
    }

    /// `[bytes map]`: a `[short]` count then (key `[string]`, value `[bytes]`) pairs, in wire order.
    pub fn read_bytes_map(
        &mut self,
        what: &'static str,
    ) -> Result<Vec<(String, Option<Bytes>)>, ProtocolError> {
        let count = usize::from(self.read_short(what)?);
        self.check_count(count, 6, what)?;
        (0..count)
            .map(|_| Ok((self.read_string(what)?, self.read_bytes(what)?)))
            .collect()
    }

    /// `[inetaddr]`: a size byte (4 or 16) then the address.
    pub fn read_inetaddr(&mut self, what: &'static str) -> Result<IpAddr, ProtocolError> {
        let size = self.read_byte(what)?;
        match size {
            4 => {
                self.ensure(4, what)?;
                Ok(IpAddr::V4(Ipv4Addr::from(self.buf.get_u32())))
            }
            16 => {
                self.ensure(16, what)?;
                Ok(IpAddr::V6(Ipv6Addr::from(self.buf.get_u128())))
            }
            other => Err(ProtocolError::InvalidInetSize(other)),
        }
    }

    /// `[inet]`: an `[inetaddr]` then an `[int]` port.
    pub fn read_inet(&mut self, what: &'static str) -> Result<SocketAddr, ProtocolError> {
        let ip = self.read_inetaddr(what)?;
        let port = self.read_int(what)?;
        let port = u16::try_from(port).map_err(|_| ProtocolError::Invalid {
            what,
            reason: "port outside 0..=65535",
        })?;
        Ok(SocketAddr::new(ip, port))
    }

    /// `[consistency]`.
    pub fn read_consistency(&mut self, what: &'static str) -> Result<Consistency, ProtocolError> {
        Consistency::try_from(self.read_short(what)?)
    }

    /// `[unsigned vint]`: the number of leading one bits of the first byte is the number of extra bytes;
    /// the value is big-endian over the remaining bits (Cassandra's `VIntCoding`).
    pub fn read_unsigned_vint(&mut self, what: &'static str) -> Result<u64, ProtocolError> {
        let first = self.read_byte(what)?;
        let extra = first.leading_ones() as usize;
        let mut value = u64::from(first) & (0xffu64 >> extra);
        let tail = self.take(extra, what)?;
        for byte in tail.iter() {
            value = (value << 8) | u64::from(*byte);
        }
        Ok(value)
    }

    /// `[vint]`: a zig-zag encoded signed `[unsigned vint]`.
    pub fn read_vint(&mut self, what: &'static str) -> Result<i64, ProtocolError> {
        let raw = self.read_unsigned_vint(what)?;
        Ok(((raw >> 1) as i64) ^ -((raw & 1) as i64))
    }
}

fn too_long(what: &'static str, size: usize, max: usize) -> EncodeError {
    EncodeError::TooLong { what, size, max }
}

/// A length as a `[short]`, or an error when it does not fit.
pub fn short_len(len: usize, what: &'static str) -> Result<u16, EncodeError> {
    u16::try_from(len).map_err(|_| too_long(what, len, usize::from(u16::MAX)))
}

/// A length as an `[int]`, or an error when it does not fit.
pub fn int_len(len: usize, what: &'static str) -> Result<i32, EncodeError> {
    i32::try_from(len).map_err(|_| too_long(what, len, i32::MAX as usize))
}

/// `[string]`.
pub fn put_string(out: &mut BytesMut, value: &str, what: &'static str) -> Result<(), EncodeError> {
    out.put_u16(short_len(value.len(), what)?);
    out.put_slice(value.as_bytes());
    Ok(())
}

/// `[long string]`.
pub fn put_long_string(
    out: &mut BytesMut,
    value: &str,
    what: &'static str,
) -> Result<(), EncodeError> {
    out.put_i32(int_len(value.len(), what)?);
    out.put_slice(value.as_bytes());
    Ok(())
}

/// `[bytes]`; `None` is written as length -1 (null).
pub fn put_bytes(
    out: &mut BytesMut,
    value: Option<&[u8]>,
    what: &'static str,
) -> Result<(), EncodeError> {
    match value {
        Some(raw) => {
            out.put_i32(int_len(raw.len(), what)?);
            out.put_slice(raw);
        }
        None => out.put_i32(-1),
    }
    Ok(())
}

/// `[value]`.
pub fn put_value(out: &mut BytesMut, value: &Value, what: &'static str) -> Result<(), EncodeError> {
    match value {
        Value::Set(raw) => put_bytes(out, Some(raw), what),
        Value::Null => {
            out.put_i32(-1);
            Ok(())
        }
        Value::Unset => {
            out.put_i32(-2);
            Ok(())
        }
    }
}

/// `[short bytes]`.
pub fn put_short_bytes(
    out: &mut BytesMut,
    value: &[u8],
    what: &'static str,
) -> Result<(), EncodeError> {
    out.put_u16(short_len(value.len(), what)?);
    out.put_slice(value);
    Ok(())
}

/// `[string list]`.
pub fn put_string_list<S: AsRef<str>>(
    out: &mut BytesMut,
    values: &[S],
    what: &'static str,
) -> Result<(), EncodeError> {
    out.put_u16(short_len(values.len(), what)?);
    values
        .iter()
        .try_for_each(|value| put_string(out, value.as_ref(), what))
}

/// `[string map]`.
pub fn put_string_map<'a>(
    out: &mut BytesMut,
    entries: impl ExactSizeIterator<Item = (&'a str, &'a str)>,
    what: &'static str,
) -> Result<(), EncodeError> {
    out.put_u16(short_len(entries.len(), what)?);
    for (key, value) in entries {
        put_string(out, key, what)?;
        put_string(out, value, what)?;
    }
    Ok(())
}

/// `[string multimap]`.
pub fn put_string_multimap(
    out: &mut BytesMut,
    entries: &[(String, Vec<String>)],
    what: &'static str,
) -> Result<(), EncodeError> {
    out.put_u16(short_len(entries.len(), what)?);
    for (key, values) in entries {
        put_string(out, key, what)?;
        put_string_list(out, values, what)?;
    }
    Ok(())
}

/// `[bytes map]`.
pub fn put_bytes_map(
    out: &mut BytesMut,
    entries: &[(String, Option<Bytes>)],
    what: &'static str,
) -> Result<(), EncodeError> {
    out.put_u16(short_len(entries.len(), what)?);
    for (key, value) in entries {
        put_string(out, key, what)?;
        put_bytes(out, value.as_deref(), what)?;
    }
    Ok(())
}

/// `[inetaddr]`.
pub fn put_inetaddr(out: &mut BytesMut, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            out.put_u8(4);
            out.put_slice(&v4.octets());
        }
        IpAddr::V6(v6) => {
            out.put_u8(16);
            out.put_slice(&v6.octets());
        }
    }
}

/// `[inet]`.
pub fn put_inet(out: &mut BytesMut, address: SocketAddr) {
    put_inetaddr(out, address.ip());
    out.put_i32(i32::from(address.port()));
}

/// `[consistency]`.
pub fn put_consistency(out: &mut BytesMut, consistency: Consistency) {
    out.put_u16(consistency as u16);
}

/// `[unsigned vint]` (see [`Reader::read_unsigned_vint`]).
pub fn put_unsigned_vint(out: &mut BytesMut, value: u64) {
    // Same size formula as Cassandra's VIntCoding.computeUnsignedVIntSize: 7 value bits per byte, 9 bytes at most.
    let size = (639 - (value | 1).leading_zeros() as usize * 9) >> 6;
    let extra = size - 1;
    if extra == 8 {
        out.put_u8(0xff);
        out.put_u64(value);
        return;
    }
    // The extra-bytes count goes into the leading one bits of the first byte; `value` is below 2^(7*size),
    // so those bits are free.
    let length_bits = u64::from(!(0xffu8 >> extra)) << (8 * extra);
    out.put_uint(value | length_bits, size);
}

/// `[vint]`: zig-zag then `[unsigned vint]`.
pub fn put_vint(out: &mut BytesMut, value: i64) {
    put_unsigned_vint(out, ((value << 1) ^ (value >> 63)) as u64);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(bytes: &[u8]) -> Reader {
        Reader::new(Bytes::copy_from_slice(bytes))
    }

    #[test]
    fn vint_round_trips_and_matches_cassandra_sizes() {
        let cases: [(i64, usize); 8] = [
            (0, 1),
            (-1, 1),
            (63, 1),
            (64, 2),
            (-65, 2),
            (1 << 20, 4),
            (i64::MAX, 9),
            (i64::MIN, 9),
        ];
        for (value, size) in cases {
            let mut out = BytesMut::new();
            put_vint(&mut out, value);
            assert_eq!(out.len(), size, "size of {value}");
            let mut input = Reader::new(out.freeze());
            assert_eq!(input.read_vint("vint").unwrap(), value);
            assert_eq!(input.remaining(), 0);
        }
        // Known encoding: unsigned 300 = 0b1_0010_1100 needs 2 bytes: 10000001 00101100.
        let mut out = BytesMut::new();
        put_unsigned_vint(&mut out, 300);
        assert_eq!(out.to_vec(), vec![0x81, 0x2c]);
    }

    #[test]
    fn value_lengths_minus_one_and_minus_two_are_null_and_unset() {
        let mut input = reader(&[
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 1, 9,
        ]);
        assert_eq!(input.read_value("v").unwrap(), Value::Null);
        assert_eq!(input.read_value("v").unwrap(), Value::Unset);
        assert_eq!(
            input.read_value("v").unwrap(),
            Value::Set(Bytes::from_static(&[9]))
        );
        let mut below = reader(&(-3i32).to_be_bytes());
        assert!(matches!(
            below.read_value("v"),
            Err(ProtocolError::NegativeLength { length: -3, .. })
        ));
    }

    #[test]
    fn lengths_beyond_the_body_are_errors_not_panics() {
        let mut input = reader(&[0x7f, 0xff, 0xff, 0xff, b'a']);
        assert!(matches!(
            input.read_long_string("q"),
            Err(ProtocolError::Truncated { .. })
        ));
        let mut input = reader(&[0x80, 0, 0, 0]);
        assert!(matches!(
            input.read_long_string("q"),
            Err(ProtocolError::NegativeLength { .. })
        ));
        // A string list claiming 65535 entries in 2 bytes is refused before allocating.
        let mut input = reader(&[0xff, 0xff, 0, 0]);
        assert!(matches!(
            input.read_string_list("l"),
            Err(ProtocolError::Truncated { .. })
        ));
        assert!(reader(&[0xc3, 0x28]).read_string("s").is_err(), "short");
        let mut invalid_utf8 = reader(&[0, 2, 0xc3, 0x28]);
        assert!(matches!(
            invalid_utf8.read_string("s"),
            Err(ProtocolError::InvalidUtf8 { .. })
        ));
    }

    #[test]
    fn inet_and_consistency() {
        let mut out = BytesMut::new();
        let address: SocketAddr = "127.0.0.1:9042".parse().unwrap();
        put_inet(&mut out, address);
        let v6: SocketAddr = "[::1]:7000".parse().unwrap();
        put_inet(&mut out, v6);
        put_consistency(&mut out, Consistency::LocalOne);
        assert_eq!(&out[..9], &[4, 127, 0, 0, 1, 0, 0, 0x23, 0x52]);
        let mut input = Reader::new(out.freeze());
        assert_eq!(input.read_inet("a").unwrap(), address);
        assert_eq!(input.read_inet("a").unwrap(), v6);
        assert_eq!(input.read_consistency("c").unwrap(), Consistency::LocalOne);
        assert!(matches!(
            reader(&[0, 11]).read_consistency("c"),
            Err(ProtocolError::UnknownConsistency(11))
        ));
        assert!(matches!(
            reader(&[5, 1, 2, 3, 4, 5]).read_inet("a"),
            Err(ProtocolError::InvalidInetSize(5))
        ));
    }

    #[test]
    fn maps_round_trip() {
        let mut out = BytesMut::new();
        let multimap = vec![(
            "COMPRESSION".to_owned(),
            vec!["lz4".to_owned(), "snappy".to_owned()],
        )];
        put_string_multimap(&mut out, &multimap, "m").unwrap();
        let bytes_map = vec![
            ("k".to_owned(), Some(Bytes::from_static(b"v"))),
            ("n".to_owned(), None),
        ];
        put_bytes_map(&mut out, &bytes_map, "b").unwrap();
        let mut input = Reader::new(out.freeze());
        assert_eq!(input.read_string_multimap("m").unwrap(), multimap);
        assert_eq!(input.read_bytes_map("b").unwrap(), bytes_map);
        input.expect_end("maps").unwrap();
    }

    #[test]
    fn encoder_refuses_strings_too_long_for_a_short() {
        let long = "x".repeat(70_000);
        assert!(matches!(
            put_string(&mut BytesMut::new(), &long, "s"),
            Err(EncodeError::TooLong { .. })
        ));
    }
}
