//! The engine: write path, read path, version operations, flushes and merges.
//!
//! Invariants:
//! 1. Lock order: WAL state -> manifest -> version tree -> view. No lock is taken out of
//!    this order, and no disk I/O happens under the view lock.
//! 2. The in-memory view (memtables + arrays) changes only after the manifest record that
//!    justifies it is durable; a reader clones the view's `Arc`s and never sees a half
//!    applied flush or merge.
//! 3. Writes are validated against the version tree under the WAL lock, and snapshot /
//!    delete take the WAL lock, so no write lands in a version after it froze.
//! 4. Levels: level `l` holds arrays of about `base * 2^l` bytes (`base` = half the
//!    memtable budget). A level is merged when two of its arrays have overlapping version
//!    sets or its total size reaches the next level's; outputs go at least one level up.
//!    Arrays on a settled level have disjoint version sets.
//! 5. A read at `v` consults every memtable and every array whose version set meets the
//!    root-to-`v` path, in descending `max_ts` order, stopping once an array's `max_ts`
//!    is below the best candidate's timestamp (no older array can beat it).

use std::collections::HashSet;
use std::ops::Bound;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::array::{
    array_file_name, ArrayBuilder, ArrayCursor, ArrayReader, BlockCache, FilterPolicy,
};
use crate::cell::check_mutation_bounds;
use crate::codec::hash64;
use crate::manifest::{Edit, Manifest, ManifestState, Record};
use crate::memtable::EntryVisitor;
use crate::memtable::Memtable;
use crate::merge::{plan_split, GcContext, OutsideData};
use crate::scan::{EntrySource, KeyMerger};
use crate::version::{VersionOp, VersionTally, VersionTree};
use crate::wal::{replay_segment, segment_name, Wal, WalState};
use crate::{
    BackgroundThread, Cell, Clock, Damage, DiskAccessMode, Error, Event, LevelStats, MergeProgress,
    Mutation, Options, Result, ScanIter, Scrubbed, Stats, Storage, SyncMode, VersionId,
    VersionInfo, WriteTicket, ROOT_VERSION,
};

/// Highest level of the doubling array.
pub(crate) const MAX_LEVEL: u32 = 40;
/// Merges run per `run_merges` call before yielding (bounds one background round).
const MAX_MERGES_PER_ROUND: usize = 64;
/// How often a merge checks for shutdown (keys).
const MERGE_ABORT_CHECK_KEYS: u64 = 4096;
/// Backoff after a background failure before retrying.
const BACKGROUND_RETRY: Duration = Duration::from_millis(200);

/// What readers see: the memtables and arrays at one instant.
#[derive(Clone)]
pub(crate) struct View {
    pub active: Arc<Memtable>,
    /// Frozen memtables waiting for flush, oldest first.
    pub frozen: Arc<Vec<Arc<Memtable>>>,
    /// Live arrays, sorted by `max_ts` descending.
    pub arrays: Arc<Vec<Arc<ArrayHandle>>>,
}

/// An array and the level it lives on.
pub(crate) struct ArrayHandle {
    pub reader: Arc<ArrayReader>,
    pub level: u32,
}

/// The manifest writer and the array-set state it describes (the version tree lives in
/// `Inner::tree`; both change only under this lock).
struct ManifestCtl {
    manifest: Manifest,
    /// Live arrays: id -> level, as committed.
    arrays: std::collections::BTreeMap<u64, u32>,
    /// WAL segments below this id are obsolete.
    wal_floor: u64,
}

/// Coordination with the background threads (guarded by `Inner::bg`, signalled by `bg_cond`).
#[derive(Default)]
struct BgState {
    shutdown: bool,
    /// A flush or version delete happened: the merger should look for work.
    merge_wanted: bool,
    /// First background failure; poisons writes.
    error: Option<String>,
}

/// Lifetime counters for `Stats`.
#[derive(Default)]
struct Counters {
    flushes: AtomicU64,
    merges: AtomicU64,
    splits: AtomicU64,
    merge_outputs: AtomicU64,
    scan_arrays: AtomicU64,
    scan_arrays_skipped: AtomicU64,
}

/// The merge running now, as `running_merges` reports it: fixed at its start but for
/// `done`, which its input cursors advance once per data block.
struct RunningMerge {
    id: u64,
    level: u32,
    inputs: usize,
    total: u64,
    done: Arc<AtomicU64>,
    started: std::time::Instant,
}

/// Bytes (keys and values) a merge writes per prefix and version, to report the prefixes
/// past `Options::large_prefix_bytes` once each (keys arrive in order, so a prefix's
/// entries are contiguous). A few comparisons and adds per key.
struct PrefixSizes {
    extractor: Option<crate::PrefixExtractor>,
    threshold: u64,
    prefix: Vec<u8>,
    /// Bytes per version under `prefix` (few versions per prefix: a linear search).
    sizes: Vec<(VersionId, u64)>,
}

impl PrefixSizes {
    fn new(options: &Options) -> PrefixSizes {
        PrefixSizes {
            extractor: options
                .prefix_extractor
                .filter(|_| options.large_prefix_bytes > 0),
            threshold: options.large_prefix_bytes,
            prefix: Vec::new(),
            sizes: Vec::new(),
        }
    }

    fn add(&mut self, key: &[u8], group: &[(VersionId, Cell)], report: &mut dyn FnMut(Event)) {
        let Some(prefix) = self.extractor.and_then(|e| e.prefix(key)) else {
            return;
        };
        if prefix != self.prefix.as_slice() {
            self.finish(report);
            self.prefix = prefix.to_vec();
        }
        for (version, cell) in group {
            let bytes = (key.len() + cell.approx_bytes()) as u64;
            match self.sizes.iter_mut().find(|(v, _)| v == version) {
                Some((_, total)) => *total += bytes,
                None => self.sizes.push((*version, bytes)),
            }
        }
    }

    /// Reports the current prefix's large versions and forgets it.
    fn finish(&mut self, report: &mut dyn FnMut(Event)) {
        for (version, bytes) in self.sizes.drain(..) {
            if bytes >= self.threshold {
                report(Event::LargePrefix {
                    version,
                    prefix: self.prefix.clone(),
                    bytes,
                });
            }
        }
    }
}

/// Unregisters the running merge however `merge` ends (error or shutdown included).
struct RunningGuard<'a>(&'a Mutex<Option<Arc<RunningMerge>>>);

impl Drop for RunningGuard<'_> {
    fn drop(&mut self) {
        *lock(self.0) = None;
    }
}

