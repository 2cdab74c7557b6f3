//! Streaming for `nodetool removenode`: the nodes that become replicas of a removed node's
//! ranges fetch them from the replicas that held them (Cassandra's `restoreReplicaCount`).
//!
//! Who does what:
//! - The node running `removenode` (the coordinator of the removal) computes, per keyspace,
//!   the moves from the ring before the removal (`moves::removal_moves`), and asks each
//!   live gaining node to fetch its ranges (`Verb::StreamRanges`, `request_streams`; itself
//!   directly), waiting for every answer (`MetadataLog::remove_node` reports who it still
//!   waits for, `removenode status`, and `removenode force` stops the wait).
//! - A gaining node (`fetch`) reads each range of each table of the keyspace from the
//!   range's sources in pages of `PAGE_ROWS` rows, with the replica read verb the
//!   coordinator's reconciling reads use (`Verb::ReadData`: raw cells with their
//!   timestamps, TTLs, cell tombstones, range tombstones and partition deletions), and
//!   applies each page through the read-repair write path (`LocalReplica::apply_cells`,
//!   timestamps kept), before it asks for the next: one page per stream in memory. A source
//!   that fails is replaced by the next one, resuming after the last key applied.
//!
//! Invariants:
//! - Cells are written as the source holds them (timestamp, TTL, expiry, deletion time),
//!   so streaming a cell the target already holds, or one that a newer write since shadows,
//!   changes nothing: streams are idempotent and commute with concurrent writes.
//! - Deletions travel as cells (every deletion is a cell at its own key,
//!   `storage::layout`), so nothing deleted on a source comes back on the target.
//! - A page is applied before the next is requested; the resume key is the last key the
//!   source's answer is complete through (`ReplicaCells::complete_through`).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::ops::Bound;
use std::sync::{Arc, Weak};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use uuid::Uuid;

use super::command::ReadTarget;
use super::messaging::{decode, encode, Inbound, Verb};
use super::moves::{removal_moves, RangeMove};
use super::placement::Strategy;
use super::replica::{ReplicaRead, ReplicaRequest, ReplicaResponse};
use super::ring::Ring;
use super::Host;
use crate::schema::{Catalog, Table};
use crate::storage::layout;

/// Rows per page fetched from a source: what a stream holds in memory at once.
pub const PAGE_ROWS: u64 = 512;
/// Longest a source may take to answer one page before the next source is asked.
const PAGE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the coordinator of a removal waits for a gaining node's streams; in practice
/// the wait ends earlier, when the node answers or is seen down, or `removenode force`.
const STREAM_TIMEOUT: Duration = Duration::from_secs(24 * 3600);
/// How often the coordinator checks that a gaining node it waits for is still alive.
const LIVENESS_CHECK: Duration = Duration::from_secs(1);

/// The ranges of one keyspace a node fetches, each with its sources (host ids, in the
/// order to try them).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyspaceStream {
    pub keyspace: String,
    pub ranges: Vec<StreamRange>,
}

/// `(start, end]` (wrapping when `start >= end`) and where to fetch it from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamRange {
    pub start: i64,
    pub end: i64,
    pub sources: Vec<Uuid>,
}

/// What a node's streams transferred.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamSummary {
    pub ranges: u64,
    pub partitions: u64,
    pub cells: u64,
    pub bytes: u64,
}

impl StreamSummary {
    fn add(&mut self, other: StreamSummary) {
        self.ranges += other.ranges;
        self.partitions += other.partitions;
        self.cells += other.cells;
        self.bytes += other.bytes;
    }
}

/// The streams each gaining node must run when `removed` leaves `ring` (the ring before
/// the removal): every keyspace whose data is replicated on the data path (user keyspaces
/// and `system_auth`), by target host id. `alive` is the failure detector's view.
pub fn removal_plan(
    catalog: &Catalog,
    ring: &Ring,
    removed: Uuid,
    alive: impl Fn(&Uuid) -> bool,
) -> BTreeMap<Uuid, Vec<KeyspaceStream>> {
    let mut plan: BTreeMap<Uuid, Vec<KeyspaceStream>> = BTreeMap::new();
    // Keyspaces with the same strategy have the same moves.
    let mut computed: Vec<(Strategy, Vec<RangeMove>)> = Vec::new();
    for keyspace in catalog
        .keyspaces
        .values()
        .filter(|k| !k.system || k.def.name == "system_auth")
    {
        let Ok(strategy) = Strategy::from_options(&keyspace.def.replication) else {
            continue;
        };
        let moves = match computed.iter().find(|(s, _)| *s == strategy) {
            Some((_, moves)) => moves,
            None => {
                let moves = removal_moves(ring, removed, &strategy, &alive);
                computed.push((strategy, moves));
                match computed.last() {
                    Some((_, moves)) => moves,
                    None => continue,
                }
            }
        };
        let mut per_target: BTreeMap<Uuid, Vec<StreamRange>> = BTreeMap::new();
        for m in moves {
            per_target.entry(m.target).or_default().push(StreamRange {
                start: m.start,
                end: m.end,
                sources: m.sources.clone(),
            });
        }
        for (target, ranges) in per_target {
            plan.entry(target).or_default().push(KeyspaceStream {
                keyspace: keyspace.def.name.clone(),
                ranges,
            });
        }
    }
    plan
}

