//! What a write does to one column, and how that becomes storage operations: simple
//! cells, multi-cell columns (non-frozen collections and UDTs: one engine cell per
//! element or field, see `storage::layout`) and counters.
//!
//! Invariants:
//! - A whole-value write of a multi-cell column deletes the old pieces at the statement's
//!   timestamp - 1 and writes the new ones at the timestamp, as Cassandra does, so the
//!   statement never deletes its own pieces.
//! - Only list index operations and list value removal need the current value (Cassandra
//!   reads before writing for exactly these).

use crate::cql::ast::{Assignment, Deletion, Term};
use crate::error::{CqlError, CqlResult};
use crate::exec::expr::collections::elements;
use crate::exec::expr::eval::{evaluate, BoundValues, Evaluated, Receiver};
use crate::schema::Table;
use crate::storage::layout::{list_path, SubCell};
use crate::storage::{CellData, Operation};
use crate::types::{encode_key_component, CqlType, NativeType};

/// One piece of a multi-cell column; `value = None` deletes the piece.
#[derive(Clone, Debug, PartialEq)]
pub struct Piece {
    pub kind: SubCell,
    pub path: Vec<u8>,
    pub value: Option<Vec<u8>>,
}

/// What a statement does to one column of each row it touches.
#[derive(Clone, Debug, PartialEq)]
pub enum ColumnChange {
    /// A simple cell; `None` writes a cell tombstone.
    Simple(Option<Vec<u8>>),
    /// Replaces a multi-cell column's whole value (no pieces = null or empty).
    Replace(Vec<Piece>),
    /// Deletes a whole multi-cell column or counter (`DELETE c`).
    Delete,
    /// Writes or deletes some pieces and keeps the others.
    Pieces(Vec<Piece>),
    /// Adds to a counter.
    Counter(i64),
    /// `l[i] = v` (`Some`) or `DELETE l[i]` (`None`): needs the current list.
    ListIndex { index: i32, value: Option<Vec<u8>> },
    /// `l = l - [..]`: removes every element equal to one of these; needs the current list.
    ListDiscard(Vec<Vec<u8>>),
}

impl ColumnChange {
    pub fn needs_current_value(&self) -> bool {
        matches!(
            self,
            ColumnChange::ListIndex { .. } | ColumnChange::ListDiscard(_)
        )
    }

    pub fn is_counter(&self) -> bool {
        matches!(self, ColumnChange::Counter(_))
    }

    /// The storage operations for one row (`clustering = None`: the static row).
    /// `current` is the column's current value, read when `needs_current_value`.
    pub fn operations(
        &self,
        clustering: Option<Vec<u8>>,
        column: &str,
        timestamp: i64,
        current: Option<&CellData>,
    ) -> CqlResult<Vec<Operation>> {
        let column_name = column.to_string();
        let sub = |piece: &Piece| Operation::SubCell {
            clustering: clustering.clone(),
            column: column_name.clone(),
            kind: piece.kind,
            path: piece.path.clone(),
            value: piece.value.clone(),
        };
        let deletion = |timestamp: i64| Operation::ComplexDeletion {
            clustering: clustering.clone(),
            column: column_name.clone(),
            timestamp,
        };
        Ok(match self {
            ColumnChange::Simple(value) => vec![Operation::Cell {
                clustering: clustering.clone(),
                column: column_name.clone(),
                value: value.clone(),
            }],
            ColumnChange::Replace(pieces) => std::iter::once(deletion(timestamp.saturating_sub(1)))
                .chain(pieces.iter().map(sub))
                .collect(),
            ColumnChange::Delete => vec![deletion(timestamp)],
            ColumnChange::Pieces(pieces) => pieces.iter().map(sub).collect(),
            ColumnChange::Counter(delta) => vec![Operation::CounterAdd {
                clustering: clustering.clone(),
                column: column_name.clone(),
                delta: *delta,
            }],
            ColumnChange::ListIndex { index, value } => {
                let path = list_index_path(current, *index, value.is_some())?;
                vec![sub(&Piece {
                    kind: SubCell::Element,
                    path,
                    value: value.as_deref().map(sized),
                })]
            }
            ColumnChange::ListDiscard(values) => list_discard_pieces(current, values)?
                .iter()
                .map(sub)
                .collect(),
        })
    }
}

