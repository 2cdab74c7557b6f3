//! `strata-bench`: closed-loop CQL load against a server on this machine.
//!
//! ```text
//! strata-bench --port 9042 write --warmup 5s --duration 20s --concurrency 64 --json w.json
//! strata-bench --port 9042 read  --keys 400000 --warmup 5s --duration 20s
//! strata-bench --port 9042 lwt-insert --first-key 0 --duration 15s
//! strata-bench --port 9042 index-read --keys 200000 --duration 15s
//! strata-bench --port 9042 idle-connections --count 1000 --hold 30s
//! ```
//! Workloads (`load::Workload`): write (alias insert), read, update, lwt-insert, lwt-update,
//! base-write, index-write, mv-write, pk-read, index-read. Only loopback targets are accepted;
//! every mode ends by itself (durations are bounded).

mod handshake;
mod idle;
mod load;
mod stats;

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use scylla::client::session_builder::SessionBuilder;
use serde::Serialize;

use crate::idle::IdleConfig;
use crate::load::{Keys, LoadConfig, Workload};

/// Longest accepted warm-up, run or hold time: keeps every run bounded.
const MAX_DURATION: Duration = Duration::from_secs(3600);
const MAX_CONCURRENCY: usize = 4096;
const MAX_IDLE_CONNECTIONS: usize = 100_000;
const MAX_VALUE_SIZE: usize = 1 << 20;

#[derive(Parser)]
#[command(name = "strata-bench", version, about = "Closed-loop CQL load generator for Strata (loopback only)")]
struct Cli {
    /// Server address; must be a loopback address.
    #[arg(long, default_value = "127.0.0.1", value_parser = parse_loopback)]
    host: IpAddr,
    /// Native-protocol (CQL) port.
    #[arg(long, default_value_t = 9042)]
    port: u16,
    #[command(subcommand)]
    command: Command,
}

/// One subcommand per workload (statements and tables: `load::Workload`); workloads on new
/// keys take --first-key, workloads on existing keys need --keys.
#[derive(Subcommand)]
enum Command {
    /// Prepared INSERT INTO bench.kv (k bigint PRIMARY KEY, v blob) of new keys.
    #[command(visible_alias = "insert")]
    Write(LoadArgs),
    /// Prepared SELECT v FROM bench.kv WHERE k = ?, existing keys; values are verified.
    Read(LoadArgs),
    /// Prepared UPDATE bench.kv SET v = ? WHERE k = ?, existing keys.
    Update(LoadArgs),
    /// INSERT INTO bench.lwt (same shape as bench.kv) .. IF NOT EXISTS of new keys.
    LwtInsert(LoadArgs),
    /// UPDATE bench.lwt SET v = ? WHERE k = ? IF EXISTS, existing keys.
    LwtUpdate(LoadArgs),
    /// INSERT INTO bench.rows (k bigint PRIMARY KEY, v bigint, payload blob), new keys.
    BaseWrite(LoadArgs),
    /// The same into bench.indexed (same shape, CREATE INDEX on v).
    IndexWrite(LoadArgs),
    /// The same into bench.viewed (same shape, one materialized view keyed by (v, k)).
    MvWrite(LoadArgs),
    /// SELECT payload FROM bench.indexed WHERE k = ?, existing keys; verified.
    PkRead(LoadArgs),
    /// SELECT payload FROM bench.indexed WHERE v = ? (through the index), existing keys.
    IndexRead(LoadArgs),
    /// Opens N raw connections, completes OPTIONS+STARTUP on each, holds them, checks they still answer.
    IdleConnections(IdleArgs),
}

/// What a subcommand runs.
enum Mode {
    Load(Workload, LoadArgs),
    Idle(IdleArgs),
}

