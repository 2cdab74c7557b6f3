//! Turns an ordered stream of engine entries of one table into CQL partitions and rows,
//! applying partition deletions, range tombstones and TTL expiry.
//!
//! Invariants:
//! - A partition's header (deletions) and static cells are fed before its rows. A forward
//!   scan does that by key order; a reverse or resumed read feeds the partition's
//!   `[P‖0x00, P‖0x03)` range first, then the rows in either direction.
//! - A cell is visible iff it is live at `now` and no deletion covering it has a timestamp
//!   greater than or equal to the cell's (Cassandra: on a tie the tombstone wins).
//! - A cell of a dropped column written at or before the drop is invisible, also once a
//!   column of that name is added again (Cassandra's `DroppedColumn` rule): dropped data
//!   never comes back, whatever compaction has or has not rewritten yet.

use std::collections::BTreeMap;

use strata_engine::{Cell, CellValue};

use super::layout::{self, SubCell};
use super::mutation::{decode_counter_shard, ClusteringRange};
use crate::types::{decode_key_component, CqlType};

/// A visible cell with the metadata `writetime()` and `ttl()` report. For a multi-cell
/// column it is the reassembled value, with the newest piece's timestamp and TTL.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CellData {
    pub value: Vec<u8>,
    pub timestamp: i64,
    pub ttl_secs: u32,
    pub expires_at_secs: i64,
    /// Paths of the visible pieces of a multi-cell column, in order (list element
    /// ordering keys for `l[i] = v`); empty for simple cells.
    pub paths: Vec<Vec<u8>>,
    /// `(timestamp, expires_at_secs)` of each piece, aligned with `paths` (what
    /// `writetime()` and `ttl()` of a multi-cell column list).
    pub piece_times: Vec<(i64, i64)>,
}

/// A materialised CQL row: the value and write metadata of every column of a table,
/// whatever the row came from (engine partitions, assembled by `exec`, or the generated
/// system tables).
#[derive(Clone, Debug)]
pub struct FullRow {
    pub token: i64,
    /// Indexed like `table.def.columns`.
    pub cells: Vec<Option<CellData>>,
    /// Encoded clustering of the row (for clustering filters on generated rows).
    pub clustering: Vec<u8>,
}

impl FullRow {
    pub fn value(&self, column: usize) -> Option<&[u8]> {
        self.cells
            .get(column)
            .and_then(|c| c.as_ref())
            .map(|c| c.value.as_slice())
    }
}

#[derive(Clone, Debug, Default)]
pub struct Row {
    /// Encoded clustering (engine order); empty for tables without clustering columns.
    pub clustering: Vec<u8>,
    /// Wire-format clustering values, in clustering column order.
    pub clustering_values: Vec<Vec<u8>>,
    pub has_live_marker: bool,
    pub cells: Vec<(String, CellData)>,
    /// Pieces of multi-cell columns, assembled into `cells` when the row completes.
    complex: ComplexCells,
}

impl Row {
    pub fn cell(&self, column: &str) -> Option<&CellData> {
        self.cells
            .iter()
            .find(|(name, _)| name == column)
            .map(|(_, c)| c)
    }

    fn is_live(&self) -> bool {
        self.has_live_marker || !self.cells.is_empty()
    }
}

/// The pieces of a multi-cell column seen so far (in any order: reverse reads see them
/// backwards) and its newest complex deletion.
#[derive(Clone, Debug, Default)]
struct ComplexColumn {
    kind: Option<SubCell>,
    deleted_at: Option<i64>,
    pieces: Vec<(Vec<u8>, CellData)>,
}

