//! The measured workloads. Each runs in a child process and prints `RESULT name=value` lines.

use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Result};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::engines::{self, strata_options, KvEngine, StrataKv};
use crate::metrics::{cpu_seconds, dir_bytes, peak_rss_mb, rss_anon_file_mb, thread_cpu_ns, thread_cpu_seconds, IoCounters};
use crate::Settings;

pub const KEY_BYTES: usize = 16;
pub const VALUE_BYTES: usize = 100;
/// Snapshots timed at each database size.
const TIMED_SNAPSHOTS: u32 = 20;
/// Snapshots alive in the space-amplification measurement.
const LIVE_SNAPSHOTS: u64 = 100;
const CLONES: u64 = 100;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scenario {
    /// Load, point reads, 100-key scans, overwrites without snapshots (all engines).
    Main,
    /// Snapshot creation time at n/10 and n, then overwrites with 100 snapshots alive.
    Snapshots,
    /// Strata only: 100 writable clones sharing the writes, then 1,000-key scans at one clone.
    Clones { version_split: bool },
    /// Strata only: the same writes into one version (the baseline of `Clones`).
    NoClones { version_split: bool },
}

impl Scenario {
    pub const ALL: [Scenario; 6] = [
        Scenario::Main,
        Scenario::Snapshots,
        Scenario::NoClones { version_split: true },
        Scenario::Clones { version_split: true },
        Scenario::NoClones { version_split: false },
        Scenario::Clones { version_split: false },
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::Main => "main",
            Scenario::Snapshots => "snapshots",
            Scenario::Clones { version_split: true } => "clones-split",
            Scenario::Clones { version_split: false } => "clones-nosplit",
            Scenario::NoClones { version_split: true } => "noclones-split",
            Scenario::NoClones { version_split: false } => "noclones-nosplit",
        }
    }

    pub fn parse(name: &str) -> Result<Scenario> {
        match Scenario::ALL.into_iter().find(|s| s.name() == name) {
            Some(s) => Ok(s),
            None => bail!("unknown scenario {name:?}"),
        }
    }

    pub fn applies_to(self, engine: &str) -> bool {
        matches!(self, Scenario::Main | Scenario::Snapshots) || engine == "strata"
    }
}

/// splitmix64: keys and values are a pure function of their index, so nothing is stored.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

pub fn key(i: u64) -> [u8; KEY_BYTES] {
    let mut k = [0u8; KEY_BYTES];
    k[..8].copy_from_slice(&mix(i).to_be_bytes());
    k[8..].copy_from_slice(&mix(i ^ 0x5555_0000_aaaa).to_be_bytes());
    k
}

pub fn value(i: u64, round: u64) -> [u8; VALUE_BYTES] {
    let mut v = [0u8; VALUE_BYTES];
    for (j, chunk) in v.chunks_mut(8).enumerate() {
        let word = mix(i.wrapping_mul(31).wrapping_add(round) ^ ((j as u64) << 48)).to_le_bytes();
        chunk.copy_from_slice(&word[..chunk.len()]);
    }
    v
}

fn result(name: &str, value: f64) {
    println!("RESULT {name}={value}");
}

/// Times `ops` operations run by `f`, reporting both ops per wall-clock second (`name`) and ops
/// per CPU second of the whole process (`name_cpu`: background threads included; on a shared
/// machine this is the steadier figure, but it does not see time spent waiting for the disk).
/// `name_thread_cpu` divides by the calling thread's CPU time alone (the operations' own
/// work, nanosecond-precise).
fn timed(name: &str, ops: u64, f: impl FnOnce() -> Result<()>) -> Result<()> {
    let cpu_before = cpu_seconds()?;
    let thread_before = thread_cpu_ns()?;
    let start = Instant::now();
    f()?;
    let wall = start.elapsed().as_secs_f64();
    let cpu = (cpu_seconds()? - cpu_before).max(0.01);
    let thread_cpu = (thread_cpu_ns()?.saturating_sub(thread_before)).max(1) as f64 / 1e9;
    result(name, ops as f64 / wall);
    result(&format!("{name}_cpu"), ops as f64 / cpu);
    result(&format!("{name}_thread_cpu"), ops as f64 / thread_cpu);
    Ok(())
}

