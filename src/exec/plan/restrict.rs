//! WHERE-clause analysis shared by SELECT, UPDATE and DELETE: which partitions, which
//! clustering slices, which rows need filtering.
//!
//! Invariant: the error texts are Cassandra's, because drivers and users match on them.

use std::ops::Bound;

use crate::cql::ast::{InValues, Operator, Predicate, Relation, Term};
use crate::error::{CqlError, CqlResult};
use crate::exec::expr::collections;
use crate::exec::expr::eval::{evaluate_required, BoundValues, Receiver};
use crate::schema::{ClusteringOrder, ColumnKind, Table};
use crate::storage::{layout, ClusteringRange};
use crate::types::{self, CqlType, NativeType};

/// Longest serialized partition key (an unsigned short length in Cassandra's formats).
const MAX_KEY_BYTES: usize = 65_535;

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
    pub fn checked(components: Vec<Vec<u8>>) -> CqlResult<PartitionKey> {
        let key = PartitionKey::from_components(components);
        if key.bytes.is_empty() {
            return Err(CqlError::invalid("Key may not be empty"));
        }
        if key.bytes.len() > MAX_KEY_BYTES {
            return Err(CqlError::invalid(format!(
                "Key length of {} is longer than maximum of {MAX_KEY_BYTES}",
                key.bytes.len()
            )));
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

/// One component as-is; several in Cassandra's CompositeType form
/// (`u16 length ‖ value ‖ 0x00` each), which is also what drivers hash for routing.
pub fn serialize_partition_key(components: &[Vec<u8>]) -> Vec<u8> {
    if let [single] = components {
        return single.clone();
    }
    let mut out = Vec::new();
    for c in components {
        out.extend_from_slice(&(c.len() as u16).to_be_bytes());
        out.extend_from_slice(c);
        out.push(0);
    }
    out
}

fn split_partition_key(bytes: &[u8], column_count: usize) -> Vec<Vec<u8>> {
    if column_count <= 1 {
        return vec![bytes.to_vec()];
    }
    let mut out = Vec::with_capacity(column_count);
    let mut rest = bytes;
    while rest.len() >= 2 {
        let len = u16::from_be_bytes([rest[0], rest[1]]) as usize;
        let Some(value) = rest.get(2..2 + len) else {
            break;
        };
        out.push(value.to_vec());
        rest = rest.get(3 + len..).unwrap_or_default();
    }
    out
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
    pub column: usize,
    pub op: FilterOp,
}

#[derive(Clone, Debug)]
pub enum FilterOp {
    Compare(Operator, Vec<u8>),
    In(Vec<Vec<u8>>),
}

impl Filter {
    pub fn matches(&self, ty: &CqlType, value: Option<&[u8]>) -> bool {
        let Some(value) = value else { return false };
        match &self.op {
            FilterOp::In(values) => values
                .iter()
                .any(|v| types::compare_values(ty, value, v).is_eq()),
            FilterOp::Compare(op, v) => compare(ty, *op, value, v),
        }
    }
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
}

/// Values of one column's restriction: EQ/IN values, or a slice.
#[derive(Default)]
struct ColumnRestriction {
    values: Option<Vec<Vec<u8>>>,
    lower: Option<(Vec<u8>, bool)>,
    upper: Option<(Vec<u8>, bool)>,
}

/// A multi-column relation on a clustering prefix `(c1, ..., ck)`, with each bound the
/// concatenated order-preserving encoding of the tuple.
#[derive(Default)]
struct MultiColumn {
    columns: usize,
    lower: Option<(Vec<u8>, bool)>,
    upper: Option<(Vec<u8>, bool)>,
    /// `(c1, c2) IN ((..), (..))` or `=`: encoded prefixes.
    prefixes: Option<Vec<Vec<u8>>>,
}

pub struct Analyzer<'a> {
    pub table: &'a Table,
    pub bound: &'a BoundValues,
    pub allow_filtering: bool,
}

const FILTERING_MESSAGE: &str = "Cannot execute this query as it might involve data filtering and thus may have unpredictable performance. If you want to execute this query despite the performance unpredictability, use ALLOW FILTERING";

impl Analyzer<'_> {
    pub fn analyze(&self, relations: &[Relation]) -> CqlResult<Restrictions> {
        let columns = self.table.def.columns.len();
        let mut per_column: Vec<ColumnRestriction> =
            (0..columns).map(|_| ColumnRestriction::default()).collect();
        let mut token: (Bound<i64>, Bound<i64>) = (Bound::Unbounded, Bound::Unbounded);
        let mut has_token = false;
        let mut filters = Vec::new();
        let mut multi = MultiColumn::default();
        for relation in relations {
            match relation {
                Relation::Column { column, predicate } => {
                    let index = self.column_index(column)?;
                    self.add_column_restriction(index, predicate, &mut per_column, &mut filters)?;
                }
                Relation::Token { columns, op, value } => {
                    self.check_token_columns(columns)?;
                    has_token = true;
                    self.add_token_bound(*op, value, &mut token)?;
                }
                Relation::MultiColumn { columns, predicate } => {
                    self.add_multi_column(columns, predicate, &mut multi)?;
                }
                _ => return Err(CqlError::invalid("Unsupported restriction")),
            }
        }
        let partitions =
            self.partition_selection(&mut per_column, has_token.then_some(token), &mut filters)?;
        if multi.columns > 0 && matches!(partitions, PartitionSelection::TokenRange { .. }) {
            return Err(CqlError::invalid(FILTERING_MESSAGE));
        }
        let (slices, clusterings, has_clustering_restriction) = if multi.columns > 0 {
            self.multi_column_slices(&per_column, multi)?
        } else {
            self.clustering(&mut per_column, &partitions, &mut filters)?
        };
        self.regular_filters(per_column, &mut filters)?;
        Ok(Restrictions {
            partitions,
            slices,
            clusterings,
            filters,
            has_clustering_restriction,
        })
    }

    fn column_index(&self, name: &str) -> CqlResult<usize> {
        self.table.column_index(name).ok_or_else(|| {
            CqlError::invalid(format!(
                "Undefined column name {name} in table {}.{}",
                self.table.def.keyspace, self.table.def.name
            ))
        })
    }

    fn receiver(&self, index: usize) -> Receiver<'_> {
        Receiver {
            name: &self.table.def.columns[index].name,
            ty: &self.table.types[index],
        }
    }

    fn value(&self, index: usize, term: &Term) -> CqlResult<Vec<u8>> {
        let name = &self.table.def.columns[index].name;
        evaluate_required(
            term,
            &self.receiver(index),
            self.bound,
            &format!("for column {name}"),
        )
    }

    fn in_values(&self, index: usize, values: &InValues) -> CqlResult<Vec<Vec<u8>>> {
        match values {
            InValues::Terms(terms) => terms.iter().map(|t| self.value(index, t)).collect(),
            InValues::Marker(marker) => {
                let list_ty = CqlType::List {
                    element: Box::new(self.table.types[index].clone()),
                    frozen: false,
                };
                let name = format!("in({})", self.table.def.columns[index].name);
                let receiver = Receiver {
                    name: &name,
                    ty: &list_ty,
                };
                let bytes = evaluate_required(
                    &Term::Bind(marker.clone()),
                    &receiver,
                    self.bound,
                    "for IN",
                )?;
                collections::elements(&bytes)
            }
        }
    }

    fn add_column_restriction(
        &self,
        index: usize,
        predicate: &Predicate,
        per_column: &mut [ColumnRestriction],
        filters: &mut Vec<Filter>,
    ) -> CqlResult<()> {
        let kind = self.table.def.columns[index].kind;
        let name = &self.table.def.columns[index].name;
        let r = &mut per_column[index];
        match predicate {
            Predicate::In(values) => {
                if r.values.is_some() {
                    return Err(CqlError::invalid(format!("{name} cannot be restricted by more than one relation if it includes an IN")));
                }
                r.values = Some(self.in_values(index, values)?);
            }
            Predicate::Compare(Operator::Eq, term) => {
                if r.values.is_some() {
                    return Err(CqlError::invalid(format!("{name} cannot be restricted by more than one relation if it includes an Equal")));
                }
                r.values = Some(vec![self.value(index, term)?]);
            }
            Predicate::Compare(
                op @ (Operator::Lt | Operator::LtEq | Operator::Gt | Operator::GtEq),
                term,
            ) if kind != ColumnKind::Regular && kind != ColumnKind::Static => {
                let value = self.value(index, term)?;
                let inclusive = matches!(op, Operator::LtEq | Operator::GtEq);
                if matches!(op, Operator::Gt | Operator::GtEq) {
                    r.lower = Some((value, inclusive));
                } else {
                    r.upper = Some((value, inclusive));
                }
            }
            Predicate::Compare(op, term) => {
                if kind == ColumnKind::PartitionKey && *op != Operator::Eq {
                    return Err(CqlError::invalid("Only EQ and IN relation are supported on the partition key (unless you use the token() function)"));
                }
                let operand = match op {
                    Operator::Contains => self.collection_operand(index, term, false)?,
                    Operator::ContainsKey => self.collection_operand(index, term, true)?,
                    _ => self.value(index, term)?,
                };
                filters.push(Filter {
                    column: index,
                    op: FilterOp::Compare(*op, operand),
                });
            }
        }
        Ok(())
    }

    fn collection_operand(&self, index: usize, term: &Term, key: bool) -> CqlResult<Vec<u8>> {
        let ty = &self.table.types[index];
        let element = match (ty, key) {
            (CqlType::List { element, .. } | CqlType::Set { element, .. }, false) => {
                element.as_ref()
            }
            (CqlType::Map { value, .. }, false) => value.as_ref(),
            (CqlType::Map { key, .. }, true) => key.as_ref(),
            _ => {
                let name = &self.table.def.columns[index].name;
                let what = if key { "CONTAINS KEY" } else { "CONTAINS" };
                return Err(CqlError::invalid(format!(
                    "Cannot use {what} on non-collection column {name}"
                )));
            }
        };
        let receiver = Receiver {
            name: &self.table.def.columns[index].name,
            ty: element,
        };
        evaluate_required(term, &receiver, self.bound, "for CONTAINS")
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

    fn add_token_bound(
        &self,
        op: Operator,
        term: &Term,
        range: &mut (Bound<i64>, Bound<i64>),
    ) -> CqlResult<()> {
        let ty = CqlType::Native(NativeType::Bigint);
        let receiver = Receiver {
            name: "partition key token",
            ty: &ty,
        };
        let bytes = evaluate_required(term, &receiver, self.bound, "for token")?;
        let token = i64::from_be_bytes(
            bytes
                .as_slice()
                .try_into()
                .map_err(|_| CqlError::invalid("Invalid token value"))?,
        );
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

    /// `(c1, c2) op (v1, v2)` and `(c1, c2) IN (...)`: a prefix of the clustering columns,
    /// in clustering order.
    fn add_multi_column(
        &self,
        columns: &[String],
        predicate: &Predicate,
        multi: &mut MultiColumn,
    ) -> CqlResult<()> {
        let indexes = columns
            .iter()
            .map(|c| self.column_index(c))
            .collect::<CqlResult<Vec<_>>>()?;
        let clustering = self.table.clustering_indexes();
        if clustering.get(..indexes.len()) != Some(indexes.as_slice()) {
            return Err(CqlError::invalid(format!(
                "Clustering columns must appear in the PRIMARY KEY order in multi-column relations: ({})",
                columns.join(", ")
            )));
        }
        if multi.columns != 0 && multi.columns != indexes.len() {
            return Err(CqlError::invalid(
                "Multi-column relations on different column sets are not supported",
            ));
        }
        multi.columns = indexes.len();
        let encode_tuple = |term: &Term| -> CqlResult<Vec<u8>> {
            let Term::Tuple(items) = term else {
                return Err(CqlError::invalid(
                    "Multi-column relations need a tuple of values",
                ));
            };
            if items.len() != indexes.len() {
                return Err(CqlError::invalid(format!(
                    "Expected {} elements in value tuple, but got {}",
                    indexes.len(),
                    items.len()
                )));
            }
            let mut key = Vec::new();
            for (i, t) in indexes.iter().zip(items) {
                let desc = self.table.def.columns[*i].order == ClusteringOrder::Desc;
                types::encode_key_component(
                    &self.table.types[*i],
                    &self.value(*i, t)?,
                    desc,
                    &mut key,
                )?;
            }
            Ok(key)
        };
        match predicate {
            Predicate::Compare(Operator::Eq, term) => {
                multi.prefixes = Some(vec![encode_tuple(term)?])
            }
            Predicate::In(InValues::Terms(terms)) => {
                let mut prefixes = terms
                    .iter()
                    .map(encode_tuple)
                    .collect::<CqlResult<Vec<_>>>()?;
                prefixes.sort();
                prefixes.dedup();
                multi.prefixes = Some(prefixes);
            }
            Predicate::Compare(
                op @ (Operator::Lt | Operator::LtEq | Operator::Gt | Operator::GtEq),
                term,
            ) => {
                let orders: Vec<ClusteringOrder> = indexes
                    .iter()
                    .map(|i| self.table.def.columns[*i].order)
                    .collect();
                if orders.windows(2).any(|w| w[0] != w[1]) {
                    return Err(CqlError::invalid("Multi-column slices over clustering columns of mixed orders are not supported yet"));
                }
                let bound = (
                    encode_tuple(term)?,
                    matches!(op, Operator::LtEq | Operator::GtEq),
                );
                // In DESC columns larger tuples sort first, so the bound changes ends.
                let is_lower = matches!(op, Operator::Gt | Operator::GtEq)
                    != (orders[0] == ClusteringOrder::Desc);
                if is_lower {
                    multi.lower = Some(bound);
                } else {
                    multi.upper = Some(bound);
                }
            }
            _ => return Err(CqlError::invalid("Unsupported multi-column relation")),
        }
        Ok(())
    }

    /// Slices of a query whose clustering restriction is one multi-column relation.
    #[allow(clippy::type_complexity)]
    fn multi_column_slices(
        &self,
        per_column: &[ColumnRestriction],
        multi: MultiColumn,
    ) -> CqlResult<(Vec<ClusteringRange>, Vec<Vec<u8>>, bool)> {
        for i in self.table.clustering_indexes() {
            let r = &per_column[i];
            if r.values.is_some() || r.lower.is_some() || r.upper.is_some() {
                let name = &self.table.def.columns[i].name;
                return Err(CqlError::invalid(format!(
                    "Column \"{name}\" cannot be restricted by both a tuple notation relation and a single column relation"
                )));
            }
        }
        if let Some(prefixes) = multi.prefixes {
            let full = multi.columns == self.table.def.clustering.len();
            let slices = prefixes
                .iter()
                .map(|p| ClusteringRange::prefix(p))
                .collect();
            return Ok((slices, if full { prefixes } else { Vec::new() }, true));
        }
        let start = match multi.lower {
            Some((key, true)) => key,
            Some((key, false)) => layout::prefix_successor(&key).unwrap_or_default(),
            None => Vec::new(),
        };
        let end = match multi.upper {
            Some((key, true)) => layout::prefix_successor(&key),
            Some((key, false)) => Some(key),
            None => None,
        };
        Ok((vec![ClusteringRange { start, end }], Vec::new(), true))
    }

    fn partition_selection(
        &self,
        per_column: &mut [ColumnRestriction],
        token: Option<(Bound<i64>, Bound<i64>)>,
        filters: &mut Vec<Filter>,
    ) -> CqlResult<PartitionSelection> {
        let pk = self.table.partition_key_indexes();
        let restricted: Vec<bool> = pk.iter().map(|i| per_column[*i].values.is_some()).collect();
        if restricted.iter().all(|r| *r) && token.is_none() {
            let mut keys: Vec<Vec<Vec<u8>>> = vec![Vec::new()];
            for i in &pk {
                let values = per_column[*i].values.take().unwrap_or_default();
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
            keys.sort_by(|a, b| (a.token, &a.bytes).cmp(&(b.token, &b.bytes)));
            keys.dedup();
            return Ok(PartitionSelection::Keys(keys));
        }
        if restricted.iter().any(|r| *r) {
            if !self.allow_filtering {
                return Err(CqlError::invalid(FILTERING_MESSAGE));
            }
            for i in &pk {
                if let Some(values) = per_column[*i].values.take() {
                    filters.push(Filter {
                        column: *i,
                        op: FilterOp::In(values),
                    });
                }
            }
        }
        let (start, end) = token.unwrap_or((Bound::Unbounded, Bound::Unbounded));
        Ok(PartitionSelection::TokenRange { start, end })
    }

    /// Builds clustering slices from EQ/IN prefixes and at most one trailing range.
    #[allow(clippy::type_complexity)]
    fn clustering(
        &self,
        per_column: &mut [ColumnRestriction],
        partitions: &PartitionSelection,
        filters: &mut Vec<Filter>,
    ) -> CqlResult<(Vec<ClusteringRange>, Vec<Vec<u8>>, bool)> {
        let clustering = self.table.clustering_indexes();
        let any = clustering.iter().any(|i| {
            let r = &per_column[*i];
            r.values.is_some() || r.lower.is_some() || r.upper.is_some()
        });
        if any && matches!(partitions, PartitionSelection::TokenRange { .. }) {
            if !self.allow_filtering {
                return Err(CqlError::invalid(FILTERING_MESSAGE));
            }
            for i in &clustering {
                self.push_slice_filters(*i, std::mem::take(&mut per_column[*i]), filters);
            }
            return Ok((
                vec![ClusteringRange {
                    start: Vec::new(),
                    end: None,
                }],
                Vec::new(),
                true,
            ));
        }
        let mut prefixes: Vec<Vec<u8>> = vec![Vec::new()];
        let mut eq_columns = 0;
        let mut range: Option<(usize, ColumnRestriction)> = None;
        for (position, i) in clustering.iter().enumerate() {
            let r = std::mem::take(&mut per_column[*i]);
            let desc = self.table.def.columns[*i].order == ClusteringOrder::Desc;
            if range.is_some() || position > eq_columns {
                if r.values.is_some() || r.lower.is_some() || r.upper.is_some() {
                    if !self.allow_filtering {
                        let name = &self.table.def.columns[*i].name;
                        let previous = &self.table.def.columns[clustering[position - 1]].name;
                        return Err(CqlError::invalid(format!(
                            "PRIMARY KEY column \"{name}\" cannot be restricted as preceding column \"{previous}\" is not restricted"
                        )));
                    }
                    self.push_slice_filters(*i, r, filters);
                }
                continue;
            }
            if let Some(values) = r.values {
                let mut sorted = values;
                sorted.sort_by(|a, b| types::compare_values(&self.table.types[*i], a, b));
                sorted.dedup();
                let mut next = Vec::with_capacity(prefixes.len() * sorted.len());
                for prefix in &prefixes {
                    for v in &sorted {
                        let mut p = prefix.clone();
                        types::encode_key_component(&self.table.types[*i], v, desc, &mut p)?;
                        next.push(p);
                    }
                }
                if desc {
                    next.sort();
                }
                prefixes = next;
                eq_columns += 1;
            } else if r.lower.is_some() || r.upper.is_some() {
                range = Some((*i, r));
            }
        }
        let fully = eq_columns == clustering.len() && !clustering.is_empty();
        let slices = match range {
            None => prefixes
                .iter()
                .map(|p| ClusteringRange::prefix(p))
                .collect(),
            Some((i, r)) => prefixes
                .iter()
                .map(|p| self.range_slice(i, p, &r))
                .collect::<CqlResult<Vec<_>>>()?,
        };
        let clusterings = if fully { prefixes } else { Vec::new() };
        Ok((slices, clusterings, any))
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
    fn range_slice(
        &self,
        column: usize,
        prefix: &[u8],
        r: &ColumnRestriction,
    ) -> CqlResult<ClusteringRange> {
        let desc = self.table.def.columns[column].order == ClusteringOrder::Desc;
        let ty = &self.table.types[column];
        let encode = |v: &[u8]| -> CqlResult<Vec<u8>> {
            let mut key = prefix.to_vec();
            types::encode_key_component(ty, v, desc, &mut key)?;
            Ok(key)
        };
        // In a DESC column larger values sort first, so the bounds swap ends.
        let (low, high) = if desc {
            (&r.upper, &r.lower)
        } else {
            (&r.lower, &r.upper)
        };
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

    fn regular_filters(
        &self,
        per_column: Vec<ColumnRestriction>,
        filters: &mut Vec<Filter>,
    ) -> CqlResult<()> {
        for (i, r) in per_column.into_iter().enumerate() {
            if r.values.is_none() && r.lower.is_none() && r.upper.is_none() {
                continue;
            }
            self.push_slice_filters(i, r, filters);
        }
        let needs_filtering = filters.iter().any(|f| {
            matches!(
                self.table.def.columns[f.column].kind,
                ColumnKind::Regular | ColumnKind::Static
            )
        });
        if needs_filtering && !self.allow_filtering {
            return Err(CqlError::invalid(FILTERING_MESSAGE));
        }
        Ok(())
    }
}
