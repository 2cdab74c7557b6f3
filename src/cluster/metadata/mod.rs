//! Cluster metadata in a Raft log (openraft 0.9): every DDL statement is one log entry,
//! applied by every node's schema store in log order, so every node has the same schema
//! with the same ids (`schema_version` is a digest of it).
//!
//! Where Raft ends and gossip begins: this log holds what must be agreed (schema, and the
//! removal of nodes from the ring by `nodetool removenode`: `remove_node`); gossip
//! (`cluster::gossip`) carries what is per node and ephemeral (liveness, load, the schema
//! version and log position each node has applied). The data path never touches Raft.
//!
//! Invariants:
//! - One group per cluster. A starting node first asks its seeds (after a restart, also
//!   the members it knew) about the group (`Verb::MetadataStatus`). A node with no
//!   persisted log state initializes a one-voter group only when no seed answers that one
//!   exists and it is the first seed (or has no seeds), as Cassandra and ScyllaDB form a
//!   fresh cluster; otherwise it asks the seeds (then the leader they name) to add it, as a
//!   learner and then a voter, so a first seed whose data was wiped joins the group its
//!   seeds are in instead of starting a second one. A node that has log state (a restart)
//!   never initializes or joins again: Raft catches it up from the log or a snapshot.
//! - A node the group removed (`nodetool removenode`) that restarts with its data, or a
//!   new host at the address of a node the ring still has, is refused before it takes part
//!   (Cassandra's messages: `DECOMMISSIONED`, `address_collision`); the process exits.
//! - A DDL commits in four steps (`commit`): the proposer (any node) builds the writes
//!   against its catalog, the entry goes to the leader (directly on the leader: a single
//!   node has no network hop), the proposer waits until it applied the entry itself, then
//!   asks every live member to confirm it applied it too (bounded by `AGREEMENT_TIMEOUT`)
//!   before the statement returns, so drivers see schema agreement at once.
//! - An entry whose base schema version is not the applier's current one is rejected on
//!   every node alike (`ApplyOutcome::Conflict`); the proposer then re-runs the statement
//!   (`CqlError::SchemaConflict`), which gives Cassandra's answer to the losing statement.

// openraft's storage and network traits return its own error types (`StorageError`,
// `RPCError`: 200+ bytes); they are built only on failure paths, so not boxed here.
#![allow(clippy::result_large_err)]

mod log_store;
mod network;
#[cfg(test)]
mod sim;
mod state_machine;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use openraft::error::{ClientWriteError, RaftError};
use openraft::{ChangeMembers, Raft, SnapshotPolicy};
use serde::{Deserialize, Serialize};
use strata_engine::Engine;
use tokio::time::Instant;
use uuid::Uuid;

pub use log_store::LogStore;
pub use state_machine::{AppliedPosition, ChangeListener, StateMachine};

use super::messaging::{Messaging, Verb};
use crate::error::{CqlError, CqlResult};
use crate::schema::{Catalog, RemovedNode, SchemaStore, SchemaWrite};

openraft::declare_raft_types!(
    /// The metadata log's types.
    pub TypeConfig:
        D = SchemaCommand,
        R = ApplyOutcome,
        NodeId = u64,
        Node = MetaNode,
        SnapshotData = std::io::Cursor<Vec<u8>>,
);

pub type NodeId = u64;
pub type MetaRaft = Raft<TypeConfig>;

/// How long a DDL waits for the log (a leader, the commit, its own apply).
const COMMIT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a DDL waits for the other live nodes to apply it before returning anyway
/// (drivers then wait for agreement themselves, as with Cassandra).
const AGREEMENT_TIMEOUT: Duration = Duration::from_secs(5);
/// Bound on admitting one node (learner catch-up plus the membership change).
const JOIN_TIMEOUT: Duration = Duration::from_secs(10);
const JOIN_RETRY: Duration = Duration::from_millis(500);
/// How long a starting node waits for its seeds' answers about the group.
const STATUS_TIMEOUT: Duration = Duration::from_secs(2);

/// Cassandra's refusal for a node that was removed and restarts with its old data.
pub const DECOMMISSIONED: &str = "This node was decommissioned and will not rejoin the ring unless cassandra.override_decommission=true has been set, or all existing data is removed and the node is bootstrapped again";

/// Cassandra's refusal (`checkForEndpointCollision`) for a new host at the address of a
/// node the ring still has (a wiped node restarted: remove the old one first).
fn address_collision(address: &str) -> String {
    format!("A node with address /{address} already exists, cancelling join. Use cassandra.replace_address if you want to replace this node.")
}

/// Who asks about the group at start (`Verb::MetadataStatus`).
#[derive(Debug, Serialize, Deserialize)]
struct StatusRequest {
    host_id: Uuid,
    address: std::net::IpAddr,
}

