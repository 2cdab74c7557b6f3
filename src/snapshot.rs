//! Named snapshots of tables (`nodetool snapshot|listsnapshots|clearsnapshot|tablestats`).
//!
//! A snapshot freezes the table's current head version and moves writing to a new child
//! (`Engine::snapshot`): O(1) whatever the data size, no space until data diverges. The
//! frozen version is recorded under its tag in the system branch.
//!
//! Invariants:
//! - A tag names at most one snapshot per table.
//! - Clearing a snapshot deletes its version; the engine reclaims the data no live version
//!   can see in later merges (`nodetool compact` forces it).
//! - These functions block (engine fsyncs): call them from a blocking thread.

use std::fmt::Write;

use crate::error::{CqlError, CqlResult};
use crate::node::Node;
use crate::schema::{SchemaWrite, SnapshotRecord, Table};

/// Which tables a `nodetool` verb addresses: `ks` or `ks.table`; none means every user table.
fn selected<'c>(catalog: &'c crate::schema::Catalog, targets: &[String]) -> CqlResult<Vec<&'c Table>> {
    let mut tables = Vec::new();
    if targets.is_empty() {
        return Ok(catalog.user_tables().map(|t| t.as_ref()).collect());
    }
    for target in targets {
        let (ks, table) = target.split_once('.').map_or((target.as_str(), None), |(k, t)| (k, Some(t)));
        let keyspace = catalog.keyspace(ks).filter(|k| !k.system).ok_or_else(|| CqlError::invalid(format!("Keyspace {ks} does not exist")))?;
        match table {
            Some(name) => tables.push(keyspace.tables.get(name).map(|t| t.as_ref()).ok_or_else(|| CqlError::invalid(format!("Table {name} does not exist")))?),
            None => tables.extend(keyspace.tables.values().map(|t| t.as_ref())),
        }
    }
    Ok(tables)
}

/// Takes snapshot `tag` (default: the current time in milliseconds, as Cassandra does)
/// of the targets; returns the tag.
pub fn take(node: &Node, tag: Option<String>, targets: &[String]) -> CqlResult<String> {
    let _guard = node.schema.ddl_lock.blocking_lock();
    let catalog = node.schema.catalog();
    let now = crate::clock::now_millis();
    let tag = tag.unwrap_or_else(|| now.to_string());
    let tables = selected(&catalog, targets)?;
    if tables.iter().any(|t| catalog.snapshot(&tag, &t.def.keyspace, &t.def.name).is_some()) {
        return Err(CqlError::invalid(format!("Snapshot {tag} already exists.")));
    }
    let mut writes = Vec::with_capacity(tables.len());
    for table in tables {
        let version = freeze(node, table)?;
        writes.push(SchemaWrite::PutSnapshot(SnapshotRecord {
            tag: tag.clone(),
            keyspace: table.def.keyspace.clone(),
            table: table.def.name.clone(),
            table_id: Some(table.def.id),
            version,
            created_at_millis: now,
        }));
    }
    node.schema.apply(writes)?;
    Ok(tag)
}

/// Freezes the table's current state and returns the frozen version; the table keeps
/// writing in a new child.
pub fn freeze(node: &Node, table: &Table) -> CqlResult<strata_engine::VersionId> {
    let head = node.engine.writable_head(table.def.data_version)?;
    node.engine.snapshot(head)?;
    Ok(head)
}

/// Removes snapshot `tag` (or every snapshot when `tag` is `None`) of the given keyspaces
/// (all when empty); returns how many table snapshots were removed.
pub fn clear(node: &Node, tag: Option<&str>, keyspaces: &[String]) -> CqlResult<usize> {
    let _guard = node.schema.ddl_lock.blocking_lock();
    let catalog = node.schema.catalog();
    let doomed: Vec<&SnapshotRecord> = catalog
        .snapshots
        .values()
        .filter(|r| tag.is_none_or(|t| t == r.tag))
        .filter(|r| keyspaces.is_empty() || keyspaces.contains(&r.keyspace))
        .collect();
    let writes = doomed
        .iter()
        .map(|r| SchemaWrite::DropSnapshot { tag: r.tag.clone(), keyspace: r.keyspace.clone(), table: r.table.clone() })
        .collect();
    node.schema.apply(writes)?;
    for record in &doomed {
        if let Err(e) = node.engine.delete_version(record.version) {
            tracing::warn!(tag = %record.tag, version = record.version, error = %e, "could not delete snapshot version");
        }
    }
    Ok(doomed.len())
}

/// `nodetool listsnapshots` in Cassandra's layout.
pub fn list(node: &Node) -> CqlResult<String> {
    let catalog = node.schema.catalog();
    if catalog.snapshots.is_empty() {
        return Ok("Snapshot Details: \nThere are no snapshots\n".into());
    }
    let mut out = String::from("Snapshot Details: \n");
    let _ = writeln!(out, "{:<20} {:<20} {:<20} {:>12} {:>12} {:<24}", "Snapshot name", "Keyspace name", "Column family name", "True size", "Size on disk", "Creation time");
    let mut total = 0;
    for r in catalog.snapshots.values() {
        let exclusive = node.engine.exclusive_bytes(r.version)?;
        total += exclusive;
        let created = crate::types::format_timestamp(r.created_at_millis);
        let size = crate::admin::human_bytes(exclusive);
        let _ = writeln!(out, "{:<20} {:<20} {:<20} {:>12} {:>12} {:<24}", r.tag, r.keyspace, r.table, size, size, created);
    }
    let _ = writeln!(out, "\nTotal TrueDiskSpaceUsed: {}\n", crate::admin::human_bytes(total));
    Ok(out)
}

/// `nodetool tablestats`: per table, the bytes its live head holds exclusively and the
/// bytes each of its snapshots holds exclusively.
pub fn tablestats(node: &Node, targets: &[String]) -> CqlResult<String> {
    let catalog = node.schema.catalog();
    let mut out = String::new();
    for table in selected(&catalog, targets)? {
        let head = node.engine.writable_head(table.def.data_version)?;
        let _ = writeln!(out, "Keyspace : {}\n\tTable: {}", table.def.keyspace, table.def.name);
        let _ = writeln!(out, "\t\tSpace used exclusively (live): {}", node.engine.exclusive_bytes(head)?);
        for r in catalog.snapshots.values().filter(|r| r.keyspace == table.def.keyspace && r.table == table.def.name) {
            let _ = writeln!(out, "\t\tSpace used exclusively by snapshot {}: {}", r.tag, node.engine.exclusive_bytes(r.version)?);
        }
    }
    Ok(out)
}
