//! WHERE-clause analysis shared by SELECT, UPDATE and DELETE: which partitions, which
//! clustering slices, which rows need filtering.
//!
//! Invariant: the error texts are Cassandra's, because drivers and users match on them.

mod clustering;

use std::ops::Bound;

use self::clustering::{ClusteringKind, ClusteringRestriction, TupleBound};
use crate::cql::ast::{InValues, Operator, Predicate, Relation, Term};
use crate::error::{CqlError, CqlResult};
use crate::exec::expr::collections;
use crate::exec::expr::eval::{evaluate, evaluate_required, BoundValues, Evaluated, Receiver};
use crate::schema::{ClusteringOrder, ColumnKind, IndexTargetKind, Table};
use crate::storage::{layout, ClusteringRange};
use crate::types::{self, serialize_partition_key, split_partition_key, CqlType, NativeType};

/// Longest serialized partition key (an unsigned short length in Cassandra's formats).
pub const MAX_KEY_BYTES: usize = 65_535;

/// A partition addressed by its key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionKey {
    pub token: i64,
    /// Serialized partition key (CompositeType form when composite).
    pub bytes: Vec<u8>,
    /// The value of each partition key column, in key order.
    pub components: Vec<Vec<u8>>,
}

impl PartitionKey {
    pub fn from_components(components: Vec<Vec<u8>>) -> PartitionKey {
        let bytes = serialize_partition_key(&components);
        PartitionKey {
            token: strata_protocol::murmur3::token(&bytes),
            bytes,
            components,
        }
    }

    /// A key a statement names: Cassandra's `validateKey` limits apply.
    /// Every component must be non-empty and fit a composite's 16-bit length, then the
    /// whole key must fit.
    pub fn checked(components: Vec<Vec<u8>>) -> CqlResult<PartitionKey> {
        if components.iter().any(Vec::is_empty) {
            return Err(CqlError::invalid("Key may not be empty"));
        }
        if let Some(long) = components.iter().find(|c| c.len() > MAX_KEY_BYTES) {
            return Err(key_too_long(long.len()));
        }
        let key = PartitionKey::from_components(components);
        if key.bytes.is_empty() {
            return Err(CqlError::invalid("Key may not be empty"));
        }
        if key.bytes.len() > MAX_KEY_BYTES {
            return Err(key_too_long(key.bytes.len()));
        }
        Ok(key)
    }

    pub fn from_bytes(bytes: Vec<u8>, column_count: usize) -> PartitionKey {
        let components = split_partition_key(&bytes, column_count);
        PartitionKey {
            token: strata_protocol::murmur3::token(&bytes),
            bytes,
            components,
        }
    }
}

/// Cassandra's message for a partition key, or a clustering, past 64 KiB.
pub fn key_too_long(length: usize) -> CqlError {
    CqlError::invalid(format!(
        "Key length of {length} is longer than maximum of {MAX_KEY_BYTES}"
    ))
}

/// Which partitions a statement touches.
#[derive(Clone, Debug)]
pub enum PartitionSelection {
    Keys(Vec<PartitionKey>),
    TokenRange { start: Bound<i64>, end: Bound<i64> },
}

/// A row filter applied after reading (ALLOW FILTERING, system tables).
#[derive(Clone, Debug)]
pub struct Filter {
    /// The filtered column (the first one for a tuple filter).
    pub column: usize,
    pub op: FilterOp,
}

#[derive(Clone, Debug)]
pub enum FilterOp {
    Compare(Operator, Vec<u8>),
    In(Vec<Vec<u8>>),
    /// `m[key] = value` on a map column.
    MapEntry {
        key: Vec<u8>,
        value: Vec<u8>,
    },
    /// `(c1, ..., cn) IN (...)` (or `=`) on clustering columns.
    TupleIn {
        columns: Vec<usize>,
        tuples: Vec<Vec<Vec<u8>>>,
    },
    /// A tuple slice on clustering columns, compared by value.
    TupleSlice {
        columns: Vec<usize>,
        lower: Option<TupleBound>,
        upper: Option<TupleBound>,
    },
}

