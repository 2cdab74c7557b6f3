//! A seeded simulation of the metadata log: several openraft nodes in one process, each
//! with its real log store and schema-store state machine (engine on a temporary
//! directory), connected by a simulated network that drops messages and partitions
//! nodes. Time is tokio's paused clock, so timeouts elapse without waiting.
//!
//! Asserts: whatever the faults, nodes that applied the same log agree on the schema
//! (same version digest, same table ids, every table on a branch of its own engine); a
//! leader cut off from the others is replaced and the log keeps committing.
//!
//! The fault schedule and the workload come from the printed seed
//! (`STRATA_METADATA_SIM_SEED` replays one); openraft's own election jitter is not
//! seeded, so a replay repeats the schedule, not every interleaving.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use openraft::error::{
    Infallible, InstallSnapshotError, RPCError, RaftError, RemoteError, Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use strata_engine::{Engine, Options, SystemClock, ROOT_VERSION};
use uuid::Uuid;

use super::*;
use crate::schema::{ClusteringOrder, ColumnDef, ColumnKind, KeyspaceDef, TableDef, TableOptions};
use crate::test_dir::TempDir;
use crate::test_rng::{seed_from_env, Rng};

/// Who can reach whom, and how lossy the links are.
struct Router {
    rafts: BTreeMap<NodeId, MetaRaft>,
    isolated: BTreeSet<NodeId>,
    drop_percent: u64,
    rng: Rng,
}

type SharedRouter = Arc<Mutex<Router>>;
type RpcResult<T, E> = Result<T, RPCError<NodeId, MetaNode, RaftError<NodeId, E>>>;

fn lock(router: &SharedRouter) -> std::sync::MutexGuard<'_, Router> {
    router.lock().unwrap_or_else(|e| e.into_inner())
}

#[derive(Debug, thiserror::Error)]
#[error("simulated network: message lost")]
struct Lost;

struct SimNetwork {
    router: SharedRouter,
    from: NodeId,
}

impl RaftNetworkFactory<TypeConfig> for SimNetwork {
    type Network = SimPeer;

    async fn new_client(&mut self, target: NodeId, _node: &MetaNode) -> SimPeer {
        SimPeer {
            router: self.router.clone(),
            from: self.from,
            target,
        }
    }
}

struct SimPeer {
    router: SharedRouter,
    from: NodeId,
    target: NodeId,
}

impl SimPeer {
    /// The target's raft when the message gets through (and a delivery delay).
    fn deliver<E: std::error::Error>(&self) -> RpcResult<(MetaRaft, Duration), E> {
        let mut router = lock(&self.router);
        let cut = router.isolated.contains(&self.from) || router.isolated.contains(&self.target);
        let drop_percent = router.drop_percent;
        let lost = cut || router.rng.chance(drop_percent);
        let delay = Duration::from_millis(1 + router.rng.below(20) as u64);
        match router.rafts.get(&self.target) {
            Some(raft) if !lost => Ok((raft.clone(), delay)),
            _ => Err(RPCError::Unreachable(Unreachable::new(&Lost))),
        }
    }
}

fn remote<T, E: std::error::Error>(
    target: NodeId,
    result: Result<T, RaftError<NodeId, E>>,
) -> RpcResult<T, E> {
    result.map_err(|e| RPCError::RemoteError(RemoteError::new(target, e)))
}

