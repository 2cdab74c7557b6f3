//! The node: configuration plus every long-lived component, shared by all connections.
//!
//! Invariant: `Node::open` is the only place components are wired together; everything
//! else receives an `Arc<Node>`.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use strata_engine::{
    BackgroundThread, DiskAccessMode, Engine, Options as EngineOptions, SyncMode, SystemClock,
};
use strata_protocol::Event;
use tokio::sync::{broadcast, watch};
use uuid::Uuid;

use crate::auth::AuthCache;
use crate::cluster::gossip::{peer_records_prefix, Gossip, Membership};
use crate::cluster::membership::MembershipState;
use crate::cluster::messaging::{Messaging, MessagingConfig, Network, Tcp};
use crate::cluster::metadata::{MetaNode, MetadataLog, Setup};
use crate::cluster::ring::Endpoint;
use crate::cluster::{Coordinator, Deadlines, Host, LocalReplica, Ring, SharedRing};
use crate::config::{CommitlogSync, Config};
use crate::damage::DiskFailure;
use crate::error::CqlResult;
use crate::metrics::{self, Metrics};
use crate::prepared_cache::PreparedCache;
use crate::schema::{Catalog, SchemaStore, SchemaWrite};

/// Events buffered per registered connection before a slow one starts missing them.
const EVENT_BUFFER: usize = 256;

/// Cassandra's operation mode (`StorageService.getOperationMode`), the states a node goes
/// through today; `strata health` reports healthy only in `Normal`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Storage open, CQL not yet served.
    Starting,
    /// Serving CQL.
    Normal,
    /// Stopped accepting clients; flushing.
    Draining,
    /// Flushed, serving no clients: about to exit, or (after `nodetool drain`) until stopped.
    Drained,
}

impl Mode {
    /// Cassandra's name of the mode, as `nodetool netstats` prints it.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Starting => "STARTING",
            Mode::Normal => "NORMAL",
            Mode::Draining => "DRAINING",
            Mode::Drained => "DRAINED",
        }
    }
}

/// The networks a node talks to its peers over: TCP messaging and UDP gossip in
/// production (`Env::default`); the whole-node simulation (`crate::sim`) passes
/// in-memory ones it can delay, cut and partition.
pub struct Env {
    pub network: Arc<dyn Network>,
    pub gossip: Arc<dyn chitchat::transport::Transport>,
}

impl Default for Env {
    fn default() -> Env {
        Env {
            network: Arc::new(Tcp),
            gossip: Arc::new(chitchat::transport::UdpTransport),
        }
    }
}

pub struct Node {
    config: Config,
    engine: Arc<Engine>,
    schema: Arc<SchemaStore>,
    /// The schema's Raft log (every DDL commits through it).
    metadata: MetadataLog,
    coordinator: Coordinator,
    prepared: PreparedCache,
    events: broadcast::Sender<Event>,
    host_id: Uuid,
    /// Seconds since the epoch at start, as Cassandra's gossip generation.
    generation: i32,
    metrics: &'static Metrics,
    /// Completed request traces (`system_traces`).
    traces: crate::trace::TraceStore,
    /// Set by `run` as the node starts serving and shuts down; read by the admin endpoint.
    mode: watch::Sender<Mode>,
    /// The other nodes, as gossip last described them.
    membership: Membership,
    /// Internode requests and responses (TCP on `storage_port`).
    messaging: Messaging,
    /// Set once gossip runs (right after the node is built, before CQL is served).
    gossip: OnceLock<Gossip>,
    /// The CQL connections open now (`system_views.clients`).
    clients: Arc<crate::clients::ClientRegistry>,
    /// Roles and permissions last read from `system_auth` (used only with an
    /// authenticator or authorizer configured).
    auth: AuthCache,
    /// `disk_failure_policy`: told of storage errors, may stop the native transport.
    disk_failure: Arc<DiskFailure>,
}

