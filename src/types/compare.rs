//! Cassandra's comparator order for values of a type (`AbstractType.compare` of each marshal type).

use std::cmp::Ordering;

use super::codec::{split_collection, split_fields, split_map, split_vector, CollectionKind};
use super::cql_type::{CqlType, NativeType, MAX_TYPE_DEPTH};
use super::numeric::{varint_from_bytes, Decimal};

/// Compares two serialized values of `ty` the way Cassandra orders them (clustering order, set elements, map
/// keys). An empty value sorts first. Values that do not parse fall back to plain byte order, so this never
/// panics; validate values first if that matters.
pub fn compare_values(ty: &CqlType, a: &[u8], b: &[u8]) -> Ordering {
    compare_at(ty, a, b, 0)
}

fn compare_at(ty: &CqlType, a: &[u8], b: &[u8], depth: usize) -> Ordering {
    if a.is_empty() || b.is_empty() || depth > MAX_TYPE_DEPTH {
        return a.len().min(1).cmp(&b.len().min(1)).then_with(|| a.cmp(b));
    }
    match ty {
        CqlType::Native(native) => compare_native(*native, a, b),
        CqlType::List { element, .. } => {
            compare_sequences(element, a, b, CollectionKind::List, depth)
        }
        CqlType::Set { element, .. } => {
            compare_sequences(element, a, b, CollectionKind::Set, depth)
        }
        CqlType::Map { key, value, .. } => compare_maps(key, value, a, b, depth),
        CqlType::Tuple(items) => compare_fields(items.iter(), a, b, depth),
        CqlType::Udt { def, .. } => compare_fields(def.fields.iter().map(|(_, t)| t), a, b, depth),
        CqlType::Vector { element, dimension } => {
            match (
                split_vector(element, *dimension, a),
                split_vector(element, *dimension, b),
            ) {
                (Ok(xs), Ok(ys)) => compare_element_lists(element, &xs, &ys, depth),
                _ => a.cmp(b),
            }
        }
        CqlType::Custom(_) => a.cmp(b),
    }
}

fn compare_native(native: NativeType, a: &[u8], b: &[u8]) -> Ordering {
    use NativeType as N;
    match native {
        N::Int | N::Bigint | N::Counter | N::Smallint | N::Tinyint | N::Timestamp => {
            compare_signed_be(a, b)
        }
        N::Boolean => a.first().map(|&x| x != 0).cmp(&b.first().map(|&y| y != 0)),
        N::Float | N::Double => match (float_sort_key(a), float_sort_key(b)) {
            (Some(x), Some(y)) => x.cmp(&y),
            _ => a.cmp(b),
        },
        N::Decimal => match (Decimal::from_bytes(a), Decimal::from_bytes(b)) {
            (Some(x), Some(y)) => x.numeric_cmp(&y),
            _ => a.cmp(b),
        },
        N::Varint => varint_from_bytes(a).cmp(&varint_from_bytes(b)),
        N::Uuid => match (uuid_sort_key(a), uuid_sort_key(b)) {
            (Some(x), Some(y)) => x.cmp(&y),
            _ => a.cmp(b),
        },
        N::Timeuuid => match (timeuuid_sort_key(a), timeuuid_sort_key(b)) {
            (Some(x), Some(y)) => x.cmp(&y),
            _ => a.cmp(b),
        },
        // Byte order: text, ascii, blob, inet, date (unsigned, epoch at 2^31), time, duration.
        N::Ascii | N::Text | N::Blob | N::Inet | N::Date | N::Time | N::Duration => a.cmp(b),
    }
}

/// Two's-complement big-endian integers of the same width: the first byte signed, the rest unsigned.
fn compare_signed_be(a: &[u8], b: &[u8]) -> Ordering {
    match (a.split_first(), b.split_first()) {
        (Some((&x, a_rest)), Some((&y, b_rest))) if a.len() == b.len() => {
            (x as i8).cmp(&(y as i8)).then_with(|| a_rest.cmp(b_rest))
        }
        _ => a.cmp(b),
    }
}

