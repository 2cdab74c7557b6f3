//! Strata's versioning statements: `CREATE TABLE ... CLONE`, `CREATE KEYSPACE ... CLONE`,
//! `RESTORE TABLE|KEYSPACE ... FROM SNAPSHOT`.
//!
//! Invariant: each is O(1) per table in data size: a clone is a new writable child of a
//! frozen version (`Engine::clone_version`), a restore points the table at a new clone of
//! the snapshot; no row is copied.

use std::collections::BTreeMap;

use strata_engine::VersionId;
use strata_protocol::{SchemaChange, SchemaChangeTarget, SchemaChangeType};
use uuid::Uuid;

use crate::cql::ast::{CloneKeyspace, CloneTable, RestoreKeyspace, RestoreTable};
use crate::error::{CqlError, CqlResult};
use crate::exec::context::DdlOutcome;
use crate::exec::context::{snapshot_version, Context};
use crate::schema::{Catalog, KeyspaceUdts, SchemaWrite, Table, TableDef, TypeDef};
use crate::types::CqlType;

/// A new writable branch holding `table` as of the named snapshot, or as of now.
///
/// Cloning the current state freezes the table's head first. That freeze point is nobody's
/// snapshot, so it is deleted at once: both branches still read through it, and merges
/// reclaim its rows once both sides have overwritten them (or one side is dropped).
fn branch_from(
    ctx: &Context<'_>,
    catalog: &Catalog,
    table: &Table,
    snapshot: Option<&str>,
) -> CqlResult<VersionId> {
    let engine = ctx.node.engine();
    match snapshot {
        Some(tag) => Ok(engine.clone_version(snapshot_version(catalog, table, tag)?)?),
        None => {
            let frozen = crate::snapshot::freeze(ctx.node, table)?;
            let clone = engine.clone_version(frozen)?;
            engine.delete_version(frozen)?;
            Ok(clone)
        }
    }
}

/// A copy of `source` named `keyspace.name` on the new branch `version`.
fn cloned_def(source: &TableDef, keyspace: &str, name: &str, version: VersionId) -> TableDef {
    TableDef {
        keyspace: keyspace.to_string(),
        name: name.to_string(),
        id: Uuid::new_v4(),
        data_version: version,
        ..source.clone()
    }
}

pub async fn clone_table(ctx: &Context<'_>, s: &CloneTable) -> CqlResult<DdlOutcome> {
    let keyspace = ctx.keyspace_of(&s.name)?;
    let source = ctx.resolve_table(&s.source)?;
    for ks in [&source.def.keyspace, &keyspace] {
        ctx.require_single_replica(ks, "CLONE is", "cluster-wide snapshots")?;
    }
    ctx.require_single_node("CLONE is")?;
    if source.def.keyspace.starts_with("system") {
        return Err(CqlError::invalid(format!(
            "Cannot clone system table {}.{}",
            source.def.keyspace, source.def.name
        )));
    }
    let _guard = ctx.node.schema().ddl_lock.lock().await;
    let catalog = ctx.node.catalog();
    let ks = catalog
        .keyspace(&keyspace)
        .ok_or_else(|| CqlError::invalid(format!("Keyspace '{keyspace}' doesn't exist")))?;
    if ks.tables.contains_key(&s.name.name) {
        if s.if_not_exists {
            return Ok(None);
        }
        return Err(CqlError::table_exists(&keyspace, &s.name.name));
    }
    // The clone's column types must resolve in its own keyspace (user types are per keyspace).
    let udts = KeyspaceUdts::new(&keyspace, &ks.types);
    for column in &source.def.columns {
        CqlType::parse(&column.type_text, &udts)?;
    }
    let clone = branch_from(ctx, &catalog, &source, s.snapshot.as_deref())?;
    ctx.node
        .commit_schema(
            &catalog,
            vec![SchemaWrite::PutTable(cloned_def(
                &source.def,
                &keyspace,
                &s.name.name,
                clone,
            ))],
        )
        .await?;
    Ok(Some(SchemaChange {
        change: SchemaChangeType::Created,
        target: SchemaChangeTarget::Table {
            keyspace,
            name: s.name.name.clone(),
        },
    }))
}

