//! CQL literals to serialized values: constants (`Constants.Literal` in Cassandra) and the composition of
//! collection, tuple, UDT and vector literals from already-serialized elements.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::codec::{pack_collection, pack_vector, write_element};
use super::compare::compare_values;
use super::cql_type::{CqlType, NativeType, UdtDef};
use super::duration::Duration;
use super::error::{invalid, marshal, TypeError};
use super::numeric::{parse_varint, varint_bytes, Decimal};
use super::temporal::{parse_date, parse_time, parse_timestamp};

/// A serialized value, or `None` for null.
pub type CqlValue = Option<Vec<u8>>;

/// The lexical kind of a constant, as Cassandra's lexer classifies it (the name shows in error messages).
/// Blob literals (`0xCAFE`) are `Hex`; `NaN` and `Infinity` (signed or not) are `Float`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConstantKind {
    String,
    Integer,
    Float,
    Boolean,
    Uuid,
    Hex,
    Duration,
    Null,
}

impl fmt::Display for ConstantKind {
    /// The upper-case name Cassandra puts in "Invalid STRING constant ..." messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConstantKind::String => "STRING",
            ConstantKind::Integer => "INTEGER",
            ConstantKind::Float => "FLOAT",
            ConstantKind::Boolean => "BOOLEAN",
            ConstantKind::Uuid => "UUID",
            ConstantKind::Hex => "HEX",
            ConstantKind::Duration => "DURATION",
            ConstantKind::Null => "NULL",
        })
    }
}

/// Converts a constant literal to the serialized value for a column (or bind receiver) named `receiver`.
///
/// `text` is the literal as written, except that a `String` literal is its unescaped content (no quotes,
/// `''` already collapsed); a `Hex` literal includes its `0x`. Returns `None` for `NULL`.
pub fn literal_to_bytes(
    ty: &CqlType,
    kind: ConstantKind,
    text: &str,
    receiver: &str,
) -> Result<CqlValue, TypeError> {
    if kind == ConstantKind::Null {
        if ty.is_counter() {
            return Err(invalid(
                "Invalid null value for counter increment/decrement",
            ));
        }
        return Ok(None);
    }
    let wrong_kind = || {
        invalid(format!(
            "Invalid {kind} constant ({text}) for \"{receiver}\" of type {ty}"
        ))
    };
    match ty {
        CqlType::Native(native) if accepts(*native, kind) => {
            if kind == ConstantKind::Hex {
                return hex_literal(text).map(Some);
            }
            native_from_string(*native, text).map(Some)
        }
        CqlType::Custom(_) if kind == ConstantKind::Hex => hex_literal(text).map(Some),
        _ => Err(wrong_kind()),
    }
}

/// Which literal kinds each native type takes (Cassandra's `Constants.Literal.testAssignment`).
fn accepts(native: NativeType, kind: ConstantKind) -> bool {
    use NativeType as N;
    match kind {
        ConstantKind::String => {
            matches!(
                native,
                N::Ascii | N::Text | N::Inet | N::Date | N::Time | N::Timestamp
            )
        }
        ConstantKind::Integer => matches!(
            native,
            N::Bigint
                | N::Counter
                | N::Date
                | N::Decimal
                | N::Double
                | N::Duration
                | N::Float
                | N::Int
                | N::Smallint
                | N::Time
                | N::Timestamp
                | N::Tinyint
                | N::Varint
        ),
        ConstantKind::Uuid => matches!(native, N::Uuid | N::Timeuuid),
        ConstantKind::Float => matches!(native, N::Decimal | N::Double | N::Float),
        ConstantKind::Boolean => native == N::Boolean,
        ConstantKind::Hex => native == N::Blob,
        ConstantKind::Duration => native == N::Duration,
        ConstantKind::Null => true,
    }
}

/// `0x...` to bytes (Cassandra's `BytesType.fromString` on the text after `0x`).
fn hex_literal(text: &str) -> Result<Vec<u8>, TypeError> {
    let digits = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .unwrap_or(text);
    decode_hex(digits)
        .filter(|_| digits.len() < text.len())
        .ok_or_else(|| marshal(format!("cannot parse '{digits}' as hex bytes")))
}

