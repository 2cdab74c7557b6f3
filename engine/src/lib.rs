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
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::dbg_macro
)]
#![cfg_attr(
    test,
    allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

mod array;
pub mod cell;
mod codec;
mod engine;
mod error;
mod logfile;
mod manifest;
mod memtable;
mod merge;
mod scan;
pub mod storage;
mod version;
mod wal;

pub use array::Damage;
pub use cell::{Cell, CellValue, Mutation, MAX_KEY_BYTES, MAX_VALUE_BYTES};
pub use engine::Engine;
pub use error::{Error, Result};
pub use scan::ScanIter;
pub use storage::{CrashMode, CrashStorage, FileStorage, MemStorage, Storage};
pub use version::VersionInfo;

use std::ops::Bound;

// The server shares one engine across threads and moves scans between tasks.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    const fn assert_send_static<T: Send + 'static>() {}
    assert_send_sync::<Engine>();
    assert_send_static::<ScanIter>();
};

/// A write appended by [`Engine::append`] whose durability [`Engine::wait_durable`] awaits
/// (its WAL sequence number; 0 for an empty write, durable at once). Tickets order as their
/// writes were appended, so the greatest of several covers them all.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
#[must_use = "a write is acknowledged only after wait_durable"]
pub struct WriteTicket(pub(crate) u64);

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

/// Names the leading part of a key that single-prefix scans share (RocksDB's prefix
/// extractor; for Strata's server, a partition). Each array then keeps a second Bloom
/// filter, over the prefixes of its keys, and a scan whose bounds both lie inside one
/// prefix skips the arrays that cannot hold it.
///
/// Contract: if `prefix_len(k) == Some(n)`, then `prefix_len(j) == Some(n)` for every key
/// `j` that starts with `k[..n]`. (Then every key a scan inside that prefix can meet has
/// its prefix in the filter.) The name is stored with each array's filter: an array built
/// under another name, or none, is never skipped, so changing the extractor is safe.
#[derive(Clone, Copy, Debug)]
pub struct PrefixExtractor {
    pub name: &'static str,
    pub prefix_len: fn(&[u8]) -> Option<usize>,
}

impl PrefixExtractor {
    /// The prefix of `key`, if the extractor names one that fits inside it.
    pub(crate) fn prefix<'k>(&self, key: &'k [u8]) -> Option<&'k [u8]> {
        key.get(..(self.prefix_len)(key)?)
    }

    /// The prefix every key in the range shares: the start bound's prefix, when the end
    /// bound lies inside it too or is exactly its exclusive upper limit (the form a
    /// "whole prefix" scan takes).
    pub(crate) fn scan_prefix<'k>(
        &self,
        start: &'k Bound<Vec<u8>>,
        end: &Bound<Vec<u8>>,
    ) -> Option<&'k [u8]> {
        let (Bound::Included(start) | Bound::Excluded(start)) = start else {
            return None;
        };
        let prefix = self.prefix(start)?;
        let inside = match end {
            Bound::Included(end) => end.starts_with(prefix),
            Bound::Excluded(end) => end.starts_with(prefix) || is_successor_of(end, prefix),
            Bound::Unbounded => false,
        };
        inside.then_some(prefix)
    }
}

