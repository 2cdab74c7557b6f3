//! On-disk format fixtures: `tests/fixtures/v<N>/` holds a manifest, an array and a WAL
//! segment written by array format version N (v1: fixed-width entries; v2: compact entries,
//! WAL records flagged compact). Each test opens a copy and checks every value, so a change
//! that breaks reading existing data fails here. `STRATA_WRITE_FIXTURES=1` rewrites the
//! current format's fixture (only for a deliberate format change, with a new directory).

use std::ops::Bound;
use std::path::PathBuf;
use std::sync::Arc;

use strata_engine::{
    Cell, CellValue, Engine, ManualClock, MemStorage, Mutation, Options, Storage, SyncMode,
    ROOT_VERSION,
};

/// The fixture directory the current format writes.
const CURRENT: &str = "v2";

fn fixture_dir(format: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(format)
}

/// Periodic sync: batch mode pads the WAL and manifest with zeros ahead of their records,
/// which would only bloat the checked-in files.
fn options() -> Options {
    Options {
        background_threads: false,
        sync: SyncMode::Periodic { interval_ms: 1_000 },
        ..Options::default()
    }
}

fn write_fixture() {
    let dir = fixture_dir(CURRENT);
    let _ = std::fs::remove_dir_all(&dir);
    let e = Engine::open_dir(&dir, options(), Arc::new(ManualClock::new(1_000))).unwrap();
    let v1 = e.clone_version(ROOT_VERSION).unwrap();
    let put = |v, k: &str, cell: Cell| {
        e.write(&[Mutation {
            version: v,
            key: k.as_bytes().to_vec(),
            cell,
        }])
        .unwrap()
    };
    put(v1, "alpha", Cell::live(10, b"a1".to_vec()));
    put(v1, "beta", Cell::live(10, b"b1".to_vec()));
    put(
        v1,
        "ttl",
        Cell {
            timestamp: 10,
            ttl_secs: 60,
            expires_at_secs: 1_060,
            value: CellValue::Live(b"t".to_vec()),
        },
    );
    let v2 = e.snapshot(v1).unwrap();
    put(v2, "beta", Cell::tombstone(20, 1_000));
    e.flush().unwrap();
    put(v2, "gamma", Cell::live(30, b"g2".to_vec()));
    e.close().unwrap();
    let _ = std::fs::remove_file(dir.join(strata_engine::storage::LOCK_FILE));
}

/// Copies the fixture into memory so the test never modifies the checked-in files.
fn load_fixture(format: &str) -> Arc<MemStorage> {
    let storage = Arc::new(MemStorage::new());
    for entry in std::fs::read_dir(fixture_dir(format)).expect("fixture directory") {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        storage.create(&name).unwrap();
        storage
            .append(&name, &std::fs::read(entry.path()).unwrap())
            .unwrap();
    }
    storage
}

#[test]
fn format_v1_fixture_still_reads() {
    check_fixture("v1");
}

#[test]
fn format_v2_fixture_still_reads() {
    if std::env::var_os("STRATA_WRITE_FIXTURES").is_some() {
        write_fixture();
    }
    check_fixture("v2");
}

fn check_fixture(format: &str) {
    let e = Engine::open(
        load_fixture(format),
        options(),
        Arc::new(ManualClock::new(2_000)),
    )
    .unwrap();
    let (v1, v2) = (1, 2);
    let get = |v, k: &str| e.get(v, k.as_bytes()).unwrap();
    assert_eq!(get(v1, "alpha"), Some(Cell::live(10, b"a1".to_vec())));
    assert_eq!(get(v1, "beta"), Some(Cell::live(10, b"b1".to_vec())));
    assert_eq!(get(v2, "beta"), Some(Cell::tombstone(20, 1_000)));
    assert_eq!(
        get(v2, "gamma"),
        Some(Cell::live(30, b"g2".to_vec())),
        "replayed from the WAL segment"
    );
    assert_eq!(get(v1, "gamma"), None);
    assert_eq!(get(v2, "ttl").map(|c| c.expires_at_secs), Some(1_060));
    assert_eq!(e.writable_head(v1).unwrap(), v2);
    let keys: Vec<Vec<u8>> = e
        .scan(v2, Bound::Unbounded, Bound::Unbounded, false)
        .unwrap()
        .map(|r| r.unwrap().0)
        .collect();
    assert_eq!(
        keys,
        vec![
            b"alpha".to_vec(),
            b"beta".to_vec(),
            b"gamma".to_vec(),
            b"ttl".to_vec()
        ]
    );
}
