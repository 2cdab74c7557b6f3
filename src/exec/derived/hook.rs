//! Keeps derived data (secondary index entries, materialized view rows) in step with
//! base-table writes.
//!
//! The write path calls [`add_derived_writes`] once per statement or batch, before the
//! `WriteCommand` goes to the coordinator. For every partition update that can change an
//! indexed value, the partition's current rows are read (read-before-write), the entries
//! the update removes and adds are computed, and the entry writes are appended to the same
//! command, so the base write and its index writes are one atomic engine write on every
//! replica.
//!
//! View rows are computed by `view` from the same rows-before-the-write.
//!
//! Entries are written at the base write's timestamp (and TTL). When concurrent writes
//! to one row race, an entry may survive for a value the row no longer holds; index
//! reads re-check every candidate row, so such an entry costs a lookup, never a wrong
//! answer. An entry for a value the row does hold is never removed by an older write,
//! because a removal carries the older write's timestamp.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use strata_protocol::Consistency;

use super::index::{self, entry_update, row_entries};
use super::view;
use crate::cluster::{Branch, ReadCommand, ReadTarget, TableWrite, WriteCommand};
use crate::error::{CqlError, CqlResult};
use crate::exec::context::Context;
use crate::exec::plan::rows::{FullRow, RowAssembler};
use crate::schema::{IndexDef, IndexTargetKind, Table};
use crate::storage::{CellData, ClusteringRange, Decoded, Operation, PartitionUpdate};
use crate::types::CqlType;

/// Bound on the rows of one partition read before a write that needs them.
const MAX_BEFORE_ROWS: usize = 1_000_000;

/// A partition's rows before a write, by clustering.
type RowsBefore = BTreeMap<Vec<u8>, FullRow>;

/// An index entry: indexed value and base clustering (empty for static columns).
type Entry = (Vec<u8>, Vec<u8>);

/// Appends to `command` the index and view writes its base writes imply, reading each
/// affected partition first.
pub async fn add_derived_writes(
    ctx: &Context<'_>,
    command: &mut WriteCommand,
    consistency: Consistency,
) -> CqlResult<()> {
    let mut before = Vec::new();
    for write in &command.tables {
        view::check_writable(&write.table)?;
        let mut per_update = Vec::with_capacity(write.updates.len());
        for update in &write.updates {
            per_update.push(if needs_rows(&write.table, update) {
                // Boxed: only writes with views or indexes read first, and the read's state
                // would otherwise grow every write's future.
                Some(Box::pin(partition_rows(ctx, write, update, consistency)).await?)
            } else {
                None
            });
        }
        before.push(per_update);
    }
    append_derived(ctx, command, &before)
}

/// The same for a conditional write of one partition, applied under the partition's
/// lock: `items` are the rows the condition read, which are all the rows it writes.
pub fn add_conditional_derived_writes(
    ctx: &Context<'_>,
    command: &mut WriteCommand,
    items: &[Decoded],
) -> CqlResult<()> {
    let mut before = Vec::new();
    for write in &command.tables {
        view::check_writable(&write.table)?;
        let mut assembler = RowAssembler::new(&write.table);
        let rows: BTreeMap<Vec<u8>, FullRow> = items
            .iter()
            .cloned()
            .filter_map(|item| assembler.push(item))
            .map(|row| (row.clustering.clone(), row))
            .collect();
        before.push(
            write
                .updates
                .iter()
                .map(|u| needs_rows(&write.table, u).then(|| rows.clone()))
                .collect(),
        );
    }
    append_derived(ctx, command, &before)
}

fn needs_rows(table: &Table, update: &PartitionUpdate) -> bool {
    !table.views.is_empty() || touches_indexes(table, update)
}