/// Whether `end` is the smallest string above every string that starts with `prefix`:
/// `prefix` with its trailing 0xFF bytes dropped and the last remaining byte incremented.
fn is_successor_of(end: &[u8], prefix: &[u8]) -> bool {
    let kept = prefix.len() - prefix.iter().rev().take_while(|&&b| b == 0xFF).count();
    match (
        end.split_last(),
        prefix.get(..kept).and_then(<[u8]>::split_last),
    ) {
        (Some((&e, end_head)), Some((&p, prefix_head))) => {
            end_head == prefix_head && p < 0xFF && e == p + 1
        }
        _ => false,
    }
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
    /// Block cache budget for array data blocks (read with `DiskAccessMode::Standard`).
    pub block_cache_bytes: usize,
    /// How data blocks of immutable arrays are read (Cassandra's `disk_access_mode`).
    pub disk_access_mode: DiskAccessMode,
    /// Target size of an array data block.
    pub block_bytes: usize,
    /// Bloom filter bits per key (0 disables the filter); the prefix filter uses as many
    /// per prefix.
    pub bloom_bits_per_key: u32,
    /// Keeps a Bloom filter of key prefixes per array for scans inside one prefix.
    pub prefix_extractor: Option<PrefixExtractor>,
    /// Keeps a Bloom filter of whole keys per array for point gets (RocksDB's option of
    /// the same name). With a prefix extractor, `false` leaves gets to the prefix filter and
    /// saves a filter insert per key in every flush and merge, and the filter's memory.
    pub whole_key_filtering: bool,
    /// The manifest log is rewritten (compacted) once it grows past this size.
    pub manifest_compact_bytes: u64,
    /// Told of each completed flush and merge (the server logs them).
    pub listener: Option<Listener>,
    /// With a prefix extractor, a merge reports each prefix whose entries written at one
    /// version add up to at least this many bytes (`Event::LargePrefix`; Cassandra's
    /// `compaction_large_partition_warning_threshold`); 0 reports none.
    pub large_prefix_bytes: u64,
    /// Called first on each background thread (flush, merge) with its kind. The engine
    /// makes no OS scheduling calls itself; the server uses this to run merges at a lower
    /// priority than requests on a shared core.
    pub on_background_thread: Option<fn(BackgroundThread)>,
}

/// How the data blocks of immutable arrays are read (index, filters and meta are read once,
/// at open, either way). Named after Cassandra's `disk_access_mode`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DiskAccessMode {
    /// `pread` of each block into an allocation that enters the shared block cache.
    Standard,
    /// Each array file is mapped read-only once, at open; reads decode blocks straight from
    /// the mapped pages (the kernel's page cache: no copy, no block cache), verifying a
    /// block's checksum each time they take it. Merges still read with `pread`, around the
    /// cache. Storages without files to map (in memory) read as `Standard`. The default:
    /// 1.2-1.5x the point reads and scans per CPU second of `Standard` (BENCHMARKS.md);
    /// engine/DESIGN.md ("Decisions") has the trade-offs.
    #[default]
    Mmap,
}

/// The engine's background threads, as told to `Options::on_background_thread`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackgroundThread {
    /// Turns frozen memtables into arrays; writers wait for it when
    /// `max_frozen_memtables` are frozen, so it bounds the memtables' memory.
    Flush,
    /// Merges arrays; nothing waits for it (reads only open more arrays meanwhile).
    Merge,
}

/// A background operation the engine completed. Durations are measured with the
/// monotonic clock, for reporting only: nothing the engine stores depends on them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A frozen memtable became an array (`None`: it was empty, no array was written).
    Flushed {
        array: Option<u64>,
        bytes: u64,
        entries: u64,
        duration: std::time::Duration,
    },
    /// Arrays were merged into `outputs` arrays at `level` or above.
    Merged {
        inputs: usize,
        input_bytes: u64,
        outputs: usize,
        output_bytes: u64,
        level: u32,
        duration: std::time::Duration,
    },
    /// A merge wrote `bytes` of keys and values under `prefix` at `version` (at least
    /// `Options::large_prefix_bytes`).
    LargePrefix {
        version: VersionId,
        prefix: Vec<u8>,
        bytes: u64,
    },
    /// A merge met a damaged data block; the array is left out of merges from now on
    /// (until `Engine::scrub` rewrites it) and writes go on.
    Damaged(Damage),
}

/// What `Engine::scrub` did to one damaged array.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scrubbed {
    /// The damaged array file.
    pub file: String,
    /// The array written in its place (`None` when nothing in it was readable).
    pub replacement: Option<String>,
    /// Entries copied from the blocks that verified.
    pub entries_kept: u64,
    /// The blocks left out, with the keys they held.
    pub dropped: Vec<Damage>,
}

