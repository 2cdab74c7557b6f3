//! The statement executor: semantic checks (the parser is syntax-only) and execution of
//! every statement, through the coordinator for table data.
//!
//! Layout, in layers (see ARCHITECTURE.md for the module dependencies): `expr` (terms,
//! functions, JSON), `plan` (WHERE analysis, materialised rows, bind markers), `read` (SELECT, DESCRIBE), `write` (INSERT/UPDATE/DELETE/BATCH, LWT),
//! `derived` (secondary indexes, materialized views), `ddl` (schema statements),
//! `prepared` (the prepared-statement cache) above them, and `auth` (role and permission
//! statements, and the permissions every statement needs, checked before it runs).
//!
//! This module only dispatches; what every layer shares (`Context`) is in `context`.
//!
//! Invariant: the executor holds one catalog snapshot (`Context::catalog`) for the whole
//! statement.

pub mod auth;
mod context;
mod ddl;
mod derived;
pub mod expr;
pub mod plan;
pub mod prepared;
mod read;
mod write;

pub use self::plan::bind;

use bytes::Bytes;
use strata_protocol::{Consistency, ResultBody, SchemaChange};

pub use self::context::{Context, Outcome};
pub use self::expr::eval::BoundValues;
pub use self::plan::rows::FullRow;
pub use self::write::modify::{add_batch_member as add_batch_child, BatchWrites, WriteOptions};
use self::write::modify::{modify, Modification};
use crate::cql::ast::Statement;
use crate::error::{CqlError, CqlResult};

/// Serves the `Truncate` verb: this node's part of a TRUNCATE another node coordinates (the
/// executor's, since it swaps the table's schema-recorded branches). Registered by `run`,
/// above both the node and the executor.
pub fn serve_truncate(node: &std::sync::Arc<crate::node::Node>) {
    use crate::cluster::messaging::{decode, encode, Inbound, Verb};
    let weak = std::sync::Arc::downgrade(node);
    node.messaging()
        .register(Verb::Truncate, move |inbound: Inbound| {
            let weak = weak.clone();
            async move {
                let node = weak.upgrade().ok_or("node is shutting down")?;
                let id: uuid::Uuid = decode(&inbound.payload).map_err(|e| e.to_string())?;
                truncate_table(&node, id).await.map_err(|e| e.to_string())?;
                Ok(encode(&()))
            }
        });
}

/// The TRUNCATE another node asked this one to run.
async fn truncate_table(node: &crate::node::Node, id: uuid::Uuid) -> CqlResult<()> {
    let ctx = Context::new(node, None);
    let table = crate::cluster::replica::table_by_id(&ctx.catalog, id)
        .ok_or_else(|| CqlError::invalid(format!("unknown table id {id}")))?;
    ddl::truncate_here(&ctx, &table).await
}

/// What one statement needs from its request besides the bound values.
#[derive(Clone, Debug)]
pub struct ExecOptions {
    pub consistency: Consistency,
    /// The request's `serial_consistency`, SERIAL when it sent none (as Cassandra's
    /// `QueryOptions` defaults it).
    pub serial_consistency: Consistency,
    pub page_size: Option<i32>,
    pub paging_state: Option<Bytes>,
    pub timestamp: Option<i64>,
}

/// How often a DDL statement is re-run after another schema change committed between its
/// checks and its commit (each re-run sees the newer schema, so this only loops while
/// other nodes keep changing the schema).
const SCHEMA_CONFLICT_RETRIES: usize = 16;

/// Executes one parsed statement. A DDL statement that lost a race with another schema
/// change (`CqlError::SchemaConflict`) is re-run against the new schema, which gives the
/// answer Cassandra gives the later statement (e.g. AlreadyExists).
pub async fn execute(
    ctx: &Context<'_>,
    statement: &Statement,
    bound: &BoundValues,
    options: &ExecOptions,
) -> CqlResult<Outcome> {
    // Boxed, and only with a logged-in user: loading roles would otherwise grow every
    // request's future, which is moved whole into the connection's set.
    if ctx.user.is_some() {
        Box::pin(auth::authorize(ctx, statement)).await?;
    }
    let mut result = execute_once(ctx, statement, bound, options).await;
    for _ in 0..SCHEMA_CONFLICT_RETRIES {
        if !matches!(result, Err(CqlError::SchemaConflict)) {
            break;
        }
        let fresh = Context {
            node: ctx.node,
            catalog: ctx.node.catalog(),
            keyspace: ctx.keyspace,
            user: ctx.user,
            internal: ctx.internal,
        };
        result = execute_once(&fresh, statement, bound, options).await;
    }
    let outcome = result?;
    if outcome.event.is_some() {
        Box::pin(auth::after_schema_change(ctx, statement)).await?;
    }
    Ok(outcome)
}