pub(crate) fn decode_hex(digits: &str) -> Option<Vec<u8>> {
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    digits
        .as_bytes()
        .chunks(2)
        .map(|pair| {
            let [hi, lo] = pair else { return None };
            let hi = char::from(*hi).to_digit(16)?;
            let lo = char::from(*lo).to_digit(16)?;
            Some((hi * 16 + lo) as u8)
        })
        .collect()
}

/// The value of `text` for a native type (Cassandra's `AbstractType.fromString`), with its error messages.
pub(crate) fn native_from_string(native: NativeType, text: &str) -> Result<Vec<u8>, TypeError> {
    use NativeType as N;
    let unable = |what: &str| marshal(format!("Unable to make {what} from '{text}'"));
    match native {
        N::Ascii => ascii_from_string(text),
        N::Text => Ok(text.as_bytes().to_vec()),
        N::Bigint | N::Counter => parse_java_integer::<i64>(text)
            .map(|v| v.to_be_bytes().to_vec())
            .ok_or_else(|| unable("long")),
        N::Int => parse_java_integer::<i32>(text)
            .map(|v| v.to_be_bytes().to_vec())
            .ok_or_else(|| unable("int")),
        N::Smallint => parse_java_integer::<i16>(text)
            .map(|v| v.to_be_bytes().to_vec())
            .ok_or_else(|| unable("short")),
        N::Tinyint => parse_java_integer::<i8>(text)
            .map(|v| v.to_be_bytes().to_vec())
            .ok_or_else(|| unable("byte")),
        N::Varint => parse_varint(text)
            .map(|v| varint_bytes(&v))
            .ok_or_else(|| marshal(format!("unable to make int from '{text}'"))),
        N::Decimal => Decimal::parse(text)
            .map(|d| d.to_bytes())
            .ok_or_else(|| marshal(format!("unable to make BigDecimal from '{text}'"))),
        N::Float => parse_java_float(text)
            .map(|v| (v as f32).to_be_bytes().to_vec())
            .ok_or_else(|| unable("float")),
        N::Double => parse_java_float(text)
            .map(|v| v.to_be_bytes().to_vec())
            .ok_or_else(|| unable("double")),
        N::Boolean => boolean_from_string(text),
        N::Uuid => parse_uuid_text(text)
            .map(|u| u.to_vec())
            .ok_or_else(|| unable("UUID")),
        N::Timeuuid => timeuuid_from_string(text),
        N::Timestamp if text.is_empty() => Ok(Vec::new()),
        N::Timestamp => parse_timestamp(text).map(|ms| ms.to_be_bytes().to_vec()),
        N::Date => parse_date(text).map(|d| d.to_be_bytes().to_vec()),
        N::Time => parse_time(text).map(|n| n.to_be_bytes().to_vec()),
        N::Inet if text.is_empty() => Ok(Vec::new()),
        N::Inet => parse_inet(text).ok_or_else(|| unable("inet address")),
        N::Duration => Duration::parse(text).map(|d| d.encode()),
        N::Blob => {
            decode_hex(text).ok_or_else(|| marshal(format!("cannot parse '{text}' as hex bytes")))
        }
    }
}

fn ascii_from_string(text: &str) -> Result<Vec<u8>, TypeError> {
    match text.chars().find(|c| !c.is_ascii()) {
        // Java's encoder reports a surrogate pair (a char outside the BMP) as two input chars.
        Some(c) => Err(marshal(format!(
            "Invalid ASCII character in string literal: java.nio.charset.UnmappableCharacterException: Input length = {}",
            c.len_utf16()
        ))),
        None => Ok(text.as_bytes().to_vec()),
    }
}

