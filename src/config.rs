//! Node configuration: Cassandra's `cassandra.yaml` key names, overridden by the
//! `CASSANDRA_*` environment variables of the official Docker image, overridden by
//! command-line flags (highest precedence).
//!
//! Invariant: every consumer reads the final, merged [`Config`]; nothing else in the
//! server looks at the environment or the YAML file.

use std::net::IpAddr;
use std::path::PathBuf;

mod cassandra_keys;
mod encryption;
mod settings;
mod yaml;

pub use encryption::{ClientAuth, EncryptionOptions, InternodeEncryption, TlsVersion};

/// How the commit log (the engine's WAL) acknowledges writes; Cassandra's `commitlog_sync`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommitlogSync {
    /// Acknowledge a write only after its WAL record is fsynced (group commit).
    Batch,
    /// Acknowledge at once and fsync every `period_ms` (`commitlog_sync_period`).
    Periodic { period_ms: u64 },
}

/// How the engine reads its data files (Cassandra's `disk_access_mode`, a property its
/// `cassandra.yaml` does not list but `Config` reads). `auto`, the default, is `mmap` as in
/// Cassandra on a 64-bit JVM; Strata keeps every array's index and filters in memory, so
/// `mmap_index_only` is `standard` here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiskAccessMode {
    Auto,
    /// Array files mapped read-only; reads decode the mapped page cache (no block cache).
    Mmap,
    MmapIndexOnly,
    /// `pread` into the block cache (`file_cache_size`).
    Standard,
}

impl DiskAccessMode {
    pub(crate) fn from_name(name: &str) -> Option<DiskAccessMode> {
        Some(match name.trim() {
            "auto" => DiskAccessMode::Auto,
            "mmap" => DiskAccessMode::Mmap,
            "mmap_index_only" => DiskAccessMode::MmapIndexOnly,
            "standard" => DiskAccessMode::Standard,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            DiskAccessMode::Auto => "auto",
            DiskAccessMode::Mmap => "mmap",
            DiskAccessMode::MmapIndexOnly => "mmap_index_only",
            DiskAccessMode::Standard => "standard",
        }
    }

    /// Whether data files are mapped (else read through the block cache).
    pub fn maps_data(self) -> bool {
        matches!(self, DiskAccessMode::Auto | DiskAccessMode::Mmap)
    }
}

/// What the node does when storage fails (Cassandra's `disk_failure_policy`); applied by
/// `crate::damage`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiskFailurePolicy {
    /// Stop the native transport on a disk (I/O) error; corrupt data fails only its reads.
    Stop,
    /// Stop the native transport on any storage failure, corrupt data included.
    StopParanoid,
    /// End the process on any storage failure.
    Die,
    /// Fail only the requests that meet the failure.
    BestEffort,
    /// As `best_effort` (Cassandra ignores the failure and lets the request fail).
    Ignore,
}

