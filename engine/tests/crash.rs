//! Crash and corruption tests on the crash-simulating storage.
//!
//! Method (crash points): a deterministic workload (batches of two writes, with a snapshot every
//! few batches, a memtable of a few hundred bytes so WAL rolls, flushes and merges happen) is
//! first run once to count its storage calls `T`. Then, for many `k` in `0..T`, it is run again
//! on a fresh `CrashStorage` that starts failing every call after the `k`-th (the machine dies
//! there), the storage is crashed (unsynced bytes dropped, or a random prefix of them kept: a
//! torn last write) and the engine is reopened on the survivor. In Batch mode the reopened
//! engine must hold exactly the acknowledged batches, the batch in flight at most atomically,
//! nothing else; reopening must never fail because of a torn tail.
//!
//! Method (corruption): one byte of an array file, of a middle WAL record or of the manifest is
//! flipped; opening or reading must then report `Error::Corruption` and never return wrong data.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

use strata_engine::{
    Cell, CrashMode, CrashStorage, Engine, Error, ManualClock, Mutation, Options, Storage,
    SyncMode, VersionId, WriteTicket, ROOT_VERSION,
};

const BATCHES: usize = 36;
const SNAPSHOT_EVERY: usize = 9;
const WRITES_PER_BATCH: usize = 2;

/// Which acknowledgement the workload runs under, and so what a crash may lose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ack {
    /// `SyncMode::Batch`: acknowledged = fsynced.
    Batch,
    /// `SyncMode::Batch` driven like the server's write pipeline: each batch is appended
    /// (`Engine::append`) before the previous one's `wait_durable`, so one appended batch
    /// is always waiting; acknowledged = its `wait_durable` succeeded.
    BatchPipelined,
    /// `SyncMode::Periodic` with a sync interval longer than any test: acknowledged = handed to
    /// the OS; only version operations and flushes force an fsync.
    Periodic,
}

fn options(ack: Ack) -> Options {
    Options {
        sync: match ack {
            Ack::Batch | Ack::BatchPipelined => SyncMode::Batch,
            Ack::Periodic => SyncMode::Periodic {
                interval_ms: 3_600_000,
            },
        },
        memtable_bytes: 4096,
        max_frozen_memtables: 1,
        background_threads: false,
        block_bytes: 256,
        ..Options::default()
    }
}

fn open_with(storage: &Arc<CrashStorage>, ack: Ack) -> Result<Engine, Error> {
    let storage: Arc<dyn Storage> = storage.clone();
    Engine::open(storage, options(ack), Arc::new(ManualClock::new(1_000_000)))
}

fn open(storage: &Arc<CrashStorage>) -> Result<Engine, Error> {
    open_with(storage, Ack::Batch)
}

fn key(batch: usize, slot: usize) -> Vec<u8> {
    format!("key-{batch:03}-{slot}").into_bytes()
}

/// Values long enough that a few batches fill the memtable.
fn value(batch: usize, slot: usize) -> Vec<u8> {
    format!("value-{batch:03}-{slot}-{}", "x".repeat(200)).into_bytes()
}

/// What happened to each step of the workload before the machine died.
#[derive(Debug, Default)]
struct Outcome {
    /// Version the table was created as (None: the clone itself never completed).
    table: Option<VersionId>,
    /// Batches acknowledged, with the version each was written to.
    acked: Vec<(usize, VersionId)>,
    /// Batches not acknowledged when an error stopped the workload, in order (they may
    /// or may not have reached the disk): the failed one, and with `BatchPipelined` the
    /// appended one whose durability was still awaited.
    in_flight: Vec<(usize, VersionId)>,
    /// Snapshots acknowledged: (frozen version, new head).
    snapshots: Vec<(VersionId, VersionId)>,
    /// Snapshot requested when the machine died (frozen version); may or may not be durable.
    snapshot_in_flight: Option<VersionId>,
}