/// What a member answers a starting node.
#[derive(Debug, Default, Serialize, Deserialize)]
struct GroupStatus {
    /// The answering node belongs to an initialized group.
    initialized: bool,
    /// The asking host was removed from the cluster.
    removed: bool,
    /// Another host of the ring has the asking node's address.
    address_taken: bool,
}

/// A member of the metadata group: its host id and internode address.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaNode {
    pub host_id: Uuid,
    pub addr: String,
}

/// The Raft node id of a host (its host id folded to 64 bits).
pub fn node_id(host_id: Uuid) -> NodeId {
    let (hi, lo) = host_id.as_u64_pair();
    hi ^ lo
}

/// One DDL statement's replicated effect.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SchemaCommand {
    /// The proposing node: its writes carry branches it created already.
    pub origin: Uuid,
    /// The schema version the proposer validated the statement against.
    pub base: Uuid,
    pub writes: Vec<ReplicatedWrite>,
}

impl SchemaCommand {
    /// Whether the command only changes the topology (nodes joining or removed), which
    /// does not depend on the schema version it was proposed against.
    pub fn is_topology_only(&self) -> bool {
        !self.writes.is_empty()
            && self.writes.iter().all(|w| {
                matches!(
                    w.write,
                    SchemaWrite::RemoveNode(_) | SchemaWrite::PutNode(_)
                )
            })
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ReplicatedWrite {
    pub write: SchemaWrite,
    /// The object gets a new empty branch on every node (CREATE, TRUNCATE), rather than
    /// keeping the one it has.
    pub fresh_branch: bool,
}

/// What applying an entry did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ApplyOutcome {
    Applied,
    /// The schema changed since the proposer validated: nothing applied.
    Conflict,
    /// A Raft-internal entry (blank, membership).
    Noop,
}

#[derive(Serialize, Deserialize)]
enum ProposeReply {
    Committed { index: u64, outcome: ApplyOutcome },
    NotLeader,
    Failed(String),
}

/// The leader's answer to a membership change (a node joining or being removed).
#[derive(Debug, Serialize, Deserialize)]
enum MembershipReply {
    Done,
    /// Ask the leader, at this address when known.
    NotLeader(Option<String>),
    Failed(String),
}

/// Raft timing for a LAN cluster; snapshots every 500 entries keep the log short.
///
/// A follower that stops hearing from its leader waits for the leader's lease
/// (openraft 0.9: `election_timeout_max`, during which it also refuses to vote) plus a
/// random election timeout before it stands: 1.5-2 s here after a leader's `kill -9`
/// (it was 3-4 s with 1-2 s timeouts). Heartbeats every 100 ms on the urgent link leave
/// 15 missed heartbeats before a needless election on a loaded machine; a needless
/// election only delays DDL, never makes logs diverge.
pub fn raft_config() -> anyhow::Result<openraft::Config> {
    Ok(openraft::Config {
        cluster_name: "strata-metadata".into(),
        heartbeat_interval: 100,
        election_timeout_min: 500,
        election_timeout_max: 1000,
        snapshot_policy: SnapshotPolicy::LogsSinceLast(500),
        max_in_snapshot_log_to_keep: 100,
        ..Default::default()
    }
    .validate()?)
}

/// This node's handle on the metadata log.
pub struct MetadataLog {
    raft: MetaRaft,
    id: NodeId,
    me: MetaNode,
    messaging: Messaging,
    engine: Arc<Engine>,
    position: AppliedPosition,
    /// Positions (applied index, schema version) other members confirmed after a schema
    /// change, newer than gossip right after it (gossip catches up within a second).
    confirmed: Arc<Mutex<HashMap<Uuid, (u64, Uuid)>>>,
    /// Serialises membership changes on the leader (openraft refuses overlapping ones).
    membership_changes: Arc<tokio::sync::Mutex<()>>,
    /// The removal this node is running (`nodetool removenode status`).
    removing: Mutex<Option<Removal>>,
    /// The last applied log index, for what follows the log (`cluster::topology`).
    applied_index: tokio::sync::watch::Sender<u64>,
    /// The state machine's store, read to answer starting nodes (`Verb::MetadataStatus`).
    store: Arc<SchemaStore>,
}

/// A removal this node runs: the removed node, and the nodes whose streams of the ranges
/// they gain it still waits for (Cassandra's "replication confirmation").
#[derive(Clone, Debug)]
pub struct Removal {
    pub node: RemovedNode,
    pub waiting: Vec<std::net::IpAddr>,
    /// `removenode force`: ends this removal's wait for its streams (one per removal, so
    /// a force that comes as a removal ends cannot end the next one's wait).
    force: Arc<tokio::sync::Notify>,
}

/// A gaining node's streams (`cluster::streaming`), as the removal waits for them: its
/// address, and the streams' outcome (an error text when they failed).
pub type Replication = (
    std::net::IpAddr,
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send>>,
);

/// One member's applied position, as confirmed after a schema change.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
struct Confirmed {
    host_id: Uuid,
    index: u64,
    version: Uuid,
}

fn record(confirmed: &Mutex<HashMap<Uuid, (u64, Uuid)>>, positions: &[Confirmed]) {
    let mut confirmed = confirmed.lock().unwrap_or_else(|e| e.into_inner());
    for p in positions {
        let known = confirmed.entry(p.host_id).or_insert((p.index, p.version));
        if known.0 <= p.index {
            *known = (p.index, p.version);
        }
    }
}

/// What `MetadataLog::start` needs.
pub struct Setup {
    /// Where the log, vote and snapshot are kept.
    pub dir: std::path::PathBuf,
    pub me: MetaNode,
    /// The seeds' internode addresses, in configured order.
    pub seeds: Vec<SocketAddr>,
    pub store: Arc<SchemaStore>,
    pub engine: Arc<Engine>,
    pub messaging: Messaging,
    pub listener: ChangeListener,
}

impl MetadataLog {
    /// Opens the log and the state machine, starts Raft, serves the metadata verbs, and
    /// initializes or joins the group (see the module invariants).
    pub async fn start(setup: Setup) -> anyhow::Result<MetadataLog> {
        let Setup {
            dir,
            me,
            seeds,
            store,
            engine,
            messaging,
            listener,
        } = setup;
        let id = node_id(me.host_id);
        let position = AppliedPosition::default();
        let (raft, _) = start_raft(
            &dir,
            &me,
            store.clone(),
            engine.clone(),
            listener,
            position.clone(),
            network::Network::new(messaging.clone()),
        )
        .await?;
        network::serve_raft(&messaging, &raft);
        let log = MetadataLog {
            raft,
            id,
            me,
            messaging,
            engine,
            position,
            confirmed: Arc::default(),
            membership_changes: Arc::default(),
            removing: Mutex::default(),
            applied_index: tokio::sync::watch::Sender::new(0),
            store,
        };
        log.serve();
        log.follow_epoch();
        log.form(seeds).await?;
        Ok(log)
    }