impl RaftNetwork<TypeConfig> for SimPeer {
    async fn append_entries(
        &mut self,
        request: AppendEntriesRequest<TypeConfig>,
        _option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, MetaNode, RaftError<NodeId>>> {
        let (raft, delay) = self.deliver::<Infallible>()?;
        tokio::time::sleep(delay).await;
        remote(self.target, raft.append_entries(request).await)
    }

    async fn install_snapshot(
        &mut self,
        request: InstallSnapshotRequest<TypeConfig>,
        _option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<NodeId>,
        RPCError<NodeId, MetaNode, RaftError<NodeId, InstallSnapshotError>>,
    > {
        let (raft, delay) = self.deliver::<InstallSnapshotError>()?;
        tokio::time::sleep(delay).await;
        remote(self.target, raft.install_snapshot(request).await)
    }

    async fn vote(
        &mut self,
        request: VoteRequest<NodeId>,
        _option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, MetaNode, RaftError<NodeId>>> {
        let (raft, delay) = self.deliver::<Infallible>()?;
        tokio::time::sleep(delay).await;
        remote(self.target, raft.vote(request).await)
    }
}

struct SimNode {
    id: NodeId,
    host_id: Uuid,
    raft: MetaRaft,
    store: Arc<SchemaStore>,
    engine: Arc<Engine>,
    _dir: TempDir,
}

/// An engine and a schema store on `dir`.
pub(super) fn open_store(dir: &TempDir) -> (Arc<Engine>, Arc<SchemaStore>) {
    let engine = Arc::new(
        Engine::open_dir(
            dir.path().join("engine"),
            Options::default(),
            Arc::new(SystemClock),
        )
        .unwrap(),
    );
    let store = Arc::new(SchemaStore::open(engine.clone()).unwrap());
    (engine, store)
}

async fn start_node(router: &SharedRouter, host_id: Uuid) -> SimNode {
    let dir = TempDir::new("metadata-sim");
    let (engine, store) = open_store(&dir);
    let me = MetaNode {
        host_id,
        addr: format!("sim-{host_id}"),
    };
    let network = SimNetwork {
        router: router.clone(),
        from: node_id(host_id),
    };
    let (raft, id) = start_raft(
        &dir.path().join("metadata"),
        &me,
        store.clone(),
        engine.clone(),
        Arc::new(|_| {}),
        AppliedPosition::default(),
        network,
    )
    .await
    .unwrap();
    lock(router).rafts.insert(id, raft.clone());
    SimNode {
        id,
        host_id,
        raft,
        store,
        engine,
        _dir: dir,
    }
}

/// Keyspace `ks` (SimpleStrategy, RF 3).
pub(super) fn keyspace_def() -> KeyspaceDef {
    KeyspaceDef {
        name: "ks".into(),
        replication: BTreeMap::from([
            (
                "class".to_string(),
                "org.apache.cassandra.locator.SimpleStrategy".to_string(),
            ),
            ("replication_factor".to_string(), "3".to_string()),
        ]),
        durable_writes: true,
    }
}

/// Table `ks.<name>` with one int partition key.
pub(super) fn table_def(name: &str, id: Uuid, data_version: strata_engine::VersionId) -> TableDef {
    TableDef {
        keyspace: "ks".into(),
        name: name.into(),
        id,
        columns: vec![ColumnDef {
            name: "k".into(),
            type_text: "int".into(),
            kind: ColumnKind::PartitionKey,
            order: ClusteringOrder::Asc,
        }],
        partition_key: vec!["k".into()],
        clustering: Vec::new(),
        options: TableOptions::default(),
        data_version,
        dropped_columns: BTreeMap::new(),
        dropped_column_types: Default::default(),
    }
}

/// What node `p` would propose next, validated against its own (maybe stale) catalog.
fn next_command(node: &SimNode, rng: &mut Rng) -> SchemaCommand {
    let catalog = node.store.catalog();
    let writes = if catalog.keyspace("ks").is_none() {
        vec![SchemaWrite::PutKeyspace(keyspace_def())]
    } else {
        let name = format!("t{}", rng.below(4));
        if catalog.table("ks", &name).is_some() {
            vec![SchemaWrite::DropTable {
                keyspace: "ks".into(),
                name,
            }]
        } else {
            let id = Uuid::from_u64_pair(rng.next(), rng.next());
            let branch = node.engine.clone_version(ROOT_VERSION).unwrap();
            vec![SchemaWrite::PutTable(table_def(&name, id, branch))]
        }
    };
    command(node.host_id, &catalog, writes)
}

/// The leader as `node` sees it, if `node` can reach it.
async fn reachable_leader<'n>(
    nodes: &'n [SimNode],
    node: &SimNode,
    router: &SharedRouter,
) -> Option<&'n SimNode> {
    let leader = node.raft.current_leader().await?;
    let router = lock(router);
    if router.isolated.contains(&node.id) || router.isolated.contains(&leader) {
        return None;
    }
    nodes.iter().find(|n| n.id == leader)
}

/// Heals the network and waits until every node applied the same last index; then
/// checks that they agree on the schema.
async fn converge(nodes: &[SimNode], router: &SharedRouter) -> u64 {
    {
        let mut router = lock(router);
        router.isolated.clear();
        router.drop_percent = 0;
    }
    let mut last = 0;
    for _ in 0..600 {
        let applied: BTreeSet<u64> = nodes
            .iter()
            .map(|n| {
                n.raft
                    .metrics()
                    .borrow()
                    .last_applied
                    .map_or(0, |l| l.index)
            })
            .collect();
        let logs: BTreeSet<u64> = nodes
            .iter()
            .map(|n| n.raft.metrics().borrow().last_log_index.unwrap_or(0))
            .collect();
        if applied.len() == 1 && logs.len() == 1 && applied == logs {
            last = applied.into_iter().next().unwrap_or(0);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(last > 0, "nodes did not converge within 60 s of healing");
    let first = nodes[0].store.catalog();
    for node in nodes {
        let catalog = node.store.catalog();
        assert_eq!(
            catalog.version, first.version,
            "divergent schema at index {last}"
        );
        let ids = |c: &Catalog| -> Vec<(String, Uuid)> {
            c.keyspace("ks")
                .map(|k| {
                    k.tables
                        .values()
                        .map(|t| (t.def.name.clone(), t.def.id))
                        .collect()
                })
                .unwrap_or_default()
        };
        assert_eq!(ids(&catalog), ids(&first));
        for table in catalog
            .keyspace("ks")
            .into_iter()
            .flat_map(|k| k.tables.values())
        {
            assert!(
                node.engine.version_info(table.def.data_version).is_some(),
                "table {} has no branch on node {}",
                table.def.name,
                node.id
            );
        }
    }
    last
}

#[tokio::test(start_paused = true)]
async fn schema_log_never_diverges_under_loss_partitions_and_leader_loss() {
    let seed = seed_from_env("STRATA_METADATA_SIM_SEED", 0x00c0_ffee_5eed_0012);
    println!("metadata sim seed: {seed} (STRATA_METADATA_SIM_SEED={seed} replays it)");
    let mut rng = Rng(seed);
    let router: SharedRouter = Arc::new(Mutex::new(Router {
        rafts: BTreeMap::new(),
        isolated: BTreeSet::new(),
        drop_percent: 0,
        rng: Rng(seed ^ 0x9e37_79b9_7f4a_7c15),
    }));
    let mut nodes = Vec::new();
    for _ in 0..3 {
        let host = Uuid::from_u64_pair(rng.next(), rng.next());
        nodes.push(start_node(&router, host).await);
    }
    // The first node forms the group; the others join as learners, then voters.
    nodes[0]
        .raft
        .initialize(BTreeMap::from([(
            nodes[0].id,
            MetaNode {
                host_id: nodes[0].host_id,
                addr: String::new(),
            },
        )]))
        .await
        .unwrap();
    nodes[0]
        .raft
        .wait(Some(Duration::from_secs(10)))
        .current_leader(nodes[0].id, "first leader")
        .await
        .unwrap();
    for node in &nodes[1..] {
        let me = MetaNode {
            host_id: node.host_id,
            addr: String::new(),
        };
        assert!(matches!(
            admit(&nodes[0].raft, me).await,
            MembershipReply::Done
        ));
    }

    let (mut applied, mut conflicts, mut lost) = (0, 0, 0);
    for round in 0..3 {
        for _step in 0..25 {
            match rng.below(10) {
                0 => {
                    let victim = nodes[rng.below(nodes.len())].id;
                    let mut router = lock(&router);
                    router.isolated.clear();
                    router.isolated.insert(victim);
                }
                1 => lock(&router).isolated.clear(),
                2 => lock(&router).drop_percent = rng.below(30) as u64,
                _ => {
                    let proposer = &nodes[rng.below(nodes.len())];
                    let command = next_command(proposer, &mut rng);
                    let Some(leader) = reachable_leader(&nodes, proposer, &router).await else {
                        lost += 1;
                        tokio::time::sleep(Duration::from_millis(300)).await;
                        continue;
                    };
                    let write = leader.raft.client_write(command);
                    match tokio::time::timeout(Duration::from_secs(3), write).await {
                        Ok(Ok(response)) if response.data == ApplyOutcome::Applied => applied += 1,
                        Ok(Ok(_)) => conflicts += 1,
                        _ => lost += 1,
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(rng.below(200) as u64)).await;
        }
        let index = converge(&nodes, &router).await;
        println!("round {round}: converged at index {index}");
    }

    // Leader loss: cut the leader off; the majority elects another and keeps committing.
    let old = nodes[0].raft.current_leader().await.unwrap();
    lock(&router).isolated.insert(old);
    let mut recovered = None;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let survivor = nodes.iter().find(|n| n.id != old).unwrap();
        if let Some(leader) = survivor.raft.current_leader().await.filter(|l| *l != old) {
            recovered = Some(leader);
            break;
        }
    }
    let new = recovered.expect("no new leader within 10 s of losing the old one");
    let leader = nodes.iter().find(|n| n.id == new).unwrap();
    let response = leader
        .raft
        .client_write(next_command(leader, &mut rng))
        .await
        .unwrap();
    assert_eq!(response.data, ApplyOutcome::Applied);
    converge(&nodes, &router).await;
    println!(
        "applied {applied}, conflicts {conflicts}, lost {lost}; leader {old} replaced by {new}"
    );
    assert!(applied > 0 && conflicts + applied + lost > 20);
    for node in &nodes {
        node.raft.shutdown().await.unwrap();
    }
}
