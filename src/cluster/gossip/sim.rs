//! A seeded simulation of failure detection: several chitchat instances with Strata's gossip
//! settings (`chitchat_config`) in one process, over an in-memory network that loses, delays
//! and partitions messages. Each node's view goes through `gossip_view` and `observe_view`
//! into its own `MembershipState`, as `watch_loop` does, and the driver events that come out
//! are recorded with the time. Time is tokio's paused clock, so minutes of gossip take
//! seconds.
//!
//! Asserts: no false DOWN in ten minutes under loss and delay; a crashed node is DOWN on
//! every survivor within the 10 s goal; both sides of a partition see the other DOWN, and
//! UP again once it heals.
//!
//! The fault schedule comes from the printed seed (`STRATA_GOSSIP_SIM_SEED` replays one);
//! chitchat picks its gossip targets with its own unseeded generator, so a replay repeats
//! the schedule, not every interleaving.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chitchat::transport::{RecvOutcome, SendOutcome, Socket, Transport};
use chitchat::ChitchatEnvelope;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::*;
use crate::test_rng::{seed_from_env, LinkFaults};

/// Who can reach whom, and how lossy and slow the links are.
struct NetState {
    inboxes: HashMap<SocketAddr, mpsc::Sender<RecvOutcome>>,
    faults: LinkFaults,
}

/// Also the whole-node simulation's gossip network (`crate::sim`).
#[derive(Clone)]
pub(crate) struct Net(Arc<Mutex<NetState>>);

impl Net {
    pub(crate) fn new(seed: u64, loss_percent: u64, max_delay_ms: u64) -> Net {
        Net(Arc::new(Mutex::new(NetState {
            inboxes: HashMap::new(),
            faults: LinkFaults::new(seed, loss_percent, max_delay_ms),
        })))
    }

    fn state(&self) -> std::sync::MutexGuard<'_, NetState> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sets the loss rate (0: no loss).
    pub(crate) fn set_loss(&self, loss_percent: u64) {
        self.state().faults.loss_percent = loss_percent;
    }

    /// Cuts (or heals) every link between `a` and `b`, both directions.
    pub(crate) fn partition(&self, a: &[SocketAddr], b: &[SocketAddr], cut: bool) {
        self.state().faults.partition(a, b, cut);
    }
}

#[async_trait]
impl Transport for Net {
    async fn open(&self, listen_addr: SocketAddr) -> anyhow::Result<Box<dyn Socket>> {
        let (sender, inbox) = mpsc::channel(1024);
        self.state().inboxes.insert(listen_addr, sender);
        Ok(Box::new(SimSocket {
            addr: listen_addr,
            net: self.clone(),
            inbox,
        }))
    }
}

struct SimSocket {
    addr: SocketAddr,
    net: Net,
    inbox: mpsc::Receiver<RecvOutcome>,
}

#[async_trait]
impl Socket for SimSocket {
    fn local_addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.addr)
    }

    async fn send(
        &mut self,
        to: SocketAddr,
        envelope: ChitchatEnvelope,
    ) -> anyhow::Result<SendOutcome> {
        let outcome = SendOutcome { num_bytes_sent: 0 };
        let (inbox, delay) = {
            let mut state = self.net.state();
            let Some(delay) = state.faults.decide(self.addr, to) else {
                return Ok(outcome);
            };
            (state.inboxes.get(&to).cloned(), delay)
        };
        // A crashed node has no inbox: the datagram is lost, as UDP to a dead host is.
        if let Some(inbox) = inbox {
            let from_addr = self.addr;
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                let _ = inbox.try_send(RecvOutcome {
                    from_addr,
                    envelope,
                    num_bytes_received: 0,
                });
            });
        }
        Ok(outcome)
    }

    async fn recv(&mut self) -> anyhow::Result<RecvOutcome> {
        self.inbox
            .recv()
            .await
            .ok_or_else(|| anyhow::anyhow!("simulated network closed"))
    }
}

impl Drop for SimSocket {
    fn drop(&mut self) {
        self.net.state().inboxes.remove(&self.addr);
    }
}

/// One simulated node: its gossiper and the membership its views feed.
struct SimNode {
    host_id: Uuid,
    addr: SocketAddr,
    handle: Option<ChitchatHandle>,
    membership: MembershipState,
}

/// A driver event seen by `observer` at `at` (seconds since the cluster started).
#[derive(Debug)]
struct Seen {
    at: f64,
    observer: usize,
    event: NodeEvent,
}

