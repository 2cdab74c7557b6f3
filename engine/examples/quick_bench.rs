//! A quick single-process throughput check of the engine (random inserts, point reads,
//! short scans). Not a comparison: see `engine-bench/` for RocksDB/LMDB numbers.
//!
//! `cargo run --release -p strata-engine --example quick_bench -- [entries] [dir] [read multiplier]`

use std::ops::Bound;
use std::sync::Arc;
use std::time::Instant;

use strata_engine::{Cell, Engine, Mutation, Options, SyncMode, SystemClock, ROOT_VERSION};

/// xorshift64*: deterministic keys without a dependency.
fn next(state: &mut u64) -> u64 {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    state.wrapping_mul(0x2545_f491_4f6c_dd1d)
}

/// CPU seconds used by this process so far (all threads), from /proc: the machine is shared,
/// so CPU time says more about the engine's cost than wall time.
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

fn report(what: &str, n: u64, wall: Instant, cpu0: f64) {
    let secs = wall.elapsed().as_secs_f64();
    let cpu = cpu_secs() - cpu0;
    println!("{what}: {:.0} ops/s wall, {:.0} ops per CPU-second ({n} ops, {secs:.2}s wall, {cpu:.2}s CPU)", n as f64 / secs, n as f64 / cpu.max(0.01));
}

fn key(n: u64) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&n.to_be_bytes());
    k[8..].copy_from_slice(&n.wrapping_mul(31).to_le_bytes());
    k
}

fn main() -> Result<(), strata_engine::Error> {
    let args: Vec<String> = std::env::args().collect();
    let entries: u64 = args
        .get(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let dir = args
        .get(2)
        .cloned()
        .unwrap_or_else(|| format!("/tmp/strata-quick-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let options = Options {
        sync: SyncMode::Periodic { interval_ms: 1000 },
        ..Options::default()
    };
    let engine = Engine::open_dir(&dir, options, Arc::new(SystemClock))?;
    let v = engine.clone_version(ROOT_VERSION)?;
    let value = vec![7u8; 100];
    let mut rng = 0x1234_5678_9abc_def1u64;
    let (start, cpu0) = (Instant::now(), cpu_secs());
    for i in 0..entries {
        let n = next(&mut rng) % (entries * 4);
        engine.write(&[Mutation {
            version: v,
            key: key(n).to_vec(),
            cell: Cell::live(i as i64, value.clone()),
        }])?;
    }
    engine.flush()?;
    report("random inserts (incl. flush)", entries, start, cpu0);
    std::thread::sleep(std::time::Duration::from_secs(2));
    println!("{:?}", engine.stats().levels);
    let mut rng = 0x1234_5678_9abc_def1u64;
    let reads = entries.min(300_000) * args.get(3).and_then(|s| s.parse().ok()).unwrap_or(1);
    let (start, cpu0) = (Instant::now(), cpu_secs());
    let mut found = 0;
    for _ in 0..reads {
        let n = next(&mut rng) % (entries * 4);
        found += usize::from(engine.get(v, &key(n))?.is_some());
    }
    report(
        &format!("point reads, hits ({found} found)"),
        reads,
        start,
        cpu0,
    );
    let (start, cpu0) = (Instant::now(), cpu_secs());
    let mut missing = 0;
    for i in 0..reads {
        missing += usize::from(engine.get(v, &key(entries * 8 + i))?.is_none());
    }
    report(
        &format!("point reads, misses ({missing} missing)"),
        reads,
        start,
        cpu0,
    );
    let (start, cpu0) = (Instant::now(), cpu_secs());
    let scans = 10_000u64;
    let mut rows = 0;
    for i in 0..scans {
        let from = key(next(&mut rng) % (entries * 4)).to_vec();
        rows += engine
            .scan(v, Bound::Included(from), Bound::Unbounded, i % 2 == 1)?
            .take(50)
            .count();
    }
    report(&format!("scans of 50 ({rows} rows)"), scans, start, cpu0);
    engine.close()?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