/// `[int length][bytes]`: the stored form of one element (see `storage::read`, which
/// concatenates stored elements behind a count to rebuild the collection).
fn sized(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + value.len());
    out.extend_from_slice(&(value.len() as i32).to_be_bytes());
    out.extend_from_slice(value);
    out
}

fn key_path(ty: &CqlType, value: &[u8]) -> CqlResult<Vec<u8>> {
    let mut out = Vec::new();
    encode_key_component(ty, value, false, &mut out)?;
    Ok(out)
}

/// A fresh list element path: the time-ordered key of `layout::list_path` followed by
/// this process's random node id, so two coordinators appending in the same
/// microsecond never produce the same path (Cassandra's timeuuids carry a node id too).
fn list_element_path(prepend: bool) -> Vec<u8> {
    static NODE: std::sync::OnceLock<[u8; 8]> = std::sync::OnceLock::new();
    let node = NODE.get_or_init(|| uuid::Uuid::new_v4().as_u64_pair().0.to_be_bytes());
    let mut path = list_path(crate::clock::next_micros(), prepend);
    path.extend_from_slice(node);
    path
}

/// The pieces of a whole serialized value of multi-cell type `ty`. List elements get
/// fresh ordering keys, after every existing element or (`prepend`) before them.
pub fn pieces_of(ty: &CqlType, value: &[u8], prepend: bool) -> CqlResult<Vec<Piece>> {
    let element = |path: Vec<u8>, stored: Vec<u8>| Piece {
        kind: SubCell::Element,
        path,
        value: Some(stored),
    };
    match ty {
        CqlType::List { .. } => {
            let items = elements(value)?;
            // Prepending [a, b] must leave a before b: later prepend keys sort first.
            let keyed: Vec<Piece> = if prepend {
                let mut out: Vec<Piece> = items
                    .iter()
                    .rev()
                    .map(|v| element(list_element_path(true), sized(v)))
                    .collect();
                out.reverse();
                out
            } else {
                items
                    .iter()
                    .map(|v| element(list_element_path(false), sized(v)))
                    .collect()
            };
            Ok(keyed)
        }
        CqlType::Set { element: ety, .. } => elements(value)?
            .iter()
            .map(|v| Ok(element(key_path(ety, v)?, sized(v))))
            .collect(),
        CqlType::Map { key, .. } => {
            let items = elements(value)?;
            items
                .chunks(2)
                .map(|pair| match pair {
                    [k, v] => Ok(element(key_path(key, k)?, [sized(k), sized(v)].concat())),
                    _ => Err(CqlError::invalid("Invalid map value")),
                })
                .collect()
        }
        CqlType::Udt { def, .. } => udt_fields(value, def.fields.len()),
        _ => Err(CqlError::invalid(format!("{ty} is not a multi-cell type"))),
    }
}

/// Field pieces of a serialized UDT value: `[int length][bytes]` per field, `-1` = null.
fn udt_fields(value: &[u8], field_count: usize) -> CqlResult<Vec<Piece>> {
    let invalid = || CqlError::invalid("Invalid UDT value");
    let mut rest = value;
    let mut pieces = Vec::new();
    let mut index: u16 = 0;
    while !rest.is_empty() {
        if usize::from(index) >= field_count {
            return Err(invalid());
        }
        let len = i32::from_be_bytes(
            rest.get(..4)
                .ok_or_else(invalid)?
                .try_into()
                .map_err(|_| invalid())?,
        );
        rest = rest.get(4..).ok_or_else(invalid)?;
        if len >= 0 {
            let field = rest.get(..len as usize).ok_or_else(invalid)?;
            pieces.push(Piece {
                kind: SubCell::UdtField,
                path: index.to_be_bytes().to_vec(),
                value: Some(sized(field)),
            });
            rest = rest.get(len as usize..).ok_or_else(invalid)?;
        }
        index += 1;
    }
    Ok(pieces)
}