impl DiskFailurePolicy {
    pub(crate) fn from_name(name: &str) -> Option<DiskFailurePolicy> {
        Some(match name.trim() {
            "stop" => DiskFailurePolicy::Stop,
            "stop_paranoid" => DiskFailurePolicy::StopParanoid,
            "die" => DiskFailurePolicy::Die,
            "best_effort" => DiskFailurePolicy::BestEffort,
            "ignore" => DiskFailurePolicy::Ignore,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            DiskFailurePolicy::Stop => "stop",
            DiskFailurePolicy::StopParanoid => "stop_paranoid",
            DiskFailurePolicy::Die => "die",
            DiskFailurePolicy::BestEffort => "best_effort",
            DiskFailurePolicy::Ignore => "ignore",
        }
    }
}

/// Cassandra's `commitlog_sync_period` default.
const DEFAULT_SYNC_PERIOD_MS: u64 = 10_000;

/// The merged node configuration.
#[derive(Clone, Debug)]
pub struct Config {
    pub cluster_name: String,
    pub listen_address: IpAddr,
    pub broadcast_address: Option<IpAddr>,
    pub rpc_address: IpAddr,
    /// The CQL address given to clients and peers (`broadcast_rpc_address`).
    pub broadcast_rpc_address: Option<IpAddr>,
    pub native_transport_port: u16,
    /// Cassandra's deprecated `native_transport_port_ssl`: when set (and not the native
    /// port) with client encryption enabled, TLS is served there and plain text on
    /// `native_transport_port`.
    pub native_transport_port_ssl: Option<u16>,
    pub storage_port: u16,
    /// Admin endpoint (nodetool, metrics) address (Strata-specific): loopback by default,
    /// since its actions (drain, clearsnapshot) are authenticated only when an
    /// authenticator is configured.
    pub admin_address: IpAddr,
    /// Admin/metrics HTTP port (Strata-specific); 0 disables it.
    pub admin_port: u16,
    /// Address of the read-only metrics listener (Strata-specific, `GET /metrics` only);
    /// `None` means `listen_address`.
    pub metrics_address: Option<IpAddr>,
    /// Port of the read-only metrics listener; 0 (the default) serves metrics only on the
    /// admin endpoint.
    pub metrics_port: u16,
    /// Empty until `load` ends; then the configured seeds, or this node alone (the
    /// official image's default, `CASSANDRA_SEEDS` = the broadcast address).
    pub seeds: Vec<String>,
    pub num_tokens: u32,
    pub endpoint_snitch: Snitch,
    pub dc: String,
    pub rack: String,
    pub data_dir: PathBuf,
    pub commitlog_sync: CommitlogSync,
    /// `commitlog_sync_period`, kept apart from the mode so that either can be given alone.
    pub commitlog_sync_period_ms: u64,
    pub memtable_bytes: usize,
    /// A merge writing more than this for one partition warns
    /// (`compaction_large_partition_warning_threshold`, 100MiB as in Cassandra).
    pub large_partition_warning_bytes: u64,
    /// Engine block cache budget (Cassandra's `file_cache_size`); filled only when
    /// `disk_access_mode` reads data files through it.
    pub block_cache_bytes: usize,
    pub disk_access_mode: DiskAccessMode,
    pub max_frame_bytes: usize,
    pub max_connections: usize,
    pub max_inflight_per_connection: usize,
    /// How long a coordinator waits for a write's replicas (`write_request_timeout`).
    pub write_request_timeout_ms: u64,
    /// How long a coordinator waits for a read's replicas (`read_request_timeout`).
    pub read_request_timeout_ms: u64,
    /// How long a coordinator waits for a range read (a scan over token ranges, which
    /// reads range after range) to complete (`range_request_timeout`).
    pub range_request_timeout_ms: u64,
    /// How long a lightweight transaction keeps contending before WriteTimeout CAS
    /// (`cas_contention_timeout`).
    pub cas_contention_timeout_ms: u64,
    /// `authenticator: PasswordAuthenticator` turns on SASL PLAIN logins checked against
    /// `system_auth.roles` (false: Cassandra's default AllowAllAuthenticator).
    pub password_authenticator: bool,
    /// `authorizer: CassandraAuthorizer` turns on permission checks from
    /// `system_auth.role_permissions` (false: AllowAllAuthorizer).
    pub cassandra_authorizer: bool,
    /// How long roles, permissions and password hashes read from `system_auth` are kept
    /// (`roles_validity`, `permissions_validity`, `credentials_validity`: 2000ms each; 0
    /// disables the cache).
    pub roles_validity_ms: u64,
    pub permissions_validity_ms: u64,
    pub credentials_validity_ms: u64,
    /// After how long a kept entry is read again (`*_update_interval`; `None`, Cassandra's
    /// null or -1: the validity).
    pub roles_update_interval_ms: Option<u64>,
    pub permissions_update_interval_ms: Option<u64>,
    pub credentials_update_interval_ms: Option<u64>,
    /// `disk_failure_policy` (Cassandra's default: `stop`).
    pub disk_failure_policy: DiskFailurePolicy,
    /// `client_encryption_options`: TLS for CQL clients.
    pub client_encryption: EncryptionOptions,
    /// `server_encryption_options`: parsed and checked; internode TLS is refused until the
    /// messaging layer speaks it.
    pub server_encryption: EncryptionOptions,
    /// Answer requests without touching the engine (benchmark baseline only).
    pub null_storage: bool,
    /// Cassandra properties of the YAML file that Strata accepts but does not implement,
    /// listed at start (never silently ignored).
    pub ignored_properties: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        let localhost = IpAddr::from([127, 0, 0, 1]);
        Config {
            cluster_name: "Test Cluster".into(),
            listen_address: localhost,
            broadcast_address: None,
            rpc_address: localhost,
            broadcast_rpc_address: None,
            native_transport_port: 9042,
            native_transport_port_ssl: None,
            storage_port: 7000,
            admin_address: localhost,
            admin_port: 7199,
            metrics_address: None,
            metrics_port: 0,
            seeds: Vec::new(),
            num_tokens: 16,
            endpoint_snitch: Snitch::GossipingPropertyFile,
            dc: "datacenter1".into(),
            rack: "rack1".into(),
            data_dir: PathBuf::from("./data"),
            // Cassandra's default (`periodic`, 10 s): a write is in the OS before it is
            // acknowledged, so it survives a process crash (kill -9); a power loss can
            // lose the last period. `batch` waits for the fsync of each write group.
            commitlog_sync: CommitlogSync::Periodic {
                period_ms: DEFAULT_SYNC_PERIOD_MS,
            },
            commitlog_sync_period_ms: DEFAULT_SYNC_PERIOD_MS,
            memtable_bytes: 64 << 20,
            large_partition_warning_bytes: 100 << 20,
            block_cache_bytes: default_file_cache_bytes(detected_memory_bytes()),
            disk_access_mode: DiskAccessMode::Auto,
            max_frame_bytes: 16 << 20,
            max_connections: 4096,
            max_inflight_per_connection: 1024,
            // Cassandra 5.0's defaults.
            write_request_timeout_ms: 2_000,
            read_request_timeout_ms: 5_000,
            range_request_timeout_ms: 10_000,
            cas_contention_timeout_ms: 1_000,
            password_authenticator: false,
            cassandra_authorizer: false,
            roles_validity_ms: 2_000,
            permissions_validity_ms: 2_000,
            credentials_validity_ms: 2_000,
            roles_update_interval_ms: None,
            permissions_update_interval_ms: None,
            credentials_update_interval_ms: None,
            disk_failure_policy: DiskFailurePolicy::Stop,
            client_encryption: EncryptionOptions::default(),
            server_encryption: EncryptionOptions::default(),
            null_storage: false,
            ignored_properties: Vec::new(),
        }
    }
}