impl Filter {
    /// Whether a row passes, given the table's column types and the row's values.
    pub fn matches<'a>(
        &self,
        types: &[CqlType],
        value_of: impl Fn(usize) -> Option<&'a [u8]>,
    ) -> bool {
        let Some(ty) = types.get(self.column) else {
            return false;
        };
        match &self.op {
            FilterOp::In(values) => value_of(self.column).is_some_and(|value| {
                values
                    .iter()
                    .any(|v| types::compare_values(ty, value, v).is_eq())
            }),
            FilterOp::Compare(op, v) => {
                value_of(self.column).is_some_and(|value| compare(ty, *op, value, v))
            }
            FilterOp::MapEntry { key, value } => value_of(self.column).is_some_and(|map| {
                collections::map_get(ty, map, key).is_some_and(|found| {
                    types::compare_values(map_value_type(ty), &found, value).is_eq()
                })
            }),
            FilterOp::TupleIn { columns, tuples } => tuples
                .iter()
                .any(|t| tuple_order(types, columns, &value_of, t).is_some_and(|o| o.is_eq())),
            FilterOp::TupleSlice {
                columns,
                lower,
                upper,
            } => {
                let above = lower.as_ref().is_none_or(|b| {
                    tuple_order(types, columns, &value_of, &b.values)
                        .is_some_and(|o| o.is_gt() || (b.inclusive && o.is_eq()))
                });
                let below = upper.as_ref().is_none_or(|b| {
                    tuple_order(types, columns, &value_of, &b.values)
                        .is_some_and(|o| o.is_lt() || (b.inclusive && o.is_eq()))
                });
                above && below
            }
        }
    }
}

fn map_value_type(ty: &CqlType) -> &CqlType {
    match ty {
        CqlType::Map { value, .. } => value,
        other => other,
    }
}

/// How the row's values of `columns` compare, by value, with the first `bound.len()`
/// of them (a shorter bound compares its prefix); `None` if a value is missing.
fn tuple_order<'a>(
    types: &[CqlType],
    columns: &[usize],
    value_of: &impl Fn(usize) -> Option<&'a [u8]>,
    bound: &[Vec<u8>],
) -> Option<std::cmp::Ordering> {
    for (column, expected) in columns.iter().zip(bound) {
        let order = types::compare_values(types.get(*column)?, value_of(*column)?, expected);
        if order.is_ne() {
            return Some(order);
        }
    }
    Some(std::cmp::Ordering::Equal)
}

fn compare(ty: &CqlType, op: Operator, value: &[u8], operand: &[u8]) -> bool {
    use std::cmp::Ordering::*;
    let ord = || types::compare_values(ty, value, operand);
    match op {
        Operator::Eq => ord() == Equal,
        Operator::NotEq => ord() != Equal,
        Operator::Lt => ord() == Less,
        Operator::LtEq => ord() != Greater,
        Operator::Gt => ord() == Greater,
        Operator::GtEq => ord() != Less,
        Operator::Contains => collections::contains(ty, value, operand, false),
        Operator::ContainsKey => collections::contains(ty, value, operand, true),
        Operator::Like => false,
    }
}

/// The analysed WHERE clause.
#[derive(Clone, Debug)]
pub struct Restrictions {
    pub partitions: PartitionSelection,
    /// Clustering slices in clustering (engine) order; one full slice when unrestricted.
    pub slices: Vec<ClusteringRange>,
    /// Encoded clusterings when fully specified (UPDATE/DELETE of rows).
    pub clusterings: Vec<Vec<u8>>,
    pub filters: Vec<Filter>,
    /// Some clustering column was restricted (for DISTINCT and static-only checks).
    pub has_clustering_restriction: bool,
    /// The clustering restrictions do not form a prefix (see [`clustering::ClusteringPlan`]).
    pub clustering_needs_filtering: bool,
}

