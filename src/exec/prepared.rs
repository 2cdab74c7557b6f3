//! Prepared statements: PREPARE (parse, check, describe and cache a statement under an MD5
//! of keyspace and query text, as Cassandra computes ids) and binding of positional or
//! named values. The cache itself is `crate::prepared_cache`, below `node` which holds it.
//!
//! Invariant: ids are stable for the same (keyspace, query) across restarts.

use std::sync::Arc;

use bytes::Bytes;
use md5::{Digest, Md5};
use strata_protocol::{ColumnSpec, Prepared, Value, Values};

use crate::cql::ast::Statement;
use crate::error::{CqlError, CqlResult};
use crate::exec::context::Context;
use crate::exec::expr::eval::BoundValues;
use crate::exec::plan::bind::{bind_specs, partition_key_indexes};
use crate::prepared_cache::{result_metadata_id, BindSpec, PreparedStatement};

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