async fn execute_once(
    ctx: &Context<'_>,
    statement: &Statement,
    bound: &BoundValues,
    options: &ExecOptions,
) -> CqlResult<Outcome> {
    let write = WriteOptions {
        consistency: options.consistency,
        serial_consistency: options.serial_consistency,
        timestamp: options.timestamp,
    };
    Ok(match statement {
        Statement::Select(s) => {
            let select_options = read::select::SelectOptions {
                consistency: options.consistency,
                page_size: options.page_size.filter(|p| *p > 0).map(|p| p as usize),
                paging_state: options.paging_state.clone(),
            };
            let selected = read::select::execute(ctx, s, bound, select_options).await?;
            Outcome {
                warnings: selected.warning.into_iter().map(String::from).collect(),
                ..Outcome::body(selected.body)
            }
        }
        Statement::Insert(s) => {
            Outcome::body(modify(ctx, Modification::Insert(s), bound, write).await?)
        }
        Statement::Update(s) => {
            Outcome::body(modify(ctx, Modification::Update(s), bound, write).await?)
        }
        Statement::Delete(s) => {
            Outcome::body(modify(ctx, Modification::Delete(s), bound, write).await?)
        }
        Statement::Batch(s) => Outcome::body(write::modify::batch(ctx, s, bound, write).await?),
        Statement::Use(keyspace) => {
            if ctx.catalog.keyspace(keyspace).is_none() {
                return Err(CqlError::invalid(format!(
                    "Keyspace '{keyspace}' does not exist"
                )));
            }
            Outcome {
                keyspace: Some(keyspace.clone()),
                ..Outcome::body(ResultBody::SetKeyspace(keyspace.clone()))
            }
        }
        Statement::Describe(d) => Outcome::body(read::describe::execute(ctx, d)?),
        // Boxed: schema and access-control statements are rare, and their state would
        // otherwise size every request's future, which is moved whole into the
        // connection's set.
        other => Box::pin(execute_schema(ctx, other)).await?,
    })
}

/// Schema, clone/restore and access-control statements, and the refusals of what this
/// node does not run.
async fn execute_schema(ctx: &Context<'_>, statement: &Statement) -> CqlResult<Outcome> {
    // One log line per schema change (clones and restores included), as the statement.
    let ddl = |event: Option<SchemaChange>| match event {
        Some(change) => {
            tracing::info!("Schema change: {statement}");
            Outcome {
                event: Some(change.clone()),
                ..Outcome::body(ResultBody::SchemaChange(change))
            }
        }
        None => Outcome::void(),
    };
    Ok(match statement {
        Statement::CreateKeyspace(s) => ddl(ddl::create_keyspace(ctx, s).await?),
        Statement::AlterKeyspace(s) => ddl(ddl::alter_keyspace(ctx, s).await?),
        Statement::DropKeyspace(s) => ddl(ddl::drop_keyspace(ctx, s).await?),
        Statement::CreateTable(s) => ddl(ddl::create_table(ctx, s).await?),
        Statement::AlterTable(s) => ddl(ddl::alter_table(ctx, s).await?),
        Statement::DropTable(s) => ddl(ddl::drop_table(ctx, s).await?),
        Statement::Truncate(name) => ddl::truncate(ctx, name).await.map(|_| Outcome::void())?,
        Statement::CreateIndex(s) => ddl(derived::index::create_index(ctx, s).await?),
        Statement::DropIndex(s) => ddl(derived::index::drop_index(ctx, s).await?),
        Statement::CreateView(s) => ddl(derived::view::create_view(ctx, s).await?),
        Statement::DropView(s) => ddl(derived::view::drop_view(ctx, s).await?),
        Statement::CreateType(s) => ddl(ddl::udt::create_type(ctx, s).await?),
        Statement::AlterType(s) => ddl(ddl::udt::alter_type(ctx, s).await?),
        Statement::DropType(s) => ddl(ddl::udt::drop_type(ctx, s).await?),
        Statement::CloneTable(s) => ddl(ddl::clone::clone_table(ctx, s).await?),
        Statement::CloneKeyspace(s) => ddl(ddl::clone::clone_keyspace(ctx, s).await?),
        Statement::RestoreTable(s) => ddl(ddl::clone::restore_table(ctx, s).await?),
        Statement::RestoreKeyspace(s) => ddl(ddl::clone::restore_keyspace(ctx, s).await?),
        s if s.is_access_control() => auth::execute(ctx, statement).await?,
        // The node behaves as Cassandra 5.0's default configuration, where
        // user_defined_functions_enabled is false.
        Statement::CreateFunction(_) => {
            return Err(CqlError::invalid(
                "User-defined functions are disabled in cassandra.yaml - set user_defined_functions_enabled=true to enable",
            ))
        }
        other => {
            return Err(CqlError::invalid(format!(
                "{} is not supported by this node yet",
                statement_kind(other)
            )))
        }
    })
}

fn statement_kind(statement: &Statement) -> &'static str {
    match statement {
        Statement::CreateIndex(_) | Statement::DropIndex(_) => "Secondary indexes are",
        Statement::CreateType(_) | Statement::AlterType(_) | Statement::DropType(_) => {
            "User-defined types are"
        }
        Statement::CreateView(_) | Statement::AlterView(_) | Statement::DropView(_) => {
            "Materialized views are"
        }
        Statement::DropFunction(_) => "User-defined functions are",
        Statement::CreateAggregate(_) | Statement::DropAggregate(_) => {
            "User-defined aggregates are"
        }
        _ => "This statement is",
    }
}

#[cfg(test)]
mod replication_limits_tests;
