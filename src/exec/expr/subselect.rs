//! Selecting part of a value: a UDT field (`u.f`), a map value or set element (`m[k]`),
//! a map or set slice (`s[a..b]`), as SELECT selectors and LWT conditions use them.
//!
//! Invariant: works on serialized values of any provenance (frozen values, reassembled
//! multi-cell columns), never panics on malformed bytes: a value that does not parse
//! selects nothing.

use std::cmp::Ordering;

use super::collections::elements;
use super::eval::{evaluate, BoundValues, Receiver};
use crate::cql::ast::Term;
use crate::error::{CqlError, CqlResult};
use crate::storage::CellData;
use crate::types::{compare_values, CqlType};

/// Which part of a value to select.
#[derive(Clone, Debug, PartialEq)]
pub enum Access {
    /// Field number `n` of a UDT.
    Field(usize),
    /// The value under a map key, or a set element if present (`None`: a bind marker
    /// not bound yet, as when preparing).
    Element(Option<Vec<u8>>),
    /// Map entries or set elements between inclusive bounds (`None` = unbounded).
    Slice {
        from: Option<Vec<u8>>,
        to: Option<Vec<u8>>,
    },
}

/// `selector.field` on a value of type `ty`: the access and the field's type.
pub fn field(ty: &CqlType, shown: &str, field: &str) -> CqlResult<(Access, CqlType)> {
    let CqlType::Udt { def, .. } = ty else {
        return Err(CqlError::invalid(format!(
            "Invalid field selection: {shown} of type {ty} is not a user type"
        )));
    };
    let (position, (_, ty)) = def
        .fields
        .iter()
        .enumerate()
        .find(|(_, (n, _))| n == field)
        .ok_or_else(|| {
            CqlError::invalid(format!(
                "{} has no field {field}",
                crate::types::maybe_quote_identifier(&def.name)
            ))
        })?;
    Ok((Access::Field(position), ty.clone()))
}

/// The type of the keys an element or slice selection is written with, and the type of
/// what an element selection returns.
fn key_and_element(ty: &CqlType, shown: &str, what: &str) -> CqlResult<(CqlType, CqlType)> {
    match ty {
        CqlType::Map { key, value, .. } => Ok((key.as_ref().clone(), value.as_ref().clone())),
        CqlType::Set { element, .. } => Ok((element.as_ref().clone(), element.as_ref().clone())),
        _ => Err(CqlError::invalid(format!(
            "{what} selection is only allowed on sets and maps, but {shown} is a {}",
            kind_name(ty)
        ))),
    }
}

fn kind_name(ty: &CqlType) -> &'static str {
    match ty {
        CqlType::List { .. } => "list",
        CqlType::Udt { .. } => "user type",
        CqlType::Tuple(_) => "tuple",
        _ => "non-collection type",
    }
}

fn key_value(
    term: &Term,
    key_ty: &CqlType,
    shown: &str,
    bound: Option<&BoundValues>,
) -> CqlResult<Option<Vec<u8>>> {
    let Some(bound) = bound else { return Ok(None) };
    Ok(evaluate(
        term,
        &Receiver {
            name: shown,
            ty: key_ty,
        },
        bound,
    )?
    .into_option())
}

/// `selector[key]`: the access and the type selected.
pub fn element(
    ty: &CqlType,
    shown: &str,
    key: &Term,
    bound: Option<&BoundValues>,
) -> CqlResult<(Access, CqlType)> {
    let (key_ty, element_ty) = key_and_element(ty, shown, "Element")?;
    Ok((
        Access::Element(key_value(key, &key_ty, shown, bound)?),
        element_ty,
    ))
}

/// `selector[from..to]`: the access; a slice has the collection's own type.
pub fn slice(
    ty: &CqlType,
    shown: &str,
    from: Option<&Term>,
    to: Option<&Term>,
    bound: Option<&BoundValues>,
) -> CqlResult<Access> {
    let (key_ty, _) = key_and_element(ty, shown, "Slice")?;
    let bound_value = |t: Option<&Term>| {
        t.map(|t| key_value(t, &key_ty, shown, bound))
            .transpose()
            .map(Option::flatten)
    };
    Ok(Access::Slice {
        from: bound_value(from)?,
        to: bound_value(to)?,
    })
}

