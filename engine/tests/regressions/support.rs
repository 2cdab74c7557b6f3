//! Shared machinery of the model test and its frozen regressions: the reference model, the
//! operation generator, the executor that drives engine and model in lockstep, the checker and
//! the replay shrinker.
//!
//! The model keeps, per `(key, version)`, the winning cell among everything written there, plus
//! the version tree. The visible cell at `v` is the winner among the cells of every version on
//! the root-to-`v` path (higher timestamp; tie: tombstone beats live; two live: greater value;
//! two tombstones: greater `deleted_at`), which is the engine's documented resolution rule.

// Each test crate that includes this module uses a different part of it.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Bound;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use strata_engine::{
    Cell, CellValue, Clock, CrashMode, CrashStorage, Engine, Error, ManualClock, Mutation, Options,
    PrefixExtractor, Storage, SyncMode, VersionId, ROOT_VERSION,
};

/// The tiny key universe: a few prefixes of each other so prefix scans and bound edges bite.
pub const KEYS: [&[u8]; 12] = [
    b"a", b"a\x00", b"aa", b"ab", b"aba", b"b", b"ba", b"bb", b"bba", b"c", b"ca", b"\xff",
];

/// Whole-prefix scans checked after every step: prefixes under both model extractors
/// ("a"), under the first-byte one only ("b"), under the through-first-a one only ("ba").
const WHOLE_PREFIX_SCANS: [&[u8]; 3] = [b"a", b"b", b"ba"];

pub fn parse_seed(raw: &str) -> u64 {
    let raw = raw.trim();
    let parsed = match raw.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => raw.parse(),
    };
    parsed.unwrap_or_else(|_| panic!("STRATA_MODEL_SEED={raw:?} is not a u64"))
}

// ---------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------

/// Engine options drawn per case; printed with the seed so a failure names its configuration.
#[derive(Clone, Copy, Debug)]
pub struct Config {
    pub batch_sync: bool,
    pub memtable_bytes: usize,
    pub max_frozen_memtables: usize,
    pub gc_grace_secs: i64,
    pub version_split: bool,
    pub background_threads: bool,
    /// Small blocks give multi-block arrays (index search, block boundaries inside a key's run).
    pub block_bytes: usize,
    pub bloom_bits_per_key: u32,
    /// Which prefix extractor (if any) gives arrays a prefix filter that scans consult.
    pub prefix_extractor: Option<Extractor>,
    /// Whether arrays keep a whole-key filter (gets fall back to the prefix filter).
    pub whole_key_filtering: bool,
    /// Writes go through `try_append` + `wait_durable` (falling back to `write` when it
    /// declines), as the server's periodic-mode write path does.
    pub try_append: bool,
}

/// Prefix extractors for the model: both honour the contract of `PrefixExtractor` over any
/// key, and the key universe has keys with and without a prefix under each.
#[derive(Clone, Copy, Debug)]
pub enum Extractor {
    FirstByte,
    ThroughFirstA,
}

fn first_byte(key: &[u8]) -> Option<usize> {
    (!key.is_empty()).then_some(1)
}

fn through_first_a(key: &[u8]) -> Option<usize> {
    key.iter().position(|&b| b == b'a').map(|i| i + 1)
}

impl Extractor {
    fn extractor(self) -> PrefixExtractor {
        match self {
            Extractor::FirstByte => PrefixExtractor {
                name: "first-byte",
                prefix_len: first_byte,
            },
            Extractor::ThroughFirstA => PrefixExtractor {
                name: "through-first-a",
                prefix_len: through_first_a,
            },
        }
    }
}

impl Config {
    pub fn from_seed(seed: u64) -> Config {
        let mut rng = SmallRng::seed_from_u64(seed ^ 0xc0f1_9000);
        Config {
            batch_sync: rng.random_bool(0.6),
            memtable_bytes: [4096, 4096, 8192][rng.random_range(0..3)],
            max_frozen_memtables: rng.random_range(1..=3),
            // Never 0: a purge must need a clock advance (see `Generator`).
            gc_grace_secs: [1, 30, 1_000_000][rng.random_range(0..3)],
            version_split: rng.random_bool(0.5),
            background_threads: rng.random_bool(0.4),
            block_bytes: [128, 512, 4096][rng.random_range(0..3)],
            bloom_bits_per_key: [0, 10][rng.random_range(0..2)],
            prefix_extractor: [
                None,
                Some(Extractor::FirstByte),
                Some(Extractor::ThroughFirstA),
            ][rng.random_range(0..3)],
            whole_key_filtering: rng.random_bool(0.5),
            try_append: rng.random_bool(0.5),
        }
    }