impl ComplexColumn {
    /// The column's visible value, or `None` when no piece survives (an empty non-frozen
    /// collection is null, as in Cassandra).
    fn assemble(mut self) -> Option<CellData> {
        let deleted_at = self.deleted_at.unwrap_or(i64::MIN);
        self.pieces.retain(|(_, c)| c.timestamp > deleted_at);
        self.pieces.sort_by(|a, b| a.0.cmp(&b.0));
        let newest = self
            .pieces
            .iter()
            .map(|(_, c)| c)
            .max_by_key(|c| c.timestamp)?
            .clone();
        let value = match self.kind? {
            SubCell::Element => {
                let mut out = (self.pieces.len() as i32).to_be_bytes().to_vec();
                self.pieces
                    .iter()
                    .for_each(|(_, c)| out.extend_from_slice(&c.value));
                out
            }
            SubCell::CounterShard => {
                let total = self
                    .pieces
                    .iter()
                    .filter_map(|(_, c)| decode_counter_shard(&c.value))
                    .fold(0i64, |t, (_, n)| t.wrapping_add(n));
                total.to_be_bytes().to_vec()
            }
            SubCell::UdtField => udt_value(&self.pieces),
            SubCell::ComplexDeletion => return None,
        };
        let piece_times = self
            .pieces
            .iter()
            .map(|(_, c)| (c.timestamp, c.expires_at_secs))
            .collect();
        let paths = self.pieces.into_iter().map(|(p, _)| p).collect();
        Some(CellData {
            value,
            paths,
            piece_times,
            ..newest
        })
    }
}