/// Values of one partition key or regular column's restriction: EQ/IN values, or a slice.
#[derive(Default)]
struct ColumnRestriction {
    values: Option<Vec<Vec<u8>>>,
    /// Whether `values` came from an IN (for the message when another relation follows).
    values_from_in: bool,
    /// A partition key value given as null or unset: an invalid key if the whole key is
    /// given, else an unsupported filter value (known once every relation is read).
    refused: Option<&'static str>,
    lower: Option<(Vec<u8>, bool)>,
    upper: Option<(Vec<u8>, bool)>,
}

pub struct Analyzer<'a> {
    pub table: &'a Table,
    pub bound: &'a BoundValues,
    pub allow_filtering: bool,
    /// A secondary index answers another relation of the query: restrictions that would
    /// need filtering are left to the ALLOW FILTERING check (Cassandra's
    /// `usesSecondaryIndexing`), not refused for their shape.
    pub indexed: bool,
}

pub const FILTERING_MESSAGE: &str = "Cannot execute this query as it might involve data filtering and thus may have unpredictable performance. If you want to execute this query despite the performance unpredictability, use ALLOW FILTERING";

/// What an analysis collects before deciding partitions, slices and filters.
#[derive(Default)]
struct Collected {
    per_column: Vec<ColumnRestriction>,
    clustering: Vec<ClusteringRestriction>,
    token: Option<(Bound<i64>, Bound<i64>)>,
    filters: Vec<Filter>,
    /// A bad value in a filtering restriction: Cassandra reports it only once the query
    /// is known not to need ALLOW FILTERING (the check happens at PREPARE there).
    deferred: Option<CqlError>,
}

