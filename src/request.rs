//! Query-class requests (QUERY, PREPARE, EXECUTE, BATCH): from protocol messages to the
//! executor and back to a response.
//!
//! Invariant: every failure becomes an ERROR response through `CqlError::to_body`.

use strata_protocol::{
    Batch, BatchStatement as WireBatchStatement, BatchType, Consistency, Event, QueryParams,
    Request, Response, ResultBody, Values,
};

use crate::cql::ast::{BatchChild, BatchKind, Statement};
use crate::error::{CqlError, CqlResult};
use crate::exec::prepared::{self, bind_values};
use crate::exec::{
    self, bind::bind_specs, BatchWrites, BoundValues, Context, ExecOptions, Outcome, WriteOptions,
};
use crate::node::Node;
use crate::version::CQL_VERSION;

/// Per-connection state the request handlers read.
#[derive(Clone, Debug, Default)]
pub struct Session {
    /// The keyspace of the last `USE`; shared, since every request takes a copy.
    pub keyspace: Option<std::sync::Arc<str>>,
    /// The role that logged in (SASL PLAIN with PasswordAuthenticator); always `None`
    /// without an authenticator, and then nothing is checked.
    pub user: Option<std::sync::Arc<str>>,
}

pub struct RequestOutcome {
    pub response: Response,
    pub keyspace: Option<String>,
    pub event: Option<Event>,
    pub warnings: Vec<String>,
}

impl RequestOutcome {
    /// The ERROR response for `error`.
    pub fn error(error: CqlError) -> RequestOutcome {
        RequestOutcome {
            response: Response::Error(error.to_body()),
            keyspace: None,
            event: None,
            warnings: Vec::new(),
        }
    }
}

/// The SUPPORTED reply to OPTIONS.
pub fn supported() -> Response {
    Response::Supported(vec![
        ("COMPRESSION".into(), vec!["snappy".into(), "lz4".into()]),
        ("CQL_VERSION".into(), vec![CQL_VERSION.into()]),
        (
            "PROTOCOL_VERSIONS".into(),
            vec!["4/v4".into(), "5/v5".into()],
        ),
    ])
}

pub async fn handle(node: &Node, session: &Session, request: Request) -> RequestOutcome {
    let started = std::time::Instant::now();
    let result = match &request {
        Request::Query { query, params } => query_request(node, session, query, params).await,
        Request::Prepare { query, keyspace } => {
            prepare_request(node, session, query, keyspace.as_deref())
        }
        Request::Execute {
            id,
            result_metadata_id,
            params,
        } => execute_request(node, session, id, result_metadata_id.as_deref(), params).await,
        // Boxed: a batch's state is the largest of the four, and every request's future is
        // moved whole into the connection's set.
        Request::Batch(batch) => Box::pin(batch_request(node, session, batch))
            .await
            .map(Outcome::body),
        _ => Err(CqlError::Protocol("Unexpected message".into())),
    };
    crate::logging::slow_request(started.elapsed(), || describe(&request));
    match result {
        Ok(outcome) => RequestOutcome {
            response: Response::Result(outcome.body),
            keyspace: outcome.keyspace,
            event: outcome.event.map(Event::SchemaChange),
            warnings: outcome.warnings,
        },
        Err(error) => RequestOutcome::error(error),
    }
}

/// What the slow-request log names: the statement text where the request carries it.
fn describe(request: &Request) -> String {
    match request {
        Request::Query { query, .. } | Request::Prepare { query, .. } => query.clone(),
        Request::Execute { id, .. } => format!(
            "EXECUTE of prepared statement 0x{}",
            id.iter().map(|b| format!("{b:02x}")).collect::<String>()
        ),
        Request::Batch(batch) => format!("BATCH of {} statements", batch.statements.len()),
        _ => String::new(),
    }
}

fn exec_options(params: &QueryParams) -> ExecOptions {
    ExecOptions {
        consistency: params.consistency,
        serial_consistency: params.serial_consistency.unwrap_or(Consistency::Serial),
        page_size: params.page_size,
        paging_state: params.paging_state.clone(),
        timestamp: params.timestamp,
    }
}

fn session_keyspace<'a>(
    session: &'a Session,
    request_keyspace: Option<&'a str>,
) -> Option<&'a str> {
    request_keyspace.or(session.keyspace.as_deref())
}