/// Asks `target` to run `streams` (this node's own streams run here, without messaging)
/// and waits for them, failing as soon as the target is seen down.
pub async fn request_streams(
    node: &Arc<dyn Host>,
    target: Uuid,
    streams: Vec<KeyspaceStream>,
) -> Result<StreamSummary, String> {
    if target == node.host_id() {
        return fetch(node, streams).await;
    }
    let ring = node.coordinator().ring();
    let address = ring
        .endpoint(&target)
        .map(|e| e.address)
        .ok_or_else(|| format!("{target} is not in the ring"))?;
    let peer = SocketAddr::new(address, node.config().storage_port);
    let request = node.messaging().request::<_, StreamSummary>(
        peer,
        Verb::StreamRanges,
        &streams,
        Instant::now() + STREAM_TIMEOUT,
    );
    let local = node.host_id();
    let down = async {
        loop {
            tokio::time::sleep(LIVENESS_CHECK).await;
            if !node.membership().is_alive(local, &target) {
                return;
            }
        }
    };
    tokio::select! {
        answer = request => answer.map_err(|e| format!("streaming to /{address} failed: {e}")),
        () = down => Err(format!("/{address} went down while streaming")),
    }
}

/// Runs `streams` on this node: fetches every range of every table of each keyspace from
/// its sources, page by page, applying each page locally.
pub async fn fetch(
    node: &Arc<dyn Host>,
    streams: Vec<KeyspaceStream>,
) -> Result<StreamSummary, String> {
    let mut total = StreamSummary::default();
    for stream in streams {
        let tables = tables_of(&node.schema().catalog(), &stream.keyspace);
        let mut keyspace = StreamSummary::default();
        for (done, range) in stream.ranges.iter().enumerate() {
            if range.sources.is_empty() {
                // Only the removed node (or nodes now down) held it: nothing can restore
                // it, as in Cassandra; the other ranges still stream.
                tracing::warn!(
                    keyspace = %stream.keyspace,
                    start = range.start,
                    end = range.end,
                    "no live replica holds this range: its data is not streamed"
                );
                continue;
            }
            let mut summary = StreamSummary {
                ranges: 1,
                ..StreamSummary::default()
            };
            for table in &tables {
                for (start, end) in token_pieces(range.start, range.end) {
                    let piece = fetch_range(node, table, start, end, &range.sources).await?;
                    summary.add(piece);
                }
            }
            let metrics = crate::metrics::global();
            metrics.streamed_ranges.inc();
            metrics.streamed_partitions.inc_by(summary.partitions);
            metrics.streamed_bytes.inc_by(summary.bytes);
            keyspace.add(summary);
            // Progress: ranges done of the keyspace's, and what they transferred so far.
            tracing::info!(
                keyspace = %stream.keyspace,
                ranges = %format!("{}/{}", done + 1, stream.ranges.len()),
                tables = tables.len(),
                partitions = keyspace.partitions,
                cells = keyspace.cells,
                bytes = keyspace.bytes,
                "streamed for removenode"
            );
        }
        total.add(keyspace);
    }
    Ok(total)
}

/// Every table whose data lives in `keyspace`'s ranges: its tables and views, and the
/// entry tables of their indexes (partitioned by indexed value, placed by the keyspace).
fn tables_of(catalog: &Catalog, keyspace: &str) -> Vec<Arc<Table>> {
    let Some(ks) = catalog.keyspace(keyspace) else {
        return Vec::new();
    };
    let mut tables: Vec<Arc<Table>> = ks.tables.values().cloned().collect();
    for table in ks.tables.values() {
        for index in &table.indexes {
            if let Ok(storage) = table.index_storage(index) {
                tables.push(Arc::new(storage));
            }
        }
    }
    tables
}

