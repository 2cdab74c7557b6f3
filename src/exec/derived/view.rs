//! Materialized views: CREATE/DROP MATERIALIZED VIEW with Cassandra's restrictions, the
//! view rows a base write implies, and the view's CREATE statement for DESCRIBE.
//!
//! A view is a table of its own (own branch, read like any table) whose rows are derived
//! from the base table: one view row per base row whose view key columns are all set.
//! `derived` calls [`view_updates`] with the base partition's rows before the write; the
//! rows after the write are computed by applying the write's operations to them, and the
//! view rows that change are written in the same command as the base write.
//!
//! Limits: the WHERE clause takes only `IS NOT NULL` restrictions, views select no
//! static or non-frozen collection columns, and view cells are written with the base
//! write's timestamp and TTL.

use std::collections::BTreeMap;
use std::sync::Arc;

use strata_protocol::{SchemaChange, SchemaChangeTarget, SchemaChangeType};

use crate::cql::ast::{CreateView, DropObject, OrderDirection, Relation, Selection, Selector};
use crate::error::{CqlError, CqlResult};
use crate::exec::context::Context;
use crate::exec::context::DdlOutcome;
use crate::exec::plan::restrict::PartitionKey;
use crate::exec::plan::rows::FullRow;
use crate::schema::{
    ClusteringOrder, ColumnDef, ColumnKind, KeyspaceUdts, SchemaWrite, Table, TableDef,
    TableOptions, TableSource, ViewInfo, ViewRecord,
};
use crate::storage::{ClusteringRange, Operation, PartitionUpdate};
use crate::types::{self, maybe_quote_identifier as quote};

fn table_event(change: SchemaChangeType, keyspace: &str, name: &str) -> SchemaChange {
    SchemaChange {
        change,
        target: SchemaChangeTarget::Table {
            keyspace: keyspace.to_string(),
            name: name.to_string(),
        },
    }
}

fn invalid(message: impl Into<String>) -> CqlError {
    CqlError::invalid(message)
}

/// The selected base columns (`None` = `*`).
fn selected_columns(base: &Table, selection: &Selection) -> CqlResult<Option<Vec<String>>> {
    let Selection::Selectors(items) = selection else {
        return Ok(None);
    };
    let mut names = Vec::with_capacity(items.len());
    for item in items {
        if item.alias.is_some() {
            return Err(invalid(
                "Cannot use alias when defining a materialized view",
            ));
        }
        let Selector::Column(name) = &item.selector else {
            return Err(invalid(
                "Can only select columns by name when defining a materialized view",
            ));
        };
        if base.column_index(name).is_none() {
            return Err(invalid(format!("Undefined column name {name}")));
        }
        names.push(name.clone());
    }
    Ok(Some(names))
}

/// The columns restricted by `IS NOT NULL` (the only restrictions views take here).
fn not_null_columns(base: &Table, where_clause: &[Relation]) -> CqlResult<Vec<String>> {
    where_clause
        .iter()
        .map(|relation| match relation {
            Relation::IsNotNull { column } if base.column_index(column).is_some() => Ok(column.clone()),
            Relation::IsNotNull { column } => Err(invalid(format!("Undefined column name {column}"))),
            other => Err(invalid(format!("Restriction {other} in a materialized view WHERE clause is not supported by this node; only IS NOT NULL is"))),
        })
        .collect()
}

/// Checks one view primary key column like Cassandra's `getColumnIdentifier`; returns
/// whether it is a non-primary-key column of the base.
fn check_key_column(
    base: &Table,
    name: &str,
    not_null: &[String],
    has_non_pk: bool,
) -> CqlResult<bool> {
    let index = base.column_index(name).ok_or_else(|| {
        invalid(format!(
            "Unknown column name detected in CREATE MATERIALIZED VIEW statement: {name}"
        ))
    })?;
    let (column, ty) = base.column(index)?;
    if ty.is_multi_cell() {
        return Err(invalid(format!(
            "Cannot use MultiCell column '{name}' in PRIMARY KEY of materialized view"
        )));
    }
    if ty.references_duration() {
        return Err(invalid(format!(
            "Cannot use Duration column '{name}' in PRIMARY KEY of materialized view"
        )));
    }
    if column.kind == ColumnKind::Static {
        return Err(invalid(format!(
            "Cannot use Static column '{name}' in PRIMARY KEY of materialized view"
        )));
    }
    let is_pk = matches!(
        column.kind,
        ColumnKind::PartitionKey | ColumnKind::Clustering
    );
    if !is_pk && has_non_pk {
        return Err(invalid(format!("Cannot include more than one non-primary key column '{name}' in materialized view primary key")));
    }
    let single_partition_key =
        column.kind == ColumnKind::PartitionKey && base.def.partition_key.len() == 1;
    if !single_partition_key && !not_null.iter().any(|n| n == name) {
        return Err(invalid(format!(
            "Primary key column '{name}' is required to be filtered by 'IS NOT NULL'"
        )));
    }
    Ok(!is_pk)
}

