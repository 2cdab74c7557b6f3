//! A seeded whole-node simulation: three complete nodes (`Node::open_with`: engine on a
//! temporary directory, metadata Raft log, gossip, internode messaging, coordinator, CQL
//! executor) in one process, talking over in-memory networks that delay, reset and
//! partition links (`net::SimNet` for messaging, the gossip simulation's `Net` for
//! chitchat), with nodes crashed and restarted on their directories.
//!
//! Each node runs on a runtime of its own (a current-thread runtime on its own thread), so
//! a crash is dropping that runtime: every task of the node stops where it stands, with no
//! drain, no flush and no goodbye (the engine's `Drop` only syncs the WAL it already wrote,
//! what the OS keeps after a `kill -9` too); the restart opens the same directory and
//! replays the commit log. Time is real (tokio's paused clock is per runtime, and three
//! runtimes cannot share one), and the engine's background threads are real threads, so a
//! seed fixes the workload and the fault schedule and every fault decision's odds, not the
//! interleaving: a replay repeats the scenario, not each message's fate.
//!
//! Invariants checked (`whole_cluster_keeps_every_acknowledged_quorum_write`):
//! - every write acknowledged at QUORUM is read back at QUORUM, during the faults (reads of
//!   acknowledged keys never miss them) and after healing;
//! - no value appears that was never written (a full scan finds only written keys, each
//!   with the value its one write carried);
//! - after healing, every node has the same schema version, and the node that was down
//!   during a DDL statement has its table.
//!
//! Replay: `STRATA_SIM_SEED=<seed> cargo test -p strata --lib sim::` (decimal or 0x-hex);
//! `STRATA_SIM_SEEDS=<n>` runs n seeds from the default one instead of the normal three
//! (four at a time: 16 seeds take about a minute on 2 cores).

mod net;

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::{self, StreamExt};
use strata_protocol::{Consistency, ResultBody};
use tokio::runtime::Handle;
use tokio::sync::oneshot;

use crate::cluster::gossip::sim::Net as GossipNet;
use crate::config::Config;
use crate::error::CqlError;
use crate::exec::{BoundValues, Context, ExecOptions};
use crate::node::{Env, Node};
use crate::test_dir::TempDir;
use crate::test_rng::{seed_from_env, Rng};
use net::SimNet;

const NODES: usize = 3;
const STORAGE_PORT: u16 = 7000;
/// Coordinator timeouts: short, so an operation caught by a fault gives up quickly.
const REQUEST_TIMEOUT_MS: u64 = 500;
/// Bound on any one statement as the driver waits for it (a node that never answers
/// fails the run instead of hanging it): above the metadata log's own 10 s bound on
/// finding a leader.
const OPERATION_BOUND: Duration = Duration::from_secs(30);
/// Bound on the cluster converging (start, heal).
const CONVERGE_BOUND: Duration = Duration::from_secs(30);
/// Tries of a read after healing before its failure counts.
const READ_ATTEMPTS: usize = 5;
/// Seeds run at once (more starve each other's nodes of CPU until reads time out).
const PARALLEL_SEEDS: usize = 4;
/// Statements in flight at once.
const CONCURRENCY: usize = 16;

/// A node's runtime thread: the node's every task runs on it, and stops with it.
struct Runtime {
    handle: Handle,
    stop: oneshot::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl Runtime {
    fn start(name: String) -> Runtime {
        let (handle_tx, handle_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(name)
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("node runtime");
                let _ = handle_tx.send(runtime.handle().clone());
                runtime.block_on(async {
                    let _ = stopped.await;
                });
                // Drops every task of the node; waits for its blocking tasks (which hold
                // the engine, whose directory lock a restart needs).
                runtime.shutdown_timeout(Duration::from_secs(10));
            })
            .expect("spawn node thread");
        let handle = handle_rx.recv().expect("node runtime handle");
        Runtime {
            handle,
            stop,
            thread,
        }
    }

    /// Runs `future` on this runtime; `None` if the runtime stopped first.
    async fn run<T: Send + 'static>(
        handle: &Handle,
        future: impl Future<Output = T> + Send + 'static,
    ) -> Option<T> {
        handle.spawn(future).await.ok()
    }

    /// Stops the runtime and waits until its thread is gone.
    fn crash(self) {
        let _ = self.stop.send(());
        self.thread.join().expect("node thread");
    }
}

struct SimNode {
    ip: IpAddr,
    dir: TempDir,
    running: Option<(Arc<Node>, Runtime)>,
}

