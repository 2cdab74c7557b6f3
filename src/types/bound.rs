//! Bound values in the form Cassandra stores them. A driver may send a set's elements in any
//! order and with duplicates, and a map's entries in any order; Cassandra re-serializes a bound
//! collection (`Sets.Value.fromSerialized`, `Maps.Value.fromSerialized`, and the collection
//! serializers for nested collections), so that a frozen set or map reads back, compares and
//! hashes exactly like the same value written as a literal. Tuples and UDTs are kept as sent,
//! as in Cassandra.

use super::codec::{split_collection, split_map, CollectionKind};
use super::cql_type::CqlType;
use super::error::{invalid, TypeError};
use super::literal::{serialize_list, serialize_map, serialize_set, CqlValue};

/// `value` (already validated against `ty`) as Cassandra stores it: sets sorted by the element
/// type's order without duplicates, maps sorted by key with the last duplicate winning, and so
/// on through collections nested in collections.
pub fn canonical_bound_value(ty: &CqlType, value: &[u8]) -> Result<Vec<u8>, TypeError> {
    match ty {
        CqlType::List { element, .. } => {
            serialize_list(&canonical_elements(element, value, CollectionKind::List)?)
        }
        // An empty byte string is the legacy empty set or map: nothing to sort.
        CqlType::Set { element, .. } if !value.is_empty() => serialize_set(
            element,
            &canonical_elements(element, value, CollectionKind::Set)?,
        ),
        CqlType::Map {
            key,
            value: value_type,
            ..
        } if !value.is_empty() => {
            let entries = split_map(value)?
                .into_iter()
                .map(|(k, v)| {
                    Ok((
                        canonical_element(key, k)?,
                        canonical_element(value_type, v)?,
                    ))
                })
                .collect::<Result<Vec<_>, TypeError>>()?;
            serialize_map(key, &entries)
        }
        _ => Ok(value.to_vec()),
    }
}

fn canonical_elements(
    element: &CqlType,
    value: &[u8],
    kind: CollectionKind,
) -> Result<Vec<CqlValue>, TypeError> {
    split_collection(value, kind)?
        .into_iter()
        .map(|e| canonical_element(element, e))
        .collect()
}

fn canonical_element(ty: &CqlType, element: Option<&[u8]>) -> Result<CqlValue, TypeError> {
    let element = element.ok_or_else(|| invalid("null is not supported inside collections"))?;
    canonical_bound_value(ty, element).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::codec::{pack_collection, write_element};
    use crate::types::NoUdts;

    fn ty(text: &str) -> CqlType {
        CqlType::parse(text, &NoUdts).unwrap()
    }

    /// A serialized list or set of `elements`, in the order given.
    fn collection(elements: &[&[u8]]) -> Vec<u8> {
        pack_collection(elements.len(), elements.iter().map(|e| Some(*e)))
    }

    /// A serialized map of `entries`, in the order given.
    fn map(entries: &[(&[u8], &[u8])]) -> Vec<u8> {
        let elements = entries.iter().flat_map(|(k, v)| [Some(*k), Some(*v)]);
        pack_collection(entries.len(), elements)
    }

    fn int(v: i32) -> Vec<u8> {
        v.to_be_bytes().to_vec()
    }

    #[test]
    fn a_bound_set_is_sorted_and_deduplicated_like_its_literal() {
        let bound = collection(&[&int(5), &int(-1), &int(5)]);
        let stored = canonical_bound_value(&ty("frozen<set<int>>"), &bound).unwrap();
        assert_eq!(stored, collection(&[&int(-1), &int(5)]));
    }

    #[test]
    fn a_bound_map_is_sorted_by_key_and_the_last_duplicate_wins() {
        let bound = map(&[(b"y", &int(1)), (b"x", &int(2)), (b"y", &int(3))]);
        let stored = canonical_bound_value(&ty("frozen<map<text, int>>"), &bound).unwrap();
        assert_eq!(stored, map(&[(b"x", &int(2)), (b"y", &int(3))]));
    }

    #[test]
    fn collections_nested_in_collections_are_sorted_too() {
        let inner_unsorted = collection(&[&int(2), &int(1)]);
        let inner_sorted = collection(&[&int(1), &int(2)]);
        let bound = collection(&[&inner_unsorted, &collection(&[])]);
        let stored = canonical_bound_value(&ty("list<frozen<set<int>>>"), &bound).unwrap();
        assert_eq!(stored, collection(&[&inner_sorted, &collection(&[])]));

        let bound = map(&[(b"k", &inner_unsorted)]);
        let stored = canonical_bound_value(&ty("map<text, frozen<set<int>>>"), &bound).unwrap();
        assert_eq!(stored, map(&[(b"k", &inner_sorted)]));
    }

    #[test]
    fn lists_tuples_and_scalars_keep_their_order() {
        let list = collection(&[&int(3), &int(1), &int(3)]);
        assert_eq!(
            canonical_bound_value(&ty("list<int>"), &list).unwrap(),
            list
        );
        // Cassandra keeps a bound tuple's (or UDT's) bytes as sent, sets inside included.
        let set = collection(&[&int(2), &int(1)]);
        let mut tuple = Vec::new();
        write_element(&mut tuple, Some(&set));
        let tuple_type = ty("tuple<frozen<set<int>>>");
        assert_eq!(canonical_bound_value(&tuple_type, &tuple).unwrap(), tuple);
        assert_eq!(canonical_bound_value(&ty("int"), &int(7)).unwrap(), int(7));
        assert!(canonical_bound_value(&ty("set<int>"), &[])
            .unwrap()
            .is_empty());
    }
}