impl Node {
    /// Opens storage, binds internode messaging, joins gossip and the metadata group, and
    /// takes the node's place in the ring through the metadata log (on a first start, with
    /// tokens allocated against the ring the log holds).
    pub async fn open(config: Config) -> anyhow::Result<Arc<Node>> {
        Node::open_with(config, Env::default()).await
    }

    /// `open` on the networks of `env` (the whole-node simulation's in-memory ones).
    pub async fn open_with(config: Config, env: Env) -> anyhow::Result<Arc<Node>> {
        let storage = tokio::task::spawn_blocking(move || open_storage(config)).await??;
        let Storage {
            config,
            engine,
            schema,
            host_id,
            tokens,
            local_replica,
            version_names,
            disk_failure,
        } = storage;
        let peers = Membership::load_persisted(schema.local_records(peer_records_prefix()));
        // The ring is the metadata log's nodes (`cluster::topology`); this node's own
        // tokens, persisted by an earlier run, until the log has its record.
        let mut ring = Ring::new(Endpoint {
            host_id,
            address: config.broadcast_address(),
            dc: config.dc.clone(),
            rack: config.rack.clone(),
            tokens: tokens.clone().unwrap_or_default(),
        });
        ring.sync(schema.catalog().nodes.values());
        let internode = SocketAddr::new(config.listen_address, config.storage_port);
        let messaging = Messaging::bind_on(
            MessagingConfig::new(config.cluster_name.clone(), host_id, internode),
            env.network,
        )
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen for internode messages on {internode}: {e}"))?;
        let coordinator = Coordinator::new(
            SharedRing::new(ring),
            Arc::new(local_replica),
            Deadlines {
                write: Duration::from_millis(config.write_request_timeout_ms),
                read: Duration::from_millis(config.read_request_timeout_ms),
                range: Duration::from_millis(config.range_request_timeout_ms),
                cas_contention: Duration::from_millis(config.cas_contention_timeout_ms),
            },
            config.null_storage,
        );
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        let schema = Arc::new(schema);
        let metadata =
            start_metadata(&config, host_id, &schema, &engine, &messaging, &events).await?;
        let auth = AuthCache::new(config.auth_cache_times());
        let node = Arc::new(Node {
            generation: crate::clock::now_secs() as i32,
            config,
            engine,
            schema,
            metadata,
            coordinator,
            prepared: PreparedCache::default(),
            events,
            host_id,
            metrics: metrics::global(),
            traces: crate::trace::TraceStore::default(),
            mode: watch::Sender::new(Mode::Starting),
            membership: Membership::new(MembershipState::new(host_id, peers)),
            messaging,
            gossip: OnceLock::new(),
            clients: Arc::default(),
            auth,
            disk_failure,
        });
        let weak = Arc::downgrade(&node);
        let _ = version_names.set(Box::new(move |version| {
            weak.upgrade()?.table_of_version(version)
        }));
        // The data path across nodes: serve the replica verbs, and let the coordinator
        // reach the other replicas.
        let host: Arc<dyn Host> = node.clone();
        crate::cluster::replica::serve(&node.messaging, Arc::downgrade(&host));
        crate::cluster::streaming::serve(&node.messaging, Arc::downgrade(&host));
        node.coordinator
            .connect(Arc::new(crate::cluster::replica::MessagingTransport {
                messaging: node.messaging.clone(),
                storage_port: node.config.storage_port,
                node: Arc::downgrade(&host),
            }));
        let gossip = Gossip::start(node.clone(), &*env.gossip).await?;
        crate::cluster::topology::follow(&host);
        crate::cluster::topology::join_ring(&host, tokens).await?;
        let _ = node.gossip.set(gossip);
        Ok(node)
    }