/// Where the node's datacenter and rack come from (Cassandra's `endpoint_snitch`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Snitch {
    /// Always `datacenter1` / `rack1`, whatever `dc` and `rack` say.
    Simple,
    /// `dc` and `rack` from the configuration (Cassandra reads them from
    /// cassandra-rackdc.properties; Strata from `CASSANDRA_DC`/`_RACK` and its flags).
    /// The default, so that setting a datacenter takes effect without naming a snitch.
    GossipingPropertyFile,
}

/// The snitches Strata has; the others (cloud snitches, PropertyFileSnitch) read sources
/// Strata does not have, so they are refused rather than ignored.
const SNITCH: &str = "SimpleSnitch or GossipingPropertyFileSnitch";

impl Snitch {
    /// A snitch by Cassandra's class name, short or with its package.
    fn from_name(name: &str) -> Option<Snitch> {
        match name.trim().rsplit('.').next()? {
            "SimpleSnitch" => Some(Snitch::Simple),
            "GossipingPropertyFileSnitch" => Some(Snitch::GossipingPropertyFile),
            _ => None,
        }
    }
}

/// Errors found while building the configuration; reported before the node starts.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Every problem of the YAML file, each on its own line.
    #[error("{}", problems.join("\n"))]
    Yaml { problems: Vec<String> },
    #[error("invalid value for {key}: {value:?}; expected {form}")]
    Value {
        key: &'static str,
        value: String,
        form: &'static str,
    },
}

/// Command-line overrides; `None` means "not given".
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config_file: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
    pub listen_address: Option<String>,
    pub rpc_address: Option<String>,
    pub native_port: Option<u16>,
    pub storage_port: Option<u16>,
    pub admin_address: Option<String>,
    pub admin_port: Option<u16>,
    pub metrics_address: Option<String>,
    pub metrics_port: Option<u16>,
    pub seeds: Option<String>,
    pub cluster_name: Option<String>,
    pub dc: Option<String>,
    pub rack: Option<String>,
    pub num_tokens: Option<u32>,
    pub commitlog_sync: Option<String>,
    pub null_storage: bool,
}