/// An unsigned key whose order is Java's `Float.compare` / `Double.compare`: -0.0 < 0.0, every NaN equal and
/// greatest. Works for 4- and 8-byte values; None for other widths.
pub(crate) fn float_sort_key(bytes: &[u8]) -> Option<u64> {
    let (bits, sign_bit, mask) = match bytes.len() {
        4 => {
            let v = f32::from_be_bytes(bytes.try_into().ok()?);
            let bits = if v.is_nan() { 0x7FC0_0000 } else { v.to_bits() };
            (u64::from(bits), 1u64 << 31, u64::from(u32::MAX))
        }
        8 => {
            let v = f64::from_be_bytes(bytes.try_into().ok()?);
            let bits = if v.is_nan() {
                0x7FF8_0000_0000_0000
            } else {
                v.to_bits()
            };
            (bits, 1u64 << 63, u64::MAX)
        }
        _ => return None,
    };
    Some(if bits & sign_bit != 0 {
        !bits & mask
    } else {
        bits | sign_bit
    })
}

/// Inverse of [`float_sort_key`] for a value of `width` (4 or 8) bytes.
pub(crate) fn float_from_sort_key(key: u64, width: usize) -> u64 {
    let (sign_bit, mask) = if width == 4 {
        (1u64 << 31, u64::from(u32::MAX))
    } else {
        (1u64 << 63, u64::MAX)
    };
    if key & sign_bit != 0 {
        key ^ sign_bit
    } else {
        !key & mask
    }
}

/// `UUIDType` order as 16 unsigned bytes: version nibble first, then the timestamp (time-ordered for
/// version 1, the remaining high bits otherwise), then the low 8 bytes unsigned.
pub(crate) fn uuid_sort_key(bytes: &[u8]) -> Option<[u8; 16]> {
    let raw: [u8; 16] = bytes.try_into().ok()?;
    let msb = u64::from_be_bytes(raw[..8].try_into().ok()?);
    let version = (msb >> 12) & 0xF;
    let high = if version == 1 {
        reorder_timestamp(msb)
    } else {
        (version << 60) | ((msb >> 4) & 0x0FFF_FFFF_FFFF_F000) | (msb & 0xFFF)
    };
    let mut key = [0u8; 16];
    key[..8].copy_from_slice(&high.to_be_bytes());
    key[8..].copy_from_slice(&raw[8..]);
    Some(key)
}

/// Inverse of [`uuid_sort_key`].
pub(crate) fn uuid_from_sort_key(key: [u8; 16]) -> [u8; 16] {
    let high = u64::from_be_bytes([
        key[0], key[1], key[2], key[3], key[4], key[5], key[6], key[7],
    ]);
    let version = high >> 60;
    let msb = if version == 1 {
        reorder_timestamp_back(high)
    } else {
        ((high << 4) & 0xFFFF_FFFF_FFFF_0000) | (version << 12) | (high & 0xFFF)
    };
    let mut raw = key;
    raw[..8].copy_from_slice(&msb.to_be_bytes());
    raw
}

/// `TimeUUIDType` order as 16 unsigned bytes: the reordered timestamp compared as a signed long, then the
/// low 8 bytes compared as *signed* bytes (a Cassandra quirk kept for compatibility).
pub(crate) fn timeuuid_sort_key(bytes: &[u8]) -> Option<[u8; 16]> {
    let raw: [u8; 16] = bytes.try_into().ok()?;
    let msb = u64::from_be_bytes(raw[..8].try_into().ok()?);
    let mut key = [0u8; 16];
    key[..8].copy_from_slice(&(reorder_timestamp(msb) ^ (1 << 63)).to_be_bytes());
    for (k, r) in key[8..].iter_mut().zip(&raw[8..]) {
        *k = r ^ 0x80;
    }
    Some(key)
}

/// Inverse of [`timeuuid_sort_key`].
pub(crate) fn timeuuid_from_sort_key(key: [u8; 16]) -> [u8; 16] {
    let high = u64::from_be_bytes([
        key[0], key[1], key[2], key[3], key[4], key[5], key[6], key[7],
    ]) ^ (1 << 63);
    let mut raw = [0u8; 16];
    raw[..8].copy_from_slice(&reorder_timestamp_back(high).to_be_bytes());
    for (r, k) in raw[8..].iter_mut().zip(&key[8..]) {
        *r = k ^ 0x80;
    }
    raw
}

/// Moves a version-1 UUID's `time_hi_and_version` to the top, then `time_mid`, then `time_low`.
fn reorder_timestamp(msb: u64) -> u64 {
    (msb << 48) | ((msb << 16) & 0xFFFF_0000_0000) | (msb >> 32)
}

