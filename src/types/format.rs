//! Values to text: CQL literals (as cqlsh and DESCRIBE print them) and Cassandra's `toJson` form.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::codec::{split_collection, split_fields, split_map, split_vector, CollectionKind};
use super::cql_type::{maybe_quote_identifier, CqlType, NativeType, MAX_TYPE_DEPTH};
use super::duration::Duration;
use super::numeric::{varint_from_bytes, Decimal};
use super::temporal::{
    format_date, format_time, format_timestamp, format_timestamp_json, timestamp_in_literal_range,
};

/// The two text forms share their walk over composite values and differ only in leaves and punctuation.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Style {
    Cql,
    Json,
}

/// A value as CQL literal text: `'it''s'`, `0xcafe`, `'2011-02-03 04:05:00.000000+0000'`, `{1, 2}`,
/// `{'k': 1}`, `(1, 'a')`, `{street: 'x', zip: 1}`. Values that do not parse print as a blob (`0x...`).
pub fn format_value(ty: &CqlType, value: &[u8]) -> String {
    render(ty, value, Style::Cql, 0).unwrap_or_else(|| hex_blob(value))
}

/// A value as Cassandra's `toJson()` prints it: numbers bare, text/uuid/inet/temporal values as JSON strings,
/// lists/sets/tuples as arrays, maps and UDTs as objects (non-string map keys quoted).
pub fn to_json(ty: &CqlType, value: &[u8]) -> String {
    render(ty, value, Style::Json, 0).unwrap_or_else(|| json_string(&hex_blob(value)))
}

