//! Byte-level pieces shared by the value codecs: `[int length][bytes]` elements of collections, tuples and
//! UDTs, Cassandra's vint encodings, and vector element layout. Nothing here trusts a length it reads.

use super::cql_type::{CqlType, NativeType};
use super::error::{marshal, TypeError};

/// Reads a big-endian i32, or None if fewer than 4 bytes are left.
pub(crate) fn read_i32(input: &mut &[u8]) -> Option<i32> {
    let (head, rest) = input.split_first_chunk::<4>()?;
    *input = rest;
    Some(i32::from_be_bytes(*head))
}

/// One `[int length][bytes]` element; a negative length is a null. None if the input is too short.
pub(crate) fn read_element<'a>(input: &mut &'a [u8]) -> Option<Option<&'a [u8]>> {
    let len = read_i32(input)?;
    if len < 0 {
        return Some(None);
    }
    let len = usize::try_from(len).ok()?;
    if input.len() < len {
        return None;
    }
    let (value, rest) = input.split_at(len);
    *input = rest;
    Some(Some(value))
}

pub(crate) fn write_element(out: &mut Vec<u8>, value: Option<&[u8]>) {
    match value {
        None => out.extend_from_slice(&(-1i32).to_be_bytes()),
        Some(v) => {
            // Values here come from validated inputs far below 2 GiB; saturate rather than wrap just in case.
            let len = i32::try_from(v.len()).unwrap_or(i32::MAX);
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(v);
        }
    }
}

/// Which collection is being split, for Cassandra's error wording.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum CollectionKind {
    List,
    Set,
    Map,
}

impl CollectionKind {
    fn name(self) -> &'static str {
        match self {
            CollectionKind::List => "list",
            CollectionKind::Set => "set",
            CollectionKind::Map => "map",
        }
    }

    fn values_per_entry(self) -> usize {
        if self == CollectionKind::Map {
            2
        } else {
            1
        }
    }
}

/// Splits a serialized collection (`[int n]` then n elements, 2n for a map) into its elements.
/// The count is checked against the bytes present before anything is allocated.
pub(crate) fn split_collection(
    bytes: &[u8],
    kind: CollectionKind,
) -> Result<Vec<Option<&[u8]>>, TypeError> {
    let not_enough = || marshal(format!("Not enough bytes to read a {}", kind.name()));
    let mut input = bytes;
    let count = read_i32(&mut input).ok_or_else(not_enough)?;
    let count = usize::try_from(count).map_err(|_| {
        marshal(format!(
            "The data cannot be deserialized as a {}",
            kind.name()
        ))
    })?;
    let values = count
        .checked_mul(kind.values_per_entry())
        .ok_or_else(not_enough)?;
    // Every element takes at least its 4-byte length, so a count beyond that is a lie.
    if values > input.len() / 4 {
        return Err(not_enough());
    }
    let mut elements = Vec::with_capacity(values);
    for _ in 0..values {
        elements.push(read_element(&mut input).ok_or_else(not_enough)?);
    }
    if !input.is_empty() {
        return Err(marshal(format!(
            "Unexpected extraneous bytes after {} value",
            kind.name()
        )));
    }
    Ok(elements)
}

/// A map entry: key and value, each `None` when null.
pub(crate) type MapEntry<'a> = (Option<&'a [u8]>, Option<&'a [u8]>);

/// The entries of a serialized map (`split_collection`'s elements two at a time).
pub(crate) fn split_map(bytes: &[u8]) -> Result<Vec<MapEntry<'_>>, TypeError> {
    let mut elements = split_collection(bytes, CollectionKind::Map)?.into_iter();
    let mut entries = Vec::with_capacity(elements.len() / 2);
    while let (Some(key), Some(value)) = (elements.next(), elements.next()) {
        entries.push((key, value));
    }
    Ok(entries)
}

/// Builds a serialized collection from already-serialized elements (2 per map entry).
pub(crate) fn pack_collection<'a>(
    entries: usize,
    elements: impl IntoIterator<Item = Option<&'a [u8]>>,
) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&i32::try_from(entries).unwrap_or(i32::MAX).to_be_bytes());
    for element in elements {
        write_element(&mut out, element);
    }
    out
}

/// Splits a tuple or UDT value into its fields (possibly fewer than declared: Cassandra allows that).
pub(crate) fn split_fields(bytes: &[u8], arity: usize) -> Result<Vec<Option<&[u8]>>, TypeError> {
    let mut input = bytes;
    let mut fields = Vec::with_capacity(arity.min(bytes.len() / 4));
    while !input.is_empty() {
        if fields.len() == arity {
            return Err(marshal("Invalid remaining data after end of tuple value"));
        }
        let field = read_element(&mut input).ok_or_else(|| {
            marshal(format!(
                "Not enough bytes to read {}th component",
                fields.len()
            ))
        })?;
        fields.push(field);
    }
    Ok(fields)
}

/// Byte size of a vector element that Cassandra stores without a length prefix.
pub(crate) fn vector_element_fixed_size(element: &CqlType) -> Option<usize> {
    match element {
        CqlType::Native(n) => match n {
            NativeType::Int | NativeType::Float => Some(4),
            NativeType::Bigint
            | NativeType::Double
            | NativeType::Timestamp
            | NativeType::Counter => Some(8),
            NativeType::Boolean => Some(1),
            NativeType::Uuid | NativeType::Timeuuid => Some(16),
            _ => None,
        },
        CqlType::Vector { element, dimension } => {
            vector_element_fixed_size(element)?.checked_mul(usize::try_from(*dimension).ok()?)
        }
        _ => None,
    }
}

