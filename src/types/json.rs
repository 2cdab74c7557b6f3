//! JSON to values (`INSERT ... JSON` and `fromJson()`), following Cassandra's `fromJSONObject` rules.

use serde_json::Value as Json;

use super::cql_type::{CqlType, NativeType, MAX_TYPE_DEPTH};
use super::error::{invalid, marshal, TypeError};
use super::format::java_float_string;
use super::literal::{
    native_from_string, serialize_list, serialize_map, serialize_set, serialize_tuple,
    serialize_udt, serialize_vector, CqlValue,
};

/// Converts a parsed JSON value to a serialized value of `ty`; JSON `null` gives `None`.
pub fn from_json(ty: &CqlType, json: &Json) -> Result<CqlValue, TypeError> {
    from_json_at(ty, json, 0)
}

fn from_json_at(ty: &CqlType, json: &Json, depth: usize) -> Result<CqlValue, TypeError> {
    if json.is_null() {
        return Ok(None);
    }
    if depth > MAX_TYPE_DEPTH {
        return Err(marshal("JSON value nested too deeply"));
    }
    // A null inside a collection is refused with the collection's word (ListType's,
    // SetType's `fromJSONObject`).
    let elements = |items: &[Json], element: &CqlType, kind: &str| {
        items
            .iter()
            .map(|item| match item {
                Json::Null => Err(marshal(format!("Invalid null element in {kind}"))),
                item => from_json_at(element, item, depth + 1),
            })
            .collect::<Result<Vec<CqlValue>, TypeError>>()
    };
    // Collections, tuples, UDTs and vectors given as a JSON string hold their JSON in it
    // (Cassandra's `fromJSONObject` decodes such a string first); so do map keys, which
    // JSON can only write as strings.
    if let (false, Json::String(text)) =
        (matches!(ty, CqlType::Native(_) | CqlType::Custom(_)), json)
    {
        let decoded: Json = serde_json::from_str(text)
            .map_err(|_| marshal(format!("Could not decode JSON string '{text}'")))?;
        if !decoded.is_string() {
            return from_json_at(ty, &decoded, depth + 1);
        }
    }
    let value = match (ty, json) {
        (CqlType::Native(native), _) => native_from_json(*native, json)?,
        (CqlType::List { element, .. }, Json::Array(items)) => {
            serialize_list(&elements(items, element, "list")?)?
        }
        (CqlType::Set { element, .. }, Json::Array(items)) => {
            serialize_set(element, &elements(items, element, "set")?)?
        }
        (CqlType::Map { key, value, .. }, Json::Object(entries)) => {
            let mut pairs = Vec::with_capacity(entries.len());
            for (k, v) in entries {
                if v.is_null() {
                    return Err(marshal("Invalid null value in map"));
                }
                pairs.push((
                    from_json_at(key, &Json::String(k.clone()), depth + 1)?,
                    from_json_at(value, v, depth + 1)?,
                ));
            }
            serialize_map(key, &pairs)?
        }
        (CqlType::Tuple(items), Json::Array(values)) => {
            if values.len() > items.len() {
                return Err(marshal(format!(
                    "Tuple contains extra items (expected {}): {json}",
                    items.len()
                )));
            }
            let fields = values
                .iter()
                .zip(items)
                .map(|(v, t)| from_json_at(t, v, depth + 1))
                .collect::<Result<Vec<_>, _>>()?;
            serialize_tuple(ty, &fields, "tuple")?
        }
        (CqlType::Udt { def, .. }, Json::Object(entries)) => {
            let mut fields = Vec::with_capacity(entries.len());
            for (name, v) in entries {
                let name = udt_field_name(name);
                let field_type = def
                    .fields
                    .iter()
                    .find(|(f, _)| *f == name)
                    .map(|(_, t)| t)
                    .ok_or_else(|| {
                        invalid(format!(
                            "Unknown field '{name}' in value of user defined type {}",
                            def.name
                        ))
                    })?;
                fields.push((name, from_json_at(field_type, v, depth + 1)?));
            }
            serialize_udt(def, &fields)?
        }
        (CqlType::Vector { element, .. }, Json::Array(items)) => {
            serialize_vector(ty, &elements(items, element, "vector")?, "vector")?
        }
        (CqlType::Custom(_), Json::String(text)) => {
            native_from_json(NativeType::Blob, &Json::String(text.clone()))?
        }
        _ => {
            return Err(marshal(format!(
                "Expected {}, but got a {}: {}",
                expected_shape(ty),
                java_class(json),
                java_text(json)
            )))
        }
    };
    Ok(Some(value))
}

