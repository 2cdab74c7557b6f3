//! The replica side of the data path: the serializable commands a coordinator sends to a
//! replica, how a replica executes them against its own engine, and the `Transport` the
//! coordinator reaches other replicas through.
//!
//! Commands name tables by id and address their main branch only: engine version ids are
//! node-local, so each replica resolves its own writable head (`LocalReplica::version_of`).
//! Snapshot and clone versions never leave their node (statements using them are refused on
//! replicated keyspaces). Writes carry the coordinator's timestamps and `now_secs` (the TTL
//! origin and deletion time), so every replica stores identical cells and digests agree.
//!
//! Verbs (`messaging::Verb`): `Mutation` (a write or a read repair, answered by an empty
//! ack), `ReadData` (the raw cells of a read, `read_repair::ReplicaCells`), `ReadDigest`
//! (the MD5 `read_repair::digest` of the same answer), and the Paxos verbs `PaxosPrepare`,
//! `PaxosPropose` and `PaxosCommit` about one partition (`PaxosRequest`: the replica's
//! `paxos::store` state, persisted before the answer; a commit applies its update to the
//! table first). A replica that does not know the table answers with an error, which the
//! coordinator counts as a failure of that replica.
//!
//! Invariant: a replica executes exactly what it is sent; it never coordinates (no
//! forwarding, no consistency accounting): that is the coordinator's alone.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Weak};

use serde::{Deserialize, Serialize};
use strata_engine::{Cell, CellValue};
use tokio::time::Instant;
use uuid::Uuid;

use super::command::{Branch, CoordinatorError, ReadCommand, ReadTarget, TableWrite, WriteCommand};
use super::local::LocalReplica;
use super::messaging::{decode, encode, Inbound, Messaging, MessagingError, Verb};
use super::paxos::store::{paxos_ttl_secs, Lifetime, PaxosKey, PaxosUpdate};
use super::paxos::{Ballot, Commit, Promise, Update};
use super::read_repair::{digest, ReplicaCells};
use super::ring::Endpoint;
use super::Host;
use crate::schema::{Catalog, Table};
use crate::storage::PartitionUpdate;

/// A cell as it travels between nodes (the engine's `Cell` has no wire format of its own).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireCell {
    pub timestamp: i64,
    pub ttl_secs: u32,
    pub expires_at_secs: i64,
    /// `None`: a tombstone deleted at `deleted_at_secs`.
    pub value: Option<Vec<u8>>,
    pub deleted_at_secs: i64,
}

impl From<&Cell> for WireCell {
    fn from(cell: &Cell) -> WireCell {
        let (value, deleted_at_secs) = match &cell.value {
            CellValue::Live(v) => (Some(v.clone()), 0),
            CellValue::Tombstone { deleted_at_secs } => (None, *deleted_at_secs),
        };
        WireCell {
            timestamp: cell.timestamp,
            ttl_secs: cell.ttl_secs,
            expires_at_secs: cell.expires_at_secs,
            value,
            deleted_at_secs,
        }
    }
}

impl From<WireCell> for Cell {
    fn from(cell: WireCell) -> Cell {
        Cell {
            timestamp: cell.timestamp,
            ttl_secs: cell.ttl_secs,
            expires_at_secs: cell.expires_at_secs,
            value: match cell.value {
                Some(v) => CellValue::Live(v),
                None => CellValue::Tombstone {
                    deleted_at_secs: cell.deleted_at_secs,
                },
            },
        }
    }
}

/// `ReplicaCells` on the wire.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireCells {
    pub cells: Vec<(Vec<u8>, WireCell)>,
    pub complete_through: Option<Vec<u8>>,
}

impl From<&ReplicaCells> for WireCells {
    fn from(answer: &ReplicaCells) -> WireCells {
        WireCells {
            cells: answer
                .cells
                .iter()
                .map(|(k, c)| (k.clone(), WireCell::from(c)))
                .collect(),
            complete_through: answer.complete_through.clone(),
        }
    }
}

