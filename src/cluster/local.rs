//! The local replica: executes mutations and reads against this node's engine.
//!
//! Invariants:
//! - Plain writes go through the `WritePipeline` (dedicated writer threads that group
//!   queued writes); counter writes, which read their shard first, and range scans run on
//!   tokio's blocking pool. Neither an fsync nor a long scan stalls the connection tasks.
//! - Single-partition reads run inline on the calling task: they touch a bounded number of
//!   blocks, mostly cached, and a thread hand-off would cost more than the read.

use std::ops::Bound;
use std::sync::Arc;

use strata_engine::{Cell, Engine, Error as EngineError, Mutation, VersionId};

use super::command::{Branch, CoordinatorError, ReadCommand, ReadResult, ReadTarget, WriteCommand};
use super::paxos::store::PaxosStore;
use super::read_repair::ReplicaCells;
use super::write_pipeline::WritePipeline;
use crate::damage::DiskFailure;
use crate::schema::{ClusteringOrder, Table};
use crate::storage::{layout, ClusteringLayout, Decoded, Decoder, StaticRows};

/// Counter increments of one partition are serialised by one of these stripes.
const COUNTER_LOCK_STRIPES: usize = 64;

pub struct LocalReplica {
    engine: Arc<Engine>,
    writes: WritePipeline,
    /// Serialise read-modify-write of this node's counter shards, per partition stripe.
    counter_locks: Arc<[std::sync::Mutex<()>]>,
    /// `disk_failure_policy`, told of every storage error a read or write meets.
    failures: Arc<DiskFailure>,
    /// This replica's Paxos state (lightweight transactions across replicas).
    paxos: Arc<PaxosStore>,
}

impl LocalReplica {
    /// Fails if the write pipeline's threads cannot start (writes would never complete).
    /// `paxos_branch` is the node-local engine version holding the Paxos state.
    pub fn new(
        engine: Arc<Engine>,
        failures: Arc<DiskFailure>,
        paxos_branch: VersionId,
    ) -> std::io::Result<LocalReplica> {
        let counter_locks = (0..COUNTER_LOCK_STRIPES)
            .map(|_| std::sync::Mutex::new(()))
            .collect();
        let writes = WritePipeline::start(engine.clone())?;
        let paxos = Arc::new(PaxosStore::new(engine.clone(), paxos_branch));
        Ok(LocalReplica {
            engine,
            writes,
            counter_locks,
            failures,
            paxos,
        })
    }

    /// This replica's Paxos state.
    pub fn paxos(&self) -> &Arc<PaxosStore> {
        &self.paxos
    }

    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// The engine version `branch` of `table` is on this node: the writable head of the
    /// table's main branch, or the node-local version named.
    pub fn version_of(&self, table: &Table, branch: Branch) -> Result<VersionId, EngineError> {
        match branch {
            Branch::Main => self.engine.writable_head(table.def.data_version),
            Branch::Local(version) => Ok(version),
        }
    }

    /// Applies a write atomically, with `now_secs` as the deletion time and TTL origin (the
    /// coordinator's, so every replica stores identical cells). Counter increments are
    /// resolved into `counter_shard` (this node's shard id) under the partitions' counter
    /// locks, which stay held until the write is in the engine.
    /// Hands a storage failure to the disk failure policy before the caller sees it.
    fn check<T>(&self, result: Result<T, CoordinatorError>) -> Result<T, CoordinatorError> {
        if let Err(CoordinatorError::Storage(e)) = &result {
            self.failures.handle(e);
        }
        result
    }