    /// `ks/table` of the table whose branch holds `version` (the nearest ancestor that is
    /// a table's `data_version`), for log lines about engine versions.
    pub fn table_of_version(&self, version: strata_engine::VersionId) -> Option<String> {
        let catalog = self.catalog();
        let mut current = Some(version);
        while let Some(v) = current {
            if let Some(t) = catalog.user_tables().find(|t| t.def.data_version == v) {
                return Some(format!("{}/{}", t.def.keyspace, t.def.name));
            }
            current = self.engine.version_info(v)?.parent;
        }
        None
    }

    /// The CQL connections open now.
    pub fn clients(&self) -> &Arc<crate::clients::ClientRegistry> {
        &self.clients
    }

    /// The other nodes, as gossip last described them.
    pub fn membership(&self) -> &Membership {
        &self.membership
    }

    /// Internode requests and responses.
    pub fn messaging(&self) -> &Messaging {
        &self.messaging
    }

    /// The gossiper (`None` only while `Node::open` is starting it).
    pub fn gossip(&self) -> Option<&Gossip> {
        self.gossip.get()
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The disk failure policy in force (its `transport_stopped` closes the listeners).
    pub fn disk_failure(&self) -> &Arc<DiskFailure> {
        &self.disk_failure
    }

    /// The storage engine, for what is not table data (versions, snapshots, stats,
    /// flush): table data goes through the coordinator.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    pub fn schema(&self) -> &SchemaStore {
        &self.schema
    }

    /// The schema's Raft log.
    pub fn metadata(&self) -> &MetadataLog {
        &self.metadata
    }

    /// Commits a DDL statement's `writes`, validated against `base`, through the
    /// metadata log; returns once every live node applied them.
    pub async fn commit_schema(&self, base: &Catalog, writes: Vec<SchemaWrite>) -> CqlResult<()> {
        let liveness = |host: Uuid| self.membership.liveness(self.host_id, &host);
        self.metadata.commit(base, writes, &liveness).await
    }

    /// The current catalog snapshot.
    pub fn catalog(&self) -> Arc<Catalog> {
        self.schema.catalog()
    }

    pub fn coordinator(&self) -> &Coordinator {
        &self.coordinator
    }

    pub fn prepared(&self) -> &PreparedCache {
        &self.prepared
    }

    /// Announces a schema or topology event to every registered connection (none
    /// registered is not an error).
    pub fn publish(&self, event: Event) {
        let _ = self.events.send(event);
    }

    /// Events from now on, for a connection that REGISTERed.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    pub fn host_id(&self) -> Uuid {
        self.host_id
    }

    /// Seconds since the epoch at start, as Cassandra's gossip generation.
    pub fn generation(&self) -> i32 {
        self.generation
    }

    pub fn metrics(&self) -> &Metrics {
        self.metrics
    }

    /// Completed request traces (`system_traces`).
    pub fn traces(&self) -> &crate::trace::TraceStore {
        &self.traces
    }

    /// Roles and permissions as last read from `system_auth`.
    pub fn auth(&self) -> &AuthCache {
        &self.auth
    }

    pub fn mode(&self) -> Mode {
        *self.mode.borrow()
    }

    /// The operation mode as it changes.
    pub fn mode_changes(&self) -> watch::Receiver<Mode> {
        self.mode.subscribe()
    }

    pub fn set_mode(&self, mode: Mode) {
        self.mode.send_replace(mode);
    }
}

impl Host for Node {
    fn config(&self) -> &Config {
        Node::config(self)
    }
    fn host_id(&self) -> Uuid {
        Node::host_id(self)
    }
    fn coordinator(&self) -> &Coordinator {
        Node::coordinator(self)
    }
    fn schema(&self) -> &SchemaStore {
        Node::schema(self)
    }
    fn engine(&self) -> &Arc<Engine> {
        Node::engine(self)
    }
    fn membership(&self) -> &Membership {
        Node::membership(self)
    }
    fn metadata(&self) -> &MetadataLog {
        Node::metadata(self)
    }
    fn publish(&self, event: Event) {
        Node::publish(self, event)
    }
    fn messaging(&self) -> &Messaging {
        Node::messaging(self)
    }
}