impl From<WireCells> for ReplicaCells {
    fn from(answer: WireCells) -> ReplicaCells {
        ReplicaCells {
            cells: answer
                .cells
                .into_iter()
                .map(|(k, c)| (k, Cell::from(c)))
                .collect(),
            complete_through: answer.complete_through,
        }
    }
}

/// A write as a replica receives it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum ReplicaWrite {
    /// A statement's or batch's partition updates, per table id (main branches), applied
    /// atomically with the coordinator's `now_secs`.
    Updates {
        tables: Vec<(Uuid, Vec<PartitionUpdate>)>,
        now_secs: i64,
    },
    /// Read repair: the winning cells this replica lacks.
    Cells { table: Uuid, cells: WireCells },
}

/// A read as a replica receives it (`ReadCommand` without node-local state).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReplicaRead {
    pub table: Uuid,
    pub target: ReadTarget,
    pub row_limit: u64,
    pub per_partition_limit: Option<u64>,
    pub resume_after: Option<Vec<u8>>,
    pub resume_partition_rows: u64,
    pub now_secs: i64,
}

impl ReplicaRead {
    pub fn of(command: &ReadCommand) -> ReplicaRead {
        ReplicaRead {
            table: command.table.def.id,
            target: command.target.clone(),
            row_limit: command.row_limit as u64,
            per_partition_limit: command.per_partition_limit.map(|l| l as u64),
            resume_after: command.resume_after.clone(),
            resume_partition_rows: command.resume_partition_rows as u64,
            now_secs: command.now_secs,
        }
    }

    fn command(self, table: Arc<Table>) -> ReadCommand {
        let limit = |l: u64| usize::try_from(l).unwrap_or(usize::MAX);
        ReadCommand {
            table,
            branch: Branch::Main,
            target: self.target,
            row_limit: limit(self.row_limit),
            per_partition_limit: self.per_partition_limit.map(limit),
            resume_after: self.resume_after,
            resume_partition_rows: limit(self.resume_partition_rows),
            now_secs: self.now_secs,
        }
    }
}

/// A Paxos verb about one partition (`paxos::store`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum PaxosRequest {
    Prepare {
        key: PaxosKey,
        ballot: Ballot,
    },
    Propose {
        key: PaxosKey,
        proposal: Commit<PaxosUpdate>,
    },
    /// Applies the update to the table, then records the commit.
    Commit {
        key: PaxosKey,
        commit: Commit<PaxosUpdate>,
    },
}

impl PaxosRequest {
    /// Whether `verb` is this request's (the payload names the verb again).
    fn verb_matches(&self, verb: Verb) -> bool {
        matches!(
            (self, verb),
            (PaxosRequest::Prepare { .. }, Verb::PaxosPrepare)
                | (PaxosRequest::Propose { .. }, Verb::PaxosPropose)
                | (PaxosRequest::Commit { .. }, Verb::PaxosCommit)
        )
    }

    pub fn key(&self) -> &PaxosKey {
        match self {
            PaxosRequest::Prepare { key, .. }
            | PaxosRequest::Propose { key, .. }
            | PaxosRequest::Commit { key, .. } => key,
        }
    }
}

/// What a coordinator asks one replica.
#[derive(Clone, Debug)]
pub enum ReplicaRequest {
    Write(ReplicaWrite),
    Data(ReplicaRead),
    Digest(ReplicaRead),
    Paxos(PaxosRequest),
    /// TRUNCATE of the table with this id: served by the executor (`exec::serve_truncate`:
    /// it swaps schema-recorded branches), not by `execute`.
    Truncate(Uuid),
}

