//! The cluster's `nodetool` views: `status`, `ring`, `gossipinfo`, `getendpoints`, in
//! Cassandra's layouts. Pure functions of the node's ring, membership and catalog, except
//! `gossipinfo`, which reads gossip's raw state; and `removenode`, which changes the
//! cluster through the metadata log.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::net::IpAddr;
use std::sync::Arc;

use uuid::Uuid;

use super::metadata::Replication;
use super::placement::{effective_ownership, Strategy};
use super::ring::{primary_ownership, Ring};
use super::Host;
use crate::schema::RemovedNode;
use crate::util::human_bytes;

/// One row of `status`/`ring`.
struct Row {
    host_id: Uuid,
    address: IpAddr,
    dc: String,
    rack: String,
    up: bool,
    joining: bool,
    load: u64,
    tokens: usize,
}

fn rows(node: &dyn Host, ring: &Ring) -> Vec<Row> {
    let mut rows: Vec<Row> = node
        .membership()
        .peers()
        .into_iter()
        .map(|p| Row {
            host_id: p.info.host_id,
            address: p.info.address,
            dc: p.info.dc.clone(),
            rack: p.info.rack.clone(),
            up: p.alive,
            joining: p.info.tokens.is_empty(),
            load: p.info.load,
            tokens: p.info.tokens.len(),
        })
        .collect();
    let local = ring.local();
    rows.push(Row {
        host_id: local.host_id,
        address: local.address,
        dc: local.dc.clone(),
        rack: local.rack.clone(),
        up: true,
        joining: local.tokens.is_empty(),
        load: node.engine().stats().array_bytes,
        tokens: local.tokens.len(),
    });
    rows.sort_by(|a, b| (&a.dc, a.address).cmp(&(&b.dc, b.address)));
    rows
}

/// The strategy "Owns (effective)" is computed for: the named keyspace's, else the one
/// every non-system keyspace shares (primary ownership when there are none). `Err` is
/// the reason it is meaningless, as Cassandra prints it.
fn ownership(
    node: &dyn Host,
    ring: &Ring,
    keyspace: Option<&str>,
) -> Result<BTreeMap<Uuid, f64>, String> {
    let catalog = node.schema().catalog();
    let strategy_of = |options| Strategy::from_options(options).map_err(|e| e.to_string());
    let strategy = match keyspace {
        Some(name) => {
            let ks = catalog
                .keyspace(name)
                .ok_or_else(|| format!("The keyspace {name}, does not exist"))?;
            strategy_of(&ks.def.replication)?
        }
        None => {
            let mut user = catalog
                .keyspaces
                .values()
                .filter(|k| !k.system)
                .map(|k| &k.def.replication);
            let Some(first) = user.next() else {
                return Ok(primary_ownership(ring));
            };
            if user.any(|other| other != first) {
                return Err("Non-system keyspaces don't have the same replication settings, effective ownership information is meaningless".into());
            }
            strategy_of(first)?
        }
    };
    Ok(effective_ownership(ring, &strategy))
}

fn percent(owns: &Result<BTreeMap<Uuid, f64>, String>, host: &Uuid) -> String {
    match owns {
        Ok(map) => format!("{:.1}%", map.get(host).copied().unwrap_or(0.0) * 100.0),
        Err(_) => "?".into(),
    }
}

fn dc_header(out: &mut String, dc: &str) {
    let title = format!("Datacenter: {dc}");
    let _ = writeln!(out, "{title}\n{}", "=".repeat(title.len()));
}

