//! Strata engine vs RocksDB vs LMDB, in one run on one machine.
//!
//! The parent process runs every (engine, scenario) pair in its own child process (the binary
//! re-executes itself with `child ENGINE SCENARIO`), so each child's peak RSS (`VmHWM`) belongs
//! to one engine alone, then prints a markdown report with ratios against RocksDB.
//!
//! Durability is the same on every side: a log (or, for LMDB, the data file itself) is written
//! on every acknowledged write, but nothing is fsynced per write.
//! * Strata: `SyncMode::Periodic { interval_ms: 1000 }` (WAL appended per write, fsync each second).
//! * RocksDB: WAL on, `WriteOptions::set_sync(false)` (WAL appended per write, no fsync).
//! * LMDB: `MDB_NOSYNC` (each write is its own committed transaction, no fsync; LMDB has no WAL,
//!   a commit writes the dirty pages and the meta page with `pwrite`).
//! Compression is off everywhere (Strata has none); RocksDB and Strata get the same block cache
//! (Strata's default, 256 MiB), memtable (64 MiB) and Bloom filter (10 bits per key).
//!
//! Strata reads its arrays through read-only maps (`disk_access_mode: mmap`, its default);
//! engine `strata-standard` is Strata with `pread` + block cache instead, for A/Bs.
//!
//! Usage: `engine-bench [--quick | --n N] [--dir DIR] [--engines strata,strata-standard,rocksdb,lmdb]
//! [--scenarios main,snapshots,clones-split,noclones-split,clones-nosplit,noclones-nosplit]`.

mod engines;
mod metrics;
mod scenarios;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context, Result};

use scenarios::Scenario;

/// Command-line settings shared by parent and children.
#[derive(Clone, Debug)]
pub struct Settings {
    pub n: u64,
    pub dir: PathBuf,
    pub engines: Vec<String>,
    /// Scenario names to run (all if empty).
    pub scenarios: Vec<String>,
}

fn parse_settings(args: &[String]) -> Result<Settings> {
    let mut settings = Settings {
        n: 10_000_000,
        dir: std::env::temp_dir().join("strata-engine-bench"),
        engines: vec!["strata".into(), "rocksdb".into(), "lmdb".into()],
        scenarios: Vec::new(),
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--quick" => settings.n = 1_000_000,
            "--n" => settings.n = it.next().context("--n needs a value")?.parse()?,
            "--dir" => settings.dir = PathBuf::from(it.next().context("--dir needs a value")?),
            "--engines" => {
                settings.engines = it.next().context("--engines needs a value")?.split(',').map(String::from).collect()
            }
            "--scenarios" => {
                settings.scenarios = it.next().context("--scenarios needs a value")?.split(',').map(String::from).collect()
            }
            other => bail!("unknown argument {other:?}"),
        }
    }
    Ok(settings)
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("child") {
        let engine = args.get(1).context("child needs an engine")?.clone();
        let scenario = Scenario::parse(args.get(2).context("child needs a scenario")?)?;
        let settings = parse_settings(args.get(3..).unwrap_or_default())?;
        return scenarios::run_child(&engine, scenario, &settings);
    }
    let settings = parse_settings(&args)?;
    run_parent(&settings, &args)
}

/// One child's results: metric name -> value.
type Results = BTreeMap<String, f64>;

fn run_parent(settings: &Settings, args: &[String]) -> Result<()> {
    let exe = std::env::current_exe()?;
    let mut all: BTreeMap<(String, Scenario), Results> = BTreeMap::new();
    for scenario in Scenario::ALL {
        for engine in &settings.engines {
            let chosen = settings.scenarios.is_empty() || settings.scenarios.iter().any(|s| s == scenario.name());
            if !chosen || !scenario.applies_to(engine) {
                continue;
            }
            eprintln!("== {engine} / {scenario:?} (n = {})", settings.n);
            let output = Command::new(&exe)
                .arg("child")
                .arg(engine)
                .arg(scenario.name())
                .args(args)
                .output()
                .with_context(|| format!("running child {engine} {scenario:?}"))?;
            eprint!("{}", String::from_utf8_lossy(&output.stderr));
            if !output.status.success() {
                // Keep going: one engine failing a scenario should not hide the other figures.
                eprintln!("!! child {engine} {scenario:?} failed: {}", output.status);
                continue;
            }
            let results = parse_results(&String::from_utf8_lossy(&output.stdout));
            for (metric, value) in &results {
                eprintln!("   {metric} = {value:.3}");
            }
            all.insert((engine.clone(), scenario), results);
        }
    }
    print!("{}", metrics::report(settings, &all));
    Ok(())
}

fn parse_results(stdout: &str) -> Results {
    stdout
        .lines()
        .filter_map(|line| line.strip_prefix("RESULT "))
        .filter_map(|rest| {
            let (name, value) = rest.split_once('=')?;
            Some((name.trim().to_string(), value.trim().parse().ok()?))
        })
        .collect()
}