fn hex_blob(value: &[u8]) -> String {
    let mut out = String::with_capacity(2 + value.len() * 2);
    out.push_str("0x");
    for b in value {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

fn json_string(text: &str) -> String {
    serde_json::Value::String(text.to_string()).to_string()
}

fn cql_string(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// None = the bytes are not a valid value of the type.
fn render(ty: &CqlType, value: &[u8], style: Style, depth: usize) -> Option<String> {
    if depth > MAX_TYPE_DEPTH {
        return None;
    }
    match ty {
        CqlType::Native(native) => render_native(*native, value, style),
        CqlType::Custom(_) => Some(match style {
            Style::Cql => hex_blob(value),
            Style::Json => json_string(&hex_blob(value)),
        }),
        CqlType::List { element, .. } => {
            render_sequence(element, value, CollectionKind::List, style, depth)
        }
        CqlType::Set { element, .. } => {
            render_sequence(element, value, CollectionKind::Set, style, depth)
        }
        CqlType::Map {
            key,
            value: value_type,
            ..
        } => render_map(key, value_type, value, style, depth),
        CqlType::Tuple(items) => {
            let fields = split_fields(value, items.len()).ok()?;
            let parts = fields
                .iter()
                .zip(items)
                .map(|(f, t)| render_field(t, *f, style, depth))
                .collect::<Option<Vec<_>>>()?;
            Some(match style {
                Style::Cql => format!("({})", parts.join(", ")),
                Style::Json => format!("[{}]", parts.join(", ")),
            })
        }
        CqlType::Udt { def, .. } => {
            let fields = split_fields(value, def.fields.len()).ok()?;
            let mut parts = Vec::with_capacity(def.fields.len());
            for (i, (name, field_type)) in def.fields.iter().enumerate() {
                let rendered =
                    render_field(field_type, fields.get(i).copied().flatten(), style, depth)?;
                parts.push(match style {
                    Style::Cql => format!("{}: {rendered}", maybe_quote_identifier(name)),
                    Style::Json => format!("{}: {rendered}", json_udt_field_name(name)),
                });
            }
            Some(format!("{{{}}}", parts.join(", ")))
        }
        CqlType::Vector { element, dimension } => {
            let parts = split_vector(element, *dimension, value)
                .ok()?
                .into_iter()
                .map(|e| render(element, e, style, depth + 1))
                .collect::<Option<Vec<_>>>()?;
            Some(format!("[{}]", parts.join(", ")))
        }
    }
}

fn render_field(ty: &CqlType, field: Option<&[u8]>, style: Style, depth: usize) -> Option<String> {
    match field {
        None => Some("null".to_string()),
        Some(bytes) => render(ty, bytes, style, depth + 1),
    }
}

/// Cassandra quotes case-sensitive UDT field names inside the JSON key: `{"\"Name\"": 1}`.
fn json_udt_field_name(name: &str) -> String {
    if name == name.to_lowercase() {
        json_string(name)
    } else {
        json_string(&format!("\"{name}\""))
    }
}

fn render_sequence(
    element: &CqlType,
    value: &[u8],
    kind: CollectionKind,
    style: Style,
    depth: usize,
) -> Option<String> {
    let parts = split_collection(value, kind)
        .ok()?
        .into_iter()
        .map(|e| render(element, e?, style, depth + 1))
        .collect::<Option<Vec<_>>>()?;
    let (open, close) = if kind == CollectionKind::Set && style == Style::Cql {
        ('{', '}')
    } else {
        ('[', ']')
    };
    Some(format!("{open}{}{close}", parts.join(", ")))
}

fn render_map(
    key: &CqlType,
    value_type: &CqlType,
    value: &[u8],
    style: Style,
    depth: usize,
) -> Option<String> {
    let entries = split_map(value).ok()?;
    let mut parts = Vec::with_capacity(entries.len());
    for (k, v) in entries {
        let mut k = render(key, k?, style, depth + 1)?;
        if style == Style::Json && !k.starts_with('"') {
            k = json_string(&k);
        }
        parts.push(format!(
            "{k}: {}",
            render(value_type, v?, style, depth + 1)?
        ));
    }
    Some(format!("{{{}}}", parts.join(", ")))
}

fn render_native(native: NativeType, value: &[u8], style: Style) -> Option<String> {
    use NativeType as N;
    let quoted = |text: String| match style {
        Style::Cql => cql_string(&text),
        Style::Json => json_string(&text),
    };
    if value.is_empty() && !matches!(native, N::Ascii | N::Text | N::Blob) {
        // An empty value of a non-string type: no literal denotes it.
        return Some(if style == Style::Json {
            "\"\"".to_string()
        } else {
            "null".to_string()
        });
    }
    Some(match native {
        N::Ascii | N::Text => quoted(std::str::from_utf8(value).ok()?.to_string()),
        N::Blob => match style {
            Style::Cql => hex_blob(value),
            Style::Json => json_string(&hex_blob(value)),
        },
        N::Boolean => (value.first()? != &0).to_string(),
        N::Int => i32::from_be_bytes(value.try_into().ok()?).to_string(),
        N::Bigint | N::Counter => i64::from_be_bytes(value.try_into().ok()?).to_string(),
        N::Smallint => i16::from_be_bytes(value.try_into().ok()?).to_string(),
        N::Tinyint => i8::from_be_bytes(value.try_into().ok()?).to_string(),
        N::Varint => varint_from_bytes(value).to_string(),
        N::Decimal => Decimal::from_bytes(value)?.to_java_string(),
        N::Float | N::Double => {
            let single = native == N::Float;
            let v = if single {
                f64::from(f32::from_be_bytes(value.try_into().ok()?))
            } else {
                f64::from_be_bytes(value.try_into().ok()?)
            };
            // JSON has no NaN or infinities; Cassandra's toJson prints null for them.
            if style == Style::Json && !v.is_finite() {
                "null".to_string()
            } else {
                java_float_string(v, single)
            }
        }
        N::Uuid | N::Timeuuid => {
            let text = uuid::Uuid::from_slice(value).ok()?.hyphenated().to_string();
            if style == Style::Json {
                json_string(&text)
            } else {
                text
            }
        }
        N::Inet => quoted(match style {
            Style::Cql => inet_text(value)?,
            Style::Json => java_inet_text(value)?,
        }),
        N::Timestamp => {
            let millis = i64::from_be_bytes(value.try_into().ok()?);
            match style {
                Style::Cql if timestamp_in_literal_range(millis) => {
                    cql_string(&format_timestamp(millis))
                }
                Style::Cql => millis.to_string(),
                Style::Json => json_string(&format_timestamp_json(millis)),
            }
        }
        N::Date => quoted(format_date(u32::from_be_bytes(value.try_into().ok()?))),
        N::Time => quoted(format_time(i64::from_be_bytes(value.try_into().ok()?))),
        N::Duration => {
            let text = Duration::decode(value).ok()?.to_string();
            if style == Style::Json {
                json_string(&text)
            } else {
                text
            }
        }
    })
}

fn inet_text(value: &[u8]) -> Option<String> {
    match value.len() {
        4 => Some(Ipv4Addr::from(<[u8; 4]>::try_from(value).ok()?).to_string()),
        16 => Some(Ipv6Addr::from(<[u8; 16]>::try_from(value).ok()?).to_string()),
        _ => None,
    }
}

/// Java's `InetAddress.getHostAddress()`: IPv6 uncompressed, groups without leading zeros.
fn java_inet_text(value: &[u8]) -> Option<String> {
    let Ok(octets) = <[u8; 16]>::try_from(value) else {
        return inet_text(value);
    };
    let groups: Vec<String> = std::net::Ipv6Addr::from(octets)
        .segments()
        .iter()
        .map(|g| format!("{g:x}"))
        .collect();
    Some(groups.join(":"))
}

/// Java's `Float.toString` / `Double.toString` (shortest round-trip digits): `1.5`, `100.0`, `1.0E10`,
/// `1.234E-5`, `NaN`, `-Infinity`. It is also valid CQL literal syntax.
pub(crate) fn java_float_string(v: f64, single: bool) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    if v == 0.0 {
        return if v.is_sign_negative() {
            "-0.0".into()
        } else {
            "0.0".into()
        };
    }
    let scientific = if single {
        format!("{:e}", v as f32)
    } else {
        format!("{v:e}")
    };
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if negative { "-" } else { "" };
    if (-3..7).contains(&exponent) {
        let point = exponent + 1;
        let text = if point <= 0 {
            format!("0.{}{digits}", "0".repeat((-point) as usize))
        } else {
            let point = point as usize;
            let padded = format!("{digits:0<point$}");
            let (int_part, frac_part) = padded.split_at(point);
            format!(
                "{int_part}.{}",
                if frac_part.is_empty() { "0" } else { frac_part }
            )
        };
        return format!("{sign}{text}");
    }
    let (head, tail) = digits.split_at(1);
    format!(
        "{sign}{head}.{}E{exponent}",
        if tail.is_empty() { "0" } else { tail }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::cql_type::{NoUdts, UdtDef};
    use crate::types::literal::{
        literal_to_bytes, serialize_map, serialize_set, serialize_tuple, ConstantKind,
    };

    fn ty(text: &str) -> CqlType {
        CqlType::parse(text, &NoUdts).unwrap()
    }

    fn both(type_text: &str, kind: ConstantKind, literal: &str) -> (String, String) {
        let t = ty(type_text);
        let v = literal_to_bytes(&t, kind, literal, "c").unwrap().unwrap();
        (format_value(&t, &v), to_json(&t, &v))
    }

    #[test]
    fn natives_as_literals_and_json() {
        use ConstantKind as K;
        let cases = [
            ("text", K::String, "it's", "'it''s'", "\"it's\""),
            ("ascii", K::String, "a\"b", "'a\"b'", "\"a\\\"b\""),
            ("int", K::Integer, "-5", "-5", "-5"),
            (
                "bigint",
                K::Integer,
                "9000000000",
                "9000000000",
                "9000000000",
            ),
            (
                "varint",
                K::Integer,
                "-123456789012345678901234567890",
                "-123456789012345678901234567890",
                "-123456789012345678901234567890",
            ),
            ("decimal", K::Float, "1.50", "1.50", "1.50"),
            ("decimal", K::Float, "1e3", "1E+3", "1E+3"),
            ("float", K::Float, "1.5", "1.5", "1.5"),
            ("float", K::Float, "0.1", "0.1", "0.1"),
            ("double", K::Float, "1e10", "1.0E10", "1.0E10"),
            ("double", K::Float, "0.001", "0.001", "0.001"),
            ("double", K::Float, "0.0001", "1.0E-4", "1.0E-4"),
            ("double", K::Integer, "100", "100.0", "100.0"),
            ("double", K::Float, "NaN", "NaN", "null"),
            ("float", K::Float, "-Infinity", "-Infinity", "null"),
            ("boolean", K::Boolean, "true", "true", "true"),
            ("blob", K::Hex, "0xCAFE", "0xcafe", "\"0xcafe\""),
            (
                "uuid",
                K::Uuid,
                "550E8400-e29b-41d4-a716-446655440000",
                "550e8400-e29b-41d4-a716-446655440000",
                "\"550e8400-e29b-41d4-a716-446655440000\"",
            ),
            ("inet", K::String, "::1", "'::1'", "\"0:0:0:0:0:0:0:1\""),
            ("inet", K::String, "10.1.2.3", "'10.1.2.3'", "\"10.1.2.3\""),
            (
                "timestamp",
                K::String,
                "2011-02-03 04:05:00+0000",
                "'2011-02-03 04:05:00.000000+0000'",
                "\"2011-02-03 04:05:00.000Z\"",
            ),
            (
                "date",
                K::String,
                "2011-02-03",
                "'2011-02-03'",
                "\"2011-02-03\"",
            ),
            (
                "time",
                K::String,
                "08:12:54.123456789",
                "'08:12:54.123456789'",
                "\"08:12:54.123456789\"",
            ),
            (
                "duration",
                K::Duration,
                "P1Y2M3DT4H",
                "1y2mo3d4h",
                "\"1y2mo3d4h\"",
            ),
        ];
        for (t, kind, literal, cql, json) in cases {
            assert_eq!(
                both(t, kind, literal),
                (cql.to_string(), json.to_string()),
                "{t} {literal}"
            );
        }
        assert_eq!(format_value(&ty("int"), &[]), "null");
        assert_eq!(to_json(&ty("int"), &[]), "\"\"");
        assert_eq!(format_value(&ty("int"), &[1, 2]), "0x0102");
    }

    #[test]
    fn composites_as_literals_and_json() {
        let int = |v: i32| Some(v.to_be_bytes().to_vec());
        let text = |s: &str| Some(s.as_bytes().to_vec());
        let set = serialize_set(&ty("int"), &[int(2), int(1)]).unwrap();
        assert_eq!(format_value(&ty("set<int>"), &set), "{1, 2}");
        assert_eq!(to_json(&ty("set<int>"), &set), "[1, 2]");
        let map = serialize_map(&ty("int"), &[(int(1), text("a"))]).unwrap();
        assert_eq!(format_value(&ty("map<int, text>"), &map), "{1: 'a'}");
        assert_eq!(to_json(&ty("map<int, text>"), &map), "{\"1\": \"a\"}");
        let tuple_type = ty("tuple<int, text>");
        let tuple = serialize_tuple(&tuple_type, &[int(1), None], "t").unwrap();
        assert_eq!(format_value(&tuple_type, &tuple), "(1, null)");
        assert_eq!(to_json(&tuple_type, &tuple), "[1, null]");
        let def = UdtDef {
            keyspace: "ks".into(),
            name: "u".into(),
            fields: vec![("a".into(), ty("int")), ("Bee".into(), ty("text"))],
        };
        let value =
            crate::types::serialize_udt(&def, &[("a".into(), int(7)), ("Bee".into(), text("x"))])
                .unwrap();
        let udt = CqlType::Udt {
            def: Box::new(def),
            frozen: true,
        };
        assert_eq!(format_value(&udt, &value), "{a: 7, \"Bee\": 'x'}");
        assert_eq!(to_json(&udt, &value), "{\"a\": 7, \"\\\"Bee\\\"\": \"x\"}");
    }

    #[test]
    fn java_float_strings() {
        let cases = [
            (1.0, "1.0"),
            (1234567.0, "1234567.0"),
            (12345678.0, "1.2345678E7"),
            (0.00123, "0.00123"),
            (-2.5e-7, "-2.5E-7"),
        ];
        for (v, text) in cases {
            assert_eq!(java_float_string(v, false), text);
        }
        assert_eq!(java_float_string(f64::from(0.1f32), true), "0.1");
    }
}