struct Inner {
    storage: Arc<dyn Storage>,
    options: Options,
    clock: Arc<dyn Clock>,
    cache: Arc<BlockCache>,
    /// The version tree with DFS labels. Changed only by `version_op`.
    tree: RwLock<VersionTree>,
    wal: Wal,
    /// What readers see; replaced (never mutated in place) on rotation, flush and merge.
    view: RwLock<View>,
    manifest: Mutex<ManifestCtl>,
    /// One flusher at a time keeps memtables flushing in WAL order.
    flush_lock: Mutex<()>,
    /// One merge at a time: merges pick inputs from the view and must not overlap.
    merge_lock: Mutex<()>,
    /// The merge in progress (set under `merge_lock`, read by `running_merges`).
    running: Mutex<Option<Arc<RunningMerge>>>,
    /// Ids of merges, for `MergeProgress::id`.
    next_merge_id: AtomicU64,
    /// Next id for an array or WAL segment.
    next_file_id: AtomicU64,
    bg: Mutex<BgState>,
    bg_cond: Condvar,
    counters: Counters,
    closed: AtomicBool,
}

/// The versioned dictionary. `Send + Sync`: share it through `Arc`.
pub struct Engine {
    inner: Arc<Inner>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
fn read<T>(m: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    m.read().unwrap_or_else(|e| e.into_inner())
}
fn write<T>(m: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    m.write().unwrap_or_else(|e| e.into_inner())
}

fn remove_if_exists(storage: &dyn Storage, name: &str) -> Result<()> {
    match storage.remove(name) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
        _ => Ok(()),
    }
}

fn parse_id(name: &str, suffix: &str) -> Option<u64> {
    name.strip_suffix(suffix).and_then(|n| n.parse().ok())
}

fn validate(options: &Options) -> Result<()> {
    if options.memtable_bytes < 4096 {
        return Err(Error::InvalidArgument(
            "memtable_bytes must be at least 4096".into(),
        ));
    }
    if !(0.0..=1.0).contains(&options.density_threshold) {
        return Err(Error::InvalidArgument(
            "density_threshold must be within [0, 1]".into(),
        ));
    }
    if let SyncMode::Periodic { interval_ms: 0 } = options.sync {
        return Err(Error::InvalidArgument(
            "periodic sync interval must be positive".into(),
        ));
    }
    Ok(())
}

impl Engine {
    /// Opens (or creates) an engine in directory `path`.
    pub fn open_dir(
        path: impl AsRef<Path>,
        options: Options,
        clock: Arc<dyn Clock>,
    ) -> Result<Engine> {
        let storage = Arc::new(crate::FileStorage::new(path)?);
        Engine::open(storage, options, clock)
    }

    /// Opens (or creates) an engine on `storage`: replays the manifest, opens the arrays,
    /// replays and flushes the WAL, removes leftovers of interrupted work.
    pub fn open(
        storage: Arc<dyn Storage>,
        options: Options,
        clock: Arc<dyn Clock>,
    ) -> Result<Engine> {
        validate(&options)?;
        let files = storage.list()?;
        check_directory(&*storage, &files)?;
        let (manifest, mut state) = Manifest::open(storage.clone())?;
        let cache = Arc::new(BlockCache::new(options.block_cache_bytes));
        let mut arrays = open_arrays(&storage, &cache, options.disk_access_mode, &state)?;
        sort_arrays(&mut arrays);
        let (segments, max_id) = sweep_files(&*storage, &files, &state)?;
        let tree = std::mem::take(&mut state.tree);
        let (recovered, max_seq) = replay_wal(&*storage, &segments, &tree)?;
        let first_id = max_id.max(state.wal_floor) + 1;
        let wal = Wal::create(storage.clone(), first_id, max_seq + 1, options.sync.clone())?;
        let inner = Arc::new(Inner {
            cache,
            tree: RwLock::new(tree),
            wal,
            view: RwLock::new(View {
                active: Arc::new(Memtable::new(first_id)),
                frozen: Arc::new(Vec::new()),
                arrays: Arc::new(arrays),
            }),
            manifest: Mutex::new(ManifestCtl {
                manifest,
                arrays: state.arrays,
                wal_floor: state.wal_floor,
            }),
            flush_lock: Mutex::new(()),
            merge_lock: Mutex::new(()),
            next_file_id: AtomicU64::new(first_id + 1),
            bg: Mutex::new(BgState::default()),
            bg_cond: Condvar::new(),
            counters: Counters::default(),
            running: Mutex::new(None),
            next_merge_id: AtomicU64::new(1),
            closed: AtomicBool::new(false),
            storage,
            options,
            clock,
        });
        inner.recover_memtable(recovered, &segments)?;
        let engine = Engine {
            threads: Mutex::new(Vec::new()),
            inner,
        };
        engine.start_threads()?;
        Ok(engine)
    }

    /// Starts the WAL syncer (Periodic mode, always: it is the durability promise) and the
    /// flush and merge threads (if `background_threads`; otherwise that work runs inline).
    fn start_threads(&self) -> Result<()> {
        let mut threads = lock(&self.threads);
        let spawn = |name: &str, f: fn(&Inner)| -> Result<JoinHandle<()>> {
            let inner = self.inner.clone();
            std::thread::Builder::new()
                .name(name.to_string())
                .spawn(move || f(&inner))
                .map_err(Error::Io)
        };
        if let SyncMode::Periodic { .. } = self.inner.options.sync {
            threads.push(spawn("strata-wal-sync", Inner::sync_loop)?);
        }
        if !self.inner.options.background_threads {
            drop(threads);
            return self.inner.run_merges();
        }
        threads.push(spawn("strata-flush", |inner| {
            inner.on_background_thread(BackgroundThread::Flush);
            inner.flush_loop()
        })?);
        threads.push(spawn("strata-merge", |inner| {
            inner.on_background_thread(BackgroundThread::Merge);
            inner.merge_loop()
        })?);
        self.inner.request_merge();
        Ok(())
    }

    /// Applies `mutations` atomically (one WAL record); durable per the sync mode.
    /// Equivalent to `append` followed by `wait_durable`.
    pub fn write(&self, mutations: &[Mutation]) -> Result<()> {
        self.inner.write(mutations)
    }

    /// First half of `write`: appends `mutations` as one WAL record and applies them to
    /// the memtable (readers see them from now on), without waiting for durability.
    /// Acknowledge the write only after `wait_durable` of the returned ticket succeeds.
    ///
    /// Why: a caller with a stream of writes (the server's write pipeline) can keep
    /// appending while an earlier group's fsync runs, and let one thread collect the
    /// durability notices; with `write` each appending thread sleeps through an fsync.
    pub fn append(&self, mutations: &[Mutation]) -> Result<WriteTicket> {
        self.inner.append(mutations)
    }

