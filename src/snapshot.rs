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
//! - "Exclusive" bytes of a snapshot (or of the live table) are the bytes of the entries it
//!   sees that neither the live table nor any other snapshot of the table resolves to the
//!   same cell: what clearing that snapshot (or overwriting the rows) would give back.

use std::fmt::Write;
use std::ops::Bound;

use strata_engine::{Cell, CellValue, Engine, ScanIter, VersionId};

use crate::error::{CqlError, CqlResult};
use crate::node::Node;
use crate::schema::{SchemaWrite, SnapshotRecord, Table};

/// Which tables a `nodetool` verb addresses: `ks` or `ks.table`; none means every user table.
pub(crate) fn selected<'c>(
    catalog: &'c crate::schema::Catalog,
    targets: &[String],
) -> CqlResult<Vec<&'c Table>> {
    let mut tables = Vec::new();
    if targets.is_empty() {
        return Ok(catalog.user_tables().map(|t| t.as_ref()).collect());
    }
    for target in targets {
        let (ks, table) = target
            .split_once('.')
            .map_or((target.as_str(), None), |(k, t)| (k, Some(t)));
        let keyspace = catalog
            .keyspace(ks)
            .filter(|k| !k.system)
            .ok_or_else(|| CqlError::invalid(format!("Keyspace {ks} does not exist")))?;
        match table {
            Some(name) => tables.push(
                keyspace
                    .tables
                    .get(name)
                    .map(|t| t.as_ref())
                    .ok_or_else(|| CqlError::invalid(format!("Table {name} does not exist")))?,
            ),
            None => tables.extend(keyspace.tables.values().map(|t| t.as_ref())),
        }
    }
    Ok(tables)
}

