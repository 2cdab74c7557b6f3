//! Membership: what this node knows about every other node, whether it is up, and which
//! driver events a change of that knowledge causes.
//!
//! Sans-IO: `MembershipState::observe` takes a view of gossip (each node's published
//! state and the failure detector's verdict) and returns the changes to apply: peers to
//! persist and events. `learn` takes the nodes of the ring from the metadata log, where
//! each node's location and tokens live; gossip carries only what is ephemeral. The gossip
//! task (`cluster::gossip`) does the IO.
//!
//! Invariants:
//! - A peer is known once the metadata log has it in the ring (`NodeRecord`), and stays
//!   known while it is down, until removed (`nodetool removenode`, through the metadata
//!   log); a removed node is never known again, whatever gossip still carries of it. Its
//!   location and tokens are the log's, never gossip's.
//! - `STATUS_CHANGE` events are deduplicated: `UP` only on a down-to-up transition, `DOWN`
//!   only on up-to-down. As in Cassandra (`StorageService.onDead`, `onRestart`,
//!   `notifyRpcChange`), a peer goes down for drivers when the failure detector convicts
//!   it, when it stops serving CQL (a drain), and when a new incarnation of it appears
//!   before it was convicted (a quick restart): each of those is one `DOWN`, and `UP`
//!   follows once it serves CQL again.
//! - `NEW_NODE` is sent once per newly seen node, and only once it serves CQL
//!   (`rpc_ready`), as Cassandra holds it back (CASSANDRA-11038); a node that comes up
//!   for the first time gets `NEW_NODE`, not `UP`.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::ring::Endpoint;
use crate::schema::NodeRecord;

/// Gossip keys of a node's published state (Cassandra's application states): only what is
/// ephemeral; where a node is and what it owns are in the metadata log.
pub mod keys {
    pub const HOST_ID: &str = "host_id";
    /// `true` once the node serves CQL.
    pub const RPC_READY: &str = "rpc_ready";
    /// Broadcast native (CQL) address, `ip:port`.
    pub const NATIVE_ADDRESS: &str = "native_address";
    /// Bytes of data on disk.
    pub const LOAD: &str = "load";
    pub const SCHEMA: &str = "schema";
    pub const RELEASE_VERSION: &str = "release_version";
    /// The cluster-metadata epoch the node has applied.
    pub const EPOCH: &str = "epoch";
    /// `shutdown` once the node announced a graceful stop (Cassandra's STATUS: shutdown);
    /// absent otherwise. A restart is a new incarnation, which does not carry it.
    pub const STATUS: &str = "status";
    pub const SHUTDOWN: &str = "shutdown";
}

/// What is known of a node: its place in the ring (from the metadata log) and what it
/// last gossiped (persisted for down nodes).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PeerInfo {
    pub host_id: Uuid,
    /// Broadcast (internode) address.
    pub address: IpAddr,
    pub dc: String,
    pub rack: String,
    pub tokens: Vec<i64>,
    pub native_address: SocketAddr,
    pub release_version: String,
    pub schema_version: Option<Uuid>,
    pub load: u64,
    pub rpc_ready: bool,
    pub epoch: u64,
}

impl PeerInfo {
    /// A node of the ring as the metadata log describes it, before gossip says more.
    pub fn from_record(record: &NodeRecord) -> PeerInfo {
        PeerInfo {
            host_id: record.host_id,
            address: record.address,
            dc: record.dc.clone(),
            rack: record.rack.clone(),
            tokens: record.tokens.clone(),
            native_address: record.native_address,
            release_version: String::new(),
            schema_version: None,
            load: 0,
            rpc_ready: false,
            epoch: 0,
        }
    }

