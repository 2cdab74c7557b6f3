//! Materialised CQL rows (`storage::FullRow`, defined below `exec` so that the system
//! tables build them too) assembled from decoded engine streams.

use super::restrict::PartitionKey;
use crate::schema::{ColumnKind, Table};
pub use crate::storage::FullRow;
use crate::storage::{CellData, Decoded};

fn key_cell(value: Vec<u8>) -> Option<CellData> {
    Some(CellData {
        value,
        timestamp: i64::MIN,
        ..CellData::default()
    })
}

/// Builds rows from a decoded engine stream of `table`.
pub struct RowAssembler<'a> {
    table: &'a Table,
    partition: Option<PartitionKey>,
    statics: Vec<(String, CellData)>,
}

impl<'a> RowAssembler<'a> {
    pub fn new(table: &'a Table) -> Self {
        RowAssembler {
            table,
            partition: None,
            statics: Vec::new(),
        }
    }

    /// Feeds one decoded item; returns a row when the item completes one.
    pub fn push(&mut self, item: Decoded) -> Option<FullRow> {
        match item {
            Decoded::PartitionStart { key, .. } => {
                self.partition = Some(PartitionKey::from_bytes(
                    key,
                    self.table.def.partition_key.len(),
                ));
                self.statics.clear();
                None
            }
            Decoded::Static(cells) => {
                self.statics = cells;
                None
            }
            Decoded::Row(row) => {
                let partition = self.partition.as_ref()?;
                let mut cells: Vec<Option<CellData>> = vec![None; self.table.def.columns.len()];
                for (component, index) in partition
                    .components
                    .iter()
                    .zip(self.table.partition_key_indexes())
                {
                    if let Some(slot) = cells.get_mut(index) {
                        *slot = key_cell(component.clone());
                    }
                }
                for (value, index) in row
                    .clustering_values
                    .into_iter()
                    .zip(self.table.clustering_indexes())
                {
                    if let Some(slot) = cells.get_mut(index) {
                        *slot = key_cell(value);
                    }
                }
                for (name, cell) in self.statics.iter().chain(row.cells.iter()) {
                    if let Some(slot) = self.regular_index(name).and_then(|i| cells.get_mut(i)) {
                        *slot = Some(cell.clone());
                    }
                }
                Some(FullRow {
                    token: partition.token,
                    cells,
                    clustering: row.clustering,
                })
            }
        }
    }

    fn regular_index(&self, name: &str) -> Option<usize> {
        let index = self.table.column_index(name)?;
        matches!(
            self.table.kind_of(index),
            Some(ColumnKind::Regular | ColumnKind::Static)
        )
        .then_some(index)
    }
}
