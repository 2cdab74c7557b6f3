//! Process counters (/proc/self/io, /proc/self/status), directory sizes and the report.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use anyhow::{Context, Result};

use crate::scenarios::Scenario;
use crate::{Results, Settings};

/// Bytes this process (all threads) wrote: `write_bytes` counts bytes sent to the block layer
/// (page-cache writeback included), `wchar` bytes passed to write-like syscalls.
#[derive(Clone, Copy, Debug, Default)]
pub struct IoCounters {
    pub write_bytes: u64,
    pub wchar: u64,
}

impl IoCounters {
    pub fn read() -> Result<IoCounters> {
        let text = std::fs::read_to_string("/proc/self/io").context("reading /proc/self/io")?;
        let field = |name: &str| -> u64 {
            text.lines()
                .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
                .unwrap_or(0)
        };
        Ok(IoCounters { write_bytes: field("write_bytes:"), wchar: field("wchar:") })
    }

    pub fn since(&self, earlier: &IoCounters) -> IoCounters {
        IoCounters {
            write_bytes: self.write_bytes.saturating_sub(earlier.write_bytes),
            wchar: self.wchar.saturating_sub(earlier.wchar),
        }
    }
}

/// Peak resident set size of this process, in MiB.
pub fn peak_rss_mb() -> Result<f64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmHWM in /proc/self/status")?;
    Ok(kb / 1024.0)
}

/// Current resident memory of this process in MiB: anonymous (`RssAnon`) and mapped file
/// pages (`RssFile`, page cache that the kernel can reclaim).
pub fn rss_anon_file_mb() -> Result<(f64, f64)> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let field = |name: &str| -> Result<f64> {
        let kb: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .with_context(|| format!("no {name} in /proc/self/status"))?;
        Ok(kb / 1024.0)
    };
    Ok((field("RssAnon:")?, field("RssFile:")?))
}

/// CPU seconds (user + system, all threads) this process has used so far, from
/// `/proc/self/stat` (clock ticks of 10 ms).
pub fn cpu_seconds() -> Result<f64> {
    stat_cpu_seconds("/proc/self/stat")
}

/// CPU seconds (user + system) of the calling thread alone: a scan's own work, without the
/// background flushes and merges that `cpu_seconds` also counts.
pub fn thread_cpu_seconds() -> Result<f64> {
    stat_cpu_seconds("/proc/thread-self/stat")
}

fn stat_cpu_seconds(path: &str) -> Result<f64> {
    let stat = std::fs::read_to_string(path)?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).context("bad /proc/self/stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| -> Result<f64> { Ok(fields.get(i).context("short /proc/self/stat")?.parse::<f64>()?) };
    Ok((ticks(11)? + ticks(12)?) / 100.0)
}

/// Nanosecond CPU time of the calling thread (`/proc/thread-self/schedstat`, first field):
/// the foreground work of a timed phase alone, without the background merges that
/// `cpu_seconds` also counts, and finer than its 10 ms ticks.
pub fn thread_cpu_ns() -> Result<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat")?;
    text.split_whitespace().next().and_then(|v| v.parse().ok()).context("bad /proc/thread-self/schedstat")
}

/// The 1-minute load average (runnable threads, all processes of the machine).
pub fn load_average() -> Result<f64> {
    let text = std::fs::read_to_string("/proc/loadavg")?;
    text.split_whitespace().next().and_then(|v| v.parse().ok()).context("bad /proc/loadavg")
}

/// Bytes allocated on disk under `dir` (sparse files count what they really use).
pub fn dir_bytes(dir: &Path) -> Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        total += if meta.is_dir() { dir_bytes(&entry.path())? } else { meta.blocks() * 512 };
    }
    Ok(total)
}

type All = BTreeMap<(String, Scenario), Results>;

fn get(all: &All, engine: &str, scenario: Scenario, metric: &str) -> Option<f64> {
    all.get(&(engine.to_string(), scenario))?.get(metric).copied()
}

fn cell(v: Option<f64>) -> String {
    match v {
        Some(v) if v >= 100.0 => format!("{v:.0}"),
        Some(v) => format!("{v:.3}"),
        None => "n/a".into(),
    }
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    Some(a? / b?)
}

/// One comparison row: Strata, RocksDB, LMDB, the ratios against RocksDB and the target check.
struct Row {
    label: &'static str,
    scenario: Scenario,
    metric: &'static str,
    /// Minimum Strata/RocksDB ratio (higher is better) or maximum (lower is better).
    target: Option<Target>,
}

#[derive(Clone, Copy)]
enum Target {
    AtLeast(f64),
    AtMost(f64),
}