/// Tombstones for the elements (sets) or keys (maps) listed in a serialized set.
fn removal_pieces(ty: &CqlType, removed: &[u8]) -> CqlResult<Vec<Piece>> {
    let path_type = match ty {
        CqlType::Set { element, .. } => element,
        CqlType::Map { key, .. } => key,
        _ => return Err(CqlError::invalid(format!("{ty} has no removable keys"))),
    };
    elements(removed)?
        .iter()
        .map(|v| {
            Ok(Piece {
                kind: SubCell::Element,
                path: key_path(path_type, v)?,
                value: None,
            })
        })
        .collect()
}

fn list_index_path(current: Option<&CellData>, index: i32, setting: bool) -> CqlResult<Vec<u8>> {
    let Some(list) = current else {
        return Err(CqlError::invalid(if setting {
            "Attempted to set an element on a list which is null"
        } else {
            "Attempted to delete an element from a list which is null"
        }));
    };
    usize::try_from(index)
        .ok()
        .and_then(|i| list.paths.get(i))
        .cloned()
        .ok_or_else(|| {
            CqlError::invalid(format!(
                "List index {index} out of bound, list has size {}",
                list.paths.len()
            ))
        })
}

fn list_discard_pieces(current: Option<&CellData>, values: &[Vec<u8>]) -> CqlResult<Vec<Piece>> {
    let Some(list) = current else {
        return Ok(Vec::new());
    };
    let items = elements(&list.value)?;
    Ok(list
        .paths
        .iter()
        .zip(items)
        .filter(|(_, item)| values.contains(item))
        .map(|(path, _)| Piece {
            kind: SubCell::Element,
            path: path.clone(),
            value: None,
        })
        .collect())
}

/// A column's change for an INSERT value or `SET c = value`.
pub fn whole_value_change(ty: &CqlType, value: Evaluated) -> CqlResult<Option<ColumnChange>> {
    Ok(match value {
        Evaluated::Unset => None,
        value if ty.is_multi_cell() => Some(ColumnChange::Replace(match value.into_option() {
            Some(v) => pieces_of(ty, &v, false)?,
            None => Vec::new(),
        })),
        value => Some(ColumnChange::Simple(value.into_option())),
    })
}

/// The column an assignment writes and what it does to it (`None`: an unset value).
pub fn assignment_change(
    table: &Table,
    index: usize,
    assignment: &Assignment,
    bound: &BoundValues,
) -> CqlResult<Option<ColumnChange>> {
    let (column, ty) = table.column(index)?;
    let name = column.name.as_str();
    let receiver = Receiver { name, ty };
    let invalid = |what: &str| {
        CqlError::invalid(format!(
            "Invalid operation ({assignment}) for {what} column {name}"
        ))
    };
    match assignment {
        Assignment::Set { value, .. } => {
            if ty.is_counter() {
                return Err(CqlError::invalid(format!(
                    "Cannot set the value of counter column {name} (counters can only be incremented/decremented, not set)"
                )));
            }
            whole_value_change(ty, evaluate(value, &receiver, bound)?)
        }
        Assignment::Add { value, .. } | Assignment::Subtract { value, .. } => {
            let subtract = matches!(assignment, Assignment::Subtract { .. });
            if ty.is_counter() {
                return counter_change(value, &receiver, bound, subtract);
            }
            if !ty.is_collection() {
                return Err(invalid("non counter"));
            }
            if !ty.is_multi_cell() {
                return Err(invalid("frozen collection"));
            }
            collection_change(ty, value, &receiver, bound, subtract)
        }
        Assignment::Prepend { value, .. } => match ty {
            CqlType::List { frozen: false, .. } => Ok(evaluate(value, &receiver, bound)?
                .into_option()
                .map(|v| pieces_of(ty, &v, true))
                .transpose()?
                .map(ColumnChange::Pieces)),
            CqlType::List { .. } => Err(invalid("frozen collection")),
            _ => Err(invalid("non list")),
        },
        Assignment::SetElement { key, value, .. } => {
            element_change(ty, key, Some(value), &receiver, bound).map_err(|e| match e {
                ElementError::Kind(what) => invalid(what),
                ElementError::Cql(e) => e,
            })
        }
        Assignment::SetField { field, value, .. } => {
            let (field_index, field_ty) = udt_field(ty, field).ok_or_else(|| match ty {
                CqlType::Udt { frozen: true, .. } => invalid("frozen UDT"),
                CqlType::Udt { .. } => CqlError::invalid(format!(
                    "UDT column {name} does not have a field named {field}"
                )),
                _ => invalid("non-UDT"),
            })?;
            let field_receiver = Receiver { name, ty: field_ty };
            Ok(match evaluate(value, &field_receiver, bound)? {
                Evaluated::Unset => None,
                v => Some(ColumnChange::Pieces(vec![field_piece(
                    field_index,
                    v.into_option(),
                )])),
            })
        }
    }
}

