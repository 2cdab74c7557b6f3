//! Turns an ordered stream of engine entries of one table into CQL partitions and rows,
//! applying partition deletions, range tombstones and TTL expiry.
//!
//! Invariants:
//! - A partition's header (deletions) and static cells are fed before its rows. A forward
//!   scan does that by key order; a reverse or resumed read feeds the partition's
//!   `[P‖0x00, P‖0x03)` range first, then the rows in either direction.
//! - A cell is visible iff it is live at `now` and no deletion covering it has a timestamp
//!   greater than or equal to the cell's (Cassandra: on a tie the tombstone wins).

use strata_engine::{Cell, CellValue};

use super::layout;
use super::mutation::ClusteringRange;
use crate::types::{decode_key_component, CqlType};

/// A visible cell with the metadata `writetime()` and `ttl()` report.
#[derive(Clone, Debug, PartialEq)]
pub struct CellData {
    pub value: Vec<u8>,
    pub timestamp: i64,
    pub ttl_secs: u32,
    pub expires_at_secs: i64,
}

#[derive(Clone, Debug, Default)]
pub struct Row {
    /// Encoded clustering (engine order); empty for tables without clustering columns.
    pub clustering: Vec<u8>,
    /// Wire-format clustering values, in clustering column order.
    pub clustering_values: Vec<Vec<u8>>,
    pub has_live_marker: bool,
    pub cells: Vec<(String, CellData)>,
}

impl Row {
    pub fn cell(&self, column: &str) -> Option<&CellData> {
        self.cells.iter().find(|(name, _)| name == column).map(|(_, c)| c)
    }

    fn is_live(&self) -> bool {
        self.has_live_marker || !self.cells.is_empty()
    }
}

/// What the decoder emits, in order.
#[derive(Clone, Debug)]
pub enum Decoded {
    PartitionStart { token: i64, key: Vec<u8> },
    /// The partition's visible static cells (emitted once, possibly empty, before rows).
    Static(Vec<(String, CellData)>),
    Row(Row),
}

/// Deletions that apply to the partition being decoded.
#[derive(Clone, Debug, Default)]
pub struct Deletions {
    partition: Option<i64>,
    ranges: Vec<(ClusteringRange, i64)>,
}

impl Deletions {
    fn shadows_static(&self, timestamp: i64) -> bool {
        self.partition.is_some_and(|t| timestamp <= t)
    }

    fn shadows_row(&self, clustering: &[u8], timestamp: i64) -> bool {
        self.shadows_static(timestamp)
            || self.ranges.iter().any(|(r, t)| timestamp <= *t && r.contains(clustering))
    }

    /// Feeds a header entry (partition deletion or range tombstone); returns false if the
    /// entry is not a header entry.
    fn absorb(&mut self, suffix: &[u8], cell: &Cell) -> bool {
        let CellValue::Live(value) = &cell.value else { return matches!(suffix.first(), Some(0 | 1)) };
        match suffix.first() {
            Some(&layout::PARTITION_DELETION) => {
                self.partition = Some(self.partition.map_or(cell.timestamp, |t| t.max(cell.timestamp)));
                true
            }
            Some(&layout::RANGE_TOMBSTONE) => {
                if let Ok(range) = serde_json::from_slice::<ClusteringRange>(value) {
                    self.ranges.push((range, cell.timestamp));
                }
                true
            }
            _ => false,
        }
    }
}

/// Clustering column types with their DESC flags, used to find where the clustering
/// ends inside a row key.
#[derive(Clone, Debug)]
pub struct ClusteringLayout {
    pub columns: Vec<(CqlType, bool)>,
}

impl ClusteringLayout {
    /// Splits `input` into (encoded clustering, wire values, rest).
    fn split<'a>(&self, input: &'a [u8]) -> Option<(&'a [u8], Vec<Vec<u8>>, &'a [u8])> {
        let mut rest = input;
        let mut values = Vec::with_capacity(self.columns.len());
        for (ty, desc) in &self.columns {
            values.push(decode_key_component(ty, &mut rest, *desc).ok()?);
        }
        let used = input.len() - rest.len();
        Some((input.get(..used)?, values, rest))
    }
}