fn reorder_timestamp_back(high: u64) -> u64 {
    (high << 32) | ((high >> 16) & 0xFFFF_0000) | (high >> 48)
}

fn compare_element_lists(element: &CqlType, xs: &[&[u8]], ys: &[&[u8]], depth: usize) -> Ordering {
    for (x, y) in xs.iter().zip(ys) {
        let c = compare_at(element, x, y, depth + 1);
        if c.is_ne() {
            return c;
        }
    }
    xs.len().cmp(&ys.len())
}

/// Frozen lists and sets: element by element, then the shorter first.
fn compare_sequences(
    element: &CqlType,
    a: &[u8],
    b: &[u8],
    kind: CollectionKind,
    depth: usize,
) -> Ordering {
    match (split_collection(a, kind), split_collection(b, kind)) {
        (Ok(xs), Ok(ys)) => {
            let xs: Vec<&[u8]> = xs.into_iter().map(Option::unwrap_or_default).collect();
            let ys: Vec<&[u8]> = ys.into_iter().map(Option::unwrap_or_default).collect();
            compare_element_lists(element, &xs, &ys, depth)
        }
        _ => a.cmp(b),
    }
}

/// Frozen maps: entry by entry (key, then value), then the shorter first.
fn compare_maps(key: &CqlType, value: &CqlType, a: &[u8], b: &[u8], depth: usize) -> Ordering {
    let (Ok(xs), Ok(ys)) = (split_map(a), split_map(b)) else {
        return a.cmp(b);
    };
    for ((xk, xv), (yk, yv)) in xs.iter().zip(&ys) {
        for (ty, x, y) in [(key, xk, yk), (value, xv, yv)] {
            let c = compare_at(ty, x.unwrap_or_default(), y.unwrap_or_default(), depth + 1);
            if c.is_ne() {
                return c;
            }
        }
    }
    xs.len().cmp(&ys.len())
}

/// Tuples and UDTs: field by field, a null before any value; trailing nulls count as absent fields, and a
/// value with fewer fields sorts first.
fn compare_fields<'a>(
    types: impl Iterator<Item = &'a CqlType> + Clone,
    a: &[u8],
    b: &[u8],
    depth: usize,
) -> Ordering {
    let arity = types.clone().count();
    let (Ok(mut xs), Ok(mut ys)) = (split_fields(a, arity), split_fields(b, arity)) else {
        return a.cmp(b);
    };
    strip_trailing_nulls(&mut xs);
    strip_trailing_nulls(&mut ys);
    for ((x, y), ty) in xs.iter().zip(&ys).zip(types) {
        let c = match (x, y) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some(x), Some(y)) => compare_at(ty, x, y, depth + 1),
        };
        if c.is_ne() {
            return c;
        }
    }
    xs.len().cmp(&ys.len())
}