/// An appended batch awaiting `wait_durable` (`Ack::BatchPipelined`).
type Pending = Option<(usize, VersionId, WriteTicket)>;

/// Acknowledges the pending batch once durable; false (and the batch in flight) on error.
fn settle(engine: &Engine, pending: &mut Pending, outcome: &mut Outcome) -> bool {
    let Some((batch, version, ticket)) = pending.take() else {
        return true;
    };
    let durable = engine.wait_durable(ticket).is_ok();
    if durable {
        outcome.acked.push((batch, version));
    } else {
        outcome.in_flight.push((batch, version));
    }
    durable
}

/// Runs the workload until the first error; never panics on engine errors.
fn run_workload(engine: &Engine, ack: Ack) -> Outcome {
    let mut outcome = Outcome::default();
    let Ok(mut head) = engine.clone_version(ROOT_VERSION) else {
        return outcome;
    };
    outcome.table = Some(head);
    let mut pending: Pending = None;
    for batch in 0..BATCHES {
        if batch > 0 && batch % SNAPSHOT_EVERY == 0 {
            if !settle(engine, &mut pending, &mut outcome) {
                return outcome;
            }
            match engine.snapshot(head) {
                Ok(child) => {
                    outcome.snapshots.push((head, child));
                    head = child;
                }
                Err(_) => {
                    outcome.snapshot_in_flight = Some(head);
                    return outcome;
                }
            }
        }
        let mutations: Vec<Mutation> = (0..WRITES_PER_BATCH)
            .map(|slot| Mutation {
                version: head,
                key: key(batch, slot),
                cell: Cell::live(batch as i64 + 1, value(batch, slot)),
            })
            .collect();
        if ack == Ack::BatchPipelined {
            match engine.append(&mutations) {
                Ok(ticket) => {
                    let mut previous = pending.replace((batch, head, ticket));
                    if !settle(engine, &mut previous, &mut outcome) {
                        outcome.in_flight.push((batch, head));
                        return outcome;
                    }
                }
                Err(_) => {
                    if let Some((b, v, _)) = pending.take() {
                        outcome.in_flight.push((b, v));
                    }
                    outcome.in_flight.push((batch, head));
                    return outcome;
                }
            }
            continue;
        }
        match engine.write(&mutations) {
            Ok(()) => outcome.acked.push((batch, head)),
            Err(_) => {
                outcome.in_flight.push((batch, head));
                return outcome;
            }
        }
    }
    settle(engine, &mut pending, &mut outcome);
    outcome
}

/// Every key the reopened engine shows at `version`, by full scan.
fn scan_all(engine: &Engine, version: VersionId) -> Result<BTreeMap<Vec<u8>, Cell>, String> {
    let iter = engine
        .scan(version, Bound::Unbounded, Bound::Unbounded, false)
        .map_err(|e| format!("scan(v{version}) failed: {e}"))?;
    iter.map(|item| item.map_err(|e| format!("scan(v{version}) item failed: {e}")))
        .collect()
}

fn cell_of(batch: usize, slot: usize) -> Cell {
    Cell::live(batch as i64 + 1, value(batch, slot))
}

/// The batches visible at `version`, each checked to be whole and byte-exact.
fn visible_batches(engine: &Engine, version: VersionId) -> Result<Vec<usize>, String> {
    let visible = scan_all(engine, version)?;
    let mut batches: Vec<usize> = Vec::new();
    for batch in 0..BATCHES {
        let slots: Vec<Option<&Cell>> = (0..WRITES_PER_BATCH)
            .map(|slot| visible.get(&key(batch, slot)))
            .collect();
        if slots.iter().all(Option::is_none) {
            continue;
        }
        for (slot, got) in slots.iter().enumerate() {
            if *got != Some(&cell_of(batch, slot)) {
                return Err(format!(
                    "v{version}: batch {batch} slot {slot} is {got:?}: partial batch or wrong data"
                ));
            }
        }
        batches.push(batch);
    }
    if visible.len() != batches.len() * WRITES_PER_BATCH {
        return Err(format!("v{version}: keys never written are visible"));
    }
    Ok(batches)
}