/// `nodetool describecluster` in Cassandra 5.0's layout: the schema version each node
/// reports through gossip (unreachable nodes under `UNREACHABLE`), node counts, datacenters,
/// release versions and the keyspaces' replication.
pub fn describecluster(node: &dyn Host) -> String {
    let config = node.config();
    let catalog = node.schema().catalog();
    let ring = node.coordinator().ring();
    let local = ring.local();
    let peers = node.membership().peers();
    let mut schemas: BTreeMap<String, Vec<IpAddr>> = BTreeMap::new();
    let mut releases: BTreeMap<String, Vec<IpAddr>> = BTreeMap::new();
    schemas
        .entry(node.metadata().applied().1.to_string())
        .or_default()
        .push(local.address);
    releases
        .entry(crate::version::RELEASE_VERSION.to_string())
        .or_default()
        .push(local.address);
    for peer in &peers {
        let version = node.metadata().peer_schema_version(
            peer.info.host_id,
            (peer.info.epoch, peer.info.schema_version),
        );
        let schema = match (peer.alive, version) {
            (true, Some(version)) => version.to_string(),
            (true, None) => "UNKNOWN".to_string(),
            (false, _) => "UNREACHABLE".to_string(),
        };
        schemas.entry(schema).or_default().push(peer.info.address);
        releases
            .entry(peer.info.release_version.clone())
            .or_default()
            .push(peer.info.address);
    }
    let snitch = match config.endpoint_snitch {
        crate::config::Snitch::Simple => "SimpleSnitch",
        crate::config::Snitch::GossipingPropertyFile => "GossipingPropertyFileSnitch",
    };
    let mut out = format!(
        "Cluster Information:\n\tName: {}\n\tSnitch: org.apache.cassandra.locator.{snitch}\n\t\
         DynamicEndPointSnitch: disabled\n\tPartitioner: {}\n\tSchema versions:\n",
        config.cluster_name,
        crate::version::PARTITIONER
    );
    let list = |addresses: &[IpAddr], port: Option<u16>| -> String {
        let mut sorted = addresses.to_vec();
        sorted.sort();
        let items: Vec<String> = sorted
            .iter()
            .map(|a| port.map_or(a.to_string(), |p| format!("{a}:{p}")))
            .collect();
        format!("[{}]", items.join(", "))
    };
    for (version, addresses) in &schemas {
        let _ = writeln!(out, "\t\t{version}: {}\n", list(addresses.as_slice(), None));
    }
    let rows = rows(node, &ring);
    let unreachable = rows.iter().filter(|r| !r.up).count();
    let joining = rows.iter().filter(|r| r.up && r.joining).count();
    let _ = write!(
        out,
        "Stats for all nodes:\n\tLive: {}\n\tJoining: {joining}\n\tMoving: 0\n\t\
         Leaving: 0\n\tUnreachable: {unreachable}\n\nData Centers: \n",
        rows.len() - unreachable
    );
    let mut dcs: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for row in &rows {
        let entry = dcs.entry(row.dc.as_str()).or_default();
        entry.0 += 1;
        entry.1 += usize::from(!row.up);
    }
    for (dc, (nodes, down)) in dcs {
        let _ = writeln!(out, "\t{dc} #Nodes: {nodes} #Down: {down}");
    }
    out.push_str("\nDatabase versions:\n");
    for (version, addresses) in &releases {
        let _ = writeln!(
            out,
            "\t{version}: {}\n",
            list(addresses.as_slice(), Some(config.storage_port))
        );
    }
    out.push_str("Keyspaces:\n");
    for keyspace in catalog.keyspaces.values() {
        let replication = &keyspace.def.replication;
        let class = replication
            .get("class")
            .map(|c| c.rsplit('.').next().unwrap_or(c))
            .unwrap_or_default();
        let options: Vec<String> = replication
            .iter()
            .filter(|(k, _)| k.as_str() != "class")
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let _ = writeln!(
            out,
            "\t{} -> Replication class: {class} {{{}}}",
            keyspace.def.name,
            options.join(", ")
        );
    }
    out
}

/// `nodetool status [keyspace]`.
pub fn status(node: &dyn Host, keyspace: Option<&str>) -> Result<String, String> {
    let ring = node.coordinator().ring();
    let owns = ownership(node, &ring, keyspace);
    if let (Some(_), Err(e)) = (keyspace, &owns) {
        return Err(e.clone());
    }
    let rows = rows(node, &ring);
    let mut out = String::new();
    let mut dcs: Vec<&str> = rows.iter().map(|r| r.dc.as_str()).collect();
    dcs.dedup();
    for dc in dcs {
        dc_header(&mut out, dc);
        out.push_str("Status=Up/Down\n|/ State=Normal/Leaving/Joining/Moving\n");
        let _ = writeln!(
            out,
            "--  {:<15}  {:<10}  {:<6}  {:<16}  {:<36}  Rack",
            "Address", "Load", "Tokens", "Owns (effective)", "Host ID"
        );
        for r in rows.iter().filter(|r| r.dc == dc) {
            let state = format!(
                "{}{}",
                if r.up { 'U' } else { 'D' },
                if r.joining { 'J' } else { 'N' }
            );
            let _ = writeln!(
                out,
                "{state}  {:<15}  {:<10}  {:<6}  {:<16}  {:<36}  {}",
                r.address.to_string(),
                human_bytes(r.load),
                r.tokens,
                percent(&owns, &r.host_id),
                r.host_id.to_string(),
                r.rack
            );
        }
        out.push('\n');
    }
    if let Err(note) = owns {
        let _ = writeln!(out, "Note: {note}");
    }
    Ok(out)
}

