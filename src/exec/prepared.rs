//! Prepared statements: the node-wide cache keyed by an MD5 of keyspace and query text
//! (as Cassandra computes ids), and binding of positional or named values.
//!
//! Invariants:
//! - The cache holds at most `MAX_PREPARED` statements; the oldest is evicted first, and
//!   an evicted id answers Unprepared so drivers re-prepare.
//! - Ids are stable for the same (keyspace, query) across restarts.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use md5::{Digest, Md5};
use strata_protocol::{ColumnSpec, Prepared, RowsMetadata, Value, Values};

use crate::cql::ast::Statement;
use crate::error::{CqlError, CqlResult};
use crate::exec::context::Context;
use crate::exec::expr::eval::BoundValues;
use crate::exec::plan::bind::{bind_specs, partition_key_indexes, BindSpec};

/// Bound on cached statements; each holds its AST and metadata (a few KiB).
const MAX_PREPARED: usize = 10_000;

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
        let current = result_metadata_id(Some(&metadata.columns));
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

    fn insert(&self, statement: Arc<PreparedStatement>) {
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

pub fn statement_id(keyspace: Option<&str>, query: &str) -> Bytes {
    let mut hasher = Md5::new();
    if let Some(ks) = keyspace {
        hasher.update(ks.as_bytes());
    }
    hasher.update(query.as_bytes());
    Bytes::copy_from_slice(&hasher.finalize())
}

/// Parses, checks and caches `query`; returns the PREPARED response.
pub fn prepare(ctx: &Context<'_>, query: &str) -> CqlResult<Arc<PreparedStatement>> {
    let statement = crate::cql::parse_statement(query)?;
    let specs = bind_specs(ctx, &statement)?;
    let result_columns = result_columns(ctx, &statement)?;
    let pk_indexes = match first_table(&statement) {
        Some(name) => partition_key_indexes(&*ctx.resolve_table(name)?, &specs),
        None => Vec::new(),
    };
    let id = statement_id(ctx.keyspace, query);
    let bind_columns = specs
        .iter()
        .map(|s| ColumnSpec {
            keyspace: s.keyspace.clone(),
            table: s.table.clone(),
            name: s.name.clone(),
            col_type: s.ty.to_wire(),
        })
        .collect();
    let response = Prepared {
        id: id.clone(),
        result_metadata_id: Some(result_metadata_id(result_columns.as_deref())),
        bind_columns,
        pk_indexes,
        result_columns: result_columns.clone(),
    };
    let prepared = Arc::new(PreparedStatement {
        id,
        keyspace: ctx.keyspace.map(str::to_string),
        statement,
        specs,
        result_columns,
        response,
    });
    ctx.node.prepared().insert(prepared.clone());
    Ok(prepared)
}

/// A digest of the result columns (v5 `result_metadata_id`): keyspace, table, name and type of
/// each, as Cassandra's `ResultMetadata.computeResultMetadataId`, so any change of them changes it.
fn result_metadata_id(columns: Option<&[ColumnSpec]>) -> Bytes {
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

fn first_table(statement: &Statement) -> Option<&crate::cql::ast::QualifiedName> {
    use crate::cql::ast::BatchChild;
    match statement {
        Statement::Select(s) => Some(&s.table),
        Statement::Insert(s) => Some(&s.table),
        Statement::Update(s) => Some(&s.table),
        Statement::Delete(s) => Some(&s.table),
        Statement::Batch(b) => b.statements.first().map(|c| match c {
            BatchChild::Insert(s) => &s.table,
            BatchChild::Update(s) => &s.table,
            BatchChild::Delete(s) => &s.table,
        }),
        _ => None,
    }
}

/// Orders the request's values by marker; named values are matched to receiver names.
pub fn bind_values(
    specs: &[BindSpec],
    values: &Values,
    marker_count: usize,
) -> CqlResult<BoundValues> {
    let values = match values {
        Values::Positional(v) => v.clone(),
        Values::Named(named) => specs
            .iter()
            .map(|spec| {
                named
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(&spec.name))
                    .map(|(_, v)| v.clone())
                    .ok_or_else(|| {
                        CqlError::invalid(format!("Invalid unset value for column {}", spec.name))
                    })
            })
            .collect::<CqlResult<Vec<Value>>>()?,
    };
    if values.len() != marker_count {
        return Err(CqlError::invalid(format!(
            "There were {marker_count} markers(?) in CQL but {} bound variables",
            values.len()
        )));
    }
    Ok(BoundValues { values })
}

/// Result columns of a statement for PREPARE (`None` for statements returning no rows).
fn result_columns(ctx: &Context<'_>, statement: &Statement) -> CqlResult<Option<Vec<ColumnSpec>>> {
    match statement {
        Statement::Select(s) => {
            let table = ctx.resolve_table(&s.table)?;
            Ok(Some(super::read::select::result_columns(&table, s)?))
        }
        _ => Ok(None),
    }
}