    /// `append` that never blocks on background work: returns `Ok(None)`, having written
    /// nothing, when the write would have to wait for a flush (too many frozen memtables)
    /// or would fill the active memtable (whose rotation fsyncs the WAL segment).
    ///
    /// Why: an async caller can append on its own thread (no hand-off to a writer thread
    /// and back) and pass only these writes to a thread that may block.
    pub fn try_append(&self, mutations: &[Mutation]) -> Result<Option<WriteTicket>> {
        self.inner.try_append(mutations)
    }

    /// The sync mode this engine was opened with.
    pub fn sync_mode(&self) -> &SyncMode {
        &self.inner.options.sync
    }

    /// Returns once the write behind `ticket` is durable per the sync mode (`Batch`: an
    /// fsync covers it, leading one if none is running; `Periodic`: the record is handed
    /// to the OS). Tickets may be waited for in any order, once each.
    pub fn wait_durable(&self, ticket: WriteTicket) -> Result<()> {
        self.inner.wait_durable(ticket)
    }

    /// The resolved cell for `key` at `version` (tombstones included), if any.
    pub fn get(&self, version: VersionId, key: &[u8]) -> Result<Option<Cell>> {
        let path = self.inner.read_path(version)?;
        let view = self.inner.view();
        let prefix_filter = self
            .inner
            .options
            .prefix_extractor
            .and_then(|e| e.prefix(key).map(|p| (e.name, hash64(p))));
        let mut best = None;
        view.active.get_into(key, &path, &mut best);
        for m in view.frozen.iter().rev() {
            m.get_into(key, &path, &mut best);
        }
        for a in view.arrays.iter() {
            if best
                .as_ref()
                .is_some_and(|b: &Cell| a.reader.meta.max_ts < b.timestamp)
            {
                break; // arrays are sorted by max_ts: none of the rest can win
            }
            let ruled_out =
                || prefix_filter.is_some_and(|(name, hash)| !a.reader.may_hold_prefix(name, hash));
            if a.reader.meta.intersects(&path) && !ruled_out() {
                a.reader.get_into(key, &path, &mut best)?;
            }
        }
        Ok(best)
    }

    /// Iterates `[start, end]` (per the bounds) at `version`, one resolved entry per key.
    pub fn scan(
        &self,
        version: VersionId,
        start: Bound<Vec<u8>>,
        end: Bound<Vec<u8>>,
        reverse: bool,
    ) -> Result<ScanIter> {
        let path = self.inner.read_path(version)?;
        let view = self.inner.view();
        let prefix_filter = self
            .inner
            .options
            .prefix_extractor
            .and_then(|e| e.scan_prefix(&start, &end).map(|p| (e.name, hash64(p))));
        let iter = ScanIter::new(
            view,
            Arc::new(path),
            start,
            end,
            reverse,
            prefix_filter,
            false,
        )?;
        let counters = &self.inner.counters;
        counters
            .scan_arrays
            .fetch_add(iter.arrays_read() as u64, Ordering::Relaxed);
        counters
            .scan_arrays_skipped
            .fetch_add(iter.arrays_skipped() as u64, Ordering::Relaxed);
        Ok(iter)
    }

    /// A forward scan like `scan` that steps over damaged data blocks instead of failing:
    /// what is still readable, for salvage (the server's schema at start). Every block it
    /// skipped is then listed by `damage`; the caller decides what the gap means.
    pub fn scan_salvaging(
        &self,
        version: VersionId,
        start: Bound<Vec<u8>>,
        end: Bound<Vec<u8>>,
    ) -> Result<ScanIter> {
        let path = self.inner.read_path(version)?;
        ScanIter::new(
            self.inner.view(),
            Arc::new(path),
            start,
            end,
            false,
            None,
            true,
        )
    }

    /// Every damaged data block found so far (by reads, merges, salvage scans or `scrub`)
    /// in the arrays in use.
    pub fn damage(&self) -> Vec<Damage> {
        self.inner
            .view()
            .arrays
            .iter()
            .flat_map(|a| a.reader.damage())
            .collect()
    }

    /// Verifies every block of the arrays holding entries of `versions` (every array when
    /// `None`) and rewrites each array that has damaged blocks without them, on its level
    /// (one manifest edit each, as a merge). Returns what each rewrite dropped. Entries of
    /// other versions in a dropped block are lost too: a block is the unit of damage.
    ///
    /// What a dropped block held is gone: an older cell of the same key in another array
    /// becomes visible again, as after Cassandra's scrub; a replica's repair restores it.
    pub fn scrub(&self, versions: Option<&[VersionId]>) -> Result<Vec<Scrubbed>> {
        self.inner.check_open()?;
        let _guard = lock(&self.inner.merge_lock);
        let view = self.inner.view();
        let mut report = Vec::new();
        for handle in view.arrays.iter().filter(|a| {
            versions.is_none_or(|vs| vs.iter().any(|v| a.reader.meta.contains_version(*v)))
        }) {
            let dropped = handle.reader.verify()?;
            if dropped.is_empty() {
                continue;
            }
            report.push(self.inner.rewrite_without_damage(handle)?);
        }
        Ok(report)
    }

    /// Freezes writable leaf `version` and returns its new writable child.
    ///
    /// Like every version operation it is a durability barrier: writes acknowledged before
    /// it are durable when it returns (also in `Periodic` mode), so a version change that
    /// survives a crash never survives without the writes that preceded it.
    pub fn snapshot(&self, version: VersionId) -> Result<VersionId> {
        self.inner
            .create_version(|new| VersionOp::Snapshot { of: version, new })
    }

    /// Creates a new writable child of frozen `version`.
    pub fn clone_version(&self, version: VersionId) -> Result<VersionId> {
        self.inner
            .create_version(|new| VersionOp::Clone { of: version, new })
    }

    /// Marks `version` deleted (any version but the root). Reads and writes at it fail from
    /// now on; its descendants still read through it; merges reclaim its entries once no
    /// live version can see them.
    pub fn delete_version(&self, version: VersionId) -> Result<()> {
        self.inner
            .version_op(|_| Ok(VersionOp::Delete { version }))?;
        self.inner.request_merge();
        Ok(())
    }

    /// Follows snapshot successors from `version` to the version now taking its writes.
    pub fn writable_head(&self, version: VersionId) -> Result<VersionId> {
        read(&self.inner.tree).writable_head(version)
    }

    pub fn version_info(&self, version: VersionId) -> Option<VersionInfo> {
        read(&self.inner.tree).info(version)
    }

    /// Flushes the memtable to an array; durable when it returns.
    pub fn flush(&self) -> Result<()> {
        self.inner.rotate_if_nonempty()?;
        self.inner.flush_frozen()?;
        if !self.inner.options.background_threads {
            self.inner.run_merges()?;
        }
        Ok(())
    }

    /// Flushes, then merges every array into one (split by version if not dense),
    /// applying TTL expiry and tombstone GC. Synchronous.
    pub fn compact(&self) -> Result<()> {
        self.flush()?;
        self.inner.merge_selected(|_| true)
    }