    pub async fn apply(
        &self,
        command: WriteCommand,
        counter_shard: Vec<u8>,
        now_secs: i64,
    ) -> Result<(), CoordinatorError> {
        let versions = command
            .tables
            .iter()
            .map(|t| self.version_of(&t.table, t.branch))
            .collect::<Result<Vec<_>, _>>()?;
        if !command
            .tables
            .iter()
            .flat_map(|t| t.updates.iter())
            .any(|u| u.has_counter_adds())
        {
            return self
                .write_retrying(versions, |versions| {
                    command_mutations(&command, versions, now_secs)
                })
                .await;
        }
        let engine = self.engine.clone();
        let locks = self.counter_locks.clone();
        let mut command = command;
        blocking(move || {
            let stripes = counter_stripes(&command, locks.len());
            // Sorted, deduplicated stripes: two writers never wait for each other in a cycle.
            let _guards: Vec<_> = stripes
                .iter()
                .filter_map(|i| locks.get(*i))
                .map(|m| m.lock().unwrap_or_else(|e| e.into_inner()))
                .collect();
            let mut resolved = std::collections::HashMap::new();
            for (table, version) in command.tables.iter_mut().zip(&versions) {
                for update in table.updates.iter_mut().filter(|u| u.has_counter_adds()) {
                    update.resolve_counters(&counter_shard, &mut resolved, |key| {
                        engine.get(*version, key)
                    })?;
                }
            }
            engine.write(&command_mutations(&command, &versions, now_secs))
        })
        .await
    }

    /// Writes raw cells (read repair: the cells a replica lacks) on `table`'s main branch.
    pub async fn apply_cells(
        &self,
        table: &Table,
        cells: Vec<(Vec<u8>, Cell)>,
    ) -> Result<(), CoordinatorError> {
        let version = self.version_of(table, Branch::Main)?;
        self.write_retrying(vec![version], |versions| {
            let version = versions.first().copied().unwrap_or(version);
            cells
                .iter()
                .map(|(key, cell)| Mutation {
                    version,
                    key: key.clone(),
                    cell: cell.clone(),
                })
                .collect()
        })
        .await
    }

    /// A snapshot may freeze a table's head between the branch being resolved and the
    /// write reaching the engine; the write then belongs to the head's successor, so it is
    /// retried there (a bounded number of times: snapshots are rare).
    async fn write_retrying(
        &self,
        mut versions: Vec<VersionId>,
        mutations: impl Fn(&[VersionId]) -> Vec<Mutation>,
    ) -> Result<(), CoordinatorError> {
        const ATTEMPTS: usize = 3;
        for attempt in 1..=ATTEMPTS {
            match self.writes.write(mutations(&versions)).await {
                Err(EngineError::VersionFrozen(_)) if attempt < ATTEMPTS => {
                    for version in &mut versions {
                        *version = self.engine.writable_head(*version)?;
                    }
                }
                result => return result.map_err(CoordinatorError::Storage),
            }
        }
        Ok(())
    }

    /// Reads and decodes rows.
    pub async fn read(&self, command: ReadCommand) -> Result<ReadResult, CoordinatorError> {
        self.run_read(command, decoded_read).await
    }

    /// Reads the raw cells a read covers (timestamps, TTLs, tombstones, deletion markers),
    /// stopping where `read` would: the answer a replica gives a coordinator that reconciles.
    pub async fn read_cells(&self, command: ReadCommand) -> Result<ReplicaCells, CoordinatorError> {
        self.run_read(command, raw_read).await
    }

    /// Runs `read` inline for a partition (a bounded number of mostly cached blocks), on
    /// the blocking pool for a range scan.
    async fn run_read<T: Send + 'static>(
        &self,
        command: ReadCommand,
        read: fn(&Engine, VersionId, &ReadCommand) -> Result<T, EngineError>,
    ) -> Result<T, CoordinatorError> {
        let version = self.version_of(&command.table, command.branch)?;
        if matches!(command.target, ReadTarget::Partition { .. }) {
            return self
                .check(read(&self.engine, version, &command).map_err(CoordinatorError::Storage));
        }
        let engine = self.engine.clone();
        self.check(blocking(move || read(&engine, version, &command)).await)
    }
}

fn command_mutations(
    command: &WriteCommand,
    versions: &[VersionId],
    now_secs: i64,
) -> Vec<Mutation> {
    command
        .tables
        .iter()
        .zip(versions)
        .flat_map(|(t, version)| {
            t.updates
                .iter()
                .flat_map(move |u| u.to_mutations(*version, now_secs))
        })
        .collect()
}

fn counter_stripes(command: &WriteCommand, stripes: usize) -> Vec<usize> {
    let mut out: Vec<usize> = command
        .tables
        .iter()
        .flat_map(|t| t.updates.iter())
        .filter(|u| u.has_counter_adds())
        .map(|u| (u.token as u64 % stripes.max(1) as u64) as usize)
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, EngineError> + Send + 'static,
) -> Result<T, CoordinatorError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| CoordinatorError::Internal(format!("storage task failed: {e}")))?
        .map_err(CoordinatorError::Storage)
}