fn boolean_from_string(text: &str) -> Result<Vec<u8>, TypeError> {
    if text.is_empty() || text.eq_ignore_ascii_case("false") {
        Ok(vec![0])
    } else if text.eq_ignore_ascii_case("true") {
        Ok(vec![1])
    } else {
        Err(marshal(format!("Unable to make boolean from '{text}'")))
    }
}

fn timeuuid_from_string(text: &str) -> Result<Vec<u8>, TypeError> {
    let bytes = parse_uuid_text(text)
        .ok_or_else(|| marshal(format!("Unknown timeuuid representation: {text}")))?;
    if bytes[6] >> 4 != 1 {
        return Err(marshal("TimeUUID supports only version 1 UUIDs"));
    }
    Ok(bytes.to_vec())
}

/// `Integer.parseInt`-style: optional sign, ASCII digits, in range.
pub(crate) fn parse_java_integer<T: std::str::FromStr>(text: &str) -> Option<T> {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// `Double.parseDouble`-style: decimal syntax plus exactly `NaN` / `Infinity` (Rust would also take `inf`).
pub(crate) fn parse_java_float(text: &str) -> Option<f64> {
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    if unsigned == "NaN" {
        return Some(f64::NAN);
    }
    if unsigned == "Infinity" {
        return Some(if text.starts_with('-') {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }
    let well_formed = unsigned.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && unsigned
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
    if !well_formed {
        return None;
    }
    text.parse().ok()
}

/// The canonical 8-4-4-4-12 hex form only (Cassandra's regex), to 16 bytes.
pub(crate) fn parse_uuid_text(text: &str) -> Option<[u8; 16]> {
    let groups: Vec<&str> = text.split('-').collect();
    let shape = [8, 4, 4, 4, 12];
    if groups.len() != 5 || groups.iter().zip(shape).any(|(g, len)| g.len() != len) {
        return None;
    }
    let bytes = decode_hex(&groups.concat())?;
    bytes.try_into().ok()
}

fn parse_inet(text: &str) -> Option<Vec<u8>> {
    let unbracketed = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(text);
    if let Ok(v4) = unbracketed.parse::<Ipv4Addr>() {
        return Some(v4.octets().to_vec());
    }
    unbracketed
        .parse::<Ipv6Addr>()
        .ok()
        .map(|v6| v6.octets().to_vec())
}

fn no_nulls(values: &[CqlValue]) -> Result<Vec<&[u8]>, TypeError> {
    values
        .iter()
        .map(|v| {
            v.as_deref()
                .ok_or_else(|| invalid("null is not supported inside collections"))
        })
        .collect()
}

/// A list value from its elements, in order.
pub fn serialize_list(elements: &[CqlValue]) -> Result<Vec<u8>, TypeError> {
    let elements = no_nulls(elements)?;
    Ok(pack_collection(
        elements.len(),
        elements.into_iter().map(Some),
    ))
}

/// A set value: elements sorted by the element type's comparator, duplicates removed.
pub fn serialize_set(element_type: &CqlType, elements: &[CqlValue]) -> Result<Vec<u8>, TypeError> {
    let mut elements = no_nulls(elements)?;
    elements.sort_by(|a, b| compare_values(element_type, a, b));
    elements.dedup_by(|a, b| compare_values(element_type, a, b).is_eq());
    Ok(pack_collection(
        elements.len(),
        elements.into_iter().map(Some),
    ))
}

/// A map value: entries sorted by key; for a repeated key the last entry wins (as in Cassandra).
pub fn serialize_map(
    key_type: &CqlType,
    entries: &[(CqlValue, CqlValue)],
) -> Result<Vec<u8>, TypeError> {
    let mut pairs: Vec<(&[u8], &[u8])> = Vec::with_capacity(entries.len());
    for (key, value) in entries {
        let key = key
            .as_deref()
            .ok_or_else(|| invalid("null is not supported inside collections"))?;
        let value = value
            .as_deref()
            .ok_or_else(|| invalid("null is not supported inside collections"))?;
        pairs.push((key, value));
    }
    // A stable sort keeps duplicates in input order, so keeping the last of each run keeps the last written.
    pairs.sort_by(|a, b| compare_values(key_type, a.0, b.0));
    let mut unique: Vec<(&[u8], &[u8])> = Vec::with_capacity(pairs.len());
    for pair in pairs {
        match unique.last_mut() {
            Some(last) if compare_values(key_type, last.0, pair.0).is_eq() => *last = pair,
            _ => unique.push(pair),
        }
    }
    let count = unique.len();
    Ok(pack_collection(
        count,
        unique.into_iter().flat_map(|(k, v)| [Some(k), Some(v)]),
    ))
}

/// A tuple value from its components (nulls allowed). Fewer components than the type has is allowed.
pub fn serialize_tuple(
    ty: &CqlType,
    elements: &[CqlValue],
    receiver: &str,
) -> Result<Vec<u8>, TypeError> {
    let arity = match ty {
        CqlType::Tuple(items) => items.len(),
        _ => {
            return Err(invalid(format!(
                "Invalid tuple type literal for {receiver} of type {ty}"
            )))
        }
    };
    if elements.len() > arity {
        return Err(invalid(format!(
            "Invalid tuple literal for {receiver}: too many elements. Type {ty} expects {arity} but got {}",
            elements.len()
        )));
    }
    let mut out = Vec::new();
    for element in elements {
        write_element(&mut out, element.as_deref());
    }
    Ok(out)
}

/// A UDT value from `field name -> value` pairs in any order; fields not given are null.
pub fn serialize_udt(def: &UdtDef, fields: &[(String, CqlValue)]) -> Result<Vec<u8>, TypeError> {
    if let Some((unknown, _)) = fields
        .iter()
        .find(|(name, _)| !def.fields.iter().any(|(f, _)| f == name))
    {
        return Err(invalid(format!(
            "Unknown field '{unknown}' in value of user defined type {}",
            super::cql_type::maybe_quote_identifier(&def.name)
        )));
    }
    let mut out = Vec::new();
    for (field, _) in &def.fields {
        let value = fields
            .iter()
            .rev()
            .find(|(name, _)| name == field)
            .and_then(|(_, v)| v.as_deref());
        write_element(&mut out, value);
    }
    Ok(out)
}

/// A vector value: exactly `dimension` non-null elements.
pub fn serialize_vector(
    ty: &CqlType,
    elements: &[CqlValue],
    receiver: &str,
) -> Result<Vec<u8>, TypeError> {
    let CqlType::Vector { element, dimension } = ty else {
        return Err(invalid(format!(
            "Invalid vector literal for {receiver} of type {ty}"
        )));
    };
    if elements.len() != *dimension as usize {
        return Err(invalid(format!(
            "Invalid vector literal for {receiver} of type {ty}; expected {dimension} elements, but given {}",
            elements.len()
        )));
    }
    let elements: Vec<Vec<u8>> = elements
        .iter()
        .map(|e| {
            e.clone()
                .ok_or_else(|| invalid("null is not supported inside vectors"))
        })
        .collect::<Result<_, _>>()?;
    Ok(pack_vector(element, &elements))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::cql_type::NoUdts;

    fn ty(text: &str) -> CqlType {
        CqlType::parse(text, &NoUdts).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn lit(t: &str, kind: ConstantKind, text: &str) -> Result<Vec<u8>, String> {
        literal_to_bytes(&ty(t), kind, text, "col")
            .map(|v| v.unwrap_or_default())
            .map_err(|e| e.to_string())
    }

    use ConstantKind as K;

    #[test]
    fn constants_of_each_native_type() {
        let cases: Vec<(&str, ConstantKind, &str, Vec<u8>)> = vec![
            ("int", K::Integer, "-2", vec![0xFF, 0xFF, 0xFF, 0xFE]),
            ("int", K::Integer, "+7", vec![0, 0, 0, 7]),
            ("bigint", K::Integer, "1", vec![0, 0, 0, 0, 0, 0, 0, 1]),
            ("counter", K::Integer, "1", vec![0, 0, 0, 0, 0, 0, 0, 1]),
            ("smallint", K::Integer, "-32768", vec![0x80, 0]),
            ("tinyint", K::Integer, "127", vec![0x7F]),
            ("varint", K::Integer, "-129", vec![0xFF, 0x7F]),
            ("decimal", K::Float, "1.5", vec![0, 0, 0, 1, 15]),
            ("decimal", K::Integer, "10", vec![0, 0, 0, 0, 10]),
            ("float", K::Float, "1.5", 1.5f32.to_be_bytes().to_vec()),
            ("float", K::Integer, "2", 2f32.to_be_bytes().to_vec()),
            ("float", K::Float, "NaN", f32::NAN.to_be_bytes().to_vec()),
            (
                "double",
                K::Float,
                "-Infinity",
                f64::NEG_INFINITY.to_be_bytes().to_vec(),
            ),
            ("double", K::Float, "1e-3", 1e-3f64.to_be_bytes().to_vec()),
            ("boolean", K::Boolean, "TRUE", vec![1]),
            ("boolean", K::Boolean, "false", vec![0]),
            ("text", K::String, "héllo", "héllo".as_bytes().to_vec()),
            ("varchar", K::String, "", vec![]),
            ("ascii", K::String, "abc", b"abc".to_vec()),
            ("blob", K::Hex, "0xCAfe", vec![0xCA, 0xFE]),
            ("blob", K::Hex, "0x", vec![]),
            ("inet", K::String, "127.0.0.1", vec![127, 0, 0, 1]),
            (
                "inet",
                K::String,
                "::1",
                [0u8; 15].iter().copied().chain([1]).collect(),
            ),
            (
                "timestamp",
                K::String,
                "2011-02-03 04:05+0000",
                1_296_705_900_000i64.to_be_bytes().to_vec(),
            ),
            (
                "timestamp",
                K::Integer,
                "1296705900000",
                1_296_705_900_000i64.to_be_bytes().to_vec(),
            ),
            (
                "date",
                K::String,
                "1970-01-02",
                ((1u32 << 31) + 1).to_be_bytes().to_vec(),
            ),
            (
                "date",
                K::Integer,
                "2147483648",
                (1u32 << 31).to_be_bytes().to_vec(),
            ),
            (
                "time",
                K::String,
                "00:00:01",
                1_000_000_000i64.to_be_bytes().to_vec(),
            ),
            ("time", K::Integer, "5", 5i64.to_be_bytes().to_vec()),
            (
                "duration",
                K::Duration,
                "1h",
                Duration::parse("1h").unwrap().encode(),
            ),
            (
                "uuid",
                K::Uuid,
                "550e8400-e29b-41d4-a716-446655440000",
                decode_hex("550e8400e29b41d4a716446655440000").unwrap(),
            ),
            (
                "timeuuid",
                K::Uuid,
                "d2177dd0-eaa2-11de-a572-001b779c76e3",
                decode_hex("d2177dd0eaa211dea572001b779c76e3").unwrap(),
            ),
        ];
        for (t, kind, text, bytes) in cases {
            assert_eq!(lit(t, kind, text), Ok(bytes), "{t} {kind} {text}");
        }
        assert_eq!(literal_to_bytes(&ty("int"), K::Null, "null", "c"), Ok(None));
    }

    #[test]
    fn constant_errors_use_cassandras_messages() {
        let cases = [
            ("int", K::String, "abc", "Invalid STRING constant (abc) for \"col\" of type int"),
            ("int", K::Float, "1.5", "Invalid FLOAT constant (1.5) for \"col\" of type int"),
            ("list<int>", K::Integer, "1", "Invalid INTEGER constant (1) for \"col\" of type list<int>"),
            ("uuid", K::String, "x", "Invalid STRING constant (x) for \"col\" of type uuid"),
            ("varchar", K::Integer, "1", "Invalid INTEGER constant (1) for \"col\" of type text"),
            ("int", K::Integer, "3000000000", "Unable to make int from '3000000000'"),
            ("bigint", K::Integer, "9223372036854775808", "Unable to make long from '9223372036854775808'"),
            ("smallint", K::Integer, "32768", "Unable to make short from '32768'"),
            ("tinyint", K::Integer, "128", "Unable to make byte from '128'"),
            ("ascii", K::String, "é", "Invalid ASCII character in string literal: java.nio.charset.UnmappableCharacterException: Input length = 1"),
            ("timeuuid", K::Uuid, "550e8400-e29b-41d4-a716-446655440000", "TimeUUID supports only version 1 UUIDs"),
            ("inet", K::String, "1.2.3", "Unable to make inet address from '1.2.3'"),
            ("timestamp", K::String, "tomorrow", "Unable to parse a date/time from 'tomorrow'"),
            ("blob", K::Hex, "0xabc", "cannot parse 'abc' as hex bytes"),
            ("duration", K::Integer, "3", "Unable to convert '3' to a duration"),
            ("decimal", K::Float, "NaN", "unable to make BigDecimal from 'NaN'"),
            ("float", K::Float, "inf", "Unable to make float from 'inf'"),
        ];
        for (t, kind, text, message) in cases {
            assert_eq!(
                lit(t, kind, text),
                Err(message.to_string()),
                "{t} {kind} {text}"
            );
        }
        assert_eq!(
            literal_to_bytes(&ty("counter"), K::Null, "null", "c").map_err(|e| e.to_string()),
            Err("Invalid null value for counter increment/decrement".to_string())
        );
    }

    fn int(v: i32) -> Option<Vec<u8>> {
        Some(v.to_be_bytes().to_vec())
    }

    #[test]
    fn sets_are_sorted_and_deduplicated_maps_keep_last() {
        let set = serialize_set(&ty("int"), &[int(3), int(-1), int(3), int(2)]).unwrap_or_default();
        assert_eq!(
            set,
            serialize_list(&[int(-1), int(2), int(3)]).unwrap_or_default()
        );
        let map = serialize_map(
            &ty("int"),
            &[(int(2), int(20)), (int(1), int(10)), (int(2), int(21))],
        )
        .unwrap_or_default();
        let mut expected = 2i32.to_be_bytes().to_vec();
        for v in [1i32, 10, 2, 21] {
            expected.extend(4i32.to_be_bytes());
            expected.extend(v.to_be_bytes());
        }
        assert_eq!(map, expected);
        assert_eq!(
            serialize_list(&[int(1), None]).map_err(|e| e.to_string()),
            Err("null is not supported inside collections".to_string())
        );
    }

    #[test]
    fn tuples_udts_and_vectors() {
        let tuple = ty("tuple<int, text>");
        assert_eq!(
            serialize_tuple(&tuple, &[int(1), None], "t"),
            Ok(vec![0, 0, 0, 4, 0, 0, 0, 1, 0xFF, 0xFF, 0xFF, 0xFF])
        );
        assert_eq!(
            serialize_tuple(&tuple, &[int(1), None, None], "t").map_err(|e| e.to_string()),
            Err("Invalid tuple literal for t: too many elements. Type frozen<tuple<int, text>> expects 2 but got 3".to_string())
        );
        let def = UdtDef {
            keyspace: "ks".into(),
            name: "pt".into(),
            fields: vec![("x".into(), ty("int")), ("y".into(), ty("int"))],
        };
        assert_eq!(
            serialize_udt(&def, &[("y".into(), int(2))]),
            Ok(vec![0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 4, 0, 0, 0, 2])
        );
        assert_eq!(
            serialize_udt(&def, &[("z".into(), int(2))]).map_err(|e| e.to_string()),
            Err("Unknown field 'z' in value of user defined type pt".to_string())
        );
        let vector = ty("vector<float, 2>");
        let one = Some(1f32.to_be_bytes().to_vec());
        assert_eq!(
            serialize_vector(&vector, &[one.clone(), one.clone()], "v").map(|v| v.len()),
            Ok(8)
        );
        assert!(serialize_vector(&vector, &[one], "v").is_err());
    }
}