/// A non-frozen UDT's serialized form from its field cells (path = field index, u16):
/// absent fields before the last present one are nulls.
fn udt_value(pieces: &[(Vec<u8>, CellData)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut next = 0u16;
    for (path, cell) in pieces {
        let Some(index) = path
            .get(..2)
            .and_then(|b| b.try_into().ok())
            .map(u16::from_be_bytes)
        else {
            continue;
        };
        while next < index {
            out.extend_from_slice(&(-1i32).to_be_bytes());
            next += 1;
        }
        out.extend_from_slice(&cell.value);
        next = index.saturating_add(1);
    }
    out
}

/// Multi-cell columns of one row (or of the static row) under construction.
#[derive(Clone, Debug, Default)]
struct ComplexCells {
    columns: Vec<(String, ComplexColumn)>,
}

impl ComplexCells {
    /// The column named `name`, added if new (`None` never happens: the lookup cannot
    /// miss after the insert, but is written without indexing).
    fn column(&mut self, name: String) -> Option<&mut ComplexColumn> {
        let index = match self.columns.iter().position(|(n, _)| *n == name) {
            Some(i) => i,
            None => {
                self.columns.push((name, ComplexColumn::default()));
                self.columns.len() - 1
            }
        };
        self.columns.get_mut(index).map(|(_, column)| column)
    }

    /// Records one piece; `visible` is `None` for a tombstone or an expired or shadowed
    /// cell. `tail` is what follows the column name in the key.
    fn push(&mut self, name: String, tail: &[u8], timestamp: i64, visible: Option<CellData>) {
        let Some((&tag, path)) = tail.split_first() else {
            return;
        };
        let Some(kind) = SubCell::from_tag(tag) else {
            return;
        };
        let Some(column) = self.column(name) else {
            return;
        };
        match kind {
            SubCell::ComplexDeletion => {
                column.deleted_at = Some(column.deleted_at.map_or(timestamp, |t| t.max(timestamp)))
            }
            _ => {
                column.kind = Some(kind);
                if let Some(cell) = visible {
                    column.pieces.push((path.to_vec(), cell));
                }
            }
        }
    }

    /// Appends the assembled columns to `cells`.
    fn finish_into(self, cells: &mut Vec<(String, CellData)>) {
        for (name, column) in self.columns {
            if let Some(cell) = column.assemble() {
                cells.push((name, cell));
            }
        }
    }
}

/// Adds one cell (simple or a piece of a multi-cell column) of a row or the static row;
/// cells of a dropped column older than its drop are skipped.
fn add_cell(
    cells: &mut Vec<(String, CellData)>,
    complex: &mut ComplexCells,
    dropped: &BTreeMap<String, i64>,
    mut rest: &[u8],
    cell: &Cell,
    visible: Option<CellData>,
) {
    let Some(name) = layout::read_escaped(&mut rest).and_then(|c| String::from_utf8(c).ok()) else {
        return;
    };
    if dropped
        .get(&name)
        .is_some_and(|dropped_at| cell.timestamp <= *dropped_at)
    {
        return;
    }
    if rest.is_empty() {
        if let Some(data) = visible {
            cells.push((name, data));
        }
    } else {
        complex.push(name, rest, cell.timestamp, visible);
    }
}

/// What the decoder emits, in order.
#[derive(Clone, Debug)]
pub enum Decoded {
    PartitionStart {
        token: i64,
        key: Vec<u8>,
    },
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
            || self
                .ranges
                .iter()
                .any(|(r, t)| timestamp <= *t && r.contains(clustering))
    }

    /// Feeds a header entry (partition deletion or range tombstone); returns false if the
    /// entry is not a header entry. A range tombstone whose bounds do not decode is an
    /// error, never skipped: skipping it would resurrect the rows it deletes.
    fn absorb(&mut self, suffix: &[u8], cell: &Cell) -> Result<bool, CorruptEntry> {
        let CellValue::Live(value) = &cell.value else {
            return Ok(matches!(suffix.first(), Some(0 | 1)));
        };
        match suffix.first() {
            Some(&layout::PARTITION_DELETION) => {
                self.partition = Some(
                    self.partition
                        .map_or(cell.timestamp, |t| t.max(cell.timestamp)),
                );
                Ok(true)
            }
            Some(&layout::RANGE_TOMBSTONE) => {
                let range = serde_json::from_slice::<ClusteringRange>(value).map_err(|e| {
                    CorruptEntry(format!("range tombstone bounds do not decode ({e})"))
                })?;
                self.ranges.push((range, cell.timestamp));
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

/// An entry the decoder cannot interpret although only the server writes them: storage
/// corruption, reported to the reader instead of being skipped.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CorruptEntry(pub String);

/// Clustering column types with their DESC flags, used to find where the clustering
/// ends inside a row key.
#[derive(Clone, Debug)]
pub struct ClusteringLayout {
    pub columns: Vec<(CqlType, bool)>,
}

/// A row key split by `ClusteringLayout::split`: (encoded clustering, wire values, rest).
type SplitClustering<'a> = (&'a [u8], Vec<Vec<u8>>, &'a [u8]);

impl ClusteringLayout {
    /// Splits `input` into (encoded clustering, wire values, rest).
    fn split<'a>(&self, input: &'a [u8]) -> Option<SplitClustering<'a>> {
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
    /// Dropped column name -> drop timestamp (µs), from the table's schema.
    dropped: BTreeMap<String, i64>,
    now_secs: i64,
    partition_prefix: Vec<u8>,
    deletions: Deletions,
    statics: Option<(Vec<(String, CellData)>, ComplexCells)>,
    row: Option<Row>,
    static_rows: StaticRows,
    /// The current partition has visible static cells / emitted a row.
    partition_has_statics: bool,
    partition_has_rows: bool,
}

/// Whether a partition with static cells but no rows is emitted as one row of its own
/// (Cassandra returns it, with null clustering and regular columns, when the query
/// selects whole partitions).
#[derive(Clone, Debug, Default)]
pub enum StaticRows {
    #[default]
    Never,
    /// Emit them, except for the partition with this key prefix (an earlier page of a
    /// resumed read already returned or passed it).
    Emit { skip_partition: Option<Vec<u8>> },
}

impl Decoder {
    pub fn new(layout: ClusteringLayout, now_secs: i64) -> Decoder {
        Decoder {
            layout,
            dropped: BTreeMap::new(),
            now_secs,
            partition_prefix: Vec::new(),
            deletions: Deletions::default(),
            statics: None,
            row: None,
            static_rows: StaticRows::Never,
            partition_has_statics: false,
            partition_has_rows: false,
        }
    }

    pub fn with_static_rows(mut self, static_rows: StaticRows) -> Decoder {
        self.static_rows = static_rows;
        self
    }

    pub fn with_dropped_columns(mut self, dropped: BTreeMap<String, i64>) -> Decoder {
        self.dropped = dropped;
        self
    }

    /// Feeds one engine entry; complete items are appended to `out`.
    pub fn push(
        &mut self,
        key: &[u8],
        cell: &Cell,
        out: &mut Vec<Decoded>,
    ) -> Result<(), CorruptEntry> {
        let Some((token, pk, suffix)) = layout::split_partition(key) else {
            return Ok(());
        };
        let prefix_len = key.len() - suffix.len();
        if key.get(..prefix_len) != Some(self.partition_prefix.as_slice()) {
            self.finish(out);
            self.partition_prefix = key.get(..prefix_len).unwrap_or_default().to_vec();
            self.deletions = Deletions::default();
            out.push(Decoded::PartitionStart { token, key: pk });
        }
        if self.deletions.absorb(suffix, cell)? {
            return Ok(());
        }
        match suffix.split_first() {
            Some((&layout::STATIC_CELL, rest)) => self.push_static(rest, cell),
            Some((&layout::ROW, rest)) => self.push_row_entry(rest, cell, out),
            _ => {}
        }
        Ok(())
    }

    /// Flushes the pending static cells and row.
    pub fn finish(&mut self, out: &mut Vec<Decoded>) {
        self.flush_statics(out);
        self.flush_row(out);
        self.flush_static_row(out);
    }

    /// Emits the static-only row of a partition that had statics but no rows.
    fn flush_static_row(&mut self, out: &mut Vec<Decoded>) {
        let emit = match &self.static_rows {
            StaticRows::Never => false,
            StaticRows::Emit { skip_partition } => {
                skip_partition.as_deref() != Some(self.partition_prefix.as_slice())
            }
        };
        if emit && self.partition_has_statics && !self.partition_has_rows {
            out.push(Decoded::Row(Row::default()));
        }
        self.partition_has_statics = false;
        self.partition_has_rows = false;
    }

    fn push_static(&mut self, rest: &[u8], cell: &Cell) {
        let visible = self
            .visible(cell)
            .filter(|c| !self.deletions.shadows_static(c.timestamp));
        let (cells, complex) = self.statics.get_or_insert_with(Default::default);
        add_cell(cells, complex, &self.dropped, rest, cell, visible);
    }

    fn flush_statics(&mut self, out: &mut Vec<Decoded>) {
        if let Some((mut cells, complex)) = self.statics.take() {
            complex.finish_into(&mut cells);
            self.partition_has_statics |= !cells.is_empty();
            out.push(Decoded::Static(cells));
        }
    }

    fn flush_row(&mut self, out: &mut Vec<Decoded>) {
        let Some(mut row) = self.row.take() else {
            return;
        };
        std::mem::take(&mut row.complex).finish_into(&mut row.cells);
        if row.is_live() {
            self.partition_has_rows = true;
            out.push(Decoded::Row(row));
        }
    }

    fn push_row_entry(&mut self, rest: &[u8], cell: &Cell, out: &mut Vec<Decoded>) {
        let Some((clustering, values, tail)) = self.layout.split(rest) else {
            return;
        };
        if self.row.as_ref().is_none_or(|r| r.clustering != clustering) {
            self.flush_statics(out);
            self.flush_row(out);
            self.row = Some(Row {
                clustering: clustering.to_vec(),
                clustering_values: values,
                ..Row::default()
            });
        }
        let visible = self
            .visible(cell)
            .filter(|c| !self.deletions.shadows_row(clustering, c.timestamp));
        let Some(row) = self.row.as_mut() else { return };
        match tail.split_first() {
            Some((&layout::ROW_MARKER, _)) => row.has_live_marker |= visible.is_some(),
            Some((&layout::ROW_CELL, rest)) => add_cell(
                &mut row.cells,
                &mut row.complex,
                &self.dropped,
                rest,
                cell,
                visible,
            ),
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
                paths: Vec::new(),
                piece_times: Vec::new(),
            }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::mutation::encode_counter_shard;

    fn live(timestamp: i64, value: &[u8]) -> Cell {
        Cell {
            timestamp,
            ttl_secs: 0,
            expires_at_secs: 0,
            value: CellValue::Live(value.to_vec()),
        }
    }

    fn element(cell_key: &[u8], path: &[u8]) -> Vec<u8> {
        layout::sub_cell_key(cell_key, SubCell::Element, path)
    }

    /// Decodes `entries` (in the given order) of one partition without clustering.
    fn decode(entries: &[(Vec<u8>, Cell)]) -> Vec<(String, CellData)> {
        let mut decoder = Decoder::new(
            ClusteringLayout {
                columns: Vec::new(),
            },
            0,
        );
        let mut out = Vec::new();
        for (key, cell) in entries {
            decoder
                .push(key, cell, &mut out)
                .expect("decodable entries");
        }
        decoder.finish(&mut out);
        out.into_iter()
            .find_map(|d| {
                if let Decoded::Row(r) = d {
                    Some(r.cells)
                } else {
                    None
                }
            })
            .unwrap_or_default()
    }

    #[test]
    fn collections_reassemble_in_path_order_in_either_scan_direction() {
        let p = layout::partition_prefix(0, b"k");
        let cell = layout::row_cell_key(&p, b"", "s");
        let deletion = layout::sub_cell_key(&cell, SubCell::ComplexDeletion, &[]);
        let mut entries = vec![
            (deletion, live(10, b"")),
            (element(&cell, b"a"), live(5, b"\0\0\0\x01a")),
            (element(&cell, b"b"), live(11, b"\0\0\0\x01b")),
            (element(&cell, b"c"), live(12, b"\0\0\0\x01c")),
        ];
        let forward = decode(&entries);
        entries.reverse();
        let backward = decode(&entries);
        assert_eq!(forward, backward);
        let (name, data) = &forward[0];
        assert_eq!(name, "s");
        assert_eq!(
            data.value,
            b"\0\0\0\x02\0\0\0\x01b\0\0\0\x01c".to_vec(),
            "the deletion at 10 hides a"
        );
        assert_eq!((data.timestamp, data.paths.len()), (12, 2));
    }

    #[test]
    fn counters_sum_their_shards_and_empty_collections_are_absent() {
        let p = layout::partition_prefix(0, b"k");
        let counter = layout::row_cell_key(&p, b"", "c");
        let set = layout::row_cell_key(&p, b"", "s");
        let entries = vec![
            (
                layout::sub_cell_key(&counter, SubCell::CounterShard, b"node-a"),
                live(3, &encode_counter_shard(3, 5)),
            ),
            (
                layout::sub_cell_key(&counter, SubCell::CounterShard, b"node-b"),
                live(4, &encode_counter_shard(4, -2)),
            ),
            (
                layout::sub_cell_key(&set, SubCell::ComplexDeletion, &[]),
                live(10, b""),
            ),
            (element(&set, b"a"), live(9, b"\0\0\0\x01a")),
        ];
        let cells = decode(&entries);
        assert_eq!(cells.len(), 1, "{cells:?}");
        assert_eq!(cells[0].1.value, 3i64.to_be_bytes().to_vec());
    }

    #[test]
    fn cells_of_a_dropped_column_up_to_the_drop_stay_hidden() {
        let p = layout::partition_prefix(0, b"k");
        let dropped = layout::row_cell_key(&p, b"", "x");
        let list = layout::row_cell_key(&p, b"", "l");
        let entries = [
            (dropped.clone(), live(5, b"old")),
            (element(&list, b"a"), live(20, b"\0\0\0\x01a")),
            (element(&list, b"b"), live(31, b"\0\0\0\x01b")),
        ];
        let drops = BTreeMap::from([("x".to_string(), 10), ("l".to_string(), 30)]);
        let mut decoder = Decoder::new(
            ClusteringLayout {
                columns: Vec::new(),
            },
            0,
        )
        .with_dropped_columns(drops.clone());
        let mut out = Vec::new();
        for (key, cell) in &entries {
            decoder.push(key, cell, &mut out).expect("decodable");
        }
        decoder.finish(&mut out);
        let cells: Vec<_> = out
            .iter()
            .filter_map(|d| {
                if let Decoded::Row(r) = d {
                    Some(r.cells.clone())
                } else {
                    None
                }
            })
            .collect();
        assert_eq!(cells.len(), 1);
        assert_eq!(
            cells[0].len(),
            1,
            "only the piece written after the drop of l: {cells:?}"
        );
        assert_eq!(cells[0][0].1.value, b"\0\0\0\x01\0\0\0\x01b".to_vec());

        let mut decoder = Decoder::new(
            ClusteringLayout {
                columns: Vec::new(),
            },
            0,
        )
        .with_dropped_columns(drops);
        let mut out = Vec::new();
        decoder
            .push(&dropped, &live(5, b"old"), &mut out)
            .expect("decodable");
        decoder.finish(&mut out);
        assert!(
            !out.iter().any(|d| matches!(d, Decoded::Row(_))),
            "a row holding only dropped cells is gone: {out:?}"
        );
    }

    #[test]
    fn udt_fields_fill_gaps_with_nulls() {
        let cell = CellData {
            value: b"\0\0\0\x01x".to_vec(),
            ..CellData::default()
        };
        let value = udt_value(&[(vec![0, 2], cell)]);
        assert_eq!(
            value,
            b"\xff\xff\xff\xff\xff\xff\xff\xff\0\0\0\x01x".to_vec()
        );
    }
}