fn field_piece(index: u16, value: Option<Vec<u8>>) -> Piece {
    Piece {
        kind: SubCell::UdtField,
        path: index.to_be_bytes().to_vec(),
        value: value.as_deref().map(sized),
    }
}

/// The index and type of field `field` of a non-frozen UDT type.
fn udt_field<'a>(ty: &'a CqlType, field: &str) -> Option<(u16, &'a CqlType)> {
    let CqlType::Udt { def, frozen: false } = ty else {
        return None;
    };
    let (position, (_, field_ty)) = def
        .fields
        .iter()
        .enumerate()
        .find(|(_, (n, _))| n == field)?;
    Some((u16::try_from(position).ok()?, field_ty))
}

fn counter_change(
    value: &Term,
    receiver: &Receiver<'_>,
    bound: &BoundValues,
    subtract: bool,
) -> CqlResult<Option<ColumnChange>> {
    let bigint = CqlType::Native(NativeType::Bigint);
    let bytes = match evaluate(
        value,
        &Receiver {
            name: receiver.name,
            ty: &bigint,
        },
        bound,
    )? {
        Evaluated::Value(v) => v,
        Evaluated::Null => {
            return Err(CqlError::invalid(
                "Invalid null value for counter increment",
            ))
        }
        Evaluated::Unset => return Ok(None),
    };
    let delta = i64::from_be_bytes(
        bytes
            .as_slice()
            .try_into()
            .map_err(|_| CqlError::invalid("Invalid counter increment"))?,
    );
    let delta = if subtract {
        delta.checked_neg().ok_or_else(|| {
            CqlError::invalid(format!("The negation of {delta} overflows supported counter precision (signed 8 bytes integer)"))
        })?
    } else {
        delta
    };
    Ok(Some(ColumnChange::Counter(delta)))
}

fn collection_change(
    ty: &CqlType,
    value: &Term,
    receiver: &Receiver<'_>,
    bound: &BoundValues,
    subtract: bool,
) -> CqlResult<Option<ColumnChange>> {
    // `m - {k}` takes a set of keys.
    let keys;
    let receiver = match ty {
        CqlType::Map { key, .. } if subtract => {
            keys = CqlType::Set {
                element: key.clone(),
                frozen: false,
            };
            Receiver {
                name: receiver.name,
                ty: &keys,
            }
        }
        _ => Receiver {
            name: receiver.name,
            ty,
        },
    };
    let Some(value) = evaluate(value, &receiver, bound)?.into_option() else {
        return Ok(None);
    };
    Ok(Some(match (ty, subtract) {
        (CqlType::List { .. }, true) => ColumnChange::ListDiscard(elements(&value)?),
        (_, true) => ColumnChange::Pieces(removal_pieces(ty, &value)?),
        (_, false) => ColumnChange::Pieces(pieces_of(ty, &value, false)?),
    }))
}