impl Analyzer<'_> {
    pub fn analyze(&self, relations: &[Relation]) -> CqlResult<Restrictions> {
        let mut c = Collected {
            per_column: (0..self.table.def.columns.len())
                .map(|_| ColumnRestriction::default())
                .collect(),
            ..Collected::default()
        };
        for relation in relations {
            match relation {
                Relation::Column { column, predicate } => {
                    let index = self.column_index(column)?;
                    self.add_column_relation(index, predicate, relation, &mut c)?;
                }
                Relation::Token { columns, op, value } => {
                    self.check_token_columns(columns)?;
                    let range = c.token.get_or_insert((Bound::Unbounded, Bound::Unbounded));
                    self.add_token_bound(*op, value, range)?;
                }
                Relation::MultiColumn { columns, predicate } => {
                    let text = relation.to_string();
                    let restriction = self.multi_column_restriction(columns, predicate, &text)?;
                    self.add_clustering(&mut c.clustering, restriction)?;
                }
                Relation::Element {
                    column, key, value, ..
                } => self.add_map_entry(column, key, value, &mut c)?,
                _ => return Err(CqlError::invalid("Unsupported restriction")),
            }
        }
        let partitions = self.partition_selection(&mut c)?;
        let single_partitions = matches!(partitions, PartitionSelection::Keys(_));
        let clustering = std::mem::take(&mut c.clustering);
        let plan = self.clustering_plan(clustering, single_partitions, &mut c.filters)?;
        self.regular_filters(&mut c)?;
        if let Some(error) = c.deferred {
            return Err(error);
        }
        Ok(Restrictions {
            partitions,
            slices: plan.slices,
            clusterings: plan.clusterings,
            filters: c.filters,
            has_clustering_restriction: plan.restricted,
            clustering_needs_filtering: plan.needs_filtering,
        })
    }

    pub(super) fn column_index(&self, name: &str) -> CqlResult<usize> {
        self.table.column_index(name).ok_or_else(|| {
            CqlError::invalid(format!(
                "Undefined column name {name} in table {}.{}",
                self.table.def.keyspace, self.table.def.name
            ))
        })
    }

    fn receiver(&self, index: usize) -> CqlResult<Receiver<'_>> {
        let (column, ty) = self.table.column(index)?;
        Ok(Receiver {
            name: &column.name,
            ty,
        })
    }

    /// A partition key column's EQ or slice value; null and unset are remembered in
    /// `refused` (see [`ColumnRestriction::refused`]).
    fn key_value(
        &self,
        index: usize,
        term: &Term,
        refused: &mut Option<&'static str>,
    ) -> CqlResult<Vec<u8>> {
        Ok(match evaluate(term, &self.receiver(index)?, self.bound)? {
            Evaluated::Value(v) => v,
            Evaluated::Null => {
                refused.get_or_insert("null");
                Vec::new()
            }
            Evaluated::Unset => {
                refused.get_or_insert("unset");
                Vec::new()
            }
        })
    }

    fn value(&self, index: usize, term: &Term) -> CqlResult<Vec<u8>> {
        let receiver = self.receiver(index)?;
        // Formatted only if the value is refused: every keyed read passes here.
        evaluate_required(
            term,
            &receiver,
            self.bound,
            format_args!("for column {}", receiver.name),
        )
    }

    fn in_values(&self, index: usize, values: &InValues) -> CqlResult<Vec<Vec<u8>>> {
        match values {
            InValues::Terms(terms) => terms.iter().map(|t| self.value(index, t)).collect(),
            InValues::Marker(marker) => {
                let list_ty = CqlType::List {
                    element: Box::new(self.table.column(index)?.1.clone()),
                    frozen: false,
                };
                let column = &self.table.column(index)?.0.name;
                let name = format!("in({column})");
                let receiver = Receiver {
                    name: &name,
                    ty: &list_ty,
                };
                let bytes = evaluate_required(
                    &Term::Bind(marker.clone()),
                    &receiver,
                    self.bound,
                    format_args!("for column {column}"),
                )?;
                collections::elements(&bytes)
            }
        }
    }

    /// A value compared in a filter on a non-key column: null and unset are refused with
    /// Cassandra's "Unsupported ..." texts, reported after the ALLOW FILTERING check.
    fn filter_operand(
        &self,
        term: &Term,
        receiver: &Receiver<'_>,
        what: &str,
        deferred: &mut Option<CqlError>,
    ) -> CqlResult<Option<Vec<u8>>> {
        let refused = match evaluate(term, receiver, self.bound)? {
            Evaluated::Value(v) => return Ok(Some(v)),
            Evaluated::Null => "null",
            Evaluated::Unset => "unset",
        };
        deferred.get_or_insert_with(|| CqlError::invalid(format!("Unsupported {refused} {what}")));
        Ok(None)
    }

    /// The value of `term` in a relation on column `index`: a partition key's (null and
    /// unset remembered in `refused`), or another column's filter operand (null and unset
    /// deferred, see [`Self::filter_operand`]).
    fn relation_value(
        &self,
        index: usize,
        term: &Term,
        key: bool,
        refused: &mut Option<&'static str>,
        deferred: &mut Option<CqlError>,
    ) -> CqlResult<Option<Vec<u8>>> {
        if key {
            return Ok(Some(self.key_value(index, term, refused)?));
        }
        self.column_operand(index, term, deferred)
    }

    /// `term` as the operand of a filter on column `index` itself.
    fn column_operand(
        &self,
        index: usize,
        term: &Term,
        deferred: &mut Option<CqlError>,
    ) -> CqlResult<Option<Vec<u8>>> {
        let receiver = self.receiver(index)?;
        let what = format!("value for column {}", receiver.name);
        self.filter_operand(term, &receiver, &what, deferred)
    }

    fn add_column_relation(
        &self,
        index: usize,
        predicate: &Predicate,
        relation: &Relation,
        c: &mut Collected,
    ) -> CqlResult<()> {
        let (column, _) = self.table.column(index)?;
        let (kind, name) = (column.kind, column.name.clone());
        if let Predicate::Compare(Operator::NotEq, _) = predicate {
            return Err(CqlError::invalid(format!(
                "Unsupported \"!=\" relation: {relation}"
            )));
        }
        if kind == ColumnKind::Clustering {
            if let Some(restriction) = self.clustering_relation(index, predicate)? {
                return self.add_clustering(&mut c.clustering, restriction);
            }
        } else if kind != ColumnKind::PartitionKey {
            self.check_collection_relation(index, predicate)?;
        }
        let key = kind == ColumnKind::PartitionKey;
        // `per_column` has a slot for every column of the table.
        let r = c
            .per_column
            .get_mut(index)
            .ok_or_else(|| CqlError::Server(format!("no restriction slot for column {name}")))?;
        // Cassandra names the restriction already there when merging fails.
        let existing = if r.values_from_in { "a IN" } else { "an Equal" };
        match predicate {
            Predicate::In(values) => {
                if r.values.is_some() {
                    return Err(CqlError::invalid(format!(
                        "{name} cannot be restricted by more than one relation if it includes {existing}"
                    )));
                }
                r.values_from_in = true;
                if key {
                    r.values = Some(self.in_values(index, values)?);
                } else {
                    let values = match values {
                        InValues::Terms(terms) => terms
                            .iter()
                            .map(|t| self.column_operand(index, t, &mut c.deferred))
                            .collect::<CqlResult<Vec<_>>>()?
                            .into_iter()
                            .flatten()
                            .collect(),
                        InValues::Marker(_) => self.in_values(index, values)?,
                    };
                    r.values = Some(values);
                }
            }
            Predicate::Compare(Operator::Eq, term) => {
                if r.values.is_some() {
                    return Err(CqlError::invalid(format!(
                        "{name} cannot be restricted by more than one relation if it includes {existing}"
                    )));
                }
                // An index answering `=` refuses the value as an index expression.
                let indexed = !key
                    && self.indexed
                    && self.table.indexes.iter().any(|i| {
                        i.column == name
                            && matches!(i.target, IndexTargetKind::Simple | IndexTargetKind::Full)
                    });
                let value = if indexed {
                    let receiver = self.receiver(index)?;
                    let what = format!("value for indexed column {name}");
                    self.filter_operand(term, &receiver, &what, &mut c.deferred)?
                } else {
                    self.relation_value(index, term, key, &mut r.refused, &mut c.deferred)?
                };
                r.values = Some(value.into_iter().collect());
            }
            Predicate::Compare(
                op @ (Operator::Lt | Operator::LtEq | Operator::Gt | Operator::GtEq),
                term,
            ) => {
                let value =
                    self.relation_value(index, term, key, &mut r.refused, &mut c.deferred)?;
                let Some(value) = value else { return Ok(()) };
                let inclusive = matches!(op, Operator::LtEq | Operator::GtEq);
                let (slot, bound) = if matches!(op, Operator::Gt | Operator::GtEq) {
                    (&mut r.lower, "start")
                } else {
                    (&mut r.upper, "end")
                };
                if slot.is_some() {
                    return Err(CqlError::invalid(format!(
                        "More than one restriction was found for the {bound} bound on {name}"
                    )));
                }
                *slot = Some((value, inclusive));
            }
            Predicate::Compare(op, term) => {
                if key {
                    return Err(CqlError::invalid(
                        "Only EQ and IN relation are supported on the partition key (unless you use the token() function)",
                    ));
                }
                let operand = match op {
                    Operator::Contains | Operator::ContainsKey => self.collection_operand(
                        index,
                        term,
                        *op == Operator::ContainsKey,
                        &mut c.deferred,
                    )?,
                    _ => Some(self.value(index, term)?),
                };
                if let Some(operand) = operand {
                    c.filters.push(Filter {
                        column: index,
                        op: FilterOp::Compare(*op, operand),
                    });
                }
            }
        }
        Ok(())
    }

    /// A single-column relation on a clustering column, unless it is one (CONTAINS on a
    /// frozen collection, ...) that only filters.
    fn clustering_relation(
        &self,
        index: usize,
        predicate: &Predicate,
    ) -> CqlResult<Option<ClusteringRestriction>> {
        let position = self
            .table
            .clustering_indexes()
            .iter()
            .position(|i| *i == index)
            .unwrap_or_default();
        let kind = match predicate {
            Predicate::Compare(Operator::Eq, term) => ClusteringKind::Values {
                tuples: vec![vec![self.value(index, term)?]],
                is_in: false,
            },
            Predicate::In(values) => ClusteringKind::Values {
                tuples: self
                    .in_values(index, values)?
                    .into_iter()
                    .map(|v| vec![v])
                    .collect(),
                is_in: true,
            },
            Predicate::Compare(
                op @ (Operator::Lt | Operator::LtEq | Operator::Gt | Operator::GtEq),
                term,
            ) => ClusteringKind::slice(*op, vec![self.value(index, term)?]),
            _ => return Ok(None),
        };
        Ok(Some(ClusteringRestriction::single(position, kind)))
    }

    /// Non-frozen collections are only restricted by CONTAINS, CONTAINS KEY and entries.
    fn check_collection_relation(&self, index: usize, predicate: &Predicate) -> CqlResult<()> {
        let (column, ty) = self.table.column(index)?;
        let multi_cell = matches!(
            ty,
            CqlType::List { frozen: false, .. }
                | CqlType::Set { frozen: false, .. }
                | CqlType::Map { frozen: false, .. }
        );
        let op = match predicate {
            Predicate::In(_) => "IN".to_string(),
            Predicate::Compare(Operator::Contains | Operator::ContainsKey, _) => return Ok(()),
            Predicate::Compare(op, _) => op.to_string(),
        };
        if multi_cell {
            let name = &column.name;
            return Err(CqlError::invalid(format!(
                "Collection column '{name}' ({ty}) cannot be restricted by a '{op}' relation"
            )));
        }
        Ok(())
    }

    fn collection_operand(
        &self,
        index: usize,
        term: &Term,
        key: bool,
        deferred: &mut Option<CqlError>,
    ) -> CqlResult<Option<Vec<u8>>> {
        let (column, ty) = self.table.column(index)?;
        let name = &column.name;
        let element = match (ty, key) {
            (CqlType::List { element, .. } | CqlType::Set { element, .. }, false) => {
                element.as_ref()
            }
            (CqlType::Map { value, .. }, false) => value.as_ref(),
            (CqlType::Map { key, .. }, true) => key.as_ref(),
            _ => {
                let what = if key { "CONTAINS KEY" } else { "CONTAINS" };
                return Err(CqlError::invalid(format!(
                    "Cannot use {what} on non-collection column {name}"
                )));
            }
        };
        let receiver = Receiver { name, ty: element };
        self.filter_operand(
            term,
            &receiver,
            &format!("value for column {name}"),
            deferred,
        )
    }

    /// `m[key] = value`: filters rows on one entry of a non-frozen map.
    fn add_map_entry(
        &self,
        column: &str,
        key: &Term,
        value: &Term,
        c: &mut Collected,
    ) -> CqlResult<()> {
        let index = self.column_index(column)?;
        let (_, ty) = self.table.column(index)?;
        let (key_ty, value_ty) = match ty {
            CqlType::Map {
                key,
                value,
                frozen: false,
            } => (key.as_ref(), value.as_ref()),
            CqlType::Map { frozen: true, .. } => {
                return Err(CqlError::invalid(format!(
                    "Map-entry equality predicates on frozen map column {column} are not supported"
                )))
            }
            _ => {
                return Err(CqlError::invalid(format!(
                    "Column {column} cannot be used as a map"
                )))
            }
        };
        let key = self.filter_operand(
            key,
            &Receiver {
                name: column,
                ty: key_ty,
            },
            &format!("map key for column {column}"),
            &mut c.deferred,
        )?;
        let value = self.filter_operand(
            value,
            &Receiver {
                name: column,
                ty: value_ty,
            },
            &format!("map value for column {column}"),
            &mut c.deferred,
        )?;
        if let (Some(key), Some(value)) = (key, value) {
            c.filters.push(Filter {
                column: index,
                op: FilterOp::MapEntry { key, value },
            });
        }
        Ok(())
    }

    fn check_token_columns(&self, columns: &[String]) -> CqlResult<()> {
        if columns != self.table.def.partition_key.as_slice() {
            return Err(CqlError::invalid(format!(
                "The token function arguments must be in the partition key order: {}",
                self.table.def.partition_key.join(", ")
            )));
        }
        Ok(())
    }

    /// A token bound: a bigint, or `token(v1, ...)` of partition key values.
    fn token_value(&self, term: &Term) -> CqlResult<i64> {
        if let Term::FunctionCall { name, args } = term {
            if name.name == "token" {
                let pk = self.table.partition_key_indexes();
                if args.len() != pk.len() {
                    return Err(CqlError::invalid(format!(
                        "Invalid number of arguments in call to function token: {} required but {} provided",
                        pk.len(),
                        args.len()
                    )));
                }
                let components = args
                    .iter()
                    .zip(&pk)
                    .map(
                        |(arg, i)| match evaluate(arg, &self.receiver(*i)?, self.bound)? {
                            Evaluated::Value(v) => Ok(v),
                            Evaluated::Null => Err(CqlError::invalid("Invalid null token value")),
                            Evaluated::Unset => Err(CqlError::invalid(
                                "Invalid unset value for argument in call to function token",
                            )),
                        },
                    )
                    .collect::<CqlResult<Vec<_>>>()?;
                return Ok(PartitionKey::from_components(components).token);
            }
        }
        let ty = CqlType::Native(NativeType::Bigint);
        let receiver = Receiver {
            name: "partition key token",
            ty: &ty,
        };
        let bytes = match evaluate(term, &receiver, self.bound)? {
            Evaluated::Value(v) => v,
            Evaluated::Null => return Err(CqlError::invalid("Invalid null token value")),
            Evaluated::Unset => return Err(CqlError::invalid("Invalid unset token value")),
        };
        Ok(i64::from_be_bytes(
            bytes
                .as_slice()
                .try_into()
                .map_err(|_| CqlError::invalid("Invalid token value"))?,
        ))
    }

    fn add_token_bound(
        &self,
        op: Operator,
        term: &Term,
        range: &mut (Bound<i64>, Bound<i64>),
    ) -> CqlResult<()> {
        let token = self.token_value(term)?;
        match op {
            Operator::Gt => range.0 = Bound::Excluded(token),
            Operator::GtEq => range.0 = Bound::Included(token),
            Operator::Lt => range.1 = Bound::Excluded(token),
            Operator::LtEq => range.1 = Bound::Included(token),
            Operator::Eq => *range = (Bound::Included(token), Bound::Included(token)),
            _ => {
                return Err(CqlError::invalid(format!(
                    "Unsupported operator on token: {op:?}"
                )))
            }
        }
        Ok(())
    }

    /// Keys when every partition key column has EQ/IN values (in the order of the values,
    /// as Cassandra returns IN partitions), less those outside a token restriction that
    /// comes with them (Cassandra's TokenFilter); otherwise a token range, the key
    /// restrictions becoming filters (ALLOW FILTERING, CASSANDRA-11031).
    fn partition_selection(&self, c: &mut Collected) -> CqlResult<PartitionSelection> {
        // The partition key's restrictions leave `per_column`: each becomes keys or filters
        // here.
        let mut pk: Vec<(usize, ColumnRestriction)> = self
            .table
            .partition_key_indexes()
            .into_iter()
            .map(|i| {
                let r = c.per_column.get_mut(i).map(std::mem::take);
                (i, r.unwrap_or_default())
            })
            .collect();
        let all_values = pk
            .iter()
            .all(|(_, r)| r.values.is_some() && r.lower.is_none() && r.upper.is_none());
        let refused = |message: &str| -> CqlResult<()> {
            for (i, r) in &pk {
                if let Some(what) = r.refused {
                    let name = &self.table.column(*i)?.0.name;
                    return Err(CqlError::invalid(format!(
                        "{message} {what} value for column {name}"
                    )));
                }
            }
            Ok(())
        };
        if all_values {
            refused("Invalid")?;
            let mut keys: Vec<Vec<Vec<u8>>> = vec![Vec::new()];
            for (i, r) in &mut pk {
                let (_, ty) = self.table.column(*i)?;
                let mut values = r.values.take().unwrap_or_default();
                values.sort_by(|a, b| types::compare_values(ty, a, b));
                values.dedup_by(|a, b| types::compare_values(ty, a, b).is_eq());
                keys = keys
                    .into_iter()
                    .flat_map(|prefix| {
                        values
                            .iter()
                            .map(move |v| [prefix.clone(), vec![v.clone()]].concat())
                    })
                    .collect();
            }
            let mut keys: Vec<PartitionKey> = keys
                .into_iter()
                .map(PartitionKey::checked)
                .collect::<CqlResult<_>>()?;
            if let Some(range) = c.token {
                keys.retain(|key| std::ops::RangeBounds::contains(&range, &key.token));
            }
            return Ok(PartitionSelection::Keys(keys));
        }
        let restricted = pk
            .iter()
            .any(|(_, r)| r.values.is_some() || r.lower.is_some() || r.upper.is_some());
        if restricted {
            if !self.allow_filtering {
                return Err(CqlError::invalid(FILTERING_MESSAGE));
            }
            refused("Unsupported")?;
            for (i, r) in pk {
                self.push_slice_filters(i, r, &mut c.filters);
            }
        }
        let (start, end) = c.token.unwrap_or((Bound::Unbounded, Bound::Unbounded));
        Ok(PartitionSelection::TokenRange { start, end })
    }

    fn push_slice_filters(&self, column: usize, r: ColumnRestriction, filters: &mut Vec<Filter>) {
        if let Some(values) = r.values {
            filters.push(Filter {
                column,
                op: FilterOp::In(values),
            });
        }
        if let Some((v, inclusive)) = r.lower {
            let op = if inclusive {
                Operator::GtEq
            } else {
                Operator::Gt
            };
            filters.push(Filter {
                column,
                op: FilterOp::Compare(op, v),
            });
        }
        if let Some((v, inclusive)) = r.upper {
            let op = if inclusive {
                Operator::LtEq
            } else {
                Operator::Lt
            };
            filters.push(Filter {
                column,
                op: FilterOp::Compare(op, v),
            });
        }
    }

    /// The slice `prefix ‖ (lower..upper)` on clustering column `column`.
    pub(super) fn range_slice(
        &self,
        column: usize,
        prefix: &[u8],
        lower: &Option<(Vec<u8>, bool)>,
        upper: &Option<(Vec<u8>, bool)>,
    ) -> CqlResult<ClusteringRange> {
        let (column_def, ty) = self.table.column(column)?;
        let desc = column_def.order == ClusteringOrder::Desc;
        let encode = |v: &[u8]| -> CqlResult<Vec<u8>> {
            let mut key = prefix.to_vec();
            types::encode_key_component(ty, v, desc, &mut key)?;
            Ok(key)
        };
        // In a DESC column larger values sort first, so the bounds swap ends.
        let (low, high) = if desc { (upper, lower) } else { (lower, upper) };
        let start = match low {
            Some((v, true)) => encode(v)?,
            Some((v, false)) => layout::prefix_successor(&encode(v)?).unwrap_or_default(),
            None => prefix.to_vec(),
        };
        let end = match high {
            Some((v, true)) => layout::prefix_successor(&encode(v)?),
            Some((v, false)) => Some(encode(v)?),
            None => layout::prefix_successor(prefix),
        };
        Ok(ClusteringRange { start, end })
    }

    fn regular_filters(&self, c: &mut Collected) -> CqlResult<()> {
        for (i, r) in std::mem::take(&mut c.per_column).into_iter().enumerate() {
            if r.values.is_none() && r.lower.is_none() && r.upper.is_none() {
                continue;
            }
            self.push_slice_filters(i, r, &mut c.filters);
        }
        let needs_filtering = c.filters.iter().any(|f| {
            matches!(
                self.table.kind_of(f.column),
                Some(ColumnKind::Regular | ColumnKind::Static)
            )
        }) || (c.deferred.is_some() && c.filters.is_empty());
        if needs_filtering && !self.allow_filtering {
            return Err(CqlError::invalid(FILTERING_MESSAGE));
        }
        Ok(())
    }
}