impl Target {
    fn describe(self) -> String {
        match self {
            Target::AtLeast(x) => format!(">= {x}x"),
            Target::AtMost(x) => format!("<= {x}x"),
        }
    }
    fn met(self, value: f64) -> bool {
        match self {
            Target::AtLeast(x) => value >= x,
            Target::AtMost(x) => value <= x,
        }
    }
}

fn verdict(target: Option<Target>, value: Option<f64>) -> (String, String) {
    match (target, value) {
        (Some(t), Some(v)) => (t.describe(), if t.met(v) { "yes".into() } else { "**no**".into() }),
        (Some(t), None) => (t.describe(), "n/a".into()),
        _ => ("".into(), "".into()),
    }
}

const ROWS: [Row; 18] = [
    Row { label: "random inserts (ops/s)", scenario: Scenario::Main, metric: "insert_ops_s", target: Some(Target::AtLeast(1.0)) },
    Row { label: "uniform point reads (ops/s)", scenario: Scenario::Main, metric: "read_ops_s", target: Some(Target::AtLeast(0.8)) },
    Row { label: "100-key scans (scans/s)", scenario: Scenario::Main, metric: "scan100_ops_s", target: Some(Target::AtLeast(1.0)) },
    Row { label: "random inserts per CPU second", scenario: Scenario::Main, metric: "insert_ops_s_cpu", target: None },
    Row { label: "point reads per CPU second", scenario: Scenario::Main, metric: "read_ops_s_cpu", target: None },
    Row { label: "100-key scans per CPU second", scenario: Scenario::Main, metric: "scan100_ops_s_cpu", target: None },
    Row { label: "write amp, block-layer bytes / user bytes", scenario: Scenario::Main, metric: "write_amp_io", target: None },
    Row { label: "write amp, write() bytes / user bytes", scenario: Scenario::Main, metric: "write_amp_wchar", target: None },
    Row { label: "space amp after load", scenario: Scenario::Main, metric: "space_amp_load", target: None },
    Row { label: "space amp, 10% overwritten, 0 snapshots", scenario: Scenario::Main, metric: "space_amp_0snap", target: None },
    Row { label: "space amp, 10% overwritten, 100 snapshots", scenario: Scenario::Snapshots, metric: "space_amp_100snap", target: None },
    Row { label: "snapshot creation at n/10 (µs, mean)", scenario: Scenario::Snapshots, metric: "snapshot_us_mean_small", target: None },
    Row { label: "snapshot creation at n (µs, mean)", scenario: Scenario::Snapshots, metric: "snapshot_us_mean_large", target: None },
    Row { label: "snapshot creation at n/10 (µs, median)", scenario: Scenario::Snapshots, metric: "snapshot_us_median_small", target: None },
    Row { label: "snapshot creation at n (µs, median)", scenario: Scenario::Snapshots, metric: "snapshot_us_median_large", target: None },
    Row { label: "peak RSS, main run (MiB)", scenario: Scenario::Main, metric: "peak_rss_mb", target: Some(Target::AtMost(1.0)) },
    Row { label: "peak RSS, snapshot run (MiB)", scenario: Scenario::Snapshots, metric: "peak_rss_mb", target: Some(Target::AtMost(1.0)) },
    Row { label: "load average at the end of the main run", scenario: Scenario::Main, metric: "loadavg_1m", target: None },
];

pub fn report(settings: &Settings, all: &All) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "\n### n = {} keys (16-byte keys, 100-byte values)\n", settings.n);
    let _ = writeln!(out, "| metric | Strata | RocksDB | LMDB | Strata / RocksDB | LMDB / RocksDB | target | met |");
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|");
    for row in &ROWS {
        let s = get(all, "strata", row.scenario, row.metric);
        let r = get(all, "rocksdb", row.scenario, row.metric);
        let l = get(all, "lmdb", row.scenario, row.metric);
        let sr = ratio(s, r);
        let (target, met) = verdict(row.target, sr);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {target} | {met} |",
            row.label, cell(s), cell(r), cell(l), cell(sr), cell(ratio(l, r))
        );
    }
    for stat in ["mean", "median"] {
        let small = get(all, "strata", Scenario::Snapshots, &format!("snapshot_us_{stat}_small"));
        let large = get(all, "strata", Scenario::Snapshots, &format!("snapshot_us_{stat}_large"));
        let growth = ratio(large, small);
        let (target, met) = verdict(Some(Target::AtMost(2.0)), growth);
        let _ = writeln!(out, "\nStrata snapshot creation ({stat}), n vs n/10: {}x (target {target}: {met})", cell(growth));
    }
    mmap_table(&mut out, all);
    clone_table(&mut out, all);
    out
}

