//! The node-wide cache of prepared statements (which `exec::prepared` fills and EXECUTE
//! reads), and what a prepared statement holds. Below `node`, which owns the cache, and
//! `exec`, which prepares.
//!
//! Invariant: the cache holds at most `MAX_PREPARED` statements; the oldest is evicted
//! first, and an evicted id answers Unprepared so drivers re-prepare.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use md5::{Digest, Md5};
use strata_protocol::{ColumnSpec, Prepared, RowsMetadata};

use crate::cql::ast::Statement;
use crate::types::CqlType;

/// The receiver of one bind marker: the column (or pseudo-column such as `[limit]`) it
/// binds, for PREPARE metadata and named values.
#[derive(Clone, Debug)]
pub struct BindSpec {
    pub keyspace: String,
    pub table: String,
    pub name: String,
    pub ty: CqlType,
    /// Index of the partition key column this marker binds, if any.
    pub partition_key_column: Option<usize>,
}

/// Bound on cached statements; each holds its AST and metadata (a few KiB).
const MAX_PREPARED: usize = 10_000;

/// A prepared statement: its AST, its markers' receivers and the PREPARED response.
pub struct PreparedStatement {
    pub id: Bytes,
    pub keyspace: Option<String>,
    pub statement: Statement,
    pub specs: Vec<BindSpec>,
    pub result_columns: Option<Vec<ColumnSpec>>,
    pub response: Prepared,
}

impl PreparedStatement {
    /// Decides, as Cassandra's EXECUTE does, whether rows of this statement carry their column
    /// specs. A v5 client names the metadata it holds (`client_id`): a different one gets
    /// Metadata_changed with the new id and specs, the same one honours `skip_metadata`. A v4
    /// client may skip only while the result still matches what PREPARE returned. Rows of a
    /// conditional write (`[applied]` plus the current values) change shape per execution, so
    /// they always carry specs and never a changed flag (CASSANDRA-13992).
    pub fn settle_result_metadata(
        &self,
        client_id: Option<&[u8]>,
        skip_metadata: bool,
        metadata: &mut RowsMetadata,
    ) {
        if matches!(
            self.statement,
            Statement::Insert(_)
                | Statement::Update(_)
                | Statement::Delete(_)
                | Statement::Batch(_)
        ) {
            return;
        }
        // The digest of what PREPARE returned, unless the columns changed since (hashing
        // them on every EXECUTE was a measurable share of a read's CPU).
        let current = match (&self.result_columns, &self.response.result_metadata_id) {
            (Some(prepared), Some(id)) if *prepared == metadata.columns => id.clone(),
            _ => result_metadata_id(Some(&metadata.columns)),
        };
        match client_id {
            Some(held) if held != current => metadata.new_metadata_id = Some(current),
            Some(_) => metadata.no_metadata = skip_metadata,
            None => {
                metadata.no_metadata =
                    skip_metadata && self.response.result_metadata_id.as_ref() == Some(&current)
            }
        }
    }
}

/// The node-wide cache of prepared statements by id.
#[derive(Default)]
pub struct PreparedCache {
    inner: Mutex<CacheInner>,
}

#[derive(Default)]
struct CacheInner {
    by_id: HashMap<Bytes, Arc<PreparedStatement>>,
    order: VecDeque<Bytes>,
}

impl PreparedCache {
    pub fn get(&self, id: &[u8]) -> Option<Arc<PreparedStatement>> {
        self.inner.lock().ok()?.by_id.get(id).cloned()
    }

    /// Adds `statement`, evicting the oldest beyond `MAX_PREPARED`.
    pub fn insert(&self, statement: Arc<PreparedStatement>) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        if inner
            .by_id
            .insert(statement.id.clone(), statement.clone())
            .is_none()
        {
            inner.order.push_back(statement.id.clone());
        }
        while inner.order.len() > MAX_PREPARED {
            if let Some(old) = inner.order.pop_front() {
                inner.by_id.remove(&old);
            }
        }
    }
}

/// A digest of the result columns (v5 `result_metadata_id`): keyspace, table, name and type of
/// each, as Cassandra's `ResultMetadata.computeResultMetadataId`, so any change of them changes it.
pub(crate) fn result_metadata_id(columns: Option<&[ColumnSpec]>) -> Bytes {
    let mut hasher = Md5::new();
    for c in columns.unwrap_or_default() {
        for part in [&c.keyspace, &c.table, &c.name] {
            hasher.update(part.as_bytes());
            hasher.update([0]);
        }
        hasher.update(format!("{:?}", c.col_type).as_bytes());
    }
    Bytes::copy_from_slice(&hasher.finalize())
}