/// The view's table definition (without branch) after every check Cassandra makes.
fn view_def(keyspace: &str, base: &Table, s: &CreateView) -> CqlResult<(TableDef, ViewInfo)> {
    if s.options.compact_storage {
        return Err(invalid(
            "Cannot use 'COMPACT STORAGE' when defining a materialized view",
        ));
    }
    let selected = selected_columns(base, &s.selection)?;
    let not_null = not_null_columns(base, &s.where_clause)?;
    let key: Vec<&String> = s
        .primary_key
        .partition_key
        .iter()
        .chain(&s.primary_key.clustering_columns)
        .collect();
    let mut has_non_pk = false;
    for name in &key {
        has_non_pk |= check_key_column(base, name, &not_null, has_non_pk)?;
    }
    let missing: Vec<&str> = base
        .def
        .partition_key
        .iter()
        .chain(&base.def.clustering)
        .filter(|c| !key.contains(c))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Err(invalid(format!(
            "Cannot create Materialized View {} without primary key columns from base {} ({})",
            s.name.name,
            base.def.name,
            missing.join(",")
        )));
    }
    let chosen: Vec<&ColumnDef> = base
        .def
        .columns
        .iter()
        .filter(|c| {
            key.contains(&&c.name)
                || selected
                    .as_ref()
                    .is_none_or(|names| names.contains(&c.name))
        })
        .collect();
    let mut columns = Vec::with_capacity(chosen.len());
    for column in chosen {
        let ty = base
            .column_type(&column.name)
            .ok_or_else(|| invalid(format!("Undefined column name {}", column.name)))?;
        if column.kind == ColumnKind::Static {
            if selected.is_some() {
                return Err(invalid(format!(
                    "Static column {} cannot be included in a materialized view",
                    column.name
                )));
            }
            continue;
        }
        if ty.is_multi_cell() {
            return Err(invalid(format!("Non-frozen collection column {} in a materialized view is not supported by this node", column.name)));
        }
        let kind = if s.primary_key.partition_key.contains(&column.name) {
            ColumnKind::PartitionKey
        } else if s.primary_key.clustering_columns.contains(&column.name) {
            ColumnKind::Clustering
        } else {
            ColumnKind::Regular
        };
        columns.push(ColumnDef {
            name: column.name.clone(),
            type_text: column.type_text.clone(),
            kind,
            order: ClusteringOrder::Asc,
        });
    }
    apply_clustering_order(
        &mut columns,
        &s.primary_key.clustering_columns,
        &s.options.clustering_order,
    )?;
    let mut def = TableDef {
        keyspace: keyspace.to_string(),
        name: s.name.name.clone(),
        id: uuid::Uuid::new_v4(),
        columns,
        partition_key: s.primary_key.partition_key.clone(),
        clustering: s.primary_key.clustering_columns.clone(),
        options: TableOptions::default(),
        data_version: 0,
        dropped_columns: Default::default(),
        dropped_column_types: Default::default(),
    };
    def.normalise_column_order();
    let where_clause = s
        .where_clause
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" AND ");
    let info = ViewInfo {
        base_table: base.def.name.clone(),
        base_id: base.def.id,
        include_all_columns: selected.is_none(),
        where_clause,
    };
    Ok((def, info))
}