    /// Merges every array that holds entries of `version` (typically a deleted one, to
    /// reclaim its space now).
    pub fn merge_version(&self, version: VersionId) -> Result<()> {
        if !read(&self.inner.tree).exists(version) {
            return Err(Error::UnknownVersion(version));
        }
        self.inner
            .merge_selected(|a| a.reader.meta.contains_version(version))
    }

    /// The encoded size of the entries written at `version` (arrays' per-version stats plus
    /// the memtables), shadowed entries not yet merged away included. Not the bytes only
    /// `version` sees: its descendants see these entries too (the server counts those
    /// exactly, `src/snapshot.rs`).
    pub fn bytes_written_at(&self, version: VersionId) -> Result<u64> {
        if !read(&self.inner.tree).exists(version) {
            return Err(Error::UnknownVersion(version));
        }
        let view = self.inner.view();
        let in_arrays: u64 = view
            .arrays
            .iter()
            .filter_map(|a| {
                a.reader
                    .meta
                    .versions
                    .iter()
                    .find(|s| s.version == version)
                    .map(|s| s.bytes)
            })
            .sum();
        let in_memory: u64 = std::iter::once(&view.active)
            .chain(view.frozen.iter())
            .map(|m| m.version_bytes(version))
            .sum();
        Ok(in_arrays + in_memory)
    }

    pub fn stats(&self) -> Stats {
        self.inner.stats()
    }

    /// The merges running now with their progress (at most one today: merges are
    /// serialised). Cheap: one lock and a few atomic loads.
    pub fn running_merges(&self) -> Vec<MergeProgress> {
        lock(&self.inner.running)
            .iter()
            .map(|m| MergeProgress {
                id: m.id,
                level: m.level,
                inputs: m.inputs,
                bytes_done: m.done.load(Ordering::Relaxed).min(m.total),
                bytes_total: m.total,
                elapsed: m.started.elapsed(),
            })
            .collect()
    }

    /// Makes the WAL durable and stops background threads. `Drop` does the same,
    /// ignoring errors.
    pub fn close(self) -> Result<()> {
        self.shutdown()
    }

    fn shutdown(&self) -> Result<()> {
        if self.inner.closed.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        lock(&self.inner.bg).shutdown = true;
        self.inner.bg_cond.notify_all();
        for t in lock(&self.threads).drain(..) {
            let _ = t.join();
        }
        self.inner.wal.sync_all()
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

/// Removes leftovers of interrupted writes and refuses a directory whose manifest is gone
/// (every data file would otherwise look uncommitted and be deleted).
fn check_directory(storage: &dyn Storage, files: &[String]) -> Result<()> {
    for name in files.iter().filter(|n| n.ends_with(".tmp")) {
        storage.remove(name)?;
    }
    let has_manifest = files
        .iter()
        .any(|n| n.starts_with("MANIFEST-") && !n.ends_with(".tmp"));
    match files
        .iter()
        .find(|n| n.ends_with(".arr") || n.ends_with(".wal"))
    {
        Some(data) if !has_manifest => Err(Error::corruption(
            data,
            "data files present but no MANIFEST",
        )),
        _ => Ok(()),
    }
}

/// Opens every array the manifest names; a missing one is corruption.
fn open_arrays(
    storage: &Arc<dyn Storage>,
    cache: &Arc<BlockCache>,
    mode: DiskAccessMode,
    state: &ManifestState,
) -> Result<Vec<Arc<ArrayHandle>>> {
    let mut arrays = Vec::with_capacity(state.arrays.len());
    for (&id, &level) in &state.arrays {
        let reader =
            ArrayReader::open(storage.clone(), cache.clone(), id, mode).map_err(|e| match e {
                Error::Io(io) if io.kind() == std::io::ErrorKind::NotFound => Error::corruption(
                    &array_file_name(id),
                    "array named by the manifest is missing",
                ),
                other => other,
            })?;
        arrays.push(Arc::new(ArrayHandle {
            reader: Arc::new(reader),
            level,
        }));
    }
    Ok(arrays)
}

/// Removes arrays the manifest does not name (written, never committed) and WAL segments
/// below the floor; returns the segments to replay (sorted) and the highest file id seen.
fn sweep_files(
    storage: &dyn Storage,
    files: &[String],
    state: &ManifestState,
) -> Result<(Vec<u64>, u64)> {
    let mut max_id = 0u64;
    let mut segments = Vec::new();
    for name in files {
        if let Some(id) = parse_id(name, ".arr") {
            max_id = max_id.max(id);
            if !state.arrays.contains_key(&id) {
                storage.remove(name)?;
            }
        } else if let Some(id) = parse_id(name, ".wal") {
            max_id = max_id.max(id);
            if id < state.wal_floor {
                storage.remove(name)?;
            } else {
                segments.push(id);
            }
        }
    }
    segments.sort_unstable();
    Ok((segments, max_id))
}

/// Replays the WAL segments (oldest first; only the newest may end torn) into one memtable.
/// Returns it with the highest sequence number seen.
fn replay_wal(
    storage: &dyn Storage,
    segments: &[u64],
    tree: &VersionTree,
) -> Result<(Memtable, u64)> {
    let recovered = Memtable::new(segments.last().copied().unwrap_or(0));
    let mut max_seq = 0;
    for (i, &seg) in segments.iter().enumerate() {
        let newest = i + 1 == segments.len();
        let seq = replay_segment(storage, seg, newest, &mut |muts| {
            for m in muts {
                if !tree.exists(m.version) {
                    return Err(Error::corruption(
                        &segment_name(seg),
                        format!("write to unknown version {}", m.version),
                    ));
                }
                recovered.insert(&m.key, m.version, &m.cell);
            }
            Ok(())
        })?;
        max_seq = max_seq.max(seq);
    }
    Ok((recovered, max_seq))
}

fn sort_arrays(arrays: &mut [Arc<ArrayHandle>]) {
    arrays.sort_by(|a, b| {
        b.reader
            .meta
            .max_ts
            .cmp(&a.reader.meta.max_ts)
            .then(b.reader.id.cmp(&a.reader.id))
    });
}

/// Level an array of `bytes` belongs to, given the level-0 size `base`.
fn level_for(bytes: u64, base: u64) -> u32 {
    let ratio = bytes / base.max(1);
    if ratio == 0 {
        0
    } else {
        ratio.ilog2().min(MAX_LEVEL)
    }
}

fn sets_overlap(a: &ArrayHandle, b: &ArrayHandle) -> bool {
    let path: Vec<VersionId> = b.reader.meta.versions.iter().map(|s| s.version).collect();
    a.reader.meta.intersects(&path)
}

impl Inner {
    fn view(&self) -> View {
        read(&self.view).clone()
    }

    fn notify(&self, event: &Event) {
        if let Some(listener) = &self.options.listener {
            (listener.0)(event);
        }
    }

    fn level_base(&self) -> u64 {
        (self.options.memtable_bytes as u64 / 2).max(4096)
    }

    fn next_id(&self) -> u64 {
        self.next_file_id.fetch_add(1, Ordering::SeqCst)
    }

    fn read_path(&self, version: VersionId) -> Result<Vec<VersionId>> {
        let tree = read(&self.tree);
        tree.check_readable(version)?;
        tree.path(version)
    }

    fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(Error::Closed);
        }
        if let Some(e) = &lock(&self.bg).error {
            return Err(Error::Poisoned(e.clone()));
        }
        Ok(())
    }