pub fn clustering_layout(table: &Table) -> ClusteringLayout {
    let columns = table
        .clustering_indexes()
        .into_iter()
        .filter_map(|i| {
            let ty = table.types.get(i)?;
            let column = table.def.columns.get(i)?;
            Some((ty.clone(), column.order == ClusteringOrder::Desc))
        })
        .collect();
    ClusteringLayout { columns }
}

/// Static-only partitions read as one row when whole partitions are selected.
fn static_rows(command: &ReadCommand) -> StaticRows {
    let whole_partitions = match &command.target {
        ReadTarget::TokenRange { .. } => true,
        ReadTarget::Partition { slices, .. } => {
            matches!(slices.as_slice(), [s] if s.start.is_empty() && s.end.is_none())
        }
    };
    if !whole_partitions {
        return StaticRows::Never;
    }
    let skip_partition = command
        .resume_after
        .as_deref()
        .and_then(layout::split_partition)
        .map(|(token, pk, _)| layout::partition_prefix(token, &pk));
    StaticRows::Emit { skip_partition }
}

/// Collects decoded rows until the limits are reached.
struct Collector {
    decoder: Decoder,
    out: Vec<Decoded>,
    rows: usize,
    rows_in_partition: usize,
    /// Rows earlier pages took from the first partition (applied at its start).
    carried_partition_rows: Option<usize>,
    row_limit: usize,
    per_partition_limit: usize,
    last_key: Option<Vec<u8>>,
    /// The raw cells fed, up to `last_key`, when the read answers a reconciling
    /// coordinator (`LocalReplica::read_cells`).
    recorded: Option<Vec<(Vec<u8>, Cell)>>,
    buffer: Vec<Decoded>,
    /// Names the table in corruption errors.
    keyspace: String,
    table: String,
}

impl Collector {
    fn new(command: &ReadCommand) -> Collector {
        Collector {
            decoder: Decoder::new(clustering_layout(&command.table), command.now_secs)
                .with_static_rows(static_rows(command))
                .with_dropped_columns(command.table.def.dropped_columns.clone()),
            out: Vec::new(),
            rows: 0,
            rows_in_partition: 0,
            carried_partition_rows: Some(command.resume_partition_rows),
            row_limit: command.row_limit,
            per_partition_limit: command.per_partition_limit.unwrap_or(usize::MAX),
            last_key: None,
            recorded: None,
            buffer: Vec::new(),
            keyspace: command.table.def.keyspace.clone(),
            table: command.table.def.name.clone(),
        }
    }

    fn full(&self) -> bool {
        self.rows >= self.row_limit
    }

    /// Feeds one entry; returns false once the row limit is reached.
    fn push(&mut self, key: &[u8], cell: &Cell) -> Result<bool, EngineError> {
        self.decoder
            .push(key, cell, &mut self.buffer)
            .map_err(|e| EngineError::Corruption {
                file: format!("table {}.{}", self.keyspace, self.table),
                detail: e.to_string(),
            })?;
        self.drain();
        if !self.full() {
            self.last_key = Some(key.to_vec());
            if let Some(recorded) = &mut self.recorded {
                recorded.push((key.to_vec(), cell.clone()));
            }
        }
        Ok(!self.full())
    }

    fn finish(&mut self) {
        self.decoder.finish(&mut self.buffer);
        self.drain();
    }

    fn drain(&mut self) {
        for item in std::mem::take(&mut self.buffer) {
            if self.full() {
                return;
            }
            match item {
                Decoded::PartitionStart { .. } => {
                    self.rows_in_partition = self.carried_partition_rows.take().unwrap_or(0)
                }
                Decoded::Row(_) if self.rows_in_partition >= self.per_partition_limit => continue,
                Decoded::Row(_) => {
                    self.rows += 1;
                    self.rows_in_partition += 1;
                }
                Decoded::Static(_) => {}
            }
            self.out.push(item);
        }
    }
}

