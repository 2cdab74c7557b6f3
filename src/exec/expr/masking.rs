//! Cassandra 5.0's masking functions (`mask_null`, `mask_default`, `mask_replace`,
//! `mask_inner`, `mask_outer`, `mask_hash`) and the masked value of every type
//! (`AbstractType.getMaskedValue`), which `mask_default` returns.

use md5::Digest;

use crate::error::{CqlError, CqlResult};
use crate::types::{self, CqlType, NativeType};

/// The masking functions.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mask {
    Null,
    Default,
    Replace,
    Inner,
    Outer,
    Hash,
}

impl Mask {
    pub fn from_name(name: &str) -> Option<Mask> {
        Some(match name {
            "mask_null" => Mask::Null,
            "mask_default" => Mask::Default,
            "mask_replace" => Mask::Replace,
            "mask_inner" => Mask::Inner,
            "mask_outer" => Mask::Outer,
            "mask_hash" => Mask::Hash,
            _ => return None,
        })
    }
}

/// The fixed value a masked column of type `ty` shows: `****` for strings, zero for
/// numbers and instants, `false`, an empty blob or collection, the masked value of each
/// component of a tuple, UDT or vector.
pub fn masked_value(ty: &CqlType) -> Vec<u8> {
    use NativeType as N;
    match ty {
        CqlType::Native(n) => match n {
            N::Ascii | N::Text => b"****".to_vec(),
            N::Blob => Vec::new(),
            N::Boolean | N::Tinyint | N::Varint => vec![0],
            N::Smallint => vec![0; 2],
            N::Int | N::Float | N::Inet => vec![0; 4],
            N::Bigint | N::Counter | N::Double | N::Timestamp | N::Time => vec![0; 8],
            // The epoch, 1970-01-01, is day 2^31.
            N::Date => (1u32 << 31).to_be_bytes().to_vec(),
            N::Decimal => vec![0, 0, 0, 0, 0],
            N::Uuid => vec![0; 16],
            N::Timeuuid => types::min_timeuuid(0).to_vec(),
            N::Duration => types::Duration {
                months: 0,
                days: 0,
                nanos: 0,
            }
            .encode(),
        },
        CqlType::List { .. } | CqlType::Set { .. } | CqlType::Map { .. } => vec![0; 4],
        CqlType::Tuple(items) => serialize_components(items.iter()),
        CqlType::Udt { def, .. } => serialize_components(def.fields.iter().map(|(_, t)| t)),
        CqlType::Vector { element, dimension } => {
            let elements = vec![Some(masked_value(element)); *dimension as usize];
            types::serialize_vector(ty, &elements, "").unwrap_or_default()
        }
        CqlType::Custom(_) => Vec::new(),
    }
}

fn serialize_components<'a>(types: impl Iterator<Item = &'a CqlType>) -> Vec<u8> {
    let mut out = Vec::new();
    for ty in types {
        let value = masked_value(ty);
        out.extend_from_slice(&(value.len() as i32).to_be_bytes());
        out.extend_from_slice(&value);
    }
    out
}

/// `mask_inner` keeps the first `begin` and last `end` characters and pads the rest;
/// `mask_outer` pads only those. Characters are Java's (UTF-16 code units).
pub fn partial(value: &str, begin: i32, end: i32, padding: u16, inner: bool) -> String {
    let units: Vec<u16> = value.encode_utf16().collect();
    let size = units.len() as i64;
    let (begin, last) = (i64::from(begin), size - 1 - i64::from(end));
    let masked: Vec<u16> = units
        .iter()
        .enumerate()
        .map(|(i, unit)| {
            let i = i as i64;
            let in_middle = i >= begin && i <= last;
            if in_middle == inner {
                padding
            } else {
                *unit
            }
        })
        .collect();
    String::from_utf16_lossy(&masked)
}

/// The padding argument of `mask_inner`/`mask_outer`: one character (`*` if null).
pub fn padding(name: &str, value: Option<&[u8]>) -> CqlResult<u16> {
    let Some(bytes) = value else {
        return Ok(u16::from(b'*'));
    };
    let text = String::from_utf8_lossy(bytes);
    let units: Vec<u16> = text.encode_utf16().collect();
    match units.as_slice() {
        [one] => Ok(*one),
        _ => Err(CqlError::invalid(format!(
            "The padding argument for function system.{name} should be single-character, but '{text}' has {} characters.",
            units.len()
        ))),
    }
}

/// `mask_hash`: the digest of the value's bytes by a Java algorithm name (SHA-256 when
/// absent).
pub fn hash(value: &[u8], algorithm: Option<&[u8]>) -> CqlResult<Vec<u8>> {
    let name = algorithm.map_or_else(
        || "SHA-256".to_string(),
        |a| String::from_utf8_lossy(a).into_owned(),
    );
    Ok(match name.to_ascii_uppercase().as_str() {
        "MD5" => md5::Md5::digest(value).to_vec(),
        "SHA-224" => sha2::Sha224::digest(value).to_vec(),
        "SHA-256" => sha2::Sha256::digest(value).to_vec(),
        "SHA-384" => sha2::Sha384::digest(value).to_vec(),
        "SHA-512" => sha2::Sha512::digest(value).to_vec(),
        "SHA-512/224" => sha2::Sha512_224::digest(value).to_vec(),
        "SHA-512/256" => sha2::Sha512_256::digest(value).to_vec(),
        _ => {
            return Err(CqlError::invalid(format!(
                "Hash algorithm not found: {name}"
            )))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_masks_like_cassandra() {
        let star = u16::from(b'*');
        assert_eq!(partial("abcde", 0, 1, star, true), "****e");
        assert_eq!(partial("abcde", 0, 1, star, false), "abcd*");
        assert_eq!(partial("abcde", 2, 2, star, true), "ab*de");
        assert_eq!(partial("abcde", 6, 0, star, false), "*****");
        assert_eq!(partial("á#íòü", 1, 1, star, true), "á***ü");
        assert_eq!(partial("", 9, 9, star, true), "");
    }

    #[test]
    fn padding_must_be_one_character() {
        assert_eq!(padding("mask_inner", Some("é".as_bytes())).ok(), Some(0xE9));
        let error = padding("mask_inner", Some(b"too_long")).expect_err("rejected");
        assert!(error.to_string().contains("'too_long' has 8 characters"));
    }

    #[test]
    fn masked_values_decode_as_their_type() {
        for ty in [
            "int",
            "text",
            "decimal",
            "date",
            "duration",
            "frozen<tuple<int, text>>",
            "vector<text, 2>",
        ] {
            let ty = CqlType::parse(ty, &types::NoUdts).expect("type");
            assert!(types::validate(&ty, &masked_value(&ty)).is_ok(), "{ty}");
        }
    }
}