impl ReplicaRequest {
    fn verb(&self) -> Verb {
        match self {
            ReplicaRequest::Write(_) => Verb::Mutation,
            ReplicaRequest::Data(_) => Verb::ReadData,
            ReplicaRequest::Digest(_) => Verb::ReadDigest,
            ReplicaRequest::Truncate(_) => Verb::Truncate,
            ReplicaRequest::Paxos(PaxosRequest::Prepare { .. }) => Verb::PaxosPrepare,
            ReplicaRequest::Paxos(PaxosRequest::Propose { .. }) => Verb::PaxosPropose,
            ReplicaRequest::Paxos(PaxosRequest::Commit { .. }) => Verb::PaxosCommit,
        }
    }
}

/// A replica's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplicaResponse {
    Ack,
    Data(ReplicaCells),
    Digest([u8; 16]),
    Promise(Box<Promise<PaxosUpdate>>),
    Accepted(bool),
}

/// Why a replica did not answer: no answer before the deadline (or unreachable), or it
/// answered with a failure.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReplicaError {
    #[error("no response before the deadline")]
    Timeout,
    #[error("replica failed: {0}")]
    Failed(String),
}

pub type ReplicaFuture =
    Pin<Box<dyn Future<Output = Result<ReplicaResponse, ReplicaError>> + Send>>;

/// How the coordinator reaches the other replicas and what its failure detector believes.
/// The node's is internode messaging plus gossip; tests plug in-process replicas.
pub trait Transport: Send + Sync {
    /// The failure detector's view of `host` (never asked about the local node).
    fn is_alive(&self, host: &Uuid) -> bool;
    /// The `replication` map of a keyspace (`None`: unknown, treated as node-local).
    fn replication(&self, keyspace: &str) -> Option<std::collections::BTreeMap<String, String>>;
    /// Sends `request` to `to`; the future ends soon after `deadline` at the latest (the
    /// node's transport learns of timeouts from a periodic sweep, not a timer per message):
    /// a caller that must answer at the deadline waits for it with its own timer.
    fn send(&self, to: &Endpoint, request: ReplicaRequest, deadline: Instant) -> ReplicaFuture;
}

/// A table by id, among the catalog's tables (views included) and their index tables
/// (found by `IndexDef::storage_id`, the id coordinators name them by).
pub fn table_by_id(catalog: &Catalog, id: Uuid) -> Option<Arc<Table>> {
    let tables = || catalog.keyspaces.values().flat_map(|k| k.tables.values());
    if let Some(table) = tables().find(|t| t.def.id == id) {
        return Some(table.clone());
    }
    tables().find_map(|t| {
        let index = t.indexes.iter().find(|i| i.storage_id() == id)?;
        t.index_storage(index).ok().map(Arc::new)
    })
}

/// Executes a request on this node's replica: what the verbs' handlers do, and what
/// in-process test transports call.
pub async fn execute(
    local: &LocalReplica,
    catalog: &Catalog,
    counter_shard: &[u8],
    request: ReplicaRequest,
) -> Result<ReplicaResponse, ReplicaError> {
    let table = |id: Uuid| {
        table_by_id(catalog, id).ok_or_else(|| ReplicaError::Failed(format!("unknown table {id}")))
    };
    let failed = |e: CoordinatorError| ReplicaError::Failed(e.to_string());
    match request {
        ReplicaRequest::Write(ReplicaWrite::Updates { tables, now_secs }) => {
            let mut command = WriteCommand::default();
            for (id, updates) in tables {
                command.tables.push(TableWrite {
                    table: table(id)?,
                    branch: Branch::Main,
                    updates,
                });
            }
            local
                .apply(command, counter_shard.to_vec(), now_secs)
                .await
                .map_err(failed)?;
            Ok(ReplicaResponse::Ack)
        }
        ReplicaRequest::Write(ReplicaWrite::Cells { table: id, cells }) => {
            let answer = ReplicaCells::from(cells);
            local
                .apply_cells(&*table(id)?, answer.cells)
                .await
                .map_err(failed)?;
            Ok(ReplicaResponse::Ack)
        }
        ReplicaRequest::Data(read) => {
            let id = read.table;
            let command = read.command(table(id)?);
            let cells = local.read_cells(command).await.map_err(failed)?;
            Ok(ReplicaResponse::Data(cells))
        }
        ReplicaRequest::Digest(read) => {
            let id = read.table;
            let command = read.command(table(id)?);
            let cells = local.read_cells(command).await.map_err(failed)?;
            Ok(ReplicaResponse::Digest(digest(&cells)))
        }
        ReplicaRequest::Truncate(id) => Err(ReplicaError::Failed(format!(
            "TRUNCATE of {id} is the node's to serve, not the replica's"
        ))),
        ReplicaRequest::Paxos(request) => {
            let table = table(request.key().table)?;
            execute_paxos(local, table, counter_shard, request).await
        }
    }
}