/// Feeds the entries `command` covers on `version` to `collector`, in the read's order.
fn scan(
    engine: &Engine,
    version: VersionId,
    command: &ReadCommand,
    collector: &mut Collector,
) -> Result<(), EngineError> {
    match &command.target {
        ReadTarget::Partition {
            token,
            key,
            slices,
            reverse,
        } => {
            let prefix = layout::partition_prefix(*token, key);
            let mut slices: Vec<_> = slices.iter().collect();
            if *reverse {
                slices.reverse();
            }
            let mut bounds: Vec<_> = slices
                .into_iter()
                .map(|slice| row_bounds(&prefix, slice, command.resume_after.as_deref(), *reverse))
                .collect();
            let (header_start, header_end) = header_bounds(&prefix);
            // The header ends where the row area begins. When the first slice (read forward)
            // begins there too, one engine scan reads both: setting up a scan costs about as
            // much as reading a short partition.
            match bounds.first_mut() {
                Some((start, _)) if !*reverse && *start == Bound::Included(header_end.clone()) => {
                    *start = Bound::Included(header_start)
                }
                _ => {
                    feed_header(engine, version, &prefix, collector)?;
                }
            }
            for (start, end) in bounds {
                if !feed(engine, version, start, end, *reverse, collector)? {
                    break;
                }
            }
        }
        ReadTarget::TokenRange { start, end } => {
            let (mut lo, hi) = token_bounds(*start, *end);
            if let Some(resume) = &command.resume_after {
                if let Some((token, pk, _)) = layout::split_partition(resume) {
                    feed_header(
                        engine,
                        version,
                        &layout::partition_prefix(token, &pk),
                        collector,
                    )?;
                }
                lo = Bound::Excluded(resume.clone());
            }
            feed(engine, version, lo, hi, false, collector)?;
        }
    }
    collector.finish();
    Ok(())
}

impl Collector {
    /// The rows collected, resuming after the last one when a limit stopped the read.
    fn into_result(self) -> ReadResult {
        let resume_key = if self.full() { self.last_key } else { None };
        ReadResult {
            items: self.out,
            resume_key,
            resume_partition_rows: self.rows_in_partition,
        }
    }
}

fn decoded_read(
    engine: &Engine,
    version: VersionId,
    command: &ReadCommand,
) -> Result<ReadResult, EngineError> {
    let mut collector = Collector::new(command);
    scan(engine, version, command, &mut collector)?;
    Ok(collector.into_result())
}

/// The raw cells of a read, in key order, and where the replica stopped if a limit stopped
/// it: the last key it read in the read's order (for a reverse read, the smallest).
fn raw_read(
    engine: &Engine,
    version: VersionId,
    command: &ReadCommand,
) -> Result<ReplicaCells, EngineError> {
    let mut collector = Collector::new(command);
    collector.recorded = Some(Vec::new());
    scan(engine, version, command, &mut collector)?;
    let mut cells = collector.recorded.take().unwrap_or_default();
    cells.sort_by(|a, b| a.0.cmp(&b.0));
    let complete_through = if collector.full() {
        collector.last_key
    } else {
        None
    };
    Ok(ReplicaCells {
        cells,
        complete_through,
    })
}

/// Decodes a reconciled answer (`read_repair::resolve`'s merge, or one replica's answer)
/// as `command` reads it, with the same limits as a local read. Cells are fed in the read's
/// order: for a reverse partition read the partition header first, then rows backwards.
/// When a replica stopped early and the merge holds fewer rows than the limit (deletions
/// from other replicas shadowed some), the result resumes after the last trusted key, so
/// paging continues there (a short page, never a skipped row).
pub fn decode_cells(
    command: &ReadCommand,
    answer: &ReplicaCells,
) -> Result<ReadResult, EngineError> {
    let mut collector = Collector::new(command);
    let reverse_rows = match &command.target {
        ReadTarget::Partition {
            token,
            key,
            reverse: true,
            ..
        } => Some(layout::with_suffix(
            &layout::partition_prefix(*token, key),
            &[&[layout::ROW]],
        )),
        _ => None,
    };
    let mut fed = true;
    match &reverse_rows {
        Some(row_area) => {
            let split = answer.cells.partition_point(|(k, _)| k < row_area);
            let (header, rows) = answer.cells.split_at(split);
            for (key, cell) in header.iter().chain(rows.iter().rev()) {
                if !collector.push(key, cell)? {
                    fed = false;
                    break;
                }
            }
        }
        None => {
            for (key, cell) in &answer.cells {
                if !collector.push(key, cell)? {
                    fed = false;
                    break;
                }
            }
        }
    }
    if fed {
        collector.finish();
    }
    let short = !collector.full();
    let mut result = collector.into_result();
    if short {
        result.resume_key = answer.complete_through.clone();
    }
    Ok(result)
}