/// What opening storage gives: `tokens` is `None` on a first start.
struct Storage {
    config: Config,
    engine: Arc<Engine>,
    schema: SchemaStore,
    host_id: Uuid,
    tokens: Option<Vec<i64>>,
    local_replica: LocalReplica,
    /// The engine listener's table names, set once the node exists.
    version_names: crate::logging::VersionNames,
    disk_failure: Arc<DiskFailure>,
}

/// The blocking part of opening: the engine, the schema store, the host id, the
/// persisted tokens and the local replica's threads.
fn open_storage(config: Config) -> anyhow::Result<Storage> {
    std::fs::create_dir_all(config.engine_dir())?;
    let version_names = crate::logging::VersionNames::default();
    let engine = Arc::new(Engine::open_dir(
        config.engine_dir(),
        engine_options(&config, version_names.clone()),
        Arc::new(SystemClock),
    )?);
    let schema = SchemaStore::open(engine.clone()).map_err(|e| anyhow::anyhow!("{e}"))?;
    let host_id = schema.host_id().map_err(|e| anyhow::anyhow!("{e}"))?;
    let tokens = schema
        .local_record(crate::cluster::topology::TOKENS_RECORD)
        .map(|stored| serde_json::from_slice(&stored))
        .transpose()?;
    // Damage met while the schema was read was skipped there; say where it is.
    crate::damage::log_known(&engine);
    let disk_failure = DiskFailure::new(config.disk_failure_policy);
    let paxos_branch = crate::cluster::paxos::store::open_branch(&engine, &schema)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let local_replica = LocalReplica::new(engine.clone(), disk_failure.clone(), paxos_branch)?;
    Ok(Storage {
        config,
        engine,
        schema,
        host_id,
        tokens,
        local_replica,
        version_names,
        disk_failure,
    })
}

/// Starts the metadata log under `<data_dir>/metadata`, on this node's messaging; schema
/// changes applied for other nodes' statements are announced to this node's clients.
async fn start_metadata(
    config: &Config,
    host_id: Uuid,
    schema: &Arc<SchemaStore>,
    engine: &Arc<Engine>,
    messaging: &Messaging,
    events: &broadcast::Sender<Event>,
) -> anyhow::Result<MetadataLog> {
    // Peers reach this node at its broadcast address (the bound port when it was 0).
    let me = MetaNode {
        host_id,
        addr: SocketAddr::new(config.broadcast_address(), messaging.local_addr().port())
            .to_string(),
    };
    let mut seeds = Vec::new();
    for seed in crate::cluster::gossip::seed_endpoints(&config.seeds, config.storage_port) {
        match tokio::net::lookup_host(&seed).await {
            Ok(mut found) => seeds.extend(found.next()),
            Err(e) => tracing::warn!(seed, error = %e, "cannot resolve seed"),
        }
    }
    let events = events.clone();
    MetadataLog::start(Setup {
        dir: config.data_dir.join("metadata"),
        me,
        seeds,
        store: schema.clone(),
        engine: engine.clone(),
        messaging: messaging.clone(),
        listener: Arc::new(move |change| {
            let _ = events.send(Event::SchemaChange(change));
        }),
    })
    .await
}

fn engine_options(config: &Config, names: crate::logging::VersionNames) -> EngineOptions {
    let sync = match config.commitlog_sync {
        CommitlogSync::Batch => SyncMode::Batch,
        CommitlogSync::Periodic { period_ms } => SyncMode::Periodic {
            interval_ms: period_ms,
        },
    };
    EngineOptions {
        sync,
        memtable_bytes: config.memtable_bytes,
        block_cache_bytes: config.block_cache_bytes,
        disk_access_mode: if config.disk_access_mode.maps_data() {
            DiskAccessMode::Mmap
        } else {
            DiskAccessMode::Standard
        },
        prefix_extractor: Some(crate::storage::layout::PARTITION_PREFIX),
        // Every server read is a partition scan, and counter reads (the only point gets)
        // find their arrays through the partition filter too: a whole-key filter would cost
        // two inserts per CQL row (marker and cell keys) in every flush and merge.
        whole_key_filtering: false,
        listener: Some(crate::logging::engine_listener(names)),
        large_prefix_bytes: config.large_partition_warning_bytes,
        on_background_thread: Some(lower_background_priority),
        ..EngineOptions::default()
    }
}