/// Checks the reopened engine against what was acknowledged before the crash. `lossy`: the
/// crash was a power loss in Periodic mode, so an unsynced tail of batches may be gone, but
/// what survives must be a prefix of history reaching at least the last durability barrier.
fn verify_after_crash(engine: &Engine, outcome: &Outcome, lossy: bool) -> Result<(), String> {
    let Some(table) = outcome.table else {
        return Ok(());
    };
    // The newest head whose creation was acknowledged holds every acknowledged batch.
    let head = outcome.snapshots.last().map_or(table, |&(_, child)| child);
    let visible = visible_batches(engine, head)?;
    let acked: Vec<usize> = outcome.acked.iter().map(|&(batch, _)| batch).collect();
    let with_in_flight: Vec<usize> = acked
        .iter()
        .copied()
        .chain(outcome.in_flight.iter().map(|&(b, _)| b))
        .collect();
    let is_prefix = with_in_flight.starts_with(&visible);
    let durable = match (lossy, outcome.snapshots.last()) {
        (false, _) => acked.len(),
        (true, Some(&(frozen, _))) => outcome
            .acked
            .iter()
            .filter(|&&(_, at)| at <= frozen)
            .count(),
        (true, None) => 0,
    };
    if !is_prefix || visible.len() < durable {
        return Err(format!(
            "head v{head} shows batches {visible:?}; acknowledged {acked:?}, in flight {:?}, {durable} of them durable",
            outcome.in_flight
        ));
    }
    verify_frozen_versions(engine, outcome)
}

/// Each acknowledged snapshot froze exactly the batches acknowledged before it.
fn verify_frozen_versions(engine: &Engine, outcome: &Outcome) -> Result<(), String> {
    for &(frozen, _) in &outcome.snapshots {
        let visible = visible_batches(engine, frozen)?;
        let expected: Vec<usize> = outcome
            .acked
            .iter()
            .filter(|&&(_, at)| at <= frozen)
            .map(|&(b, _)| b)
            .collect();
        if visible != expected {
            return Err(format!(
                "frozen v{frozen} shows batches {visible:?}, expected {expected:?}"
            ));
        }
    }
    Ok(())
}

/// Storage calls the whole workload makes (open excluded).
fn workload_call_count(ack: Ack) -> u64 {
    let storage = Arc::new(CrashStorage::new());
    let engine = open_with(&storage, ack).expect("open on empty storage");
    let before = storage.op_count();
    let outcome = run_workload(&engine, ack);
    assert_eq!(
        outcome.acked.len(),
        BATCHES,
        "the workload must succeed without faults"
    );
    let stats = engine.stats();
    assert!(
        stats.flushes >= 3 && stats.merges >= 1,
        "the workload must flush and merge: {stats:?}"
    );
    storage.op_count() - before
}

fn crash_mode(point: u64) -> CrashMode {
    match point % 3 {
        0 => CrashMode::DropUnsynced,
        _ => CrashMode::TearUnsynced {
            seed: point.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1,
        },
    }
}

/// Dies after `point` storage calls, crashes, reopens and checks.
fn crash_at(point: u64, ack: Ack, mode: CrashMode) -> Result<(), String> {
    let storage = Arc::new(CrashStorage::new());
    let engine = open_with(&storage, ack).map_err(|e| format!("open on empty storage: {e}"))?;
    storage.fail_after(point);
    let outcome = run_workload(&engine, ack);
    let survivor = storage.crash(mode);
    drop(engine);
    let lossy = ack == Ack::Periodic && mode != CrashMode::KeepAll;
    let reopened = open_with(&survivor, ack)
        .map_err(|e| format!("reopen after crash ({mode:?}) failed: {e}"))?;
    verify_after_crash(&reopened, &outcome, lossy).map_err(|e| format!("{mode:?}: {e}"))?;
    // Recovery must be repeatable: a clean close and a second open see the same data.
    reopened
        .close()
        .map_err(|e| format!("close after recovery failed: {e}"))?;
    let again = open_with(&survivor, ack).map_err(|e| format!("second reopen failed: {e}"))?;
    verify_after_crash(&again, &outcome, lossy).map_err(|e| format!("{mode:?}, second reopen: {e}"))
}

