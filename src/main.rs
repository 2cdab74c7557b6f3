//! `strata`: starts a node (no subcommand), runs an admin command (`strata nodetool`, also
//! reached as `nodetool` through a link named so, as in the Docker image) or checks the
//! local node's health (`strata health`, the image's HEALTHCHECK).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Parser, Subcommand};

/// mimalloc instead of glibc malloc: allocation and free were about a quarter of the
/// server's CPU per request under a write load (`perf`, see BENCHMARKS.md), much of it in
/// glibc's `malloc_consolidate`/`unlink_chunk` bookkeeping; mimalloc's per-thread free
/// lists avoid most of it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use strata::config::{Config, Overrides};

#[derive(Parser)]
#[command(
    name = "strata",
    version,
    about = "A Cassandra-compatible database on a stratified B-tree"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    node: NodeFlags,
}

/// Flags of the node; each overrides the YAML file and the CASSANDRA_* variables.
#[derive(clap::Args)]
struct NodeFlags {
    /// YAML configuration with cassandra.yaml key names.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Data directory (default ./data).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Internode address (listen_address).
    #[arg(long)]
    listen_address: Option<String>,
    /// CQL address (rpc_address).
    #[arg(long)]
    rpc_address: Option<String>,
    /// CQL port (native_transport_port, default 9042).
    #[arg(long)]
    native_port: Option<u16>,
    /// Internode port (storage_port, default 7000).
    #[arg(long)]
    storage_port: Option<u16>,
    /// Admin endpoint (nodetool, /metrics) address (admin_address, default 127.0.0.1).
    #[arg(long)]
    admin_address: Option<String>,
    /// Admin endpoint port (admin_port, default 7199; 0 disables it).
    #[arg(long)]
    admin_port: Option<u16>,
    /// Read-only metrics listener address (metrics_address, default listen_address).
    #[arg(long)]
    metrics_address: Option<String>,
    /// Read-only metrics listener port, serving only GET /metrics (metrics_port, default 0:
    /// metrics only on the admin endpoint).
    #[arg(long)]
    metrics_port: Option<u16>,
    /// Comma-separated seed addresses.
    #[arg(long)]
    seeds: Option<String>,
    #[arg(long)]
    cluster_name: Option<String>,
    #[arg(long)]
    dc: Option<String>,
    #[arg(long)]
    rack: Option<String>,
    #[arg(long)]
    num_tokens: Option<u32>,
    /// periodic (default: acknowledge at once, fsync every commitlog_sync_period, 10s),
    /// batch (acknowledge after the fsync of each write group) or group (same as batch).
    #[arg(long)]
    commitlog_sync: Option<String>,
    /// Benchmark baseline: answer requests without touching storage.
    #[arg(long, hide = true)]
    null_storage: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Administer a running node, as Cassandra's nodetool:
    /// strata nodetool [-h HOST] [-p PORT] [-u USER] [-pw PASSWORD] COMMAND [ARGS...]
    // The options are parsed by `strata::nodetool` (clap has no two-letter short options
    // such as `-pw`), so help is `--help` only and `-h` is the host.
    #[command(disable_help_flag = true)]
    Nodetool {
        #[arg(long, action = clap::ArgAction::Help)]
        help: Option<bool>,
        /// Options and command: status, info, version, tpstats, compactionstats,
        /// tablestats|cfstats [-H] [ks[.table]...], tablehistograms ks table,
        /// proxyhistograms, flush, compact, drain, scrub [ks [tables...]], snapshot [-t TAG] [ks...],
        /// listsnapshots, clearsnapshot [-t TAG | --all], settraceprobability P,
        /// setlogginglevel [COMPONENT LEVEL], getlogginglevels.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Exit 0 if the local node (configured as by the node flags, YAML and CASSANDRA_*
    /// variables) is NORMAL and answers CQL, else print why and exit 1.
    Health {
        /// Seconds each step may take.
        #[arg(long, default_value_t = 5)]
        timeout: u64,
    },
}

fn main() {
    // Errors are for operators: one line with its causes, no backtrace.
    if let Err(e) = run(Cli::parse_from(argv())) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

/// The arguments, with `nodetool ARGS` read as `strata nodetool ARGS` when the binary is
/// invoked under the name `nodetool`.
fn argv() -> Vec<OsString> {
    let mut args: Vec<OsString> = std::env::args_os().collect();
    if args
        .first()
        .and_then(|a| Path::new(a).file_name())
        .is_some_and(|name| name == "nodetool")
    {
        args.splice(0..1, [OsString::from("strata"), OsString::from("nodetool")]);
    }
    args
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Some(Command::Nodetool { args, .. }) => strata::nodetool::run(&args),
        Some(Command::Health { timeout }) => {
            strata::health::check(&load_config(cli.node)?, Duration::from_secs(timeout))?;
            println!("healthy");
            Ok(())
        }
        None => {
            strata::logging::init();
            let config = load_config(cli.node)?;
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?
                .block_on(strata::run(config))
        }
    }
}

fn load_config(flags: NodeFlags) -> anyhow::Result<Config> {
    Ok(Config::load(&overrides(flags), &|name| {
        std::env::var(name).ok()
    })?)
}

fn overrides(f: NodeFlags) -> Overrides {
    Overrides {
        config_file: f.config,
        data_dir: f.data_dir,
        listen_address: f.listen_address,
        rpc_address: f.rpc_address,
        native_port: f.native_port,
        storage_port: f.storage_port,
        admin_address: f.admin_address,
        admin_port: f.admin_port,
        metrics_address: f.metrics_address,
        metrics_port: f.metrics_port,
        seeds: f.seeds,
        cluster_name: f.cluster_name,
        dc: f.dc,
        rack: f.rack,
        num_tokens: f.num_tokens,
        commitlog_sync: f.commitlog_sync,
        null_storage: f.null_storage,
    }
}
