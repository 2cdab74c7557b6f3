//! Reading serialized collection values (protocol v3+ form: `[int n]` then each element
//! as `[int length][bytes]`), for `IN ?` lists, CONTAINS and map-entry filters.

use std::cmp::Ordering;

use crate::error::{CqlError, CqlResult};
use crate::types::{compare_values, CqlType};

/// The elements of a serialized list or set, or the keys and values of a map in order
/// (k1, v1, k2, v2, ...).
pub fn elements(bytes: &[u8]) -> CqlResult<Vec<Vec<u8>>> {
    let invalid = || CqlError::invalid("Invalid collection value");
    let mut rest = bytes;
    let take_int = |rest: &mut &[u8]| -> CqlResult<i32> {
        let (head, tail) = rest.split_first_chunk::<4>().ok_or_else(invalid)?;
        *rest = tail;
        Ok(i32::from_be_bytes(*head))
    };
    let count = take_int(&mut rest)?;
    // Each element needs at least its 4-byte length, which bounds the allocation.
    if count < 0 || count as usize > rest.len() / 4 + 1 {
        return Err(invalid());
    }
    let mut out = Vec::with_capacity(count as usize);
    while !rest.is_empty() {
        let len = take_int(&mut rest)?;
        let len = usize::try_from(len).map_err(|_| invalid())?;
        let (element, tail) = rest.split_at_checked(len).ok_or_else(invalid)?;
        out.push(element.to_vec());
        rest = tail;
    }
    Ok(out)
}

/// A serialized list or set of the given elements, in order.
pub fn serialize(items: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + items.iter().map(|i| 4 + i.len()).sum::<usize>());
    out.extend_from_slice(&(items.len() as i32).to_be_bytes());
    for item in items {
        out.extend_from_slice(&(item.len() as i32).to_be_bytes());
        out.extend_from_slice(item);
    }
    out
}

/// `CONTAINS` / `CONTAINS KEY` on a serialized collection of type `ty`.
pub fn contains(ty: &CqlType, collection: &[u8], operand: &[u8], key: bool) -> bool {
    let Ok(items) = elements(collection) else {
        return false;
    };
    let equal = |element_ty: &CqlType, v: &Vec<u8>| {
        compare_values(element_ty, v, operand) == Ordering::Equal
    };
    match ty {
        CqlType::List { element, .. } | CqlType::Set { element, .. } if !key => {
            items.iter().any(|v| equal(element, v))
        }
        CqlType::Map { key: k, value, .. } => {
            let (wanted_ty, offset) = if key {
                (k.as_ref(), 0)
            } else {
                (value.as_ref(), 1)
            };
            items
                .iter()
                .skip(offset)
                .step_by(2)
                .any(|v| equal(wanted_ty, v))
        }
        _ => false,
    }
}

/// The value of `key` in a serialized map of type `ty` (`m[k] = v` filters).
pub fn map_get(ty: &CqlType, map: &[u8], key: &[u8]) -> Option<Vec<u8>> {
    let CqlType::Map { key: key_ty, .. } = ty else {
        return None;
    };
    let items = elements(map).ok()?;
    items.chunks(2).find_map(|pair| match pair {
        [k, v] if compare_values(key_ty, k, key) == Ordering::Equal => Some(v.clone()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::NativeType;

    fn list(items: &[&[u8]]) -> Vec<u8> {
        let mut out = (items.len() as i32).to_be_bytes().to_vec();
        for item in items {
            out.extend_from_slice(&(item.len() as i32).to_be_bytes());
            out.extend_from_slice(item);
        }
        out
    }

    #[test]
    fn reads_elements_and_rejects_garbage() {
        assert_eq!(
            elements(&list(&[b"a", b"bc"])).expect("ok"),
            vec![b"a".to_vec(), b"bc".to_vec()]
        );
        assert!(elements(&[0, 0, 0, 9, 0, 0, 0, 5, 1]).is_err());
        assert!(elements(&[0xff, 0xff, 0xff, 0xff]).is_err());
    }

    #[test]
    fn map_contains_key_and_value() {
        let text = CqlType::Native(NativeType::Text);
        let ty = CqlType::Map {
            key: Box::new(text.clone()),
            value: Box::new(text),
            frozen: false,
        };
        let m = list(&[b"k", b"v"]);
        let m = [&2i32.to_be_bytes()[..], &m[4..]].concat();
        let m = [&1i32.to_be_bytes()[..], &m[4..]].concat();
        assert!(contains(&ty, &m, b"k", true));
        assert!(contains(&ty, &m, b"v", false));
        assert!(!contains(&ty, &m, b"v", true));
    }
}