/// Applies `access` to a serialized value of type `ty`.
pub fn apply(access: &Access, ty: &CqlType, value: &[u8]) -> Option<Vec<u8>> {
    match (access, ty) {
        (Access::Field(i), _) => udt_field(value, *i),
        (Access::Element(key), CqlType::Map { key: kty, .. }) => {
            let key = key.as_deref()?;
            let items = elements(value).ok()?;
            items
                .chunks(2)
                .find(|pair| {
                    pair.first()
                        .is_some_and(|k| compare_values(kty, k, key) == Ordering::Equal)
                })?
                .get(1)
                .cloned()
        }
        (Access::Element(key), CqlType::Set { element, .. }) => {
            let key = key.as_deref()?;
            elements(value)
                .ok()?
                .into_iter()
                .find(|e| compare_values(element, e, key) == Ordering::Equal)
        }
        (
            Access::Slice { from, to },
            CqlType::Map { key: kty, .. } | CqlType::Set { element: kty, .. },
        ) => {
            let per_entry = if matches!(ty, CqlType::Map { .. }) {
                2
            } else {
                1
            };
            let items = elements(value).ok()?;
            let inside = |k: &[u8]| {
                from.as_deref()
                    .is_none_or(|f| compare_values(kty, k, f) != Ordering::Less)
                    && to
                        .as_deref()
                        .is_none_or(|t| compare_values(kty, k, t) != Ordering::Greater)
            };
            let kept: Vec<&[Vec<u8>]> = items
                .chunks(per_entry)
                .filter(|entry| entry.first().is_some_and(|k| inside(k)))
                .collect();
            let mut out = (kept.len() as i32).to_be_bytes().to_vec();
            for part in kept.iter().flat_map(|entry| entry.iter()) {
                out.extend_from_slice(&(part.len() as i32).to_be_bytes());
                out.extend_from_slice(part);
            }
            Some(out)
        }
        _ => None,
    }
}

/// `writetime()` (or, with `ttl`, `ttl()`) of a multi-cell column of type `ty`, as
/// Cassandra 5.0 returns it: a list with one entry per element, or per field of a UDT
/// (null for an absent field, or for a piece without TTL).
pub fn piece_times(ty: &CqlType, cell: &CellData, ttl: bool, now_secs: i64) -> Option<Vec<u8>> {
    let entry = |(timestamp, expires_at): (i64, i64)| -> Option<Vec<u8>> {
        if !ttl {
            return Some(timestamp.to_be_bytes().to_vec());
        }
        (expires_at > 0).then(|| {
            ((expires_at - now_secs).max(0) as i32)
                .to_be_bytes()
                .to_vec()
        })
    };
    let entries: Vec<Option<Vec<u8>>> = match ty {
        CqlType::Udt { def, .. } => (0..def.fields.len())
            .map(|field| {
                let position = cell.paths.iter().position(|p| {
                    p.first_chunk::<2>()
                        .is_some_and(|b| usize::from(u16::from_be_bytes(*b)) == field)
                })?;
                entry(*cell.piece_times.get(position)?)
            })
            .collect(),
        _ => cell.piece_times.iter().map(|t| entry(*t)).collect(),
    };
    if entries.is_empty() {
        return None;
    }
    let mut out = (entries.len() as i32).to_be_bytes().to_vec();
    for item in entries {
        match item {
            Some(bytes) => {
                out.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
                out.extend_from_slice(&bytes);
            }
            None => out.extend_from_slice(&(-1i32).to_be_bytes()),
        }
    }
    Some(out)
}