pub async fn clone_keyspace(ctx: &Context<'_>, s: &CloneKeyspace) -> CqlResult<DdlOutcome> {
    let _guard = ctx.node.schema().ddl_lock.lock().await;
    let catalog = ctx.node.catalog();
    let source = catalog
        .keyspace(&s.source)
        .ok_or_else(|| CqlError::invalid(format!("Keyspace '{}' doesn't exist", s.source)))?;
    ctx.require_single_replica(&s.source, "CLONE is", "cluster-wide snapshots")?;
    ctx.require_single_node("CLONE is")?;
    if source.system {
        return Err(CqlError::invalid(format!(
            "Cannot clone system keyspace {}",
            s.source
        )));
    }
    if catalog.keyspace(&s.name).is_some() {
        if s.if_not_exists {
            return Ok(None);
        }
        return Err(CqlError::keyspace_exists(&s.name));
    }
    let mut def = source.def.clone();
    def.name = s.name.clone();
    let mut writes = vec![SchemaWrite::PutKeyspace(def)];
    // The tables' column types may name the source keyspace's user types.
    writes.extend(source.types.values().map(|ty| {
        SchemaWrite::PutType(TypeDef {
            keyspace: s.name.clone(),
            ..ty.clone()
        })
    }));
    // At a snapshot, the clone has the tables the snapshot has (not those created later).
    let in_snapshot = |t: &Table| {
        s.snapshot
            .as_deref()
            .is_none_or(|tag| snapshot_version(&catalog, t, tag).is_ok())
    };
    let tables: Vec<&Table> = source
        .tables
        .values()
        .map(|t| t.as_ref())
        .filter(|t| in_snapshot(t))
        .collect();
    if let (Some(tag), true) = (&s.snapshot, tables.is_empty()) {
        return Err(CqlError::invalid(format!(
            "Snapshot '{tag}' does not exist for keyspace {}",
            s.source
        )));
    }
    for table in tables {
        let clone = branch_from(ctx, &catalog, table, s.snapshot.as_deref())?;
        writes.push(SchemaWrite::PutTable(cloned_def(
            &table.def,
            &s.name,
            &table.def.name,
            clone,
        )));
    }
    let table_names: Vec<String> = writes
        .iter()
        .filter_map(|w| match w {
            SchemaWrite::PutTable(def) => Some(def.name.clone()),
            _ => None,
        })
        .collect();
    ctx.node.commit_schema(&catalog, writes).await?;
    let created = SchemaChange {
        change: SchemaChangeType::Created,
        target: SchemaChangeTarget::Keyspace(s.name.clone()),
    };
    // One statement creates a keyspace and its tables. Drivers refresh a keyspace event by
    // reading the keyspace row alone, so each table is announced too, after the keyspace
    // (drivers apply events in order, and drop a table event for a keyspace they lack).
    let announce = |change: SchemaChange| {
        ctx.node
            .publish(strata_protocol::Event::SchemaChange(change));
    };
    announce(created.clone());
    for name in table_names {
        let target = SchemaChangeTarget::Table {
            keyspace: s.name.clone(),
            name,
        };
        announce(SchemaChange {
            change: SchemaChangeType::Created,
            target,
        });
    }
    Ok(Some(created))
}

/// Points each table at a fresh clone of its snapshot (the metadata log's state machine
/// releases the old branch).
async fn restore(
    ctx: &Context<'_>,
    catalog: &Catalog,
    tables: &[&Table],
    tag: &str,
) -> CqlResult<()> {
    for table in tables {
        ctx.require_single_replica(&table.def.keyspace, "RESTORE is", "cluster-wide snapshots")?;
    }
    ctx.require_single_node("RESTORE is")?;
    let mut writes = Vec::with_capacity(tables.len());
    for table in tables {
        let frozen = snapshot_version(catalog, table, tag)?;
        let clone = ctx.node.engine().clone_version(frozen)?;
        writes.push(SchemaWrite::PutTable(TableDef {
            data_version: clone,
            ..table.def.clone()
        }));
    }
    ctx.node.commit_schema(catalog, writes).await?;
    Ok(())
}

pub async fn restore_table(ctx: &Context<'_>, s: &RestoreTable) -> CqlResult<DdlOutcome> {
    let table = ctx.resolve_table(&s.table)?;
    let _guard = ctx.node.schema().ddl_lock.lock().await;
    restore(ctx, &ctx.catalog, &[table.as_ref()], &s.snapshot).await?;
    Ok(Some(SchemaChange {
        change: SchemaChangeType::Updated,
        target: SchemaChangeTarget::Table {
            keyspace: table.def.keyspace.clone(),
            name: table.def.name.clone(),
        },
    }))
}

pub async fn restore_keyspace(ctx: &Context<'_>, s: &RestoreKeyspace) -> CqlResult<DdlOutcome> {
    let _guard = ctx.node.schema().ddl_lock.lock().await;
    let catalog = ctx.node.catalog();
    let keyspace = catalog
        .keyspace(&s.keyspace)
        .ok_or_else(|| CqlError::invalid(format!("Keyspace '{}' doesn't exist", s.keyspace)))?;
    ctx.require_single_replica(&s.keyspace, "RESTORE is", "cluster-wide snapshots")?;
    let in_snapshot: BTreeMap<&str, &Table> = keyspace
        .tables
        .values()
        .filter(|t| {
            catalog
                .snapshot(&s.snapshot, &s.keyspace, &t.def.name)
                .is_some()
        })
        .map(|t| (t.def.name.as_str(), t.as_ref()))
        .collect();
    if in_snapshot.is_empty() {
        return Err(CqlError::invalid(format!(
            "Snapshot '{}' does not exist for keyspace {}",
            s.snapshot, s.keyspace
        )));
    }
    let tables: Vec<&Table> = in_snapshot.into_values().collect();
    restore(ctx, &catalog, &tables, &s.snapshot).await?;
    Ok(Some(SchemaChange {
        change: SchemaChangeType::Updated,
        target: SchemaChangeTarget::Keyspace(s.keyspace.clone()),
    }))
}
