//! End-to-end behaviour of the engine through its public API: versioned reads and scans,
//! snapshot/clone/delete rules, restart, last-write-wins with out-of-order timestamps,
//! TTL expiry and tombstone purge, corruption detection and version splitting.

use std::ops::Bound;
use std::sync::Arc;

use strata_engine::{
    Cell, CellValue, CrashMode, CrashStorage, DiskAccessMode, Engine, Error, ManualClock,
    MemStorage, Mutation, Options, Storage, VersionId, ROOT_VERSION,
};

fn opts() -> Options {
    Options {
        background_threads: false,
        memtable_bytes: 64 << 10,
        block_bytes: 512,
        ..Options::default()
    }
}

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(1_000))
}

fn put(e: &Engine, v: VersionId, key: &str, ts: i64, value: &str) {
    e.write(&[Mutation {
        version: v,
        key: key.as_bytes().to_vec(),
        cell: Cell::live(ts, value.as_bytes().to_vec()),
    }])
    .unwrap();
}

fn del(e: &Engine, v: VersionId, key: &str, ts: i64, at: i64) {
    e.write(&[Mutation {
        version: v,
        key: key.as_bytes().to_vec(),
        cell: Cell::tombstone(ts, at),
    }])
    .unwrap();
}

fn value(e: &Engine, v: VersionId, key: &str) -> Option<String> {
    match e.get(v, key.as_bytes()).unwrap() {
        Some(Cell {
            value: CellValue::Live(b),
            ..
        }) => Some(String::from_utf8(b).unwrap()),
        _ => None,
    }
}

fn scan_keys(
    e: &Engine,
    v: VersionId,
    start: Bound<&str>,
    end: Bound<&str>,
    reverse: bool,
) -> Vec<String> {
    let own = |b: Bound<&str>| b.map(|s| s.as_bytes().to_vec());
    e.scan(v, own(start), own(end), reverse)
        .unwrap()
        .map(|r| r.unwrap())
        .filter(|(_, c)| !c.is_tombstone())
        .map(|(k, _)| String::from_utf8(k).unwrap())
        .collect()
}

/// Writes at a snapshot chain: each version sees its own and its ancestors' writes, the
/// frozen version keeps its old view, and scans agree with gets in both directions.
#[test]
fn reads_and_scans_see_the_right_version() {
    let e = Engine::open(Arc::new(MemStorage::new()), opts(), clock()).unwrap();
    let v1 = e.clone_version(ROOT_VERSION).unwrap();
    for i in 0..50 {
        put(&e, v1, &format!("k{i:02}"), 10, &format!("a{i}"));
    }
    let v2 = e.snapshot(v1).unwrap();
    put(&e, v2, "k05", 20, "b5");
    del(&e, v2, "k06", 20, 1);
    put(&e, v2, "zz", 20, "new");
    for flushed in [false, true] {
        assert_eq!(
            value(&e, v1, "k05").as_deref(),
            Some("a5"),
            "flushed={flushed}"
        );
        assert_eq!(value(&e, v2, "k05").as_deref(), Some("b5"));
        assert_eq!(value(&e, v1, "k06").as_deref(), Some("a6"));
        assert!(e.get(v2, b"k06").unwrap().unwrap().is_tombstone());
        assert_eq!(value(&e, v1, "zz"), None);
        assert_eq!(value(&e, ROOT_VERSION, "k05"), None);
        let fwd = scan_keys(
            &e,
            v2,
            Bound::Included("k04"),
            Bound::Excluded("k09"),
            false,
        );
        assert_eq!(fwd, vec!["k04", "k05", "k07", "k08"]);
        let rev = scan_keys(&e, v2, Bound::Included("k04"), Bound::Excluded("k09"), true);
        assert_eq!(rev, vec!["k08", "k07", "k05", "k04"]);
        assert_eq!(
            scan_keys(&e, v1, Bound::Unbounded, Bound::Unbounded, false).len(),
            50
        );
        assert_eq!(
            scan_keys(&e, v2, Bound::Unbounded, Bound::Unbounded, false).len(),
            50
        );
        e.flush().unwrap();
    }
}

/// The version-tree rules: who can be written, cloned, deleted; writable_head.
#[test]
fn snapshot_clone_and_delete_rules() {
    let e = Engine::open(Arc::new(MemStorage::new()), opts(), clock()).unwrap();
    let m = |v| Mutation {
        version: v,
        key: b"k".to_vec(),
        cell: Cell::live(1, b"x".to_vec()),
    };
    assert!(matches!(
        e.write(&[m(ROOT_VERSION)]),
        Err(Error::VersionFrozen(0))
    ));
    assert!(matches!(e.write(&[m(99)]), Err(Error::UnknownVersion(99))));
    let v1 = e.clone_version(ROOT_VERSION).unwrap();
    assert!(matches!(
        e.clone_version(v1),
        Err(Error::VersionWritable(_))
    ));
    let v2 = e.snapshot(v1).unwrap();
    assert!(matches!(e.write(&[m(v1)]), Err(Error::VersionFrozen(_))));
    assert!(matches!(e.snapshot(v1), Err(Error::VersionFrozen(_))));
    let v3 = e.snapshot(v2).unwrap();
    assert_eq!(e.writable_head(v1).unwrap(), v3);
    let c = e.clone_version(v1).unwrap();
    e.write(&[m(c)]).unwrap();
    let info = e.version_info(v1).unwrap();
    assert_eq!(
        (info.parent, info.frozen, info.snapshot_successor),
        (Some(ROOT_VERSION), true, Some(v2))
    );
    assert_eq!(info.children, vec![v2, c]);
    e.delete_version(c).unwrap();
    assert!(matches!(e.get(c, b"k"), Err(Error::VersionDeleted(_))));
    assert!(matches!(e.write(&[m(c)]), Err(Error::VersionDeleted(_))));
    assert!(matches!(
        e.delete_version(ROOT_VERSION),
        Err(Error::RootVersion(_))
    ));
    // A deleted frozen version still serves its descendants.
    put(&e, v3, "k", 5, "v3");
    e.delete_version(v1).unwrap();
    assert_eq!(value(&e, v3, "k").as_deref(), Some("v3"));
}