enum ElementError {
    /// The column's kind does not allow element access ("non collection", ...).
    Kind(&'static str),
    Cql(CqlError),
}

impl From<CqlError> for ElementError {
    fn from(e: CqlError) -> Self {
        ElementError::Cql(e)
    }
}

/// `c[key] = value` (`value = Some`) or `DELETE c[key]` (`None`).
fn element_change(
    ty: &CqlType,
    key: &Term,
    value: Option<&Term>,
    receiver: &Receiver<'_>,
    bound: &BoundValues,
) -> Result<Option<ColumnChange>, ElementError> {
    if !ty.is_collection() {
        return Err(ElementError::Kind("non collection"));
    }
    if !ty.is_multi_cell() {
        return Err(ElementError::Kind("frozen collection"));
    }
    let evaluate_as = |term: &Term, ty: &CqlType| {
        evaluate(
            term,
            &Receiver {
                name: receiver.name,
                ty,
            },
            bound,
        )
    };
    match ty {
        CqlType::List { element, .. } => {
            let int = CqlType::Native(NativeType::Int);
            let index = match evaluate_as(key, &int)? {
                Evaluated::Value(v) => i32::from_be_bytes(
                    v.as_slice()
                        .try_into()
                        .map_err(|_| CqlError::invalid("Invalid list index"))?,
                ),
                Evaluated::Null => {
                    return Err(CqlError::invalid("Invalid null value for list index").into())
                }
                Evaluated::Unset => {
                    return Err(CqlError::invalid("Invalid unset value for list index").into())
                }
            };
            let value = match value {
                Some(term) => match evaluate_as(term, element)? {
                    Evaluated::Unset => return Ok(None),
                    // Setting an element to null deletes it, as in Cassandra.
                    v => v.into_option(),
                },
                None => None,
            };
            Ok(Some(ColumnChange::ListIndex { index, value }))
        }
        CqlType::Map {
            key: kty,
            value: vty,
            ..
        } => {
            let map_key = match evaluate_as(key, kty)? {
                Evaluated::Value(v) => v,
                Evaluated::Null => return Err(CqlError::invalid("Invalid null map key").into()),
                Evaluated::Unset => return Err(CqlError::invalid("Invalid unset map key").into()),
            };
            let stored = match value {
                Some(term) => match evaluate_as(term, vty)? {
                    Evaluated::Unset => return Ok(None),
                    v => v
                        .into_option()
                        .map(|v| [sized(&map_key), sized(&v)].concat()),
                },
                None => None,
            };
            Ok(Some(ColumnChange::Pieces(vec![Piece {
                kind: SubCell::Element,
                path: key_path(kty, &map_key)?,
                value: stored,
            }])))
        }
        CqlType::Set { element, .. } if value.is_none() => {
            let Some(item) = evaluate_as(key, element)?.into_option() else {
                return Ok(None);
            };
            Ok(Some(ColumnChange::Pieces(vec![Piece {
                kind: SubCell::Element,
                path: key_path(element, &item)?,
                value: None,
            }])))
        }
        _ => Err(ElementError::Kind("set")),
    }
}

/// What `DELETE <deletion>` does to its column.
pub fn deletion_change(
    table: &Table,
    index: usize,
    deletion: &Deletion,
    bound: &BoundValues,
) -> CqlResult<Option<ColumnChange>> {
    let (column, ty) = table.column(index)?;
    let name = column.name.as_str();
    let receiver = Receiver { name, ty };
    match deletion {
        Deletion::Column(_) if ty.is_multi_cell() || ty.is_counter() => {
            Ok(Some(ColumnChange::Delete))
        }
        Deletion::Column(_) => Ok(Some(ColumnChange::Simple(None))),
        Deletion::Element { key, .. } => {
            element_change(ty, key, None, &receiver, bound).map_err(|e| match e {
                ElementError::Kind("non collection") => CqlError::invalid(format!(
                    "Invalid deletion operation for non collection column {name}"
                )),
                ElementError::Kind(_) => CqlError::invalid(format!(
                    "Invalid deletion operation for frozen collection column {name}"
                )),
                ElementError::Cql(e) => e,
            })
        }
        Deletion::Field { field, .. } => {
            let (field_index, _) = udt_field(ty, field).ok_or_else(|| match ty {
                CqlType::Udt { frozen: true, .. } => CqlError::invalid(format!(
                    "Frozen UDT column {name} does not support field deletion"
                )),
                CqlType::Udt { .. } => CqlError::invalid(format!(
                    "UDT column {name} does not have a field named {field}"
                )),
                _ => CqlError::invalid(format!(
                    "Invalid field deletion operation for non-UDT column {name}"
                )),
            })?;
            Ok(Some(ColumnChange::Pieces(vec![field_piece(
                field_index,
                None,
            )])))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{serialize_list, serialize_set};

    fn int(v: i32) -> Vec<u8> {
        v.to_be_bytes().to_vec()
    }

    fn list_type() -> CqlType {
        CqlType::List {
            element: Box::new(CqlType::Native(NativeType::Int)),
            frozen: false,
        }
    }

    #[test]
    fn prepended_elements_keep_their_order_before_appended_ones() {
        let value = serialize_list(&[Some(int(1)), Some(int(2))]).expect("list");
        let appended = pieces_of(&list_type(), &value, false).expect("pieces");
        let prepended = pieces_of(&list_type(), &value, true).expect("pieces");
        let paths: Vec<&Vec<u8>> = prepended.iter().chain(&appended).map(|p| &p.path).collect();
        assert!(paths.windows(2).all(|w| w[0] < w[1]), "{paths:?}");
        assert_eq!(
            prepended[0].value.as_deref(),
            Some(sized(&int(1)).as_slice())
        );
    }

    #[test]
    fn set_pieces_are_keyed_by_element_in_comparator_order() {
        let ty = CqlType::Set {
            element: Box::new(CqlType::Native(NativeType::Int)),
            frozen: false,
        };
        let value = serialize_set(
            &CqlType::Native(NativeType::Int),
            &[Some(int(-5)), Some(int(3))],
        )
        .expect("set");
        let pieces = pieces_of(&ty, &value, false).expect("pieces");
        assert!(pieces[0].path < pieces[1].path);
    }

    #[test]
    fn list_index_operations_check_bounds() {
        let current = CellData {
            value: serialize_list(&[Some(int(7))]).expect("list"),
            paths: vec![vec![1]],
            ..CellData::default()
        };
        let change = ColumnChange::ListIndex {
            index: 1,
            value: Some(int(3)),
        };
        let err = change
            .operations(None, "l", 10, Some(&current))
            .expect_err("out of bound");
        assert_eq!(
            err.to_string(),
            CqlError::invalid("List index 1 out of bound, list has size 1").to_string()
        );
        let err = change
            .operations(None, "l", 10, None)
            .expect_err("null list");
        assert!(err.to_string().contains("list which is null"));
        let ops = ColumnChange::ListDiscard(vec![int(7)])
            .operations(None, "l", 10, Some(&current))
            .expect("discard");
        assert!(
            matches!(ops.as_slice(), [Operation::SubCell { value: None, path, .. }] if path == &vec![1])
        );
    }

    #[test]
    fn replace_deletes_just_before_the_statement() {
        let ops = ColumnChange::Replace(Vec::new())
            .operations(None, "s", 10, None)
            .expect("ops");
        assert!(matches!(
            ops.as_slice(),
            [Operation::ComplexDeletion { timestamp: 9, .. }]
        ));
    }

    #[test]
    fn udt_values_split_into_present_fields() {
        let mut value = sized(&int(1));
        value.extend_from_slice(&(-1i32).to_be_bytes());
        value.extend_from_slice(&sized(b"x"));
        let pieces = udt_fields(&value, 3).expect("fields");
        let paths: Vec<Vec<u8>> = pieces.iter().map(|p| p.path.clone()).collect();
        assert_eq!(paths, vec![vec![0, 0], vec![0, 2]]);
        assert!(udt_fields(&value, 2).is_err());
    }
}
