//! `strata-bench`: closed-loop CQL load against a server on this machine.
//!
//! ```text
//! strata-bench --port 9042 write --warmup 5s --duration 20s --concurrency 64 --json w.json
//! strata-bench --port 9042 read  --keys 400000 --warmup 5s --duration 20s
//! strata-bench --port 9042 idle-connections --count 1000 --hold 30s
//! ```
//! Only loopback targets are accepted; every mode ends by itself (durations are bounded).

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
use crate::load::{LoadConfig, Op};

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

#[derive(Subcommand)]
enum Command {
    /// Prepared INSERT INTO bench.kv of keys 0, 1, 2, ... with fixed-size blob values.
    Write(LoadArgs),
    /// Prepared SELECT v FROM bench.kv WHERE k = ?, keys uniform in 0..--keys; values are verified.
    Read {
        #[command(flatten)]
        load: LoadArgs,
        /// Number of keys written before (the `keys_issued` of the write run).
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        keys: u64,
        /// Seed of the key sequence (printed; random when not given).
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Opens N raw connections, completes OPTIONS+STARTUP on each, holds them, checks they still answer.
    IdleConnections {
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
    },
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
    /// Also write the report as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// The JSON report of a `write` or `read` run.
#[derive(Serialize)]
struct LoadReport<'a> {
    op: &'a str,
    concurrency: usize,
    value_size: usize,
    seed: u64,
    keys_issued: u64,
    #[serde(flatten)]
    summary: stats::Summary,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let addr = SocketAddr::new(cli.host, cli.port);
    match cli.command {
        Command::Write(args) => run_load_mode(addr, Op::Write, args, 0, 0).await,
        Command::Read { load, keys, seed } => {
            let seed = seed.unwrap_or_else(clock_seed);
            run_load_mode(addr, Op::Read, load, keys, seed).await
        }
        Command::IdleConnections { count, hold, io_timeout, json } => {
            let report = idle::run_idle(&IdleConfig { addr, count, hold, io_timeout }).await;
            report.print();
            write_json(json.as_deref(), &report)
        }
    }
}

async fn run_load_mode(addr: SocketAddr, op: Op, args: LoadArgs, keys: u64, seed: u64) -> anyhow::Result<()> {
    let op_name = match op {
        Op::Write => "write",
        Op::Read => "read",
    };
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
    let statements = load::prepare(&session).await.context("creating bench.kv and preparing statements")?;
    let config = LoadConfig {
        op,
        concurrency: args.concurrency,
        warmup: args.warmup,
        duration: args.duration,
        max_requests: args.requests,
        value_size: args.value_size,
        keys,
        seed,
    };
    let result = load::run_load(&session, &statements, &config).await;
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
        "{}: errors {}, missing rows {}, wrong values {}, keys issued {}",
        r.op, s.errors, s.missing, s.wrong_values, r.keys_issued
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