    /// Initializes the group (first seed, when no seed has one) or joins it in the
    /// background (the others); refuses a removed node or a new host at a taken address.
    async fn form(&self, seeds: Vec<SocketAddr>) -> anyhow::Result<()> {
        let initialized = self.raft.is_initialized().await?;
        let own = self.me.addr.parse::<SocketAddr>().ok();
        let mut asked: BTreeSet<SocketAddr> = seeds.iter().copied().collect();
        if initialized {
            asked.extend(
                self.members()
                    .iter()
                    .filter_map(|(m, _)| m.addr.parse::<SocketAddr>().ok()),
            );
        }
        asked.retain(|a| Some(*a) != own);
        let answers = self.group_status(&asked).await;
        let refusal = if answers.iter().any(|a| a.removed) {
            Some(DECOMMISSIONED.to_string())
        } else if !initialized && answers.iter().any(|a| a.address_taken) {
            Some(address_collision(&self.me.addr))
        } else {
            None
        };
        if let Some(refusal) = refusal {
            tracing::error!("{refusal}");
            anyhow::bail!(refusal);
        }
        if initialized {
            return Ok(());
        }
        let exists = answers.iter().any(|a| a.initialized);
        if !exists && seeds.first().is_none_or(|first| Some(*first) == own) {
            tracing::info!(node = self.id, "initializing the metadata group");
            self.raft
                .initialize(BTreeMap::from([(self.id, self.me.clone())]))
                .await?;
            // A one-voter group elects itself at once; waiting here keeps that out of the
            // first DDL's latency. Not fatal: a DDL waits for a leader anyway.
            let elected = self
                .raft
                .wait(Some(Duration::from_secs(5)))
                .current_leader(self.id, "first election")
                .await;
            if let Err(e) = elected {
                tracing::warn!(error = %e, "the new metadata group has no leader yet");
            }
            return Ok(());
        }
        if exists {
            tracing::info!("the seeds have a metadata group: joining it");
        }
        tokio::spawn(join(
            self.raft.clone(),
            self.messaging.clone(),
            self.me.clone(),
            seeds,
        ));
        Ok(())
    }

    /// What the nodes at `addresses` that answer within `STATUS_TIMEOUT` say of the group
    /// and of this node.
    async fn group_status(&self, addresses: &BTreeSet<SocketAddr>) -> Vec<GroupStatus> {
        let Some(address) = self.me.addr.parse::<SocketAddr>().ok().map(|a| a.ip()) else {
            return Vec::new();
        };
        let request = StatusRequest {
            host_id: self.me.host_id,
            address,
        };
        let deadline = Instant::now() + STATUS_TIMEOUT;
        let asks = addresses.iter().map(|peer| {
            network::call::<_, GroupStatus>(
                &self.messaging,
                *peer,
                Verb::MetadataStatus,
                &request,
                deadline,
            )
        });
        futures_util::future::join_all(asks)
            .await
            .into_iter()
            .filter_map(Result::ok)
            .collect()
    }