    /// Parses a node's gossip key-values, completed by its record in the ring (`nodes`,
    /// from the metadata log); `None` until the node has a host id in gossip and a place
    /// in the ring.
    pub fn from_gossip<'a>(
        nodes: &BTreeMap<Uuid, NodeRecord>,
        values: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Option<PeerInfo> {
        let values: BTreeMap<&str, &str> = values.into_iter().collect();
        let get = |key: &str| values.get(key).copied();
        let host_id: Uuid = get(keys::HOST_ID)?.parse().ok()?;
        let record = nodes.get(&host_id)?;
        Some(PeerInfo {
            native_address: get(keys::NATIVE_ADDRESS)
                .and_then(|a| a.parse().ok())
                .unwrap_or(record.native_address),
            release_version: get(keys::RELEASE_VERSION).unwrap_or_default().to_string(),
            schema_version: get(keys::SCHEMA).and_then(|s| s.parse().ok()),
            load: get(keys::LOAD).and_then(|s| s.parse().ok()).unwrap_or(0),
            rpc_ready: get(keys::RPC_READY) == Some("true"),
            epoch: get(keys::EPOCH).and_then(|s| s.parse().ok()).unwrap_or(0),
            ..PeerInfo::from_record(record)
        })
    }

    pub fn endpoint(&self) -> Endpoint {
        Endpoint {
            host_id: self.host_id,
            address: self.address,
            dc: self.dc.clone(),
            rack: self.rack.clone(),
            tokens: self.tokens.clone(),
        }
    }

