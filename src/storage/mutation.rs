//! CQL-level writes to one partition, turned into engine mutations.
//!
//! Invariant: every engine mutation produced for one `PartitionUpdate` carries the same
//! client timestamp, so a whole INSERT/UPDATE/DELETE statement resolves as one unit
//! under last-write-wins.

use strata_engine::{Cell, CellValue, Mutation, VersionId};

use super::layout;

/// Bounds of a clustering range as engine-key bytes relative to the partition's row area:
/// `start` is inclusive, `end` exclusive (`None` = to the end of the partition).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ClusteringRange {
    pub start: Vec<u8>,
    pub end: Option<Vec<u8>>,
}

impl ClusteringRange {
    pub fn contains(&self, clustering: &[u8]) -> bool {
        clustering >= self.start.as_slice() && self.end.as_deref().is_none_or(|end| clustering < end)
    }

    /// The range covering exactly the rows whose clustering starts with `prefix`.
    pub fn prefix(prefix: &[u8]) -> ClusteringRange {
        ClusteringRange { start: prefix.to_vec(), end: layout::prefix_successor(prefix) }
    }
}

/// One change inside a partition.
#[derive(Clone, Debug)]
pub enum Operation {
    DeletePartition,
    DeleteRange(ClusteringRange),
    /// Row liveness (INSERT); `clustering` is the encoded clustering.
    RowMarker { clustering: Vec<u8> },
    /// A regular cell (`clustering = Some`) or a static cell (`None`); `value = None`
    /// writes a cell tombstone.
    Cell { clustering: Option<Vec<u8>>, column: String, value: Option<Vec<u8>> },
}

/// All changes a statement makes to one partition.
#[derive(Clone, Debug)]
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
            .map(|op| {
                let (key, cell) = self.encode(&prefix, op, now_secs);
                Mutation { version, key, cell }
            })
            .collect()
    }

    fn encode(&self, prefix: &[u8], op: &Operation, now_secs: i64) -> (Vec<u8>, Cell) {
        match op {
            Operation::DeletePartition => {
                (layout::partition_deletion_key(prefix), self.marker_cell(Vec::new()))
            }
            Operation::DeleteRange(range) => {
                let end = range.end.clone().unwrap_or_default();
                let key = layout::range_tombstone_key(prefix, &range.start, &end);
                let value = serde_json::to_vec(range).unwrap_or_default();
                (key, self.marker_cell(value))
            }
            Operation::RowMarker { clustering } => {
                (layout::row_marker_key(prefix, clustering), self.live_cell(Vec::new(), now_secs))
            }
            Operation::Cell { clustering, column, value } => {
                let key = match clustering {
                    Some(c) => layout::row_cell_key(prefix, c, column),
                    None => layout::static_cell_key(prefix, column),
                };
                let cell = match value {
                    Some(v) => self.live_cell(v.clone(), now_secs),
                    None => self.tombstone(now_secs),
                };
                (key, cell)
            }
        }
    }

    /// Deletion markers are live engine cells (see `layout`): never TTL'd, never purged.
    fn marker_cell(&self, value: Vec<u8>) -> Cell {
        Cell { timestamp: self.timestamp, ttl_secs: 0, expires_at_secs: 0, value: CellValue::Live(value) }
    }

    fn live_cell(&self, value: Vec<u8>, now_secs: i64) -> Cell {
        let expires_at_secs = if self.ttl_secs > 0 { now_secs + i64::from(self.ttl_secs) } else { 0 };
        Cell { timestamp: self.timestamp, ttl_secs: self.ttl_secs, expires_at_secs, value: CellValue::Live(value) }
    }

    fn tombstone(&self, now_secs: i64) -> Cell {
        Cell {
            timestamp: self.timestamp,
            ttl_secs: 0,
            expires_at_secs: 0,
            value: CellValue::Tombstone { deleted_at_secs: now_secs },
        }
    }
}