/// With `DiskAccessMode::Mmap`, reads and scans decode mapped array files: a scan keeps
/// reading arrays that a merge replaced (and removed) under it, and reopening maps the
/// merged array.
#[test]
fn mapped_arrays_serve_reads_across_merges_and_restart() {
    let dir = std::env::temp_dir().join(format!("strata-basic-mmap-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let options = || Options {
        disk_access_mode: DiskAccessMode::Mmap,
        ..opts()
    };
    let v;
    {
        let e = Engine::open_dir(&dir, options(), clock()).unwrap();
        v = e.clone_version(ROOT_VERSION).unwrap();
        for i in 0..3000 {
            put(&e, v, &format!("key{i:05}"), i, &format!("value {i}"));
        }
        e.flush().unwrap();
        assert!(e.stats().arrays > 1, "several arrays to merge");
        let mut scan = e
            .scan(v, Bound::Unbounded, Bound::Unbounded, false)
            .unwrap();
        let first = scan.next().unwrap().unwrap();
        assert_eq!(first.0, b"key00000");
        e.compact().unwrap();
        assert_eq!(e.stats().arrays, 1);
        // The scan's arrays were merged away; it still reads all of them.
        assert_eq!(scan.count(), 2999);
        assert_eq!(value(&e, v, "key02999").as_deref(), Some("value 2999"));
        e.close().unwrap();
    }
    let e = Engine::open_dir(&dir, options(), clock()).unwrap();
    assert_eq!(value(&e, v, "key01234").as_deref(), Some("value 1234"));
    assert_eq!(
        scan_keys(&e, v, Bound::Unbounded, Bound::Unbounded, true).len(),
        3000
    );
    drop(e);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Everything acknowledged survives close/reopen on a real directory, with and without flushes.
#[test]
fn restart_preserves_data_and_versions() {
    let dir = std::env::temp_dir().join(format!("strata-basic-restart-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (v1, v2);
    {
        let e = Engine::open_dir(&dir, opts(), clock()).unwrap();
        v1 = e.clone_version(ROOT_VERSION).unwrap();
        for i in 0..2000 {
            put(&e, v1, &format!("key{i:05}"), i, "value-value-value");
        }
        v2 = e.snapshot(v1).unwrap();
        put(&e, v2, "key00001", 99_999, "changed");
        assert!(e.stats().arrays > 0, "the small memtable forced flushes");
        e.close().unwrap();
    }
    let e = Engine::open_dir(&dir, opts(), clock()).unwrap();
    assert_eq!(
        value(&e, v1, "key00001").as_deref(),
        Some("value-value-value")
    );
    assert_eq!(value(&e, v2, "key00001").as_deref(), Some("changed"));
    assert_eq!(
        scan_keys(&e, v2, Bound::Unbounded, Bound::Unbounded, false).len(),
        2000
    );
    assert_eq!(e.writable_head(v1).unwrap(), v2);
    drop(e);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Resolution does not depend on arrival order: older timestamps arriving later lose,
/// even when the newer cell is already in an array; ties follow Cassandra's rules.
#[test]
fn last_write_wins_with_out_of_order_timestamps() {
    let e = Engine::open(Arc::new(MemStorage::new()), opts(), clock()).unwrap();
    let v = e.clone_version(ROOT_VERSION).unwrap();
    put(&e, v, "k", 50, "newest");
    e.flush().unwrap();
    put(&e, v, "k", 10, "late-but-old");
    assert_eq!(value(&e, v, "k").as_deref(), Some("newest"));
    e.flush().unwrap();
    e.compact().unwrap();
    assert_eq!(value(&e, v, "k").as_deref(), Some("newest"));
    // Ties: greater value wins between live cells; a tombstone beats a live cell.
    put(&e, v, "t", 7, "aaa");
    put(&e, v, "t", 7, "bbb");
    put(&e, v, "t", 7, "abc");
    assert_eq!(value(&e, v, "t").as_deref(), Some("bbb"));
    del(&e, v, "t", 7, 1);
    put(&e, v, "t", 7, "zzz");
    assert!(e.get(v, b"t").unwrap().unwrap().is_tombstone());
    // An ancestor's newer write beats a descendant's older one.
    let child = e.snapshot(v).unwrap();
    put(&e, child, "k", 20, "child-old");
    assert_eq!(value(&e, child, "k").as_deref(), Some("newest"));
}

/// Expired TTL cells are returned as stored by reads, become tombstones in merges, and
/// tombstones are purged only after gc_grace.
#[test]
fn ttl_expiry_and_tombstone_purge() {
    let clock = clock();
    let options = Options {
        gc_grace_secs: 100,
        ..opts()
    };
    let e = Engine::open(Arc::new(MemStorage::new()), options, clock.clone()).unwrap();
    let v = e.clone_version(ROOT_VERSION).unwrap();
    let ttl_cell = Cell {
        timestamp: 1,
        ttl_secs: 60,
        expires_at_secs: 1_060,
        value: CellValue::Live(b"x".to_vec()),
    };
    e.write(&[Mutation {
        version: v,
        key: b"ttl".to_vec(),
        cell: ttl_cell.clone(),
    }])
    .unwrap();
    put(&e, v, "keep", 1, "forever");
    e.compact().unwrap();
    assert_eq!(e.get(v, b"ttl").unwrap(), Some(ttl_cell.clone()));
    clock.set(1_070);
    assert_eq!(
        e.get(v, b"ttl").unwrap(),
        Some(ttl_cell),
        "reads return the cell as stored"
    );
    e.compact().unwrap();
    let got = e.get(v, b"ttl").unwrap().unwrap();
    assert_eq!(
        got.value,
        CellValue::Tombstone {
            deleted_at_secs: 1_060
        }
    );
    clock.set(1_150);
    e.compact().unwrap();
    assert!(e.get(v, b"ttl").unwrap().is_some(), "still within gc_grace");
    clock.set(1_161);
    e.compact().unwrap();
    assert_eq!(e.get(v, b"ttl").unwrap(), None, "purged");
    assert_eq!(value(&e, v, "keep").as_deref(), Some("forever"));
    assert_eq!(e.stats().array_entries, 1);
}

/// A tombstone is not purged while a snapshot still sees the value it deleted.
#[test]
fn tombstone_purge_never_resurrects_an_ancestor_value() {
    let clock = clock();
    let e = Engine::open(
        Arc::new(MemStorage::new()),
        Options {
            gc_grace_secs: 0,
            ..opts()
        },
        clock.clone(),
    )
    .unwrap();
    let v1 = e.clone_version(ROOT_VERSION).unwrap();
    put(&e, v1, "k", 1, "old");
    let v2 = e.snapshot(v1).unwrap();
    del(&e, v2, "k", 2, 500);
    clock.set(10_000);
    e.compact().unwrap();
    assert_eq!(value(&e, v1, "k").as_deref(), Some("old"));
    assert_eq!(value(&e, v2, "k"), None);
    assert!(e.get(v2, b"k").unwrap().is_some_and(|c| c.is_tombstone()));
}

/// A closed engine whose 200 keys `k000`..`k199` (at the returned version) sit in one array
/// (the returned file name).
fn one_array_of_200_keys() -> (Arc<CrashStorage>, VersionId, String) {
    let storage = Arc::new(CrashStorage::new());
    let e = Engine::open(storage.clone(), opts(), clock()).unwrap();
    let v = e.clone_version(ROOT_VERSION).unwrap();
    for i in 0..200 {
        put(&e, v, &format!("k{i:03}"), 1, "some value bytes");
    }
    e.flush().unwrap();
    e.compact().unwrap();
    e.close().unwrap();
    let arr = storage
        .list()
        .unwrap()
        .into_iter()
        .find(|n| n.ends_with(".arr"))
        .unwrap();
    (storage, v, arr)
}

/// A flipped byte in an array is reported as corruption, never returned as data.
#[test]
fn corrupted_array_is_detected() {
    let (storage, v, arr) = one_array_of_200_keys();
    let len = storage.len(&arr).unwrap() as usize;
    for offset in [10, len / 2, len - 60, len - 5] {
        let image = storage.crash(CrashMode::KeepAll);
        assert!(image.corrupt_byte(&arr, offset));
        let outcome = Engine::open(image, opts(), clock()).and_then(|e| {
            for i in 0..200 {
                e.get(v, format!("k{i:03}").as_bytes())?;
            }
            e.scan(v, Bound::Unbounded, Bound::Unbounded, false)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(())
        });
        assert!(
            matches!(outcome, Err(Error::Corruption { .. })),
            "offset {offset}: {outcome:?}"
        );
    }
}

/// A damaged data block fails only the reads that touch it, never poisons writes or merges
/// (its array is left out of them), is stepped over by a salvage scan, and `scrub` rewrites
/// its array without it, reporting the keys it held.
#[test]
fn a_damaged_block_is_isolated_then_scrubbed() {
    let (storage, v, arr) = one_array_of_200_keys();
    let image = storage.crash(CrashMode::KeepAll);
    assert!(
        image.corrupt_byte(&arr, 10),
        "a byte of the first data block"
    );
    let e = Engine::open(image, opts(), clock()).unwrap();
    let failed = e.get(v, b"k000").unwrap_err();
    assert!(
        matches!(&failed, Error::Corruption { file, detail } if *file == arr && detail.contains("block 0 (bytes 0..")),
        "{failed}"
    );
    assert_eq!(value(&e, v, "k199").as_deref(), Some("some value bytes"));
    let damage = e.damage();
    assert_eq!(damage.len(), 1, "{damage:?}");
    assert_eq!((damage[0].block, damage[0].after.as_deref()), (0, None));
    assert!(e
        .scan(v, Bound::Unbounded, Bound::Unbounded, false)
        .and_then(|scan| scan.collect::<Result<Vec<_>, _>>())
        .is_err());

    let salvaged: Vec<(Vec<u8>, Cell)> = e
        .scan_salvaging(v, Bound::Unbounded, Bound::Unbounded)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!((100..200).contains(&salvaged.len()), "{}", salvaged.len());
    assert!(salvaged
        .iter()
        .all(|(k, _)| k.as_slice() > damage[0].last.as_slice()));

    // Writes, flushes and merges go on around the damaged array.
    put(&e, v, "k200", 2, "new");
    e.flush().unwrap();
    e.compact().unwrap();
    put(&e, v, "k201", 2, "new");

    let report = e.scrub(None).unwrap();
    assert_eq!(report.len(), 1, "{report:?}");
    assert_eq!(report[0].file, arr);
    assert_eq!(report[0].dropped, damage);
    assert_eq!(report[0].entries_kept as usize, salvaged.len());
    let all: Vec<(Vec<u8>, Cell)> = e
        .scan(v, Bound::Unbounded, Bound::Unbounded, false)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(all.len(), salvaged.len() + 2);
    assert!(e.damage().is_empty());
    assert!(e.scrub(None).unwrap().is_empty(), "nothing left to scrub");
}

/// A directory whose manifest is gone is refused instead of having its data deleted.
#[test]
fn a_missing_manifest_is_refused() {
    let storage = Arc::new(MemStorage::new());
    let e = Engine::open(storage.clone(), opts(), clock()).unwrap();
    let v = e.clone_version(ROOT_VERSION).unwrap();
    put(&e, v, "k", 1, "v");
    e.flush().unwrap();
    e.close().unwrap();
    for name in storage
        .list()
        .unwrap()
        .into_iter()
        .filter(|n| n.starts_with("MANIFEST-"))
    {
        storage.remove(&name).unwrap();
    }
    assert!(matches!(
        Engine::open(storage.clone(), opts(), clock()),
        Err(Error::Corruption { .. })
    ));
    assert!(
        storage.list().unwrap().iter().any(|n| n.ends_with(".arr")),
        "data left untouched"
    );
}

/// A flipped byte in the middle of the WAL is corruption at reopen.
#[test]
fn corrupted_wal_is_detected() {
    let storage = Arc::new(CrashStorage::new());
    let e = Engine::open(storage.clone(), opts(), clock()).unwrap();
    let v = e.clone_version(ROOT_VERSION).unwrap();
    put(&e, v, "a", 1, "first");
    put(&e, v, "b", 1, "second");
    drop(e);
    let wal = storage
        .list()
        .unwrap()
        .into_iter()
        .find(|n| n.ends_with(".wal"))
        .unwrap();
    let image = storage.crash(CrashMode::KeepAll);
    assert!(image.corrupt_byte(&wal, 20));
    assert!(matches!(
        Engine::open(image, opts(), clock()),
        Err(Error::Corruption { .. })
    ));
}

/// Batch mode: every acknowledged write survives a power loss, including torn tails.
#[test]
fn acknowledged_writes_survive_power_loss() {
    for mode in [
        CrashMode::DropUnsynced,
        CrashMode::TearUnsynced { seed: 7 },
        CrashMode::KeepAll,
    ] {
        let storage = Arc::new(CrashStorage::new());
        let e = Engine::open(storage.clone(), opts(), clock()).unwrap();
        let v = e.clone_version(ROOT_VERSION).unwrap();
        for i in 0..500 {
            put(&e, v, &format!("k{i:04}"), i, "payload-payload");
        }
        let image = storage.crash(mode);
        drop(e);
        let e = Engine::open(image, opts(), clock()).unwrap();
        for i in 0..500 {
            assert_eq!(
                value(&e, v, &format!("k{i:04}")).as_deref(),
                Some("payload-payload"),
                "{mode:?} k{i}"
            );
        }
    }
}

/// Many clones of one frozen version writing disjoint keys make a non-dense merge: with
/// version splitting on, compaction produces several arrays; off, one. Reads agree.
#[test]
fn version_splitting_splits_divergent_clones() {
    for split in [true, false] {
        let e = Engine::open(
            Arc::new(MemStorage::new()),
            Options {
                version_split: split,
                ..opts()
            },
            clock(),
        )
        .unwrap();
        let base = e.clone_version(ROOT_VERSION).unwrap();
        put(&e, base, "shared", 1, "base");
        let _head = e.snapshot(base).unwrap();
        let clones: Vec<VersionId> = (0..6).map(|_| e.clone_version(base).unwrap()).collect();
        for (n, &c) in clones.iter().enumerate() {
            for i in 0..100 {
                put(&e, c, &format!("c{n}-{i:03}"), 2, "clone data");
            }
        }
        e.compact().unwrap();
        let stats = e.stats();
        if split {
            assert!(stats.version_splits >= 1 && stats.arrays > 1, "{stats:?}");
        } else {
            assert_eq!(stats.arrays, 1, "{stats:?}");
        }
        for (n, &c) in clones.iter().enumerate() {
            let keys = scan_keys(&e, c, Bound::Unbounded, Bound::Unbounded, false);
            assert_eq!(keys.len(), 101, "clone {n}");
            assert_eq!(value(&e, c, "shared").as_deref(), Some("base"));
            assert_eq!(
                value(&e, c, &format!("c{n}-050")).as_deref(),
                Some("clone data")
            );
        }
    }
}

/// 100 clones of a small frozen base, each writing its own keys: after a split compaction
/// a scan at a clone reads at most two arrays (the base's piece and its own clones' piece;
/// one if the base shares a piece with it), not every piece, and sees exactly the base's keys and its own.
#[test]
fn a_scan_at_one_of_many_clones_reads_only_its_pieces() {
    let e = Engine::open(Arc::new(MemStorage::new()), opts(), clock()).unwrap();
    let base = e.clone_version(ROOT_VERSION).unwrap();
    for i in 0..20 {
        put(&e, base, &format!("b{i:02}"), 1, "base");
    }
    let _head = e.snapshot(base).unwrap();
    let clones: Vec<VersionId> = (0..100).map(|_| e.clone_version(base).unwrap()).collect();
    for i in 0..30 {
        for (n, &c) in clones.iter().enumerate() {
            put(&e, c, &format!("c{i:02}-{n:03}"), 2, "clone data");
        }
    }
    e.compact().unwrap();
    let arrays = e.stats().arrays;
    assert!(arrays > 10, "expected a split, got {:?}", e.stats());
    for (n, &c) in clones.iter().enumerate() {
        let before = e.stats().scan_arrays_read;
        let keys = scan_keys(&e, c, Bound::Unbounded, Bound::Unbounded, false);
        let read = e.stats().scan_arrays_read - before;
        assert!(
            (1..=2).contains(&read),
            "clone {n} read {read} of {arrays} arrays"
        );
        let own: Vec<String> = keys
            .iter()
            .filter(|k| k.starts_with('c'))
            .cloned()
            .collect();
        assert_eq!(keys.len() - own.len(), 20, "clone {n} sees the base");
        assert_eq!(
            own,
            (0..30)
                .map(|i| format!("c{i:02}-{n:03}"))
                .collect::<Vec<_>>(),
            "clone {n} sees only its own writes"
        );
    }
}

/// Deleted versions' entries are reclaimed by merge_version; bytes_written_at reports them.
#[test]
fn deleted_versions_are_reclaimed() {
    let e = Engine::open(Arc::new(MemStorage::new()), opts(), clock()).unwrap();
    let base = e.clone_version(ROOT_VERSION).unwrap();
    let head = e.snapshot(base).unwrap();
    let doomed = e.clone_version(base).unwrap();
    for i in 0..100 {
        put(&e, doomed, &format!("d{i:03}"), 1, "bytes bytes bytes");
    }
    put(&e, head, "h", 1, "head");
    e.flush().unwrap();
    assert!(e.bytes_written_at(doomed).unwrap() > 1000);
    e.delete_version(doomed).unwrap();
    e.merge_version(doomed).unwrap();
    assert_eq!(e.bytes_written_at(doomed).unwrap(), 0);
    assert_eq!(e.stats().array_entries, 1);
    assert_eq!(value(&e, head, "h").as_deref(), Some("head"));
}

/// Background threads: concurrent writers and readers, automatic flushes and merges.
#[test]
fn concurrent_writers_and_readers() {
    let options = Options {
        background_threads: true,
        memtable_bytes: 32 << 10,
        ..opts()
    };
    let e = Arc::new(Engine::open(Arc::new(MemStorage::new()), options, clock()).unwrap());
    let v = e.clone_version(ROOT_VERSION).unwrap();
    let writers: Vec<_> = (0..4)
        .map(|t| {
            let e = e.clone();
            std::thread::spawn(move || {
                for i in 0..500 {
                    put(&e, v, &format!("t{t}-{i:04}"), i, "concurrent value");
                    if i % 50 == 0 {
                        assert_eq!(
                            value(&e, v, &format!("t{t}-{i:04}")).as_deref(),
                            Some("concurrent value")
                        );
                    }
                }
            })
        })
        .collect();
    let reader = {
        let e = e.clone();
        std::thread::spawn(move || {
            for _ in 0..20 {
                let n = e
                    .scan(v, Bound::Unbounded, Bound::Unbounded, false)
                    .unwrap()
                    .count();
                assert!(n <= 2000);
            }
        })
    };
    for w in writers {
        w.join().unwrap();
    }
    reader.join().unwrap();
    e.flush().unwrap();
    assert_eq!(
        scan_keys(&e, v, Bound::Unbounded, Bound::Unbounded, false).len(),
        2000
    );
    assert!(e.stats().flushes > 1);
}

/// A scan keeps reading the arrays it started with while a compaction replaces them; the
/// replaced files disappear once the scan is dropped.
#[test]
fn scans_survive_concurrent_compaction_and_release_files_after() {
    let storage = Arc::new(MemStorage::new());
    let e = Engine::open(storage.clone(), opts(), clock()).unwrap();
    let v = e.clone_version(ROOT_VERSION).unwrap();
    for round in 0..3 {
        for i in 0..100 {
            put(&e, v, &format!("k{i:03}"), round, &format!("r{round}"));
        }
        e.flush().unwrap();
    }
    let arrays_before = storage
        .list()
        .unwrap()
        .iter()
        .filter(|n| n.ends_with(".arr"))
        .count();
    let mut scan = e
        .scan(v, Bound::Unbounded, Bound::Unbounded, false)
        .unwrap();
    let first = scan.next().unwrap().unwrap();
    e.compact().unwrap();
    let rest: Vec<_> = scan.by_ref().map(|r| r.unwrap()).collect();
    assert_eq!(first.0, b"k000".to_vec());
    assert_eq!(rest.len(), 99);
    assert!(rest
        .iter()
        .all(|(_, c)| c.value == CellValue::Live(b"r2".to_vec())));
    let held = storage
        .list()
        .unwrap()
        .iter()
        .filter(|n| n.ends_with(".arr"))
        .count();
    assert!(
        held >= arrays_before.min(2),
        "inputs still held by the scan"
    );
    drop(scan);
    assert_eq!(
        storage
            .list()
            .unwrap()
            .iter()
            .filter(|n| n.ends_with(".arr"))
            .count(),
        1
    );
}

/// Periodic mode acknowledges at once; records are in the OS before the ack (a process
/// kill loses nothing) and a clean close makes them durable.
#[test]
fn periodic_mode_survives_process_kill_and_clean_close() {
    let options = Options {
        sync: strata_engine::SyncMode::Periodic {
            interval_ms: 3_600_000,
        },
        ..opts()
    };
    let storage = Arc::new(CrashStorage::new());
    let e = Engine::open(storage.clone(), options.clone(), clock()).unwrap();
    let v = e.clone_version(ROOT_VERSION).unwrap();
    for i in 0..100 {
        put(&e, v, &format!("k{i:03}"), i, "p");
    }
    let killed = storage.crash(CrashMode::KeepAll);
    drop(e);
    let e = Engine::open(killed.clone(), options.clone(), clock()).unwrap();
    assert_eq!(
        scan_keys(&e, v, Bound::Unbounded, Bound::Unbounded, false).len(),
        100
    );
    put(&e, v, "after", 1, "x");
    e.close().unwrap();
    let e = Engine::open(killed.crash(CrashMode::DropUnsynced), options, clock()).unwrap();
    assert_eq!(value(&e, v, "after").as_deref(), Some("x"));
}

/// Injected I/O errors surface as errors (never panics), and reopening the surviving image
/// still serves every acknowledged write.
#[test]
fn io_errors_are_reported_and_acknowledged_writes_survive() {
    for budget in [5u64, 20, 60, 150, 400] {
        let storage = Arc::new(CrashStorage::new());
        let e = Engine::open(storage.clone(), opts(), clock()).unwrap();
        let v = e.clone_version(ROOT_VERSION).unwrap();
        storage.fail_after(budget);
        let mut acked = Vec::new();
        for i in 0..300 {
            let key = format!("k{i:03}");
            let m = Mutation {
                version: v,
                key: key.clone().into_bytes(),
                cell: Cell::live(1, b"value".to_vec()),
            };
            match e.write(&[m]) {
                Ok(()) => acked.push(key),
                Err(Error::Io(_) | Error::Poisoned(_)) => {}
                Err(other) => panic!("unexpected error {other:?}"),
            }
        }
        let image = storage.crash(CrashMode::DropUnsynced);
        drop(e);
        let e = Engine::open(image, opts(), clock()).unwrap();
        for key in &acked {
            assert!(
                value(&e, v, key).is_some(),
                "budget {budget}: lost acknowledged {key}"
            );
        }
    }
}

/// Options that make no sense are refused up front.
#[test]
fn invalid_options_are_rejected() {
    let bad = Options {
        density_threshold: 2.0,
        ..opts()
    };
    assert!(matches!(
        Engine::open(Arc::new(MemStorage::new()), bad, clock()),
        Err(Error::InvalidArgument(_))
    ));
    let bad = Options {
        memtable_bytes: 10,
        ..opts()
    };
    assert!(matches!(
        Engine::open(Arc::new(MemStorage::new()), bad, clock()),
        Err(Error::InvalidArgument(_))
    ));
    let e = Engine::open(Arc::new(MemStorage::new()), opts(), clock()).unwrap();
    let v = e.clone_version(ROOT_VERSION).unwrap();
    let huge = Mutation {
        version: v,
        key: vec![0; strata_engine::MAX_KEY_BYTES + 1],
        cell: Cell::live(1, b"x".to_vec()),
    };
    assert!(matches!(e.write(&[huge]), Err(Error::LimitExceeded(_))));
}

/// Writers on separate branches, a thread taking snapshots and clones, readers scanning
/// and a compaction, all at once with background flushes and merges: no deadlock, no
/// error, and every branch ends with exactly its own writes.
#[test]
fn concurrent_version_operations_and_merges() {
    let options = Options {
        background_threads: true,
        memtable_bytes: 16 << 10,
        ..opts()
    };
    let e = Arc::new(Engine::open(Arc::new(MemStorage::new()), options, clock()).unwrap());
    let base = e.clone_version(ROOT_VERSION).unwrap();
    put(&e, base, "shared", 1, "base");
    let _ = e.snapshot(base).unwrap();
    let branches: Vec<VersionId> = (0..3).map(|_| e.clone_version(base).unwrap()).collect();
    let writers: Vec<_> = branches
        .iter()
        .enumerate()
        .map(|(b, &v)| {
            let e = e.clone();
            std::thread::spawn(move || {
                let mut head = v;
                for i in 0..400 {
                    put(
                        &e,
                        head,
                        &format!("b{b}-{:03}", i % 100),
                        i,
                        &format!("{i}"),
                    );
                    if i % 97 == 0 {
                        head = e.snapshot(head).unwrap(); // freeze the branch, keep writing in the child
                    }
                }
                head
            })
        })
        .collect();
    let churn = {
        let e = e.clone();
        std::thread::spawn(move || {
            for _ in 0..20 {
                let c = e.clone_version(base).unwrap();
                put(&e, c, "scratch", 1, "x");
                e.delete_version(c).unwrap();
                let n = e
                    .scan(base, Bound::Unbounded, Bound::Unbounded, true)
                    .unwrap()
                    .count();
                assert_eq!(n, 1);
            }
            e.compact().unwrap();
        })
    };
    let heads: Vec<VersionId> = writers.into_iter().map(|w| w.join().unwrap()).collect();
    churn.join().unwrap();
    for (b, &head) in heads.iter().enumerate() {
        let keys = scan_keys(&e, head, Bound::Unbounded, Bound::Unbounded, false);
        assert_eq!(
            keys.len(),
            101,
            "branch {b}: its 100 keys plus the shared one"
        );
        assert!(keys
            .iter()
            .all(|k| k == "shared" || k.starts_with(&format!("b{b}-"))));
        assert_eq!(
            value(&e, head, &format!("b{b}-099")).as_deref(),
            Some("399")
        );
        assert_eq!(e.writable_head(branches[b]).unwrap(), head);
    }
}

/// Story: the Periodic-mode syncer used to wait a full interval before looking at the
/// shutdown flag, so closing an engine right after opening it stalled for `interval_ms`
/// (an hour in some tests). Close must return promptly whatever the interval.
#[test]
fn close_right_after_open_does_not_wait_for_the_sync_interval() {
    let options = Options {
        sync: strata_engine::SyncMode::Periodic {
            interval_ms: 3_600_000,
        },
        ..opts()
    };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for _ in 0..5 {
            let e = Engine::open(Arc::new(MemStorage::new()), options.clone(), clock()).unwrap();
            e.close().unwrap();
        }
        let _ = tx.send(());
    });
    assert!(
        rx.recv_timeout(std::time::Duration::from_secs(20)).is_ok(),
        "close stalled"
    );
}

/// A cleared snapshot in the middle of a chain (deleted, with a live child) keeps entries
/// only where the child still reads them: rows the child overwrote go at the next merge,
/// rows it did not overwrite stay. This is the space `nodetool clearsnapshot` returns.
#[test]
fn merges_drop_a_deleted_versions_entries_its_live_descendants_overwrote() {
    let e = Engine::open(Arc::new(MemStorage::new()), opts(), clock()).unwrap();
    let table = e.clone_version(ROOT_VERSION).unwrap();
    for i in 0..100 {
        put(&e, table, &format!("k{i:03}"), 1, "old");
    }
    let head = e.snapshot(table).unwrap();
    for i in 0..60 {
        put(&e, head, &format!("k{i:03}"), 2, "new");
    }
    e.compact().unwrap();
    assert_eq!(e.stats().array_entries, 160);
    e.delete_version(table).unwrap();
    e.compact().unwrap();
    assert_eq!(
        e.stats().array_entries,
        100,
        "the 60 overwritten rows of the deleted version are gone"
    );
    assert_eq!(value(&e, head, "k000").as_deref(), Some("new"));
    assert_eq!(value(&e, head, "k099").as_deref(), Some("old"));
    assert_eq!(
        scan_keys(&e, head, Bound::Unbounded, Bound::Unbounded, false).len(),
        100
    );
}

#[test]
fn listener_hears_each_flush_and_merge_with_sizes() {
    let events = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = events.clone();
    let options = Options {
        listener: Some(strata_engine::Listener(Arc::new(
            move |e: &strata_engine::Event| sink.lock().unwrap().push(e.clone()),
        ))),
        ..opts()
    };
    let e = Engine::open(Arc::new(MemStorage::new()), options, clock()).unwrap();
    let v = e.clone_version(ROOT_VERSION).unwrap();
    for round in 0..2 {
        for i in 0..50 {
            put(&e, v, &format!("k{i}"), round * 100 + i, "value");
        }
        e.flush().unwrap();
    }
    e.compact().unwrap();
    let events = events.lock().unwrap();
    let flushes: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            strata_engine::Event::Flushed { bytes, entries, .. } => Some((*bytes, *entries)),
            _ => None,
        })
        .collect();
    assert_eq!(flushes.len(), 2, "{events:?}");
    assert!(
        flushes
            .iter()
            .all(|&(bytes, entries)| bytes > 0 && entries == 50),
        "{flushes:?}"
    );
    assert!(
        events.iter().any(|e| matches!(e,
            strata_engine::Event::Merged { inputs: 2, input_bytes, outputs: 1, output_bytes, .. }
                if *input_bytes > 0 && *output_bytes > 0)),
        "{events:?}"
    );
}

/// Storage whose array reads wait at a gate while it is closed, so a test can look at a
/// merge in the middle of its input.
#[derive(Debug)]
struct GatedStorage {
    inner: MemStorage,
    /// (closed, array reads waiting); reads of `.arr` files block while closed.
    gate: std::sync::Mutex<(bool, usize)>,
    changed: std::sync::Condvar,
}

impl GatedStorage {
    fn set_closed(&self, closed: bool) {
        self.gate.lock().unwrap().0 = closed;
        self.changed.notify_all();
    }

    /// Waits until a read is held at the gate.
    fn wait_for_reader(&self) {
        let mut gate = self.gate.lock().unwrap();
        while gate.1 == 0 {
            gate = self.changed.wait(gate).unwrap();
        }
    }
}

impl Storage for GatedStorage {
    fn create(&self, name: &str) -> std::io::Result<()> {
        self.inner.create(name)
    }
    fn append(&self, name: &str, data: &[u8]) -> std::io::Result<()> {
        self.inner.append(name, data)
    }
    fn write_at(&self, name: &str, offset: u64, data: &[u8]) -> std::io::Result<()> {
        self.inner.write_at(name, offset, data)
    }
    fn read_at(&self, name: &str, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        if name.ends_with(".arr") {
            let mut gate = self.gate.lock().unwrap();
            if gate.0 {
                gate.1 += 1;
                self.changed.notify_all();
                while gate.0 {
                    gate = self.changed.wait(gate).unwrap();
                }
                gate.1 -= 1;
            }
        }
        self.inner.read_at(name, offset, buf)
    }
    fn len(&self, name: &str) -> std::io::Result<u64> {
        self.inner.len(name)
    }
    fn truncate(&self, name: &str, len: u64) -> std::io::Result<()> {
        self.inner.truncate(name, len)
    }
    fn sync(&self, name: &str) -> std::io::Result<()> {
        self.inner.sync(name)
    }
    fn rename(&self, from: &str, to: &str) -> std::io::Result<()> {
        self.inner.rename(from, to)
    }
    fn remove(&self, name: &str) -> std::io::Result<()> {
        self.inner.remove(name)
    }
    fn list(&self) -> std::io::Result<Vec<String>> {
        self.inner.list()
    }
    fn sync_dir(&self) -> std::io::Result<()> {
        self.inner.sync_dir()
    }
}

#[test]
fn a_running_merge_reports_its_progress_by_blocks_read() {
    let storage = Arc::new(GatedStorage {
        inner: MemStorage::new(),
        gate: std::sync::Mutex::new((false, 0)),
        changed: std::sync::Condvar::new(),
    });
    let e = Arc::new(Engine::open(storage.clone(), opts(), clock()).unwrap());
    let v = e.clone_version(ROOT_VERSION).unwrap();
    for round in 0..3 {
        for i in 0..200 {
            put(&e, v, &format!("k{i:05}"), round * 1000 + i, "some value");
        }
        e.flush().unwrap();
    }
    assert!(e.running_merges().is_empty(), "no merge before compact");
    let before = e.stats().array_bytes;
    storage.set_closed(true);
    let compacting = {
        let e = e.clone();
        std::thread::spawn(move || e.compact())
    };
    storage.wait_for_reader();
    let running = e.running_merges();
    assert_eq!(running.len(), 1, "{running:?}");
    let first = running[0].clone();
    assert!(first.inputs >= 1, "{first:?}");
    assert!(
        first.bytes_total > 0 && first.bytes_total <= before,
        "{first:?} of {before}"
    );
    assert!(first.bytes_done < first.bytes_total, "{first:?}");
    storage.set_closed(false);
    compacting.join().unwrap().unwrap();
    assert!(e.running_merges().is_empty(), "the merge unregistered");
    assert_eq!(value(&e, v, "k00007").as_deref(), Some("some value"));
}

/// Prefix = everything up to and including the first `/`.
fn through_slash(key: &[u8]) -> Option<usize> {
    key.iter().position(|&b| b == b'/').map(|i| i + 1)
}

#[test]
fn merges_report_prefixes_written_past_the_large_prefix_threshold() {
    let events = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = events.clone();
    let options = Options {
        prefix_extractor: Some(strata_engine::PrefixExtractor {
            name: "slash",
            prefix_len: through_slash,
        }),
        large_prefix_bytes: 3_000,
        listener: Some(strata_engine::Listener(Arc::new(move |e| {
            if let strata_engine::Event::LargePrefix { .. } = e {
                seen.lock().unwrap().push(e.clone());
            }
        }))),
        ..opts()
    };
    let e = Engine::open(Arc::new(MemStorage::new()), options, clock()).unwrap();
    let big = e.clone_version(ROOT_VERSION).unwrap();
    let other = e.clone_version(ROOT_VERSION).unwrap();
    let value = "forty bytes of value, forty bytes of val";
    for i in 0..60 {
        put(&e, big, &format!("big/{i:03}"), i, value);
        put(&e, other, &format!("big/{i:03}"), 100 + i, "x");
    }
    for i in 0..5 {
        put(&e, big, &format!("small/{i}"), i, value);
    }
    e.compact().unwrap();
    let events = events.lock().unwrap().clone();
    assert!(!events.is_empty(), "no event");
    for event in &events {
        let strata_engine::Event::LargePrefix {
            version,
            prefix,
            bytes,
        } = event
        else {
            unreachable!()
        };
        assert_eq!(
            (*version, prefix.as_slice()),
            (big, &b"big/"[..]),
            "only the large prefix, and only at the version that wrote it: {event:?}"
        );
        assert!(*bytes >= 3_000, "{event:?}");
    }
}

/// Kinds told to `record_background_thread` (only the test below sets that hook).
static STARTED_THREADS: std::sync::Mutex<Vec<strata_engine::BackgroundThread>> =
    std::sync::Mutex::new(Vec::new());

fn record_background_thread(thread: strata_engine::BackgroundThread) {
    STARTED_THREADS.lock().expect("threads").push(thread);
}

/// `on_background_thread` runs first on each background thread, naming it, so the server
/// can set that thread's scheduling priority. Method: open an engine with background
/// threads and a recording hook; both threads report themselves, once each.
#[test]
fn each_background_thread_reports_its_start() {
    use strata_engine::BackgroundThread::{Flush, Merge};
    let options = Options {
        background_threads: true,
        on_background_thread: Some(record_background_thread),
        ..Options::default()
    };
    let engine = Engine::open(Arc::new(MemStorage::new()), options, clock()).expect("open");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while STARTED_THREADS.lock().expect("threads").len() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "threads did not report"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    drop(engine);
    let mut started = STARTED_THREADS.lock().expect("threads").clone();
    started.sort_by_key(|t| *t == Merge);
    assert_eq!(started, vec![Flush, Merge]);
}