    /// Whether `record` says something else of the node's place in the ring.
    fn differs_from(&self, record: &NodeRecord) -> bool {
        (self.address, &self.dc, &self.rack, &self.tokens)
            != (record.address, &record.dc, &record.rack, &record.tokens)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Peer {
    pub info: PeerInfo,
    pub alive: bool,
    /// `NEW_NODE` was sent (or the node was known before this process started).
    announced: bool,
    /// The incarnation last seen (gossip's generation: the process's start time).
    generation: u64,
    /// What the last `STATUS_CHANGE` said (`None`: none sent), so each is sent once.
    told_up: Option<bool>,
}

impl Peer {
    /// The `UP` or `DOWN` event for `up`, unless drivers were already told so.
    fn tell(&mut self, up: bool, events: &mut Vec<NodeEvent>) {
        if self.told_up != Some(up) {
            self.told_up = Some(up);
            let native = self.info.native_address;
            events.push(if up {
                NodeEvent::Up(native)
            } else {
                NodeEvent::Down(native)
            });
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeEvent {
    NewNode(SocketAddr),
    RemovedNode(SocketAddr),
    Up(SocketAddr),
    Down(SocketAddr),
}

impl NodeEvent {
    pub fn to_protocol(&self) -> strata_protocol::Event {
        use strata_protocol::Event;
        let (topology, change, address) = match self {
            NodeEvent::NewNode(a) => (true, "NEW_NODE", *a),
            NodeEvent::RemovedNode(a) => (true, "REMOVED_NODE", *a),
            NodeEvent::Up(a) => (false, "UP", *a),
            NodeEvent::Down(a) => (false, "DOWN", *a),
        };
        if topology {
            Event::TopologyChange {
                change: change.into(),
                address,
            }
        } else {
            Event::StatusChange {
                change: change.into(),
                address,
            }
        }
    }
}

/// The effects of one observation, for the IO side to apply.
#[derive(Debug, Default, PartialEq)]
pub struct Changes {
    /// Peers whose persisted record changed.
    pub persist: Vec<PeerInfo>,
    pub events: Vec<NodeEvent>,
}

/// Every other node this node knows of.
#[derive(Debug, Default)]
pub struct MembershipState {
    local: Uuid,
    peers: BTreeMap<Uuid, Peer>,
    /// Nodes removed from the cluster (`nodetool removenode`, from the metadata log):
    /// never known again, whatever gossip still says of them.
    removed: std::collections::BTreeSet<Uuid>,
}

impl MembershipState {
    /// Starts from the peers persisted by an earlier run: known, down until heard from,
    /// and already announced to drivers (which learn them from `system.peers`).
    pub fn new(local: Uuid, persisted: Vec<PeerInfo>) -> MembershipState {
        let peers = persisted
            .into_iter()
            .filter(|p| p.host_id != local)
            .map(|info| {
                (
                    info.host_id,
                    Peer {
                        info,
                        alive: false,
                        announced: true,
                        generation: 0,
                        // Never told up by this process: its first sight of it is an UP.
                        told_up: Some(false),
                    },
                )
            })
            .collect();
        MembershipState {
            local,
            peers,
            removed: Default::default(),
        }
    }

    pub fn peers(&self) -> impl Iterator<Item = &Peer> {
        self.peers.values()
    }

    pub fn peer(&self, host_id: &Uuid) -> Option<&Peer> {
        self.peers.get(host_id)
    }

    /// Applies one gossip view: `(state, generation, alive)` for each node gossip knows.
    /// Nodes absent from the view keep their last state; a node with several incarnations
    /// in the view (a restart) must be given once, by its newest one.
    pub fn observe(&mut self, view: impl IntoIterator<Item = (PeerInfo, u64, bool)>) -> Changes {
        let mut changes = Changes::default();
        for (info, generation, alive) in view {
            if info.host_id == self.local || self.removed.contains(&info.host_id) {
                continue;
            }
            let ready = alive && info.rpc_ready;
            match self.peers.get_mut(&info.host_id) {
                None => {
                    if ready {
                        changes.events.push(NodeEvent::NewNode(info.native_address));
                    }
                    changes.persist.push(info.clone());
                    self.peers.insert(
                        info.host_id,
                        Peer {
                            info,
                            alive,
                            announced: ready,
                            generation,
                            told_up: ready.then_some(true),
                        },
                    );
                }
                Some(peer) => {
                    let restarted = generation > peer.generation && peer.generation != 0;
                    let stopped_serving = alive && peer.info.rpc_ready && !info.rpc_ready;
                    if peer.alive && (!alive || restarted || stopped_serving) {
                        // Told with the address drivers knew it by.
                        peer.tell(false, &mut changes.events);
                    }
                    if persisted_fields(&info) != persisted_fields(&peer.info) {
                        changes.persist.push(info.clone());
                    }
                    peer.alive = alive;
                    peer.info = info;
                    peer.generation = generation;
                    if ready && !peer.announced {
                        changes
                            .events
                            .push(NodeEvent::NewNode(peer.info.native_address));
                        peer.announced = true;
                        peer.told_up = Some(true);
                    } else if ready {
                        peer.tell(true, &mut changes.events);
                    }
                }
            }
        }
        changes
    }

    /// Learns the nodes of the ring from the metadata log (`nodes`, this node's own record
    /// included): a node not yet gossiped about becomes a known, down peer (drivers get
    /// `NEW_NODE` once it serves CQL), a known one takes the log's address, location and
    /// tokens. Removed nodes are not in `nodes` (see `remove`).
    pub fn learn(&mut self, nodes: &BTreeMap<Uuid, NodeRecord>) -> Changes {
        let mut changes = Changes::default();
        for record in nodes.values() {
            if record.host_id == self.local || self.removed.contains(&record.host_id) {
                continue;
            }
            match self.peers.get_mut(&record.host_id) {
                None => {
                    let info = PeerInfo::from_record(record);
                    changes.persist.push(info.clone());
                    self.peers.insert(
                        record.host_id,
                        Peer {
                            info,
                            alive: false,
                            announced: false,
                            generation: 0,
                            told_up: None,
                        },
                    );
                }
                Some(peer) if peer.info.differs_from(record) => {
                    peer.info = PeerInfo {
                        address: record.address,
                        dc: record.dc.clone(),
                        rack: record.rack.clone(),
                        tokens: record.tokens.clone(),
                        ..peer.info.clone()
                    };
                    changes.persist.push(peer.info.clone());
                }
                Some(_) => {}
            }
        }
        changes
    }

    /// Marks every known peer not in `alive` as down (the failure detector convicted it or
    /// gossip forgot it), returning the `DOWN` events.
    pub fn mark_down_except(&mut self, alive: &std::collections::BTreeSet<Uuid>) -> Vec<NodeEvent> {
        let mut events = Vec::new();
        for peer in self.peers.values_mut() {
            if peer.alive && !alive.contains(&peer.info.host_id) {
                peer.alive = false;
                peer.tell(false, &mut events);
            }
        }
        events
    }

    /// Forgets every peer in `removed` (`nodetool removenode`, as the metadata log says)
    /// and ignores them from now on; returns those it knew, with their `REMOVED_NODE`
    /// events. The caller removes them from the ring and the persisted peers.
    pub fn remove<'a>(
        &mut self,
        removed: impl IntoIterator<Item = &'a Uuid>,
    ) -> Vec<(PeerInfo, NodeEvent)> {
        let mut forgotten = Vec::new();
        for host_id in removed {
            if !self.removed.insert(*host_id) {
                continue;
            }
            if let Some(peer) = self.peers.remove(host_id) {
                let event = NodeEvent::RemovedNode(peer.info.native_address);
                forgotten.push((peer.info, event));
            }
        }
        forgotten
    }
}

/// The fields worth persisting: not the load or liveness flags, which change constantly.
fn persisted_fields(info: &PeerInfo) -> (Endpoint, SocketAddr, &str, Option<Uuid>) {
    (
        info.endpoint(),
        info.native_address,
        &info.release_version,
        info.schema_version,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(n: u8, ready: bool) -> PeerInfo {
        PeerInfo {
            host_id: Uuid::from_u128(u128::from(n)),
            address: [127, 0, 0, n].into(),
            dc: "dc".into(),
            rack: "r".into(),
            tokens: vec![i64::from(n)],
            native_address: SocketAddr::new([127, 0, 0, n].into(), 9042),
            release_version: "5.0.0".into(),
            schema_version: None,
            load: 0,
            rpc_ready: ready,
            epoch: 0,
        }
    }

    fn native(n: u8) -> SocketAddr {
        SocketAddr::new([127, 0, 0, n].into(), 9042)
    }

    fn record(n: u8) -> NodeRecord {
        NodeRecord {
            host_id: Uuid::from_u128(u128::from(n)),
            address: [127, 0, 0, n].into(),
            native_address: native(n),
            dc: "dc".into(),
            rack: "r".into(),
            tokens: vec![i64::from(n)],
        }
    }

    #[test]
    fn parses_gossip_state_completed_by_the_ring() {
        let values = [
            (keys::HOST_ID, "00000000-0000-0000-0000-000000000002"),
            (keys::NATIVE_ADDRESS, "127.0.0.2:9042"),
            (keys::RELEASE_VERSION, "5.0.0"),
            (keys::RPC_READY, "true"),
        ];
        let nodes = BTreeMap::from([(Uuid::from_u128(2), record(2))]);
        assert_eq!(PeerInfo::from_gossip(&nodes, values), Some(info(2, true)));
        assert_eq!(
            PeerInfo::from_gossip(&BTreeMap::new(), values),
            None,
            "not in the ring yet"
        );
        assert_eq!(
            PeerInfo::from_gossip(&nodes, [(keys::RPC_READY, "true")]),
            None,
            "no host id yet"
        );
    }

    #[test]
    fn nodes_of_the_ring_are_known_down_until_gossip_says_more() {
        let mut state = MembershipState::new(Uuid::from_u128(1), Vec::new());
        let nodes = BTreeMap::from([
            (Uuid::from_u128(1), record(1)),
            (Uuid::from_u128(2), record(2)),
        ]);
        let changes = state.learn(&nodes);
        assert_eq!(changes.persist, vec![PeerInfo::from_record(&record(2))]);
        assert!(changes.events.is_empty());
        let peer = state.peer(&Uuid::from_u128(2)).unwrap();
        assert!(!peer.alive && peer.info.tokens == vec![2]);
        assert_eq!(state.learn(&nodes), Changes::default(), "nothing new");
        // Gossip: up and serving, a new node for drivers.
        assert_eq!(
            state.observe([(info(2, true), 1, true)]).events,
            vec![NodeEvent::NewNode(native(2))]
        );
        // The log moves it (a restart at another address): gossip's state is kept.
        let mut moved = record(2);
        moved.address = [127, 0, 0, 9].into();
        let changes = state.learn(&BTreeMap::from([(moved.host_id, moved)]));
        assert_eq!(changes.persist.len(), 1);
        let peer = state.peer(&Uuid::from_u128(2)).unwrap();
        assert_eq!(peer.info.address, IpAddr::from([127, 0, 0, 9]));
        assert!(peer.alive && peer.info.rpc_ready);
        // A removed node is not learned back from the log.
        state.remove(&[Uuid::from_u128(2)]);
        assert_eq!(state.learn(&nodes), Changes::default());
    }

    #[test]
    fn new_node_waits_for_rpc_ready_then_status_changes_are_deduplicated() {
        let mut state = MembershipState::new(Uuid::from_u128(1), Vec::new());
        let first = state.observe([(info(2, false), 1, true)]);
        assert_eq!(first.events, vec![]);
        assert_eq!(
            state.observe([(info(2, true), 1, true)]).events,
            vec![NodeEvent::NewNode(native(2))]
        );
        assert_eq!(
            state.observe([(info(2, true), 1, true)]).events,
            vec![],
            "nothing changed"
        );
        assert_eq!(
            state.observe([(info(2, true), 1, false)]).events,
            vec![NodeEvent::Down(native(2))]
        );
        assert_eq!(
            state.observe([(info(2, true), 1, false)]).events,
            vec![],
            "DOWN once"
        );
        assert!(
            state.peer(&Uuid::from_u128(2)).is_some(),
            "a down node stays known"
        );
        // A restart: the new incarnation first gossips without serving CQL, then ready.
        assert_eq!(state.observe([(info(2, false), 2, true)]).events, vec![]);
        assert_eq!(
            state.observe([(info(2, true), 2, true)]).events,
            vec![NodeEvent::Up(native(2))]
        );
        assert_eq!(
            state.mark_down_except(&Default::default()),
            vec![NodeEvent::Down(native(2))]
        );
        let removed = state.remove(&[Uuid::from_u128(2)]);
        assert_eq!(
            removed,
            vec![(info(2, true), NodeEvent::RemovedNode(native(2)))]
        );
        assert!(
            state.remove(&[Uuid::from_u128(2)]).is_empty(),
            "removed once"
        );
    }

    #[test]
    fn a_removed_node_is_never_known_again() {
        let mut state = MembershipState::new(Uuid::from_u128(1), vec![info(2, true)]);
        state.observe([(info(3, true), 1, true)]);
        let removed = state.remove(&[Uuid::from_u128(2), Uuid::from_u128(4)]);
        assert_eq!(removed.len(), 1, "only known peers are announced");
        // Gossip keeps a dead node's state for an hour; seeing it again changes nothing.
        let changes = state.observe([(info(2, true), 7, true), (info(3, true), 1, true)]);
        assert_eq!(changes, Changes::default());
        assert!(state.peer(&Uuid::from_u128(2)).is_none());
        assert_eq!(state.peers().count(), 1);
        // Removed before it was ever seen (a node catching up on the log): never added.
        assert_eq!(
            state.observe([(info(4, true), 1, true)]),
            Changes::default()
        );
    }

    #[test]
    fn a_restart_before_conviction_and_a_drain_are_each_one_down_then_up() {
        let mut state = MembershipState::new(Uuid::from_u128(1), Vec::new());
        state.observe([(info(2, true), 1, true)]);
        // A new incarnation while the old one was never convicted (`docker stop; start`
        // within the failure detector's delay): Cassandra's onRestart, a DOWN.
        assert_eq!(
            state.observe([(info(2, false), 2, true)]).events,
            vec![NodeEvent::Down(native(2))]
        );
        assert_eq!(
            state.observe([(info(2, true), 2, true)]).events,
            vec![NodeEvent::Up(native(2))]
        );
        // Seen again already serving: DOWN and UP in the one observation.
        assert_eq!(
            state.observe([(info(2, true), 3, true)]).events,
            vec![NodeEvent::Down(native(2)), NodeEvent::Up(native(2))]
        );
        // A drain: still gossiping, no longer serving CQL; then convicted, no second DOWN.
        assert_eq!(
            state.observe([(info(2, false), 3, true)]).events,
            vec![NodeEvent::Down(native(2))]
        );
        assert_eq!(state.observe([(info(2, false), 3, false)]).events, vec![]);
        assert_eq!(state.mark_down_except(&Default::default()), vec![]);
        assert_eq!(
            state.observe([(info(2, true), 4, true)]).events,
            vec![NodeEvent::Up(native(2))]
        );
    }

    #[test]
    fn persisted_peers_come_back_up_not_new() {
        let mut state =
            MembershipState::new(Uuid::from_u128(1), vec![info(2, true), info(1, true)]);
        assert_eq!(
            state.peers().count(),
            1,
            "the local node is not its own peer"
        );
        let changes = state.observe([(info(2, true), 1, true), (info(1, true), 1, true)]);
        assert_eq!(changes.events, vec![NodeEvent::Up(native(2))]);
        assert!(changes.persist.is_empty());
    }
}
