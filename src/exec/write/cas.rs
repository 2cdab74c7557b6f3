//! Lightweight transactions: `IF NOT EXISTS`, `IF EXISTS`, `IF <conditions>` and their
//! `[applied]` results, evaluated on the partition read under `Coordinator::cas`.
//!
//! Invariants:
//! - Conditions are checked and the write is chosen inside the coordinator's `cas`
//!   callback, on the partition state read under the partition's lock, never on an
//!   earlier read.
//! - Results have Cassandra's shape: `[applied]` alone on success or when the row a
//!   condition needed does not exist; otherwise `[applied]` followed by the condition
//!   columns in IF order (`IF NOT EXISTS`: every column), batches prefixed with the
//!   primary key columns.

use std::cmp::Ordering;

use bytes::Bytes;
use strata_protocol::{ColumnSpec, ResultBody, Rows, RowsMetadata};

use crate::cluster::{Branch, ReadCommand};
use crate::cql::ast::{
    Condition, ConditionSelection, InValues, Operator, Predicate, UpdateCondition,
};
use crate::error::{CqlError, CqlResult};
use crate::exec::expr::collections::{contains, elements};
use crate::exec::expr::eval::{evaluate, BoundValues, Evaluated, Receiver};
use crate::exec::plan::restrict::PartitionKey;
use crate::schema::{ColumnKind, Table};
use crate::storage::{CellData, ClusteringRange, Decoded, Row};
use crate::types::{compare_values, CqlType, NativeType};

/// A partition as read for a conditional or read-before-write statement.
#[derive(Clone, Debug, Default)]
pub struct PartitionData {
    pub statics: Vec<(String, CellData)>,
    pub rows: Vec<Row>,
}

impl PartitionData {
    pub fn from_items(items: Vec<Decoded>) -> PartitionData {
        let mut data = PartitionData::default();
        for item in items {
            match item {
                Decoded::Static(cells) => data.statics = cells,
                Decoded::Row(row) => data.rows.push(row),
                Decoded::PartitionStart { .. } => {}
            }
        }
        data
    }

    pub fn row(&self, clustering: &[u8]) -> Option<&Row> {
        self.rows.iter().find(|r| r.clustering == clustering)
    }

    /// The current cell of a column: static columns from the static row, others from
    /// the row at `clustering`.
    pub fn cell(
        &self,
        table: &Table,
        index: usize,
        clustering: Option<&[u8]>,
    ) -> Option<&CellData> {
        let column = table.def.columns.get(index)?;
        if column.kind == ColumnKind::Static {
            return self
                .statics
                .iter()
                .find(|(n, _)| *n == column.name)
                .map(|(_, c)| c);
        }
        self.row(clustering?)?.cell(&column.name)
    }

    /// Whether the row (or, with `None`, the static row) exists.
    fn exists(&self, clustering: Option<&[u8]>) -> bool {
        match clustering {
            Some(c) => self.row(c).is_some(),
            None => !self.statics.is_empty(),
        }
    }
}

/// A read of the rows `clusterings` (and the static row) of one partition.
pub fn partition_read(
    table: &std::sync::Arc<Table>,
    branch: Branch,
    key: &PartitionKey,
    clusterings: &[Vec<u8>],
) -> ReadCommand {
    let slices = clusterings
        .iter()
        .map(|c| ClusteringRange::prefix(c))
        .collect();
    ReadCommand::partition(table, branch, key.token, key.bytes.clone(), slices)
}

/// Where a condition looks inside its column.
#[derive(Clone, Debug)]
enum ConditionPath {
    MapKey(Vec<u8>),
    ListIndex(i32),
    Field(usize),
}

#[derive(Clone, Debug)]
pub struct ColumnCondition {
    column: usize,
    path: Option<ConditionPath>,
    operator: Operator,
    /// One operand, or the IN list.
    operands: Vec<Option<Vec<u8>>>,
    is_in: bool,
}

/// The condition of one conditional statement.
#[derive(Clone, Debug)]
pub enum CasCondition {
    NotExists,
    Exists,
    Columns(Vec<ColumnCondition>),
}

impl CasCondition {
    pub fn resolve(
        table: &Table,
        condition: &UpdateCondition,
        bound: &BoundValues,
    ) -> CqlResult<CasCondition> {
        match condition {
            UpdateCondition::Exists => Ok(CasCondition::Exists),
            UpdateCondition::Conditions(conditions) => Ok(CasCondition::Columns(
                conditions
                    .iter()
                    .map(|c| column_condition(table, c, bound))
                    .collect::<CqlResult<_>>()?,
            )),
        }
    }