/// The keys of a partition's deletions and static cells: `[P‖0x00, P‖0x03)`.
fn header_bounds(prefix: &[u8]) -> (Vec<u8>, Vec<u8>) {
    (
        layout::with_suffix(prefix, &[&[layout::PARTITION_DELETION]]),
        layout::with_suffix(prefix, &[&[layout::ROW]]),
    )
}

/// Feeds a partition's deletions and static cells.
fn feed_header(
    engine: &Engine,
    version: u32,
    prefix: &[u8],
    c: &mut Collector,
) -> Result<bool, EngineError> {
    let (start, end) = header_bounds(prefix);
    feed(
        engine,
        version,
        Bound::Included(start),
        Bound::Excluded(end),
        false,
        c,
    )
}

fn feed(
    engine: &Engine,
    version: u32,
    start: Bound<Vec<u8>>,
    end: Bound<Vec<u8>>,
    reverse: bool,
    collector: &mut Collector,
) -> Result<bool, EngineError> {
    for entry in engine.scan(version, start, end, reverse)? {
        let (key, cell) = entry?;
        if !collector.push(&key, &cell)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Engine-key bounds of a clustering slice inside a partition, clipped by the paging
/// resume key.
fn row_bounds(
    prefix: &[u8],
    slice: &crate::storage::ClusteringRange,
    resume_after: Option<&[u8]>,
    reverse: bool,
) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    let row_area = layout::with_suffix(prefix, &[&[layout::ROW]]);
    let start = Bound::Included(layout::with_suffix(&row_area, &[&slice.start]));
    let end = match &slice.end {
        Some(end) => Bound::Excluded(layout::with_suffix(&row_area, &[end])),
        None => layout::prefix_successor(&row_area).map_or(Bound::Unbounded, Bound::Excluded),
    };
    match resume_after {
        Some(resume) if reverse => (start, tighter_upper(end, resume)),
        Some(resume) => (tighter_lower(start, resume), end),
        None => (start, end),
    }
}

fn tighter_lower(bound: Bound<Vec<u8>>, resume: &[u8]) -> Bound<Vec<u8>> {
    match &bound {
        Bound::Included(b) | Bound::Excluded(b) if b.as_slice() > resume => bound,
        _ => Bound::Excluded(resume.to_vec()),
    }
}

fn tighter_upper(bound: Bound<Vec<u8>>, resume: &[u8]) -> Bound<Vec<u8>> {
    match &bound {
        Bound::Included(b) | Bound::Excluded(b) if b.as_slice() < resume => bound,
        _ => Bound::Excluded(resume.to_vec()),
    }
}

/// Engine-key bounds covering every partition whose token lies in the range.
fn token_bounds(start: Bound<i64>, end: Bound<i64>) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    let key = |token: i64| {
        let mut k = Vec::with_capacity(8);
        layout::push_token(token, &mut k);
        k
    };
    let lo = match start {
        Bound::Included(t) => Bound::Included(key(t)),
        Bound::Excluded(t) if t == i64::MAX => {
            return (Bound::Excluded(vec![0xFF; 9]), Bound::Unbounded)
        }
        Bound::Excluded(t) => Bound::Included(key(t + 1)),
        Bound::Unbounded => Bound::Unbounded,
    };
    let hi = match end {
        Bound::Included(t) if t == i64::MAX => Bound::Unbounded,
        Bound::Included(t) => Bound::Excluded(key(t + 1)),
        Bound::Excluded(t) => Bound::Excluded(key(t)),
        Bound::Unbounded => Bound::Unbounded,
    };
    (lo, hi)
}

#[cfg(test)]
mod tests {
    use std::ops::Bound;
    use std::sync::Arc;

    use strata_engine::{Cell, CellValue, Mutation};
    use strata_protocol::{ErrorKind, Response};

