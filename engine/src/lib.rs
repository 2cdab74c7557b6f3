//! Strata's storage engine: a durable versioned dictionary in the style of the
//! stratified B-tree (a versioned doubling array of immutable sorted arrays).
//!
//! # Layout
//! - [`storage`]: the `Storage` trait (all file I/O) and its file, memory and crash-model backends.
//! - `codec`: little-endian encoding, bounds-checked decoding, CRC32, the Bloom hash.
//! - [`cell`]: `Cell`, `Mutation` and the last-write-wins order.
//! - `version`: the version tree (stable ids, DFS pre/post labels, snapshot/clone/delete).
//! - `wal`: write-ahead log segments, group commit.
//! - `memtable`: in-memory sorted buffer keyed by (key, version, sequence).
//! - `array`: the immutable sorted array file (blocks, index, Bloom, footer) and block cache.
//! - `manifest`: the append-only log of version-tree and array-set changes.
//! - `merge`: per-key resolution, garbage collection and version splitting.
//! - `engine`: ties everything together; background flush and merge threads.
//! - `scan`: the range iterator.
//!
//! # Architecture invariants
//! - The engine is synchronous, reads no wall clock (time comes from [`Clock`]) and touches
//!   files only through [`Storage`].
//! - Files store stable version ids, never DFS labels.
//! - The visible cell for `(key, v)` is the maximum, under [`Cell::precedence`], of all
//!   entries for `key` at versions on the root-to-`v` path. Nothing depends on arrival order.
//!
//! See `engine/DESIGN.md` for the formats, the commit protocol and the numbered invariants.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::dbg_macro)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing))]

mod array;
pub mod cell;
mod codec;
mod engine;
mod logfile;
mod error;
mod manifest;
mod memtable;
mod merge;
mod scan;
pub mod storage;
mod version;
mod wal;

pub use cell::{Cell, CellValue, Mutation, MAX_KEY_BYTES, MAX_VALUE_BYTES};
pub use engine::Engine;
pub use error::{Error, Result};
pub use scan::ScanIter;
pub use storage::{CrashMode, CrashStorage, FileStorage, MemStorage, Storage};
pub use version::VersionInfo;

// The server shares one engine across threads and moves scans between tasks.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    const fn assert_send_static<T: Send + 'static>() {}
    assert_send_sync::<Engine>();
    assert_send_static::<ScanIter>();
};

/// Stable identifier of a version. Never reused.
pub type VersionId = u32;

/// The root of the version tree: exists from the start, frozen and empty.
pub const ROOT_VERSION: VersionId = 0;

/// Source of the current time (seconds since the Unix epoch). Only TTL expiry and
/// tombstone garbage collection in merges use it.
pub trait Clock: Send + Sync {
    fn now_secs(&self) -> i64;
}

/// The wall clock. The only place the engine crate reads the system time.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_secs(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    }
}

/// A clock the caller sets by hand (tests, simulations).
#[derive(Debug, Default)]
pub struct ManualClock(std::sync::atomic::AtomicI64);

impl ManualClock {
    pub fn new(now_secs: i64) -> ManualClock {
        ManualClock(std::sync::atomic::AtomicI64::new(now_secs))
    }
    pub fn set(&self, now_secs: i64) {
        self.0.store(now_secs, std::sync::atomic::Ordering::SeqCst);
    }
    pub fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_secs(&self) -> i64 {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// When a write is acknowledged relative to its WAL fsync (Cassandra's `commitlog_sync`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyncMode {
    /// Acknowledge after the WAL record is fsynced (concurrent writers share one fsync).
    Batch,
    /// Acknowledge at once; a background thread fsyncs the WAL every `interval_ms`.
    Periodic { interval_ms: u64 },
}

/// Engine configuration.
#[derive(Clone, Debug)]
pub struct Options {
    pub sync: SyncMode,
    /// Memtable budget; a full memtable is frozen and flushed to an array.
    pub memtable_bytes: usize,
    /// Writers block while this many frozen memtables wait for flush.
    pub max_frozen_memtables: usize,
    /// Tombstones are purged by merges only `gc_grace_secs` after their deletion time.
    pub gc_grace_secs: i64,
    /// Split non-dense merge outputs by version subtrees (the "stratified" part).
    pub version_split: bool,
    /// An array is dense if every version in its set sees at least this fraction of it.
    pub density_threshold: f64,
    /// Run flushes and merges on background threads. If false they run inline in the
    /// writing thread (deterministic tests). The Periodic-mode WAL syncer runs either way.
    pub background_threads: bool,
    /// Block cache budget for array data blocks.
    pub block_cache_bytes: usize,
    /// Target size of an array data block.
    pub block_bytes: usize,
    /// Bloom filter bits per key (0 disables the filter).
    pub bloom_bits_per_key: u32,
    /// The manifest log is rewritten (compacted) once it grows past this size.
    pub manifest_compact_bytes: u64,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            sync: SyncMode::Batch,
            memtable_bytes: 64 << 20,
            max_frozen_memtables: 2,
            gc_grace_secs: 864_000,
            version_split: true,
            density_threshold: 0.2,
            background_threads: true,
            block_cache_bytes: 256 << 20,
            block_bytes: 4096,
            bloom_bits_per_key: 10,
            manifest_compact_bytes: 4 << 20,
        }
    }
}

/// One level of the doubling array.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LevelStats {
    /// Level number (0 = freshly flushed arrays; level `l` holds ~`memtable_bytes/2 * 2^l`).
    pub level: u32,
    /// Arrays on this level.
    pub arrays: usize,
    /// File bytes of those arrays.
    pub bytes: u64,
    /// Entries in those arrays (one per key and version written).
    pub entries: u64,
}

/// A point-in-time summary of the engine. Counters (`flushes`, `merges`, ...) count since open.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// Non-empty levels, lowest first.
    pub levels: Vec<LevelStats>,
    /// Live arrays.
    pub arrays: usize,
    /// File bytes of all live arrays.
    pub array_bytes: u64,
    /// Entries in all live arrays.
    pub array_entries: u64,
    /// Versions in the tree, deleted ones included (ids are never reused).
    pub versions: usize,
    /// Versions not deleted (the root included).
    pub live_versions: usize,
    /// Estimated memory of the active and frozen memtables.
    pub memtable_bytes: usize,
    /// Memtables frozen and waiting for flush.
    pub frozen_memtables: usize,
    /// Memtable flushes.
    pub flushes: u64,
    /// Merges run (background, `compact`, `merge_version`).
    pub merges: u64,
    /// Merges whose output was split into several arrays by version.
    pub version_splits: u64,
    /// Arrays written by merges.
    pub merge_output_arrays: u64,
    /// Arrays opened by scans, summed over all scans (the version filter skips arrays
    /// holding no entry a scan's version can see).
    pub scan_arrays_read: u64,
    /// Memory held by the block cache.
    pub block_cache_bytes: usize,
}