fn apply_clustering_order(
    columns: &mut [ColumnDef],
    clustering: &[String],
    order: &[(String, OrderDirection)],
) -> CqlResult<()> {
    for (position, (name, direction)) in order.iter().enumerate() {
        if clustering.get(position) != Some(name) {
            return Err(invalid("The order of columns in the CLUSTERING ORDER directive must match that of the clustering columns"));
        }
        if let Some(column) = columns.iter_mut().find(|c| &c.name == name) {
            column.order = ClusteringOrder::descending(*direction == OrderDirection::Desc);
        }
    }
    Ok(())
}

pub async fn create_view(ctx: &Context<'_>, s: &CreateView) -> CqlResult<DdlOutcome> {
    let keyspace = ctx.keyspace_of(&s.name)?;
    let base_keyspace = ctx.keyspace_of(&s.base_table)?;
    if base_keyspace != keyspace {
        return Err(invalid(
            "Cannot create a materialized view on a table in a separate keyspace",
        ));
    }
    let _guard = ctx.node.schema().ddl_lock.lock().await;
    let catalog = ctx.node.catalog();
    let ks = catalog
        .keyspace(&keyspace)
        .ok_or_else(|| invalid(format!("Keyspace '{keyspace}' doesn't exist")))?;
    if ks.system {
        return Err(CqlError::Unauthorized(format!(
            "{keyspace} keyspace is not user-modifiable."
        )));
    }
    let base = ks.tables.get(&s.base_table.name).cloned().ok_or_else(|| {
        invalid(format!(
            "Table '{keyspace}.{}' doesn't exist",
            s.base_table.name
        ))
    })?;
    if base.view.is_some() {
        return Err(invalid(
            "Materialized views cannot be created against other materialized views",
        ));
    }
    if base.types.iter().any(types::CqlType::is_counter) {
        return Err(invalid(
            "Materialized views are not supported on counter tables",
        ));
    }
    if ks.tables.contains_key(&s.name.name) {
        if s.if_not_exists {
            return Ok(None);
        }
        return Err(CqlError::table_exists(&keyspace, &s.name.name));
    }
    let (mut def, info) = view_def(&keyspace, &base, s)?;
    def.data_version = ctx
        .node
        .engine()
        .clone_version(strata_engine::ROOT_VERSION)?;
    // The view's columns may use the keyspace's user types, as the base table's do.
    let udts = KeyspaceUdts::new(&keyspace, &ks.types);
    let mut view =
        Table::with_types(def.clone(), TableSource::Engine, &udts).map_err(CqlError::Server)?;
    view.view = Some(info.clone());
    ctx.node
        .commit_schema(
            &catalog,
            vec![SchemaWrite::PutView(ViewRecord {
                table: def,
                view: info,
            })],
        )
        .await?;
    // Built once committed (see `backfill`).
    build(ctx, &base, &Arc::new(view)).await?;
    Ok(Some(table_event(
        SchemaChangeType::Created,
        &keyspace,
        &s.name.name,
    )))
}

/// Writes the view rows of the rows the base table already holds.
async fn build(ctx: &Context<'_>, base: &Arc<Table>, view: &Arc<Table>) -> CqlResult<()> {
    super::backfill::build_from_base(ctx, base, view, |row| {
        let values: Vec<Option<Vec<u8>>> = (0..base.def.columns.len())
            .map(|i| row.value(i).map(<[u8]>::to_vec))
            .collect();
        let timestamp = row
            .cells
            .iter()
            .flatten()
            .map(|c| c.timestamp)
            .max()
            .unwrap_or(0);
        Ok(view_key(base, view, &values)?
            .map(|key| upsert(base, view, &key, &values, timestamp, 0))
            .into_iter()
            .collect())
    })
    .await
}

pub async fn drop_view(ctx: &Context<'_>, s: &DropObject) -> CqlResult<DdlOutcome> {
    let keyspace = ctx.keyspace_of(&s.name)?;
    let _guard = ctx.node.schema().ddl_lock.lock().await;
    let catalog = ctx.node.catalog();
    let view = catalog
        .table(&keyspace, &s.name.name)
        .filter(|t| t.view.is_some())
        .cloned();
    let Some(view) = view else {
        if s.if_exists {
            return Ok(None);
        }
        return Err(invalid(format!(
            "Materialized view '{}' doesn't exist",
            s.name.name
        )));
    };
    ctx.node
        .commit_schema(
            &catalog,
            vec![SchemaWrite::DropView {
                keyspace: keyspace.clone(),
                name: view.def.name.clone(),
            }],
        )
        .await?;
    Ok(Some(table_event(
        SchemaChangeType::Dropped,
        &keyspace,
        &view.def.name,
    )))
}

