//! Gossip: liveness and each node's published state, with the `chitchat` crate
//! (Scuttlebutt anti-entropy plus a phi-accrual failure detector) over UDP on the
//! `storage_port` (internode messaging uses TCP on the same port number).
//!
//! Where gossip ends: chitchat decides who is alive and carries each node's short-lived
//! state (`membership::keys`). Everything else is `MembershipState`'s (sans-IO): down
//! nodes stay known and in the ring (chitchat forgets a dead node after its grace
//! period; Strata does not), events are derived from transitions, known peers are
//! persisted so a restart knows the down ones too.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use chitchat::transport::Transport;
use chitchat::{spawn_chitchat, ChitchatConfig, ChitchatHandle, ChitchatId, FailureDetectorConfig};
use uuid::Uuid;

use super::membership::{keys, Changes, MembershipState, NodeEvent, Peer, PeerInfo};
use super::Host;
use crate::schema::NodeRecord;

/// Gossip round period: half of Cassandra's second, so that detection stays well inside
/// the 10 s goal without a hair-trigger threshold (a three-node cluster exchanges a few
/// hundred bytes per round).
const GOSSIP_INTERVAL: Duration = Duration::from_millis(500);
/// chitchat's phi is `elapsed / mean heartbeat interval` (Cassandra's is that times
/// 1/ln 10, so its 8 is about 18 intervals): 10 convicts after about ten rounds without
/// news, about 6 s from a crash to DOWN (measured 8.5 s with 1 s rounds and phi 6).
const PHI_THRESHOLD: f64 = 10.0;
/// How long a stopping node keeps gossiping that it no longer serves CQL: three rounds,
/// each reaching every peer of a small cluster (Cassandra waits 2 s).
const SHUTDOWN_ANNOUNCE: Duration = Duration::from_millis(1500);
/// How often published state (load, schema version) is refreshed and liveness re-read.
const REFRESH_INTERVAL: Duration = Duration::from_millis(500);
/// Key prefix of persisted peers among the node-local records.
const PEER_RECORD_PREFIX: &str = "peers/";

/// This node's view of the cluster, shared by the system tables, nodetool and the
/// coordinator. Peers only; the local node is always up.
#[derive(Default)]
pub struct Membership {
    state: RwLock<MembershipState>,
}

impl Membership {
    pub fn new(state: MembershipState) -> Membership {
        Membership {
            state: RwLock::new(state),
        }
    }

    /// Peers persisted by earlier runs (see `persist`).
    pub fn load_persisted(node_records: Vec<(String, Vec<u8>)>) -> Vec<PeerInfo> {
        node_records
            .into_iter()
            .filter_map(|(_, value)| serde_json::from_slice(&value).ok())
            .collect()
    }

    pub fn peers(&self) -> Vec<Peer> {
        self.read().peers().cloned().collect()
    }

    /// What gossip last said of `host_id`, if it is a known peer.
    pub fn peer(&self, host_id: &Uuid) -> Option<Peer> {
        self.read().peer(host_id).cloned()
    }

    /// Whether `host_id` is up: the local node always is; an unknown node is not.
    pub fn is_alive(&self, local: Uuid, host_id: &Uuid) -> bool {
        self.liveness(local, host_id) == Some(true)
    }