/// Executes a Paxos verb on this node's replica of `table` (the coordinator calls it
/// directly for its own replica). The state is persisted before the answer.
pub async fn execute_paxos(
    local: &LocalReplica,
    table: Arc<Table>,
    counter_shard: &[u8],
    request: PaxosRequest,
) -> Result<ReplicaResponse, ReplicaError> {
    let store = local.paxos().clone();
    let lifetime = Lifetime {
        now_secs: crate::clock::now_secs(),
        ttl_secs: paxos_ttl_secs(table.def.options.gc_grace_seconds),
    };
    let failed = |e: String| ReplicaError::Failed(e);
    if let PaxosRequest::Commit { commit, .. } = &request {
        if !commit.update.is_empty() {
            let command = WriteCommand {
                tables: vec![TableWrite {
                    table,
                    branch: Branch::Main,
                    updates: commit.update.updates.clone(),
                }],
            };
            local
                .apply(command, counter_shard.to_vec(), commit.update.now_secs)
                .await
                .map_err(|e| failed(e.to_string()))?;
        }
    }
    let blocking = tokio::task::spawn_blocking(move || match request {
        PaxosRequest::Prepare { key, ballot } => store
            .prepare(&key, ballot, lifetime)
            .map(|p| ReplicaResponse::Promise(Box::new(p))),
        PaxosRequest::Propose { key, proposal } => store
            .propose(&key, proposal, lifetime)
            .map(ReplicaResponse::Accepted),
        PaxosRequest::Commit { key, commit } => store
            .commit(&key, commit, lifetime)
            .map(|()| ReplicaResponse::Ack),
    });
    match blocking.await {
        Ok(answer) => answer.map_err(|e| failed(e.to_string())),
        Err(e) => Err(failed(e.to_string())),
    }
}

/// Serves the replica verbs on `messaging` for `node` (held weakly: the handlers live in
/// the node's own messaging service).
pub fn serve(messaging: &Messaging, node: Weak<dyn Host>) {
    for verb in [
        Verb::Mutation,
        Verb::ReadData,
        Verb::ReadDigest,
        Verb::PaxosPrepare,
        Verb::PaxosPropose,
        Verb::PaxosCommit,
    ] {
        let node = node.clone();
        messaging.register(verb, move |inbound: Inbound| {
            let node = node.clone();
            async move {
                let node = node.upgrade().ok_or("node is shutting down")?;
                let request = decode_request(verb, &inbound.payload)?;
                let counter_shard = node.host_id().as_bytes().to_vec();
                let response = execute(
                    node.coordinator().local(),
                    &node.schema().catalog(),
                    &counter_shard,
                    request,
                )
                .await
                .map_err(|e| e.to_string())?;
                Ok(match response {
                    ReplicaResponse::Ack => encode(&()),
                    ReplicaResponse::Data(cells) => encode(&WireCells::from(&cells)),
                    ReplicaResponse::Digest(d) => encode(&d),
                    ReplicaResponse::Promise(p) => encode(&*p),
                    ReplicaResponse::Accepted(accepted) => encode(&accepted),
                })
            }
        });
    }
}