/// Runs the engine's merges 10 nice levels below the process (`MERGE_NICE`, capped at 19;
/// relative, so a server started under `nice` keeps the same gap), so on a core shared with requests
/// (one pinned core in the benchmarks) a request's wake-up preempts a running merge (CFS
/// favours the thread whose weighted runtime is lower, and a nice-10 thread's runs about
/// ten times faster) instead of waiting out a merge's timeslice (what made write p99 9-10x
/// null-cql's). Flushes keep nice 0: writers wait for them once `max_frozen_memtables` are
/// frozen.
///
/// Not `SCHED_IDLE`: an idle-class thread gets almost nothing while anything else runs, so
/// under a busy host (other containers, a build) it is preempted inside the engine's short
/// critical sections (manifest and view locks a flush also takes, the merge lock `scrub`
/// and `nodetool compact` wait on) and stalls the normal-priority threads behind it, and
/// merges fall behind without bound; nor can a non-root process (the image runs as user
/// 10001, RLIMIT_NICE 0) lift a thread back out of it. A nice-10 merge keeps about a tenth
/// of a contended core, so it always progresses and never holds a lock for long.
fn lower_background_priority(thread: BackgroundThread) {
    if thread != BackgroundThread::Merge {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        let nice = (inherited_nice() + MERGE_NICE).min(19);
        // SAFETY: plain integer arguments. On Linux, PRIO_PROCESS with who 0 sets the nice
        // value of the calling thread only (nice is per thread there). Raising one's own
        // nice value needs no privilege. No safe wrapper in the tree offers it.
        let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, nice) };
        if rc != 0 {
            let error = std::io::Error::last_os_error();
            tracing::warn!(%error, "cannot lower the merge thread's priority (nice {nice})");
        }
    }
}

/// How many nice levels the merge thread runs below the process (see
/// `lower_background_priority`).
const MERGE_NICE: libc::c_int = 10;

/// The calling thread's nice value (a new thread inherits its creator's).
#[cfg(target_os = "linux")]
fn inherited_nice() -> libc::c_int {
    // SAFETY: reads the calling thread's (who 0) nice value; no pointers involved. -1 is
    // also a valid nice value, but errno is not needed: who 0 always exists.
    unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) }
}

#[cfg(test)]
mod tests {
    use strata_engine::BackgroundThread;

    /// The merge thread runs 10 nice levels below the process (requests preempt it); the
    /// flush thread keeps the process's (writers wait for it), also when the tests run under
    /// `nice`. Method: call the hook on fresh threads, as the engine does, and read each
    /// thread's policy and nice value back.
    #[cfg(target_os = "linux")]
    #[test]
    fn merges_run_10_nice_levels_below_the_process() {
        let after = |thread| {
            std::thread::spawn(move || {
                super::lower_background_priority(thread);
                // SAFETY: read the calling thread's (pid 0) policy and nice value; no
                // pointers involved.
                unsafe {
                    (
                        libc::sched_getscheduler(0),
                        libc::getpriority(libc::PRIO_PROCESS, 0),
                    )
                }
            })
            .join()
            .expect("thread")
        };
        let base = super::inherited_nice();
        assert_eq!(
            after(BackgroundThread::Merge),
            (libc::SCHED_OTHER, (base + super::MERGE_NICE).min(19))
        );
        assert_eq!(after(BackgroundThread::Flush), (libc::SCHED_OTHER, base));
    }
}