/// JSON keys name UDT fields like CQL identifiers: `"\"Name\""` is case-sensitive, others are lower-cased.
fn udt_field_name(key: &str) -> String {
    match key.strip_prefix('"').and_then(|k| k.strip_suffix('"')) {
        Some(quoted) => quoted.replace("\"\"", "\""),
        None => key.to_lowercase(),
    }
}

fn expected_shape(ty: &CqlType) -> &'static str {
    match ty {
        CqlType::List { .. } => "a list",
        CqlType::Set { .. } => "a list (representing a set)",
        CqlType::Map { .. } | CqlType::Udt { .. } => "a map",
        CqlType::Tuple(_) => "a list representation of a tuple",
        CqlType::Vector { .. } => "a list representation of a vector",
        CqlType::Native(_) | CqlType::Custom(_) => "a string representation of a custom value",
    }
}

/// A JSON number as Jackson reads it into a Java object (Cassandra's `JsonUtils.decodeJson`):
/// an integer token is an `Integer`, `Long` or `BigInteger`, exact whatever its size; any
/// other number (a fraction or an exponent) is a `Double`. serde_json keeps the number's text
/// (its `arbitrary_precision` feature), so nothing is lost before this decision.
enum JavaNumber {
    /// The class (`Integer`, `Long`, `BigInteger`) and the integer's canonical text.
    Integer(&'static str, String),
    Double(f64),
}

fn java_number(n: &serde_json::Number) -> JavaNumber {
    let raw = n.as_str();
    if raw.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
        return match raw.parse::<i64>() {
            Ok(v) if i32::try_from(v).is_ok() => JavaNumber::Integer("Integer", v.to_string()),
            Ok(v) => JavaNumber::Integer("Long", v.to_string()),
            // JSON integers have no leading zeros or '+': the token is BigInteger's text.
            Err(_) => JavaNumber::Integer("BigInteger", raw.to_string()),
        };
    }
    // Double.parseDouble: out of range is an infinity, as Jackson reads it.
    JavaNumber::Double(raw.parse::<f64>().unwrap_or(f64::NAN))
}

/// The Java class Jackson would have produced for the JSON value (Cassandra prints it in errors).
fn java_class(json: &Json) -> &'static str {
    match json {
        Json::Null => "null",
        Json::Bool(_) => "Boolean",
        Json::Number(n) => match java_number(n) {
            JavaNumber::Integer(class, _) => class,
            JavaNumber::Double(_) => "Double",
        },
        Json::String(_) => "String",
        Json::Array(_) => "ArrayList",
        Json::Object(_) => "LinkedHashMap",
    }
}

/// Java's `toString` of the parsed JSON value (strings unquoted, a Double as
/// `Double.toString` prints it: `1.0E20`).
fn java_text(json: &Json) -> String {
    match json {
        Json::String(s) => s.clone(),
        Json::Number(n) => match java_number(n) {
            JavaNumber::Integer(_, text) => text,
            JavaNumber::Double(v) => java_float_string(v, false),
        },
        other => other.to_string(),
    }
}