impl Config {
    /// Defaults, then the YAML file, then `CASSANDRA_*` variables from `env`, then flags.
    pub fn load(
        flags: &Overrides,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let mut config = Config::default();
        if let Some(path) = &flags.config_file {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.clone(),
                source,
            })?;
            yaml::apply(&mut config, &text).map_err(|problems| ConfigError::Yaml { problems })?;
        }
        config.apply_env(env)?;
        config.apply_flags(flags)?;
        if config.seeds.is_empty() {
            config.seeds = vec![config.broadcast_address().to_string()];
        }
        if config.endpoint_snitch == Snitch::Simple {
            config.dc = "datacenter1".into();
            config.rack = "rack1".into();
        }
        Ok(config)
    }

    /// `commitlog_sync`: `group` is Strata's `batch`, which already groups concurrent
    /// writes into one fsync. `None` for an unknown mode.
    fn set_commitlog_sync(&mut self, mode: &str) -> Option<()> {
        self.commitlog_sync = match mode.trim() {
            "batch" | "group" => CommitlogSync::Batch,
            "periodic" => CommitlogSync::Periodic {
                period_ms: self.commitlog_sync_period_ms,
            },
            _ => return None,
        };
        Some(())
    }

    /// `commitlog_sync_period`, honoured whether or not the mode is given too. `None` for 0,
    /// which Cassandra rejects too ("Missing value for commitlog_sync_period").
    fn set_commitlog_sync_period(&mut self, period_ms: u64) -> Option<()> {
        if period_ms == 0 {
            return None;
        }
        self.commitlog_sync_period_ms = period_ms;
        if let CommitlogSync::Periodic { .. } = self.commitlog_sync {
            self.commitlog_sync = CommitlogSync::Periodic { period_ms };
        }
        Some(())
    }

    /// The variables the official Cassandra Docker image's entrypoint reads, with its
    /// `auto` for the listen and broadcast addresses (the container's own address).
    fn apply_env(&mut self, env: &dyn Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        set(&mut self.cluster_name, env("CASSANDRA_CLUSTER_NAME"));
        if let Some(seeds) = env("CASSANDRA_SEEDS") {
            self.seeds = split_list(&seeds);
        }
        set(&mut self.dc, env("CASSANDRA_DC"));
        set(&mut self.rack, env("CASSANDRA_RACK"));
        if let Some(n) = env("CASSANDRA_NUM_TOKENS") {
            self.num_tokens = n
                .trim()
                .parse()
                .map_err(|_| invalid("CASSANDRA_NUM_TOKENS", &n, "a positive integer"))?;
        }
        if let Some(name) = env("CASSANDRA_ENDPOINT_SNITCH") {
            self.endpoint_snitch = Snitch::from_name(&name)
                .ok_or_else(|| invalid("CASSANDRA_ENDPOINT_SNITCH", &name, SNITCH))?;
        }
        if let Some(addr) = env("CASSANDRA_LISTEN_ADDRESS") {
            self.listen_address = env_ip("CASSANDRA_LISTEN_ADDRESS", &addr)?;
        }
        if let Some(addr) = env("CASSANDRA_BROADCAST_ADDRESS") {
            self.broadcast_address = Some(env_ip("CASSANDRA_BROADCAST_ADDRESS", &addr)?);
        }
        set_ip(
            &mut self.rpc_address,
            "CASSANDRA_RPC_ADDRESS",
            env("CASSANDRA_RPC_ADDRESS").as_deref(),
        )?;
        if let Some(addr) = env("CASSANDRA_BROADCAST_RPC_ADDRESS") {
            self.broadcast_rpc_address =
                Some(ip_or_error("CASSANDRA_BROADCAST_RPC_ADDRESS", &addr)?);
        }
        Ok(())
    }

    fn apply_flags(&mut self, f: &Overrides) -> Result<(), ConfigError> {
        set(&mut self.data_dir, f.data_dir.clone());
        set_ip(
            &mut self.listen_address,
            "--listen-address",
            f.listen_address.as_deref(),
        )?;
        set_ip(
            &mut self.rpc_address,
            "--rpc-address",
            f.rpc_address.as_deref(),
        )?;
        set_ip(
            &mut self.admin_address,
            "--admin-address",
            f.admin_address.as_deref(),
        )?;
        set(&mut self.native_transport_port, f.native_port);
        set(&mut self.storage_port, f.storage_port);
        set(&mut self.admin_port, f.admin_port);
        if let Some(text) = &f.metrics_address {
            self.metrics_address = Some(ip_or_error("--metrics-address", text)?);
        }
        set(&mut self.metrics_port, f.metrics_port);
        if let Some(seeds) = &f.seeds {
            self.seeds = split_list(seeds);
        }
        set(&mut self.cluster_name, f.cluster_name.clone());
        set(&mut self.dc, f.dc.clone());
        set(&mut self.rack, f.rack.clone());
        set(&mut self.num_tokens, f.num_tokens);
        if let Some(mode) = &f.commitlog_sync {
            self.set_commitlog_sync(mode)
                .ok_or_else(|| invalid("--commitlog-sync", mode, "periodic, batch or group"))?;
        }
        self.null_storage |= f.null_storage;
        Ok(())
    }

    /// The `system_auth` caches' times.
    pub fn auth_cache_times(&self) -> crate::auth::AuthCacheTimes {
        let times = |validity: u64, interval: Option<u64>| {
            crate::auth::CacheTimes::new(
                std::time::Duration::from_millis(validity),
                interval.map(std::time::Duration::from_millis),
            )
        };
        crate::auth::AuthCacheTimes {
            roles: times(self.roles_validity_ms, self.roles_update_interval_ms),
            permissions: times(
                self.permissions_validity_ms,
                self.permissions_update_interval_ms,
            ),
            credentials: times(
                self.credentials_validity_ms,
                self.credentials_update_interval_ms,
            ),
        }
    }

    /// The settings in force, for the start-up log, in `cassandra.yaml`'s words.
    pub fn summary(&self) -> String {
        let sync = match self.commitlog_sync {
            CommitlogSync::Batch => "batch".to_string(),
            CommitlogSync::Periodic { period_ms } => {
                format!("periodic, commitlog_sync_period: {period_ms}ms")
            }
        };
        format!(
            "listen_address: {}, broadcast_address: {}, rpc_address: {}, native_transport_port: {}, \
             storage_port: {}, admin: {}:{}, seeds: [{}], num_tokens: {}, dc: {}, rack: {}, \
             commitlog_sync: {sync}, disk_failure_policy: {}, disk_access_mode: {}, memtable_heap_space: {}MiB, file_cache_size: {}MiB, \
             native_transport_max_frame_size: {}MiB, native_transport_max_concurrent_connections: {}",
            self.listen_address,
            self.broadcast_address(),
            self.rpc_address,
            self.native_transport_port,
            self.storage_port,
            self.admin_address,
            self.admin_port,
            self.seeds.join(", "),
            self.num_tokens,
            self.dc,
            self.rack,
            self.disk_failure_policy.name(),
            self.disk_access_mode.name(),
            self.memtable_bytes >> 20,
            self.block_cache_bytes >> 20,
            self.max_frame_bytes >> 20,
            self.max_connections,
        )
    }

    /// Where the read-only metrics listener binds, if it is enabled.
    pub fn metrics_listener(&self) -> Option<std::net::SocketAddr> {
        (self.metrics_port != 0).then(|| {
            std::net::SocketAddr::new(
                self.metrics_address.unwrap_or(self.listen_address),
                self.metrics_port,
            )
        })
    }

    /// The address other nodes and clients are told to use for this node.
    pub fn broadcast_address(&self) -> IpAddr {
        self.broadcast_address.unwrap_or(self.listen_address)
    }

    /// The CQL address clients and peers are told (`system.local.rpc_address`, events):
    /// `broadcast_rpc_address`, else the rpc address, else, when that is a wildcard
    /// (`0.0.0.0`, as in the Docker image), the broadcast address, as the official image's
    /// entrypoint sets it.
    pub fn broadcast_rpc_address(&self) -> IpAddr {
        match self.broadcast_rpc_address {
            Some(addr) => addr,
            None if self.rpc_address.is_unspecified() => self.broadcast_address(),
            None => self.rpc_address,
        }
    }

    /// Where a local client reaches this node's CQL port: the rpc address, or loopback
    /// when it listens on every interface.
    pub fn local_cql_address(&self) -> IpAddr {
        match self.rpc_address {
            IpAddr::V4(a) if a.is_unspecified() => IpAddr::from([127, 0, 0, 1]),
            IpAddr::V6(a) if a.is_unspecified() => IpAddr::from(std::net::Ipv6Addr::LOCALHOST),
            addr => addr,
        }
    }

    /// Where the engine keeps its files (WAL, arrays, manifest).
    pub fn engine_dir(&self) -> PathBuf {
        self.data_dir.join("engine")
    }
}

