//! CQL-level writes to one partition, turned into engine mutations.
//!
//! Invariant: every engine mutation produced for one `PartitionUpdate` carries the same
//! client timestamp, so a whole INSERT/UPDATE/DELETE statement resolves as one unit
//! under last-write-wins.

use strata_engine::{Cell, CellValue, Mutation, VersionId};

use super::layout::{self, SubCell};

/// Bounds of a clustering range as engine-key bytes relative to the partition's row area:
/// `start` is inclusive, `end` exclusive (`None` = to the end of the partition).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ClusteringRange {
    pub start: Vec<u8>,
    pub end: Option<Vec<u8>>,
}

impl ClusteringRange {
    pub fn contains(&self, clustering: &[u8]) -> bool {
        clustering >= self.start.as_slice()
            && self.end.as_deref().is_none_or(|end| clustering < end)
    }

    /// The range covering exactly the rows whose clustering starts with `prefix`.
    pub fn prefix(prefix: &[u8]) -> ClusteringRange {
        ClusteringRange {
            start: prefix.to_vec(),
            end: layout::prefix_successor(prefix),
        }
    }
}

/// One change inside a partition.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Operation {
    DeletePartition,
    DeleteRange(ClusteringRange),
    /// Row liveness (INSERT); `clustering` is the encoded clustering.
    RowMarker {
        clustering: Vec<u8>,
    },
    /// A regular cell (`clustering = Some`) or a static cell (`None`); `value = None`
    /// writes a cell tombstone.
    Cell {
        clustering: Option<Vec<u8>>,
        column: String,
        value: Option<Vec<u8>>,
    },
    /// One piece (element, UDT field) of a multi-cell column; `value = None` deletes it.
    SubCell {
        clustering: Option<Vec<u8>>,
        column: String,
        kind: SubCell,
        path: Vec<u8>,
        value: Option<Vec<u8>>,
    },
    /// Deletes every piece of a multi-cell column written at or before `timestamp`. A
    /// whole-collection overwrite uses the statement's timestamp - 1 (as Cassandra) so
    /// the new elements, written at the statement's timestamp, survive it.
    ComplexDeletion {
        clustering: Option<Vec<u8>>,
        column: String,
        timestamp: i64,
    },
    /// Adds `delta` to a counter. The replica leading the write turns it into its own
    /// `CounterShard` (see ARCHITECTURE.md, "Counters").
    CounterAdd {
        clustering: Option<Vec<u8>>,
        column: String,
        delta: i64,
    },
    /// One node's shard of a counter: its running total and the logical clock of its
    /// last change. The clock is also the engine timestamp, so the newest shard state
    /// wins when replicas exchange shards.
    CounterShard {
        clustering: Option<Vec<u8>>,
        column: String,
        shard: Vec<u8>,
        clock: i64,
        count: i64,
    },
}

impl Operation {
    /// The engine key of the (simple) cell this operation addresses, if any.
    pub fn cell_key(prefix: &[u8], clustering: Option<&[u8]>, column: &str) -> Vec<u8> {
        match clustering {
            Some(c) => layout::row_cell_key(prefix, c, column),
            None => layout::static_cell_key(prefix, column),
        }
    }
}

fn live_timestamp(cell: Option<Cell>) -> i64 {
    cell.filter(|c| matches!(c.value, CellValue::Live(_)))
        .map_or(i64::MIN, |c| c.timestamp)
}

/// The stored value of a counter shard: logical clock ‖ count, both big-endian i64.
pub fn encode_counter_shard(clock: i64, count: i64) -> Vec<u8> {
    [clock.to_be_bytes(), count.to_be_bytes()].concat()
}

/// `(clock, count)` of a stored counter shard.
pub fn decode_counter_shard(value: &[u8]) -> Option<(i64, i64)> {
    let clock = i64::from_be_bytes(value.get(..8)?.try_into().ok()?);
    let count = i64::from_be_bytes(value.get(8..16)?.try_into().ok()?);
    Some((clock, count))
}

/// All changes a statement makes to one partition (serializable: replicas receive it).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PartitionUpdate {
    pub token: i64,
    pub partition_key: Vec<u8>,
    pub timestamp: i64,
    pub ttl_secs: u32,
    pub operations: Vec<Operation>,
}

impl PartitionUpdate {
    /// Engine mutations for this update on `version`, with `now_secs` as the local
    /// deletion time and the TTL origin.
    pub fn to_mutations(&self, version: VersionId, now_secs: i64) -> Vec<Mutation> {
        let prefix = layout::partition_prefix(self.token, &self.partition_key);
        self.operations
            .iter()
            .filter_map(|op| {
                let (key, cell) = self.encode(&prefix, op, now_secs)?;
                Some(Mutation { version, key, cell })
            })
            .collect()
    }

    pub fn has_counter_adds(&self) -> bool {
        self.operations
            .iter()
            .any(|op| matches!(op, Operation::CounterAdd { .. }))
    }