/// Crash points spread over the workload: every call near the start (WAL creation, first
/// flush) and a stride elsewhere, about 250 points in all.
fn crash_points(total: u64) -> Vec<u64> {
    let stride = (total / 200).max(1);
    let dense = 40.min(total);
    (0..dense)
        .chain((dense..total).step_by(stride as usize))
        .chain([total])
        .collect()
}

fn crash_at_every_point(ack: Ack, mode_at: impl Fn(u64) -> CrashMode) {
    let total = workload_call_count(ack);
    let failures: Vec<String> = crash_points(total)
        .into_iter()
        .filter_map(|point| {
            crash_at(point, ack, mode_at(point))
                .err()
                .map(|e| format!("crash after call {point}/{total}: {e}"))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} crash points failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn batch_mode_power_loss_at_every_point_keeps_exactly_the_acknowledged_writes() {
    crash_at_every_point(Ack::Batch, crash_mode);
}

#[test]
fn pipelined_batch_writes_power_loss_at_every_point_keeps_exactly_the_acknowledged_writes() {
    crash_at_every_point(Ack::BatchPipelined, crash_mode);
}

#[test]
fn periodic_mode_power_loss_at_every_point_keeps_a_prefix_reaching_the_last_barrier() {
    crash_at_every_point(Ack::Periodic, crash_mode);
}

#[test]
fn periodic_mode_process_kill_at_every_point_keeps_every_acknowledged_write() {
    crash_at_every_point(Ack::Periodic, |_| CrashMode::KeepAll);
}

/// A second crash while recovering from the first must lose nothing acknowledged either.
#[test]
fn a_crash_during_recovery_loses_nothing() {
    let storage = Arc::new(CrashStorage::new());
    let engine = open(&storage).expect("open");
    let outcome = run_workload(&engine, Ack::Batch);
    // The image to recover from is never opened itself: every attempt works on a copy.
    let image = storage.crash(CrashMode::DropUnsynced);
    drop(engine);
    // Count the calls a full recovery makes, then die at each of them.
    let recovery_calls = {
        let probe = copy_of(&image);
        let before = probe.op_count();
        let engine = open(&probe).expect("recovery from the first crash");
        verify_after_crash(&engine, &outcome, false).expect("recovery from the first crash");
        probe.op_count() - before
    };
    assert!(recovery_calls > 0);
    for point in 0..recovery_calls {
        let attempt = copy_of(&image);
        attempt.fail_after(point);
        let half_recovered = open(&attempt);
        let survivor = attempt.crash(crash_mode(point));
        drop(half_recovered);
        let engine = open(&survivor)
            .unwrap_or_else(|e| panic!("reopen after a crash in recovery call {point}: {e}"));
        verify_after_crash(&engine, &outcome, false)
            .unwrap_or_else(|e| panic!("crash in recovery call {point}: {e}"));
    }
}

// ---------------------------------------------------------------------------------------------
// Corruption
// ---------------------------------------------------------------------------------------------

/// What kind of engine file a name is (by the engine's naming convention).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FileKind {
    Wal,
    Manifest,
    Array,
    Other,
}

fn file_kind(name: &str) -> FileKind {
    let lower = name.to_ascii_lowercase();
    if lower.contains("wal") {
        FileKind::Wal
    } else if lower.contains("manifest") {
        FileKind::Manifest
    } else if lower.ends_with(".arr") || lower.contains("array") {
        FileKind::Array
    } else {
        FileKind::Other
    }
}

fn files_of(storage: &CrashStorage, kind: FileKind) -> Vec<(String, u64)> {
    let mut names: Vec<String> = storage
        .list()
        .expect("list")
        .into_iter()
        .filter(|n| file_kind(n) == kind)
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|n| {
            let len = storage.len(&n).expect("len");
            (n, len)
        })
        .collect()
}