fn decode_request(verb: Verb, payload: &[u8]) -> Result<ReplicaRequest, String> {
    let bad = |e: super::messaging::FrameError| e.to_string();
    match verb {
        Verb::Mutation => Ok(ReplicaRequest::Write(decode(payload).map_err(bad)?)),
        Verb::ReadData => Ok(ReplicaRequest::Data(decode(payload).map_err(bad)?)),
        Verb::ReadDigest => Ok(ReplicaRequest::Digest(decode(payload).map_err(bad)?)),
        Verb::PaxosPrepare | Verb::PaxosPropose | Verb::PaxosCommit => {
            let request: PaxosRequest = decode(payload).map_err(bad)?;
            match request.verb_matches(verb) {
                true => Ok(ReplicaRequest::Paxos(request)),
                false => Err(format!("{verb:?} with another verb's payload")),
            }
        }
        other => Err(format!("not a replica verb: {other:?}")),
    }
}

/// The node's transport: internode messaging to `address:storage_port`, liveness from
/// gossip's failure detector.
pub struct MessagingTransport {
    pub messaging: Messaging,
    pub storage_port: u16,
    pub node: Weak<dyn Host>,
}

impl Transport for MessagingTransport {
    fn is_alive(&self, host: &Uuid) -> bool {
        self.node
            .upgrade()
            .is_some_and(|node| node.membership().is_alive(node.host_id(), host))
    }

    fn replication(&self, keyspace: &str) -> Option<std::collections::BTreeMap<String, String>> {
        let node = self.node.upgrade()?;
        let catalog = node.schema().catalog();
        catalog
            .keyspace(keyspace)
            .map(|k| k.def.replication.clone())
    }

    fn send(&self, to: &Endpoint, request: ReplicaRequest, deadline: Instant) -> ReplicaFuture {
        let peer = std::net::SocketAddr::new(to.address, self.storage_port);
        let verb = request.verb();
        let payload = match &request {
            ReplicaRequest::Write(w) => encode(w),
            ReplicaRequest::Data(r) | ReplicaRequest::Digest(r) => encode(r),
            ReplicaRequest::Truncate(id) => encode(id),
            ReplicaRequest::Paxos(p) => encode(p),
        };
        // The coordinator waits until the request's deadline itself (one timer for all its
        // replicas), so the message needs no timer of its own.
        let pending = self
            .messaging
            .send_request_swept(peer, verb, payload, deadline);
        Box::pin(async move {
            let failed = |e| match e {
                MessagingError::Timeout => ReplicaError::Timeout,
                other => ReplicaError::Failed(other.to_string()),
            };
            let response = pending.map_err(failed)?.await.map_err(failed)?;
            let undecodable = |e: super::messaging::FrameError| ReplicaError::Failed(e.to_string());
            Ok(match request {
                ReplicaRequest::Write(_) | ReplicaRequest::Truncate(_) => ReplicaResponse::Ack,
                ReplicaRequest::Data(_) => {
                    let cells: WireCells = decode(&response.payload).map_err(undecodable)?;
                    ReplicaResponse::Data(cells.into())
                }
                ReplicaRequest::Digest(_) => {
                    ReplicaResponse::Digest(decode(&response.payload).map_err(undecodable)?)
                }
                ReplicaRequest::Paxos(PaxosRequest::Prepare { .. }) => ReplicaResponse::Promise(
                    Box::new(decode(&response.payload).map_err(undecodable)?),
                ),
                ReplicaRequest::Paxos(PaxosRequest::Propose { .. }) => {
                    ReplicaResponse::Accepted(decode(&response.payload).map_err(undecodable)?)
                }
                ReplicaRequest::Paxos(PaxosRequest::Commit { .. }) => ReplicaResponse::Ack,
            })
        })
    }
}