    /// Whether `host_id` is up, `None` for a node gossip has not described yet.
    pub fn liveness(&self, local: Uuid, host_id: &Uuid) -> Option<bool> {
        match *host_id == local {
            true => Some(true),
            false => self.read().peer(host_id).map(|p| p.alive),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, MembershipState> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, MembershipState> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// Node-local record name of a persisted peer.
pub fn peer_record(host_id: &Uuid) -> String {
    format!("{PEER_RECORD_PREFIX}{host_id}")
}

pub fn peer_records_prefix() -> &'static str {
    PEER_RECORD_PREFIX
}

/// The running gossiper of this node.
pub struct Gossip {
    handle: ChitchatHandle,
}

impl Gossip {
    /// Publishes this node's state and starts gossiping with the seeds over `transport`
    /// (chitchat's UDP one, or the simulation's in-memory one).
    pub async fn start(node: Arc<dyn Host>, transport: &dyn Transport) -> anyhow::Result<Gossip> {
        let config = node.config();
        let listen = SocketAddr::new(config.listen_address, config.storage_port);
        let advertise = SocketAddr::new(config.broadcast_address(), config.storage_port);
        let seeds = seed_addresses(&config.seeds, config.storage_port, advertise);
        // The restart count in chitchat's identity: milliseconds, so a node killed and
        // restarted within a second still gets a newer incarnation.
        let id = ChitchatId::new(
            node.host_id().to_string(),
            crate::clock::now_millis() as u64,
            advertise,
        );
        let chitchat_config = chitchat_config(id, config.cluster_name.clone(), listen, seeds);
        let handle = spawn_chitchat(chitchat_config, published_state(&*node, false), transport)
            .await
            .map_err(|e| anyhow::anyhow!("cannot gossip on udp/{listen}: {e}"))?;
        let gossip = Gossip { handle };
        tokio::spawn(watch_loop(node, gossip.handle.chitchat()));
        Ok(gossip)
    }

    /// Announces that this node serves CQL (drivers get `NEW_NODE`/`UP` only after this).
    pub async fn set_rpc_ready(&self, ready: bool) {
        self.handle
            .with_chitchat(|c| c.self_node_state().set(keys::RPC_READY, ready))
            .await;
    }

    /// Stops advertising CQL (peers then send their drivers `DOWN`), announces the
    /// shutdown (`status: shutdown`: peers count the node down at once, so their
    /// coordinators and schema agreement stop waiting for it, rather than when the
    /// failure detector convicts it) and gives gossip `SHUTDOWN_ANNOUNCE` to carry that
    /// before the process exits: Cassandra's drain sets RPC_READY false, announces the
    /// shutdown and waits `shutdown_announce_in_ms`.
    pub async fn announce_stopping(&self) {
        self.handle
            .with_chitchat(|c| {
                let state = c.self_node_state();
                state.set(keys::RPC_READY, false);
                state.set(keys::STATUS, keys::SHUTDOWN);
            })
            .await;
        tokio::time::sleep(SHUTDOWN_ANNOUNCE).await;
    }

    /// The raw gossip state of every node, for `nodetool gossipinfo`.
    pub async fn info(&self) -> String {
        let chitchat = self.handle.chitchat();
        let chitchat = chitchat.lock().await;
        let live: BTreeSet<ChitchatId> = chitchat.live_nodes().cloned().collect();
        let mut out = String::new();
        for (id, state) in chitchat.node_states() {
            out.push_str(&format!("/{}\n", id.gossip_advertise_addr.ip()));
            out.push_str(&format!(
                "  generation:{}\n  heartbeat:{}\n",
                id.generation_id,
                u64::from(state.heartbeat())
            ));
            let status = match (state.get(keys::STATUS), live.contains(id)) {
                (Some(keys::SHUTDOWN), _) => "shutdown",
                (_, true) => "NORMAL",
                (_, false) => "DOWN",
            };
            out.push_str(&format!("  STATUS:{status}\n"));
            for (key, value) in state.key_values().filter(|(k, _)| *k != keys::STATUS) {
                out.push_str(&format!("  {}:{}\n", key.to_uppercase(), value));
            }
        }
        out
    }
}

/// Strata's gossip settings for one incarnation (`id`): shared by the server and the
/// failure-detection simulation, so that the simulation measures what runs.
fn chitchat_config(
    id: ChitchatId,
    cluster_id: String,
    listen: SocketAddr,
    seeds: Vec<String>,
) -> ChitchatConfig {
    ChitchatConfig {
        chitchat_id: id,
        cluster_id,
        gossip_interval: GOSSIP_INTERVAL,
        listen_addr: listen,
        seed_nodes: seeds,
        failure_detector_config: FailureDetectorConfig {
            phi_threshold: PHI_THRESHOLD,
            sampling_window_size: 1000,
            max_interval: Duration::from_secs(10),
            initial_interval: GOSSIP_INTERVAL * 2,
            // chitchat then forgets the dead incarnation; Strata keeps the peer.
            dead_node_grace_period: Duration::from_secs(3600),
        },
        marked_for_deletion_grace_period: Duration::from_secs(3600),
        catchup_callback: None,
        extra_liveness_predicate: None,
        protocol_version: chitchat::ProtocolVersion::V0,
    }
}

/// What gossip says of every node of the ring (`nodes`, from the metadata log) it has
/// described: the newest incarnation of each host (a restarted node has two), with its
/// generation and whether it counts as alive.
fn gossip_view(
    chitchat: &chitchat::Chitchat,
    nodes: &BTreeMap<Uuid, NodeRecord>,
) -> BTreeMap<Uuid, (u64, PeerInfo, bool)> {
    let live: BTreeSet<ChitchatId> = chitchat.live_nodes().cloned().collect();
    let mut newest: BTreeMap<Uuid, (u64, PeerInfo, bool)> = BTreeMap::new();
    for (id, state) in chitchat.node_states() {
        let Some(info) = PeerInfo::from_gossip(nodes, state.key_values()) else {
            continue;
        };
        // A node that announced its shutdown is down although it still gossips.
        let alive = live.contains(id) && state.get(keys::STATUS) != Some(keys::SHUTDOWN);
        if newest
            .get(&info.host_id)
            .is_none_or(|(generation, _, _)| *generation < id.generation_id)
        {
            newest.insert(info.host_id, (id.generation_id, info, alive));
        }
    }
    newest
}

/// Feeds one gossip view to the membership: the changes to apply (ring, persisted peers,
/// driver events), down marks of peers gossip no longer counts alive included.
fn observe_view(
    membership: &mut MembershipState,
    view: BTreeMap<Uuid, (u64, PeerInfo, bool)>,
) -> Changes {
    let alive: BTreeSet<Uuid> = view
        .values()
        .filter(|(_, _, alive)| *alive)
        .map(|(_, info, _)| info.host_id)
        .collect();
    let mut changes = membership.observe(
        view.into_values()
            .map(|(generation, info, alive)| (info, generation, alive)),
    );
    changes.events.extend(membership.mark_down_except(&alive));
    changes
}

/// Seeds as chitchat wants them (`host:port`), without this node itself.
fn seed_addresses(seeds: &[String], port: u16, own: SocketAddr) -> Vec<String> {
    seed_endpoints(seeds, port)
        .into_iter()
        .filter(|seed| *seed != own.to_string())
        .collect()
}

/// The configured seeds as `host:port`, in order (`port` where a seed names none).
pub fn seed_endpoints(seeds: &[String], port: u16) -> Vec<String> {
    seeds
        .iter()
        .map(
            |seed| match (seed.parse::<SocketAddr>(), seed.parse::<IpAddr>()) {
                (Ok(addr), _) => addr.to_string(),
                (_, Ok(ip)) => SocketAddr::new(ip, port).to_string(),
                _ => format!("{seed}:{port}"),
            },
        )
        .collect()
}

/// This node's published key-values.
fn published_state(node: &dyn Host, rpc_ready: bool) -> Vec<(String, String)> {
    let values = [
        (keys::HOST_ID, node.host_id().to_string()),
        (keys::NATIVE_ADDRESS, native_address(node).to_string()),
        (
            keys::RELEASE_VERSION,
            crate::version::RELEASE_VERSION.to_string(),
        ),
        (keys::SCHEMA, node.metadata().applied().1.to_string()),
        (keys::LOAD, node.engine().stats().array_bytes.to_string()),
        (keys::RPC_READY, rpc_ready.to_string()),
        (keys::EPOCH, node.metadata().applied().0.to_string()),
    ];
    values
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

/// The address drivers reach this node's CQL at (Cassandra's broadcast_rpc_address).
pub fn native_address(node: &dyn Host) -> SocketAddr {
    let config = node.config();
    let ip = if config.rpc_address.is_unspecified() {
        config.broadcast_address()
    } else {
        config.rpc_address
    };
    SocketAddr::new(ip, config.native_transport_port)
}

/// Follows gossip: refreshes this node's published state, feeds each view to the
/// membership, and applies the changes (ring, persisted peers, driver events).
async fn watch_loop(node: Arc<dyn Host>, chitchat: Arc<tokio::sync::Mutex<chitchat::Chitchat>>) {
    let mut changed = chitchat.lock().await.live_nodes_watcher();
    let mut tick = tokio::time::interval(REFRESH_INTERVAL);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            result = changed.changed() => if result.is_err() { return },
        }
        follow_topology(&node).await;
        let nodes = node.schema().catalog().nodes.clone();
        let view = {
            let mut chitchat = chitchat.lock().await;
            let state = chitchat.self_node_state();
            state.set(keys::LOAD, node.engine().stats().array_bytes);
            // One consistent pair: the schema version and the log index that produced it.
            let (epoch, version) = node.metadata().applied();
            state.set(keys::SCHEMA, version);
            state.set(keys::EPOCH, epoch);
            gossip_view(&chitchat, &nodes)
        };
        let changes = observe_view(&mut node.membership().write(), view);
        apply(&node, changes).await;
    }
}

/// Brings this node's ring and membership in line with the metadata log: the ring is the
/// log's nodes with their tokens (this node's own included once it joined), peers are
/// learned from it, and removed nodes are forgotten. Run after every applied entry
/// (`cluster::topology::follow`) and every gossip round.
pub async fn follow_topology(node: &Arc<dyn Host>) {
    let catalog = node.schema().catalog();
    node.coordinator()
        .shared_ring()
        .update(|ring| ring.sync(catalog.nodes.values()));
    let changes = node.membership().write().learn(&catalog.nodes);
    apply(node, changes).await;
    forget_removed(node, &catalog).await;
}

/// Forgets the nodes the metadata log says were removed (`nodetool removenode`): out of the
/// membership (gossip's state of them is ignored from now on) and the persisted peers, and
/// drivers get `REMOVED_NODE` (the ring lost them with their records). Every node does this
/// once it applied the removal, a node that was down when it catches up on the log.
async fn forget_removed(node: &Arc<dyn Host>, catalog: &crate::schema::Catalog) {
    if catalog.removed_nodes.is_empty() {
        return;
    }
    let forgotten = node
        .membership()
        .write()
        .remove(catalog.removed_nodes.keys());
    if forgotten.is_empty() {
        return;
    }
    let records: Vec<String> = forgotten
        .iter()
        .map(|(info, _)| peer_record(&info.host_id))
        .collect();
    let store = node.clone();
    let deleted = tokio::task::spawn_blocking(move || {
        records
            .iter()
            .try_for_each(|record| store.schema().put_local_record(record, None))
            .map_err(|e| e.to_string())
    })
    .await;
    if let Ok(Err(error)) | Err(error) = deleted.map_err(|e| e.to_string()) {
        tracing::warn!(error, "cannot forget removed peers");
    }
    for (_, event) in forgotten {
        log_event(&event);
        node.publish(event.to_protocol());
    }
}

async fn apply(node: &Arc<dyn Host>, changes: Changes) {
    if !changes.persist.is_empty() {
        let node = node.clone();
        let persist = changes.persist;
        let stored = tokio::task::spawn_blocking(move || {
            for info in persist {
                let value = serde_json::to_vec(&info).map_err(|e| e.to_string())?;
                node.schema()
                    .put_local_record(&peer_record(&info.host_id), value)
                    .map_err(|e| e.to_string())?;
            }
            Ok::<_, String>(())
        })
        .await;
        if let Ok(Err(error)) | Err(error) = stored.map_err(|e| e.to_string()) {
            tracing::warn!(error, "cannot persist peers");
        }
    }
    for event in changes.events {
        log_event(&event);
        node.publish(event.to_protocol());
    }
}

fn log_event(event: &NodeEvent) {
    match event {
        NodeEvent::NewNode(a) => tracing::info!("Node /{} is now part of the cluster", a.ip()),
        NodeEvent::Up(a) => tracing::info!("InetAddress /{} is now UP", a.ip()),
        NodeEvent::Down(a) => tracing::info!("InetAddress /{} is now DOWN", a.ip()),
        NodeEvent::RemovedNode(a) => tracing::info!("Removing node /{}", a.ip()),
    }
}

#[cfg(test)]
pub(crate) mod sim;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_get_the_storage_port_and_skip_this_node() {
        let own: SocketAddr = "127.0.0.1:7000".parse().unwrap();
        let seeds = ["127.0.0.1", "127.0.0.2", "127.0.0.3:7001", "seed.example"].map(String::from);
        assert_eq!(
            seed_addresses(&seeds, 7000, own),
            vec!["127.0.0.2:7000", "127.0.0.3:7001", "seed.example:7000"]
        );
    }
}
