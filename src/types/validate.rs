//! Validation of values bound by drivers, with Cassandra's `TypeSerializer.validate` messages.

use super::codec::{read_element, split_collection, split_map, split_vector, CollectionKind};
use super::cql_type::{CqlType, NativeType, MAX_TYPE_DEPTH};
use super::duration::Duration;
use super::error::{invalid, marshal, TypeError};

/// Checks that `value` is a well-formed serialized value of `ty` (a null is not a value: check it before).
pub fn validate(ty: &CqlType, value: &[u8]) -> Result<(), TypeError> {
    validate_at(ty, value, 0)
}

fn validate_at(ty: &CqlType, value: &[u8], depth: usize) -> Result<(), TypeError> {
    if depth > MAX_TYPE_DEPTH {
        return Err(marshal("Value nested too deeply"));
    }
    match ty {
        CqlType::Native(native) => validate_native(*native, value),
        CqlType::List { element, .. } => {
            validate_elements(element, value, CollectionKind::List, depth)
        }
        CqlType::Set { element, .. } if !value.is_empty() => {
            validate_elements(element, value, CollectionKind::Set, depth)
        }
        CqlType::Map {
            key,
            value: value_type,
            ..
        } if !value.is_empty() => {
            for (k, v) in split_map(value)? {
                validate_at(key, non_null(k)?, depth + 1)?;
                validate_at(value_type, non_null(v)?, depth + 1)?;
            }
            Ok(())
        }
        CqlType::Set { .. } | CqlType::Map { .. } => Ok(()),
        CqlType::Tuple(items) => {
            validate_fields(items.iter().map(|t| ("", t)), value, depth, false)
        }
        CqlType::Udt { def, .. } => validate_fields(
            def.fields.iter().map(|(n, t)| (n.as_str(), t)),
            value,
            depth,
            true,
        ),
        CqlType::Vector { element, dimension } => {
            for e in split_vector(element, *dimension, value)? {
                validate_at(element, e, depth + 1)?;
            }
            Ok(())
        }
        CqlType::Custom(_) => Ok(()),
    }
}

fn non_null(element: Option<&[u8]>) -> Result<&[u8], TypeError> {
    element.ok_or_else(|| invalid("null is not supported inside collections"))
}

fn validate_elements(
    element: &CqlType,
    value: &[u8],
    kind: CollectionKind,
    depth: usize,
) -> Result<(), TypeError> {
    for e in split_collection(value, kind)? {
        validate_at(element, non_null(e)?, depth + 1)?;
    }
    Ok(())
}

/// Tuples and UDTs may carry fewer fields than declared (fields added later), never more.
fn validate_fields<'a>(
    fields: impl Iterator<Item = (&'a str, &'a CqlType)>,
    value: &[u8],
    depth: usize,
    is_udt: bool,
) -> Result<(), TypeError> {
    let mut input = value;
    // Cassandra's UDT messages count only the non-null fields read so far (sic); tuples count every field.
    let mut shown_index = 0;
    for (name, ty) in fields {
        if input.is_empty() {
            return Ok(());
        }
        let what = if is_udt {
            format!("{shown_index}th field {name}")
        } else {
            format!("{shown_index}th component")
        };
        if input.len() < 4 {
            return Err(marshal(format!("Not enough bytes to read size of {what}")));
        }
        let mut peek = input;
        let field = read_element(&mut peek)
            .ok_or_else(|| marshal(format!("Not enough bytes to read {what}")))?;
        input = peek;
        match field {
            None if is_udt => continue,
            None => {}
            Some(bytes) => validate_at(ty, bytes, depth + 1)?,
        }
        shown_index += 1;
    }
    if !input.is_empty() {
        let what = if is_udt { "UDT" } else { "tuple" };
        return Err(marshal(format!(
            "Invalid remaining data after end of {what} value"
        )));
    }
    Ok(())
}