/// Takes snapshot `tag` (default: the current time in milliseconds, as Cassandra does)
/// of the targets; returns the tag.
pub fn take(node: &Node, tag: Option<String>, targets: &[String]) -> CqlResult<String> {
    let _guard = node.schema().ddl_lock.blocking_lock();
    let catalog = node.catalog();
    let now = crate::clock::now_millis();
    let tag = tag.unwrap_or_else(|| now.to_string());
    let tables = selected(&catalog, targets)?;
    if tables.iter().any(|t| {
        catalog
            .snapshot(&tag, &t.def.keyspace, &t.def.name)
            .is_some()
    }) {
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
    let count = writes.len();
    node.schema().apply(writes)?;
    tracing::info!("Snapshot {tag} taken of {count} tables");
    Ok(tag)
}

/// Freezes the table's current state and returns the frozen version; the table keeps
/// writing in a new child.
pub fn freeze(node: &Node, table: &Table) -> CqlResult<strata_engine::VersionId> {
    let head = node.engine().writable_head(table.def.data_version)?;
    node.engine().snapshot(head)?;
    Ok(head)
}

/// Removes snapshot `tag` (or every snapshot when `tag` is `None`) of the given keyspaces
/// (all when empty); returns how many table snapshots were removed.
pub fn clear(node: &Node, tag: Option<&str>, keyspaces: &[String]) -> CqlResult<usize> {
    let _guard = node.schema().ddl_lock.blocking_lock();
    let catalog = node.catalog();
    let doomed: Vec<&SnapshotRecord> = catalog
        .snapshots
        .values()
        .filter(|r| tag.is_none_or(|t| t == r.tag))
        .filter(|r| keyspaces.is_empty() || keyspaces.contains(&r.keyspace))
        .collect();
    let writes = doomed
        .iter()
        .map(|r| SchemaWrite::DropSnapshot {
            tag: r.tag.clone(),
            keyspace: r.keyspace.clone(),
            table: r.table.clone(),
        })
        .collect();
    node.schema().apply(writes)?;
    for record in &doomed {
        if let Err(e) = node.engine().delete_version(record.version) {
            tracing::warn!(tag = %record.tag, version = record.version, error = %e, "could not delete snapshot version");
        }
    }
    tracing::info!(
        "Cleared {} table snapshots ({})",
        doomed.len(),
        tag.unwrap_or("all tags")
    );
    Ok(doomed.len())
}

/// `nodetool listsnapshots` in Cassandra's layout.
pub fn list(node: &Node) -> CqlResult<String> {
    let catalog = node.catalog();
    if catalog.snapshots.is_empty() {
        return Ok("Snapshot Details: \nThere are no snapshots\n".into());
    }
    let mut out = String::from("Snapshot Details: \n");
    let _ = writeln!(
        out,
        "{:<20} {:<20} {:<20} {:>12} {:>12} {:<24}",
        "Snapshot name",
        "Keyspace name",
        "Column family name",
        "True size",
        "Size on disk",
        "Creation time"
    );
    let mut total = 0;
    for table in catalog.user_tables() {
        let family = TableFamily::of(node, &catalog, table)?;
        // Each family costs a scan of the table: skip the tables without snapshots.
        if family.snapshots.is_empty() {
            continue;
        }
        let sizes = family.sizes(node.engine())?;
        for (r, bytes) in family.snapshots.iter().zip(sizes.iter().skip(1)) {
            total += bytes.exclusive;
            let created = crate::types::format_timestamp(r.created_at_millis);
            let size = crate::util::human_bytes(bytes.exclusive);
            let _ = writeln!(
                out,
                "{:<20} {:<20} {:<20} {:>12} {:>12} {:<24}",
                r.tag, r.keyspace, r.table, size, size, created
            );
        }
    }
    let _ = writeln!(
        out,
        "\nTotal TrueDiskSpaceUsed: {}\n",
        crate::util::human_bytes(total)
    );
    Ok(out)
}

/// `nodetool tablestats|cfstats [-H] [keyspace[.table]...]` in Cassandra's layout.
/// Sizes are estimated from the entries each version sees (key, value, per-entry
/// fields): "live" is what the table's head sees, "by snapshots" what only its snapshots
/// keep, "exclusively" what only the head (or one snapshot) keeps.
pub fn tablestats(node: &Node, args: &[String]) -> CqlResult<String> {
    let mut human = false;
    let mut targets = Vec::new();
    for arg in args {
        match arg.as_str() {
            "-H" | "--human-readable" => human = true,
            option if option.starts_with('-') => {
                return Err(CqlError::invalid(format!(
                    "tablestats: unsupported option {option} (supported: -H)"
                )))
            }
            target => targets.push(target.to_string()),
        }
    }
    let size = |bytes: u64| {
        if human {
            crate::util::human_bytes(bytes)
        } else {
            bytes.to_string()
        }
    };
    let catalog = node.catalog();
    let tables = selected(&catalog, &targets)?;
    let pending_flushes = node.engine().stats().frozen_memtables;
    let mut out = format!(
        "Total number of tables: {}\n----------------\n",
        tables.len()
    );
    let mut keyspaces: Vec<&str> = tables.iter().map(|t| t.def.keyspace.as_str()).collect();
    keyspaces.dedup();
    for keyspace in keyspaces {
        let in_keyspace: Vec<&Table> = tables
            .iter()
            .copied()
            .filter(|t| t.def.keyspace == keyspace)
            .collect();
        let reads = Latency::sum(in_keyspace.iter().map(|t| &t.metrics.read));
        let writes = Latency::sum(in_keyspace.iter().map(|t| &t.metrics.write));
        let _ = write!(
            out,
            "Keyspace : {keyspace}\n\tRead Count: {}\n\tRead Latency: {} ms\n\tWrite Count: {}\n\t\
             Write Latency: {} ms\n\tPending Flushes: {pending_flushes}\n",
            reads.count,
            reads.mean_ms(),
            writes.count,
            writes.mean_ms()
        );
        for table in in_keyspace {
            let family = TableFamily::of(node, &catalog, table)?;
            let sizes = family.sizes(node.engine())?;
            let live = sizes.first().map_or(0, |s| s.visible);
            let snapshots: u64 = sizes.iter().skip(1).map(|s| s.exclusive).sum();
            let reads = Latency::sum([&table.metrics.read, &table.metrics.range]);
            let writes = Latency::sum([&table.metrics.write]);
            let _ = write!(
                out,
                "\t\tTable: {}\n\t\tSpace used (live): {}\n\t\tSpace used (total): {}\n\t\t\
                 Space used by snapshots (total): {}\n\t\tSpace used exclusively (live): {}\n",
                table.def.name,
                size(live),
                size(live + snapshots),
                size(snapshots),
                size(sizes.first().map_or(0, |s| s.exclusive)),
            );
            for (r, bytes) in family.snapshots.iter().zip(sizes.iter().skip(1)) {
                let _ = writeln!(
                    out,
                    "\t\tSpace used exclusively by snapshot {}: {}",
                    r.tag,
                    size(bytes.exclusive)
                );
            }
            let _ = write!(
                out,
                "\t\tLocal read count: {}\n\t\tLocal read latency: {} ms\n\t\t\
                 Local write count: {}\n\t\tLocal write latency: {} ms\n\t\t\
                 Pending flushes: {pending_flushes}\n\n",
                reads.count,
                reads.mean_ms(),
                writes.count,
                writes.mean_ms()
            );
        }
        out.push_str("----------------\n");
    }
    Ok(out)
}

/// Count and total time of latency histograms, for tablestats' means.
#[derive(Default)]
struct Latency {
    count: u64,
    seconds: f64,
}

impl Latency {
    fn sum<'h>(histograms: impl IntoIterator<Item = &'h prometheus::Histogram>) -> Latency {
        histograms
            .into_iter()
            .fold(Latency::default(), |acc, h| Latency {
                count: acc.count + h.get_sample_count(),
                seconds: acc.seconds + h.get_sample_sum(),
            })
    }

    /// Cassandra prints `NaN ms` when nothing was measured.
    fn mean_ms(&self) -> String {
        if self.count == 0 {
            "NaN".into()
        } else {
            format!("{:.3}", self.seconds * 1000.0 / self.count as f64)
        }
    }
}

