//! Restrictions on clustering columns, single- and multi-column, merged and checked in
//! query order as Cassandra 5.0's `ClusteringColumnRestrictions` does (same messages),
//! then turned into engine slices (an EQ/IN prefix and at most one trailing slice) and
//! row filters for the rest.
//!
//! A tuple slice `(c1, ..., cn) > (v1, ..., vn)` compares tuples by value whatever the
//! clustering order of each column (CASSANDRA-7281): it is the union over `i` of
//! `c1 = v1 ∧ … ∧ c(i-1) = v(i-1) ∧ ci > vi` (`>=` for the last term of an inclusive
//! bound), each term one engine range; the ranges of a lower and an upper bound are
//! intersected pairwise.

use super::{Analyzer, Filter, FilterOp, FILTERING_MESSAGE};
use crate::cql::ast::{InValues, Operator, Predicate, Term};
use crate::error::{CqlError, CqlResult};
use crate::exec::expr::collections;
use crate::exec::expr::eval::{evaluate, Evaluated, Receiver};
use crate::schema::{ClusteringOrder, ColumnDef};
use crate::storage::{layout, ClusteringRange};
use crate::types::{self, CqlType};

/// One bound of a slice over the first `values.len()` restricted columns.
#[derive(Clone, Debug)]
pub struct TupleBound {
    pub values: Vec<Vec<u8>>,
    pub inclusive: bool,
}

#[derive(Clone, Debug)]
pub enum ClusteringKind {
    /// `=` (one tuple) or `IN` (any number of tuples), each of `width` values.
    Values {
        tuples: Vec<Vec<Vec<u8>>>,
        is_in: bool,
    },
    Slice {
        lower: Option<TupleBound>,
        upper: Option<TupleBound>,
    },
}

impl ClusteringKind {
    /// The one-sided slice `columns op values`: `>` and `>=` bound it from below, `<` and
    /// `<=` from above (`op` is one of these four).
    pub fn slice(op: Operator, values: Vec<Vec<u8>>) -> ClusteringKind {
        let bound = TupleBound {
            values,
            inclusive: matches!(op, Operator::LtEq | Operator::GtEq),
        };
        if matches!(op, Operator::Gt | Operator::GtEq) {
            ClusteringKind::Slice {
                lower: Some(bound),
                upper: None,
            }
        } else {
            ClusteringKind::Slice {
                lower: None,
                upper: Some(bound),
            }
        }
    }
}

/// A restriction on `width` consecutive clustering columns from position `start`.
#[derive(Clone, Debug)]
pub struct ClusteringRestriction {
    pub start: usize,
    pub width: usize,
    pub multi: bool,
    pub kind: ClusteringKind,
}

impl ClusteringRestriction {
    pub fn single(position: usize, kind: ClusteringKind) -> ClusteringRestriction {
        ClusteringRestriction {
            start: position,
            width: 1,
            multi: false,
            kind,
        }
    }

    fn is_slice(&self) -> bool {
        matches!(self.kind, ClusteringKind::Slice { .. })
    }

    fn end(&self) -> usize {
        self.start + self.width
    }

    fn overlaps(&self, other: &ClusteringRestriction) -> bool {
        self.start < other.end() && other.start < self.end()
    }
}

/// The clustering part of an analysed WHERE clause.
pub struct ClusteringPlan {
    pub slices: Vec<ClusteringRange>,
    /// Encoded clusterings when every clustering column has EQ/IN values.
    pub clusterings: Vec<Vec<u8>>,
    pub restricted: bool,
    /// Some restriction does not extend a prefix of the clustering (a gap, or a relation
    /// after a slice): Cassandra's `ClusteringColumnRestrictions.needFiltering`.
    pub needs_filtering: bool,
}

fn invalid(message: String) -> CqlError {
    CqlError::invalid(message)
}

/// The `width` fields of a bound tuple value (missing trailing fields are null).
fn tuple_fields(bytes: &[u8], width: usize) -> Option<Vec<Option<Vec<u8>>>> {
    let mut fields: Vec<Option<Vec<u8>>> = types::split_fields(bytes, width)
        .ok()?
        .into_iter()
        .map(|f| f.map(<[u8]>::to_vec))
        .collect();
    fields.resize(width, None);
    Some(fields)
}