/// Appends the derived writes, given each update's partition rows before the write
/// (`before[table][update]`, `None` when the update changes no derived data).
fn append_derived(
    ctx: &Context<'_>,
    command: &mut WriteCommand,
    before: &[Vec<Option<RowsBefore>>],
) -> CqlResult<()> {
    let mut derived = Vec::new();
    for (write, before) in command.tables.iter().zip(before) {
        if write.table.indexes.is_empty() && write.table.views.is_empty() {
            continue;
        }
        let views = views_of(ctx, &write.table);
        let mut per_index: BTreeMap<String, Vec<PartitionUpdate>> = BTreeMap::new();
        let mut per_view: Vec<Vec<PartitionUpdate>> = vec![Vec::new(); views.len()];
        for (update, rows) in write.updates.iter().zip(before) {
            let Some(rows) = rows else { continue };
            for index in &write.table.indexes {
                per_index
                    .entry(index.name.clone())
                    .or_default()
                    .extend(index_updates(&write.table, index, update, rows)?);
            }
            for (view, updates) in views.iter().zip(per_view.iter_mut()) {
                updates.extend(view::view_updates(&write.table, view, update, rows)?);
            }
        }
        for index in &write.table.indexes {
            let updates = per_index.remove(&index.name).unwrap_or_default();
            if updates.is_empty() {
                continue;
            }
            let storage = index::storage_table(&write.table, index)?;
            derived.push(TableWrite {
                table: storage,
                branch: Branch::Main,
                updates,
            });
        }
        for (view, updates) in views.into_iter().zip(per_view) {
            if !updates.is_empty() {
                derived.push(TableWrite {
                    table: view,
                    branch: Branch::Main,
                    updates,
                });
            }
        }
    }
    command.tables.extend(derived);
    Ok(())
}

/// The materialized views of a base table, from the statement's catalog snapshot.
fn views_of(ctx: &Context<'_>, base: &Table) -> Vec<Arc<Table>> {
    base.views
        .iter()
        .filter_map(|name| ctx.catalog.table(&base.def.keyspace, name).cloned())
        .collect()
}

fn operation_column(operation: &Operation) -> Option<&str> {
    match operation {
        Operation::Cell { column, .. }
        | Operation::SubCell { column, .. }
        | Operation::ComplexDeletion { column, .. }
        | Operation::CounterAdd { column, .. }
        | Operation::CounterShard { column, .. } => Some(column),
        _ => None,
    }
}

fn touches_indexes(table: &Table, update: &PartitionUpdate) -> bool {
    if table.indexes.iter().any(|i| index::is_key_column(table, i)) {
        return true;
    }
    update.operations.iter().any(|op| match op {
        Operation::DeletePartition | Operation::DeleteRange(_) => true,
        other => {
            operation_column(other).is_some_and(|c| table.indexes.iter().any(|i| i.column == c))
        }
    })
}

/// The partition's rows before the write, by clustering.
async fn partition_rows(
    ctx: &Context<'_>,
    write: &TableWrite,
    update: &PartitionUpdate,
    consistency: Consistency,
) -> CqlResult<BTreeMap<Vec<u8>, FullRow>> {
    let command = ReadCommand {
        table: write.table.clone(),
        branch: write.branch,
        target: ReadTarget::Partition {
            token: update.token,
            key: update.partition_key.clone(),
            slices: touched_slices(update),
            reverse: false,
        },
        row_limit: MAX_BEFORE_ROWS,
        per_partition_limit: None,
        resume_after: None,
        resume_partition_rows: 0,
        now_secs: crate::clock::now_secs(),
    };
    let result = ctx.node.coordinator().read(command, consistency).await?;
    let mut assembler = RowAssembler::new(&write.table);
    Ok(result
        .items
        .into_iter()
        .filter_map(|item| assembler.push(item))
        .map(|row| (row.clustering.clone(), row))
        .collect())
}

/// The clustering ranges an update can change, merged and in order: the whole partition
/// when it deletes the partition or writes a static cell (static values show in every
/// row), else its rows and deleted ranges.
fn touched_slices(update: &PartitionUpdate) -> Vec<ClusteringRange> {
    let full = || {
        vec![ClusteringRange {
            start: Vec::new(),
            end: None,
        }]
    };
    let mut ranges = Vec::new();
    for operation in &update.operations {
        let clustering = match operation {
            Operation::DeletePartition => return full(),
            Operation::DeleteRange(range) => {
                ranges.push(range.clone());
                continue;
            }
            Operation::RowMarker { clustering } => Some(clustering),
            Operation::Cell { clustering, .. }
            | Operation::SubCell { clustering, .. }
            | Operation::ComplexDeletion { clustering, .. }
            | Operation::CounterAdd { clustering, .. }
            | Operation::CounterShard { clustering, .. } => match clustering {
                Some(c) => Some(c),
                None => return full(),
            },
        };
        ranges.extend(clustering.map(|c| ClusteringRange::prefix(c)));
    }
    ranges.sort_by(|a, b| a.start.cmp(&b.start));
    let mut merged: Vec<ClusteringRange> = Vec::with_capacity(ranges.len());
    for range in ranges {
        match merged.last_mut() {
            Some(last) if last.end.as_ref().is_none_or(|end| range.start <= *end) => {
                last.end = match (&last.end, &range.end) {
                    (Some(a), Some(b)) => Some(a.clone().max(b.clone())),
                    _ => None,
                };
            }
            _ => merged.push(range),
        }
    }
    merged
}

