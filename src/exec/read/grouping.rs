//! GROUP BY analysis with Cassandra's restrictions: the grouping columns are a prefix of
//! the primary key in declared order, where skipped columns must be restricted by `=`,
//! and the whole partition key takes part.

use crate::cql::ast::{Operator, Predicate, Relation, SelectStatement, Selector};
use crate::error::{CqlError, CqlResult};
use crate::schema::{ColumnKind, Table};

const ORDER_MESSAGE: &str = "Group by currently only support groups of columns following their declared order in the PRIMARY KEY";

/// The number of primary key columns (partition key first) that define a group, or
/// `None` without GROUP BY.
pub fn group_by_prefix(table: &Table, statement: &SelectStatement) -> CqlResult<Option<usize>> {
    if statement.group_by.is_empty() {
        return Ok(None);
    }
    let key: Vec<usize> = table
        .partition_key_indexes()
        .into_iter()
        .chain(table.clustering_indexes())
        .collect();
    let mut position = 0;
    let mut clustering_prefix = 0;
    for selector in &statement.group_by {
        let Selector::Column(name) = selector else {
            return Err(CqlError::invalid(format!("Group by is currently only supported on the columns of the PRIMARY KEY, got {selector}")));
        };
        let (index, column) = table
            .def
            .columns
            .iter()
            .enumerate()
            .find(|(_, c)| c.name == *name)
            .ok_or_else(|| CqlError::invalid(format!("Undefined column name {name}")))?;
        if !matches!(
            column.kind,
            ColumnKind::PartitionKey | ColumnKind::Clustering
        ) {
            return Err(CqlError::invalid(format!("Group by is currently only supported on the columns of the PRIMARY KEY, got {name}")));
        }
        loop {
            let Some(&current) = key.get(position) else {
                return Err(CqlError::invalid(ORDER_MESSAGE));
            };
            position += 1;
            // Key columns are positions in `def.columns` (`partition_key_indexes` and
            // `clustering_indexes` resolve the key's names there).
            let Some(key_column) = table.def.columns.get(current) else {
                return Err(CqlError::invalid(ORDER_MESSAGE));
            };
            if key_column.kind == ColumnKind::Clustering {
                clustering_prefix += 1;
            }
            if current == index {
                break;
            }
            if !restricted_by_eq(statement, &key_column.name) {
                return Err(CqlError::invalid(ORDER_MESSAGE));
            }
        }
    }
    if key
        .get(position)
        .and_then(|i| table.def.columns.get(*i))
        .is_some_and(|c| c.kind == ColumnKind::PartitionKey)
    {
        return Err(CqlError::invalid(
            "Group by is not supported on only a part of the partition key",
        ));
    }
    if clustering_prefix > 0 && statement.distinct {
        return Err(CqlError::invalid(
            "Grouping on clustering columns is not allowed for SELECT DISTINCT queries",
        ));
    }
    Ok(Some(position))
}

/// Whether a relation restricts `column` by `=`, alone or in a multi-column equality
/// (Cassandra's `isColumnRestrictedByEq`, used by GROUP BY and ORDER BY checks).
pub(super) fn restricted_by_eq(statement: &SelectStatement, column: &str) -> bool {
    statement.where_clause.iter().any(|r| match r {
        Relation::Column {
            column: c,
            predicate: Predicate::Compare(Operator::Eq, _),
        } => c == column,
        Relation::MultiColumn {
            columns,
            predicate: Predicate::Compare(Operator::Eq, _),
        } => columns.iter().any(|c| c == column),
        _ => false,
    })
}