/// The key of the view row of a base row (values by base column), or `None` when a view
/// key column is null (no view row).
fn view_key(
    base: &Table,
    view: &Table,
    values: &[Option<Vec<u8>>],
) -> CqlResult<Option<(PartitionKey, Vec<u8>)>> {
    let value_of = |name: &str| {
        base.column_index(name)
            .and_then(|i| values.get(i).cloned().flatten())
    };
    let mut components = Vec::with_capacity(view.def.partition_key.len());
    for name in &view.def.partition_key {
        let Some(v) = value_of(name).filter(|v| !v.is_empty()) else {
            return Ok(None);
        };
        components.push(v);
    }
    let mut clustering = Vec::new();
    for index in view.clustering_indexes() {
        let (column, ty) = view.column(index)?;
        let Some(v) = value_of(&column.name) else {
            return Ok(None);
        };
        let desc = column.order == ClusteringOrder::Desc;
        types::encode_key_component(ty, &v, desc, &mut clustering)?;
    }
    Ok(Some((
        PartitionKey::from_components(components),
        clustering,
    )))
}

/// Writes a whole view row: liveness plus every non-key view column.
fn upsert(
    base: &Table,
    view: &Table,
    (key, clustering): &(PartitionKey, Vec<u8>),
    values: &[Option<Vec<u8>>],
    timestamp: i64,
    ttl_secs: u32,
) -> PartitionUpdate {
    let mut operations = vec![Operation::RowMarker {
        clustering: clustering.clone(),
    }];
    for (_, column) in view.columns_of_kind(ColumnKind::Regular) {
        let value = base
            .column_index(&column.name)
            .and_then(|i| values.get(i).cloned().flatten());
        operations.push(Operation::Cell {
            clustering: Some(clustering.clone()),
            column: column.name.clone(),
            value,
        });
    }
    PartitionUpdate {
        token: key.token,
        partition_key: key.bytes.clone(),
        timestamp,
        ttl_secs,
        operations,
    }
}

fn remove(key: &PartitionKey, clustering: &[u8], timestamp: i64) -> PartitionUpdate {
    let operation = Operation::DeleteRange(ClusteringRange::prefix(clustering));
    PartitionUpdate {
        token: key.token,
        partition_key: key.bytes.clone(),
        timestamp,
        ttl_secs: 0,
        operations: vec![operation],
    }
}

/// Base column values of the row at `clustering` of the updated partition, for a row the
/// write creates: its key columns, nothing else.
pub fn row_values(
    base: &Table,
    update: &PartitionUpdate,
    clustering: &[u8],
) -> CqlResult<Vec<Option<Vec<u8>>>> {
    let mut values = vec![None; base.def.columns.len()];
    let key = PartitionKey::from_bytes(update.partition_key.clone(), base.def.partition_key.len());
    for (index, component) in base.partition_key_indexes().into_iter().zip(key.components) {
        if let Some(value) = values.get_mut(index) {
            *value = Some(component);
        }
    }
    let mut input = clustering;
    for index in base.clustering_indexes() {
        let (column, ty) = base.column(index)?;
        let desc = column.order == ClusteringOrder::Desc;
        let component = types::decode_key_component(ty, &mut input, desc)?;
        if let Some(value) = values.get_mut(index) {
            *value = Some(component);
        }
    }
    Ok(values)
}

/// A base row's values, by base column.
type Values = Vec<Option<Vec<u8>>>;
/// Base rows after a write by clustering, and the clusterings the write touched.
type RowsAfter = (BTreeMap<Vec<u8>, Values>, Vec<Vec<u8>>);

