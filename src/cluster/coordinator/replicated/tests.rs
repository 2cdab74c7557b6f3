//! The coordinator over three in-process replicas: real `LocalReplica`s over real engines
//! (in memory), one catalog each with the same table id, and a transport that serializes
//! every request and answer as the messaging service does, with seeded message loss and
//! delay and a failure detector view set by the test.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use strata_engine::{Engine, MemStorage, Options, SystemClock, ROOT_VERSION};
use strata_protocol::Consistency;
use uuid::Uuid;

use crate::cluster::command::{
    Branch, CoordinatorError, ReadCommand, ReadResult, ReadTarget, TableWrite, WriteCommand,
};
use crate::cluster::coordinator::{Coordinator, Deadlines};
use crate::cluster::local::LocalReplica;
use crate::cluster::messaging::{decode, encode};
use crate::cluster::replica::{
    self, PaxosRequest, ReplicaError, ReplicaFuture, ReplicaRead, ReplicaRequest, ReplicaResponse,
    ReplicaWrite, Transport, WireCells,
};
use crate::cluster::ring::{Endpoint, Ring, SharedRing};
use crate::schema::{
    Catalog, ClusteringOrder, ColumnDef, ColumnKind, Keyspace, KeyspaceDef, Table, TableDef,
    TableOptions, TableSource,
};
use crate::storage::{ClusteringRange, Decoded, Operation, PartitionUpdate};

const NODES: u8 = 3;

struct Node {
    endpoint: Endpoint,
    local: Arc<LocalReplica>,
    catalog: Arc<Catalog>,
    table: Arc<Table>,
}

/// Message loss and delay, decided by a seeded generator.
struct Network {
    rng: crate::test_rng::Rng,
    /// Probability (in percent) that a request or its answer is lost.
    loss_percent: u64,
    max_delay_ms: u64,
}

struct Sim {
    nodes: Vec<Node>,
    /// The failure detector's view: these nodes are believed down.
    down: Mutex<BTreeSet<Uuid>>,
    /// Messages to these nodes are lost, whatever the failure detector believes.
    unreachable: Mutex<BTreeSet<Uuid>>,
    network: Mutex<Network>,
    replication: BTreeMap<String, String>,
}