    fn write(&self, mutations: &[Mutation]) -> Result<()> {
        let ticket = self.append(mutations)?;
        self.wait_durable(ticket)
    }

    /// Appends one WAL record and applies it to the memtable; durability is left to
    /// `wait_durable` (except when a full memtable forces a rotation, which syncs).
    fn append(&self, mutations: &[Mutation]) -> Result<WriteTicket> {
        self.check_mutations(mutations)?;
        if mutations.is_empty() {
            return Ok(WriteTicket(0));
        }
        self.wait_for_flush_room()?;
        let mut st = self.wal.lock();
        let seq = self.append_locked(&mut st, mutations)?;
        let full = read(&self.view).active.bytes() >= self.options.memtable_bytes;
        if !full {
            return Ok(WriteTicket(seq));
        }
        st = self.rotate(st)?;
        if !self.options.background_threads {
            drop(st);
            self.flush_frozen()?;
            self.run_merges()?;
        }
        Ok(WriteTicket(seq))
    }

    fn try_append(&self, mutations: &[Mutation]) -> Result<Option<WriteTicket>> {
        self.check_mutations(mutations)?;
        if mutations.is_empty() {
            return Ok(Some(WriteTicket(0)));
        }
        if !self.has_flush_room(&lock(&self.bg))? {
            return Ok(None);
        }
        let mut st = self.wal.lock();
        // The memtable's own accounting bound, so the insert cannot reach the rotation point.
        let growth: usize = mutations
            .iter()
            .map(|m| Memtable::max_insert_bytes(&m.key, &m.cell))
            .sum();
        if read(&self.view).active.bytes() + growth >= self.options.memtable_bytes {
            return Ok(None);
        }
        Ok(Some(WriteTicket(self.append_locked(&mut st, mutations)?)))
    }

    fn check_mutations(&self, mutations: &[Mutation]) -> Result<()> {
        self.check_open()?;
        mutations.iter().try_for_each(check_mutation_bounds)
    }

    /// Appends the WAL record and applies it to the active memtable (the WAL lock keeps
    /// rotation out, so the record and the memtable stay paired).
    fn append_locked(&self, st: &mut WalState, mutations: &[Mutation]) -> Result<u64> {
        {
            let tree = read(&self.tree);
            for m in mutations {
                tree.check_writable(m.version)?;
            }
        }
        let seq = Wal::append(st, mutations)?;
        let active = read(&self.view).active.clone();
        for m in mutations {
            active.insert(&m.key, m.version, &m.cell);
        }
        Ok(seq)
    }

    fn wait_durable(&self, ticket: WriteTicket) -> Result<()> {
        self.wal.wait_durable(self.wal.lock(), ticket.0)
    }

    /// Backpressure: block while too many frozen memtables wait for the flusher.
    fn wait_for_flush_room(&self) -> Result<()> {
        if !self.options.background_threads {
            return Ok(());
        }
        let mut bg = lock(&self.bg);
        loop {
            if self.has_flush_room(&bg)? {
                return Ok(());
            }
            bg = self
                .bg_cond
                .wait_timeout(bg, Duration::from_millis(100))
                .map(|(g, _)| g)
                .unwrap_or_else(|e| e.into_inner().0);
        }
    }

    /// Whether a write may go ahead without waiting for the flusher; errors once
    /// background work failed or the engine is shutting down.
    fn has_flush_room(&self, bg: &BgState) -> Result<bool> {
        if let Some(e) = &bg.error {
            return Err(Error::Poisoned(e.clone()));
        }
        if bg.shutdown {
            return Err(Error::Closed);
        }
        Ok(!self.options.background_threads
            || read(&self.view).frozen.len() < self.options.max_frozen_memtables.max(1))
    }

    /// Freezes the active memtable and starts a new WAL segment for its successor.
    fn rotate<'a>(&'a self, st: MutexGuard<'a, WalState>) -> Result<MutexGuard<'a, WalState>> {
        let new_id = self.next_id();
        let st = self.wal.rotate(st, new_id)?;
        {
            let mut view = write(&self.view);
            let old = std::mem::replace(&mut view.active, Arc::new(Memtable::new(new_id)));
            let mut frozen = (*view.frozen).clone();
            frozen.push(old);
            view.frozen = Arc::new(frozen);
        }
        self.bg_cond.notify_all();
        Ok(st)
    }

    fn rotate_if_nonempty(&self) -> Result<()> {
        self.check_open()?;
        let st = self.wal.lock();
        if read(&self.view).active.is_empty() {
            return Ok(());
        }
        drop(self.rotate(st)?);
        Ok(())
    }

    /// Turns the memtable recovered from the WAL into an array before accepting writes.
    fn recover_memtable(&self, recovered: Memtable, segments: &[u64]) -> Result<()> {
        if !recovered.is_empty() {
            let mem = Arc::new(recovered);
            write(&self.view).frozen = Arc::new(vec![mem]);
            self.flush_frozen()?;
        }
        for &seg in segments {
            remove_if_exists(&*self.storage, &segment_name(seg))?;
        }
        Ok(())
    }

    /// Flushes every frozen memtable, oldest first.
    fn flush_frozen(&self) -> Result<()> {
        let _guard = lock(&self.flush_lock);
        loop {
            let Some(mem) = read(&self.view).frozen.first().cloned() else {
                return Ok(());
            };
            self.flush_memtable(&mem)?;
        }
    }