/// A table's live head and its snapshots.
struct TableFamily<'c> {
    head: VersionId,
    snapshots: Vec<&'c SnapshotRecord>,
}

impl<'c> TableFamily<'c> {
    fn of(
        node: &Node,
        catalog: &'c crate::schema::Catalog,
        table: &Table,
    ) -> CqlResult<TableFamily<'c>> {
        let head = node.engine().writable_head(table.def.data_version)?;
        let snapshots = catalog
            .snapshots
            .values()
            .filter(|r| r.keyspace == table.def.keyspace && r.table == table.def.name)
            .collect();
        Ok(TableFamily { head, snapshots })
    }

    /// Bytes of the head, then of each snapshot in order.
    fn sizes(&self, engine: &Engine) -> CqlResult<Vec<VersionBytes>> {
        let versions: Vec<VersionId> = std::iter::once(self.head)
            .chain(self.snapshots.iter().map(|r| r.version))
            .collect();
        bytes_seen_by_one_version(engine, &versions)
    }
}

/// The estimated bytes of the entries one version sees.
#[derive(Clone, Copy, Default)]
struct VersionBytes {
    /// All of them.
    visible: u64,
    /// Those that no other of the versions compared resolves to the same cell.
    exclusive: u64,
}

/// One pass over `versions` in key order: per version, the bytes of the entries (key,
/// cell) it sees, and of those no other of `versions` resolves to the same cell.
fn bytes_seen_by_one_version(
    engine: &Engine,
    versions: &[VersionId],
) -> CqlResult<Vec<VersionBytes>> {
    let mut cursors = versions
        .iter()
        .map(|&v| Cursor::open(engine, v))
        .collect::<CqlResult<Vec<_>>>()?;
    let mut bytes = vec![VersionBytes::default(); versions.len()];
    while let Some(key) = cursors
        .iter()
        .filter_map(|c| c.current.as_ref().map(|(k, _)| k))
        .min()
        .cloned()
    {
        let at_key: Vec<Option<&Cell>> = cursors
            .iter()
            .map(|c| {
                c.current
                    .as_ref()
                    .filter(|(k, _)| *k == key)
                    .map(|(_, cell)| cell)
            })
            .collect();
        // `bytes` and `at_key` both have one entry per version, so they zip exactly.
        for (i, (cell, total)) in at_key.iter().zip(bytes.iter_mut()).enumerate() {
            let Some(cell) = cell else { continue };
            let entry = entry_bytes(&key, cell);
            total.visible += entry;
            let shared = at_key
                .iter()
                .enumerate()
                .any(|(j, other)| j != i && *other == Some(*cell));
            if !shared {
                total.exclusive += entry;
            }
        }
        for c in cursors
            .iter_mut()
            .filter(|c| c.current.as_ref().is_some_and(|(k, _)| *k == key))
        {
            c.advance()?;
        }
    }
    Ok(bytes)
}

/// What an entry costs in an array file: key, value and the fixed per-entry fields.
pub(crate) fn entry_bytes(key: &[u8], cell: &Cell) -> u64 {
    const FIXED: usize = 33;
    let value = match &cell.value {
        CellValue::Live(v) => v.len(),
        CellValue::Tombstone { .. } => 0,
    };
    (key.len() + value + FIXED) as u64
}

/// A scan at one version with its current entry.
struct Cursor {
    scan: ScanIter,
    current: Option<(Vec<u8>, Cell)>,
}

impl Cursor {
    fn open(engine: &Engine, version: VersionId) -> CqlResult<Cursor> {
        let mut cursor = Cursor {
            scan: engine.scan(version, Bound::Unbounded, Bound::Unbounded, false)?,
            current: None,
        };
        cursor.advance()?;
        Ok(cursor)
    }

    fn advance(&mut self) -> CqlResult<()> {
        self.current = self.scan.next().transpose()?;
        Ok(())
    }
}