    /// Whether only static columns are conditioned (then the static row is checked).
    pub fn is_static_only(&self, table: &Table) -> bool {
        match self {
            CasCondition::Columns(c) => c.iter().all(|c| {
                table
                    .def
                    .columns
                    .get(c.column)
                    .is_some_and(|column| column.kind == ColumnKind::Static)
            }),
            _ => false,
        }
    }

    pub fn holds(
        &self,
        table: &Table,
        data: &PartitionData,
        clustering: Option<&[u8]>,
    ) -> CqlResult<bool> {
        match self {
            CasCondition::NotExists => Ok(!data.exists(clustering)),
            CasCondition::Exists => Ok(data.exists(clustering)),
            CasCondition::Columns(conditions) => {
                for condition in conditions {
                    let (_, ty) = table.column(condition.column)?;
                    let current = data
                        .cell(table, condition.column, clustering)
                        .map(|c| c.value.as_slice());
                    if !condition.holds(ty, current)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
        }
    }

    /// The columns shown on failure (`None`: every column).
    fn columns(&self) -> Option<Vec<usize>> {
        match self {
            CasCondition::NotExists => None,
            CasCondition::Exists => Some(Vec::new()),
            CasCondition::Columns(c) => {
                let mut out: Vec<usize> = Vec::new();
                for index in c.iter().map(|c| c.column) {
                    if !out.contains(&index) {
                        out.push(index);
                    }
                }
                Some(out)
            }
        }
    }
}

fn column_condition(
    table: &Table,
    condition: &Condition,
    bound: &BoundValues,
) -> CqlResult<ColumnCondition> {
    let index = table
        .column_index(&condition.column)
        .ok_or_else(|| CqlError::invalid(format!("Undefined column name {}", condition.column)))?;
    let (column, ty) = table.column(index)?;
    if matches!(
        column.kind,
        ColumnKind::PartitionKey | ColumnKind::Clustering
    ) {
        return Err(CqlError::invalid(format!(
            "PRIMARY KEY column '{}' cannot have IF conditions",
            column.name
        )));
    }
    let int = CqlType::Native(NativeType::Int);
    let (path, operand_ty) = match (&condition.selection, ty) {
        (None, ty) => (None, ty),
        (Some(ConditionSelection::Element(term)), CqlType::Map { key, value, .. }) => {
            let k = required(term, key, &column.name, "map", bound)?;
            (Some(ConditionPath::MapKey(k)), value.as_ref())
        }
        (Some(ConditionSelection::Element(term)), CqlType::List { element, .. }) => {
            let i = required(term, &int, &column.name, "list", bound)?;
            let i = i32::from_be_bytes(
                i.as_slice()
                    .try_into()
                    .map_err(|_| CqlError::invalid("Invalid list index"))?,
            );
            if i < 0 {
                return Err(CqlError::invalid(format!(
                    "Invalid negative list index {i}"
                )));
            }
            (Some(ConditionPath::ListIndex(i)), element.as_ref())
        }
        (Some(ConditionSelection::Element(_)), _) => {
            return Err(CqlError::invalid(format!(
                "Invalid element access syntax for non-collection column {}",
                column.name
            )))
        }
        (Some(ConditionSelection::Field(field)), CqlType::Udt { def, .. }) => {
            let (position, (_, field_ty)) = def
                .fields
                .iter()
                .enumerate()
                .find(|(_, (n, _))| n == field.as_str())
                .ok_or_else(|| {
                    CqlError::invalid(format!("Unknown field {field} for column {}", column.name))
                })?;
            (Some(ConditionPath::Field(position)), field_ty)
        }
        (Some(ConditionSelection::Field(_)), _) => {
            return Err(CqlError::invalid(format!(
                "Invalid field selection: {} of type {ty} is not a user type",
                column.name
            )))
        }
    };
    // CONTAINS compares with an element (a map's value), CONTAINS KEY with a map's key.
    let element_ty = match (&condition.predicate, operand_ty) {
        (Predicate::Compare(Operator::ContainsKey, _), CqlType::Map { key, .. }) => {
            Some(key.as_ref())
        }
        (Predicate::Compare(Operator::ContainsKey, _), _) => {
            return Err(CqlError::invalid(format!(
                "Cannot use CONTAINS KEY on non-map column {}",
                column.name
            )))
        }
        (Predicate::Compare(Operator::Contains, _), CqlType::Map { value, .. }) => {
            Some(value.as_ref())
        }
        (
            Predicate::Compare(Operator::Contains, _),
            CqlType::List { element, .. } | CqlType::Set { element, .. },
        ) => Some(element.as_ref()),
        (Predicate::Compare(Operator::Contains, _), _) => {
            return Err(CqlError::invalid(format!(
                "Cannot use CONTAINS on non-collection column {}",
                column.name
            )))
        }
        _ => None,
    };
    let receiver = Receiver {
        name: &column.name,
        ty: element_ty.unwrap_or(operand_ty),
    };
    let (operator, operands, is_in) = match &condition.predicate {
        // An unset element never is contained (Cassandra 5.0's testNonFrozenEmptyCollection):
        // no operand to match.
        Predicate::Compare(op @ (Operator::Contains | Operator::ContainsKey), term) => {
            match evaluate(term, &receiver, bound)? {
                Evaluated::Unset => (*op, Vec::new(), true),
                value => (*op, vec![value.into_option()], false),
            }
        }
        Predicate::Compare(op, term) => match evaluate(term, &receiver, bound)? {
            Evaluated::Unset => {
                return Err(CqlError::invalid("Invalid 'unset' value in condition"))
            }
            value => (*op, vec![value.into_option()], false),
        },
        Predicate::In(InValues::Terms(terms)) => {
            let values = terms
                .iter()
                .map(|t| evaluate(t, &receiver, bound).map(Evaluated::into_option))
                .collect::<CqlResult<_>>()?;
            (Operator::Eq, values, true)
        }
        Predicate::In(InValues::Marker(marker)) => {
            let list = CqlType::List {
                element: Box::new(operand_ty.clone()),
                frozen: true,
            };
            let term = crate::cql::ast::Term::Bind(marker.clone());
            let values = match evaluate(
                &term,
                &Receiver {
                    name: &column.name,
                    ty: &list,
                },
                bound,
            )? {
                Evaluated::Value(v) => elements(&v)?.into_iter().map(Some).collect(),
                Evaluated::Null => {
                    return Err(CqlError::invalid("Invalid null list in IN condition"))
                }
                Evaluated::Unset => {
                    return Err(CqlError::invalid("Invalid 'unset' value in condition"))
                }
            };
            (Operator::Eq, values, true)
        }
    };
    // A non-frozen collection has no empty value: an empty one compares as null.
    let operands = if path.is_none()
        && ty.is_multi_cell()
        && ty.is_collection()
        && matches!(operator, Operator::Eq | Operator::NotEq)
    {
        operands
            .into_iter()
            .map(|o| o.filter(|v| !elements(v).is_ok_and(|items| items.is_empty())))
            .collect()
    } else {
        operands
    };
    if operator == Operator::Like {
        return Err(CqlError::invalid(format!(
            "Unsupported operator {operator} in an IF condition"
        )));
    }
    if !matches!(operator, Operator::Eq | Operator::NotEq) && operands.iter().any(Option::is_none) {
        return Err(CqlError::invalid(format!(
            "Invalid comparison with null for operator \"{operator}\""
        )));
    }
    Ok(ColumnCondition {
        column: index,
        path,
        operator,
        operands,
        is_in,
    })
}

/// The key or index of `m[k]` / `l[i]` in a condition (`kind` is "map" or "list").
fn required(
    term: &crate::cql::ast::Term,
    ty: &CqlType,
    name: &str,
    kind: &str,
    bound: &BoundValues,
) -> CqlResult<Vec<u8>> {
    evaluate(term, &Receiver { name, ty }, bound)?
        .into_option()
        .ok_or_else(|| CqlError::invalid(format!("Invalid null value for {kind} element access")))
}

impl ColumnCondition {
    fn holds(&self, ty: &CqlType, current: Option<&[u8]>) -> CqlResult<bool> {
        let (ty, current) = match &self.path {
            // A missing non-frozen collection is an empty one when ordered (Cassandra 5.0
            // compares its cells, of which there are none): it sorts before any value.
            None if current.is_none()
                && ty.is_multi_cell()
                && ty.is_collection()
                && matches!(
                    self.operator,
                    Operator::Lt | Operator::LtEq | Operator::Gt | Operator::GtEq
                ) =>
            {
                (ty, Some(0i32.to_be_bytes().to_vec()))
            }
            None => (ty, current.map(<[u8]>::to_vec)),
            Some(path) => select(ty, path, current)?,
        };
        let matches = |operand: &Option<Vec<u8>>| match (current.as_deref(), operand.as_deref()) {
            (None, None) => self.operator == Operator::Eq,
            (None, Some(_)) | (Some(_), None) => self.operator == Operator::NotEq,
            (Some(c), Some(o))
                if matches!(self.operator, Operator::Contains | Operator::ContainsKey) =>
            {
                contains(ty, c, o, self.operator == Operator::ContainsKey)
            }
            (Some(c), Some(o)) => {
                let order = compare_values(ty, c, o);
                match self.operator {
                    Operator::Eq => order == Ordering::Equal,
                    Operator::NotEq => order != Ordering::Equal,
                    Operator::Lt => order == Ordering::Less,
                    Operator::LtEq => order != Ordering::Greater,
                    Operator::Gt => order == Ordering::Greater,
                    Operator::GtEq => order != Ordering::Less,
                    _ => false,
                }
            }
        };
        Ok(if self.is_in {
            self.operands.iter().any(matches)
        } else {
            self.operands.iter().all(matches)
        })
    }
}

/// The element, value or field a condition path selects, with its type.
fn select<'a>(
    ty: &'a CqlType,
    path: &ConditionPath,
    current: Option<&[u8]>,
) -> CqlResult<(&'a CqlType, Option<Vec<u8>>)> {
    let Some(current) = current else {
        let inner = match (ty, path) {
            (CqlType::Map { value, .. }, _) => value.as_ref(),
            (CqlType::List { element, .. }, _) => element.as_ref(),
            (CqlType::Udt { def, .. }, ConditionPath::Field(i)) => {
                def.fields.get(*i).map_or(ty, |(_, t)| t)
            }
            _ => ty,
        };
        return Ok((inner, None));
    };
    Ok(match (ty, path) {
        (CqlType::Map { key, value, .. }, ConditionPath::MapKey(k)) => {
            let items = elements(current)?;
            let found = items.chunks(2).find(|pair| {
                pair.first()
                    .is_some_and(|pk| compare_values(key, pk, k) == Ordering::Equal)
            });
            (value.as_ref(), found.and_then(|pair| pair.get(1)).cloned())
        }
        (CqlType::List { element, .. }, ConditionPath::ListIndex(i)) => {
            let items = elements(current)?;
            (
                element.as_ref(),
                usize::try_from(*i).ok().and_then(|i| items.get(i)).cloned(),
            )
        }
        (CqlType::Udt { def, .. }, ConditionPath::Field(i)) => {
            let field_ty = def.fields.get(*i).map_or(ty, |(_, t)| t);
            (
                field_ty,
                crate::exec::expr::subselect::udt_field(current, *i),
            )
        }
        _ => (ty, None),
    })
}

/// One checked row of a conditional statement or batch.
pub struct CheckedRow<'a> {
    pub condition: &'a CasCondition,
    /// `None`: the static row.
    pub clustering: Option<Vec<u8>>,
}