struct Cluster {
    seed: u64,
    net: SimNet,
    gossip: GossipNet,
    nodes: Vec<SimNode>,
}

/// What one statement came to, as a client sees it.
#[derive(Debug)]
enum Outcome {
    Rows(Vec<Vec<Option<Bytes>>>),
    /// Timed out, unavailable, or refused: not acknowledged.
    Failed(String),
}

impl Cluster {
    fn new(seed: u64, loss_percent: u64, max_delay_ms: u64) -> Cluster {
        let nodes = (0..NODES)
            .map(|i| SimNode {
                ip: IpAddr::from([10, 0, 0, 1 + i as u8]),
                dir: TempDir::new(&format!("sim-node{i}")),
                running: None,
            })
            .collect();
        Cluster {
            seed,
            net: SimNet::new(seed, loss_percent, max_delay_ms),
            gossip: GossipNet::new(seed.rotate_left(17), loss_percent / 2, max_delay_ms),
            nodes,
        }
    }

    fn config(&self, i: usize) -> Config {
        let node = &self.nodes[i];
        Config {
            cluster_name: "sim".into(),
            data_dir: node.dir.path().to_path_buf(),
            listen_address: node.ip,
            rpc_address: node.ip,
            storage_port: STORAGE_PORT,
            native_transport_port: 0,
            admin_port: 0,
            seeds: vec![self.nodes[0].ip.to_string()],
            memtable_bytes: 4 << 20,
            block_cache_bytes: 4 << 20,
            write_request_timeout_ms: REQUEST_TIMEOUT_MS,
            read_request_timeout_ms: REQUEST_TIMEOUT_MS,
            ..Config::default()
        }
    }

    fn addr(&self, i: usize) -> SocketAddr {
        SocketAddr::new(self.nodes[i].ip, STORAGE_PORT)
    }

    fn node(&self, i: usize) -> Option<&Arc<Node>> {
        self.nodes[i].running.as_ref().map(|(node, _)| node)
    }

    fn up(&self) -> Vec<usize> {
        (0..NODES).filter(|i| self.node(*i).is_some()).collect()
    }