/// Receives [`Event`]s on the engine's background threads; must return quickly.
#[derive(Clone)]
pub struct Listener(pub std::sync::Arc<dyn Fn(&Event) + Send + Sync>);

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Listener")
    }
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
            disk_access_mode: DiskAccessMode::Mmap,
            block_bytes: 4096,
            bloom_bits_per_key: 10,
            prefix_extractor: None,
            whole_key_filtering: true,
            manifest_compact_bytes: 4 << 20,
            listener: None,
            large_prefix_bytes: 100 << 20,
            on_background_thread: None,
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
    /// Arrays a scan inside one prefix skipped because their prefix filter rules it out.
    pub scan_arrays_skipped_by_prefix: u64,
    /// Memory held by the block cache, and the blocks it holds.
    pub block_cache_bytes: usize,
    pub block_cache_entries: usize,
    /// Block lookups of reads found in the block cache, and not found (merges bypass it).
    pub block_cache_hits: u64,
    pub block_cache_misses: u64,
    /// Levels that need a merge now (Cassandra's pending compactions).
    pub pending_merges: usize,
}

/// A merge running now ([`Engine::running_merges`]): Cassandra's compaction progress. The
/// engine is one dictionary, so a merge covers every table whose data its arrays hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MergeProgress {
    /// Unique among the merges of this engine since it was opened.
    pub id: u64,
    /// The lowest level its outputs go to.
    pub level: u32,
    /// Input arrays.
    pub inputs: usize,
    /// Data bytes of the input arrays read so far (whole blocks) and in all.
    pub bytes_done: u64,
    pub bytes_total: u64,
    /// Time since the merge started (monotonic clock; reporting only).
    pub elapsed: std::time::Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Prefix = everything up to and including the first `/`.
    fn through_slash(key: &[u8]) -> Option<usize> {
        key.iter().position(|&b| b == b'/').map(|i| i + 1)
    }

    const SLASH: PrefixExtractor = PrefixExtractor {
        name: "slash",
        prefix_len: through_slash,
    };

    fn inc(k: &[u8]) -> Bound<Vec<u8>> {
        Bound::Included(k.to_vec())
    }

    fn exc(k: &[u8]) -> Bound<Vec<u8>> {
        Bound::Excluded(k.to_vec())
    }

    #[test]
    fn scan_prefix_needs_both_bounds_inside_one_prefix() {
        assert_eq!(
            SLASH.scan_prefix(&inc(b"p/a"), &exc(b"p/z")),
            Some(&b"p/"[..])
        );
        assert_eq!(
            SLASH.scan_prefix(&exc(b"p/"), &inc(b"p/\xff")),
            Some(&b"p/"[..])
        );
        // `p0` is the successor of `p/` ('/' + 1 = '0'): a whole-prefix scan.
        assert_eq!(
            SLASH.scan_prefix(&inc(b"p/"), &exc(b"p0")),
            Some(&b"p/"[..])
        );
        // Included successor, other prefixes, no prefix, unbounded: no filtering.
        assert_eq!(SLASH.scan_prefix(&inc(b"p/"), &inc(b"p0")), None);
        assert_eq!(SLASH.scan_prefix(&inc(b"p/a"), &exc(b"q/a")), None);
        assert_eq!(SLASH.scan_prefix(&inc(b"pa"), &exc(b"pb")), None);
        assert_eq!(SLASH.scan_prefix(&Bound::Unbounded, &exc(b"p/z")), None);
        assert_eq!(SLASH.scan_prefix(&inc(b"p/a"), &Bound::Unbounded), None);
    }

    #[test]
    fn successor_skips_trailing_ff() {
        assert!(is_successor_of(b"b", b"a\xff\xff"));
        assert!(is_successor_of(b"ab", b"aa"));
        assert!(!is_successor_of(b"ab", b"ab"));
        assert!(!is_successor_of(b"", b"\xff"));
        assert!(!is_successor_of(b"b", b""));
    }
}