/// The range `(start, end]` as token bounds of reads: two pieces when it wraps (a ring of
/// one token wraps onto itself: the whole ring).
fn token_pieces(start: i64, end: i64) -> Vec<(Bound<i64>, Bound<i64>)> {
    if start < end {
        vec![(Bound::Excluded(start), Bound::Included(end))]
    } else {
        vec![
            (Bound::Excluded(start), Bound::Unbounded),
            (Bound::Unbounded, Bound::Included(end)),
        ]
    }
}

/// Fetches one table's token range from `sources`, page by page, applying each page
/// before asking for the next; a failed source is replaced by the next one, resuming
/// where the last applied page ended.
async fn fetch_range(
    node: &Arc<dyn Host>,
    table: &Arc<Table>,
    start: Bound<i64>,
    end: Bound<i64>,
    sources: &[Uuid],
) -> Result<StreamSummary, String> {
    let coordinator = node.coordinator();
    let transport = coordinator
        .transport()
        .ok_or("internode messaging is not running")?;
    let ring = coordinator.ring();
    let mut summary = StreamSummary::default();
    let mut resume_after: Option<Vec<u8>> = None;
    let mut last_partition: Option<(i64, Vec<u8>)> = None;
    let mut source = sources.iter();
    let mut current = source.next();
    loop {
        let Some(endpoint) = current.and_then(|h| ring.endpoint(h)) else {
            return Err(format!(
                "no live source left for {}.{} tokens {start:?}..{end:?} (sources {sources:?})",
                table.def.keyspace, table.def.name
            ));
        };
        let read = ReplicaRead {
            table: table.def.id,
            target: ReadTarget::TokenRange { start, end },
            row_limit: PAGE_ROWS,
            per_partition_limit: None,
            resume_after: resume_after.clone(),
            resume_partition_rows: 0,
            now_secs: crate::clock::now_secs(),
        };
        let answer = transport
            .send(
                endpoint,
                ReplicaRequest::Data(read),
                Instant::now() + PAGE_TIMEOUT,
            )
            .await;
        let page = match answer {
            Ok(ReplicaResponse::Data(page)) => page,
            other => {
                tracing::warn!(
                    source = %endpoint.address,
                    table = %format!("{}.{}", table.def.keyspace, table.def.name),
                    "streaming source failed ({other:?}), trying the next one"
                );
                current = source.next();
                continue;
            }
        };
        for (key, cell) in &page.cells {
            summary.cells += 1;
            summary.bytes += (key.len() + cell_bytes(cell)) as u64;
            let partition = layout::split_partition(key).map(|(t, pk, _)| (t, pk));
            if partition.is_some() && partition != last_partition {
                summary.partitions += 1;
                last_partition = partition;
            }
        }
        if !page.cells.is_empty() {
            coordinator
                .local()
                .apply_cells(table, page.cells)
                .await
                .map_err(|e| format!("applying streamed cells: {e}"))?;
        }
        match page.complete_through {
            Some(key) => resume_after = Some(key),
            None => return Ok(summary),
        }
    }
}

fn cell_bytes(cell: &strata_engine::Cell) -> usize {
    match &cell.value {
        strata_engine::CellValue::Live(v) => v.len(),
        strata_engine::CellValue::Tombstone { .. } => 0,
    }
}

/// Serves `Verb::StreamRanges` for `node` (held weakly: the handler lives in the node's
/// own messaging service).
pub fn serve(messaging: &super::messaging::Messaging, node: Weak<dyn Host>) {
    messaging.register(Verb::StreamRanges, move |inbound: Inbound| {
        let node = node.clone();
        async move {
            let node = node.upgrade().ok_or("node is shutting down")?;
            let streams: Vec<KeyspaceStream> =
                decode(&inbound.payload).map_err(|e| e.to_string())?;
            tracing::info!(from = %inbound.from, "asked to stream ranges for removenode");
            let summary = fetch(&node, streams).await?;
            Ok(encode(&summary))
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_ranges_read_as_two_pieces() {
        assert_eq!(
            token_pieces(-5, 10),
            vec![(Bound::Excluded(-5), Bound::Included(10))]
        );
        assert_eq!(
            token_pieces(10, -5),
            vec![
                (Bound::Excluded(10), Bound::Unbounded),
                (Bound::Unbounded, Bound::Included(-5))
            ]
        );
        assert_eq!(token_pieces(3, 3).len(), 2, "one token: the whole ring");
    }
}