/// Strata's two `disk_access_mode`s against LMDB, when `strata-standard` ran (`strata` is
/// the default, mmap).
fn mmap_table(out: &mut String, all: &All) {
    if !all.keys().any(|(engine, _)| engine == "strata-standard") {
        return;
    }
    let _ = writeln!(out, "\n#### Strata disk_access_mode: standard (pread + block cache) vs mmap, and LMDB\n");
    let _ = writeln!(out, "| metric | Strata standard | Strata mmap | LMDB | standard / LMDB | mmap / LMDB | mmap / standard |");
    let _ = writeln!(out, "|---|---|---|---|---|---|---|");
    let rows: [(&str, Scenario, &str); 13] = [
        ("random inserts (ops/s)", Scenario::Main, "insert_ops_s"),
        ("random inserts per CPU second", Scenario::Main, "insert_ops_s_cpu"),
        ("uniform point reads (ops/s)", Scenario::Main, "read_ops_s"),
        ("point reads per CPU second", Scenario::Main, "read_ops_s_cpu"),
        ("point reads per CPU second of the reading thread", Scenario::Main, "read_ops_s_thread_cpu"),
        ("100-key scans (scans/s)", Scenario::Main, "scan100_ops_s"),
        ("100-key scans per CPU second", Scenario::Main, "scan100_ops_s_cpu"),
        ("100-key scans per CPU second of the scanning thread", Scenario::Main, "scan100_ops_s_thread_cpu"),
        ("peak RSS, main run (MiB)", Scenario::Main, "peak_rss_mb"),
        ("RSS after the reads: anonymous (MiB)", Scenario::Main, "rss_anon_after_reads_mb"),
        ("RSS after the reads: mapped files (MiB)", Scenario::Main, "rss_file_after_reads_mb"),
        ("peak RSS, snapshot run (MiB)", Scenario::Snapshots, "peak_rss_mb"),
        ("load average at the end of the main run", Scenario::Main, "loadavg_1m"),
    ];
    for (label, scenario, metric) in rows {
        let s = get(all, "strata-standard", scenario, metric);
        let m = get(all, "strata", scenario, metric);
        let l = get(all, "lmdb", scenario, metric);
        let _ = writeln!(
            out,
            "| {label} | {} | {} | {} | {} | {} | {} |",
            cell(s), cell(m), cell(l), cell(ratio(s, l)), cell(ratio(m, l)), cell(ratio(m, s))
        );
    }
}

fn clone_table(out: &mut String, all: &All) {
    let _ = writeln!(out, "\n#### Strata, 100 writable clones each taking 1% of the writes\n");
    let _ = writeln!(out, "| version_split | writes/s, no clones | writes/s, 100 clones | ratio (target >= 0.8x) | 1,000-key scan ms, no clones | same at one of 100 clones | ratio (target <= 2x) | scan ratio, CPU time | scan ratio, scanning thread's CPU | arrays read per scan (no clones / clones) | ratio after compact() | write ratio per CPU second | peak RSS MiB (no clones / clones) |");
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for split in [true, false] {
        let base = Scenario::NoClones { version_split: split };
        let clones = Scenario::Clones { version_split: split };
        let w0 = get(all, "strata", base, "write_ops_s");
        let w1 = get(all, "strata", clones, "write_ops_s");
        let c0w = get(all, "strata", base, "write_ops_s_cpu");
        let c1w = get(all, "strata", clones, "write_ops_s_cpu");
        let s0 = get(all, "strata", base, "scan1000_ms");
        let s1 = get(all, "strata", clones, "scan1000_ms");
        let c0 = get(all, "strata", base, "scan1000_ms_compacted");
        let c1 = get(all, "strata", clones, "scan1000_ms_compacted");
        let (_, wmet) = verdict(Some(Target::AtLeast(0.8)), ratio(w1, w0));
        let (_, smet) = verdict(Some(Target::AtMost(2.0)), ratio(s1, s0));
        let s0c = get(all, "strata", base, "scan1000_ms_cpu");
        let s1c = get(all, "strata", clones, "scan1000_ms_cpu");
        let s0t = get(all, "strata", base, "scan1000_ms_thread_cpu");
        let s1t = get(all, "strata", clones, "scan1000_ms_thread_cpu");
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} ({wmet}) | {} | {} | {} ({smet}) | {} | {} | {} / {} | {} | {} | {} / {} |",
            if split { "on" } else { "off" },
            cell(w0), cell(w1), cell(ratio(w1, w0)), cell(s0), cell(s1), cell(ratio(s1, s0)),
            cell(ratio(s1c, s0c)),
            cell(ratio(s1t, s0t)),
            cell(get(all, "strata", base, "scan1000_ms_arrays_read")), cell(get(all, "strata", clones, "scan1000_ms_arrays_read")),
            cell(ratio(c1, c0)),
            cell(ratio(c1w, c0w)),
            cell(get(all, "strata", base, "peak_rss_mb")), cell(get(all, "strata", clones, "peak_rss_mb")),
        );
    }
}