fn native_from_json(native: NativeType, json: &Json) -> Result<Vec<u8>, TypeError> {
    use NativeType as N;
    let class = java_class(json);
    let text = java_text(json);
    let wrong = |expected: &str| marshal(format!("Expected {expected}, but got a {class}: {text}"));
    match (native, json) {
        (N::Ascii | N::Text | N::Uuid | N::Timeuuid | N::Inet | N::Date | N::Time | N::Duration | N::Timestamp, Json::String(s)) => {
            native_from_string(native, s)
        }
        (N::Blob, Json::String(s)) => match s.strip_prefix("0x") {
            Some(_) => native_from_string(N::Blob, &s[2..])
                .map_err(|_| marshal(format!("Value '{s}' is not a valid blob representation"))),
            None => Err(marshal(format!(
                "Value '{s}' is not a valid blob representation: String representation of blob is missing 0x prefix: {s}"
            ))),
        },
        (N::Int, Json::String(s)) | (N::Bigint | N::Counter | N::Float | N::Double | N::Boolean, Json::String(s)) => {
            native_from_string(native, s)
        }
        (N::Int, Json::Number(_)) if class == "Integer" => native_from_string(native, &text),
        (N::Bigint | N::Counter, Json::Number(_)) if matches!(class, "Integer" | "Long") => native_from_string(native, &text),
        (N::Smallint | N::Tinyint, Json::String(_) | Json::Number(_)) => native_from_string(native, &text),
        // Number.floatValue() / doubleValue(): an integer rounds once to the target type.
        (N::Float, Json::Number(n)) => Ok(match java_number(n) {
            JavaNumber::Integer(_, text) => text.parse::<f32>().map_err(|_| wrong("a float value"))?,
            JavaNumber::Double(v) => v as f32,
        }
        .to_be_bytes()
        .to_vec()),
        (N::Double, Json::Number(n)) => Ok(match java_number(n) {
            JavaNumber::Integer(_, text) => text.parse::<f64>().map_err(|_| wrong("a double value"))?,
            JavaNumber::Double(v) => v,
        }
        .to_be_bytes()
        .to_vec()),
        (N::Varint, Json::String(_) | Json::Number(_)) => native_from_string(N::Varint, &text)
            .map_err(|_| marshal(format!("Value '{text}' is not a valid representation of a varint value"))),
        (N::Decimal, Json::String(_) | Json::Number(_)) => native_from_string(N::Decimal, &text)
            .map_err(|_| marshal(format!("Value '{text}' is not a valid representation of a decimal value"))),
        (N::Boolean, Json::Bool(b)) => Ok(vec![u8::from(*b)]),
        (N::Timestamp, Json::Number(_)) if matches!(class, "Integer" | "Long") => native_from_string(native, &text),
        (N::Ascii, _) => Err(wrong("an ascii string")),
        (N::Text, _) => Err(wrong("a UTF-8 string")),
        (N::Int, _) => Err(wrong("an int value")),
        (N::Bigint | N::Counter, _) => Err(wrong("a bigint value")),
        (N::Smallint, _) => Err(wrong("a short value")),
        (N::Tinyint, _) => Err(wrong("a byte value")),
        (N::Float, _) => Err(wrong("a float value")),
        (N::Double, _) => Err(wrong("a double value")),
        (N::Boolean, _) => Err(wrong("a boolean value")),
        (N::Blob, _) => Err(wrong("a string representation of a blob value")),
        (N::Uuid, _) => Err(wrong("a string representation of a uuid")),
        (N::Timeuuid, _) => Err(wrong("a string representation of a timeuuid")),
        (N::Inet, _) => Err(wrong("a string representation of an inet value")),
        (N::Timestamp, _) => Err(wrong("a long or a datestring representation of a timestamp value")),
        (N::Date, _) => Err(wrong("a string representation of a date value")),
        (N::Time, _) => Err(wrong("a string representation of a time value")),
        (N::Duration, _) => Err(wrong("a string representation of a duration")),
        (N::Varint, _) => Err(marshal(format!("Value '{text}' is not a valid representation of a varint value"))),
        (N::Decimal, _) => Err(marshal(format!("Value '{text}' is not a valid representation of a decimal value"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::cql_type::NoUdts;
    use crate::types::format::to_json;

    fn round_trip(type_text: &str, json_text: &str) -> String {
        let ty = CqlType::parse(type_text, &NoUdts).unwrap();
        let json: Json = serde_json::from_str(json_text).unwrap();
        let value = from_json(&ty, &json).unwrap().unwrap();
        to_json(&ty, &value)
    }

    #[test]
    fn json_values_round_trip_through_to_json() {
        let cases = [
            ("int", "5", "5"),
            ("int", "\"6\"", "6"),
            ("bigint", "5000000000", "5000000000"),
            ("text", "\"a\\\"b\"", "\"a\\\"b\""),
            ("double", "1.5", "1.5"),
            ("boolean", "true", "true"),
            ("blob", "\"0xcafe\"", "\"0xcafe\""),
            ("timestamp", "0", "\"1970-01-01 00:00:00.000Z\""),
            ("list<int>", "[3, 1]", "[3, 1]"),
            ("set<int>", "[3, 1, 3]", "[1, 3]"),
            (
                "map<int, text>",
                "{\"2\": \"b\", \"1\": \"a\"}",
                "{\"1\": \"a\", \"2\": \"b\"}",
            ),
            ("tuple<int, text>", "[1, null]", "[1, null]"),
            (
                "varint",
                "\"123456789012345678901234567890\"",
                "123456789012345678901234567890",
            ),
            ("decimal", "\"1.50\"", "1.50"),
        ];
        for (t, input, output) in cases {
            assert_eq!(round_trip(t, input), output, "{t} {input}");
        }
    }

    #[test]
    fn json_type_errors() {
        let err = |t: &str, j: &str| {
            let ty = CqlType::parse(t, &NoUdts).unwrap();
            from_json(&ty, &serde_json::from_str(j).unwrap()).map_err(|e| e.to_string())
        };
        assert_eq!(
            err("int", "1.5"),
            Err("Expected an int value, but got a Double: 1.5".into())
        );
        assert_eq!(
            err("ascii", "123"),
            Err("Expected an ascii string, but got a Integer: 123".into())
        );
        assert_eq!(
            err("list<int>", "{}"),
            Err("Expected a list, but got a LinkedHashMap: {}".into())
        );
        assert_eq!(err("int", "null"), Ok(None));
        assert_eq!(
            err("int", "12345678901234567890123"),
            Err("Expected an int value, but got a BigInteger: 12345678901234567890123".into())
        );
        assert_eq!(
            err("bigint", "1e3"),
            Err("Expected a bigint value, but got a Double: 1000.0".into())
        );
        assert_eq!(
            err("varint", "123123.123"),
            Err("Value '123123.123' is not a valid representation of a varint value".into())
        );
        assert_eq!(
            err("varint", "1.5e20"),
            Err("Value '1.5E20' is not a valid representation of a varint value".into())
        );
    }

    /// Integers are exact whatever their size (Jackson's BigInteger); a number with a
    /// fraction or an exponent is a Double, and a decimal reads `Double.toString`'s text.
    #[test]
    fn json_numbers_are_read_as_jackson_reads_them() {
        let cases = [
            (
                "varint",
                "123456789012345678901234567890",
                "123456789012345678901234567890",
            ),
            (
                "varint",
                "-98765432109876543210987654321098765",
                "-98765432109876543210987654321098765",
            ),
            (
                "decimal",
                "123456789012345678901234567890",
                "123456789012345678901234567890",
            ),
            ("decimal", "123123.123123", "123123.123123"),
            ("decimal", "1.50", "1.5"),
            ("decimal", "1e10", "1.0E+10"),
            (
                "decimal",
                "\"12345678901234567890.1234567890\"",
                "12345678901234567890.1234567890",
            ),
            ("bigint", "-0", "0"),
            (
                "double",
                "123456789012345678901234567890",
                "1.2345678901234568E29",
            ),
            ("float", "16777217", "1.6777216E7"),
        ];
        for (t, input, output) in cases {
            assert_eq!(round_trip(t, input), output, "{t} {input}");
        }
    }
}