/// Entries of the rows before the write, by base clustering (one static pseudo-row).
fn before_entries(
    table: &Table,
    index: &IndexDef,
    before: &BTreeMap<Vec<u8>, FullRow>,
) -> BTreeMap<Vec<u8>, Vec<Vec<u8>>> {
    if index::is_static(table, index) {
        let values = before
            .values()
            .next()
            .map(|row| row_entries(table, index, row))
            .unwrap_or_default();
        return BTreeMap::from([(Vec::new(), values)]);
    }
    before
        .iter()
        .map(|(clustering, row)| (clustering.clone(), row_entries(table, index, row)))
        .collect()
}

/// The entry writes of one base partition update for one index.
fn index_updates(
    table: &Arc<Table>,
    index: &IndexDef,
    update: &PartitionUpdate,
    before: &BTreeMap<Vec<u8>, FullRow>,
) -> CqlResult<Vec<PartitionUpdate>> {
    let Some(column) = table.column_index(&index.column) else {
        return Ok(Vec::new());
    };
    if index::is_key_column(table, index) {
        return key_index_updates(table, index, column, update, before);
    }
    let (_, column_type) = table.column(column)?;
    let old = before_entries(table, index, before);
    check_indexed_sizes(table, index, update)?;
    let mut removed: BTreeSet<Entry> = BTreeSet::new();
    let mut added: BTreeSet<Entry> = BTreeSet::new();
    let old_of = |clustering: &[u8]| -> Vec<Entry> {
        old.get(clustering)
            .map(|values| {
                values
                    .iter()
                    .map(|v| (v.clone(), clustering.to_vec()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let row_key = |clustering: &Option<Vec<u8>>| clustering.clone().unwrap_or_default();
    for operation in &update.operations {
        match operation {
            Operation::DeletePartition => removed.extend(old.keys().flat_map(|c| old_of(c))),
            Operation::DeleteRange(range) => removed.extend(
                old.keys()
                    .filter(|c| range.contains(c))
                    .flat_map(|c| old_of(c)),
            ),
            Operation::Cell {
                clustering,
                column: name,
                value,
            } if *name == index.column => {
                let key = row_key(clustering);
                removed.extend(old_of(&key));
                if let Some(v) = value {
                    added.extend(
                        index::entry_values(column_type, index.target, v)
                            .into_iter()
                            .map(|e| (e, key.clone())),
                    );
                }
            }
            Operation::ComplexDeletion {
                clustering,
                column: name,
                ..
            } if *name == index.column => removed.extend(old_of(&row_key(clustering))),
            Operation::SubCell {
                clustering,
                column: name,
                path,
                value,
                ..
            } if *name == index.column => {
                let key = row_key(clustering);
                let before_row = if clustering.is_some() {
                    before.get(&key)
                } else {
                    before.values().next()
                };
                if let Some(old) = old_element(
                    column_type,
                    before_row.and_then(|r| r.cells.get(column)?.as_ref()),
                    path,
                ) {
                    removed.extend(
                        element_entries(column_type, index.target, &old)
                            .into_iter()
                            .map(|e| (e, key.clone())),
                    );
                }
                if let Some(new) = value.as_deref().and_then(|v| decode_piece(column_type, v)) {
                    added.extend(
                        element_entries(column_type, index.target, &new)
                            .into_iter()
                            .map(|e| (e, key.clone())),
                    );
                }
            }
            _ => {}
        }
    }
    entry_writes(update, &removed, &added)
}

/// Cassandra refuses to index a value that does not fit a key (64 KiB), naming the index.
fn check_indexed_sizes(table: &Table, index: &IndexDef, update: &PartitionUpdate) -> CqlResult<()> {
    for operation in &update.operations {
        if let Operation::Cell {
            column,
            value: Some(value),
            ..
        } = operation
        {
            if *column == index.column && value.len() > crate::exec::plan::restrict::MAX_KEY_BYTES {
                return Err(CqlError::invalid(format!(
                    "Cannot index value of size {} for index {} on {}.{}({}) (maximum allowed size={})",
                    value.len(),
                    index.name,
                    table.def.keyspace,
                    table.def.name,
                    index.column,
                    crate::exec::plan::restrict::MAX_KEY_BYTES
                )));
            }
        }
    }
    Ok(())
}

/// The entry writes for the entries a base update removes and adds (an entry both
/// removed and re-added is only written).
fn entry_writes(
    update: &PartitionUpdate,
    removed: &BTreeSet<Entry>,
    added: &BTreeSet<Entry>,
) -> CqlResult<Vec<PartitionUpdate>> {
    let mut updates = Vec::new();
    for (value, clustering) in removed.difference(added) {
        updates.push(entry_update(
            value,
            &update.partition_key,
            clustering,
            update.timestamp,
            false,
        )?);
    }
    for (value, clustering) in added {
        let mut entry = entry_update(
            value,
            &update.partition_key,
            clustering,
            update.timestamp,
            true,
        )?;
        entry.ttl_secs = update.ttl_secs;
        updates.push(entry);
    }
    Ok(updates)
}

/// Entry writes of an index on a partition key component or clustering column: every
/// row the update writes holds the value; deleted rows lose it.
fn key_index_updates(
    table: &Table,
    index: &IndexDef,
    column: usize,
    update: &PartitionUpdate,
    before: &RowsBefore,
) -> CqlResult<Vec<PartitionUpdate>> {
    let old = before_entries(table, index, before);
    let old_of = |clustering: &Vec<u8>| -> Vec<Entry> {
        old.get(clustering)
            .map(|values| {
                values
                    .iter()
                    .map(|v| (v.clone(), clustering.clone()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut removed: BTreeSet<Entry> = BTreeSet::new();
    let mut added: BTreeSet<Entry> = BTreeSet::new();
    for operation in &update.operations {
        let written = match operation {
            Operation::DeletePartition => {
                removed.extend(old.keys().flat_map(old_of));
                continue;
            }
            Operation::DeleteRange(range) => {
                removed.extend(old.keys().filter(|c| range.contains(c)).flat_map(old_of));
                continue;
            }
            Operation::RowMarker { clustering } => clustering,
            Operation::Cell {
                clustering: Some(clustering),
                value: Some(_),
                ..
            }
            | Operation::SubCell {
                clustering: Some(clustering),
                value: Some(_),
                ..
            } => clustering,
            _ => continue,
        };
        let values = view::row_values(table, update, written)?;
        if let Some(value) = values.get(column).cloned().flatten() {
            added.insert((value, written.clone()));
        }
    }
    entry_writes(update, &removed, &added)
}

/// An element of a collection as (key, value): a set element is its own key and value,
/// a map entry is (key, value), a list element has no key.
type Element = (Vec<u8>, Vec<u8>);

/// Splits `[int length][bytes]` pieces off the front of `input`.
fn sized_parts(mut input: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while let Some(len) = input
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .map(i32::from_be_bytes)
    {
        let Some((part, rest)) = input
            .get(4..)
            .and_then(|body| body.split_at_checked(len.max(0) as usize))
        else {
            break;
        };
        out.push(part.to_vec());
        input = rest;
    }
    out
}

/// The element a stored piece holds (pieces are stored as sized values; a map entry as
/// its sized key then sized value).
fn decode_piece(column_type: &CqlType, stored: &[u8]) -> Option<Element> {
    let parts = sized_parts(stored);
    match (column_type, parts.as_slice()) {
        (CqlType::Map { .. }, [k, v]) => Some((k.clone(), v.clone())),
        (CqlType::Set { .. }, [e]) => Some((e.clone(), e.clone())),
        (CqlType::List { .. }, [e]) => Some((Vec::new(), e.clone())),
        _ => None,
    }
}

/// The element at `path` before the write.
fn old_element(column_type: &CqlType, cell: Option<&CellData>, path: &[u8]) -> Option<Element> {
    let cell = cell?;
    let keys = index::entry_values(column_type, IndexTargetKind::Keys, &cell.value);
    let values = index::entry_values(column_type, IndexTargetKind::Values, &cell.value);
    let position = match column_type {
        CqlType::List { .. } => cell.paths.iter().position(|p| p == path)?,
        CqlType::Set {
            element: key_type, ..
        }
        | CqlType::Map { key: key_type, .. } => {
            let source = if matches!(column_type, CqlType::Set { .. }) {
                &values
            } else {
                &keys
            };
            source.iter().position(|k| {
                let mut encoded = Vec::new();
                crate::types::encode_key_component(key_type, k, false, &mut encoded).is_ok()
                    && encoded == path
            })?
        }
        _ => return None,
    };
    let value = values.get(position)?.clone();
    let key = if matches!(column_type, CqlType::Map { .. }) {
        keys.get(position)?.clone()
    } else {
        value.clone()
    };
    Some((key, value))
}

/// The index values one collection element contributes.
fn element_entries(
    column_type: &CqlType,
    target: IndexTargetKind,
    (key, value): &Element,
) -> Vec<Vec<u8>> {
    match (column_type, target) {
        (CqlType::Map { .. } | CqlType::Set { .. }, IndexTargetKind::Keys) => vec![key.clone()],
        (CqlType::Map { .. }, IndexTargetKind::Entries) => vec![index::pack_entry(key, value)],
        (_, IndexTargetKind::Values | IndexTargetKind::Simple) => vec![value.clone()],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::NoUdts;

    fn sized(v: &[u8]) -> Vec<u8> {
        [&(v.len() as i32).to_be_bytes()[..], v].concat()
    }

    #[test]
    fn only_touched_rows_are_read_before_a_write() {
        let update = |operations| PartitionUpdate {
            token: 0,
            partition_key: vec![1],
            timestamp: 1,
            ttl_secs: 0,
            operations,
        };
        let cell = |c: &[u8]| Operation::Cell {
            clustering: Some(c.to_vec()),
            column: "v".into(),
            value: None,
        };
        let slices = touched_slices(&update(vec![
            cell(b"c"),
            cell(b"a"),
            Operation::DeleteRange(ClusteringRange::prefix(b"a")),
        ]));
        assert_eq!(slices.len(), 2);
        assert!(slices[0].start < slices[1].start);
        let whole = touched_slices(&update(vec![cell(b"a"), Operation::DeletePartition]));
        assert_eq!(
            whole,
            vec![ClusteringRange {
                start: Vec::new(),
                end: None
            }]
        );
        let statics = touched_slices(&update(vec![Operation::Cell {
            clustering: None,
            column: "s".into(),
            value: None,
        }]));
        assert_eq!(
            statics,
            vec![ClusteringRange {
                start: Vec::new(),
                end: None
            }]
        );
    }

    #[test]
    fn pieces_decode_per_collection_kind() {
        let map = CqlType::parse("map<text, int>", &NoUdts).expect("type");
        let piece = [sized(b"k"), sized(&[0, 0, 0, 3])].concat();
        assert_eq!(
            decode_piece(&map, &piece),
            Some((b"k".to_vec(), vec![0, 0, 0, 3]))
        );
        assert_eq!(
            element_entries(&map, IndexTargetKind::Keys, &(b"k".to_vec(), vec![1])),
            vec![b"k".to_vec()]
        );
        let set = CqlType::parse("set<text>", &NoUdts).expect("type");
        assert_eq!(
            decode_piece(&set, &sized(b"x")),
            Some((b"x".to_vec(), b"x".to_vec()))
        );
        assert_eq!(decode_piece(&set, &[0, 0, 0, 9]), None);
    }

    #[test]
    fn old_set_element_is_found_by_its_key_path() {
        let set = CqlType::parse("set<text>", &NoUdts).expect("type");
        let value = [&2i32.to_be_bytes()[..], &sized(b"a"), &sized(b"b")].concat();
        let cell = CellData {
            value,
            ..CellData::default()
        };
        let mut path = Vec::new();
        crate::types::encode_key_component(
            &CqlType::Native(crate::types::NativeType::Text),
            b"b",
            false,
            &mut path,
        )
        .expect("encodes");
        assert_eq!(
            old_element(&set, Some(&cell), &path),
            Some((b"b".to_vec(), b"b".to_vec()))
        );
        assert_eq!(old_element(&set, Some(&cell), b"zz"), None);
    }
}