    /// Serves proposals, joins, starting nodes' questions and schema-agreement waits.
    fn serve(&self) {
        let raft = self.raft.clone();
        let store = self.store.clone();
        network::serve(
            &self.messaging,
            Verb::MetadataStatus,
            move |asking: StatusRequest| {
                let raft = raft.clone();
                let catalog = store.catalog();
                async move {
                    GroupStatus {
                        initialized: raft.is_initialized().await.unwrap_or(false),
                        removed: catalog.removed_nodes.contains_key(&asking.host_id),
                        address_taken: catalog
                            .nodes
                            .values()
                            .any(|n| n.address == asking.address && n.host_id != asking.host_id),
                    }
                }
            },
        );
        let raft = self.raft.clone();
        network::serve(
            &self.messaging,
            Verb::MetadataPropose,
            move |command: SchemaCommand| {
                let raft = raft.clone();
                async move { propose_here(&raft, command).await }
            },
        );
        self.serve_membership_change(Verb::MetadataJoin, |raft, node: MetaNode| async move {
            admit(&raft, node).await
        });
        self.serve_membership_change(Verb::MetadataRemove, |raft, host: Uuid| async move {
            expel(&raft, node_id(host)).await
        });
        let raft = self.raft.clone();
        let position = self.position.clone();
        let host_id = self.me.host_id;
        network::serve(
            &self.messaging,
            Verb::MetadataWaitApplied,
            move |index: u64| {
                let raft = raft.clone();
                let position = position.clone();
                async move {
                    let applied = raft
                        .wait(Some(AGREEMENT_TIMEOUT))
                        .applied_index_at_least(Some(index), "schema agreement")
                        .await;
                    applied.ok().map(|_| {
                        let (index, version) = position.get();
                        Confirmed {
                            host_id,
                            index,
                            version,
                        }
                    })
                }
            },
        );
        let confirmed = self.confirmed.clone();
        network::serve(
            &self.messaging,
            Verb::MetadataAgreed,
            move |positions: Vec<Confirmed>| {
                record(&confirmed, &positions);
                std::future::ready(true)
            },
        );
    }

    /// Serves a membership-change verb: `change` runs here (it answers `NotLeader` unless
    /// this node leads), one change at a time, as openraft refuses overlapping ones.
    fn serve_membership_change<Req, F, Fut>(&self, verb: Verb, change: F)
    where
        Req: serde::de::DeserializeOwned + Send + 'static,
        F: Fn(MetaRaft, Req) -> Fut + Send + Sync + Copy + 'static,
        Fut: std::future::Future<Output = MembershipReply> + Send + 'static,
    {
        let raft = self.raft.clone();
        let one_at_a_time = self.membership_changes.clone();
        network::serve(&self.messaging, verb, move |request: Req| {
            let raft = raft.clone();
            let one_at_a_time = one_at_a_time.clone();
            async move {
                let _serial = one_at_a_time.lock().await;
                change(raft, request).await
            }
        });
    }

    /// The schema version to report for `host`: the newer (by applied index) of what
    /// gossip says (`gossiped`: its epoch and version) and what it confirmed after the
    /// last schema change, so drivers see agreement as soon as a DDL returns.
    pub fn peer_schema_version(&self, host: Uuid, gossiped: (u64, Option<Uuid>)) -> Option<Uuid> {
        let confirmed = self
            .confirmed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&host)
            .copied();
        match confirmed {
            Some((index, version)) if index >= gossiped.0 => Some(version),
            _ => gossiped.1,
        }
    }

    /// Whether this node leads the metadata group now.
    pub fn is_leader(&self) -> bool {
        self.raft.metrics().borrow().current_leader == Some(self.id)
    }

    /// The last applied index and the schema version it produced.
    pub fn applied(&self) -> (u64, Uuid) {
        self.position.get()
    }