/// Field number `wanted` of a serialized UDT (`None`: null or absent).
pub fn udt_field(value: &[u8], wanted: usize) -> Option<Vec<u8>> {
    let mut rest = value;
    for index in 0..=wanted {
        let len = i32::from_be_bytes(rest.get(..4)?.try_into().ok()?);
        rest = rest.get(4..)?;
        let field = if len >= 0 {
            Some(rest.get(..len as usize)?.to_vec())
        } else {
            None
        };
        rest = rest.get(len.max(0) as usize..)?;
        if index == wanted {
            return field;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{serialize_map, serialize_set, NativeType};

    fn int(v: i32) -> Vec<u8> {
        v.to_be_bytes().to_vec()
    }

    #[test]
    fn map_elements_and_slices() {
        let int_ty = CqlType::Native(NativeType::Int);
        let ty = CqlType::Map {
            key: Box::new(int_ty.clone()),
            value: Box::new(int_ty.clone()),
            frozen: false,
        };
        let value = serialize_map(
            &int_ty,
            &[
                (Some(int(1)), Some(int(10))),
                (Some(int(2)), Some(int(20))),
                (Some(int(3)), Some(int(30))),
            ],
        )
        .expect("map");
        assert_eq!(
            apply(&Access::Element(Some(int(2))), &ty, &value),
            Some(int(20))
        );
        assert_eq!(apply(&Access::Element(Some(int(9))), &ty, &value), None);
        let slice = apply(
            &Access::Slice {
                from: Some(int(2)),
                to: None,
            },
            &ty,
            &value,
        )
        .expect("slice");
        let expected = serialize_map(
            &int_ty,
            &[(Some(int(2)), Some(int(20))), (Some(int(3)), Some(int(30)))],
        )
        .expect("map");
        assert_eq!(slice, expected);
    }

    #[test]
    fn set_slices_keep_bounds_inclusive() {
        let int_ty = CqlType::Native(NativeType::Int);
        let ty = CqlType::Set {
            element: Box::new(int_ty.clone()),
            frozen: true,
        };
        let value =
            serialize_set(&int_ty, &[Some(int(1)), Some(int(5)), Some(int(9))]).expect("set");
        let slice = apply(
            &Access::Slice {
                from: Some(int(1)),
                to: Some(int(5)),
            },
            &ty,
            &value,
        )
        .expect("slice");
        assert_eq!(
            slice,
            serialize_set(&int_ty, &[Some(int(1)), Some(int(5))]).expect("set")
        );
        assert!(apply(&Access::Element(Some(int(1))), &ty, b"garbage").is_none());
    }

    #[test]
    fn piece_times_list_each_element_and_pad_udt_fields() {
        let cell = CellData {
            paths: vec![vec![0, 1]],
            piece_times: vec![(7, 0)],
            ..CellData::default()
        };
        let udt = CqlType::Udt {
            def: Box::new(crate::types::UdtDef {
                keyspace: "ks".into(),
                name: "u".into(),
                fields: vec![
                    ("a".into(), CqlType::Native(NativeType::Int)),
                    ("b".into(), CqlType::Native(NativeType::Int)),
                ],
            }),
            frozen: false,
        };
        let mut expected = 2i32.to_be_bytes().to_vec();
        expected.extend_from_slice(&(-1i32).to_be_bytes());
        expected.extend_from_slice(&8i32.to_be_bytes());
        expected.extend_from_slice(&7i64.to_be_bytes());
        assert_eq!(piece_times(&udt, &cell, false, 0), Some(expected));
        let list = CqlType::List {
            element: Box::new(CqlType::Native(NativeType::Int)),
            frozen: false,
        };
        let ttl = piece_times(
            &list,
            &CellData {
                piece_times: vec![(1, 0), (1, 15)],
                ..CellData::default()
            },
            true,
            10,
        )
        .expect("ttl");
        assert_eq!(
            ttl,
            [
                &2i32.to_be_bytes()[..],
                &(-1i32).to_be_bytes(),
                &4i32.to_be_bytes(),
                &5i32.to_be_bytes()
            ]
            .concat()
        );
        assert_eq!(piece_times(&list, &CellData::default(), false, 0), None);
    }

    #[test]
    fn udt_fields_are_found_by_position() {
        let mut value = 1i32.to_be_bytes().to_vec();
        value.push(7);
        value.extend_from_slice(&(-1i32).to_be_bytes());
        value.extend_from_slice(&1i32.to_be_bytes());
        value.push(9);
        assert_eq!(udt_field(&value, 0), Some(vec![7]));
        assert_eq!(udt_field(&value, 1), None);
        assert_eq!(udt_field(&value, 2), Some(vec![9]));
        assert_eq!(udt_field(&value, 3), None);
    }
}