impl Analyzer<'_> {
    /// The table index, definition and type of the clustering column at `position`.
    fn clustering_column(&self, position: usize) -> CqlResult<(usize, &ColumnDef, &CqlType)> {
        let index = self
            .table
            .clustering_indexes()
            .get(position)
            .copied()
            .ok_or_else(|| CqlError::Server(format!("no clustering column {position}")))?;
        let (column, ty) = self.table.column(index)?;
        Ok((index, column, ty))
    }

    /// The name of the clustering column at `position` (one a restriction covers).
    fn clustering_name(&self, position: usize) -> &str {
        self.clustering_column(position)
            .map_or("", |(_, column, _)| column.name.as_str())
    }

    fn common_names(&self, a: &ClusteringRestriction, b: &ClusteringRestriction) -> String {
        (a.start.max(b.start)..a.end().min(b.end()))
            .map(|p| self.clustering_name(p))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Adds a restriction given after `list`'s: merges it with the one on the same
    /// columns, then checks the order rules against the restrictions given before it.
    pub fn add_clustering(
        &self,
        list: &mut Vec<ClusteringRestriction>,
        new: ClusteringRestriction,
    ) -> CqlResult<()> {
        let last = list.iter().max_by_key(|r| r.start).cloned();
        let restricted: Vec<usize> = list.iter().flat_map(|r| r.start..r.end()).collect();
        match list.iter_mut().find(|r| r.overlaps(&new)) {
            Some(existing) => *existing = self.merge_clustering(existing, new.clone())?,
            None => list.push(new.clone()),
        }
        let Some(last) = last.filter(|_| !self.allow_filtering) else {
            return Ok(());
        };
        if last.is_slice() && new.start > last.start {
            return Err(invalid(format!(
                "Clustering column \"{}\" cannot be restricted (preceding column \"{}\" is restricted by a non-EQ relation)",
                self.clustering_name(new.start),
                self.clustering_name(new.start - 1)
            )));
        }
        if new.start < last.start && new.is_slice() {
            let next = restricted
                .iter()
                .filter(|p| **p > new.start)
                .min()
                .copied()
                .unwrap_or(last.start);
            return Err(invalid(format!(
                "PRIMARY KEY column \"{}\" cannot be restricted (preceding column \"{}\" is restricted by a non-EQ relation)",
                self.clustering_name(next),
                self.clustering_name(new.start)
            )));
        }
        Ok(())
    }

    fn merge_clustering(
        &self,
        old: &ClusteringRestriction,
        new: ClusteringRestriction,
    ) -> CqlResult<ClusteringRestriction> {
        if old.multi != new.multi {
            return Err(CqlError::invalid(
                "Mixing single column relations and multi column relations on clustering columns is not allowed",
            ));
        }
        let common = self.common_names(old, &new);
        match (&old.kind, new.kind) {
            (ClusteringKind::Values { is_in: false, .. }, _) => Err(invalid(format!(
                "{common} cannot be restricted by more than one relation if it includes an Equal"
            ))),
            (ClusteringKind::Values { is_in: true, .. }, _) => Err(invalid(format!(
                "{common} cannot be restricted by more than one relation if it includes a IN"
            ))),
            (ClusteringKind::Slice { .. }, ClusteringKind::Values { .. }) => Err(invalid(format!(
                "Column \"{common}\" cannot be restricted by both an equality and an inequality relation"
            ))),
            (
                ClusteringKind::Slice { lower, upper },
                ClusteringKind::Slice { lower: new_lower, upper: new_upper },
            ) => {
                if old.start != new.start {
                    return Err(invalid(format!(
                        "Column \"{}\" cannot be restricted by two tuple-notation inequalities not starting with the same column",
                        self.clustering_name(old.start.max(new.start))
                    )));
                }
                if lower.is_some() && new_lower.is_some() {
                    return Err(invalid(format!(
                        "More than one restriction was found for the start bound on {common}"
                    )));
                }
                if upper.is_some() && new_upper.is_some() {
                    return Err(invalid(format!(
                        "More than one restriction was found for the end bound on {common}"
                    )));
                }
                Ok(ClusteringRestriction {
                    start: old.start,
                    width: old.width.max(new.width),
                    multi: old.multi,
                    kind: ClusteringKind::Slice {
                        lower: lower.clone().or(new_lower),
                        upper: upper.clone().or(new_upper),
                    },
                })
            }
        }
    }

    /// `(c1, ..., cn) op ...`: a restriction on consecutive clustering columns.
    pub fn multi_column_restriction(
        &self,
        columns: &[String],
        predicate: &Predicate,
        text: &str,
    ) -> CqlResult<ClusteringRestriction> {
        // Cassandra refuses the operator before looking at the columns.
        if matches!(predicate, Predicate::Compare(Operator::NotEq, _)) {
            return Err(invalid(format!("Unsupported \"!=\" relation: {text}")));
        }
        let clustering = self.table.clustering_indexes();
        let mut positions = Vec::with_capacity(columns.len());
        for name in columns {
            let index = self.column_index(name)?;
            match clustering.iter().position(|c| *c == index) {
                Some(p) => positions.push(p),
                None => {
                    return Err(invalid(format!(
                        "Multi-column relations can only be applied to clustering columns but was applied to: {name}"
                    )))
                }
            }
        }
        // The parser gives a multi-column relation at least one column.
        let Some(&start) = positions.first() else {
            return Err(invalid(format!(
                "No column in multi-column relation: {text}"
            )));
        };
        if positions.iter().enumerate().any(|(i, p)| *p != start + i) {
            return Err(invalid(format!(
                "Clustering columns must appear in the PRIMARY KEY order in multi-column relations: {text}"
            )));
        }
        let width = positions.len();
        let kind = match predicate {
            Predicate::Compare(Operator::Eq, term) => ClusteringKind::Values {
                tuples: vec![self.tuple_values(start, width, term, false)?],
                is_in: false,
            },
            Predicate::Compare(
                op @ (Operator::Lt | Operator::LtEq | Operator::Gt | Operator::GtEq),
                term,
            ) => ClusteringKind::slice(*op, self.tuple_values(start, width, term, false)?),
            Predicate::Compare(Operator::NotEq, _) => {
                return Err(invalid(format!("Unsupported \"!=\" relation: {text}")))
            }
            Predicate::Compare(op, _) => {
                return Err(invalid(format!("Unsupported \"{op}\" relation: {text}")))
            }
            Predicate::In(InValues::Terms(terms)) => {
                let tuples = terms
                    .iter()
                    .map(|t| self.tuple_values(start, width, t, true))
                    .collect::<CqlResult<Vec<_>>>()?;
                ClusteringKind::Values {
                    tuples,
                    is_in: true,
                }
            }
            Predicate::In(InValues::Marker(marker)) => ClusteringKind::Values {
                tuples: self.tuple_list(start, width, &Term::Bind(marker.clone()))?,
                is_in: true,
            },
        };
        Ok(ClusteringRestriction {
            start,
            width,
            multi: true,
            kind,
        })
    }

    fn tuple_type(&self, start: usize, width: usize) -> CqlResult<CqlType> {
        Ok(CqlType::Tuple(
            (start..start + width)
                .map(|p| Ok(self.clustering_column(p)?.2.clone()))
                .collect::<CqlResult<_>>()?,
        ))
    }

    fn tuple_label(&self, start: usize, width: usize) -> String {
        (start..start + width)
            .map(|p| self.clustering_name(p))
            .collect::<Vec<_>>()
            .join(",")
    }

    fn null_in_condition(
        &self,
        start: usize,
        width: usize,
        position: usize,
        in_list: bool,
    ) -> CqlError {
        if in_list {
            let names: Vec<&str> = (start..start + width)
                .map(|p| self.clustering_name(p))
                .collect();
            invalid(format!(
                "Invalid null value in condition for columns: [{}]",
                names.join(", ")
            ))
        } else {
            invalid(format!(
                "Invalid null value in condition for column {}",
                self.clustering_name(position)
            ))
        }
    }

    /// The values of one tuple: a literal `(v1, ..., vn)` or a marker bound to a tuple.
    fn tuple_values(
        &self,
        start: usize,
        width: usize,
        term: &Term,
        in_list: bool,
    ) -> CqlResult<Vec<Vec<u8>>> {
        if let Term::Tuple(items) = term {
            if items.len() != width {
                return Err(invalid(format!(
                    "Expected {width} elements in value tuple, but got {}: {term}",
                    items.len()
                )));
            }
            return items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    let (_, column, ty) = self.clustering_column(start + i)?;
                    let receiver = Receiver {
                        name: &column.name,
                        ty,
                    };
                    match evaluate(item, &receiver, self.bound)? {
                        Evaluated::Value(v) => Ok(v),
                        Evaluated::Null => {
                            Err(self.null_in_condition(start, width, start + i, in_list))
                        }
                        Evaluated::Unset => Err(invalid(format!(
                            "Invalid unset value for tuple field number {i}"
                        ))),
                    }
                })
                .collect();
        }
        let ty = self.tuple_type(start, width)?;
        let label = format!("({})", self.tuple_label(start, width));
        let receiver = Receiver {
            name: &label,
            ty: &ty,
        };
        match evaluate(term, &receiver, self.bound)? {
            Evaluated::Value(bytes) => {
                let fields = tuple_fields(&bytes, width)
                    .ok_or_else(|| invalid(format!("Invalid tuple value for {label}")))?;
                fields
                    .into_iter()
                    .enumerate()
                    .map(|(i, f)| {
                        f.ok_or_else(|| self.null_in_condition(start, width, start + i, in_list))
                    })
                    .collect()
            }
            Evaluated::Null => Err(self.null_in_condition(start, width, start, true)),
            Evaluated::Unset => Err(invalid(format!("Invalid unset value for tuple {label}"))),
        }
    }

    /// `(c1, ..., cn) IN ?`: a list of tuples.
    fn tuple_list(&self, start: usize, width: usize, term: &Term) -> CqlResult<Vec<Vec<Vec<u8>>>> {
        let ty = CqlType::List {
            element: Box::new(self.tuple_type(start, width)?),
            frozen: false,
        };
        let label = format!("in({})", self.tuple_label(start, width));
        let receiver = Receiver {
            name: &label,
            ty: &ty,
        };
        let bytes = match evaluate(term, &receiver, self.bound)? {
            Evaluated::Value(bytes) => bytes,
            Evaluated::Null => return Err(invalid(format!("Invalid null value for {label}"))),
            Evaluated::Unset => return Err(invalid(format!("Invalid unset value for {label}"))),
        };
        collections::elements(&bytes)?
            .iter()
            .map(|element| {
                tuple_fields(element, width)
                    .ok_or_else(|| invalid(format!("Invalid tuple value for {label}")))?
                    .into_iter()
                    .enumerate()
                    .map(|(i, f)| {
                        f.ok_or_else(|| self.null_in_condition(start, width, start + i, true))
                    })
                    .collect()
            })
            .collect()
    }

    /// Slices, full clusterings and filters of the clustering restrictions.
    pub fn clustering_plan(
        &self,
        mut list: Vec<ClusteringRestriction>,
        single_partitions: bool,
        filters: &mut Vec<Filter>,
    ) -> CqlResult<ClusteringPlan> {
        let full = || {
            vec![ClusteringRange {
                start: Vec::new(),
                end: None,
            }]
        };
        if list.is_empty() {
            return Ok(ClusteringPlan {
                slices: full(),
                clusterings: Vec::new(),
                restricted: false,
                needs_filtering: false,
            });
        }
        list.sort_by_key(|r| r.start);
        let mut position = 0;
        let needs_filtering = list.iter().any(|r| {
            let gap = r.start != position;
            if !r.is_slice() {
                position = r.end();
            }
            gap
        });
        if needs_filtering && !self.allow_filtering && !self.indexed {
            let mut restricted: Vec<usize> = list.iter().flat_map(|r| r.start..r.end()).collect();
            restricted.sort_unstable();
            for (i, p) in restricted.iter().enumerate() {
                if *p != i {
                    return Err(invalid(format!(
                        "PRIMARY KEY column \"{}\" cannot be restricted as preceding column \"{}\" is not restricted",
                        self.clustering_name(*p),
                        self.clustering_name(i)
                    )));
                }
            }
            return Err(CqlError::invalid(FILTERING_MESSAGE));
        }
        if !single_partitions {
            if !self.allow_filtering {
                return Err(CqlError::invalid(FILTERING_MESSAGE));
            }
            for r in list {
                self.push_clustering_filter(r, filters);
            }
            return Ok(ClusteringPlan {
                slices: full(),
                clusterings: Vec::new(),
                restricted: true,
                needs_filtering,
            });
        }
        let mut prefixes: Vec<Vec<u8>> = vec![Vec::new()];
        let mut position = 0;
        let mut slices = None;
        for r in list {
            if slices.is_some() || r.start != position {
                self.push_clustering_filter(r, filters);
                continue;
            }
            match &r.kind {
                ClusteringKind::Values { tuples, .. } => {
                    let mut encoded = tuples
                        .iter()
                        .map(|t| self.encode_prefix(&[], r.start, t))
                        .collect::<CqlResult<Vec<_>>>()?;
                    encoded.sort();
                    encoded.dedup();
                    prefixes = prefixes
                        .iter()
                        .flat_map(|p| encoded.iter().map(move |e| [p.as_slice(), e].concat()))
                        .collect();
                    position = r.end();
                }
                ClusteringKind::Slice { lower, upper } => {
                    let mut ranges = Vec::new();
                    for prefix in &prefixes {
                        ranges.extend(self.slice_ranges(
                            prefix,
                            r.start,
                            lower.as_ref(),
                            upper.as_ref(),
                        )?);
                    }
                    slices = Some(ranges);
                }
            }
        }
        let complete = slices.is_none() && position == self.table.def.clustering.len();
        let slices = slices.unwrap_or_else(|| {
            prefixes
                .iter()
                .map(|p| ClusteringRange::prefix(p))
                .collect()
        });
        Ok(ClusteringPlan {
            slices,
            clusterings: if complete { prefixes } else { Vec::new() },
            restricted: true,
            needs_filtering,
        })
    }

    fn encode_prefix(&self, prefix: &[u8], start: usize, values: &[Vec<u8>]) -> CqlResult<Vec<u8>> {
        let mut key = prefix.to_vec();
        for (i, value) in values.iter().enumerate() {
            let (_, column, ty) = self.clustering_column(start + i)?;
            let desc = column.order == ClusteringOrder::Desc;
            types::encode_key_component(ty, value, desc, &mut key)?;
        }
        Ok(key)
    }

    /// The engine ranges, after `prefix`, of the tuples from position `start` within the
    /// bounds, in engine order.
    fn slice_ranges(
        &self,
        prefix: &[u8],
        start: usize,
        lower: Option<&TupleBound>,
        upper: Option<&TupleBound>,
    ) -> CqlResult<Vec<ClusteringRange>> {
        let whole = || {
            vec![ClusteringRange {
                start: prefix.to_vec(),
                end: layout::prefix_successor(prefix),
            }]
        };
        let lows = match lower {
            Some(b) => self.bound_ranges(prefix, start, b, true)?,
            None => whole(),
        };
        let highs = match upper {
            Some(b) => self.bound_ranges(prefix, start, b, false)?,
            None => whole(),
        };
        let mut out = Vec::new();
        for a in &lows {
            for b in &highs {
                let begin = a.start.clone().max(b.start.clone());
                let end = match (&a.end, &b.end) {
                    (Some(x), Some(y)) => Some(x.min(y).clone()),
                    (Some(x), None) | (None, Some(x)) => Some(x.clone()),
                    (None, None) => None,
                };
                if end.as_ref().is_none_or(|e| begin < *e) {
                    out.push(ClusteringRange { start: begin, end });
                }
            }
        }
        out.sort_by(|x, y| x.start.cmp(&y.start));
        Ok(out)
    }

    /// One bound as disjoint engine ranges: for each `i`, the first `i` columns equal to
    /// the bound's values and column `i` beyond value `i`.
    fn bound_ranges(
        &self,
        prefix: &[u8],
        start: usize,
        bound: &TupleBound,
        lower: bool,
    ) -> CqlResult<Vec<ClusteringRange>> {
        let n = bound.values.len();
        let mut out = Vec::with_capacity(n);
        for (i, value) in bound.values.iter().enumerate() {
            let before = bound.values.get(..i).unwrap_or_default();
            let equal = self.encode_prefix(prefix, start, before)?;
            let (index, _, _) = self.clustering_column(start + i)?;
            let inclusive = i + 1 == n && bound.inclusive;
            let value = (value.clone(), inclusive);
            let (lo, hi) = if lower {
                (Some(value), None)
            } else {
                (None, Some(value))
            };
            out.push(self.range_slice(index, &equal, &lo, &hi)?);
        }
        Ok(out)
    }

    fn push_clustering_filter(&self, r: ClusteringRestriction, filters: &mut Vec<Filter>) {
        let clustering = self.table.clustering_indexes();
        let columns: Vec<usize> = clustering
            .get(r.start..r.end())
            .unwrap_or_default()
            .to_vec();
        // A restriction covers at least one column.
        let Some(&column) = columns.first() else {
            return;
        };
        let op = match (r.multi, r.kind) {
            (false, ClusteringKind::Values { tuples, .. }) => {
                FilterOp::In(tuples.into_iter().filter_map(|mut t| t.pop()).collect())
            }
            (true, ClusteringKind::Values { tuples, .. }) => FilterOp::TupleIn { columns, tuples },
            (_, ClusteringKind::Slice { lower, upper }) => FilterOp::TupleSlice {
                columns,
                lower,
                upper,
            },
        };
        filters.push(Filter { column, op });
    }
}