    use super::{decode_cells, row_bounds, token_bounds, ReadCommand, ReadResult, ReadTarget};
    use crate::cluster::Branch;
    use crate::schema::Table;
    use crate::storage::{layout, ClusteringRange, Decoded};
    use crate::testing::TestServer;

    /// `ks.t (k, c, v)` with partitions 1 and 2, each holding rows c = 0..4.
    async fn two_partitions() -> (TestServer, Arc<Table>) {
        let (server, mut client) = TestServer::with_schema(&[
            "CREATE TABLE ks.t (k int, c int, v int, PRIMARY KEY (k, c))",
        ])
        .await;
        for k in 1..=2 {
            for c in 0..4 {
                client
                    .run(&format!("INSERT INTO ks.t (k, c, v) VALUES ({k}, {c}, 0)"))
                    .await;
            }
        }
        let table = server.node.catalog().table("ks", "t").cloned();
        (server, table.expect("table ks.t"))
    }

    /// A read of every partition, `row_limit` rows at most.
    fn scan_all(table: &Arc<Table>, row_limit: usize) -> ReadCommand {
        ReadCommand {
            table: table.clone(),
            branch: Branch::Main,
            target: ReadTarget::TokenRange {
                start: Bound::Unbounded,
                end: Bound::Unbounded,
            },
            row_limit,
            per_partition_limit: None,
            resume_after: None,
            resume_partition_rows: 0,
            now_secs: crate::clock::now_secs(),
        }
    }

    /// The next page of `command`, after `previous`.
    fn next_page(mut command: ReadCommand, previous: &ReadResult) -> ReadCommand {
        command.resume_after = previous.resume_key.clone();
        command.resume_partition_rows = previous.resume_partition_rows;
        command
    }

    fn row_count(result: &ReadResult) -> usize {
        result
            .items
            .iter()
            .filter(|item| matches!(item, Decoded::Row(_)))
            .count()
    }

    /// A read stopped by its row limit names where it stopped, and the read resumed there
    /// returns exactly the rest; a read that was not stopped names nothing.
    #[tokio::test]
    async fn a_limited_read_resumes_after_its_last_row() {
        let (server, table) = two_partitions().await;
        let local = server.node.coordinator().local().clone();
        let first = local.read(scan_all(&table, 3)).await.expect("first page");
        assert_eq!(row_count(&first), 3);
        assert!(first.resume_key.is_some());
        let rest = local
            .read(next_page(scan_all(&table, 100), &first))
            .await
            .expect("second page");
        assert_eq!(row_count(&rest), 5);
        assert!(rest.resume_key.is_none());
        server.stop().await;
    }

    /// The per-partition limit counts the rows an earlier page took from the partition the
    /// next page resumes in.
    #[tokio::test]
    async fn the_per_partition_limit_spans_pages() {
        let (server, table) = two_partitions().await;
        let local = server.node.coordinator().local().clone();
        let command = |row_limit| ReadCommand {
            per_partition_limit: Some(2),
            ..scan_all(&table, row_limit)
        };
        // Two rows of the first partition and one of the second.
        let first = local.read(command(3)).await.expect("first page");
        assert_eq!(row_count(&first), 3);
        assert_eq!(first.resume_partition_rows, 1);
        let rest = local
            .read(next_page(command(100), &first))
            .await
            .expect("second page");
        assert_eq!(row_count(&rest), 1);
        server.stop().await;
    }

    /// The raw cells a replica answers a reconciling coordinator stop where its decoded
    /// read stops, and decode to the same rows.
    #[tokio::test]
    async fn read_cells_stop_where_read_stops() {
        let (server, table) = two_partitions().await;
        let local = server.node.coordinator().local().clone();
        let decoded = local.read(scan_all(&table, 5)).await.expect("read");
        let cells = local.read_cells(scan_all(&table, 5)).await.expect("cells");
        assert_eq!(cells.complete_through, decoded.resume_key);
        let redecoded = decode_cells(&scan_all(&table, 5), &cells).expect("decode");
        assert_eq!(row_count(&redecoded), 5);
        assert_eq!(redecoded.resume_key, decoded.resume_key);
        server.stop().await;
    }

    fn token_key(token: i64) -> Vec<u8> {
        let mut key = Vec::new();
        layout::push_token(token, &mut key);
        key
    }