pub struct Decoder {
    layout: ClusteringLayout,
    now_secs: i64,
    partition_prefix: Vec<u8>,
    deletions: Deletions,
    statics: Option<Vec<(String, CellData)>>,
    row: Option<Row>,
}

impl Decoder {
    pub fn new(layout: ClusteringLayout, now_secs: i64) -> Decoder {
        Decoder {
            layout,
            now_secs,
            partition_prefix: Vec::new(),
            deletions: Deletions::default(),
            statics: None,
            row: None,
        }
    }

    /// Feeds one engine entry; complete items are appended to `out`.
    pub fn push(&mut self, key: &[u8], cell: &Cell, out: &mut Vec<Decoded>) {
        let Some((token, pk, suffix)) = layout::split_partition(key) else { return };
        let prefix_len = key.len() - suffix.len();
        if key.get(..prefix_len) != Some(self.partition_prefix.as_slice()) {
            self.finish(out);
            self.partition_prefix = key.get(..prefix_len).unwrap_or_default().to_vec();
            self.deletions = Deletions::default();
            out.push(Decoded::PartitionStart { token, key: pk });
        }
        if self.deletions.absorb(suffix, cell) {
            return;
        }
        match suffix.split_first() {
            Some((&layout::STATIC_CELL, rest)) => self.push_static(rest, cell),
            Some((&layout::ROW, rest)) => self.push_row_entry(rest, cell, out),
            _ => {}
        }
    }

    /// Flushes the pending static cells and row.
    pub fn finish(&mut self, out: &mut Vec<Decoded>) {
        self.flush_statics(out);
        if let Some(row) = self.row.take().filter(Row::is_live) {
            out.push(Decoded::Row(row));
        }
    }

    fn push_static(&mut self, mut rest: &[u8], cell: &Cell) {
        let Some(column) = layout::read_escaped(&mut rest) else { return };
        let visible = self.visible(cell).filter(|c| !self.deletions.shadows_static(c.timestamp));
        let statics = self.statics.get_or_insert_with(Vec::new);
        if let (Some(data), Ok(name)) = (visible, String::from_utf8(column)) {
            statics.push((name, data));
        }
    }

    fn flush_statics(&mut self, out: &mut Vec<Decoded>) {
        if let Some(statics) = self.statics.take() {
            out.push(Decoded::Static(statics));
        }
    }

    fn push_row_entry(&mut self, rest: &[u8], cell: &Cell, out: &mut Vec<Decoded>) {
        let Some((clustering, values, mut tail)) = self.layout.split(rest) else { return };
        if self.row.as_ref().is_none_or(|r| r.clustering != clustering) {
            self.flush_statics(out);
            if let Some(row) = self.row.take().filter(Row::is_live) {
                out.push(Decoded::Row(row));
            }
            self.row = Some(Row { clustering: clustering.to_vec(), clustering_values: values, ..Row::default() });
        }
        let visible = self.visible(cell).filter(|c| !self.deletions.shadows_row(clustering, c.timestamp));
        let (Some(row), Some(data)) = (self.row.as_mut(), visible) else { return };
        match tail.split_first() {
            Some((&layout::ROW_MARKER, _)) => row.has_live_marker = true,
            Some((&layout::ROW_CELL, _)) => {
                tail = tail.get(1..).unwrap_or_default();
                if let Some(name) = layout::read_escaped(&mut tail).and_then(|c| String::from_utf8(c).ok()) {
                    row.cells.push((name, data));
                }
            }
            _ => {}
        }
    }

    fn visible(&self, cell: &Cell) -> Option<CellData> {
        match &cell.value {
            CellValue::Live(value) if cell.is_live_at(self.now_secs) => Some(CellData {
                value: value.clone(),
                timestamp: cell.timestamp,
                ttl_secs: cell.ttl_secs,
                expires_at_secs: cell.expires_at_secs,
            }),
            _ => None,
        }
    }
}