const MIB: u64 = 1 << 20;

/// Cassandra's default `file_cache_size`: the smaller of 512 MiB and a quarter of the heap
/// `cassandra-env.sh` sizes for a machine with `memory` bytes, i.e.
/// max(min(memory/2, 1 GiB), min(memory/4, 8 GiB)). 512 MiB from 8 GiB of memory up,
/// 256 MiB at 2-4 GiB; 256 MiB (a 1 GiB heap) when the memory is unknown.
fn default_file_cache_bytes(memory: Option<u64>) -> usize {
    let heap = memory.map_or(1024 * MIB, |m| {
        (m / 2).min(1024 * MIB).max((m / 4).min(8192 * MIB))
    });
    usize::try_from((heap / 4).min(512 * MIB)).unwrap_or(usize::MAX)
}

/// The memory this process may use: the machine's (`MemTotal`), or the container's cgroup
/// v2 limit when that is lower (a container sees the host's `MemTotal`).
fn detected_memory_bytes() -> Option<u64> {
    let total = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| meminfo_total_bytes(&text));
    let limit = std::fs::read_to_string("/sys/fs/cgroup/memory.max")
        .ok()
        .and_then(|text| text.trim().parse::<u64>().ok());
    match (total, limit) {
        (Some(t), Some(l)) => Some(t.min(l)),
        (t, l) => t.or(l),
    }
}