struct Cluster {
    net: Net,
    nodes: Vec<SimNode>,
    /// The ring as the metadata log would hold it: gossip only describes its nodes.
    ring: BTreeMap<Uuid, NodeRecord>,
    started: Instant,
    events: Vec<Seen>,
}

impl Cluster {
    /// `n` nodes, node 0 the seed of every other.
    async fn start(n: usize, net: Net) -> Cluster {
        let seed_addr: SocketAddr = "10.0.0.1:7000".parse().unwrap();
        let mut nodes = Vec::new();
        let mut ring = BTreeMap::new();
        for i in 0..n {
            let addr = SocketAddr::new(IpAddr::from([10, 0, 0, i as u8 + 1]), 7000);
            let host_id = Uuid::from_u128(i as u128 + 1);
            let seeds = match addr == seed_addr {
                true => Vec::new(),
                false => vec![seed_addr.to_string()],
            };
            let id = ChitchatId::new(host_id.to_string(), 1, addr);
            let config = chitchat_config(id, "sim".to_string(), addr, seeds);
            let state = [
                (keys::HOST_ID, host_id.to_string()),
                (
                    keys::NATIVE_ADDRESS,
                    SocketAddr::new(addr.ip(), 9042).to_string(),
                ),
                (keys::RPC_READY, "true".to_string()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
            ring.insert(
                host_id,
                NodeRecord {
                    host_id,
                    address: addr.ip(),
                    native_address: SocketAddr::new(addr.ip(), 9042),
                    dc: "dc1".to_string(),
                    rack: "rack1".to_string(),
                    tokens: vec![i as i64],
                },
            );
            let handle = spawn_chitchat(config, state, &net).await.unwrap();
            nodes.push(SimNode {
                host_id,
                addr,
                handle: Some(handle),
                membership: MembershipState::new(host_id, Vec::new()),
            });
        }
        Cluster {
            net,
            nodes,
            ring,
            started: Instant::now(),
            events: Vec::new(),
        }
    }

    /// Runs `duration` of gossip, feeding every running node's view to its membership every
    /// `REFRESH_INTERVAL`, as `watch_loop` does.
    async fn run(&mut self, duration: Duration) {
        let until = Instant::now() + duration;
        while Instant::now() < until {
            tokio::time::sleep(REFRESH_INTERVAL).await;
            let at = self.started.elapsed().as_secs_f64();
            for (observer, node) in self.nodes.iter_mut().enumerate() {
                let Some(handle) = &node.handle else { continue };
                let view = gossip_view(&*handle.chitchat().lock().await, &self.ring);
                let changes = observe_view(&mut node.membership, view);
                self.events
                    .extend(changes.events.into_iter().map(|event| Seen {
                        at,
                        observer,
                        event,
                    }));
            }
        }
    }

    /// Gossips until every running node counts every other running node up (at most 30 s).
    async fn converge(&mut self) -> f64 {
        let running: BTreeSet<Uuid> = self
            .nodes
            .iter()
            .filter(|n| n.handle.is_some())
            .map(|n| n.host_id)
            .collect();
        for _ in 0..60 {
            self.run(REFRESH_INTERVAL).await;
            let agreed = self.nodes.iter().filter(|n| n.handle.is_some()).all(|n| {
                let up: BTreeSet<Uuid> = n
                    .membership
                    .peers()
                    .filter(|p| p.alive)
                    .map(|p| p.info.host_id)
                    .chain([n.host_id])
                    .collect();
                up == running
            });
            if agreed {
                return self.started.elapsed().as_secs_f64();
            }
        }
        panic!("no agreement on who is up within 30 s: {:?}", self.events);
    }

    /// Kills node `i`'s gossiper at once (its socket and inbox go; nothing is announced).
    fn crash(&mut self, i: usize) -> f64 {
        if let Some(handle) = self.nodes[i].handle.take() {
            handle.abort();
            drop(handle);
        }
        self.net.state().inboxes.remove(&self.nodes[i].addr);
        self.started.elapsed().as_secs_f64()
    }

    fn downs_since(&self, since: f64) -> Vec<&Seen> {
        self.events
            .iter()
            .filter(|s| s.at >= since && matches!(s.event, NodeEvent::Down(_)))
            .collect()
    }

    /// When observer `o` first saw `addr` DOWN at or after `since`.
    fn first_down(&self, since: f64, o: usize, addr: SocketAddr) -> Option<f64> {
        self.events
            .iter()
            .find(|s| {
                s.at >= since
                    && s.observer == o
                    && matches!(s.event, NodeEvent::Down(a) if a.ip() == addr.ip())
            })
            .map(|s| s.at - since)
    }

    fn net_counts(&self) -> (u64, u64) {
        let state = self.net.state();
        (state.faults.sent, state.faults.lost)
    }
}

fn seeds(default: &[u64]) -> Vec<u64> {
    match seed_from_env("STRATA_GOSSIP_SIM_SEED", 0) {
        0 => default.to_vec(),
        seed => vec![seed],
    }
}

#[tokio::test(start_paused = true)]
async fn no_false_down_in_ten_minutes_of_lossy_slow_gossip() {
    for seed in seeds(&[0x6055_1901, 0x6055_1902]) {
        let mut cluster = Cluster::start(5, Net::new(seed, 10, 200)).await;
        let converged = cluster.converge().await;
        cluster.run(Duration::from_secs(600)).await;
        let (sent, lost) = cluster.net_counts();
        let downs = cluster.downs_since(converged);
        println!(
            "gossip sim seed {seed:#x}: 5 nodes, 10% loss, 0-200 ms delay: up everywhere after \
             {converged:.1} s; 600 s later {} false DOWN ({sent} datagrams, {lost} lost)",
            downs.len()
        );
        assert!(downs.is_empty(), "seed {seed:#x}: false DOWN: {downs:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_crashed_node_is_down_on_every_survivor_within_ten_seconds() {
    for seed in seeds(&[0x6055_1911, 0x6055_1912, 0x6055_1913]) {
        let mut cluster = Cluster::start(5, Net::new(seed, 5, 50)).await;
        cluster.converge().await;
        // A minute of history, so the detector's interval estimate is the steady one.
        cluster.run(Duration::from_secs(60)).await;
        let victim = 1 + (seed % 4) as usize;
        let addr = cluster.nodes[victim].addr;
        let crashed = cluster.crash(victim);
        cluster.run(Duration::from_secs(20)).await;
        let times: Vec<f64> = (0..5)
            .filter(|o| *o != victim)
            .map(|o| {
                cluster
                    .first_down(crashed, o, addr)
                    .unwrap_or(f64::INFINITY)
            })
            .collect();
        println!(
            "gossip sim seed {seed:#x}: node {victim} crashed; DOWN on the survivors after \
             {times:.1?} s"
        );
        assert!(
            times.iter().all(|t| *t <= 10.0),
            "seed {seed:#x}: DOWN later than 10 s: {times:?}"
        );
        let others: Vec<_> = cluster
            .downs_since(crashed)
            .into_iter()
            .filter(|s| !matches!(s.event, NodeEvent::Down(a) if a.ip() == addr.ip()))
            .collect();
        assert!(
            others.is_empty(),
            "seed {seed:#x}: survivors DOWN: {others:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn both_sides_of_a_partition_see_the_other_down_then_up_when_it_heals() {
    for seed in seeds(&[0x6055_1921, 0x6055_1922]) {
        let mut cluster = Cluster::start(5, Net::new(seed, 5, 50)).await;
        cluster.converge().await;
        cluster.run(Duration::from_secs(30)).await;
        let addrs: Vec<SocketAddr> = cluster.nodes.iter().map(|n| n.addr).collect();
        let (minority, majority) = addrs.split_at(2);
        cluster.net.partition(minority, majority, true);
        let cut = cluster.started.elapsed().as_secs_f64();
        cluster.run(Duration::from_secs(30)).await;
        let mut worst: f64 = 0.0;
        for (o, own) in addrs.iter().enumerate() {
            let other_side = if minority.contains(own) {
                majority
            } else {
                minority
            };
            for addr in other_side {
                let t = cluster.first_down(cut, o, *addr);
                assert!(
                    t.is_some_and(|t| t <= 10.0),
                    "seed {seed:#x}: node {o} saw {addr} DOWN after {t:?} s"
                );
                worst = worst.max(t.unwrap_or(f64::INFINITY));
            }
            let same_side = if minority.contains(own) {
                minority
            } else {
                majority
            };
            for addr in same_side.iter().filter(|a| *a != own) {
                assert_eq!(
                    cluster.first_down(cut, o, *addr),
                    None,
                    "seed {seed:#x}: node {o} saw {addr} on its own side DOWN"
                );
            }
        }
        cluster.net.partition(minority, majority, false);
        let healed = cluster.started.elapsed().as_secs_f64();
        let agreed = cluster.converge().await;
        println!(
            "gossip sim seed {seed:#x}: partition 2|3: the other side DOWN everywhere within \
             {worst:.1} s; after healing every node UP everywhere within {:.1} s",
            agreed - healed
        );
        assert!(
            agreed - healed <= 10.0,
            "seed {seed:#x}: heal took {:.1} s",
            agreed - healed
        );
    }
}