/// The base rows after `update`, from the rows before it, and which rows it touched.
fn rows_after(
    base: &Table,
    update: &PartitionUpdate,
    before: &BTreeMap<Vec<u8>, FullRow>,
) -> CqlResult<RowsAfter> {
    let mut rows: BTreeMap<Vec<u8>, Values> = before
        .iter()
        .map(|(c, row)| {
            (
                c.clone(),
                (0..base.def.columns.len())
                    .map(|i| row.value(i).map(<[u8]>::to_vec))
                    .collect(),
            )
        })
        .collect();
    let mut touched = Vec::new();
    for operation in &update.operations {
        match operation {
            Operation::DeletePartition => rows.clear(),
            Operation::DeleteRange(range) => rows.retain(|c, _| !range.contains(c)),
            Operation::RowMarker { clustering } => {
                if !rows.contains_key(clustering) {
                    rows.insert(clustering.clone(), row_values(base, update, clustering)?);
                }
                touched.push(clustering.clone());
            }
            Operation::Cell {
                clustering: Some(clustering),
                column,
                value,
            } => {
                if !rows.contains_key(clustering) {
                    rows.insert(clustering.clone(), row_values(base, update, clustering)?);
                }
                let slot = base
                    .column_index(column)
                    .and_then(|index| rows.get_mut(clustering)?.get_mut(index));
                if let Some(slot) = slot {
                    *slot = value.clone();
                }
                touched.push(clustering.clone());
            }
            _ => {}
        }
    }
    Ok((rows, touched))
}

/// The view writes one base partition update implies.
pub fn view_updates(
    base: &Table,
    view: &Table,
    update: &PartitionUpdate,
    before: &BTreeMap<Vec<u8>, FullRow>,
) -> CqlResult<Vec<PartitionUpdate>> {
    let (after, touched) = rows_after(base, update, before)?;
    let mut updates = Vec::new();
    let mut clusterings: Vec<&Vec<u8>> = before.keys().chain(after.keys()).collect();
    clusterings.sort();
    clusterings.dedup();
    for clustering in clusterings {
        let old_values: Option<Vec<Option<Vec<u8>>>> = before.get(clustering).map(|row| {
            (0..base.def.columns.len())
                .map(|i| row.value(i).map(<[u8]>::to_vec))
                .collect()
        });
        let old_key = match &old_values {
            Some(values) => view_key(base, view, values)?,
            None => None,
        };
        let new_values = after.get(clustering);
        let new_key = match new_values {
            Some(values) => view_key(base, view, values)?,
            None => None,
        };
        if let Some((key, view_clustering)) = &old_key {
            if new_key.as_ref() != old_key.as_ref() {
                updates.push(remove(key, view_clustering, update.timestamp));
            }
        }
        if let (Some(key), Some(values)) = (&new_key, new_values) {
            if touched.contains(clustering) || new_key != old_key {
                updates.push(upsert(
                    base,
                    view,
                    key,
                    values,
                    update.timestamp,
                    update.ttl_secs,
                ));
            }
        }
    }
    Ok(updates)
}