fn meminfo_total_bytes(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *slot = v;
    }
}

fn set_ip(slot: &mut IpAddr, key: &'static str, value: Option<&str>) -> Result<(), ConfigError> {
    if let Some(text) = value {
        *slot = ip_or_error(key, text)?;
    }
    Ok(())
}

fn invalid(key: &'static str, value: &str, form: &'static str) -> ConfigError {
    ConfigError::Value {
        key,
        value: value.to_string(),
        form,
    }
}

/// An address from the official image's variables, where `auto` means the container's own
/// address.
fn env_ip(key: &'static str, text: &str) -> Result<IpAddr, ConfigError> {
    if text.trim() == "auto" {
        return own_address().ok_or_else(|| {
            invalid(
                key,
                text,
                "an IP address, or auto with a non-loopback IPv4 interface",
            )
        });
    }
    ip_or_error(key, text)
}

/// The first IPv4 address of a non-loopback interface that is not link-local: the rule of
/// the official image's entrypoint (`ip address`, skipping `lo`, 127/8 and 169.254/16).
fn own_address() -> Option<IpAddr> {
    let interfaces = if_addrs::get_if_addrs().ok()?;
    interfaces.into_iter().map(|i| i.ip()).find(|ip| match ip {
        IpAddr::V4(v4) => !v4.is_loopback() && !v4.is_link_local(),
        IpAddr::V6(_) => false,
    })
}

fn ip_or_error(key: &'static str, text: &str) -> Result<IpAddr, ConfigError> {
    parse_ip(text).ok_or_else(|| invalid(key, text, "an IP address or localhost"))
}

fn parse_ip(text: &str) -> Option<IpAddr> {
    match text.trim() {
        "localhost" => Some(IpAddr::from([127, 0, 0, 1])),
        other => other.parse().ok(),
    }
}

/// A YAML value on one line, for messages.
fn inline(value: &serde_yaml_ng::Value) -> String {
    match value {
        serde_yaml_ng::Value::String(s) => format!("{s:?}"),
        other => serde_yaml_ng::to_string(other)
            .map(|s| s.trim().replace('\n', " "))
            .unwrap_or_default(),
    }
}