/// The `[applied]` result of a conditional statement (`is_batch`: conditions of a batch,
/// whose failure rows start with the primary key columns).
pub fn result(
    table: &Table,
    key: &PartitionKey,
    data: &PartitionData,
    checked: &[CheckedRow<'_>],
    applied: bool,
    is_batch: bool,
) -> CqlResult<ResultBody> {
    let bool_value = |b: bool| Some(Bytes::from_static(if b { &[1] } else { &[0] }));
    let applied_spec = spec(table, "[applied]", &CqlType::Native(NativeType::Boolean));
    if applied {
        return Ok(rows_body(vec![applied_spec], vec![vec![bool_value(true)]]));
    }
    let mut columns: Vec<usize> = Vec::new();
    let mut wildcard = false;
    for row in checked {
        match row.condition.columns() {
            None => wildcard = true,
            Some(c) => columns.extend(
                c.into_iter()
                    .filter(|i| !columns.contains(i))
                    .collect::<Vec<_>>(),
            ),
        }
    }
    if wildcard {
        columns = (0..table.def.columns.len()).collect();
    } else if is_batch {
        let key_columns: Vec<usize> = table
            .partition_key_indexes()
            .into_iter()
            .chain(table.clustering_indexes())
            .collect();
        columns.retain(|i| !key_columns.contains(i));
        columns = key_columns.into_iter().chain(columns).collect();
    }
    let mut rows = Vec::new();
    for clustering in shown_rows(data, checked) {
        let mut values = vec![bool_value(false)];
        values.extend(
            columns
                .iter()
                .map(|i| column_value(table, key, data, clustering, *i).map(Bytes::from)),
        );
        rows.push(values);
    }
    if rows.is_empty() {
        return Ok(rows_body(vec![applied_spec], vec![vec![bool_value(false)]]));
    }
    let mut specs = vec![applied_spec];
    for i in &columns {
        let (column, ty) = table.column(*i)?;
        specs.push(spec(table, &column.name, ty));
    }
    Ok(rows_body(specs, rows))
}

/// The rows a failed condition shows, as Cassandra shows the partition it read: each
/// checked row that exists once, in clustering order, with the static columns. Without
/// such a row, static content shows alone (`None`); a static-only check reads the
/// partition's first row, which then shows.
fn shown_rows<'a>(data: &'a PartitionData, checked: &[CheckedRow<'_>]) -> Vec<Option<&'a [u8]>> {
    let rows: Vec<Option<&[u8]>> = data
        .rows
        .iter()
        .map(|r| r.clustering.as_slice())
        .filter(|c| checked.iter().any(|r| r.clustering.as_deref() == Some(*c)))
        .map(Some)
        .collect();
    if !rows.is_empty() || checked.iter().all(|r| r.clustering.is_some()) {
        return rows;
    }
    if checked.iter().all(|r| r.clustering.is_none()) {
        if let Some(first) = data.rows.first() {
            return vec![Some(first.clustering.as_slice())];
        }
    }
    if data.exists(None) {
        vec![None]
    } else {
        Vec::new()
    }
}

fn column_value(
    table: &Table,
    key: &PartitionKey,
    data: &PartitionData,
    clustering: Option<&[u8]>,
    index: usize,
) -> Option<Vec<u8>> {
    let column = table.def.columns.get(index)?;
    match column.kind {
        ColumnKind::PartitionKey => {
            let position = table
                .partition_key_indexes()
                .iter()
                .position(|i| *i == index)?;
            key.components.get(position).cloned()
        }
        ColumnKind::Clustering => {
            let position = table
                .clustering_indexes()
                .iter()
                .position(|i| *i == index)?;
            data.row(clustering?)?
                .clustering_values
                .get(position)
                .cloned()
        }
        _ => data.cell(table, index, clustering).map(|c| c.value.clone()),
    }
}

fn spec(table: &Table, name: &str, ty: &CqlType) -> ColumnSpec {
    ColumnSpec {
        keyspace: table.def.keyspace.clone(),
        table: table.def.name.clone(),
        name: name.to_string(),
        col_type: ty.to_wire(),
    }
}

fn rows_body(columns: Vec<ColumnSpec>, rows: Vec<Vec<Option<Bytes>>>) -> ResultBody {
    let metadata = RowsMetadata {
        columns,
        paging_state: None,
        no_metadata: false,
        new_metadata_id: None,
    };
    ResultBody::Rows(Rows { metadata, rows })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn condition(
        operator: Operator,
        operands: Vec<Option<Vec<u8>>>,
        is_in: bool,
    ) -> ColumnCondition {
        ColumnCondition {
            column: 0,
            path: None,
            operator,
            operands,
            is_in,
        }
    }

    #[test]
    fn null_semantics_follow_cassandra() {
        let int = CqlType::Native(NativeType::Int);
        let one = Some(1i32.to_be_bytes().to_vec());
        assert!(condition(Operator::Eq, vec![None], false)
            .holds(&int, None)
            .expect("eval"));
        assert!(!condition(Operator::Eq, vec![one.clone()], false)
            .holds(&int, None)
            .expect("eval"));
        assert!(condition(Operator::NotEq, vec![one.clone()], false)
            .holds(&int, None)
            .expect("eval"));
        assert!(!condition(Operator::Gt, vec![one.clone()], false)
            .holds(&int, None)
            .expect("eval"));
        let two = 2i32.to_be_bytes();
        assert!(condition(Operator::Gt, vec![one.clone()], false)
            .holds(&int, Some(&two))
            .expect("eval"));
        assert!(condition(Operator::Eq, vec![one, Some(two.to_vec())], true)
            .holds(&int, Some(&two))
            .expect("eval"));
    }
}