    pub fn options(&self) -> Options {
        Options {
            sync: if self.batch_sync {
                SyncMode::Batch
            } else {
                SyncMode::Periodic { interval_ms: 5 }
            },
            memtable_bytes: self.memtable_bytes,
            max_frozen_memtables: self.max_frozen_memtables,
            gc_grace_secs: self.gc_grace_secs,
            version_split: self.version_split,
            background_threads: self.background_threads,
            block_bytes: self.block_bytes,
            bloom_bits_per_key: self.bloom_bits_per_key,
            prefix_extractor: self.prefix_extractor.map(Extractor::extractor),
            whole_key_filtering: self.whole_key_filtering,
            ..Options::default()
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------------------------

/// A version chosen at execution time, so an op list stays meaningful after shrinking deletes
/// some of its ops: `Writable(i)` is the i-th writable version (mod count), `Any(i)` the i-th
/// of all versions ever created, deleted ones and one never-created id included.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum VRef {
    Writable(u8),
    Any(u8),
}

impl fmt::Debug for VRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VRef::Writable(i) => write!(f, "W({i})"),
            VRef::Any(i) => write!(f, "A({i})"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Payload {
    /// A live value; `ttl_secs` 0 means no expiry.
    Put {
        value: Vec<u8>,
        ttl_secs: u32,
    },
    Delete,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Write {
    pub version: VRef,
    pub key: u8,
    pub timestamp: i64,
    pub payload: Payload,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    Write(Vec<Write>),
    Scan {
        version: VRef,
        lo: Bound<u8>,
        hi: Bound<u8>,
        prefix: Option<u8>,
        reverse: bool,
    },
    Snapshot(VRef),
    Clone(VRef),
    DeleteVersion(VRef),
    Flush,
    Compact,
    MergeVersion(VRef),
    AdvanceClock(i64),
    CrashReopen,
    CleanReopen,
    /// Runs `op` (a write, flush or compaction) on a storage that fails every call after the
    /// next `after` calls, then crashes (the disk died) and reopens.
    WithFaults {
        after: u8,
        op: Box<Op>,
    },
}

/// Generates ops with timestamps chosen so the model's answer is always well defined:
/// * live cells without TTL may tie on timestamp (ties are then decided by value bytes);
/// * TTL cells get a unique timestamp (an expired cell turned into a tombstone by a merge would
///   otherwise win a tie it lost before the conversion);
/// * every write after a clock advance has a larger timestamp than all earlier writes, so a
///   tombstone that became purgeable (clock past `gc_grace`) never has to shadow a later write
///   with an older timestamp (Cassandra resurrects data in that case too).
struct Generator {
    rng: SmallRng,
    base_ts: i64,
    unique: i64,
}

const TS_STRIDE: i64 = 4096;

impl Generator {
    fn new(seed: u64) -> Generator {
        Generator {
            rng: SmallRng::seed_from_u64(seed),
            base_ts: 1,
            unique: 0,
        }
    }

    fn vref_writable(&mut self) -> VRef {
        VRef::Writable(self.rng.random_range(0..8))
    }

    fn vref_any(&mut self) -> VRef {
        VRef::Any(self.rng.random_range(0..16))
    }

    fn timestamp(&mut self, unique: bool) -> i64 {
        let slot = self.base_ts + self.rng.random_range(0..3);
        if unique {
            self.unique += 1;
            slot * TS_STRIDE + 1 + self.unique % (TS_STRIDE - 1)
        } else {
            slot * TS_STRIDE
        }
    }

    fn write(&mut self) -> Write {
        let version = if self.rng.random_bool(0.93) {
            self.vref_writable()
        } else {
            self.vref_any()
        };
        let key = self.rng.random_range(0..KEYS.len() as u8);
        if self.rng.random_bool(0.25) {
            return Write {
                version,
                key,
                timestamp: self.timestamp(false),
                payload: Payload::Delete,
            };
        }
        let ttl_secs = if self.rng.random_bool(0.15) {
            self.rng.random_range(1..60)
        } else {
            0
        };
        let len = if self.rng.random_bool(0.1) {
            self.rng.random_range(100..400)
        } else {
            self.rng.random_range(0..4)
        };
        let value: Vec<u8> = (0..len)
            .map(|_| self.rng.random_range(b'0'..=b'3'))
            .collect();
        let timestamp = self.timestamp(ttl_secs > 0);
        Write {
            version,
            key,
            timestamp,
            payload: Payload::Put { value, ttl_secs },
        }
    }

    fn bound(&mut self) -> Bound<u8> {
        let key = self.rng.random_range(0..KEYS.len() as u8);
        match self.rng.random_range(0..3) {
            0 => Bound::Included(key),
            1 => Bound::Excluded(key),
            _ => Bound::Unbounded,
        }
    }

    fn op(&mut self) -> Op {
        let roll = self.rng.random_range(0..1000);
        match roll {
            0..=599 => {
                self.base_ts += 1;
                let count = self.rng.random_range(1..=3);
                Op::Write((0..count).map(|_| self.write()).collect())
            }
            600..=679 => Op::Scan {
                version: self.vref_any(),
                lo: self.bound(),
                hi: self.bound(),
                prefix: self
                    .rng
                    .random_bool(0.3)
                    .then(|| self.rng.random_range(0..KEYS.len() as u8)),
                reverse: self.rng.random_bool(0.5),
            },
            680..=729 => Op::Snapshot(if self.rng.random_bool(0.8) {
                self.vref_writable()
            } else {
                self.vref_any()
            }),
            730..=769 => Op::Clone(self.vref_any()),
            770..=799 => Op::DeleteVersion(self.vref_any()),
            800..=839 => Op::Flush,
            840..=859 => Op::Compact,
            860..=889 => Op::MergeVersion(self.vref_any()),
            890..=929 => {
                // Later writes must outrank everything written before the clock moved.
                self.base_ts += 16;
                Op::AdvanceClock(self.rng.random_range(1..50))
            }
            930..=959 => Op::CrashReopen,
            960..=979 => Op::CleanReopen,
            _ => {
                let op = match self.rng.random_range(0..4) {
                    0 => Op::Flush,
                    1 => Op::Compact,
                    _ => {
                        self.base_ts += 1;
                        Op::Write(
                            (0..self.rng.random_range(1..=3))
                                .map(|_| self.write())
                                .collect(),
                        )
                    }
                };
                Op::WithFaults {
                    after: self.rng.random_range(0..16),
                    op: Box::new(op),
                }
            }
        }
    }
}

/// The op list of a case: a clone of the root first (tables are clones of the root), then
/// `steps` random ops.
pub fn generate(seed: u64, steps: usize) -> Vec<Op> {
    let mut generator = Generator::new(seed);
    let mut ops = vec![Op::Clone(VRef::Any(0))];
    ops.extend((0..steps).map(|_| generator.op()));
    ops
}

// ---------------------------------------------------------------------------------------------
// Model
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct ModelVersion {
    parent: Option<VersionId>,
    frozen: bool,
    deleted: bool,
    /// The child `snapshot` moved the writer to.
    snapshot_successor: Option<VersionId>,
}

#[derive(Clone, Debug)]
pub struct Model {
    versions: BTreeMap<VersionId, ModelVersion>,
    /// Creation order, for `VRef::Any`.
    created: Vec<VersionId>,
    cells: BTreeMap<(Vec<u8>, VersionId), Cell>,
}

/// True if `a` wins over `b` under the engine's resolution rule.
pub fn supersedes(a: &Cell, b: &Cell) -> bool {
    if a.timestamp != b.timestamp {
        return a.timestamp > b.timestamp;
    }
    match (&a.value, &b.value) {
        (
            CellValue::Tombstone { deleted_at_secs: x },
            CellValue::Tombstone { deleted_at_secs: y },
        ) if x != y => x > y,
        (CellValue::Tombstone { .. }, CellValue::Live(_)) => true,
        (CellValue::Live(_), CellValue::Tombstone { .. }) => false,
        (CellValue::Live(x), CellValue::Live(y)) if x != y => x > y,
        // Identical payloads: the rest of the cell breaks the tie so the order is total.
        _ => (a.expires_at_secs, a.ttl_secs) > (b.expires_at_secs, b.ttl_secs),
    }
}

pub fn is_live_at(cell: &Cell, now: i64) -> bool {
    matches!(cell.value, CellValue::Live(_))
        && (cell.expires_at_secs == 0 || cell.expires_at_secs > now)
}

impl Model {
    fn new() -> Model {
        let root = ModelVersion {
            parent: None,
            frozen: true,
            deleted: false,
            snapshot_successor: None,
        };
        Model {
            versions: BTreeMap::from([(ROOT_VERSION, root)]),
            created: vec![ROOT_VERSION],
            cells: BTreeMap::new(),
        }
    }

    fn resolve_vref(&self, vref: VRef) -> VersionId {
        match vref {
            VRef::Writable(i) => {
                let writable: Vec<VersionId> = self.writable_versions().collect();
                if writable.is_empty() {
                    self.resolve_vref(VRef::Any(i))
                } else {
                    writable[usize::from(i) % writable.len()]
                }
            }
            VRef::Any(i) => {
                // One slot past the end is an id that was never created.
                let slot = usize::from(i) % (self.created.len() + 1);
                self.created.get(slot).copied().unwrap_or(UNKNOWN_VERSION)
            }
        }
    }

    fn writable_versions(&self) -> impl Iterator<Item = VersionId> + '_ {
        self.versions
            .iter()
            .filter(|(_, v)| !v.frozen && !v.deleted)
            .map(|(id, _)| *id)
    }

    pub fn readable_versions(&self) -> Vec<VersionId> {
        self.versions
            .iter()
            .filter(|(_, v)| !v.deleted)
            .map(|(id, _)| *id)
            .collect()
    }

    fn is_writable(&self, version: VersionId) -> bool {
        self.versions
            .get(&version)
            .is_some_and(|v| !v.frozen && !v.deleted)
    }

    fn is_frozen_alive(&self, version: VersionId) -> bool {
        self.versions
            .get(&version)
            .is_some_and(|v| v.frozen && !v.deleted)
    }

    fn add_child(&mut self, parent: VersionId, child: VersionId) {
        let node = ModelVersion {
            parent: Some(parent),
            frozen: false,
            deleted: false,
            snapshot_successor: None,
        };
        self.versions.insert(child, node);
        self.created.push(child);
    }

    fn apply_write(&mut self, mutation: &Mutation) {
        let slot = (mutation.key.clone(), mutation.version);
        match self.cells.get(&slot) {
            Some(existing) if !supersedes(&mutation.cell, existing) => {}
            _ => {
                self.cells.insert(slot, mutation.cell.clone());
            }
        }
    }

    /// The winner for `key` at `version` over the root-to-`version` path.
    pub fn resolve(&self, version: VersionId, key: &[u8]) -> Option<Cell> {
        let mut best: Option<&Cell> = None;
        let mut cursor = Some(version);
        while let Some(at) = cursor {
            if let Some(cell) = self.cells.get(&(key.to_vec(), at)) {
                if best.is_none_or(|b| supersedes(cell, b)) {
                    best = Some(cell);
                }
            }
            cursor = self.versions.get(&at).and_then(|v| v.parent);
        }
        best.cloned()
    }
}

/// An id no case ever creates (cases create far fewer versions).
const UNKNOWN_VERSION: VersionId = 900_000;

// ---------------------------------------------------------------------------------------------
// Checking
// ---------------------------------------------------------------------------------------------

/// Compares what the engine returned for one key with the model's winner. A live winner must
/// come back exactly. A tombstone still inside `gc_grace` must come back as a tombstone of the
/// same timestamp. An expired winner or a purgeable tombstone may come back dead in any form or
/// not at all. No winner means no cell.
pub fn check_cell(
    model: Option<&Cell>,
    engine: Option<&Cell>,
    now: i64,
    gc_grace: i64,
) -> Result<(), String> {
    let Some(expected) = model else {
        return match engine {
            None => Ok(()),
            Some(got) => Err(format!("expected nothing, engine returned {got:?}")),
        };
    };
    if is_live_at(expected, now) {
        return if engine == Some(expected) {
            Ok(())
        } else {
            Err(format!(
                "expected live {expected:?}, engine returned {engine:?}"
            ))
        };
    }
    if let Some(got) = engine {
        if is_live_at(got, now) {
            return Err(format!(
                "expected dead {expected:?}, engine returned live {got:?}"
            ));
        }
    }
    let CellValue::Tombstone { deleted_at_secs } = expected.value else {
        return Ok(()); // expired live cell: any dead form (or nothing) is fine
    };
    let purgeable = deleted_at_secs.saturating_add(gc_grace) <= now;
    let same_tombstone = engine.is_some_and(|got| {
        matches!(got.value, CellValue::Tombstone { .. }) && got.timestamp == expected.timestamp
    });
    if purgeable || same_tombstone {
        Ok(())
    } else {
        Err(format!(
            "expected tombstone {expected:?} (not purgeable yet), engine returned {engine:?}"
        ))
    }
}

/// True if no key can satisfy both bounds (inverted, or equal with one side excluded).
fn range_is_empty(lo: &Bound<Vec<u8>>, hi: &Bound<Vec<u8>>) -> bool {
    match (lo, hi) {
        (Bound::Included(a), Bound::Included(b)) => a > b,
        (Bound::Included(a) | Bound::Excluded(a), Bound::Excluded(b) | Bound::Included(b)) => {
            a >= b
        }
        _ => false,
    }
}

fn key_in_bounds(key: &[u8], lo: &Bound<Vec<u8>>, hi: &Bound<Vec<u8>>) -> bool {
    let above_lo = match lo {
        Bound::Included(b) => key >= b.as_slice(),
        Bound::Excluded(b) => key > b.as_slice(),
        Bound::Unbounded => true,
    };
    let below_hi = match hi {
        Bound::Included(b) => key <= b.as_slice(),
        Bound::Excluded(b) => key < b.as_slice(),
        Bound::Unbounded => true,
    };
    above_lo && below_hi
}

/// The smallest key greater than every key starting with `prefix` (None: no upper bound).
pub fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Execution
// ---------------------------------------------------------------------------------------------

/// What a run exercised, summed over every engine instance of the run, so a test can demand
/// that flushes, merges and version splits really happened.
#[derive(Clone, Copy, Debug, Default)]
pub struct Coverage {
    pub flushes: u64,
    pub merges: u64,
    pub version_splits: u64,
    /// Arrays scans skipped thanks to a prefix filter.
    pub prefix_skips: u64,
    /// Writes `try_append` took, and declined (memtable about to fill, or no flush room).
    pub try_appends_taken: u64,
    pub try_appends_declined: u64,
    pub max_arrays: usize,
    pub max_versions: usize,
}

impl Coverage {
    fn absorb(&mut self, engine: &Engine) {
        let stats = engine.stats();
        self.flushes += stats.flushes;
        self.merges += stats.merges;
        self.version_splits += stats.version_splits;
        self.prefix_skips += stats.scan_arrays_skipped_by_prefix;
        self.max_arrays = self.max_arrays.max(stats.arrays);
        self.max_versions = self.max_versions.max(stats.versions);
    }

    pub fn add(&mut self, other: &Coverage) {
        self.flushes += other.flushes;
        self.merges += other.merges;
        self.version_splits += other.version_splits;
        self.prefix_skips += other.prefix_skips;
        self.try_appends_taken += other.try_appends_taken;
        self.try_appends_declined += other.try_appends_declined;
        self.max_arrays = self.max_arrays.max(other.max_arrays);
        self.max_versions = self.max_versions.max(other.max_versions);
    }
}

/// Engine and model driven in lockstep over a crash-simulating storage.
pub struct Harness {
    config: Config,
    storage: Arc<CrashStorage>,
    clock: Arc<ManualClock>,
    engine: Option<Engine>,
    model: Model,
    /// Periodic mode only: the cells as of the last point where every write was durable (a
    /// flush, a clean reopen, or a version operation: those are WAL durability barriers), and
    /// the write batches acknowledged since, in order. After a power loss the engine must hold
    /// those cells plus a prefix of those batches: a prefix of history.
    durable_cells: BTreeMap<(Vec<u8>, VersionId), Cell>,
    unsynced: Vec<Vec<Mutation>>,
    /// The last batch in `unsynced` failed on a dying disk: it may or may not survive a crash,
    /// whatever the sync mode.
    ambiguous: bool,
    /// Crashes so far; seeds which prefix of each unsynced tail survives.
    crashes: u64,
    coverage: Coverage,
}

impl Harness {
    pub fn new(config: Config) -> Result<Harness, String> {
        let storage = Arc::new(CrashStorage::new());
        let clock = Arc::new(ManualClock::new(1_000_000));
        let engine = open(&storage, &clock, &config)?;
        Ok(Harness {
            config,
            storage,
            clock,
            engine: Some(engine),
            model: Model::new(),
            durable_cells: BTreeMap::new(),
            unsynced: Vec::new(),
            ambiguous: false,
            crashes: 0,
            coverage: Coverage::default(),
        })
    }

    fn engine(&self) -> Result<&Engine, String> {
        self.engine
            .as_ref()
            .ok_or_else(|| "engine is not open".to_string())
    }

    fn now(&self) -> i64 {
        self.clock.now_secs()
    }

    /// Applies one op to engine and model; returns a description of any divergence.
    pub fn step(&mut self, op: &Op) -> Result<(), String> {
        match op {
            Op::Write(writes) => self.write(writes)?,
            Op::Scan {
                version,
                lo,
                hi,
                prefix,
                reverse,
            } => {
                let version = self.model.resolve_vref(*version);
                let (lo, hi) = scan_bounds(*lo, *hi, *prefix);
                self.check_scan(version, lo, hi, *reverse)?;
            }
            Op::Snapshot(vref) => self.create_version(*vref, true)?,
            Op::Clone(vref) => self.create_version(*vref, false)?,
            Op::DeleteVersion(vref) => self.delete_version(*vref)?,
            Op::Flush => {
                self.engine()?
                    .flush()
                    .map_err(|e| format!("flush failed: {e}"))?;
                self.mark_durable();
            }
            Op::Compact => self
                .engine()?
                .compact()
                .map_err(|e| format!("compact failed: {e}"))?,
            Op::MergeVersion(vref) => self.merge_version(*vref)?,
            Op::AdvanceClock(secs) => self.clock.advance(*secs),
            Op::CrashReopen => self.crash_reopen()?,
            Op::CleanReopen => self.clean_reopen()?,
            Op::WithFaults { after, op } => self.with_faults(*after, op)?,
        }
        self.check_all()
    }

    /// Every acknowledged write is durable now.
    fn mark_durable(&mut self) {
        self.durable_cells = self.model.cells.clone();
        self.unsynced.clear();
        self.ambiguous = false;
    }

    fn with_faults(&mut self, after: u8, op: &Op) -> Result<(), String> {
        self.storage.fail_after(u64::from(after));
        let outcome = match op {
            Op::Write(writes) => self.write_with_faults(writes),
            // A failed flush or compaction must lose nothing: the WAL still holds the data.
            Op::Flush => self.engine().map(|e| drop(e.flush())),
            Op::Compact => self.engine().map(|e| drop(e.compact())),
            other => Err(format!("WithFaults around {other:?} is not supported")),
        };
        self.storage.stop_failing();
        outcome?;
        self.crash_reopen()
    }

    /// A write on a failing disk: acknowledged means durable as usual; an error means the batch
    /// may or may not have reached the log, so the crash that follows may keep it or not.
    fn write_with_faults(&mut self, writes: &[Write]) -> Result<(), String> {
        let now = self.now();
        let mutations: Vec<Mutation> = writes.iter().map(|w| self.mutation(w, now)).collect();
        if !mutations.iter().all(|m| self.model.is_writable(m.version)) {
            return self.write(writes);
        }
        if self.engine()?.write(&mutations).is_ok() {
            mutations.iter().for_each(|m| self.model.apply_write(m));
            if !self.config.batch_sync {
                self.unsynced.push(mutations);
            }
            return Ok(());
        }
        if self.config.batch_sync {
            self.mark_durable();
        }
        mutations.iter().for_each(|m| self.model.apply_write(m));
        self.unsynced.push(mutations);
        self.ambiguous = true;
        Ok(())
    }

    fn write(&mut self, writes: &[Write]) -> Result<(), String> {
        let now = self.now();
        let mutations: Vec<Mutation> = writes.iter().map(|w| self.mutation(w, now)).collect();
        let valid = mutations.iter().all(|m| self.model.is_writable(m.version));
        let result = if self.config.try_append {
            self.try_append_then_write(&mutations)?
        } else {
            self.engine()?.write(&mutations)
        };
        match (valid, result) {
            (true, Ok(())) => {
                mutations.iter().for_each(|m| self.model.apply_write(m));
                if !self.config.batch_sync {
                    self.unsynced.push(mutations);
                }
                Ok(())
            }
            (true, Err(e)) => Err(format!("valid write {mutations:?} failed: {e}")),
            (false, Ok(())) => Err(format!(
                "write to a non-writable version was accepted: {mutations:?}"
            )),
            (false, Err(_)) => Ok(()),
        }
    }

    /// `try_append` + `wait_durable`, or `write` when `try_append` declines (nothing written).
    fn try_append_then_write(
        &mut self,
        mutations: &[Mutation],
    ) -> Result<strata_engine::Result<()>, String> {
        let engine = self.engine()?;
        let (result, declined) = match engine.try_append(mutations) {
            Ok(Some(ticket)) => (engine.wait_durable(ticket), false),
            Ok(None) => (engine.write(mutations), true),
            Err(e) => (Err(e), false),
        };
        if declined {
            self.coverage.try_appends_declined += 1;
        } else {
            self.coverage.try_appends_taken += 1;
        }
        Ok(result)
    }

    fn mutation(&self, write: &Write, now: i64) -> Mutation {
        let version = self.model.resolve_vref(write.version);
        let cell = match &write.payload {
            Payload::Put { value, ttl_secs } => Cell {
                timestamp: write.timestamp,
                ttl_secs: *ttl_secs,
                expires_at_secs: if *ttl_secs > 0 {
                    now + i64::from(*ttl_secs)
                } else {
                    0
                },
                value: CellValue::Live(value.clone()),
            },
            Payload::Delete => Cell {
                timestamp: write.timestamp,
                ttl_secs: 0,
                expires_at_secs: 0,
                value: CellValue::Tombstone {
                    deleted_at_secs: now,
                },
            },
        };
        Mutation {
            version,
            key: KEYS[usize::from(write.key)].to_vec(),
            cell,
        }
    }

    fn create_version(&mut self, vref: VRef, snapshot: bool) -> Result<(), String> {
        let parent = self.model.resolve_vref(vref);
        let (valid, result) = if snapshot {
            (
                self.model.is_writable(parent),
                self.engine()?.snapshot(parent),
            )
        } else {
            (
                self.model.is_frozen_alive(parent),
                self.engine()?.clone_version(parent),
            )
        };
        let what = if snapshot {
            "snapshot"
        } else {
            "clone_version"
        };
        match (valid, result) {
            (true, Ok(child)) => {
                if self.model.versions.contains_key(&child) {
                    return Err(format!("{what}({parent}) returned an id in use: {child}"));
                }
                if snapshot {
                    if let Some(node) = self.model.versions.get_mut(&parent) {
                        node.frozen = true;
                        node.snapshot_successor = Some(child);
                    }
                }
                self.model.add_child(parent, child);
                self.mark_durable();
                Ok(())
            }
            (true, Err(e)) => Err(format!("valid {what}({parent}) failed: {e}")),
            (false, Ok(child)) => Err(format!("invalid {what}({parent}) succeeded with {child}")),
            (false, Err(_)) => Ok(()),
        }
    }

    fn delete_version(&mut self, vref: VRef) -> Result<(), String> {
        let version = self.model.resolve_vref(vref);
        let valid = version != ROOT_VERSION
            && self
                .model
                .versions
                .get(&version)
                .is_some_and(|v| !v.deleted);
        match (valid, self.engine()?.delete_version(version)) {
            (true, Ok(())) => {
                if let Some(node) = self.model.versions.get_mut(&version) {
                    node.deleted = true;
                }
                self.mark_durable();
                Ok(())
            }
            (true, Err(e)) => Err(format!("valid delete_version({version}) failed: {e}")),
            (false, Ok(())) => Err(format!("invalid delete_version({version}) succeeded")),
            (false, Err(_)) => Ok(()),
        }
    }

    fn merge_version(&mut self, vref: VRef) -> Result<(), String> {
        let version = self.model.resolve_vref(vref);
        let readable = self
            .model
            .versions
            .get(&version)
            .is_some_and(|v| !v.deleted);
        match self.engine()?.merge_version(version) {
            Err(e) if readable => Err(format!("merge_version({version}) failed: {e}")),
            _ => Ok(()),
        }
    }

    fn crash_reopen(&mut self) -> Result<(), String> {
        // The old storage dies first (so the old engine and its threads cannot touch the
        // post-crash image), then the engine is dropped without a clean close. Every third crash
        // is a process kill (everything handed to the OS survives), the others power losses
        // that tear the unsynced tails.
        self.crashes += 1;
        let seed = self.crashes.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let power_loss = !self.crashes.is_multiple_of(3);
        let mode = if power_loss {
            CrashMode::TearUnsynced { seed }
        } else {
            CrashMode::KeepAll
        };
        self.storage = self.storage.crash(mode);
        if let Some(engine) = self.engine.take() {
            self.coverage.absorb(&engine);
        }
        self.engine = Some(open(&self.storage, &self.clock, &self.config)?);
        // Periodic mode hands each record to the OS before acknowledging it, so only a power
        // loss may lose acknowledged writes.
        if (power_loss && !self.config.batch_sync) || self.ambiguous {
            self.adopt_surviving_prefix()?;
        }
        self.mark_durable();
        Ok(())
    }

    /// Periodic mode loses an unsynced tail of writes: the survivor must hold the durable cells
    /// plus some prefix of the batches acknowledged since (longest prefix tried first).
    fn adopt_surviving_prefix(&mut self) -> Result<(), String> {
        let unsynced = std::mem::take(&mut self.unsynced);
        let mut first_error = None;
        for kept in (0..=unsynced.len()).rev() {
            self.model.cells = self.durable_cells.clone();
            unsynced
                .iter()
                .take(kept)
                .flatten()
                .for_each(|m| self.model.apply_write(m));
            match self.check_all() {
                Ok(()) => {
                    self.mark_durable();
                    return Ok(());
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        Err(format!(
            "after a crash in Periodic mode the engine holds no prefix of the {} unsynced batches; \
             vs all of them: {}",
            unsynced.len(),
            first_error.unwrap_or_default()
        ))
    }

    fn clean_reopen(&mut self) -> Result<(), String> {
        if let Some(engine) = self.engine.take() {
            self.coverage.absorb(&engine);
            engine.close().map_err(|e| format!("close failed: {e}"))?;
        }
        self.engine = Some(open(&self.storage, &self.clock, &self.config)?);
        self.mark_durable();
        Ok(())
    }

    /// Reads every version the model knows in full and compares it with the model.
    pub fn check_all(&self) -> Result<(), String> {
        for (&version, node) in &self.model.versions {
            self.check_version_info(version, node)?;
            if node.deleted {
                // Documented: reads at a deleted version fail.
                if let Ok(found) = self.engine()?.get(version, KEYS[0]) {
                    return Err(format!(
                        "get at deleted version {version} succeeded: {found:?}"
                    ));
                }
                continue;
            }
            self.check_gets(version)?;
            self.check_scan(version, Bound::Unbounded, Bound::Unbounded, false)?;
            self.check_scan(version, Bound::Unbounded, Bound::Unbounded, true)?;
            for prefix in WHOLE_PREFIX_SCANS {
                let hi = prefix_successor(prefix).map_or(Bound::Unbounded, Bound::Excluded);
                self.check_scan(version, Bound::Included(prefix.to_vec()), hi, false)?;
            }
        }
        Ok(())
    }

    /// The engine's version tree agrees with the model's (a forgotten deleted version is fine).
    fn check_version_info(&self, version: VersionId, node: &ModelVersion) -> Result<(), String> {
        match self.engine()?.version_info(version) {
            None if node.deleted => Ok(()),
            None => Err(format!("version {version} is unknown to the engine")),
            Some(info)
                if (
                    info.parent,
                    info.frozen,
                    info.deleted,
                    info.snapshot_successor,
                ) == (
                    node.parent,
                    node.frozen,
                    node.deleted,
                    node.snapshot_successor,
                ) =>
            {
                self.check_writable_head(version)
            }
            Some(info) => Err(format!(
                "version {version}: engine has {info:?}, model has {node:?}"
            )),
        }
    }

    /// `writable_head` follows snapshot successors; checked when the chain ends at a writable
    /// version (what a deleted link or a frozen end yields is the engine's choice).
    fn check_writable_head(&self, version: VersionId) -> Result<(), String> {
        let mut head = version;
        for _ in 0..=self.model.versions.len() {
            match self.model.versions.get(&head) {
                Some(node) if node.deleted => return Ok(()),
                Some(node) => match node.snapshot_successor {
                    Some(next) => head = next,
                    None if node.frozen => return Ok(()),
                    None => break,
                },
                None => {
                    return Err(format!(
                        "model: snapshot chain of {version} reaches unknown {head}"
                    ))
                }
            }
        }
        match self.engine()?.writable_head(version) {
            Ok(got) if got == head => Ok(()),
            other => Err(format!(
                "writable_head({version}) = {other:?}, model says {head}"
            )),
        }
    }

    fn check_gets(&self, version: VersionId) -> Result<(), String> {
        let (now, grace) = (self.now(), self.config.gc_grace_secs);
        for key in KEYS {
            let got = self
                .engine()?
                .get(version, key)
                .map_err(|e| format!("get({version}, {key:?}) failed: {e}"))?;
            let expected = self.model.resolve(version, key);
            check_cell(expected.as_ref(), got.as_ref(), now, grace)
                .map_err(|e| format!("get(v{version}, {key:?}): {e}"))?;
        }
        Ok(())
    }

    fn check_scan(
        &self,
        version: VersionId,
        lo: Bound<Vec<u8>>,
        hi: Bound<Vec<u8>>,
        reverse: bool,
    ) -> Result<(), String> {
        let readable = self
            .model
            .versions
            .get(&version)
            .is_some_and(|v| !v.deleted);
        let what = format!("scan(v{version}, {lo:?}, {hi:?}, reverse={reverse})");
        let iter = match (
            readable,
            self.engine()?
                .scan(version, lo.clone(), hi.clone(), reverse),
        ) {
            (true, Ok(iter)) => iter,
            // An empty or inverted range may be refused instead of yielding nothing.
            (true, Err(Error::InvalidArgument(_))) if range_is_empty(&lo, &hi) => return Ok(()),
            (true, Err(e)) => return Err(format!("{what} failed: {e}")),
            (false, _) => return Ok(()), // unreadable version: error or nothing, both fine
        };
        let mut returned: BTreeMap<Vec<u8>, Cell> = BTreeMap::new();
        let mut previous: Option<Vec<u8>> = None;
        for item in iter {
            let (key, cell) = item.map_err(|e| format!("{what} item failed: {e}"))?;
            let in_order = previous
                .as_ref()
                .is_none_or(|p| if reverse { key < *p } else { key > *p });
            if !in_order || !key_in_bounds(&key, &lo, &hi) {
                return Err(format!(
                    "{what} returned {key:?} out of order or out of bounds"
                ));
            }
            previous = Some(key.clone());
            returned.insert(key, cell);
        }
        let (now, grace) = (self.now(), self.config.gc_grace_secs);
        for key in KEYS.iter().filter(|k| key_in_bounds(k, &lo, &hi)) {
            let expected = self.model.resolve(version, key);
            check_cell(
                expected.as_ref(),
                returned.remove(*key).as_ref(),
                now,
                grace,
            )
            .map_err(|e| format!("{what} key {key:?}: {e}"))?;
        }
        match returned.keys().next() {
            Some(stray) => Err(format!("{what} returned a key never written: {stray:?}")),
            None => Ok(()),
        }
    }
}

fn open(
    storage: &Arc<CrashStorage>,
    clock: &Arc<ManualClock>,
    config: &Config,
) -> Result<Engine, String> {
    let storage: Arc<dyn Storage> = storage.clone();
    Engine::open(storage, config.options(), clock.clone()).map_err(|e| format!("open failed: {e}"))
}

fn scan_bounds(
    lo: Bound<u8>,
    hi: Bound<u8>,
    prefix: Option<u8>,
) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    if let Some(prefix) = prefix {
        let prefix = KEYS[usize::from(prefix)];
        let hi = prefix_successor(prefix).map_or(Bound::Unbounded, Bound::Excluded);
        return (Bound::Included(prefix.to_vec()), hi);
    }
    let to_key = |b: Bound<u8>| b.map(|i| KEYS[usize::from(i)].to_vec());
    (to_key(lo), to_key(hi))
}

// ---------------------------------------------------------------------------------------------
// Running, shrinking, reporting
// ---------------------------------------------------------------------------------------------

/// Where and why a case failed.
#[derive(Debug, Clone)]
pub struct Failure {
    pub step: usize,
    pub message: String,
}

/// Runs `ops` from a fresh engine; panics inside the engine count as failures.
pub fn run_ops(config: Config, ops: &[Op]) -> Result<Coverage, Failure> {
    let outcome = catch_unwind(AssertUnwindSafe(|| -> Result<Coverage, Failure> {
        let mut harness = Harness::new(config).map_err(|message| Failure { step: 0, message })?;
        for (step, op) in ops.iter().enumerate() {
            harness.step(op).map_err(|message| Failure {
                step,
                message: format!("after {op:?}: {message}"),
            })?;
        }
        if let Some(engine) = harness.engine.as_ref() {
            harness.coverage.absorb(engine);
        }
        Ok(harness.coverage)
    }));
    outcome.unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "non-string panic".to_string());
        Err(Failure {
            step: usize::MAX,
            message: format!("panic: {message}"),
        })
    })
}

pub fn run_case_from_seed(seed: u64, steps: usize) -> Result<Coverage, Failure> {
    run_ops(Config::from_seed(seed), &generate(seed, steps))
}

/// Deletes chunks of ops (halving the chunk size down to one) while the case still fails.
/// Bounded: at most `MAX_SHRINK_RUNS` replays.
pub fn shrink(config: Config, mut ops: Vec<Op>) -> Vec<Op> {
    const MAX_SHRINK_RUNS: usize = 2_000;
    let mut runs = 0;
    let mut chunk = ops.len().div_ceil(2).max(1);
    while runs < MAX_SHRINK_RUNS {
        let mut removed_any = false;
        let mut start = 0;
        while start < ops.len() && runs < MAX_SHRINK_RUNS {
            let end = (start + chunk).min(ops.len());
            let mut candidate = ops.clone();
            candidate.drain(start..end);
            runs += 1;
            if !candidate.is_empty() && run_ops(config, &candidate).is_err() {
                ops = candidate;
                removed_any = true;
            } else {
                start = end;
            }
        }
        if !removed_any {
            if chunk == 1 {
                break;
            }
            chunk /= 2;
        }
    }
    ops
}

pub fn shrink_and_report(seed: u64, steps: usize, failure: Failure) -> ! {
    let config = Config::from_seed(seed);
    let ops = generate(seed, steps);
    let ops = if ops.len() > failure.step.saturating_add(1) {
        ops[..=failure.step].to_vec()
    } else {
        ops
    };
    let minimal = shrink(config, ops);
    let minimal_failure = run_ops(config, &minimal).err();
    panic!(
        "model divergence, seed={seed:#x} (replay: STRATA_MODEL_SEED={seed:#x})\nconfig: {config:?}\n\
         first failure at step {}: {}\nminimal ops ({}):\n{}\nminimal failure: {minimal_failure:?}",
        failure.step,
        failure.message,
        minimal.len(),
        minimal.iter().map(|op| format!("    {op:?},")).collect::<Vec<_>>().join("\n"),
    );
}