/// `CREATE MATERIALIZED VIEW` text of a view, as DESCRIBE prints it.
pub fn create_statement(view: &Table, info: &ViewInfo, table_options: &str) -> String {
    let columns = if info.include_all_columns {
        "*".to_string()
    } else {
        view.def
            .columns
            .iter()
            .map(|c| quote(&c.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let pk: Vec<String> = view.def.partition_key.iter().map(|n| quote(n)).collect();
    let pk = match pk.as_slice() {
        [only] => only.clone(),
        _ => format!("({})", pk.join(", ")),
    };
    let key = std::iter::once(pk)
        .chain(view.def.clustering.iter().map(|n| quote(n)))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "CREATE MATERIALIZED VIEW {}.{} AS\n    SELECT {columns}\n    FROM {}.{}\n    WHERE {}\n    PRIMARY KEY ({key})\n WITH {table_options};",
        quote(&view.def.keyspace),
        quote(&view.def.name),
        quote(&view.def.keyspace),
        quote(&info.base_table),
        info.where_clause,
    )
}

/// Rejects writes that name a view directly.
pub fn check_writable(table: &Table) -> CqlResult<()> {
    if table.view.is_some() {
        return Err(invalid("Cannot directly modify a materialized view"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::CellData;

    fn column(name: &str, type_text: &str, kind: ColumnKind) -> ColumnDef {
        ColumnDef {
            name: name.into(),
            type_text: type_text.into(),
            kind,
            order: ClusteringOrder::Asc,
        }
    }

    fn table(
        name: &str,
        columns: Vec<ColumnDef>,
        partition_key: &[&str],
        clustering: &[&str],
    ) -> Table {
        let def = TableDef {
            keyspace: "ks".into(),
            name: name.into(),
            id: uuid::Uuid::nil(),
            columns,
            partition_key: partition_key.iter().map(|s| s.to_string()).collect(),
            clustering: clustering.iter().map(|s| s.to_string()).collect(),
            options: TableOptions::default(),
            data_version: 0,
            dropped_columns: Default::default(),
            dropped_column_types: Default::default(),
        };
        Table::new(def, TableSource::Engine).expect("valid table")
    }

    fn base_and_view() -> (Table, Table) {
        let base = table(
            "t",
            vec![
                column("k", "int", ColumnKind::PartitionKey),
                column("c", "int", ColumnKind::Clustering),
                column("v", "int", ColumnKind::Regular),
            ],
            &["k"],
            &["c"],
        );
        let view = table(
            "by_v",
            vec![
                column("v", "int", ColumnKind::PartitionKey),
                column("k", "int", ColumnKind::Clustering),
                column("c", "int", ColumnKind::Clustering),
            ],
            &["v"],
            &["k", "c"],
        );
        (base, view)
    }

    fn int(v: i32) -> Vec<u8> {
        v.to_be_bytes().to_vec()
    }

    fn clustering(c: i32) -> Vec<u8> {
        let mut out = Vec::new();
        types::encode_key_component(
            &types::CqlType::Native(types::NativeType::Int),
            &int(c),
            false,
            &mut out,
        )
        .expect("encodes");
        out
    }

    fn update(operations: Vec<Operation>) -> PartitionUpdate {
        PartitionUpdate {
            token: 0,
            partition_key: int(1),
            timestamp: 10,
            ttl_secs: 0,
            operations,
        }
    }

    fn row(v: Option<i32>) -> FullRow {
        let cell = |value: Vec<u8>| {
            Some(CellData {
                value,
                ..CellData::default()
            })
        };
        FullRow {
            token: 0,
            cells: vec![cell(int(1)), cell(int(1)), v.map(int).and_then(cell)],
            clustering: clustering(1),
        }
    }

    #[test]
    fn insert_creates_the_view_row() {
        let (base, view) = base_and_view();
        let write = update(vec![
            Operation::RowMarker {
                clustering: clustering(1),
            },
            Operation::Cell {
                clustering: Some(clustering(1)),
                column: "v".into(),
                value: Some(int(10)),
            },
        ]);
        let updates = view_updates(&base, &view, &write, &BTreeMap::new()).expect("computes");
        assert_eq!(updates.len(), 1);
        assert_eq!(updates[0].partition_key, int(10));
        assert!(matches!(
            updates[0].operations[0],
            Operation::RowMarker { .. }
        ));
    }

    #[test]
    fn changing_the_view_key_moves_the_row_and_null_removes_it() {
        let (base, view) = base_and_view();
        let before = BTreeMap::from([(clustering(1), row(Some(10)))]);
        let moved = update(vec![Operation::Cell {
            clustering: Some(clustering(1)),
            column: "v".into(),
            value: Some(int(11)),
        }]);
        let updates = view_updates(&base, &view, &moved, &before).expect("computes");
        assert_eq!(
            updates
                .iter()
                .map(|u| u.partition_key.clone())
                .collect::<Vec<_>>(),
            vec![int(10), int(11)]
        );
        assert!(matches!(
            updates[0].operations[0],
            Operation::DeleteRange(_)
        ));
        let nulled = update(vec![Operation::Cell {
            clustering: Some(clustering(1)),
            column: "v".into(),
            value: None,
        }]);
        let updates = view_updates(&base, &view, &nulled, &before).expect("computes");
        assert_eq!(updates.len(), 1);
        assert!(matches!(
            updates[0].operations[0],
            Operation::DeleteRange(_)
        ));
    }

    #[test]
    fn partition_deletion_removes_every_view_row() {
        let (base, view) = base_and_view();
        let before = BTreeMap::from([(clustering(1), row(Some(10)))]);
        let updates = view_updates(
            &base,
            &view,
            &update(vec![Operation::DeletePartition]),
            &before,
        )
        .expect("computes");
        assert_eq!(updates.len(), 1);
        assert_eq!(updates[0].partition_key, int(10));
    }
}