pub(crate) fn strip_trailing_nulls(fields: &mut Vec<Option<&[u8]>>) {
    while fields.last().is_some_and(Option::is_none) {
        fields.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::cql_type::NoUdts;
    use crate::types::literal::{literal_to_bytes, ConstantKind};

    fn ty(text: &str) -> CqlType {
        CqlType::parse(text, &NoUdts).unwrap()
    }

    fn value(t: &CqlType, kind: ConstantKind, text: &str) -> Vec<u8> {
        literal_to_bytes(t, kind, text, "c").unwrap().unwrap()
    }

    /// Asserts that the literals are listed in strictly increasing order.
    fn assert_increasing(type_text: &str, kind: ConstantKind, literals: &[&str]) {
        let t = ty(type_text);
        let values: Vec<Vec<u8>> = literals.iter().map(|l| value(&t, kind, l)).collect();
        for (i, w) in values.windows(2).enumerate() {
            assert_eq!(
                compare_values(&t, &w[0], &w[1]),
                Ordering::Less,
                "{type_text}: {} < {}",
                literals[i],
                literals[i + 1]
            );
            assert_eq!(compare_values(&t, &w[1], &w[0]), Ordering::Greater);
        }
        assert_eq!(
            compare_values(&t, &[], &values[0]),
            Ordering::Less,
            "empty first"
        );
    }

    #[test]
    fn native_orders() {
        use ConstantKind as K;
        assert_increasing(
            "int",
            K::Integer,
            &["-2147483648", "-1", "0", "1", "2147483647"],
        );
        assert_increasing("bigint", K::Integer, &["-5", "0", "300"]);
        assert_increasing("tinyint", K::Integer, &["-128", "-1", "0", "127"]);
        assert_increasing(
            "varint",
            K::Integer,
            &[
                "-1000000000000000000000",
                "-129",
                "-1",
                "0",
                "255",
                "256",
                "99999999999999999999",
            ],
        );
        assert_increasing(
            "decimal",
            K::Float,
            &["-10.5", "-1", "-0.001", "0", "0.0001", "1.01", "1.1", "10"],
        );
        assert_increasing(
            "float",
            K::Float,
            &[
                "-Infinity",
                "-1.5",
                "-0.0",
                "0.0",
                "1e-10",
                "Infinity",
                "NaN",
            ],
        );
        assert_increasing(
            "double",
            K::Float,
            &["-Infinity", "-1.5", "-0.0", "0.0", "2.5", "Infinity", "NaN"],
        );
        assert_increasing("text", K::String, &["a", "a\u{0}", "ab", "b", "é"]);
        assert_increasing("timestamp", K::Integer, &["-1", "0", "1"]);
        assert_increasing(
            "date",
            K::String,
            &["-0001-01-01", "1969-12-31", "1970-01-01", "2020-01-01"],
        );
        assert_increasing("inet", K::String, &["::1", "10.0.0.1", "127.0.0.1"]);
        assert_increasing(
            "timeuuid",
            K::Uuid,
            &[
                "00000000-0000-1000-8000-000000000000",
                "00000000-0000-1000-0000-000000000000",
                "ffffffff-0000-1000-8000-000000000000",
                "00000000-0001-1000-8000-000000000000",
                "00000000-0000-1001-8000-000000000000",
            ],
        );
        assert_increasing(
            "uuid",
            K::Uuid,
            &[
                "ffffffff-ffff-1000-0000-000000000000",
                "00000000-0000-1001-0000-000000000000",
                "00000000-0000-4000-0000-000000000000",
                "00000000-0000-4000-8000-000000000000",
                "ffffffff-0000-4000-0000-000000000000",
            ],
        );
        let b = ty("boolean");
        assert_eq!(compare_values(&b, &[0], &[5]), Ordering::Less);
        assert_eq!(compare_values(&b, &[1], &[5]), Ordering::Equal);
        let d = ty("decimal");
        assert_eq!(
            compare_values(
                &d,
                &value(&d, K::Float, "1.0"),
                &value(&d, K::Float, "1.00")
            ),
            Ordering::Equal
        );
    }

    #[test]
    fn composite_orders() {
        let int = |v: i32| Some(v.to_be_bytes().to_vec());
        let list = ty("frozen<list<int>>");
        let l = |xs: &[i32]| {
            crate::types::serialize_list(&xs.iter().map(|x| int(*x)).collect::<Vec<_>>()).unwrap()
        };
        assert_eq!(
            compare_values(&list, &l(&[1, 2]), &l(&[1, 3])),
            Ordering::Less
        );
        assert_eq!(compare_values(&list, &l(&[1]), &l(&[1, 0])), Ordering::Less);
        assert_eq!(compare_values(&list, &l(&[]), &l(&[-5])), Ordering::Less);
        assert_eq!(
            compare_values(&list, &l(&[2]), &l(&[1, 9])),
            Ordering::Greater
        );
        let tuple = ty("tuple<int, int>");
        let t = |xs: &[Option<Vec<u8>>]| crate::types::serialize_tuple(&tuple, xs, "t").unwrap();
        assert_eq!(
            compare_values(&tuple, &t(&[None, int(1)]), &t(&[int(-9), None])),
            Ordering::Less
        );
        assert_eq!(
            compare_values(&tuple, &t(&[int(1), None]), &t(&[int(1)])),
            Ordering::Equal
        );
        assert_eq!(
            compare_values(&tuple, &t(&[int(1)]), &t(&[int(1), int(0)])),
            Ordering::Less
        );
        // Garbage never panics.
        assert_eq!(compare_values(&list, &[0, 0], &[0, 1]), Ordering::Less);
    }
}