/// `nodetool ring [keyspace]`: every token with its owner, per datacenter.
pub fn ring(node: &dyn Host, keyspace: Option<&str>) -> Result<String, String> {
    let ring = node.coordinator().ring();
    let owns = ownership(node, &ring, keyspace);
    if let (Some(_), Err(e)) = (keyspace, &owns) {
        return Err(e.clone());
    }
    let rows: BTreeMap<Uuid, Row> = rows(node, &ring)
        .into_iter()
        .map(|r| (r.host_id, r))
        .collect();
    let mut out = String::new();
    let mut dcs: Vec<&str> = rows.values().map(|r| r.dc.as_str()).collect();
    dcs.sort_unstable();
    dcs.dedup();
    for dc in dcs {
        let tokens: Vec<(i64, &Row)> = ring
            .tokens()
            .filter_map(|(t, h)| rows.get(&h).map(|r| (t, r)))
            .filter(|(_, r)| r.dc == dc)
            .collect();
        dc_header(&mut out, dc);
        let _ = writeln!(
            out,
            "{:<15}  {:<10}  {:<6}  {:<7}  {:<10}  {:<16}  Token",
            "Address", "Rack", "Status", "State", "Load", "Owns"
        );
        if let Some((last, _)) = tokens.last() {
            // Cassandra prints the last token alone first, in the Token column.
            let _ = writeln!(out, "{}{last}", " ".repeat(76));
        }
        for (token, r) in tokens {
            let _ = writeln!(
                out,
                "{:<15}  {:<10}  {:<6}  {:<7}  {:<10}  {:<16}  {token}",
                r.address.to_string(),
                r.rack,
                if r.up { "Up" } else { "Down" },
                if r.joining { "Joining" } else { "Normal" },
                human_bytes(r.load),
                percent(&owns, &r.host_id)
            );
        }
        out.push('\n');
    }
    Ok(out)
}

/// `nodetool getendpoints <keyspace> <table> <key>`: the replicas' addresses, one a line.
/// A composite key's components are separated by `:`, as Cassandra's `fromString` reads it.
pub fn getendpoints(node: &dyn Host, args: &[String]) -> Result<String, String> {
    let [keyspace, table, key] = args else {
        return Err("getendpoints requires keyspace, table and partition key arguments".into());
    };
    let catalog = node.schema().catalog();
    let ks = catalog
        .keyspace(keyspace)
        .ok_or_else(|| format!("Keyspace {keyspace} does not exist"))?;
    let table_def = ks
        .tables
        .get(table)
        .ok_or_else(|| format!("Table {table} does not exist in keyspace {keyspace}"))?;
    let key_columns = table_def.partition_key_indexes();
    let parts: Vec<&str> = if key_columns.len() == 1 {
        vec![key.as_str()]
    } else {
        key.split(':').collect()
    };
    if parts.len() != key_columns.len() {
        return Err(format!(
            "Invalid partition key {key}: expected {} components",
            key_columns.len()
        ));
    }
    let components = key_columns
        .iter()
        .zip(parts)
        .map(|(i, part)| {
            let ty = table_def
                .types
                .get(*i)
                .ok_or_else(|| format!("no column {i} in the partition key"))?;
            let value = crate::types::from_json(ty, &serde_json::Value::String(part.to_string()))
                .map_err(|e| e.to_string())?;
            value.ok_or_else(|| "Invalid null partition key".to_string())
        })
        .collect::<Result<Vec<_>, _>>()?;
    let token =
        strata_protocol::murmur3::token(&crate::types::serialize_partition_key(&components));
    let strategy = Strategy::from_options(&ks.def.replication).map_err(|e| e.to_string())?;
    let ring = node.coordinator().ring();
    Ok(strategy
        .replicas(&ring, token)
        .iter()
        .filter_map(|h| ring.endpoint(h))
        .map(|e| format!("{}\n", e.address))
        .collect())
}