/// The text of a scalar, `None` for a map, a list or null.
fn scalar_text(value: &serde_yaml_ng::Value) -> Option<String> {
    match value {
        serde_yaml_ng::Value::String(s) => Some(s.clone()),
        serde_yaml_ng::Value::Number(n) => Some(n.to_string()),
        serde_yaml_ng::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn split_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// Cassandra 4.1+ data sizes (`DataStorageSpec`): `16MiB`, `512KiB`, `1GiB`, `100B`; the unit
/// is required, as in Cassandra (the legacy `*_in_mb` keys take bare numbers).
fn parse_size(text: &str) -> Option<usize> {
    const UNITS: [(&str, usize); 4] = [
        ("GiB", 1 << 30),
        ("MiB", 1 << 20),
        ("KiB", 1 << 10),
        ("B", 1),
    ];
    let text = text.trim();
    let (number, scale) = UNITS
        .iter()
        .find_map(|(suffix, scale)| Some((text.strip_suffix(suffix)?, *scale)))?;
    number.parse::<usize>().ok()?.checked_mul(scale)
}

/// Cassandra 4.1+ durations (`DurationSpec`): `10000ms`, `10s`, `2m`, `1h`, `1d`; the unit
/// is required (the legacy `*_in_ms` keys take bare numbers).
fn parse_duration_ms(text: &str) -> Option<u64> {
    const UNITS: [(&str, u64); 5] = [
        ("ms", 1),
        ("s", 1000),
        ("m", 60_000),
        ("h", 3_600_000),
        ("d", 86_400_000),
    ];
    let text = text.trim();
    let (number, scale) = UNITS
        .iter()
        .find_map(|(suffix, scale)| Some((text.strip_suffix(suffix)?, *scale)))?;
    number.parse::<u64>().ok()?.checked_mul(scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn defaults_match_an_embedded_single_node() {
        let c = Config::load(&Overrides::default(), &no_env).expect("defaults");
        assert_eq!(c.native_transport_port, 9042);
        assert_eq!(c.rpc_address.to_string(), "127.0.0.1");
        assert_eq!(c.data_dir, PathBuf::from("./data"));
        assert_eq!(
            c.commitlog_sync,
            CommitlogSync::Periodic { period_ms: 10_000 }
        );
    }

    #[test]
    fn file_cache_default_follows_cassandras_heap_sizing() {
        let gib = 1024 * MIB;
        let cache_mib = |memory: Option<u64>| default_file_cache_bytes(memory) as u64 / MIB;
        assert_eq!(cache_mib(Some(24 * gib)), 512, "6 GiB heap");
        assert_eq!(cache_mib(Some(8 * gib)), 512, "2 GiB heap");
        assert_eq!(cache_mib(Some(4 * gib)), 256, "1 GiB heap");
        assert_eq!(cache_mib(Some(2 * gib)), 256, "1 GiB heap");
        assert_eq!(cache_mib(Some(gib)), 128, "512 MiB heap");
        assert_eq!(cache_mib(None), 256);
        assert_eq!(
            meminfo_total_bytes("MemTotal:       24576000 kB\nMemFree: 1 kB\n"),
            Some(24_576_000 * 1024)
        );
        assert_eq!(meminfo_total_bytes("MemFree: 1 kB\n"), None);
    }

    #[test]
    fn yaml_then_env_then_flags() {
        let dir = std::env::temp_dir().join(format!("strata-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("cassandra.yaml");
        std::fs::write(
            &path,
            "cluster_name: FromYaml\nnum_tokens: 8\nnative_transport_port: 9999\n\
             seed_provider:\n  - class_name: org.apache.cassandra.locator.SimpleSeedProvider\n    \
             parameters:\n      - seeds: \"10.0.0.1, 10.0.0.2\"\n\
             data_file_directories:\n  - /var/lib/strata\n\
             commitlog_sync: periodic\ncommitlog_sync_period: 5s\nmemtable_heap_space: 32MiB\n\
             concurrent_reads: 64\nbroadcast_rpc_address: 10.0.0.7\n\
             endpoint_snitch: org.apache.cassandra.locator.SimpleSnitch\n",
        )
        .expect("write yaml");
        let env = |k: &str| match k {
            "CASSANDRA_CLUSTER_NAME" => Some("FromEnv".to_string()),
            "CASSANDRA_NUM_TOKENS" => Some("4".to_string()),
            "CASSANDRA_DC" => Some("dc2".to_string()),
            "CASSANDRA_ENDPOINT_SNITCH" => Some("GossipingPropertyFileSnitch".to_string()),
            _ => None,
        };
        let flags = Overrides {
            config_file: Some(path),
            num_tokens: Some(2),
            ..Overrides::default()
        };
        let c = Config::load(&flags, &env).expect("config");
        assert_eq!(c.cluster_name, "FromEnv");
        assert_eq!(c.num_tokens, 2);
        assert_eq!(
            c.dc, "dc2",
            "the variable's snitch overrides the YAML's SimpleSnitch"
        );
        assert_eq!(c.broadcast_rpc_address().to_string(), "10.0.0.7");
        assert_eq!(c.native_transport_port, 9999);
        assert_eq!(c.seeds, vec!["10.0.0.1", "10.0.0.2"]);
        assert_eq!(c.data_dir, PathBuf::from("/var/lib/strata"));
        assert_eq!(
            c.commitlog_sync,
            CommitlogSync::Periodic { period_ms: 5000 }
        );
        assert_eq!(c.memtable_bytes, 32 << 20);
        assert_eq!(c.ignored_properties, vec!["concurrent_reads"]);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn official_image_variables() {
        let env = |k: &str| match k {
            "CASSANDRA_LISTEN_ADDRESS" => Some("10.5.0.2".to_string()),
            "CASSANDRA_RPC_ADDRESS" => Some("0.0.0.0".to_string()),
            "CASSANDRA_ENDPOINT_SNITCH" => Some("GossipingPropertyFileSnitch".to_string()),
            "CASSANDRA_DC" => Some("dc2".to_string()),
            _ => None,
        };
        let c = Config::load(&Overrides::default(), &env).expect("config");
        // As the image's entrypoint: broadcast_rpc_address and the seeds default to the
        // broadcast address, which defaults to the listen address.
        assert_eq!(c.broadcast_rpc_address().to_string(), "10.5.0.2");
        assert_eq!(c.seeds, vec!["10.5.0.2"]);
        assert_eq!(c.dc, "dc2");
        assert_eq!(c.local_cql_address().to_string(), "127.0.0.1");

        let env = |k: &str| match k {
            "CASSANDRA_BROADCAST_ADDRESS" => Some("10.5.0.9".to_string()),
            "CASSANDRA_BROADCAST_RPC_ADDRESS" => Some("10.5.0.8".to_string()),
            "CASSANDRA_SEEDS" => Some("node1, node2".to_string()),
            "CASSANDRA_ENDPOINT_SNITCH" => {
                Some("org.apache.cassandra.locator.SimpleSnitch".to_string())
            }
            "CASSANDRA_DC" => Some("dc2".to_string()),
            _ => None,
        };
        let c = Config::load(&Overrides::default(), &env).expect("config");
        assert_eq!(c.broadcast_address().to_string(), "10.5.0.9");
        assert_eq!(c.broadcast_rpc_address().to_string(), "10.5.0.8");
        assert_eq!(c.seeds, vec!["node1", "node2"]);
        assert_eq!(
            c.dc, "datacenter1",
            "SimpleSnitch ignores CASSANDRA_DC, as Cassandra"
        );

        let env = |k: &str| (k == "CASSANDRA_ENDPOINT_SNITCH").then(|| "Ec2Snitch".to_string());
        let err = Config::load(&Overrides::default(), &env).expect_err("unsupported snitch");
        assert!(
            err.to_string().contains("CASSANDRA_ENDPOINT_SNITCH"),
            "{err}"
        );
    }

    #[test]
    fn auto_listen_address_is_an_interface_address() {
        let env = |k: &str| (k == "CASSANDRA_LISTEN_ADDRESS").then(|| "auto".to_string());
        match Config::load(&Overrides::default(), &env) {
            Ok(c) => assert!(!c.listen_address.is_loopback(), "{}", c.listen_address),
            // A machine with only a loopback interface: the error names the variable.
            Err(e) => assert!(e.to_string().contains("CASSANDRA_LISTEN_ADDRESS"), "{e}"),
        }
    }

    #[test]
    fn bad_values_are_reported_with_their_key() {
        let flags = Overrides {
            rpc_address: Some("not-an-ip".into()),
            ..Overrides::default()
        };
        let err = Config::load(&flags, &no_env).expect_err("must fail");
        assert!(err.to_string().contains("--rpc-address"), "{err}");
    }
}