impl Command {
    fn mode(self) -> Mode {
        let (workload, args) = match self {
            Command::Write(args) => (Workload::Write, args),
            Command::Read(args) => (Workload::Read, args),
            Command::Update(args) => (Workload::Update, args),
            Command::LwtInsert(args) => (Workload::LwtInsert, args),
            Command::LwtUpdate(args) => (Workload::LwtUpdate, args),
            Command::BaseWrite(args) => (Workload::BaseWrite, args),
            Command::IndexWrite(args) => (Workload::IndexWrite, args),
            Command::MvWrite(args) => (Workload::MvWrite, args),
            Command::PkRead(args) => (Workload::PkRead, args),
            Command::IndexRead(args) => (Workload::IndexRead, args),
            Command::IdleConnections(args) => return Mode::Idle(args),
        };
        Mode::Load(workload, args)
    }
}

#[derive(Args)]
struct IdleArgs {
    #[arg(long, value_parser = parse_idle_count)]
    count: usize,
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    hold: Duration,
    /// Bound on each connect and each request/reply exchange.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    io_timeout: Duration,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(Args)]
struct LoadArgs {
    /// Requests in flight at once.
    #[arg(long, default_value_t = 64, value_parser = parse_concurrency)]
    concurrency: usize,
    /// Load before measuring starts (not counted).
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    warmup: Duration,
    /// Length of the measured window.
    #[arg(long, default_value = "20s", value_parser = parse_duration)]
    duration: Duration,
    /// Stop after this many measured requests, if that comes before --duration.
    #[arg(long)]
    requests: Option<u64>,
    /// Size of each value in bytes.
    #[arg(long, default_value_t = 100, value_parser = parse_value_size)]
    value_size: usize,
    /// Workloads on new keys: the first key (the `keys_issued` of an earlier run on the table).
    #[arg(long, default_value_t = 0)]
    first_key: u64,
    /// Workloads on existing keys: keys are uniform in 0..KEYS (the `keys_issued` of the write run).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    keys: Option<u64>,
    /// Seed of the key sequence of workloads on existing keys (printed; random when not given).
    #[arg(long)]
    seed: Option<u64>,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// The JSON report of a load run.
#[derive(Serialize)]
struct LoadReport {
    op: String,
    concurrency: usize,
    value_size: usize,
    seed: u64,
    /// The key after the last new key issued (with --first-key 0, how many were written).
    keys_issued: u64,
    #[serde(flatten)]
    summary: stats::Summary,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let addr = SocketAddr::new(cli.host, cli.port);
    match cli.command.mode() {
        Mode::Load(workload, args) => run_load_mode(addr, workload, args).await,
        Mode::Idle(IdleArgs { count, hold, io_timeout, json }) => {
            let report = idle::run_idle(&IdleConfig { addr, count, hold, io_timeout }).await;
            report.print();
            write_json(json.as_deref(), &report)
        }
    }
}

async fn run_load_mode(addr: SocketAddr, workload: Workload, args: LoadArgs) -> anyhow::Result<()> {
    let op_name = workload.name();
    let keys = match (workload.keys(), args.keys) {
        (Keys::Existing, None) => anyhow::bail!("{op_name} reads or updates existing rows: --keys is required"),
        (_, keys) => keys.unwrap_or(0),
    };
    let seed = args.seed.unwrap_or_else(clock_seed);
    println!(
        "{op_name}: {addr}, {} in flight, warm-up {:?}, window {:?}, {}-byte values, seed {seed}",
        args.concurrency, args.warmup, args.duration, args.value_size
    );
    let session = SessionBuilder::new()
        .known_node_addr(addr)
        .fetch_schema_metadata(false)
        .build()
        .await
        .with_context(|| format!("connecting to {addr}"))?;
    let prepared = load::prepare(&session, workload).await.with_context(|| format!("creating the schema of {op_name} and preparing it"))?;
    let config = LoadConfig {
        workload,
        concurrency: args.concurrency,
        warmup: args.warmup,
        duration: args.duration,
        max_requests: args.requests,
        value_size: args.value_size,
        first_key: args.first_key,
        keys,
        seed,
    };
    let result = load::run_load(&session, &prepared, &config).await;
    let report = LoadReport {
        op: op_name,
        concurrency: args.concurrency,
        value_size: args.value_size,
        seed,
        keys_issued: result.keys_issued,
        summary: result.summary,
    };
    print_load_report(&report);
    write_json(args.json.as_deref(), &report)
}

fn print_load_report(r: &LoadReport) {
    let s = &r.summary;
    println!(
        "{}: {:.0} ops/s ({} ops in {:.2}s; {} warm-up ops)",
        r.op, s.ops_per_sec, s.measured_ops, s.measured_secs, s.warmup_ops
    );
    println!(
        "{}: latency µs p50 {} p90 {} p99 {} p99.9 {} max {} mean {:.0}",
        r.op, s.p50_us, s.p90_us, s.p99_us, s.p999_us, s.max_us, s.mean_us
    );
    println!(
        "{}: errors {}, missing rows {}, wrong values {}, not applied {}, keys issued {}",
        r.op, s.errors, s.missing, s.wrong_values, s.not_applied, r.keys_issued
    );
    for (text, count) in &s.error_samples {
        println!("{}: error x{count}: {text}", r.op);
    }
}

fn write_json(path: Option<&Path>, report: &impl Serialize) -> anyhow::Result<()> {
    let Some(path) = path else { return Ok(()) };
    let text = serde_json::to_string_pretty(report)?;
    std::fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))
}