fn validate_native(native: NativeType, value: &[u8]) -> Result<(), TypeError> {
    use NativeType as N;
    let len = value.len();
    let check = |ok: bool, message: String| if ok { Ok(()) } else { Err(marshal(message)) };
    match native {
        N::Ascii => match value.iter().find(|b| **b >= 0x80) {
            Some(b) => Err(marshal(format!("Invalid byte for ascii: {}", *b as i8))),
            None => Ok(()),
        },
        N::Text => check(
            std::str::from_utf8(value).is_ok(),
            "String didn't validate.".into(),
        ),
        N::Bigint | N::Counter => check(
            len == 8 || len == 0,
            format!("Expected 8 or 0 byte long ({len})"),
        ),
        N::Int => check(
            len == 4 || len == 0,
            format!("Expected 4 or 0 byte int ({len})"),
        ),
        N::Smallint => check(len == 2, format!("Expected 2 bytes for a smallint ({len})")),
        N::Tinyint => check(len == 1, format!("Expected 1 byte for a tinyint ({len})")),
        N::Boolean => check(
            len == 1 || len == 0,
            format!("Expected 1 or 0 byte value ({len})"),
        ),
        N::Float => check(
            len == 4 || len == 0,
            format!("Expected 4 or 0 byte value for a float ({len})"),
        ),
        N::Double => check(
            len == 8 || len == 0,
            format!("Expected 8 or 0 byte value for a double ({len})"),
        ),
        N::Timestamp => check(
            len == 8 || len == 0,
            format!("Expected 8 or 0 byte long for date ({len})"),
        ),
        N::Date => check(len == 4, format!("Expected 4 byte long for date ({len})")),
        N::Time => check(len == 8, format!("Expected 8 byte long for time ({len})")),
        N::Uuid => check(
            len == 16 || len == 0,
            format!("UUID should be 16 or 0 bytes ({len})"),
        ),
        N::Timeuuid => {
            check(
                len == 16 || len == 0,
                format!("UUID should be 16 or 0 bytes ({len})"),
            )?;
            check(
                value.get(6).is_none_or(|b| b & 0xF0 == 0x10),
                "Invalid version for TimeUUID type.".into(),
            )
        }
        N::Inet => check(
            matches!(len, 0 | 4 | 16),
            format!(
                "Expected 4 or 16 byte inetaddress; got {}",
                value.iter().map(|b| format!("{b:02x}")).collect::<String>()
            ),
        ),
        N::Decimal => check(
            len == 0 || len >= 4,
            format!("Expected 0 or at least 4 bytes ({len})"),
        ),
        N::Duration => Duration::decode(value).map(|_| ()),
        N::Varint | N::Blob => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::cql_type::NoUdts;
    use crate::types::cql_type::UdtDef;

    fn check(type_text: &str, value: &[u8]) -> Result<(), String> {
        validate(&CqlType::parse(type_text, &NoUdts).unwrap(), value).map_err(|e| e.to_string())
    }

    #[test]
    fn native_sizes_and_contents() {
        let cases: &[(&str, &[u8], Option<&str>)] = &[
            ("int", &[0, 0, 0], Some("Expected 4 or 0 byte int (3)")),
            ("int", &[], None),
            ("bigint", &[1], Some("Expected 8 or 0 byte long (1)")),
            ("counter", &[0; 8], None),
            ("smallint", &[], Some("Expected 2 bytes for a smallint (0)")),
            ("tinyint", &[1, 2], Some("Expected 1 byte for a tinyint (2)")),
            ("boolean", &[1, 1], Some("Expected 1 or 0 byte value (2)")),
            ("float", &[0; 8], Some("Expected 4 or 0 byte value for a float (8)")),
            ("double", &[0; 4], Some("Expected 8 or 0 byte value for a double (4)")),
            ("timestamp", &[0; 4], Some("Expected 8 or 0 byte long for date (4)")),
            ("date", &[0; 8], Some("Expected 4 byte long for date (8)")),
            ("time", &[0; 4], Some("Expected 8 byte long for time (4)")),
            ("uuid", &[0; 15], Some("UUID should be 16 or 0 bytes (15)")),
            ("timeuuid", &[0; 16], Some("Invalid version for TimeUUID type.")),
            ("inet", &[1, 2, 3], Some("Expected 4 or 16 byte inetaddress; got 010203")),
            ("inet", &[0; 16], None),
            ("decimal", &[0, 1], Some("Expected 0 or at least 4 bytes (2)")),
            ("varint", &[0xFF, 0xFF], None),
            ("ascii", &[b'a', 0xC3], Some("Invalid byte for ascii: -61")),
            ("text", &[0xC3, 0x28], Some("String didn't validate.")),
            ("text", "é".as_bytes(), None),
            ("duration", &[0, 0], Some("Expected at least 3 bytes for a duration (2)")),
            ("duration", &[2, 0, 1], Some("The duration months, days and nanoseconds must be all of the same sign (1, 0, -1)")),
        ];
        for (t, value, message) in cases {
            assert_eq!(
                check(t, value),
                message.map(|m| Err(m.to_string())).unwrap_or(Ok(())),
                "{t} {value:?}"
            );
        }
    }

    #[test]
    fn collections_tuples_and_udts() {
        let list = [0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 7];
        assert_eq!(check("list<int>", &list), Ok(()));
        assert_eq!(
            check("list<bigint>", &list),
            Err("Expected 8 or 0 byte long (4)".into())
        );
        assert_eq!(
            check("list<int>", &list[..10]),
            Err("Not enough bytes to read a list".into())
        );
        assert_eq!(
            check("set<int>", &[list.as_slice(), &[0]].concat()),
            Err("Unexpected extraneous bytes after set value".into())
        );
        assert_eq!(check("map<int, int>", &[]), Ok(()));
        assert_eq!(
            check("list<int>", &[0, 0, 0, 1, 0xFF, 0xFF, 0xFF, 0xFF]),
            Err("null is not supported inside collections".into())
        );
        assert_eq!(check("tuple<int, text>", &[0, 0, 0, 4, 0, 0, 0, 7]), Ok(()));
        assert_eq!(
            check("tuple<int, text>", &[0, 0, 0, 4, 0, 0, 0, 7, 0, 0]),
            Err("Not enough bytes to read size of 1th component".into())
        );
        assert_eq!(
            check("tuple<int>", &[0, 0, 0, 4, 0, 0, 0, 7, 0]),
            Err("Invalid remaining data after end of tuple value".into())
        );
        assert_eq!(
            check("tuple<int>", &[0, 0, 0, 9, 0]),
            Err("Not enough bytes to read 0th component".into())
        );
        let udt = CqlType::Udt {
            def: Box::new(UdtDef {
                keyspace: "ks".into(),
                name: "u".into(),
                fields: vec![
                    ("a".into(), CqlType::Native(NativeType::Int)),
                    ("b".into(), CqlType::Native(NativeType::Int)),
                ],
            }),
            frozen: true,
        };
        assert_eq!(
            validate(&udt, &[0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 9]).map_err(|e| e.to_string()),
            Err("Not enough bytes to read 0th field b".into())
        );
        assert_eq!(check("vector<float, 2>", &[0; 8]), Ok(()));
        assert!(check("vector<float, 2>", &[0; 7]).is_err());
        assert!(check("vector<text, 2>", &[1, b'a', 0]).is_ok());
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let mut ty = CqlType::Native(NativeType::Int);
        for _ in 0..100 {
            ty = CqlType::List {
                element: Box::new(ty),
                frozen: true,
            };
        }
        let mut value = 0i32.to_be_bytes().to_vec();
        for _ in 0..100 {
            let mut outer = 1i32.to_be_bytes().to_vec();
            outer.extend((value.len() as i32).to_be_bytes());
            outer.extend(&value);
            value = outer;
        }
        assert!(validate(&ty, &value).is_err());
    }
}