/// `nodetool removenode <host id>|status|force`, as Cassandra 5.0: removes a down node
/// from the cluster through the metadata log (`MetadataLog::remove_node`), refusing an
/// unknown host id, the local node and a live node with Cassandra's messages, and answers
/// once every live node that gains ranges has streamed them from the remaining replicas
/// (`cluster::streaming`; a failed stream is an error naming it, the node stays removed);
/// `status` reports a removal this node is running and the nodes it still waits for;
/// `force` ends that wait, or else finishes the removals the log holds whose
/// metadata-group part did not complete.
pub async fn removenode(node: &Arc<dyn Host>, args: &[String]) -> Result<String, String> {
    let [operation] = args else {
        return Err("removenode requires one argument: status, force or a host ID".into());
    };
    let local = node.host_id();
    let liveness = |host: Uuid| node.membership().liveness(local, &host);
    match operation.as_str() {
        "status" => Ok(format!("RemovalStatus: {}\n", removal_status(&**node))),
        "force" => {
            let status = format!("RemovalStatus: {}\n", removal_status(&**node));
            if node.metadata().force_removal() {
                // The running removal leaves the group itself once it stops waiting.
                return Ok(status);
            }
            let removed = node.schema().catalog().removed_nodes.clone();
            let completed = node
                .metadata()
                .complete_removals(&removed, &liveness)
                .await
                .map_err(|e| e.to_string())?;
            if completed == 0 {
                tracing::warn!("No nodes to force removal on, call 'removenode' first");
            }
            Ok(status)
        }
        id => {
            let host_id = Uuid::parse_str(id).map_err(|_| format!("Invalid UUID string: {id}"))?;
            let removed = removal_target(&**node, host_id)?;
            tracing::info!(host_id = %host_id, address = %removed.address, "removing node");
            let catalog = node.schema().catalog();
            let ring = node.coordinator().ring();
            let alive = |h: &Uuid| *h == local || node.membership().is_alive(local, h);
            let plan = super::streaming::removal_plan(&catalog, &ring, host_id, alive);
            let mut replications: Vec<Replication> = Vec::new();
            for (target, streams) in plan {
                let Some(address) = ring.endpoint(&target).map(|e| e.address) else {
                    continue;
                };
                if !alive(&target) {
                    // As Cassandra: a gaining node that is down gets no data (read repair
                    // completes it later).
                    tracing::warn!(%address, "Endpoint is down and will not receive data for re-replication");
                    continue;
                }
                let node = node.clone();
                replications.push((
                    address,
                    Box::pin(async move {
                        let summary =
                            super::streaming::request_streams(&node, target, streams).await?;
                        tracing::info!(
                            %address,
                            ranges = summary.ranges,
                            partitions = summary.partitions,
                            bytes = summary.bytes,
                            "replication confirmed"
                        );
                        Ok(())
                    }),
                ));
            }
            let failures = node
                .metadata()
                .remove_node(&catalog, removed, &liveness, replications)
                .await
                .map_err(|e| e.to_string())?;
            super::gossip::follow_topology(node).await;
            match failures.is_empty() {
                true => Ok(String::new()),
                false => Err(format!(
                    "Node {host_id} was removed, but streaming to restore the replica count failed: {}",
                    failures.join("; ")
                )),
            }
        }
    }
}

/// The node `host_id` names, if `removenode` may remove it (Cassandra 5.0's checks and
/// messages, in its order).
fn removal_target(node: &dyn Host, host_id: Uuid) -> Result<RemovedNode, String> {
    let ring = node.coordinator().ring();
    let local = ring.local();
    let (address, tokens, alive) = if host_id == local.host_id {
        (local.address, local.tokens.clone(), true)
    } else {
        let peer = node
            .membership()
            .peer(&host_id)
            .ok_or_else(|| "Host ID not found.".to_string())?;
        (peer.info.address, peer.info.tokens, peer.alive)
    };
    if tokens.is_empty() {
        return Err("Node to be removed is not a member of the token ring".into());
    }
    if host_id == local.host_id {
        return Err("Cannot remove self".into());
    }
    if alive {
        return Err(format!(
            "Node /{address}:{} is alive and owns this ID. Use decommission command to remove it from the ring",
            node.config().storage_port
        ));
    }
    Ok(RemovedNode {
        host_id,
        address,
        tokens,
    })
}

/// Cassandra's `getRemovalStatus`: the removal this node is running, and the gaining nodes
/// whose streams it still waits for.
fn removal_status(node: &dyn Host) -> String {
    let Some(removing) = node.metadata().removing() else {
        return "No removals in process.".into();
    };
    let tokens: Vec<String> = removing.node.tokens.iter().map(i64::to_string).collect();
    let waiting: Vec<String> = removing
        .waiting
        .iter()
        .map(|address| format!("/{address}:{}", node.config().storage_port))
        .collect();
    format!(
        "Removing token ([{}]). Waiting for replication confirmation from [{}].",
        tokens.join(", "),
        waiting.join(",")
    )
}