fn clock_seed() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

fn parse_loopback(text: &str) -> Result<IpAddr, String> {
    let ip: IpAddr = text.parse().map_err(|e| format!("{text:?} is not an IP address: {e}"))?;
    if ip.is_loopback() {
        Ok(ip)
    } else {
        Err(format!("{ip} is not a loopback address; strata-bench only targets this machine"))
    }
}

/// `250ms`, `20s`, `2m`, or a bare number of seconds; at most an hour.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let (digits, unit_ms) = if let Some(n) = text.strip_suffix("ms") {
        (n, 1)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1_000)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60_000)
    } else {
        (text, 1_000)
    };
    let amount: u64 = digits.trim().parse().map_err(|_| format!("{text:?} is not a duration like 500ms, 20s or 2m"))?;
    let duration = Duration::from_millis(amount.saturating_mul(unit_ms));
    if duration > MAX_DURATION {
        return Err(format!("{text:?} is longer than the {MAX_DURATION:?} bound"));
    }
    Ok(duration)
}

fn parse_bounded(text: &str, what: &str, min: usize, max: usize) -> Result<usize, String> {
    let n: usize = text.parse().map_err(|_| format!("{what} {text:?} is not a number"))?;
    if (min..=max).contains(&n) {
        Ok(n)
    } else {
        Err(format!("{what} must be between {min} and {max}, got {n}"))
    }
}

fn parse_concurrency(text: &str) -> Result<usize, String> {
    parse_bounded(text, "concurrency", 1, MAX_CONCURRENCY)
}

fn parse_idle_count(text: &str) -> Result<usize, String> {
    parse_bounded(text, "connection count", 1, MAX_IDLE_CONNECTIONS)
}

fn parse_value_size(text: &str) -> Result<usize, String> {
    parse_bounded(text, "value size", 0, MAX_VALUE_SIZE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units_and_are_bounded() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("20s"), Ok(Duration::from_secs(20)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        assert!(parse_duration("2h").is_err());
        assert!(parse_duration("61m").is_err());
        assert!(parse_duration("99999999999999999999m").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn only_loopback_hosts_are_accepted() {
        assert!(parse_loopback("127.0.0.1").is_ok());
        assert!(parse_loopback("127.1.2.3").is_ok());
        assert!(parse_loopback("::1").is_ok());
        assert!(parse_loopback("10.0.0.1").is_err());
        assert!(parse_loopback("localhost").is_err());
    }

    #[test]
    fn counts_are_bounded() {
        assert_eq!(parse_concurrency("64"), Ok(64));
        assert!(parse_concurrency("0").is_err());
        assert!(parse_concurrency("5000").is_err());
        assert!(parse_idle_count("x").is_err());
        assert_eq!(parse_value_size("0"), Ok(0));
    }

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