    fn flush_memtable(&self, mem: &Arc<Memtable>) -> Result<()> {
        let started = std::time::Instant::now();
        let handle = if mem.is_empty() {
            None
        } else {
            let tree = read(&self.tree).clone();
            let mut builder = self.new_builder(mem.keys())?;
            let built = mem.for_each_sorted(&|v| tree.pre(v), &mut |k, v, c| builder.add(k, v, c));
            self.finish_outputs(vec![builder], built, 0)?.pop()
        };
        let floor = mem.id + 1;
        let event = Event::Flushed {
            array: handle.as_ref().map(|h| h.reader.id),
            bytes: handle.as_ref().map_or(0, |h| h.reader.file_bytes),
            entries: handle.as_ref().map_or(0, |h| h.reader.meta.entries),
            duration: started.elapsed(),
        };
        let edit = Edit {
            add: handle.iter().map(|h| (h.reader.id, h.level)).collect(),
            remove: Vec::new(),
            wal_floor: floor,
        };
        self.commit_edit(edit, handle.into_iter().collect(), &[], Some(mem))?;
        // Best effort: a segment left behind (below the floor) is removed at the next open.
        let _ = self.storage.remove(&segment_name(mem.id));
        self.counters.flushes.fetch_add(1, Ordering::Relaxed);
        self.notify(&event);
        self.request_merge();
        Ok(())
    }

    /// Commits an array-set change to the manifest, then to the view.
    fn commit_edit(
        &self,
        edit: Edit,
        added: Vec<Arc<ArrayHandle>>,
        removed: &[Arc<ArrayHandle>],
        flushed: Option<&Arc<Memtable>>,
    ) -> Result<()> {
        let mut man = lock(&self.manifest);
        let rec = Record::Edit(edit);
        if let Err(e) = man.manifest.commit(&rec) {
            for a in &added {
                a.reader.mark_obsolete();
            }
            return Err(e);
        }
        if let Record::Edit(edit) = &rec {
            for id in &edit.remove {
                man.arrays.remove(id);
            }
            for (id, level) in &edit.add {
                man.arrays.insert(*id, *level);
            }
            man.wal_floor = man.wal_floor.max(edit.wal_floor);
        }
        {
            let mut view = write(&self.view);
            let gone: HashSet<u64> = removed.iter().map(|a| a.reader.id).collect();
            let mut arrays: Vec<Arc<ArrayHandle>> = view
                .arrays
                .iter()
                .filter(|a| !gone.contains(&a.reader.id))
                .cloned()
                .collect();
            arrays.extend(added);
            sort_arrays(&mut arrays);
            view.arrays = Arc::new(arrays);
            if let Some(mem) = flushed {
                let frozen: Vec<Arc<Memtable>> = view
                    .frozen
                    .iter()
                    .filter(|m| !Arc::ptr_eq(m, mem))
                    .cloned()
                    .collect();
                view.frozen = Arc::new(frozen);
            }
        }
        for a in removed {
            a.reader.mark_obsolete();
        }
        self.bg_cond.notify_all();
        let state = ManifestState {
            tree: read(&self.tree).clone(),
            arrays: man.arrays.clone(),
            wal_floor: man.wal_floor,
        };
        let threshold = self.options.manifest_compact_bytes;
        man.manifest.maybe_compact(&state, threshold)
    }

    /// Runs the version op `make(new id)` and returns the new id.
    fn create_version(&self, make: impl FnOnce(VersionId) -> VersionOp) -> Result<VersionId> {
        let mut new = ROOT_VERSION;
        self.version_op(|tree| {
            new = tree.peek_next_id()?;
            Ok(make(new))
        })?;
        Ok(new)
    }

    /// Validates a version op, makes it durable in the manifest, then applies it. Holding
    /// the WAL lock orders it against writes (none is in flight) and syncing the WAL first
    /// makes it a durability barrier for earlier writes.
    fn version_op(&self, make: impl FnOnce(&VersionTree) -> Result<VersionOp>) -> Result<()> {
        self.check_open()?;
        let _wal = self.wal.sync_locked(self.wal.lock())?;
        let mut man = lock(&self.manifest);
        let mut tree = write(&self.tree);
        let op = make(&tree)?;
        tree.plan(op)?;
        man.manifest.commit(&Record::Version(op))?;
        tree.apply(op)
    }

    fn request_merge(&self) {
        lock(&self.bg).merge_wanted = true;
        self.bg_cond.notify_all();
    }

    /// Picks the lowest level that needs a merge (invariant 4).
    fn pick_merge(&self) -> Option<(Vec<Arc<ArrayHandle>>, u32)> {
        let view = self.view();
        (0..=MAX_LEVEL).find_map(|level| self.level_needs_merge(&view, level))
    }

    /// The arrays of `level` and the level to merge them into, if the level needs a merge.
    fn level_needs_merge(&self, view: &View, level: u32) -> Option<(Vec<Arc<ArrayHandle>>, u32)> {
        // A damaged array stays out of merges until `scrub` rewrites it: a merge would fail
        // on its damaged block. The others still merge; the damaged one counts as data
        // outside the merge for tombstone purging, like any array not merged.
        let at: Vec<Arc<ArrayHandle>> = view
            .arrays
            .iter()
            .filter(|a| a.level == level && !a.reader.is_damaged())
            .cloned()
            .collect();
        if at.len() < 2 {
            return None;
        }
        let bytes: u64 = at.iter().map(|a| a.reader.file_bytes).sum();
        let full = level < MAX_LEVEL
            && bytes
                >= self
                    .level_base()
                    .saturating_mul(1u64 << (level + 1).min(62));
        let overlap = at
            .iter()
            .enumerate()
            .any(|(i, a)| at.iter().skip(i + 1).any(|b| sets_overlap(a, b)));
        (full || overlap).then(|| (at, (level + 1).min(MAX_LEVEL)))
    }

    fn run_merges(&self) -> Result<()> {
        for _ in 0..MAX_MERGES_PER_ROUND {
            let _guard = lock(&self.merge_lock);
            let Some((inputs, level)) = self.pick_merge() else {
                return Ok(());
            };
            match self.merge(&inputs, level) {
                // The damaged input is now marked and left out of the next picks: the
                // damage is reported, and writes go on (Cassandra marks the sstable
                // suspect and compacts the others).
                Err(Error::Corruption { .. }) if inputs.iter().any(|a| a.reader.is_damaged()) => {
                    for damage in inputs.iter().flat_map(|a| a.reader.damage()) {
                        self.notify(&Event::Damaged(damage));
                    }
                }
                other => other?,
            }
        }
        Ok(())
    }

    /// Rewrites `handle`'s array without its damaged blocks, on its level.
    fn rewrite_without_damage(&self, handle: &Arc<ArrayHandle>) -> Result<Scrubbed> {
        let reader = &handle.reader;
        let mut builder = self.new_builder(reader.meta.keys)?;
        let mut kept = 0u64;
        let built = reader.salvage(&mut |key, version, cell| {
            kept += 1;
            builder.add(key, version, cell)
        });
        let dropped = reader.damage();
        let outputs = self.finish_outputs(vec![builder], built, handle.level)?;
        let edit = Edit {
            add: outputs.iter().map(|a| (a.reader.id, a.level)).collect(),
            remove: vec![reader.id],
            wal_floor: 0,
        };
        let replacement = outputs.first().map(|a| a.reader.file_name().to_string());
        self.commit_edit(edit, outputs, std::slice::from_ref(handle), None)?;
        Ok(Scrubbed {
            file: reader.file_name().to_string(),
            replacement,
            entries_kept: kept,
            dropped,
        })
    }