impl Sim {
    fn new(seed: u64) -> Arc<Sim> {
        let id = Uuid::new_v4();
        let endpoints: Vec<Endpoint> = (1..=NODES)
            .map(|n| Endpoint {
                host_id: Uuid::from_u128(n as u128),
                address: std::net::IpAddr::from([127, 0, 2, n]),
                dc: "datacenter1".into(),
                rack: "rack1".into(),
                // Evenly spread vnodes, interleaved between the nodes.
                tokens: (0..4i128)
                    .map(|v| {
                        let slot = v * i128::from(NODES) + i128::from(n) - 1;
                        (i128::from(i64::MIN) + 1 + slot * ((1i128 << 64) / 12)) as i64
                    })
                    .collect(),
            })
            .collect();
        let replication: BTreeMap<String, String> = [
            ("class", "org.apache.cassandra.locator.SimpleStrategy"),
            ("replication_factor", "3"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let nodes = endpoints
            .into_iter()
            .map(|endpoint| {
                let engine = Arc::new(
                    Engine::open(
                        Arc::new(MemStorage::new()),
                        Options {
                            background_threads: false,
                            ..Options::default()
                        },
                        Arc::new(SystemClock),
                    )
                    .expect("engine"),
                );
                let data_version = engine.clone_version(ROOT_VERSION).expect("branch");
                let table = Arc::new(table(id, data_version));
                let mut catalog = Catalog::default();
                catalog.keyspaces.insert(
                    "ks".into(),
                    Keyspace {
                        def: KeyspaceDef {
                            name: "ks".into(),
                            replication: replication.clone(),
                            durable_writes: true,
                        },
                        tables: [("t".to_string(), table.clone())].into_iter().collect(),
                        types: BTreeMap::new(),
                        system: false,
                    },
                );
                Node {
                    endpoint,
                    local: Arc::new(
                        LocalReplica::new(
                            engine.clone(),
                            crate::damage::DiskFailure::new(
                                crate::config::DiskFailurePolicy::BestEffort,
                            ),
                            engine
                                .clone_version(strata_engine::ROOT_VERSION)
                                .expect("paxos branch"),
                        )
                        .expect("replica"),
                    ),
                    catalog: Arc::new(catalog),
                    table,
                }
            })
            .collect();
        Arc::new(Sim {
            nodes,
            down: Mutex::default(),
            unreachable: Mutex::default(),
            network: Mutex::new(Network {
                rng: crate::test_rng::Rng(seed.max(1)),
                loss_percent: 0,
                max_delay_ms: 0,
            }),
            replication,
        })
    }

    fn host(&self, n: usize) -> Uuid {
        self.nodes[n].endpoint.host_id
    }

    /// The coordinator of node `n`, connected to the others through this simulation.
    fn coordinator(self: &Arc<Sim>, n: usize, deadline: Duration) -> Coordinator {
        self.coordinator_with(
            n,
            Deadlines {
                write: deadline,
                read: deadline,
                range: deadline,
                cas_contention: deadline,
            },
        )
    }

    fn coordinator_with(self: &Arc<Sim>, n: usize, deadlines: Deadlines) -> Coordinator {
        let mut ring = Ring::new(self.nodes[n].endpoint.clone());
        for node in &self.nodes {
            ring.upsert(node.endpoint.clone());
        }
        let coordinator = Coordinator::new(
            SharedRing::new(ring),
            self.nodes[n].local.clone(),
            deadlines,
            false,
        );
        coordinator.connect(self.clone());
        coordinator
    }

    fn lost(&self) -> bool {
        let mut network = self.network.lock().unwrap();
        let loss = network.loss_percent;
        loss > 0 && network.rng.chance(loss)
    }

    fn delay(&self) -> Duration {
        let mut network = self.network.lock().unwrap();
        let max = network.max_delay_ms;
        Duration::from_millis(if max == 0 {
            0
        } else {
            network.rng.below(max as usize + 1) as u64
        })
    }
}

impl Transport for Sim {
    fn is_alive(&self, host: &Uuid) -> bool {
        !self.down.lock().unwrap().contains(host)
    }

    fn replication(&self, _keyspace: &str) -> Option<BTreeMap<String, String>> {
        Some(self.replication.clone())
    }

    fn send(
        &self,
        to: &Endpoint,
        request: ReplicaRequest,
        deadline: tokio::time::Instant,
    ) -> ReplicaFuture {
        let node = self.nodes.iter().find(|n| n.endpoint.host_id == to.host_id);
        let unreachable = self.unreachable.lock().unwrap().contains(&to.host_id)
            || self.down.lock().unwrap().contains(&to.host_id);
        let (request_lost, answer_lost) = (self.lost(), self.lost());
        let (there, back) = (self.delay(), self.delay());
        let target = node.map(|n| (n.local.clone(), n.catalog.clone(), n.endpoint.host_id));
        Box::pin(async move {
            let Some((local, catalog, host)) = target.filter(|_| !unreachable && !request_lost)
            else {
                tokio::time::sleep_until(deadline).await;
                return Err(ReplicaError::Timeout);
            };
            tokio::time::sleep(there).await;
            // Through the wire format, as the messaging service carries it.
            let request = match request {
                ReplicaRequest::Write(w) => ReplicaRequest::Write(
                    decode::<ReplicaWrite>(&encode(&w)).expect("write round trip"),
                ),
                ReplicaRequest::Data(r) => ReplicaRequest::Data(
                    decode::<ReplicaRead>(&encode(&r)).expect("read round trip"),
                ),
                ReplicaRequest::Digest(r) => ReplicaRequest::Digest(
                    decode::<ReplicaRead>(&encode(&r)).expect("read round trip"),
                ),
                ReplicaRequest::Truncate(id) => ReplicaRequest::Truncate(id),
                ReplicaRequest::Paxos(p) => ReplicaRequest::Paxos(
                    decode::<PaxosRequest>(&encode(&p)).expect("paxos round trip"),
                ),
            };
            let answer = replica::execute(&local, &catalog, host.as_bytes(), request).await;
            if answer_lost {
                tokio::time::sleep_until(deadline).await;
                return Err(ReplicaError::Timeout);
            }
            tokio::time::sleep(back).await;
            answer.map(|response| match response {
                ReplicaResponse::Data(cells) => ReplicaResponse::Data(
                    decode::<WireCells>(&encode(&WireCells::from(&cells)))
                        .expect("cells round trip")
                        .into(),
                ),
                ReplicaResponse::Promise(p) => ReplicaResponse::Promise(Box::new(
                    decode(&encode(&*p)).expect("promise round trip"),
                )),
                other => other,
            })
        })
    }
}

fn table(id: Uuid, data_version: u32) -> Table {
    let column = |name: &str, kind| ColumnDef {
        name: name.into(),
        type_text: "int".into(),
        kind,
        order: ClusteringOrder::Asc,
    };
    Table::new(
        TableDef {
            keyspace: "ks".into(),
            name: "t".into(),
            id,
            columns: vec![
                column("k", ColumnKind::PartitionKey),
                column("v", ColumnKind::Regular),
            ],
            partition_key: vec!["k".into()],
            clustering: Vec::new(),
            options: TableOptions::default(),
            data_version,
            dropped_columns: BTreeMap::new(),
            dropped_column_types: Default::default(),
        },
        TableSource::Engine,
    )
    .expect("table")
}

fn update(k: i32, v: i32, timestamp: i64) -> PartitionUpdate {
    let key = k.to_be_bytes().to_vec();
    PartitionUpdate {
        token: strata_protocol::murmur3::token(&key),
        partition_key: key,
        timestamp,
        ttl_secs: 0,
        operations: vec![
            Operation::RowMarker {
                clustering: Vec::new(),
            },
            Operation::Cell {
                clustering: Some(Vec::new()),
                column: "v".into(),
                value: Some(v.to_be_bytes().to_vec()),
            },
        ],
    }
}

fn write(table: &Arc<Table>, updates: Vec<PartitionUpdate>) -> WriteCommand {
    WriteCommand {
        tables: vec![TableWrite {
            table: table.clone(),
            branch: Branch::Main,
            updates,
        }],
    }
}

fn read_partition(table: &Arc<Table>, k: i32) -> ReadCommand {
    let key = k.to_be_bytes().to_vec();
    let whole = ClusteringRange {
        start: Vec::new(),
        end: None,
    };
    ReadCommand::partition(
        table,
        Branch::Main,
        strata_protocol::murmur3::token(&key),
        key,
        vec![whole],
    )
}

/// `(k, v)` of every row of a result, in order.
fn rows(result: &ReadResult) -> Vec<(i32, i32)> {
    let mut out = Vec::new();
    let mut key = None;
    for item in &result.items {
        match item {
            Decoded::PartitionStart { key: k, .. } => {
                key = Some(i32::from_be_bytes(k.as_slice().try_into().unwrap()))
            }
            Decoded::Row(row) => {
                let v = row
                    .cell("v")
                    .map(|c| i32::from_be_bytes(c.value.as_slice().try_into().unwrap()));
                out.push((key.unwrap(), v.unwrap_or(i32::MIN)));
            }
            Decoded::Static(_) => {}
        }
    }
    out
}

async fn value_at(
    coordinator: &Coordinator,
    table: &Arc<Table>,
    k: i32,
    cl: Consistency,
) -> Option<i32> {
    let result = coordinator
        .read(read_partition(table, k), cl)
        .await
        .expect("read");
    rows(&result).first().map(|(_, v)| *v)
}

/// What node `n` holds for `k`, read from its own replica alone.
async fn held_by(sim: &Sim, n: usize, k: i32) -> Option<i32> {
    let node = &sim.nodes[n];
    let result = node
        .local
        .read(read_partition(&node.table, k))
        .await
        .expect("local read");
    rows(&result).first().map(|(_, v)| *v)
}

const DEADLINE: Duration = Duration::from_millis(400);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quorum_writes_and_reads_succeed_with_one_replica_down() {
    let sim = Sim::new(1);
    sim.down.lock().unwrap().insert(sim.host(2));
    let coordinator = sim.coordinator(0, DEADLINE);
    let table = sim.nodes[0].table.clone();
    for k in 0..20 {
        coordinator
            .mutate(
                write(&table, vec![update(k, k * 10, 1)]),
                Consistency::Quorum,
            )
            .await
            .expect("QUORUM write with one replica down");
    }
    for k in 0..20 {
        assert_eq!(
            value_at(&coordinator, &table, k, Consistency::Quorum).await,
            Some(k * 10)
        );
        assert_eq!(
            held_by(&sim, 1, k).await,
            Some(k * 10),
            "the live replica has every write"
        );
        assert_eq!(
            held_by(&sim, 2, k).await,
            None,
            "nothing was sent to the down replica"
        );
    }
    let all = coordinator
        .mutate(write(&table, vec![update(99, 1, 1)]), Consistency::All)
        .await;
    assert!(
        matches!(
            all,
            Err(CoordinatorError::Unavailable {
                required: 3,
                alive: 2,
                ..
            })
        ),
        "{all:?}"
    );
}

/// The coordinator stops waiting once the level is met; the sends still running (here, with
/// the simulated network's delays, usually both remote ones) are not dropped with it but run
/// to completion, so every live replica receives the write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_at_one_still_reaches_every_live_replica() {
    let sim = Sim::new(3);
    let coordinator = sim.coordinator(0, DEADLINE);
    let table = sim.nodes[0].table.clone();
    for k in 0..10 {
        coordinator
            .mutate(write(&table, vec![update(k, k + 1, 1)]), Consistency::One)
            .await
            .expect("write at ONE");
    }
    for n in 0..3 {
        for k in 0..10 {
            let mut held = None;
            for _ in 0..200 {
                held = held_by(&sim, n, k).await;
                if held.is_some() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            assert_eq!(held, Some(k + 1), "replica {n} never received key {k}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_two_replicas_down_quorum_is_unavailable_and_writes_nothing() {
    let sim = Sim::new(2);
    sim.down.lock().unwrap().extend([sim.host(1), sim.host(2)]);
    let coordinator = sim.coordinator(0, DEADLINE);
    let table = sim.nodes[0].table.clone();
    let result = coordinator
        .mutate(write(&table, vec![update(7, 7, 1)]), Consistency::Quorum)
        .await;
    assert!(
        matches!(
            result,
            Err(CoordinatorError::Unavailable {
                consistency: Consistency::Quorum,
                required: 2,
                alive: 1,
                dc: None,
            })
        ),
        "{result:?}"
    );
    assert_eq!(
        held_by(&sim, 0, 7).await,
        None,
        "an unavailable write applies nowhere"
    );
    let read = coordinator
        .read(read_partition(&table, 7), Consistency::Quorum)
        .await;
    assert!(
        matches!(read, Err(CoordinatorError::Unavailable { .. })),
        "{read:?}"
    );
    // ONE still works on the coordinator's own replica.
    coordinator
        .mutate(write(&table, vec![update(7, 8, 1)]), Consistency::One)
        .await
        .expect("ONE with the local replica alive");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_acks_give_a_write_timeout_with_the_counts() {
    let sim = Sim::new(3);
    sim.unreachable
        .lock()
        .unwrap()
        .extend([sim.host(1), sim.host(2)]);
    let coordinator = sim.coordinator(0, Duration::from_millis(150));
    let table = sim.nodes[0].table.clone();
    let result = coordinator
        .mutate(write(&table, vec![update(1, 1, 1)]), Consistency::Quorum)
        .await;
    assert!(
        matches!(
            result,
            Err(CoordinatorError::WriteTimeout {
                received: 1,
                block_for: 2,
                ..
            })
        ),
        "{result:?}"
    );
    let read = coordinator
        .read(read_partition(&table, 1), Consistency::Quorum)
        .await;
    assert!(
        matches!(
            read,
            Err(CoordinatorError::ReadTimeout {
                received: 1,
                block_for: 2,
                data_present: true,
                ..
            })
        ),
        "{read:?}"
    );
}

/// A write that reached one replica only is repaired by a QUORUM read, so that a later read
/// at ONE from another replica sees it (blocking read repair).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quorum_read_repairs_a_write_that_reached_one_replica() {
    let sim = Sim::new(4);
    let table = sim.nodes[0].table.clone();
    // Only node 0 has the write (its coordinator's messages to the others were lost).
    sim.unreachable
        .lock()
        .unwrap()
        .extend([sim.host(1), sim.host(2)]);
    let lonely = sim.coordinator(0, DEADLINE);
    let result = lonely
        .mutate(write(&table, vec![update(5, 55, 10)]), Consistency::One)
        .await;
    assert!(result.is_ok(), "{result:?}");
    sim.unreachable.lock().unwrap().clear();
    assert_eq!(held_by(&sim, 1, 5).await, None);
    assert_eq!(held_by(&sim, 2, 5).await, None);
    // A QUORUM read through node 0 contacts node 0 and one other: the digests differ, the
    // merge holds the write, and the other contact is repaired before the answer (counted
    // as nodetool netstats' read repair statistics print it; the counters are the
    // process's, so other tests may add to them meanwhile).
    let metrics = crate::metrics::global();
    let attempted = metrics.read_repair_attempted.get();
    let blocking = metrics.read_repair_blocking.get();
    let coordinator = sim.coordinator(0, DEADLINE);
    let seen = value_at(&coordinator, &table, 5, Consistency::Quorum).await;
    assert_eq!(seen, Some(55));
    assert!(metrics.read_repair_attempted.get() > attempted);
    assert!(metrics.read_repair_blocking.get() > blocking);
    let repaired = [held_by(&sim, 1, 5).await, held_by(&sim, 2, 5).await];
    assert!(
        repaired.contains(&Some(55)),
        "one of the others was repaired: {repaired:?}"
    );
    // That replica alone (ONE through its own coordinator) now sees the write.
    let n = if repaired[0] == Some(55) { 1 } else { 2 };
    let at_one = sim.coordinator(n, DEADLINE);
    assert_eq!(
        value_at(&at_one, &sim.nodes[n].table, 5, Consistency::One).await,
        Some(55)
    );
    // A newer write on one replica wins over older cells elsewhere; ALL repairs everyone.
    sim.unreachable
        .lock()
        .unwrap()
        .extend([sim.host(0), sim.host(1)]);
    let third = sim.coordinator(2, DEADLINE);
    third
        .mutate(
            write(&sim.nodes[2].table, vec![update(5, 56, 20)]),
            Consistency::One,
        )
        .await
        .expect("ONE on node 2");
    sim.unreachable.lock().unwrap().clear();
    let second = sim.coordinator(1, DEADLINE);
    assert_eq!(
        value_at(&second, &sim.nodes[1].table, 5, Consistency::All).await,
        Some(56)
    );
    for n in 0..3 {
        assert_eq!(
            held_by(&sim, n, 5).await,
            Some(56),
            "node {n} repaired before the answer"
        );
    }
}

/// Seeded message loss and delay: every write acknowledged at QUORUM is returned by every
/// QUORUM read that succeeds afterwards, through any coordinator.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_acknowledged_quorum_write_is_lost_under_message_loss() {
    let seed = crate::test_rng::seed_from_env("STRATA_TEST_SEED", 0x5eed_c0de);
    println!("seed {seed:#x} (STRATA_TEST_SEED replays it)");
    let sim = Sim::new(seed);
    {
        let mut network = sim.network.lock().unwrap();
        network.loss_percent = 15;
        network.max_delay_ms = 5;
    }
    let coordinators: Vec<_> = (0..3)
        .map(|n| sim.coordinator(n, Duration::from_millis(150)))
        .collect();
    let mut acknowledged = BTreeMap::new();
    let (mut write_timeouts, mut reads, mut read_timeouts) = (0, 0, 0);
    for round in 0..40i32 {
        let n = (round % 3) as usize;
        let k = round % 10;
        let timestamp = 1 + round as i64;
        let result = coordinators[n]
            .mutate(
                write(&sim.nodes[n].table, vec![update(k, round, timestamp)]),
                Consistency::Quorum,
            )
            .await;
        match result {
            Ok(()) => {
                acknowledged.insert(k, round);
            }
            Err(CoordinatorError::WriteTimeout { .. }) => write_timeouts += 1,
            Err(other) => panic!("seed {seed}: unexpected {other:?}"),
        }
        // Reads through another coordinator see at least the last acknowledged write.
        let reader = (n + 1) % 3;
        if let Some(&expected) = acknowledged.get(&k) {
            match coordinators[reader]
                .read(
                    read_partition(&sim.nodes[reader].table, k),
                    Consistency::Quorum,
                )
                .await
            {
                Ok(result) => {
                    reads += 1;
                    let seen = rows(&result).first().map(|(_, v)| *v);
                    assert!(
                        seen.is_some_and(|v| v >= expected),
                        "seed {seed}: key {k} acknowledged {expected}, read {seen:?}"
                    );
                }
                Err(CoordinatorError::ReadTimeout { .. }) => read_timeouts += 1,
                Err(other) => panic!("seed {seed}: unexpected {other:?}"),
            }
        }
    }
    println!(
        "seed {seed:#x}: 40 QUORUM writes, {write_timeouts} timed out; {reads} reads checked, \
         {read_timeouts} timed out"
    );
    assert!(!acknowledged.is_empty(), "seed {seed}: some writes succeed");
}

/// A scan visits the ring's ranges in token order; its paging state resumes on another
/// coordinator; every row is returned exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn range_scans_page_across_ring_ranges_and_coordinators() {
    let sim = Sim::new(6);
    let coordinators: Vec<_> = (0..3).map(|n| sim.coordinator(n, DEADLINE)).collect();
    let table = sim.nodes[0].table.clone();
    let updates = (0..50).map(|k| update(k, k, 1)).collect();
    coordinators[0]
        .mutate(write(&table, updates), Consistency::All)
        .await
        .expect("ALL");
    let mut seen = Vec::new();
    let mut resume = None;
    let mut resume_rows = 0;
    for page in 0.. {
        assert!(page < 20, "paging ends");
        let n = page % 3;
        let command = ReadCommand {
            target: ReadTarget::TokenRange {
                start: std::ops::Bound::Unbounded,
                end: std::ops::Bound::Unbounded,
            },
            row_limit: 7,
            resume_after: resume.take(),
            resume_partition_rows: resume_rows,
            ..read_partition(&sim.nodes[n].table, 0)
        };
        let result = coordinators[n]
            .read(command, Consistency::Quorum)
            .await
            .expect("range read");
        let page_rows = rows(&result);
        assert!(page_rows.len() <= 7);
        seen.extend(page_rows.into_iter().map(|(k, _)| k));
        match result.resume_key {
            Some(key) => {
                resume = Some(key);
                resume_rows = result.resume_partition_rows;
            }
            None => break,
        }
    }
    let tokens: Vec<i64> = seen
        .iter()
        .map(|k| strata_protocol::murmur3::token(&k.to_be_bytes()))
        .collect();
    assert!(
        tokens.windows(2).all(|w| w[0] < w[1]),
        "token order: {seen:?}"
    );
    let distinct: BTreeSet<_> = seen.iter().collect();
    assert_eq!(distinct.len(), 50, "{seen:?}");
    assert_eq!(seen.len(), 50);
}

/// A scan reads its 13 ring ranges one after another, each a QUORUM read with a remote
/// round trip of 0-40 ms here: the whole scan is bounded by `range_request_timeout`, not by
/// the partition read's `read_request_timeout` (Cassandra's `RangeCommands` do the same).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_range_scan_is_bounded_by_range_request_timeout() {
    let sim = Sim::new(7);
    let table = sim.nodes[0].table.clone();
    let updates = (0..50).map(|k| update(k, k, 1)).collect();
    sim.coordinator(0, DEADLINE)
        .mutate(write(&table, updates), Consistency::All)
        .await
        .expect("ALL");
    sim.network.lock().unwrap().max_delay_ms = 20;
    let scan = || ReadCommand {
        target: ReadTarget::TokenRange {
            start: std::ops::Bound::Unbounded,
            end: std::ops::Bound::Unbounded,
        },
        ..read_partition(&table, 0)
    };
    let (short, long) = (Duration::from_millis(60), Duration::from_secs(10));
    let deadlines = |read, range| Deadlines {
        write: long,
        read,
        range,
        cas_contention: long,
    };
    let result = sim
        .coordinator_with(0, deadlines(short, long))
        .read(scan(), Consistency::Quorum)
        .await
        .expect("the whole scan outlasts read_request_timeout but not range_request_timeout");
    assert_eq!(rows(&result).len(), 50);
    let err = sim
        .coordinator_with(0, deadlines(long, short))
        .read(scan(), Consistency::Quorum)
        .await
        .expect_err("the scan outlasts range_request_timeout");
    assert!(
        matches!(err, CoordinatorError::ReadTimeout { .. }),
        "{err:?}"
    );
}

#[test]
fn a_range_splits_at_the_ring_tokens_in_order() {
    use std::ops::Bound::{Excluded, Included, Unbounded};
    let sim_ring = {
        let mut ring = Ring::new(Endpoint {
            host_id: Uuid::from_u128(1),
            address: std::net::IpAddr::from([127, 0, 2, 1]),
            dc: "dc".into(),
            rack: "r".into(),
            tokens: vec![-100, 0, 100],
        });
        ring.upsert(Endpoint {
            host_id: Uuid::from_u128(2),
            address: std::net::IpAddr::from([127, 0, 2, 2]),
            dc: "dc".into(),
            rack: "r".into(),
            tokens: vec![50],
        });
        ring
    };
    assert_eq!(
        super::split_ranges(&sim_ring, Unbounded, Unbounded),
        vec![
            (Unbounded, Included(-100), -100),
            (Excluded(-100), Included(0), 0),
            (Excluded(0), Included(50), 50),
            (Excluded(50), Included(100), 100),
            (Excluded(100), Unbounded, i64::MAX),
        ]
    );
    assert_eq!(
        super::split_ranges(&sim_ring, Excluded(0), Included(50)),
        vec![(Excluded(0), Included(50), 50)]
    );
    assert_eq!(
        super::split_ranges(&sim_ring, Included(-5), Excluded(60)),
        vec![
            (Included(-5), Included(0), 0),
            (Excluded(0), Included(50), 50),
            (Excluded(50), Excluded(60), 59),
        ]
    );
}

/// A contact the failure detector still believes alive but that does not answer (a node
/// just killed) is replaced by a spare replica after the speculative-retry delay, so QUORUM
/// reads keep succeeding before the node is marked down.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_contact_is_replaced_by_a_spare_replica() {
    let sim = Sim::new(7);
    let coordinator = sim.coordinator(0, DEADLINE);
    let table = sim.nodes[0].table.clone();
    for k in 0..10 {
        coordinator
            .mutate(write(&table, vec![update(k, k, 1)]), Consistency::All)
            .await
            .expect("ALL");
    }
    for silent in [1, 2] {
        sim.unreachable.lock().unwrap().insert(sim.host(silent));
        for k in 0..10 {
            assert_eq!(
                value_at(&coordinator, &table, k, Consistency::Quorum).await,
                Some(k),
                "node {silent} silent, key {k}"
            );
        }
        sim.unreachable.lock().unwrap().clear();
    }
}

/// `cas` of `UPDATE .. SET v = n + 1 IF v = n` on key `k` (an absent row counts as 0):
/// `Ok(true)` applied, `Ok(false)` not (the value differed).
async fn increment_if(
    coordinator: &Coordinator,
    table: &Arc<Table>,
    k: i32,
    n: i32,
) -> Result<bool, CoordinatorError> {
    coordinator
        .cas(
            0,
            read_partition(table, k),
            Consistency::Serial,
            Consistency::Quorum,
            |current, timestamp| {
                let value = rows(&current).first().map_or(0, |(_, v)| *v);
                let applied = value == n;
                let command = applied.then(|| write(table, vec![update(k, n + 1, timestamp)]));
                Ok::<_, CoordinatorError>((command, applied))
            },
        )
        .await
}

/// Method: three coordinators run read-then-compare-and-set increments of one key at once
/// over the lossy in-process network (every Paxos message through its wire format); each
/// applied increment is counted, and the final SERIAL read must equal the number applied
/// (plus at most the timed-out ones, whose outcome is unknown), with no two applied from
/// the same value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_compare_and_set_through_three_coordinators_is_linearizable() {
    let seed = crate::test_rng::seed_from_env("STRATA_TEST_SEED", 0xCA5_C0DE);
    println!("seed {seed:#x} (STRATA_TEST_SEED replays it)");
    let sim = Sim::new(seed);
    {
        let mut network = sim.network.lock().unwrap();
        network.loss_percent = 5;
        network.max_delay_ms = 3;
    }
    let tasks: Vec<_> = (0..3)
        .map(|n| {
            let sim = sim.clone();
            tokio::spawn(async move {
                let coordinator = sim.coordinator(n, DEADLINE);
                let table = sim.nodes[n].table.clone();
                let (mut applied, mut unknown) = (Vec::new(), 0);
                for _ in 0..8 {
                    let Ok(current) = coordinator
                        .read(read_partition(&table, 7), Consistency::Serial)
                        .await
                    else {
                        continue;
                    };
                    let value = rows(&current).first().map_or(0, |(_, v)| *v);
                    match increment_if(&coordinator, &table, 7, value).await {
                        Ok(true) => applied.push(value),
                        Ok(false) => {}
                        Err(CoordinatorError::WriteTimeout { .. }) => unknown += 1,
                        // The condition's QUORUM read timed out (Cassandra's cas() rethrows
                        // it as is): nothing was proposed, so nothing was applied.
                        Err(CoordinatorError::ReadTimeout { .. }) => {}
                        Err(other) => panic!("{other:?}"),
                    }
                }
                (applied, unknown)
            })
        })
        .collect();
    let (mut applied, mut unknown) = (Vec::new(), 0);
    for task in tasks {
        let (a, u) = task.await.expect("task");
        applied.extend(a);
        unknown += u;
    }
    sim.network.lock().unwrap().loss_percent = 0;
    let coordinator = sim.coordinator(1, DEADLINE);
    let table = sim.nodes[1].table.clone();
    let last = value_at(&coordinator, &table, 7, Consistency::Serial)
        .await
        .unwrap_or(0);
    println!(
        "{} applied, {unknown} timed out, final value {last}",
        applied.len()
    );
    let count = applied.len();
    applied.sort_unstable();
    applied.dedup();
    assert_eq!(
        applied.len(),
        count,
        "two increments applied from one value"
    );
    assert!(count > 0);
    assert!(
        count as i32 <= last && last as usize <= count + unknown,
        "{count} {last}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compare_and_set_needs_a_quorum_of_live_replicas() {
    let sim = Sim::new(3);
    let coordinator = sim.coordinator(0, DEADLINE);
    let table = sim.nodes[0].table.clone();
    // One replica down (and unreachable): a quorum of the others decides.
    sim.down.lock().unwrap().insert(sim.host(2));
    sim.unreachable.lock().unwrap().insert(sim.host(2));
    assert!(increment_if(&coordinator, &table, 3, 0).await.expect("cas"));
    assert!(!increment_if(&coordinator, &table, 3, 0).await.expect("cas"));
    assert_eq!(held_by(&sim, 1, 3).await, Some(1));
    // Two down: Unavailable at SERIAL before anything is sent.
    sim.down.lock().unwrap().insert(sim.host(1));
    let refused = increment_if(&coordinator, &table, 3, 1).await;
    assert!(
        matches!(
            refused,
            Err(CoordinatorError::Unavailable {
                consistency: Consistency::Serial,
                required: 2,
                alive: 1,
                ..
            })
        ),
        "{refused:?}"
    );
    assert_eq!(held_by(&sim, 0, 3).await, Some(1), "nothing was written");
    // A replica that answers nothing although believed up: the round times out as CAS.
    sim.down.lock().unwrap().clear();
    sim.unreachable.lock().unwrap().insert(sim.host(1));
    let timed_out = increment_if(&coordinator, &table, 3, 1).await;
    assert!(
        matches!(
            timed_out,
            Err(CoordinatorError::WriteTimeout {
                consistency: Consistency::Serial,
                received: 1,
                block_for: 2,
                write_type: strata_protocol::WriteType::Cas,
                contentions: Some(_),
            })
        ),
        "{timed_out:?}"
    );
}