    /// Opens node `i` on its directory (again, after a crash: the crashed engine's lock
    /// goes with its last blocking task, so the first attempts may find it still held).
    async fn start(&mut self, i: usize) {
        let mut attempts = 0;
        loop {
            let runtime = Runtime::start(format!("sim-node{i}"));
            let env = Env {
                network: self.net.node(self.addr(i)),
                gossip: Arc::new(self.gossip.clone()),
            };
            let opened = Runtime::run(&runtime.handle, Node::open_with(self.config(i), env)).await;
            match opened {
                Some(Ok(node)) => {
                    self.nodes[i].running = Some((node, runtime));
                    return;
                }
                failed => {
                    runtime.crash();
                    attempts += 1;
                    let error = failed.map(|r| r.err().map(|e| format!("{e:#}")));
                    assert!(
                        attempts < 50,
                        "seed {:#x}: node {i} cannot open: {error:?}",
                        self.seed
                    );
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }

    /// Drops node `i` where it stands.
    fn crash(&mut self, i: usize) {
        if let Some((node, runtime)) = self.nodes[i].running.take() {
            drop(node);
            runtime.crash();
        }
    }

    /// Cuts (or heals) node `i` off from every other node, messaging and gossip.
    fn partition(&self, i: usize, cut: bool) {
        let others: Vec<SocketAddr> = (0..NODES)
            .filter(|o| *o != i)
            .map(|o| self.addr(o))
            .collect();
        self.net.partition(&[self.addr(i)], &others, cut);
        self.gossip.partition(&[self.addr(i)], &others, cut);
    }

    /// Runs `cql` on node `i`'s executor at `consistency`.
    async fn execute(&self, i: usize, cql: String, consistency: Consistency) -> Outcome {
        let Some((node, runtime)) = &self.nodes[i].running else {
            return Outcome::Failed("node down".into());
        };
        let node = node.clone();
        let statement = async move {
            let statement = crate::cql::parse_statement(&cql)?;
            let ctx = Context::new(&node, None);
            let options = ExecOptions {
                consistency,
                serial_consistency: Consistency::Serial,
                page_size: None,
                paging_state: None,
                timestamp: None,
            };
            let bound = BoundValues::default();
            let outcome = crate::exec::execute(&ctx, &statement, &bound, &options).await?;
            Ok::<_, CqlError>(outcome.body)
        };
        let ran = tokio::time::timeout(OPERATION_BOUND, Runtime::run(&runtime.handle, statement));
        match ran.await {
            Err(_) => panic!("seed {:#x}: a statement on node {i} hung", self.seed),
            Ok(None) => Outcome::Failed("node crashed".into()),
            Ok(Some(Err(e))) => Outcome::Failed(e.to_string()),
            Ok(Some(Ok(body))) => Outcome::Rows(rows(body)),
        }
    }

    /// Runs a read until it answers, at most `READ_ATTEMPTS` times (a timeout is not an
    /// answer: the checks after healing only count answers); `node` picks each attempt's
    /// coordinator. The last failure when none answered.
    async fn read(
        &self,
        node: impl Fn(usize) -> usize,
        cql: &str,
        consistency: Consistency,
    ) -> Result<Vec<Vec<Option<Bytes>>>, String> {
        let mut failure = String::new();
        for attempt in 0..READ_ATTEMPTS {
            match self
                .execute(node(attempt), cql.to_string(), consistency)
                .await
            {
                Outcome::Rows(rows) => return Ok(rows),
                Outcome::Failed(e) => failure = e,
            }
        }
        Err(failure)
    }

    /// Runs a DDL statement on a running node, retried while the metadata log has no
    /// leader (an election after a crash or partition).
    async fn ddl(&self, rng: &mut Rng, cql: &str) {
        let up = self.up();
        for _ in 0..40 {
            let i = up[rng.below(up.len())];
            match self.execute(i, cql.to_string(), Consistency::Quorum).await {
                Outcome::Rows(_) => return,
                // An earlier attempt committed, though its answer was lost.
                Outcome::Failed(e) if e.contains("already exist") => return,
                Outcome::Failed(e) => {
                    println!("[{:#x}] {cql} on node {i}: {e} (retrying)", self.seed);
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            }
        }
        panic!("seed {:#x}: {cql} never committed", self.seed);
    }

    /// Waits until every running node sees every other running node up and agrees on the
    /// schema version.
    async fn converge(&self) {
        let started = tokio::time::Instant::now();
        loop {
            let nodes: Vec<&Arc<Node>> =
                self.up().into_iter().filter_map(|i| self.node(i)).collect();
            let all_up = nodes.iter().all(|a| {
                nodes
                    .iter()
                    .all(|b| a.membership().is_alive(a.host_id(), &b.host_id()))
            });
            let versions: Vec<_> = nodes.iter().map(|n| n.catalog().version).collect();
            if all_up && versions.windows(2).all(|w| w[0] == w[1]) {
                return;
            }
            assert!(
                started.elapsed() < CONVERGE_BOUND,
                "seed {:#x}: no convergence: all up {all_up}, schema versions {versions:?}",
                self.seed
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Stops every node before the directories go (also when a check panicked).
impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 0..NODES {
            self.crash(i);
        }
    }
}

/// A result's rows, whichever way the executor encoded them.
fn rows(body: ResultBody) -> Vec<Vec<Option<Bytes>>> {
    match body {
        ResultBody::Rows(rows) => rows.rows,
        ResultBody::EncodedRows(encoded) => {
            let columns = encoded.metadata.columns.len();
            let mut content = encoded.content;
            let mut cell = || {
                let len = i32::from_be_bytes(content.split_to(4)[..].try_into().expect("len"));
                (len >= 0).then(|| content.split_to(len as usize))
            };
            (0..encoded.row_count)
                .map(|_| (0..columns).map(|_| cell()).collect())
                .collect()
        }
        _ => Vec::new(),
    }
}

fn int(cell: &Option<Bytes>) -> Option<i32> {
    cell.as_ref()
        .map(|b| i32::from_be_bytes(b[..].try_into().expect("int cell")))
}

/// Each key is written once, with a value only that write carries.
fn value_of(seed: u64, key: i32) -> i32 {
    (seed as i32)
        .wrapping_mul(31)
        .wrapping_add(key)
        .wrapping_mul(7)
        | 1
}

/// What happened to the writes and reads of one run.
#[derive(Default)]
struct Tally {
    /// Keys whose write was acknowledged at QUORUM, and those that failed (timed out,
    /// unavailable: maybe applied somewhere, maybe not).
    acknowledged: Vec<i32>,
    failed: Vec<i32>,
    reads: u64,
    reads_failed: u64,
    /// Violations found on the way.
    violations: Vec<String>,
}

/// One phase of the workload: `writes` new keys written at QUORUM through random running
/// nodes, each write followed by a QUORUM read of a random acknowledged key.
async fn phase(
    cluster: &Cluster,
    rng: &mut Rng,
    tally: &mut Tally,
    next_key: &mut i32,
    writes: usize,
) {
    let up = cluster.up();
    let ops: Vec<(i32, usize, usize, Option<i32>)> = (0..writes)
        .map(|_| {
            let key = *next_key;
            *next_key += 1;
            let check = (!tally.acknowledged.is_empty())
                .then(|| tally.acknowledged[rng.below(tally.acknowledged.len())]);
            (key, up[rng.below(up.len())], up[rng.below(up.len())], check)
        })
        .collect();
    let seed = cluster.seed;
    let results: Vec<_> = stream::iter(ops)
        .map(|(key, writer, reader, check)| async move {
            let insert = format!(
                "INSERT INTO ks.t (k, v) VALUES ({key}, {})",
                value_of(seed, key)
            );
            let written = cluster.execute(writer, insert, Consistency::Quorum).await;
            let read = match check {
                Some(k) => {
                    let select = format!("SELECT v FROM ks.t WHERE k = {k}");
                    Some((
                        k,
                        cluster.execute(reader, select, Consistency::Quorum).await,
                    ))
                }
                None => None,
            };
            (key, written, read)
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    for (key, written, read) in results {
        match written {
            Outcome::Rows(_) => tally.acknowledged.push(key),
            Outcome::Failed(_) => tally.failed.push(key),
        }
        let Some((k, read)) = read else { continue };
        tally.reads += 1;
        match read {
            Outcome::Failed(_) => tally.reads_failed += 1,
            Outcome::Rows(rows) => {
                let found = rows.first().and_then(|r| int(&r[0]));
                if found != Some(value_of(seed, k)) {
                    tally.violations.push(format!(
                        "acknowledged key {k} read at QUORUM as {found:?} during the faults"
                    ));
                }
            }
        }
    }
}

/// The scenario of one seed; returns the violations. Lines are printed as they happen,
/// prefixed with the seed (seeds run in parallel).
async fn run(seed: u64) -> Vec<String> {
    let mut rng = Rng(seed);
    let loss = 5 + rng.below(11) as u64;
    let max_delay_ms = 2 + rng.below(19) as u64;
    let partitioned = rng.below(NODES);
    let crashed = rng.below(NODES);
    let started = std::time::Instant::now();
    let log = |what: String| {
        println!(
            "[{seed:#x}] {:>6.2}s {what}",
            started.elapsed().as_secs_f64()
        )
    };
    log(format!(
        "whole-node sim seed {seed:#x} (STRATA_SIM_SEED={seed:#x} replays it): {NODES} nodes, \
         {loss}% connection resets per write, 0-{max_delay_ms} ms delay, node {partitioned} \
         partitioned, node {crashed} crashed and restarted"
    ));
    let mut cluster = Cluster::new(seed, 0, max_delay_ms);
    for i in 0..NODES {
        cluster.start(i).await;
    }
    cluster.converge().await;
    cluster
        .ddl(
            &mut rng,
            "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}",
        )
        .await;
    cluster
        .ddl(&mut rng, "CREATE TABLE ks.t (k int PRIMARY KEY, v int)")
        .await;
    log("cluster formed, schema created".into());

    let mut tally = Tally::default();
    let mut next_key = 0;
    cluster.net.set_loss(loss);
    cluster.gossip.set_loss(loss / 2);
    phase(&cluster, &mut rng, &mut tally, &mut next_key, 60).await;
    log("lossy phase done; partitioning".into());
    cluster.partition(partitioned, true);
    phase(&cluster, &mut rng, &mut tally, &mut next_key, 60).await;
    cluster.partition(partitioned, false);
    log("partitioned phase done; healed the partition; crashing".into());
    cluster.crash(crashed);
    // DDL the crashed node misses, and catches up on when it returns. Without link loss:
    // the metadata log under loss is `metadata/sim.rs`'s subject, and with 15% of the
    // writes resetting their connection the two remaining voters can go more than the
    // log's 10 s without a leader.
    cluster.net.set_loss(0);
    cluster
        .ddl(&mut rng, "CREATE TABLE ks.missed (k int PRIMARY KEY)")
        .await;
    cluster.net.set_loss(loss);
    phase(&cluster, &mut rng, &mut tally, &mut next_key, 60).await;
    log("crashed phase (with DDL) done; restarting".into());
    cluster.start(crashed).await;
    phase(&cluster, &mut rng, &mut tally, &mut next_key, 60).await;
    log("restarted phase done; healing".into());

    cluster.net.set_loss(0);
    cluster.gossip.set_loss(0);
    cluster.converge().await;
    log("healed: every node up everywhere, one schema version".into());
    let restarted = cluster.node(crashed).expect("restarted");
    if restarted.catalog().table("ks", "missed").is_none() {
        tally
            .violations
            .push(format!("node {crashed} restarted without ks.missed"));
    }
    // Every acknowledged write, read back at QUORUM (retried through other nodes on a
    // timeout: a timeout is not an answer).
    let answers: Vec<(i32, Option<Option<i32>>)> = stream::iter(tally.acknowledged.clone())
        .map(|key| {
            let cluster = &cluster;
            async move {
                let select = format!("SELECT v FROM ks.t WHERE k = {key}");
                let node = |attempt| (key as usize + attempt) % NODES;
                let rows = cluster.read(node, &select, Consistency::Quorum).await;
                (
                    key,
                    rows.ok().map(|rows| rows.first().and_then(|r| int(&r[0]))),
                )
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    // Answered without the write's value: lost. Not answered at all (every try timed
    // out): not verified, which fails the run too, but is not evidence of a loss.
    let (unanswered, lost): (Vec<_>, Vec<_>) = answers
        .into_iter()
        .filter(|(key, answer)| *answer != Some(Some(value_of(seed, *key))))
        .partition(|(_, answer)| answer.is_none());
    // Every row of every replica (a scan at ONE is answered by the coordinator's own
    // replica: with RF=3 on three nodes each node holds every range) was written, with the
    // value its write carried.
    for i in 0..NODES {
        match cluster
            .read(|_| i, "SELECT k, v FROM ks.t", Consistency::One)
            .await
        {
            Ok(rows) => {
                for row in rows {
                    let (k, v) = (int(&row[0]).unwrap_or(-1), int(&row[1]));
                    let written = tally.acknowledged.contains(&k) || tally.failed.contains(&k);
                    if !written || v != Some(value_of(seed, k)) {
                        tally
                            .violations
                            .push(format!("node {i} holds key {k} = {v:?}, never written so"));
                    }
                }
            }
            Err(e) => tally
                .violations
                .push(format!("scan of node {i} failed: {e}")),
        }
    }
    let (writes, resets) = cluster.net.counts();
    log(format!(
        "writes acknowledged {}, timed out or failed {}; acknowledged found {}, lost {}, \
         unanswered {}; \
         QUORUM reads of acknowledged keys during the faults {} ({} failed); {writes} \
         internode writes, {resets} connections reset",
        tally.acknowledged.len(),
        tally.failed.len(),
        tally.acknowledged.len() - lost.len() - unanswered.len(),
        lost.len(),
        unanswered.len(),
        tally.reads,
        tally.reads_failed,
    ));
    for (key, _) in unanswered {
        tally.violations.push(format!(
            "acknowledged key {key} not verified: no QUORUM answer in {READ_ATTEMPTS} tries"
        ));
    }
    for (key, answer) in lost {
        tally.violations.push(format!(
            "acknowledged key {key} lost (QUORUM read gave {answer:?})"
        ));
    }
    tally.violations
}

fn seeds() -> Vec<u64> {
    const DEFAULT: u64 = 0x5151_0012;
    match seed_from_env("STRATA_SIM_SEED", 0) {
        0 => {
            let count = std::env::var("STRATA_SIM_SEEDS")
                .ok()
                .and_then(|n| n.parse().ok())
                .unwrap_or(3u64);
            (0..count).map(|i| DEFAULT + i).collect()
        }
        seed => vec![seed],
    }
}

/// Method: three whole nodes; RF=3 schema through the metadata log; QUORUM writes (each
/// key once, with its own value) and QUORUM reads of acknowledged keys through random
/// nodes while links lose and delay, one node is partitioned off, and one node crashes
/// (missing a DDL statement) and restarts; then heal and read everything back. The seeds
/// run four at a time (each its own driver thread and three node threads): the run is mostly
/// waiting out timeouts and link delays.
#[test]
fn whole_cluster_keeps_every_acknowledged_quorum_write() {
    for batch in seeds().chunks(PARALLEL_SEEDS) {
        let runs: Vec<_> = batch
            .iter()
            .map(|&seed| {
                let thread = std::thread::spawn(move || {
                    tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("driver runtime")
                        .block_on(run(seed))
                });
                (seed, thread)
            })
            .collect();
        for (seed, thread) in runs {
            let violations = thread.join().expect("simulation thread");
            assert!(
                violations.is_empty(),
                "seed {seed:#x} (STRATA_SIM_SEED={seed:#x} replays it): {violations:#?}"
            );
        }
    }
}