    fn merge_selected(&self, pick: impl Fn(&ArrayHandle) -> bool) -> Result<()> {
        self.check_open()?;
        let _guard = lock(&self.merge_lock);
        let inputs: Vec<Arc<ArrayHandle>> = self
            .view()
            .arrays
            .iter()
            .filter(|a| pick(a) && !a.reader.is_damaged())
            .cloned()
            .collect();
        if inputs.is_empty() {
            return Ok(());
        }
        let level = inputs.iter().map(|a| a.level).max().unwrap_or(0);
        self.merge(&inputs, level)
    }

    fn shutting_down(&self) -> bool {
        lock(&self.bg).shutdown
    }

    /// Merges `inputs` into new arrays on level `>= min_level` (rules in `merge`). If the
    /// result would not be dense, entries are routed into version-split pieces as they are
    /// merged.
    fn merge(&self, inputs: &[Arc<ArrayHandle>], min_level: u32) -> Result<()> {
        let started = std::time::Instant::now();
        let running = Arc::new(RunningMerge {
            id: self.next_merge_id.fetch_add(1, Ordering::Relaxed),
            level: min_level,
            inputs: inputs.len(),
            total: inputs.iter().map(|a| a.reader.data_bytes()).sum(),
            done: Arc::new(AtomicU64::new(0)),
            started,
        });
        let progress = running.done.clone();
        *lock(&self.running) = Some(running);
        let _running = RunningGuard(&self.running);
        let tree = read(&self.tree).clone();
        let view = self.view();
        let input_ids: HashSet<u64> = inputs.iter().map(|a| a.reader.id).collect();
        let outside = view
            .arrays
            .iter()
            .filter(|a| !input_ids.contains(&a.reader.id))
            .map(|a| OutsideData {
                versions: a.reader.meta.versions.iter().map(|s| s.version).collect(),
                min_ts: a.reader.meta.min_ts,
            })
            .collect();
        let memtable_min_ts = std::iter::once(&view.active)
            .chain(view.frozen.iter())
            .map(|m| m.min_timestamp())
            .min()
            .unwrap_or(i64::MAX);
        let mut gc = GcContext::new(
            &tree,
            self.clock.now_secs(),
            self.options.gc_grace_secs,
            outside,
            memtable_min_ts,
        );
        let mut counts = VersionTally::default();
        for s in inputs.iter().flat_map(|a| a.reader.meta.versions.iter()) {
            counts.add_many(s.version, s.entries, s.bytes);
        }
        let plan = if self.options.version_split {
            plan_split(&tree, &counts, self.options.density_threshold)
        } else {
            None
        };
        let split = plan.is_some();
        let pieces = plan.unwrap_or_else(|| vec![counts.iter().map(|(v, _, _)| v).collect()]);
        let piece_of: std::collections::HashMap<VersionId, usize> = pieces
            .iter()
            .enumerate()
            .flat_map(|(i, p)| p.iter().map(move |&v| (v, i)))
            .collect();
        // Each piece holds at most the inputs' keys, and at most as many keys as it has
        // entries.
        let input_keys: u64 = inputs.iter().map(|a| a.reader.meta.keys).sum();
        let expected_keys: Vec<u64> = pieces
            .iter()
            .map(|p| input_keys.min(p.iter().map(|&v| counts.entries(v)).sum()))
            .collect();
        let mut builders: Vec<Option<ArrayBuilder>> = pieces.iter().map(|_| None).collect();
        let built = self.merge_into(inputs, &progress, &mut gc, &mut |key, version, cell| {
            let piece = piece_of.get(&version).copied().unwrap_or(0);
            let Some(slot) = builders.get_mut(piece) else {
                return Err(Error::InvalidArgument("no such piece".into()));
            };
            if slot.is_none() {
                *slot = Some(
                    self.new_builder(expected_keys.get(piece).copied().unwrap_or(input_keys))?,
                );
            }
            match slot {
                Some(b) => b.add(key, version, cell),
                None => Ok(()),
            }
        });
        let outputs =
            self.finish_outputs(builders.into_iter().flatten().collect(), built, min_level)?;
        let edit = Edit {
            add: outputs.iter().map(|a| (a.reader.id, a.level)).collect(),
            remove: input_ids.iter().copied().collect(),
            wal_floor: 0,
        };
        let n_out = outputs.len() as u64;
        let event = Event::Merged {
            inputs: inputs.len(),
            input_bytes: inputs.iter().map(|a| a.reader.file_bytes).sum(),
            outputs: outputs.len(),
            output_bytes: outputs.iter().map(|a| a.reader.file_bytes).sum(),
            level: outputs.iter().map(|a| a.level).max().unwrap_or(min_level),
            duration: started.elapsed(),
        };
        self.commit_edit(edit, outputs, inputs, None)?;
        self.notify(&event);
        self.counters.merges.fetch_add(1, Ordering::Relaxed);
        self.counters
            .merge_outputs
            .fetch_add(n_out, Ordering::Relaxed);
        if split && n_out > 1 {
            self.counters.splits.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    /// A builder for an array of at most `expected_keys` distinct keys.
    fn new_builder(&self, expected_keys: u64) -> Result<ArrayBuilder> {
        let options = &self.options;
        let filters = FilterPolicy {
            bits_per_key: options.bloom_bits_per_key,
            prefix: options.prefix_extractor,
            whole_keys: options.whole_key_filtering,
        };
        ArrayBuilder::new(
            self.storage.clone(),
            self.next_id(),
            self.options.block_bytes,
            filters,
            expected_keys,
        )
    }

    /// Finishes every non-empty builder (file fsynced and renamed), syncs the directory once
    /// and opens the arrays on level `>= min_level`; or discards everything if `built` (the
    /// caller's work) or any step failed.
    fn finish_outputs(
        &self,
        builders: Vec<ArrayBuilder>,
        built: Result<()>,
        min_level: u32,
    ) -> Result<Vec<Arc<ArrayHandle>>> {
        let mut failure = built.err();
        let mut written = Vec::with_capacity(builders.len());
        for b in builders {
            if failure.is_some() || b.entries() == 0 {
                b.abandon();
                continue;
            }
            let id = b.id();
            match b.finish() {
                Ok(bytes) => written.push((id, bytes)),
                Err(e) => failure = Some(e),
            }
        }
        if failure.is_none() && !written.is_empty() {
            failure = self.storage.sync_dir().err().map(Error::from);
        }
        let mut out = Vec::with_capacity(written.len());
        for &(id, bytes) in &written {
            if failure.is_some() {
                break;
            }
            match ArrayReader::open(
                self.storage.clone(),
                self.cache.clone(),
                id,
                self.options.disk_access_mode,
            ) {
                Ok(reader) => {
                    let level = level_for(bytes, self.level_base())
                        .max(min_level)
                        .min(MAX_LEVEL);
                    out.push(Arc::new(ArrayHandle {
                        reader: Arc::new(reader),
                        level,
                    }));
                }
                Err(e) => failure = Some(e),
            }
        }
        let Some(e) = failure else { return Ok(out) };
        // Nothing was committed: remove what was written (leftovers are swept at open).
        drop(out);
        for (id, _) in written {
            let _ = self.storage.remove(&array_file_name(id));
        }
        Err(e)
    }

    /// K-way merge of the inputs, resolving each key with `gc` and handing survivors to
    /// `sink` in array order.
    fn merge_into(
        &self,
        inputs: &[Arc<ArrayHandle>],
        progress: &Arc<AtomicU64>,
        gc: &mut GcContext<'_>,
        sink: &mut EntryVisitor<'_>,
    ) -> Result<()> {
        let mut sources: Vec<Box<dyn EntrySource>> = Vec::with_capacity(inputs.len());
        for a in inputs {
            sources.push(Box::new(ArrayCursor::for_merge(
                a.reader.clone(),
                progress.clone(),
            )));
        }
        let mut merger = KeyMerger::new(sources, false)?;
        let mut group = Vec::new();
        let mut keys = 0u64;
        let mut prefixes = PrefixSizes::new(&self.options);
        while let Some(key) = merger.next_group(&mut group)? {
            gc.resolve_key(&mut group);
            prefixes.add(&key, &group, &mut |e| self.notify(&e));
            for (v, c) in &group {
                sink(&key, *v, c)?;
            }
            keys += 1;
            if keys.is_multiple_of(MERGE_ABORT_CHECK_KEYS) && self.shutting_down() {
                return Err(Error::Closed);
            }
        }
        prefixes.finish(&mut |e| self.notify(&e));
        Ok(())
    }

    fn poison(&self, e: &Error) {
        let mut bg = lock(&self.bg);
        if bg.error.is_none() {
            bg.error = Some(format!("background work failed: {e}"));
        }
        self.bg_cond.notify_all();
    }

    /// Background flusher: flushes frozen memtables as they appear.
    fn flush_loop(&self) {
        loop {
            {
                let mut bg = lock(&self.bg);
                while !bg.shutdown && read(&self.view).frozen.is_empty() {
                    bg = self
                        .bg_cond
                        .wait_timeout(bg, Duration::from_millis(100))
                        .map(|(g, _)| g)
                        .unwrap_or_else(|e| e.into_inner().0);
                }
                if bg.shutdown {
                    return;
                }
            }
            if let Err(e) = self.flush_frozen() {
                // A failed flush means the disk is failing: refuse writes, keep serving reads.
                self.poison(&e);
                return;
            }
        }
    }

    /// Background merger: runs merges whenever a flush or delete asks for it.
    fn merge_loop(&self) {
        loop {
            {
                let mut bg = lock(&self.bg);
                while !bg.shutdown && !bg.merge_wanted {
                    bg = self
                        .bg_cond
                        .wait_timeout(bg, Duration::from_millis(500))
                        .map(|(g, _)| g)
                        .unwrap_or_else(|e| e.into_inner().0);
                }
                if bg.shutdown {
                    return;
                }
                bg.merge_wanted = false;
            }
            match self.run_merges() {
                Ok(()) => {}
                Err(Error::Closed) => return,
                Err(e) => {
                    self.poison(&e);
                    return;
                }
            }
        }
    }

    fn on_background_thread(&self, thread: BackgroundThread) {
        if let Some(hook) = self.options.on_background_thread {
            hook(thread);
        }
    }

    /// Periodic-mode WAL syncer: fsyncs every `interval_ms` until shutdown.
    fn sync_loop(&self) {
        let SyncMode::Periodic { interval_ms } = self.options.sync else {
            return;
        };
        loop {
            {
                let bg = lock(&self.bg);
                // `wait_timeout_while` checks first, so a shutdown requested before this
                // thread got here is not missed (that would stall `close` for an interval).
                let (bg, _) = self
                    .bg_cond
                    .wait_timeout_while(bg, Duration::from_millis(interval_ms), |b| !b.shutdown)
                    .unwrap_or_else(|e| e.into_inner());
                if bg.shutdown {
                    return;
                }
            }
            if self.wal.sync_all().is_err() {
                // The WAL is now poisoned and reports the failure to every writer.
                std::thread::sleep(BACKGROUND_RETRY);
            }
        }
    }

    fn stats(&self) -> Stats {
        let view = self.view();
        let mut levels: std::collections::BTreeMap<u32, LevelStats> =
            std::collections::BTreeMap::new();
        for a in view.arrays.iter() {
            let l = levels.entry(a.level).or_insert_with(|| LevelStats {
                level: a.level,
                ..LevelStats::default()
            });
            l.arrays += 1;
            l.bytes += a.reader.file_bytes;
            l.entries += a.reader.meta.entries;
        }
        let tree = read(&self.tree);
        let (block_cache_hits, block_cache_misses) = self.cache.hits_and_misses();
        Stats {
            arrays: view.arrays.len(),
            array_bytes: view.arrays.iter().map(|a| a.reader.file_bytes).sum(),
            array_entries: view.arrays.iter().map(|a| a.reader.meta.entries).sum(),
            levels: levels.into_values().collect(),
            versions: tree.len(),
            live_versions: tree.live_count(),
            memtable_bytes: view.active.bytes()
                + view.frozen.iter().map(|m| m.bytes()).sum::<usize>(),
            frozen_memtables: view.frozen.len(),
            flushes: self.counters.flushes.load(Ordering::Relaxed),
            merges: self.counters.merges.load(Ordering::Relaxed),
            version_splits: self.counters.splits.load(Ordering::Relaxed),
            merge_output_arrays: self.counters.merge_outputs.load(Ordering::Relaxed),
            scan_arrays_read: self.counters.scan_arrays.load(Ordering::Relaxed),
            scan_arrays_skipped_by_prefix: self
                .counters
                .scan_arrays_skipped
                .load(Ordering::Relaxed),
            block_cache_bytes: self.cache.bytes(),
            block_cache_entries: self.cache.entries(),
            block_cache_hits,
            block_cache_misses,
            pending_merges: (0..=MAX_LEVEL)
                .filter(|&level| self.level_needs_merge(&view, level).is_some())
                .count(),
        }
    }
}
