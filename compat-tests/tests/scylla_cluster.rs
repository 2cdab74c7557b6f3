//! A 3-node cluster through the ScyllaDB Rust driver: given one contact point it discovers all
//! three nodes (host ids, DC, tokens), its token map names the replicas `nodetool getendpoints`
//! names, requests are routed token-aware (RF=1: the coordinator is the key's one replica),
//! QUORUM writes are seen by reads at ONE through every node, and the session keeps working at
//! QUORUM when one node is stopped. The nodes run on loopback addresses of their own
//! (127.0.13.21-23; Linux routes all of 127.0.0.0/8 to lo) with the same ports, as in a real
//! cluster. Every wait is bounded.

// Each test file compiles its own copy of the shared harness and uses a part of it.
#[allow(dead_code)]
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::error::Error;
use std::net::{IpAddr, Ipv4Addr, TcpListener, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{free_port, NodePorts, StrataNode, TestResult};
use scylla::client::execution_profile::ExecutionProfile;
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::cluster::Node;
use scylla::policies::load_balancing::{NodeIdentifier, SingleTargetLoadBalancingPolicy};
use scylla::statement::Consistency;

const HOSTS: [IpAddr; 3] = [
    IpAddr::V4(Ipv4Addr::new(127, 0, 13, 21)),
    IpAddr::V4(Ipv4Addr::new(127, 0, 13, 22)),
    IpAddr::V4(Ipv4Addr::new(127, 0, 13, 23)),
];
/// From the seed's start to every node up in `nodetool status`.
const FORM_TIMEOUT: Duration = Duration::from_secs(30);
/// What a read at ONE waits for a QUORUM write to reach its last replica.
const CONVERGE_TIMEOUT: Duration = Duration::from_secs(5);

/// A TCP and UDP port free on every host (a small race is accepted): the storage port
/// carries gossip (UDP) and messaging (TCP).
fn shared_port() -> Result<u16, Box<dyn Error>> {
    for _ in 0..50 {
        let port = free_port(HOSTS[0])?;
        let free = HOSTS.iter().all(|host| {
            TcpListener::bind((*host, port)).is_ok() && UdpSocket::bind((*host, port)).is_ok()
        });
        if free {
            return Ok(port);
        }
    }
    Err("no port free on every host".into())
}

/// Polls `condition` every 200 ms until it holds; fails after `timeout`.
async fn wait_for(
    what: &str,
    timeout: Duration,
    mut condition: impl FnMut() -> Result<bool, Box<dyn Error>>,
) -> TestResult {
    let started = Instant::now();
    while started.elapsed() < timeout {
        if condition()? {
            println!("{what}: {:.2} s", started.elapsed().as_secs_f64());
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(format!("{what}: not within {timeout:?}").into())
}

/// Addresses `nodetool status` on `node` shows with state `UN`.
fn up_normal(node: &StrataNode) -> Result<BTreeSet<String>, Box<dyn Error>> {
    Ok(node
        .nodetool(&["status"])?
        .lines()
        .filter(|line| line.starts_with("UN"))
        .filter_map(|line| line.split_whitespace().nth(1).map(str::to_string))
        .collect())
}

/// Starts one node per host (the first is the seed) and waits until each sees all up.
async fn start_cluster() -> Result<Vec<StrataNode>, Box<dyn Error>> {
    let ports = NodePorts {
        native: shared_port()?,
        storage: shared_port()?,
        admin: shared_port()?,
    };
    let seed = HOSTS[0].to_string();
    let mut nodes = Vec::new();
    for host in HOSTS {
        nodes.push(StrataNode::launch(host, ports, &["--seeds", &seed])?);
    }
    for node in &mut nodes {
        node.wait_until_listening()?;
    }
    let all: BTreeSet<String> = HOSTS.iter().map(IpAddr::to_string).collect();
    for node in &nodes {
        wait_for(
            &format!("{} sees every node UN", node.host()),
            FORM_TIMEOUT,
            || Ok(up_normal(node)? == all),
        )
        .await?;
    }
    Ok(nodes)
}

/// A session on `node` alone, at ONE.
async fn session_on(node: &Arc<Node>, contact: &StrataNode) -> Result<Session, Box<dyn Error>> {
    let profile = ExecutionProfile::builder()
        .load_balancing_policy(SingleTargetLoadBalancingPolicy::new(
            NodeIdentifier::Node(node.clone()),
            None,
        ))
        .consistency(Consistency::One)
        .build();
    Ok(SessionBuilder::new()
        .known_node_addr(contact.address())
        .default_execution_profile_handle(profile.into_handle())
        .build()
        .await?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovers_every_node_routes_token_aware_and_survives_a_stopped_node() -> TestResult {
    let started = Instant::now();
    let mut nodes = start_cluster().await?;
    let profile = ExecutionProfile::builder()
        .consistency(Consistency::Quorum)
        .build();
    let session = SessionBuilder::new()
        .known_node_addr(nodes[0].address())
        .default_execution_profile_handle(profile.into_handle())
        .build()
        .await?;

    let state = session.get_cluster_state();
    let known: BTreeMap<IpAddr, Arc<Node>> = state
        .get_nodes_info()
        .iter()
        .map(|node| (node.address.ip(), node.clone()))
        .collect();
    assert_eq!(
        known.keys().copied().collect::<Vec<_>>(),
        HOSTS.to_vec(),
        "nodes discovered from one contact point"
    );
    for node in known.values() {
        assert_eq!(node.datacenter.as_deref(), Some("datacenter1"));
        assert!(!node.host_id.is_nil(), "{node:?}");
    }
    wait_for(
        "the driver is connected to all 3 nodes",
        FORM_TIMEOUT,
        || Ok(known.values().all(|node| node.is_connected())),
    )
    .await?;

    for ddl in [
        "CREATE KEYSPACE rs_rf1 WITH replication = \
         {'class': 'SimpleStrategy', 'replication_factor': 1}",
        "CREATE TABLE rs_rf1.t (k int PRIMARY KEY, v int)",
        "CREATE KEYSPACE rs_rf3 WITH replication = \
         {'class': 'SimpleStrategy', 'replication_factor': 3}",
        "CREATE TABLE rs_rf3.t (k int PRIMARY KEY, v int)",
    ] {
        session.query_unpaged(ddl, &()).await?;
    }
    session.refresh_metadata().await?;
    let state = session.get_cluster_state();

    // RF=1: each key's coordinator is its one replica, which the driver's token map and
    // nodetool getendpoints agree on.
    let insert = session
        .prepare("INSERT INTO rs_rf1.t (k, v) VALUES (?, ?)")
        .await?;
    let mut per_owner = BTreeMap::<IpAddr, usize>::new();
    for k in 0..30_i32 {
        let result = session.execute_unpaged(&insert, (k, k)).await?;
        let coordinator = result.request_coordinator().node().address.ip();
        let replicas: Vec<IpAddr> = state
            .get_endpoints("rs_rf1", "t", &(k,))?
            .iter()
            .map(|(node, _)| node.address.ip())
            .collect();
        let owner =
            nodes[k as usize % 3].nodetool(&["getendpoints", "rs_rf1", "t", &k.to_string()])?;
        assert_eq!(replicas, vec![owner.trim().parse::<IpAddr>()?], "key {k}");
        assert_eq!(coordinator, replicas[0], "coordinator of key {k}");
        *per_owner.entry(coordinator).or_default() += 1;
    }
    println!("RF=1 keys per owner: {per_owner:?}");
    assert_eq!(per_owner.len(), 3, "30 keys land on all 3 nodes");

    // RF=3 at QUORUM: reads at ONE through every node see every write.
    let insert = session
        .prepare("INSERT INTO rs_rf3.t (k, v) VALUES (?, ?)")
        .await?;
    for k in 0..50_i32 {
        session.execute_unpaged(&insert, (k, k)).await?;
    }
    for node in known.values() {
        let local = session_on(node, &nodes[0]).await?;
        let select = local.prepare("SELECT v FROM rs_rf3.t WHERE k = ?").await?;
        let deadline = Instant::now() + CONVERGE_TIMEOUT;
        for k in 0..50_i32 {
            loop {
                let result = local.execute_unpaged(&select, (k,)).await?;
                assert_eq!(
                    result.request_coordinator().node().address.ip(),
                    node.address.ip()
                );
                let row = result.into_rows_result()?.maybe_first_row::<(i32,)>()?;
                if row == Some((k,)) {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "key {k} not seen through {}",
                    node.address
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }

    // One node stopped gracefully: QUORUM (2 of 3) still works through the same session.
    nodes[2].stop()?;
    let stopped_at = Instant::now();
    let select = session
        .prepare("SELECT v FROM rs_rf3.t WHERE k = ?")
        .await?;
    for k in 100..150_i32 {
        let result = session.execute_unpaged(&insert, (k, k)).await?;
        assert_ne!(result.request_coordinator().node().address.ip(), HOSTS[2]);
    }
    for k in 100..150_i32 {
        let result = session.execute_unpaged(&select, (k,)).await?;
        assert_ne!(result.request_coordinator().node().address.ip(), HOSTS[2]);
        let row = result.into_rows_result()?.maybe_first_row::<(i32,)>()?;
        assert_eq!(row, Some((k,)), "key {k}");
    }
    println!(
        "100 QUORUM requests with {} stopped in {:.2} s; whole test {:.2} s",
        HOSTS[2],
        stopped_at.elapsed().as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
