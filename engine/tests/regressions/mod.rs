//! Minimised failures found by the model test (`tests/model.rs`), frozen as named tests.
//!
//! Each test replays a short op list through the same harness as the random run; its doc
//! comment tells the story of the bug it pins (what went wrong, why, and what the fix was).

use std::sync::Arc;

use strata_engine::{
    Cell, CellValue, CrashMode, CrashStorage, Engine, ManualClock, Mutation, Options, SyncMode,
    ROOT_VERSION,
};

use super::support::{run_ops, Config, Op, Payload, VRef, Write};

fn batch_config() -> Config {
    Config {
        batch_sync: true,
        memtable_bytes: 4096,
        max_frozen_memtables: 1,
        gc_grace_secs: 1_000_000,
        version_split: true,
        background_threads: false,
        block_bytes: 4096,
        bloom_bits_per_key: 10,
        prefix_extractor: None,
        whole_key_filtering: true,
        try_append: false,
    }
}

fn put(version: VRef, key: u8, timestamp: i64, value: &[u8]) -> Write {
    Write {
        version,
        key,
        timestamp,
        payload: Payload::Put {
            value: value.to_vec(),
            ttl_secs: 0,
        },
    }
}

/// Found by the model test (seed 0x5717a7a000000000, shrunk to these 3 ops), and by every
/// crash point of `crash.rs`: after any unclean stop with a non-empty WAL, `Engine::open`
/// failed with `Io(NotFound, "no such file: 0000000001.wal")`, so a crashed database could not
/// be opened at all. Recovery flushed the replayed memtable, `flush_memtable` removed the
/// memtable's WAL segment, and then `recover_memtable` removed every replayed segment again
/// with `?`, failing on the one already gone. Fixed: recovery removes segments only if they
/// still exist.
#[test]
fn reopen_after_a_crash_with_a_non_empty_wal() {
    let ops = vec![
        Op::Clone(VRef::Any(0)),
        Op::Write(vec![put(VRef::Writable(0), 1, 4096, b"x")]),
        Op::CrashReopen,
    ];
    if let Err(failure) = run_ops(batch_config(), &ops) {
        panic!("{failure:?}");
    }
}

/// Found by the model test's "a crash leaves a prefix of history" check in Periodic mode (seed
/// 0x5717a7a000000005, shrunk to: clone the root, write to the clone, snapshot it, crash). In
/// `SyncMode::Periodic`, `snapshot(v)` was durable at once (the manifest is synced) while the
/// writes acknowledged at `v` before it were still in the unsynced WAL tail. After a power loss
/// the snapshot survived and those writes did not: the frozen `v` showed a state that never
/// existed when it was frozen, so a backup taken "after my writes" silently missed them.
/// Fixed: every version operation first syncs the WAL (a durability barrier).
///
/// The same test later hung for an hour in `drop(engine)`: once the Periodic WAL syncer ran
/// even with `background_threads: false`, a shutdown requested before the syncer's first wait
/// was missed and `Engine::drop` joined a thread sleeping for the whole `interval_ms`. Fixed:
/// the syncer checks for shutdown before it waits.
#[test]
fn a_snapshot_that_survives_a_crash_keeps_the_writes_acknowledged_before_it() {
    // The periodic sync never fires during the test: only explicit durability points count.
    let options = Options {
        sync: SyncMode::Periodic {
            interval_ms: 3_600_000,
        },
        background_threads: false,
        ..Options::default()
    };
    let storage = Arc::new(CrashStorage::new());
    let engine = Engine::open(
        storage.clone(),
        options.clone(),
        Arc::new(ManualClock::new(1)),
    )
    .expect("engine call");
    let table = engine.clone_version(ROOT_VERSION).expect("engine call");
    let write = Mutation {
        version: table,
        key: b"k".to_vec(),
        cell: Cell::live(1, b"before the snapshot".to_vec()),
    };
    engine.write(&[write]).expect("engine call");
    let head = engine.snapshot(table).expect("engine call");

    let survivor = storage.crash(CrashMode::DropUnsynced);
    drop(engine);
    let engine =
        Engine::open(survivor, options, Arc::new(ManualClock::new(1))).expect("engine call");
    let frozen = engine.version_info(table).expect("engine call");
    assert!(
        frozen.frozen && engine.version_info(head).is_some(),
        "the snapshot survived"
    );
    assert_eq!(
        engine
            .get(table, b"k")
            .expect("engine call")
            .map(|c| c.value),
        Some(CellValue::Live(b"before the snapshot".to_vec())),
        "the snapshot survived but the write acknowledged before it did not"
    );
}