    /// Wakes on every change of the applied log index.
    pub fn applied_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.applied_index.subscribe()
    }

    /// Waits (at most `timeout`) until this node is a voter of the group and applied the
    /// entry that made it one, so its state machine holds everything committed before it
    /// joined; whether it is.
    pub async fn wait_member(&self, timeout: Duration) -> bool {
        let id = self.id;
        self.raft
            .wait(Some(timeout))
            .metrics(
                |m| {
                    let membership = &m.membership_config;
                    membership.membership().voter_ids().any(|v| v == id)
                        && m.last_applied.as_ref() >= membership.log_id().as_ref()
                },
                "member of the metadata group",
            )
            .await
            .is_ok()
    }

    /// Every internode message carries the log position this node applied.
    fn follow_epoch(&self) {
        let mut metrics = self.raft.metrics();
        let messaging = self.messaging.clone();
        let applied_index = self.applied_index.clone();
        tokio::spawn(async move {
            loop {
                let applied = metrics.borrow().last_applied.map_or(0, |l| l.index);
                messaging.set_epoch(applied);
                applied_index.send_if_modified(|index| {
                    let changed = *index != applied;
                    *index = applied;
                    changed
                });
                if metrics.changed().await.is_err() {
                    return;
                }
            }
        });
    }

    /// Commits `writes`, validated against `base`, through the log; returns once this
    /// node and every live member (bounded by `AGREEMENT_TIMEOUT`) applied it. `liveness`
    /// is gossip's view of a host: up, down, or `None` while gossip has not described it.
    /// `CqlError::SchemaConflict` when another change committed first.
    pub async fn commit(
        &self,
        base: &Catalog,
        writes: Vec<SchemaWrite>,
        liveness: &(dyn Fn(Uuid) -> Option<bool> + Sync),
    ) -> CqlResult<()> {
        let command = command(self.me.host_id, base, writes);
        let deadline = Instant::now() + COMMIT_TIMEOUT;
        let (index, outcome) = self.propose(&command, deadline, liveness).await?;
        self.raft
            .wait(Some(deadline.saturating_duration_since(Instant::now())))
            .applied_index_at_least(Some(index), "schema change")
            .await
            .map_err(|e| CqlError::Server(format!("schema change not applied locally: {e}")))?;
        if outcome == ApplyOutcome::Conflict {
            // The branches created for the statement are nobody's.
            for version in fresh_branches(&command) {
                state_machine::release_branch(&self.engine, version);
            }
            return Err(CqlError::SchemaConflict);
        }
        self.await_agreement(index, liveness).await;
        Ok(())
    }

    /// Sends `command` to the leader (or applies it here, on the leader) until committed.
    /// A leader that gossip says is down (a graceful stop is announced at once; one gossip
    /// has not described yet counts as up) is not sent to: its request would wait in the
    /// queue until the deadline although a new leader is elected within
    /// `election_timeout_max`. Nothing was sent to it, so asking the next leader cannot
    /// commit the command twice.
    async fn propose(
        &self,
        command: &SchemaCommand,
        deadline: Instant,
        liveness: &(dyn Fn(Uuid) -> Option<bool> + Sync),
    ) -> CqlResult<(u64, ApplyOutcome)> {
        loop {
            let reply = match self.raft.current_leader().await {
                Some(leader) if leader == self.id => {
                    propose_here(&self.raft, command.clone()).await
                }
                Some(leader) => match self.address_unless_down(leader, liveness) {
                    Some(address) => network::call(
                        &self.messaging,
                        address,
                        Verb::MetadataPropose,
                        command,
                        deadline,
                    )
                    .await
                    .unwrap_or(ProposeReply::NotLeader),
                    None => ProposeReply::NotLeader,
                },
                None => ProposeReply::NotLeader,
            };
            match reply {
                ProposeReply::Committed { index, outcome } => return Ok((index, outcome)),
                ProposeReply::Failed(e) => {
                    return Err(CqlError::Server(format!(
                        "cannot commit the schema change: {e}"
                    )))
                }
                ProposeReply::NotLeader if Instant::now() >= deadline => {
                    return Err(CqlError::Server(format!(
                        "cannot commit the schema change: no metadata leader reachable within {} s (is a majority of the nodes up?)",
                        COMMIT_TIMEOUT.as_secs()
                    )))
                }
                ProposeReply::NotLeader => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    /// Member `id`'s internode address, unless gossip says it is down.
    fn address_unless_down(
        &self,
        id: NodeId,
        liveness: &(dyn Fn(Uuid) -> Option<bool> + Sync),
    ) -> Option<SocketAddr> {
        let metrics = self.raft.metrics();
        let metrics = metrics.borrow();
        let node = metrics.membership_config.membership().get_node(&id)?;
        match liveness(node.host_id) {
            Some(false) => None,
            _ => node.addr.parse().ok(),
        }
    }

    /// Waits until every other live member applied `index` (or `AGREEMENT_TIMEOUT`), then
    /// tells them all where each of them is, so that every node's `system.peers` shows the
    /// new schema version at once instead of after the next gossip round.
    async fn await_agreement(&self, index: u64, liveness: &(dyn Fn(Uuid) -> Option<bool> + Sync)) {
        let peers: Vec<MetaNode> = {
            let metrics = self.raft.metrics();
            let metrics = metrics.borrow();
            metrics
                .membership_config
                .membership()
                .nodes()
                .filter(|(id, node)| **id != self.id && liveness(node.host_id) == Some(true))
                .map(|(_, node)| node.clone())
                .collect()
        };
        let deadline = Instant::now() + AGREEMENT_TIMEOUT;
        let waits = peers.iter().map(|peer| async move {
            let address: Option<SocketAddr> = peer.addr.parse().ok();
            let confirmed = match address {
                Some(address) => network::call::<u64, Option<Confirmed>>(
                    &self.messaging,
                    address,
                    Verb::MetadataWaitApplied,
                    &index,
                    deadline,
                )
                .await
                .ok()
                .flatten(),
                None => None,
            };
            if confirmed.is_none() {
                tracing::warn!(
                    peer = %peer.addr,
                    index,
                    "a live node did not confirm the schema change within {AGREEMENT_TIMEOUT:?}"
                );
            }
            confirmed.zip(address)
        });
        let answers: Vec<(Confirmed, SocketAddr)> = futures_util::future::join_all(waits)
            .await
            .into_iter()
            .flatten()
            .collect();
        if answers.is_empty() {
            return;
        }
        let (own_index, own_version) = self.position.get();
        let positions: Vec<Confirmed> = answers
            .iter()
            .map(|(c, _)| *c)
            .chain(std::iter::once(Confirmed {
                host_id: self.me.host_id,
                index: own_index,
                version: own_version,
            }))
            .collect();
        record(&self.confirmed, &positions);
        let deadline = Instant::now() + Duration::from_secs(1);
        let tells = answers.iter().map(|(_, address)| {
            network::call::<_, bool>(
                &self.messaging,
                *address,
                Verb::MetadataAgreed,
                &positions,
                deadline,
            )
        });
        futures_util::future::join_all(tells).await;
    }

    /// Removes a node from the cluster (`nodetool removenode`, checked by the caller):
    /// commits its removal from the ring through the log (every node then forgets it,
    /// `cluster::gossip`, and writes go to the ranges' new replicas), waits for
    /// `replications` (the gaining nodes streaming the ranges they gain from the remaining
    /// replicas) unless `force_removal` ends the wait, then takes the node out of the
    /// metadata group's membership. The ring changes before the streams start, so a write
    /// made while they run reaches the new replicas too (it commutes with the streamed
    /// cells: both keep their timestamps). Returns the streams' failures.
    pub async fn remove_node(
        &self,
        base: &Catalog,
        removed: RemovedNode,
        liveness: &(dyn Fn(Uuid) -> Option<bool> + Sync),
        replications: Vec<Replication>,
    ) -> CqlResult<Vec<String>> {
        let force = Arc::new(tokio::sync::Notify::new());
        {
            let mut removing = self.removing.lock().unwrap_or_else(|e| e.into_inner());
            if removing.is_some() {
                return Err(CqlError::Server("This node is already processing a removal. Wait for it to complete, or use 'removenode force' if this has failed.".into()));
            }
            *removing = Some(Removal {
                node: removed.clone(),
                waiting: replications.iter().map(|(address, _)| *address).collect(),
                force: force.clone(),
            });
        }
        let host_id = removed.host_id;
        let result = async {
            self.commit(base, vec![SchemaWrite::RemoveNode(removed)], liveness)
                .await?;
            let failures = self.await_replications(replications, &force).await;
            self.leave_group(host_id, liveness).await?;
            Ok(failures)
        }
        .await;
        *self.removing.lock().unwrap_or_else(|e| e.into_inner()) = None;
        result
    }

    /// Waits for every gaining node's streams (each leaves the waiting list as it ends),
    /// or until `removenode force`; returns the failures.
    async fn await_replications(
        &self,
        replications: Vec<Replication>,
        force: &tokio::sync::Notify,
    ) -> Vec<String> {
        use futures_util::StreamExt;
        let mut running: futures_util::stream::FuturesUnordered<_> = replications
            .into_iter()
            .map(|(address, streams)| async move { (address, streams.await) })
            .collect();
        let mut failures = Vec::new();
        loop {
            tokio::select! {
                done = running.next() => {
                    let Some((address, outcome)) = done else { break };
                    if let Some(removal) = self.removing.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
                        removal.waiting.retain(|a| *a != address);
                    }
                    if let Err(e) = outcome {
                        tracing::warn!(%address, "streaming to restore replica count failed: {e}");
                        failures.push(e);
                    }
                }
                () = force.notified() => {
                    let waiting = self.removing().map(|r| r.waiting).unwrap_or_default();
                    tracing::warn!(?waiting, "Removal not confirmed for {waiting:?}: forced");
                    break;
                }
            }
        }
        failures
    }

    /// `removenode force`: the running removal stops waiting for its streams (they go on
    /// on the gaining nodes, unwatched); returns whether a removal was waiting.
    pub fn force_removal(&self) -> bool {
        match self.removing() {
            Some(removal) if !removal.waiting.is_empty() => {
                removal.force.notify_one();
                true
            }
            _ => false,
        }
    }

    /// The removal this node is running, if any.
    pub fn removing(&self) -> Option<Removal> {
        self.removing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Takes every node the log says was removed out of the group's membership, where an
    /// earlier `remove_node` committed the removal but did not finish (`removenode
    /// force`); returns how many were still members.
    pub async fn complete_removals(
        &self,
        removed: &BTreeMap<Uuid, RemovedNode>,
        liveness: &(dyn Fn(Uuid) -> Option<bool> + Sync),
    ) -> CqlResult<usize> {
        let members: BTreeSet<Uuid> = self.members().into_iter().map(|(m, _)| m.host_id).collect();
        let mut count = 0;
        for host_id in removed.keys().filter(|h| members.contains(h)) {
            self.leave_group(*host_id, liveness).await?;
            count += 1;
        }
        Ok(count)
    }

    /// Asks the leader (this node, or the one it names) to take `host_id` out of the
    /// group's membership, until done or `COMMIT_TIMEOUT`.
    async fn leave_group(
        &self,
        host_id: Uuid,
        liveness: &(dyn Fn(Uuid) -> Option<bool> + Sync),
    ) -> CqlResult<()> {
        let deadline = Instant::now() + COMMIT_TIMEOUT;
        loop {
            let reply = match self.raft.current_leader().await {
                Some(leader) if leader == self.id => {
                    let _serial = self.membership_changes.lock().await;
                    expel(&self.raft, node_id(host_id)).await
                }
                Some(leader) => match self.address_unless_down(leader, liveness) {
                    Some(address) => network::call(
                        &self.messaging,
                        address,
                        Verb::MetadataRemove,
                        &host_id,
                        deadline,
                    )
                    .await
                    .unwrap_or(MembershipReply::NotLeader(None)),
                    None => MembershipReply::NotLeader(None),
                },
                None => MembershipReply::NotLeader(None),
            };
            match reply {
                MembershipReply::Done => return Ok(()),
                MembershipReply::Failed(e) => {
                    return Err(CqlError::Server(format!(
                        "cannot remove the node from the metadata group: {e}"
                    )))
                }
                MembershipReply::NotLeader(_) if Instant::now() >= deadline => {
                    return Err(CqlError::Server(format!(
                        "cannot remove the node from the metadata group: no metadata leader reachable within {} s",
                        COMMIT_TIMEOUT.as_secs()
                    )))
                }
                MembershipReply::NotLeader(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await
                }
            }
        }
    }

    /// The members of the group, by host id, and whether each votes.
    pub fn members(&self) -> Vec<(MetaNode, bool)> {
        let metrics = self.raft.metrics();
        let metrics = metrics.borrow();
        let membership = metrics.membership_config.membership();
        let voters: BTreeSet<NodeId> = membership.voter_ids().collect();
        membership
            .nodes()
            .map(|(id, node)| (node.clone(), voters.contains(id)))
            .collect()
    }
}

/// Opens storage under `dir` and starts a Raft node on `network`; also returns its id.
async fn start_raft<N: openraft::network::RaftNetworkFactory<TypeConfig>>(
    dir: &Path,
    me: &MetaNode,
    store: Arc<SchemaStore>,
    engine: Arc<Engine>,
    listener: ChangeListener,
    position: AppliedPosition,
    network: N,
) -> anyhow::Result<(MetaRaft, NodeId)> {
    let id = node_id(me.host_id);
    let log = LogStore::open(dir)?;
    let state_machine = StateMachine::open(store, engine, me.host_id, dir, listener, position)?;
    let raft = Raft::new(id, Arc::new(raft_config()?), network, log, state_machine).await?;
    Ok((raft, id))
}

/// The command for `writes` validated against `base`, proposed by `origin`.
fn command(origin: Uuid, base: &Catalog, writes: Vec<SchemaWrite>) -> SchemaCommand {
    let writes = writes
        .into_iter()
        .map(|write| {
            let mut probe = write.clone();
            let branch = state_machine::branch_mut(&mut probe).copied();
            let fresh_branch =
                branch.is_some() && state_machine::existing_branch(base, &write) != branch;
            ReplicatedWrite {
                write,
                fresh_branch,
            }
        })
        .collect();
    SchemaCommand {
        origin,
        base: base.version,
        writes,
    }
}

/// The branches a command's proposer created for it.
fn fresh_branches(command: &SchemaCommand) -> Vec<strata_engine::VersionId> {
    command
        .writes
        .iter()
        .filter(|w| w.fresh_branch)
        .filter_map(|w| state_machine::branch_mut(&mut w.write.clone()).copied())
        .collect()
}

/// Appends `command` on this node if it leads.
async fn propose_here(raft: &MetaRaft, command: SchemaCommand) -> ProposeReply {
    match raft.client_write(command).await {
        Ok(response) => ProposeReply::Committed {
            index: response.log_id.index,
            outcome: response.data,
        },
        Err(RaftError::APIError(ClientWriteError::ForwardToLeader(_))) => ProposeReply::NotLeader,
        Err(e) => ProposeReply::Failed(e.to_string()),
    }
}

/// What a membership change on this node needs to know: `Err(reply)` when it does not
/// lead (the reply names the leader when known), else whether `id` votes and is a member.
fn membership_of(raft: &MetaRaft, id: NodeId) -> Result<(bool, bool), MembershipReply> {
    let metrics = raft.metrics();
    let metrics = metrics.borrow();
    let membership = metrics.membership_config.membership();
    if metrics.current_leader != Some(metrics.id) {
        return Err(MembershipReply::NotLeader(
            metrics
                .current_leader
                .and_then(|l| membership.get_node(&l))
                .map(|n| n.addr.clone()),
        ));
    }
    Ok((
        membership.voter_ids().any(|v| v == id),
        membership.get_node(&id).is_some(),
    ))
}

/// Runs a membership change on the leader, bounded by `JOIN_TIMEOUT`, as a reply.
async fn change_membership(
    what: &str,
    change: impl std::future::Future<
        Output = Result<(), RaftError<NodeId, ClientWriteError<NodeId, MetaNode>>>,
    >,
) -> MembershipReply {
    match tokio::time::timeout(JOIN_TIMEOUT, change).await {
        Ok(Ok(())) => {
            tracing::info!("{what}");
            MembershipReply::Done
        }
        Ok(Err(e)) => match e.forward_to_leader::<MetaNode>() {
            Some(forward) => {
                MembershipReply::NotLeader(forward.leader_node.as_ref().map(|n| n.addr.clone()))
            }
            None => MembershipReply::Failed(e.to_string()),
        },
        Err(_) => MembershipReply::Failed(format!("{what}: not done within {JOIN_TIMEOUT:?}")),
    }
}

/// On the leader: adds `node` as a learner (it catches up), then as a voter.
async fn admit(raft: &MetaRaft, node: MetaNode) -> MembershipReply {
    let id = node_id(node.host_id);
    match membership_of(raft, id) {
        Err(reply) => return reply,
        Ok((true, _)) => return MembershipReply::Done,
        Ok(_) => {}
    }
    let changes = async {
        raft.add_learner(id, node.clone(), true).await?;
        raft.change_membership(ChangeMembers::AddVoterIds(BTreeSet::from([id])), false)
            .await?;
        Ok(())
    };
    let what = format!("node {id} at {} added to the metadata group", node.addr);
    change_membership(&what, changes).await
}

/// On the leader: takes node `id` out of the membership (a voter, or a learner that never
/// became one); done at once when it is not a member.
async fn expel(raft: &MetaRaft, id: NodeId) -> MembershipReply {
    let change = match membership_of(raft, id) {
        Err(reply) => return reply,
        Ok((true, _)) => ChangeMembers::RemoveVoters(BTreeSet::from([id])),
        Ok((false, true)) => ChangeMembers::RemoveNodes(BTreeSet::from([id])),
        Ok((false, false)) => return MembershipReply::Done,
    };
    let what = format!("node {id} removed from the metadata group");
    change_membership(&what, async {
        raft.change_membership(change, false).await.map(|_| ())
    })
    .await
}

/// Asks the seeds (then the leader they name) to admit this node, until it is a voter.
async fn join(raft: MetaRaft, messaging: Messaging, me: MetaNode, seeds: Vec<SocketAddr>) {
    let id = node_id(me.host_id);
    let mut hint: Option<SocketAddr> = None;
    for attempt in 1u64.. {
        let member = raft
            .metrics()
            .borrow()
            .membership_config
            .membership()
            .voter_ids()
            .any(|v| v == id);
        if member {
            return;
        }
        let targets: Vec<SocketAddr> = hint
            .take()
            .into_iter()
            .chain(seeds.iter().copied())
            .filter(|a| a.to_string() != me.addr)
            .collect();
        for target in targets {
            let deadline = Instant::now() + JOIN_TIMEOUT + Duration::from_secs(1);
            match network::call(&messaging, target, Verb::MetadataJoin, &me, deadline).await {
                Ok(MembershipReply::Done) => {
                    tracing::info!(via = %target, "joined the metadata group");
                    return;
                }
                Ok(MembershipReply::NotLeader(Some(leader))) => {
                    hint = leader.parse().ok();
                    break;
                }
                Ok(other) => tracing::debug!(via = %target, reply = ?other, "join refused"),
                Err(e) => tracing::debug!(via = %target, error = %e, "join request failed"),
            }
        }
        if attempt % 20 == 0 {
            tracing::warn!(attempt, "not yet a member of the metadata group; retrying");
        }
        tokio::time::sleep(JOIN_RETRY).await;
    }
}