/// Splits a vector value into exactly `dimension` elements: fixed-size elements back to back, others each
/// preceded by an unsigned vint length.
pub(crate) fn split_vector<'a>(
    element: &CqlType,
    dimension: u32,
    bytes: &'a [u8],
) -> Result<Vec<&'a [u8]>, TypeError> {
    let dimension = usize::try_from(dimension).unwrap_or(usize::MAX);
    let mut input = bytes;
    let mut out = Vec::with_capacity(dimension.min(bytes.len()));
    let fixed = vector_element_fixed_size(element);
    for _ in 0..dimension {
        let len = match fixed {
            Some(size) => size,
            None => read_unsigned_vint(&mut input)
                .and_then(|l| usize::try_from(l).ok())
                .ok_or_else(|| vector_size_error(dimension, out.len()))?,
        };
        if input.len() < len {
            return Err(vector_size_error(dimension, out.len()));
        }
        let (value, rest) = input.split_at(len);
        out.push(value);
        input = rest;
    }
    if !input.is_empty() {
        return Err(marshal(format!(
            "Unexpected {} extraneous bytes after vector value",
            input.len()
        )));
    }
    Ok(out)
}

fn vector_size_error(expected: usize, found: usize) -> TypeError {
    marshal(format!(
        "Not enough bytes to read a vector<{expected}>: only {found} elements found"
    ))
}

/// Serializes vector elements in Cassandra's layout (see `split_vector`).
pub(crate) fn pack_vector(element: &CqlType, elements: &[Vec<u8>]) -> Vec<u8> {
    let fixed = vector_element_fixed_size(element).is_some();
    let mut out = Vec::new();
    for e in elements {
        if !fixed {
            write_unsigned_vint(e.len() as u64, &mut out);
        }
        out.extend_from_slice(e);
    }
    out
}

/// Cassandra's unsigned vint: the count of leading 1 bits of the first byte is the count of extra bytes.
pub(crate) fn write_unsigned_vint(value: u64, out: &mut Vec<u8>) {
    let magnitude = (value | 1).leading_zeros() as usize;
    let size = (639 - magnitude * 9) >> 6;
    if size == 1 {
        out.push(value as u8);
        return;
    }
    if size == 9 {
        out.push(0xFF);
        out.extend_from_slice(&value.to_be_bytes());
        return;
    }
    let extra = size - 1;
    let be = value.to_be_bytes();
    // `extra` is 1..=7 here: the first byte carries the bits above the `extra` low bytes.
    match be.get(7 - extra..).and_then(<[u8]>::split_first) {
        Some((&high, low)) => {
            out.push((0xFFu8 << (8 - extra)) | high);
            out.extend_from_slice(low);
        }
        // Not reached; the 9-byte form encodes any value.
        None => {
            out.push(0xFF);
            out.extend_from_slice(&be);
        }
    }
}

pub(crate) fn read_unsigned_vint(input: &mut &[u8]) -> Option<u64> {
    let (&first, rest) = input.split_first()?;
    let extra = first.leading_ones() as usize;
    let (bytes, rest) = rest.split_at_checked(extra)?;
    let mut value = if extra == 8 {
        0
    } else {
        u64::from(first & (0xFF >> extra))
    };
    for &b in bytes {
        value = (value << 8) | u64::from(b);
    }
    *input = rest;
    Some(value)
}

/// Cassandra's signed vint: zig-zag, then unsigned vint.
pub(crate) fn write_signed_vint(value: i64, out: &mut Vec<u8>) {
    write_unsigned_vint(((value << 1) ^ (value >> 63)) as u64, out);
}

pub(crate) fn read_signed_vint(input: &mut &[u8]) -> Option<i64> {
    let raw = read_unsigned_vint(input)?;
    Some(((raw >> 1) as i64) ^ -((raw & 1) as i64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vints_match_cassandra_layout() {
        let cases: [(i64, &[u8]); 6] = [
            (0, &[0x00]),
            (-1, &[0x01]),
            (1, &[0x02]),
            (63, &[0x7E]),
            (64, &[0x80, 0x80]),
            (
                i64::MIN,
                &[0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
            ),
        ];
        for (value, bytes) in cases {
            let mut out = Vec::new();
            write_signed_vint(value, &mut out);
            assert_eq!(out, bytes, "{value}");
            let mut input = bytes;
            assert_eq!(read_signed_vint(&mut input), Some(value));
            assert!(input.is_empty());
        }
        for value in [0u64, 127, 128, 16383, 16384, 1 << 40, u64::MAX] {
            let mut out = Vec::new();
            write_unsigned_vint(value, &mut out);
            let mut input = out.as_slice();
            assert_eq!(read_unsigned_vint(&mut input), Some(value));
            assert!(input.is_empty());
        }
        assert_eq!(read_unsigned_vint(&mut &[0xC0u8, 0x01][..]), None);
    }

    #[test]
    fn collection_counts_are_checked_before_allocating() {
        let huge = [0x7F, 0xFF, 0xFF, 0xFF, 0, 0, 0, 1, 9];
        assert_eq!(
            split_collection(&huge, CollectionKind::List).map_err(|e| e.to_string()),
            Err("Not enough bytes to read a list".into())
        );
        let extra = [0, 0, 0, 0, 1];
        assert_eq!(
            split_collection(&extra, CollectionKind::Map).map_err(|e| e.to_string()),
            Err("Unexpected extraneous bytes after map value".into())
        );
        let packed = pack_collection(2, [Some(&b"a"[..]), None]);
        assert_eq!(
            split_collection(&packed, CollectionKind::List),
            Ok(vec![Some(&b"a"[..]), None])
        );
    }
}