    /// Token bounds become engine-key bounds that take whole partitions, including at the
    /// ends of the ring where `t + 1` would overflow.
    #[test]
    fn token_bounds_take_whole_partitions() {
        assert_eq!(
            token_bounds(Bound::Excluded(5), Bound::Included(9)),
            (
                Bound::Included(token_key(6)),
                Bound::Excluded(token_key(10))
            )
        );
        assert_eq!(
            token_bounds(Bound::Included(5), Bound::Excluded(9)),
            (Bound::Included(token_key(5)), Bound::Excluded(token_key(9)))
        );
        assert_eq!(
            token_bounds(Bound::Unbounded, Bound::Included(i64::MAX)),
            (Bound::Unbounded, Bound::Unbounded)
        );
        let (lo, _) = token_bounds(Bound::Excluded(i64::MAX), Bound::Unbounded);
        assert_eq!(lo, Bound::Excluded(vec![0xFF; 9]));
    }

    /// A slice's bounds are clipped by the resume key on the side the read moves from: the
    /// lower bound forward, the upper one in reverse; a bound already past it stays.
    #[test]
    fn row_bounds_are_clipped_by_the_resume_key() {
        let prefix = layout::partition_prefix(7, b"pk");
        let row = |clustering: &[u8]| layout::with_suffix(&prefix, &[&[layout::ROW], clustering]);
        let slice = ClusteringRange {
            start: b"b".to_vec(),
            end: Some(b"y".to_vec()),
        };
        let whole = (Bound::Included(row(b"b")), Bound::Excluded(row(b"y")));
        assert_eq!(row_bounds(&prefix, &slice, None, false), whole);
        let resume = row(b"m");
        assert_eq!(
            row_bounds(&prefix, &slice, Some(&resume), false),
            (Bound::Excluded(resume.clone()), whole.1.clone())
        );
        assert_eq!(
            row_bounds(&prefix, &slice, Some(&resume), true),
            (whole.0.clone(), Bound::Excluded(resume))
        );
        // Resuming before the slice starts (forward) leaves the slice whole.
        assert_eq!(row_bounds(&prefix, &slice, Some(&row(b"a")), false), whole);
    }

    /// A range tombstone whose bounds do not decode must fail the read: skipping it would
    /// resurrect the rows it deletes.
    #[tokio::test]
    async fn an_undecodable_range_tombstone_is_a_corruption_error_not_skipped() {
        let server = TestServer::start().await;
        let mut client = server.client().await;
        for cql in [
            "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
            "CREATE TABLE ks.t (k int, c int, v int, PRIMARY KEY (k, c))",
            "INSERT INTO ks.t (k, c, v) VALUES (1, 1, 1)",
        ] {
            assert!(matches!(client.query(cql).await, Response::Result(_)), "{cql}");
        }
        let engine = server.node.engine();
        let table = server
            .node
            .catalog()
            .table("ks", "t")
            .cloned()
            .expect("table");
        let version = engine.writable_head(table.def.data_version).expect("head");
        let (row_key, _) = engine
            .scan(version, Bound::Unbounded, Bound::Unbounded, false)
            .unwrap()
            .next()
            .unwrap()
            .unwrap();
        let (token, pk, _) = layout::split_partition(&row_key).expect("row key");
        let prefix = layout::partition_prefix(token, &pk);
        let tombstone = Cell {
            timestamp: i64::MAX - 1,
            ttl_secs: 0,
            expires_at_secs: 0,
            value: CellValue::Live(b"{not json".to_vec()),
        };
        let key = layout::range_tombstone_key(&prefix, b"", b"");
        engine
            .write(&[Mutation {
                version,
                key,
                cell: tombstone,
            }])
            .unwrap();

        let reply = client.query("SELECT * FROM ks.t WHERE k = 1").await;
        match &reply {
            Response::Error(e) => {
                assert_eq!(e.kind, ErrorKind::Server);
                assert!(e.message.contains("corrupt"), "{}", e.message);
            }
            other => panic!("the deleted row came back: {other:?}"),
        }
        let reply = client.query("SELECT * FROM ks.t").await;
        assert!(
            matches!(&reply, Response::Error(e) if e.kind == ErrorKind::Server),
            "{reply:?}"
        );
        server.stop().await;
    }
}
