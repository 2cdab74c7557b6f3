//! Token ownership through the metadata log: how a node takes its place in the ring
//! (`join_ring`) and how every node keeps its ring in line with the log (`follow`).
//!
//! Where Raft ends and gossip begins for the ring: a node's place (host id, addresses,
//! DC, rack, tokens) is a `NodeRecord` of the metadata log, written by the node itself once
//! it is a member of the metadata group; every node builds its ring and its peers from the
//! records it applied, so nodes that applied the same log have the same ring, and a node
//! that is down keeps its tokens until `nodetool removenode` commits its removal. Gossip
//! says only who is alive and what is ephemeral (`membership::keys`).
//!
//! Invariants:
//! - A node registers after it is a voter that applied its admission, so its tokens are
//!   allocated against every record committed before it (the log orders two concurrent
//!   joiners: a claim on a token another node owns is rejected on every node alike, and the
//!   loser allocates again).
//! - The log's record wins over the persisted tokens (a crash between the commit and the
//!   local write keeps the committed tokens); a restart whose record is unchanged commits
//!   nothing.
//! - A node whose host id the log says was removed never joins again.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use uuid::Uuid;

use super::gossip::native_address;
use super::metadata::DECOMMISSIONED;
use super::ring::allocate_tokens;
use super::Host;
use crate::error::CqlError;
use crate::schema::{NodeRecord, SchemaWrite};

/// Longest a node waits to become a member of the metadata group before it gives up
/// starting (its seeds are unreachable or there is no majority).
const MEMBER_WAIT: Duration = Duration::from_secs(60);
/// Claims lost to concurrent joiners before giving up (each loss re-allocates).
const CLAIM_ATTEMPTS: usize = 5;
/// Node-local record of this node's tokens (also written before the log existed).
pub const TOKENS_RECORD: &str = "tokens";

/// Takes this node's place in the ring through the metadata log and returns its tokens:
/// the log's record when it has one, else `persisted` (tokens of an earlier run), else
/// newly allocated balanced vnode tokens (`num_tokens`); the record is committed unless
/// the log already holds it as is, and the tokens are persisted.
pub async fn join_ring(node: &Arc<dyn Host>, persisted: Option<Vec<i64>>) -> anyhow::Result<()> {
    let config = node.config();
    let host_id = node.host_id();
    if !node.metadata().wait_member(MEMBER_WAIT).await {
        anyhow::bail!(
            "Unable to join the cluster's metadata group through the seeds {:?} within {} s",
            config.seeds,
            MEMBER_WAIT.as_secs()
        );
    }
    let liveness = |host: Uuid| node.membership().liveness(host_id, &host);
    let mut persisted = persisted;
    for _ in 0..CLAIM_ATTEMPTS {
        let catalog = node.schema().catalog();
        if catalog.removed_nodes.contains_key(&host_id) {
            tracing::error!("{DECOMMISSIONED}");
            anyhow::bail!(DECOMMISSIONED);
        }
        let tokens = match (catalog.nodes.get(&host_id), &persisted) {
            (Some(record), _) => record.tokens.clone(),
            (None, Some(tokens)) => tokens.clone(),
            (None, None) => {
                let owned: BTreeMap<i64, Uuid> = catalog
                    .nodes
                    .values()
                    .filter(|n| n.host_id != host_id)
                    .flat_map(|n| n.tokens.iter().map(|t| (*t, n.host_id)))
                    .collect();
                let (hi, lo) = host_id.as_u64_pair();
                allocate_tokens(&owned, config.num_tokens.max(1) as usize, hi ^ lo)
            }
        };
        let record = NodeRecord {
            host_id,
            address: config.broadcast_address(),
            native_address: native_address(&**node),
            dc: config.dc.clone(),
            rack: config.rack.clone(),
            tokens,
        };
        if catalog.nodes.get(&host_id) != Some(&record) {
            let committed = node
                .metadata()
                .commit(
                    &catalog,
                    vec![SchemaWrite::PutNode(record.clone())],
                    &liveness,
                )
                .await;
            match committed {
                Ok(()) => tracing::info!(tokens = record.tokens.len(), "joined the token ring"),
                // Removed, or a token claimed first by another node: look again.
                Err(CqlError::SchemaConflict) => {
                    persisted = None;
                    continue;
                }
                Err(e) => anyhow::bail!("cannot join the token ring: {e}"),
            }
        }
        if persisted.as_ref() != Some(&record.tokens) {
            let stored = serde_json::to_vec(&record.tokens)?;
            let writer = node.clone();
            tokio::task::spawn_blocking(move || {
                writer.schema().put_local_record(TOKENS_RECORD, stored)
            })
            .await?
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        super::gossip::follow_topology(node).await;
        return Ok(());
    }
    anyhow::bail!(
        "cannot join the token ring: {CLAIM_ATTEMPTS} token claims lost to other joining nodes"
    )
}

/// Keeps the ring and the peers in line with the metadata log: after every applied entry
/// (gossip's rounds do it too, `gossip::follow_topology`).
pub fn follow(node: &Arc<dyn Host>) {
    let mut applied = node.metadata().applied_changes();
    let node = Arc::downgrade(node);
    tokio::spawn(async move {
        while applied.changed().await.is_ok() {
            let Some(node) = node.upgrade() else { return };
            super::gossip::follow_topology(&node).await;
        }
    });
}