const CORRUPTION_KEYS: usize = 120;

fn corruption_key(i: usize) -> Vec<u8> {
    format!("ckey-{i:04}").into_bytes()
}

fn corruption_cell(i: usize) -> Cell {
    Cell::live(
        i as i64 + 1,
        format!("cvalue-{i:04}-{}", "y".repeat(30)).into_bytes(),
    )
}

/// A store holding `CORRUPTION_KEYS` keys in table `v`; `flushed` moves them into arrays,
/// otherwise they stay in the WAL only. Version ops (snapshots) fill the manifest.
fn build_store(flushed: bool) -> (Arc<CrashStorage>, VersionId) {
    let storage = Arc::new(CrashStorage::new());
    let mut opts = options(Ack::Batch);
    opts.memtable_bytes = 64 << 20; // nothing flushes unless asked to
    let engine =
        Engine::open(storage.clone(), opts, Arc::new(ManualClock::new(1_000_000))).expect("open");
    let mut head = engine.clone_version(ROOT_VERSION).expect("clone root");
    for i in 0..CORRUPTION_KEYS {
        if i % 20 == 19 {
            head = engine.snapshot(head).expect("snapshot");
        }
        let m = Mutation {
            version: head,
            key: corruption_key(i),
            cell: corruption_cell(i),
        };
        engine.write(&[m]).expect("write");
    }
    if flushed {
        engine.flush().expect("flush");
    }
    // A kill -9: everything written so far is in the image, nothing is cleaned up.
    let image = storage.crash(CrashMode::KeepAll);
    drop(engine);
    (image, head)
}

/// Every read of every key either returns the right cell or an error; returns whether any read
/// reported corruption. Wrong data fails the test.
fn read_everything(engine: &Engine, head: VersionId) -> bool {
    let mut saw_corruption = false;
    for i in 0..CORRUPTION_KEYS {
        match engine.get(head, &corruption_key(i)) {
            Ok(Some(cell)) => assert_eq!(cell, corruption_cell(i), "wrong data for key {i}"),
            Ok(None) => panic!("key {i} silently vanished"),
            Err(e) => {
                assert!(
                    matches!(e, Error::Corruption { .. }),
                    "expected Corruption, got {e}"
                );
                saw_corruption = true;
            }
        }
    }
    match engine.scan(head, Bound::Unbounded, Bound::Unbounded, false) {
        Ok(iter) => {
            for item in iter {
                match item {
                    Ok((key, cell)) => {
                        let i = (0..CORRUPTION_KEYS)
                            .find(|&i| corruption_key(i) == key)
                            .expect("scan returned a key never written");
                        assert_eq!(cell, corruption_cell(i), "scan returned wrong data");
                    }
                    Err(e) => {
                        assert!(
                            matches!(e, Error::Corruption { .. }),
                            "expected Corruption, got {e}"
                        );
                        saw_corruption = true;
                        break;
                    }
                }
            }
        }
        Err(e) => {
            assert!(
                matches!(e, Error::Corruption { .. }),
                "expected Corruption, got {e}"
            );
            saw_corruption = true;
        }
    }
    saw_corruption
}

/// Flips the byte at `offset` of `name` in a copy of `image`, opens it and demands a
/// Corruption error (at open or on some read) and no wrong data.
fn assert_flip_detected(image: &CrashStorage, head: VersionId, name: &str, offset: u64) {
    let copy = copy_of(image);
    assert!(
        copy.corrupt_byte(name, offset as usize),
        "no byte {offset} in {name}"
    );
    match open(&copy) {
        Err(e) => assert!(
            matches!(e, Error::Corruption { .. }),
            "{name}@{offset}: expected Corruption at open, got {e}"
        ),
        Ok(engine) => assert!(
            read_everything(&engine, head),
            "{name}@{offset}: a flipped byte went unnoticed (no Corruption error on any read)"
        ),
    }
}