    /// Replaces every `CounterAdd` by this node's new shard state. `current` reads a
    /// stored cell by engine key; the caller holds the counter lock of the partition so
    /// no other increment of the same shard interleaves (the shard is this node's alone,
    /// which is what lets replicas merge shards without coordination).
    /// `resolved` carries shard states resolved earlier in the same write (a counter
    /// batch may increment one counter several times), keyed by engine key.
    pub fn resolve_counters<E>(
        &mut self,
        shard: &[u8],
        resolved: &mut std::collections::HashMap<Vec<u8>, (i64, i64)>,
        mut current: impl FnMut(&[u8]) -> Result<Option<Cell>, E>,
    ) -> Result<(), E> {
        let prefix = layout::partition_prefix(self.token, &self.partition_key);
        let partition_deleted_at =
            live_timestamp(current(&layout::partition_deletion_key(&prefix))?);
        for op in &mut self.operations {
            let Operation::CounterAdd {
                clustering,
                column,
                delta,
            } = op
            else {
                continue;
            };
            let cell_key = Operation::cell_key(&prefix, clustering.as_deref(), column);
            let deleted_at = live_timestamp(current(&layout::sub_cell_key(
                &cell_key,
                SubCell::ComplexDeletion,
                &[],
            ))?)
            .max(partition_deleted_at);
            let shard_key = layout::sub_cell_key(&cell_key, SubCell::CounterShard, shard);
            let (old_clock, old_count) = match resolved.get(&shard_key) {
                Some(state) => *state,
                None => match current(&shard_key)?
                    .as_ref()
                    .map(|c| (&c.value, c.timestamp))
                {
                    Some((CellValue::Live(v), ts)) if ts > deleted_at => {
                        decode_counter_shard(v).unwrap_or((ts, 0))
                    }
                    Some((_, ts)) => (ts, 0),
                    None => (i64::MIN, 0),
                },
            };
            // The clock orders this shard's states; it also passes every deletion so a
            // counter deleted and incremented again counts from zero.
            let clock = crate::clock::next_micros()
                .max(old_clock.saturating_add(1))
                .max(deleted_at.saturating_add(1));
            let count = old_count.wrapping_add(*delta);
            resolved.insert(shard_key, (clock, count));
            *op = Operation::CounterShard {
                clustering: clustering.take(),
                column: std::mem::take(column),
                shard: shard.to_vec(),
                clock,
                count,
            };
        }
        Ok(())
    }

    fn encode(&self, prefix: &[u8], op: &Operation, now_secs: i64) -> Option<(Vec<u8>, Cell)> {
        Some(match op {
            Operation::DeletePartition => (
                layout::partition_deletion_key(prefix),
                self.marker_cell(Vec::new()),
            ),
            Operation::DeleteRange(range) => {
                let end = range.end.clone().unwrap_or_default();
                let key = layout::range_tombstone_key(prefix, &range.start, &end);
                let value = serde_json::to_vec(range).unwrap_or_default();
                (key, self.marker_cell(value))
            }
            Operation::RowMarker { clustering } => (
                layout::row_marker_key(prefix, clustering),
                self.live_cell(Vec::new(), now_secs),
            ),
            Operation::Cell {
                clustering,
                column,
                value,
            } => (
                Operation::cell_key(prefix, clustering.as_deref(), column),
                self.value_cell(value, now_secs),
            ),
            Operation::SubCell {
                clustering,
                column,
                kind,
                path,
                value,
            } => {
                let key = layout::sub_cell_key(
                    &Operation::cell_key(prefix, clustering.as_deref(), column),
                    *kind,
                    path,
                );
                (key, self.value_cell(value, now_secs))
            }
            Operation::ComplexDeletion {
                clustering,
                column,
                timestamp,
            } => {
                let cell_key = Operation::cell_key(prefix, clustering.as_deref(), column);
                let key = layout::sub_cell_key(&cell_key, SubCell::ComplexDeletion, &[]);
                (
                    key,
                    Cell {
                        timestamp: *timestamp,
                        ..self.marker_cell(Vec::new())
                    },
                )
            }
            Operation::CounterShard {
                clustering,
                column,
                shard,
                clock,
                count,
            } => {
                let cell_key = Operation::cell_key(prefix, clustering.as_deref(), column);
                let key = layout::sub_cell_key(&cell_key, SubCell::CounterShard, shard);
                (
                    key,
                    Cell {
                        timestamp: *clock,
                        ..self.marker_cell(encode_counter_shard(*clock, *count))
                    },
                )
            }
            // Unresolved increments have no stored form: the leading replica resolves
            // them into shards first (`PartitionUpdate::resolve_counters`).
            Operation::CounterAdd { .. } => return None,
        })
    }

    fn value_cell(&self, value: &Option<Vec<u8>>, now_secs: i64) -> Cell {
        match value {
            Some(v) => self.live_cell(v.clone(), now_secs),
            None => self.tombstone(now_secs),
        }
    }

    /// Deletion markers are live engine cells (see `layout`): never TTL'd, never purged.
    fn marker_cell(&self, value: Vec<u8>) -> Cell {
        Cell {
            timestamp: self.timestamp,
            ttl_secs: 0,
            expires_at_secs: 0,
            value: CellValue::Live(value),
        }
    }

    fn live_cell(&self, value: Vec<u8>, now_secs: i64) -> Cell {
        let expires_at_secs = if self.ttl_secs > 0 {
            now_secs + i64::from(self.ttl_secs)
        } else {
            0
        };
        Cell {
            timestamp: self.timestamp,
            ttl_secs: self.ttl_secs,
            expires_at_secs,
            value: CellValue::Live(value),
        }
    }

    fn tombstone(&self, now_secs: i64) -> Cell {
        Cell {
            timestamp: self.timestamp,
            ttl_secs: 0,
            expires_at_secs: 0,
            value: CellValue::Tombstone {
                deleted_at_secs: now_secs,
            },
        }
    }
}