fn user_bytes(keys: u64) -> f64 {
    (keys * (KEY_BYTES + VALUE_BYTES) as u64) as f64
}

pub fn run_child(engine: &str, scenario: Scenario, settings: &Settings) -> Result<()> {
    let dir = settings.dir.join(format!("{engine}-{}", scenario.name()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let outcome = match scenario {
        Scenario::Main => main_scenario(engine, &dir, settings.n),
        Scenario::Snapshots => snapshot_scenario(engine, &dir, settings.n),
        Scenario::Clones { version_split } => clone_scenario(&dir, settings.n, version_split, true),
        Scenario::NoClones { version_split } => clone_scenario(&dir, settings.n, version_split, false),
    };
    result("peak_rss_mb", peak_rss_mb()?);
    // The machine is shared: the 1-minute load average says how contended this child was.
    result("loadavg_1m", crate::metrics::load_average()?);
    let _ = std::fs::remove_dir_all(&dir);
    outcome
}

/// LMDB needs its map size up front; generous and sparse (held snapshots pin every page
/// copied after them, so the snapshot scenario grows the file by several GiB).
fn lmdb_map_bytes(n: u64) -> u64 {
    (n * 4_000).max(16 << 30)
}

fn load(kv: &mut dyn KvEngine, range: std::ops::Range<u64>) -> Result<()> {
    for i in range {
        kv.put(&key(i), &value(i, 0))?;
    }
    Ok(())
}

/// Overwrites `rounds` × `per_round` random loaded keys, calling `between` before each round.
fn overwrite_rounds(kv: &mut dyn KvEngine, n: u64, rounds: u64, per_round: u64, mut between: impl FnMut(&mut dyn KvEngine) -> Result<()>) -> Result<()> {
    let mut rng = SmallRng::seed_from_u64(7);
    for round in 1..=rounds {
        between(kv)?;
        for _ in 0..per_round {
            let i = rng.gen_range(0..n);
            kv.put(&key(i), &value(i, round))?;
        }
    }
    Ok(())
}

fn main_scenario(engine: &str, dir: &Path, n: u64) -> Result<()> {
    let mut kv = engines::open(engine, dir, lmdb_map_bytes(n))?;
    let io_before = IoCounters::read()?;
    timed("insert_ops_s", n, || load(kv.as_mut(), 0..n))?;
    kv.flush()?;
    let io = IoCounters::read()?.since(&io_before);
    result("write_amp_io", io.write_bytes as f64 / user_bytes(n));
    result("write_amp_wchar", io.wchar as f64 / user_bytes(n));
    result("space_amp_load", dir_bytes(dir)? as f64 / user_bytes(n));

    let mut rng = SmallRng::seed_from_u64(42);
    let reads = (n / 10).clamp(100_000, 1_000_000);
    timed("read_ops_s", reads, || {
        for _ in 0..reads {
            if !kv.get(&key(rng.gen_range(0..n)))? {
                bail!("{engine}: a loaded key is missing");
            }
        }
        Ok(())
    })?;

    let scans = (n / 100).clamp(10_000, 100_000);
    timed("scan100_ops_s", scans, || {
        for _ in 0..scans {
            kv.scan(&key(rng.gen_range(0..n)), 100)?;
        }
        Ok(())
    })?;
    // Resident memory after the reads, split: anonymous (memtables, block cache) and file
    // pages mapped into the process (LMDB's file, Strata's arrays in `DiskAccessMode::Mmap`).
    let (anon, file) = rss_anon_file_mb()?;
    result("rss_anon_after_reads_mb", anon);
    result("rss_file_after_reads_mb", file);

    overwrite_rounds(kv.as_mut(), n, LIVE_SNAPSHOTS, n / 1000, |_| Ok(()))?;
    kv.flush()?;
    kv.compact()?;
    result("space_amp_0snap", dir_bytes(dir)? as f64 / user_bytes(n));
    Ok(())
}

/// Mean, median and max microseconds of `TIMED_SNAPSHOTS` snapshot creations.
fn time_snapshots(kv: &mut dyn KvEngine, label: &str) -> Result<()> {
    let mut times_us: Vec<f64> = Vec::new();
    for _ in 0..TIMED_SNAPSHOTS {
        let start = Instant::now();
        kv.snapshot()?;
        times_us.push(start.elapsed().as_secs_f64() * 1e6);
    }
    times_us.sort_by(f64::total_cmp);
    let mean = times_us.iter().sum::<f64>() / times_us.len() as f64;
    result(&format!("snapshot_us_mean_{label}"), mean);
    result(&format!("snapshot_us_median_{label}"), times_us[times_us.len() / 2]);
    result(&format!("snapshot_us_max_{label}"), times_us[times_us.len() - 1]);
    Ok(())
}

fn snapshot_scenario(engine: &str, dir: &Path, n: u64) -> Result<()> {
    let mut kv = engines::open(engine, dir, lmdb_map_bytes(n))?;
    load(kv.as_mut(), 0..n / 10)?;
    time_snapshots(kv.as_mut(), "small")?;
    load(kv.as_mut(), n / 10..n)?;
    time_snapshots(kv.as_mut(), "large")?;
    overwrite_rounds(kv.as_mut(), n, LIVE_SNAPSHOTS, n / 1000, |kv| kv.snapshot())?;
    kv.flush()?;
    kv.compact()?;
    result("space_amp_100snap", dir_bytes(dir)? as f64 / user_bytes(n));
    Ok(())
}

/// Base of n/4 keys in a table, frozen; then n/4 new keys written either round-robin into 100
/// clones of the frozen base (1% each) or all into the base's writable child.
fn clone_scenario(dir: &Path, n: u64, version_split: bool, with_clones: bool) -> Result<()> {
    let mut kv = StrataKv::open(dir, strata_options(version_split))?;
    let base = n / 4;
    load(&mut kv, 0..base)?;
    let frozen = kv.head;
    kv.snapshot()?;
    let targets: Vec<u32> = if with_clones {
        (0..CLONES).map(|_| kv.engine.clone_version(frozen)).collect::<Result<_, _>>()?
    } else {
        vec![kv.head]
    };
    let writes = n / 4;
    timed("write_ops_s", writes, || {
        for j in 0..writes {
            let i = base + j;
            let target = targets[(j % targets.len() as u64) as usize];
            kv.put_at(target, &key(i), &value(i, 0))?;
        }
        Ok(())
    })?;
    kv.flush()?;
    result("arrays_before_compact", kv.engine.stats().arrays as f64);
    time_scans(&kv, targets[0], base, "scan1000_ms")?;
    kv.compact()?;
    time_scans(&kv, targets[0], base, "scan1000_ms_compacted")?;
    result("arrays", kv.engine.stats().arrays as f64);
    Ok(())
}

/// Mean milliseconds (wall, process CPU and the scanning thread's CPU) of a 1,000-key scan at
/// `version` from 2,000 random base keys, and the arrays each scan read. A first, untimed pass over the same start keys warms the block cache, so the figure
/// compares the work a scan does rather than how cold the page cache happened to be.
fn time_scans(kv: &StrataKv, version: u32, base: u64, name: &str) -> Result<()> {
    // Enough scans that CPU time (10 ms ticks) resolves the mean to a few percent.
    const SCANS: u32 = 2_000;
    let pass = || -> Result<()> {
        let mut rng = SmallRng::seed_from_u64(99);
        for _ in 0..SCANS {
            kv.scan_at(version, &key(rng.gen_range(0..base)), 1000)?;
        }
        Ok(())
    };
    pass()?;
    let cpu_before = cpu_seconds()?;
    let thread_cpu_before = thread_cpu_seconds()?;
    let arrays_before = kv.engine.stats().scan_arrays_read;
    let start = Instant::now();
    pass()?;
    result(name, start.elapsed().as_secs_f64() * 1e3 / f64::from(SCANS));
    result(&format!("{name}_cpu"), (cpu_seconds()? - cpu_before) * 1e3 / f64::from(SCANS));
    result(&format!("{name}_thread_cpu"), (thread_cpu_seconds()? - thread_cpu_before) * 1e3 / f64::from(SCANS));
    result(&format!("{name}_arrays_read"), (kv.engine.stats().scan_arrays_read - arrays_before) as f64 / f64::from(SCANS));
    Ok(())
}