#[test]
fn a_flipped_byte_in_an_array_file_is_reported_as_corruption() {
    let (image, head) = build_store(true);
    let arrays = files_of(&image, FileKind::Array);
    assert!(
        !arrays.is_empty(),
        "flush wrote no array file; files: {:?}",
        image.list()
    );
    // Header, every block, index, Bloom filter, metadata and footer: ~48 offsets over the file.
    let (name, len) = &arrays[0];
    let stride = (len / 48).max(1) as usize;
    for offset in (0..*len).step_by(stride).chain([len - 1]) {
        assert_flip_detected(&image, head, name, offset);
    }
}

#[test]
fn a_flipped_byte_in_a_middle_wal_record_is_reported_as_corruption() {
    let (image, head) = build_store(false);
    let wals = files_of(&image, FileKind::Wal);
    let (name, len) = wals
        .iter()
        .max_by_key(|(_, len)| *len)
        .expect("a WAL segment")
        .clone();
    for offset in [len / 3, len / 2, len * 2 / 3] {
        assert_flip_detected(&image, head, &name, offset);
    }
}

#[test]
fn a_torn_wal_tail_is_not_an_error_and_loses_only_the_torn_record() {
    let (image, head) = build_store(false);
    let wals = files_of(&image, FileKind::Wal);
    let (name, _) = wals
        .iter()
        .max_by_key(|(_, len)| *len)
        .expect("a WAL segment")
        .clone();
    // Batch-mode segments end in zero padding: the records end at the last non-zero byte
    // (or a little after it, if the last record ends in zeros).
    let bytes = copy_of(&image).read_all(&name).expect("read the segment");
    let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1) as u64;
    for (cut, zero_fill) in [
        (1, false),
        (5, false),
        (17, false),
        (1, true),
        (5, true),
        (17, true),
    ] {
        let copy = copy_of(&image);
        if zero_fill {
            copy.write_at(&name, end - cut, &vec![0; cut as usize])
                .expect("tear over the padding");
        } else {
            copy.truncate(&name, end - cut).expect("truncate");
        }
        let engine = open(&copy)
            .unwrap_or_else(|e| panic!("torn tail ({cut} bytes cut) made open fail: {e}"));
        let visible = scan_all(&engine, head).expect("scan");
        assert_eq!(
            visible.len(),
            CORRUPTION_KEYS - 1,
            "only the torn last record may be lost ({cut} bytes cut)"
        );
        for (key, cell) in visible {
            let i = (0..CORRUPTION_KEYS)
                .find(|&i| corruption_key(i) == key)
                .expect("a key never written");
            assert_eq!(cell, corruption_cell(i));
        }
    }
}

#[test]
fn a_flipped_byte_in_the_manifest_is_reported_as_corruption() {
    let (image, head) = build_store(true);
    let manifests = files_of(&image, FileKind::Manifest);
    let (name, len) = manifests
        .iter()
        .max_by_key(|(_, len)| *len)
        .expect("a manifest")
        .clone();
    for offset in [len / 4, len / 2] {
        assert_flip_detected(&image, head, &name, offset);
    }
}

/// A durable copy of `image` (which stays usable: `CrashStorage::crash` would kill it).
fn copy_of(image: &CrashStorage) -> Arc<CrashStorage> {
    let copy = Arc::new(CrashStorage::new());
    for name in image.list().expect("list") {
        copy.create(&name).expect("create");
        copy.append(&name, &image.read_all(&name).expect("read"))
            .expect("append");
        copy.sync(&name).expect("sync");
    }
    copy.sync_dir().expect("sync_dir");
    copy
}