/// Values of an unprepared statement: positional as sent, named matched to receivers.
fn simple_values(
    ctx: &Context<'_>,
    statement: &Statement,
    values: &Values,
) -> CqlResult<BoundValues> {
    let count = statement.bind_marker_count();
    match values {
        Values::Positional(v) if v.len() != count => Err(CqlError::invalid(format!(
            "There were {count} markers(?) in CQL but {} bound variables",
            v.len()
        ))),
        Values::Positional(v) => Ok(BoundValues { values: v.clone() }),
        Values::Named(_) => bind_values(&bind_specs(ctx, statement)?, values, count),
    }
}

async fn query_request(
    node: &Node,
    session: &Session,
    query: &str,
    params: &QueryParams,
) -> CqlResult<Outcome> {
    let statement = crate::cql::parse_statement(query)?;
    let ctx = Context::new(node, session_keyspace(session, params.keyspace.as_deref()))
        .for_user(session.user.as_deref());
    let bound = simple_values(&ctx, &statement, &params.values)?;
    // A simple statement has no prepared metadata on the client: its rows always carry it.
    exec::execute(&ctx, &statement, &bound, &exec_options(params)).await
}

fn prepare_request(
    node: &Node,
    session: &Session,
    query: &str,
    keyspace: Option<&str>,
) -> CqlResult<Outcome> {
    let ctx =
        Context::new(node, session_keyspace(session, keyspace)).for_user(session.user.as_deref());
    let prepared = prepared::prepare(&ctx, query)?;
    Ok(Outcome::body(ResultBody::Prepared(
        prepared.response.clone(),
    )))
}

/// `result_metadata_id` is the v5 client's id of the result metadata it holds (None in v4).
async fn execute_request(
    node: &Node,
    session: &Session,
    id: &[u8],
    result_metadata_id: Option<&[u8]>,
    params: &QueryParams,
) -> CqlResult<Outcome> {
    let prepared = node
        .prepared()
        .get(id)
        .ok_or_else(|| CqlError::Unprepared(bytes::Bytes::copy_from_slice(id)))?;
    let keyspace = prepared.keyspace.as_deref().or(session.keyspace.as_deref());
    let ctx = Context::new(node, keyspace).for_user(session.user.as_deref());
    let bound = bind_values(
        &prepared.specs,
        &params.values,
        prepared.statement.bind_marker_count(),
    )?;
    let mut outcome =
        exec::execute(&ctx, &prepared.statement, &bound, &exec_options(params)).await?;
    if let ResultBody::Rows(rows) = &mut outcome.body {
        prepared.settle_result_metadata(
            result_metadata_id,
            params.skip_metadata,
            &mut rows.metadata,
        );
    }
    Ok(outcome)
}

async fn batch_request(node: &Node, session: &Session, batch: &Batch) -> CqlResult<ResultBody> {
    let kind = match batch.batch_type {
        BatchType::Logged => BatchKind::Logged,
        BatchType::Unlogged => BatchKind::Unlogged,
        BatchType::Counter => BatchKind::Counter,
    };
    let ctx = Context::new(node, session_keyspace(session, batch.keyspace.as_deref()))
        .for_user(session.user.as_deref());
    let timestamp = batch.timestamp.unwrap_or_else(crate::clock::next_micros);
    // A protocol-level default timestamp is not the statement's USING TIMESTAMP.
    let mut writes = BatchWrites::new(kind, false);
    for member in &batch.statements {
        let (statement, bound) = match member {
            WireBatchStatement::Query { query, values } => {
                let statement = crate::cql::parse_statement(query)?;
                let bound = simple_values(&ctx, &statement, values)?;
                (statement, bound)
            }
            WireBatchStatement::Prepared { id, values } => {
                let prepared = node
                    .prepared()
                    .get(id)
                    .ok_or_else(|| CqlError::Unprepared(id.clone()))?;
                let bound = bind_values(
                    &prepared.specs,
                    values,
                    prepared.statement.bind_marker_count(),
                )?;
                (prepared.statement.clone(), bound)
            }
        };
        exec::auth::authorize(&ctx, &statement).await?;
        let child = match statement {
            Statement::Insert(s) => BatchChild::Insert(s),
            Statement::Update(s) => BatchChild::Update(s),
            Statement::Delete(s) => BatchChild::Delete(s),
            _ => return Err(CqlError::invalid("Invalid statement in batch: only UPDATE, INSERT and DELETE statements are allowed.")),
        };
        exec::add_batch_child(&ctx, &child, &bound, timestamp, &mut writes)?;
    }
    let options = WriteOptions {
        consistency: batch.consistency,
        serial_consistency: batch.serial_consistency.unwrap_or(Consistency::Serial),
        timestamp: batch.timestamp,
    };
    writes.send(&ctx, options).await
}
