//! What an operator scrapes: Prometheus text format on the admin endpoint (`/metrics`),
//! built with the `prometheus` crate (typed counters, gauges and histograms, its text
//! encoder and its process collector), so the exposition format is the reference one.
//!
//! The names follow Cassandra's metrics (README maps each to its Cassandra name):
//! `ClientRequest` latencies per operation type, `Table` read/write/range latencies per
//! table, errors by CQL code, connected clients, and engine state read at scrape time.
//!
//! Invariants: the hot path only touches pre-resolved handles (an atomic add per counter,
//! a few per histogram observation): no allocation, no lock, no label lookup per request.
//! Per-table handles are resolved when the catalog is built (`Table::metrics`), error
//! counters for every CQL code at start. Counters only increase; gauges are set at scrape.

use std::sync::{LazyLock, Mutex};

use prometheus::core::Metric;
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts,
    Registry, TextEncoder,
};
use strata_engine::Stats;

/// Latency buckets in seconds, 50 µs to 10 s (Cassandra's request timeouts are 2-10 s).
const LATENCY_BUCKETS: [f64; 17] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0,
];

/// Every error code of the native protocol (v5 spec, section 9), for `errors_total`.
const ERROR_CODES: [i32; 20] = [
    0x0000, 0x000A, 0x0100, 0x1000, 0x1001, 0x1002, 0x1003, 0x1100, 0x1200, 0x1300, 0x1400, 0x1500,
    0x1600, 0x2000, 0x2100, 0x2200, 0x2300, 0x2400, 0x2500, 0x0101,
];

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// The process's metrics. A process runs one node, so they are process-wide: the
/// catalog resolves per-table handles without a path to the node.
pub fn global() -> &'static Metrics {
    &METRICS
}

/// Cassandra's `ClientRequest` latency scopes, one histogram each.
pub struct ClientRequests {
    pub read: Histogram,
    pub range_slice: Histogram,
    pub write: Histogram,
    pub cas_read: Histogram,
    pub cas_write: Histogram,
}

/// Cassandra's per-table `ReadLatency`, `RangeLatency` and `WriteLatency`.
#[derive(Clone, Debug)]
pub struct TableMetrics {
    pub read: Histogram,
    pub range: Histogram,
    pub write: Histogram,
}

/// The upper bound (µs) of the bucket of `histogram` holding its `quantile` sample: a
/// percentile as bucketed histograms (Cassandra's too) report it; 0 with no samples.
pub fn percentile_micros(histogram: &Histogram, quantile: f64) -> f64 {
    let buckets: Vec<(f64, u64)> = histogram
        .metric()
        .get_histogram()
        .get_bucket()
        .iter()
        .map(|b| (b.upper_bound(), b.cumulative_count()))
        .collect();
    bucket_micros(&buckets, histogram.get_sample_count(), quantile)
}

/// `percentile_micros` over (upper bound in seconds, cumulative count) buckets. Samples
/// beyond the last bucket report its bound.
fn bucket_micros(buckets: &[(f64, u64)], count: u64, quantile: f64) -> f64 {
    if count == 0 {
        return 0.0;
    }
    let rank = ((quantile * count as f64).ceil() as u64).clamp(1, count);
    let bound = buckets
        .iter()
        .find(|(_, cumulative)| *cumulative >= rank)
        .or(buckets.last())
        .map_or(0.0, |(bound, _)| *bound);
    bound * 1e6
}

/// One of Cassandra's thread pools with the counts of the work Strata does in its place
/// (`nodetool tpstats`, `system_views.thread_pools`): Strata has no staged pools.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThreadPool {
    pub name: &'static str,
    pub active: u64,
    pub pending: u64,
    pub completed: u64,
}

pub struct Metrics {
    registry: Registry,
    pub connections_opened: IntCounter,
    pub connections_closed: IntCounter,
    connected_clients: IntGauge,
    pub requests: IntCounter,
    pub request_errors: IntCounter,
    pub protocol_errors: IntCounter,
    pub request_micros_total: IntCounter,
    errors: Vec<(i32, IntCounter)>,
    pub client_requests: ClientRequests,
    /// Coordinated reads whose replicas' digests disagreed, so that their data was read
    /// again to repair them (Cassandra ReadRepair Attempted).
    pub read_repair_attempted: IntCounter,
    /// Of those, the reads that found replicas differing and repaired them before
    /// answering (Cassandra ReadRepair RepairedBlocking).
    pub read_repair_blocking: IntCounter,
    /// Ranges, partitions and bytes this node fetched from other replicas for `nodetool
    /// removenode` (Cassandra's Streaming metrics, TotalIncomingBytes).
    pub streamed_ranges: IntCounter,
    pub streamed_partitions: IntCounter,
    pub streamed_bytes: IntCounter,
    table_read: HistogramVec,
    table_range: HistogramVec,
    table_write: HistogramVec,
    engine: EngineMetrics,
}

/// Engine counters are mirrored into typed counters at scrape time (`sync`), so they keep
/// the counter type; `sync_lock` keeps two concurrent scrapes from adding a delta twice.
struct EngineMetrics {
    sync_lock: Mutex<()>,
    live_arrays: IntGauge,
    array_bytes: IntGauge,
    memtable_bytes: IntGauge,
    frozen_memtables: IntGauge,
    block_cache_bytes: IntGauge,
    versions: IntGauge,
    pending_merges: IntGauge,
    commitlog_bytes: IntGauge,
    cache_hit_rate: prometheus::Gauge,
    cache_hits: IntCounter,
    cache_requests: IntCounter,
    flushes: IntCounter,
    merges: IntCounter,
    scan_arrays_read: IntCounter,
    scan_arrays_skipped: IntCounter,
}

impl Metrics {
    fn new() -> Metrics {
        let registry = Registry::new();
        let counter = |name: &str, help: &str| register(&registry, IntCounter::new(name, help));
        let gauge = |name: &str, help: &str| register(&registry, IntGauge::new(name, help));
        let latency = |name: &str, help: &str, labels: &[&str]| {
            let opts = HistogramOpts::new(name, help).buckets(LATENCY_BUCKETS.to_vec());
            register(&registry, HistogramVec::new(opts, labels))
        };
        let client = latency(
            "strata_client_request_latency_seconds",
            "coordinator latency of client requests by scope (Cassandra ClientRequest Latency)",
            &["scope"],
        );
        let scope = |s: &str| client.with_label_values(&[s]);
        let errors_vec = register(
            &registry,
            IntCounterVec::new(
                Opts::new(
                    "strata_cql_errors_total",
                    "CQL error responses by protocol error code",
                ),
                &["code"],
            ),
        );
        let errors = ERROR_CODES
            .iter()
            .map(|&code| {
                (
                    code,
                    errors_vec.with_label_values(&[&format!("0x{code:04X}")]),
                )
            })
            .collect();
        #[cfg(target_os = "linux")]
        {
            let process = prometheus::process_collector::ProcessCollector::for_self();
            let _ = registry.register(Box::new(process));
        }
        let table = ["keyspace", "table"];
        Metrics {
            connections_opened: counter("strata_connections_opened_total", "CQL connections accepted"),
            connections_closed: counter("strata_connections_closed_total", "CQL connections closed"),
            connected_clients: gauge("strata_connected_native_clients", "CQL connections open (Cassandra Client connectedNativeClients)"),
            requests: counter("strata_requests_total", "CQL requests handled"),
            request_errors: counter("strata_request_errors_total", "CQL requests answered with an error"),
            protocol_errors: counter("strata_protocol_errors_total", "connections closed for a protocol error"),
            request_micros_total: counter("strata_request_micros_total", "microseconds spent executing requests"),
            errors,
            client_requests: ClientRequests {
                read: scope("Read"),
                range_slice: scope("RangeSlice"),
                write: scope("Write"),
                cas_read: scope("CASRead"),
                cas_write: scope("CASWrite"),
            },
            read_repair_attempted: counter("strata_read_repair_attempted_total", "reads whose replicas' digests disagreed, read again in full to repair them (Cassandra ReadRepair Attempted)"),
            read_repair_blocking: counter("strata_read_repair_repaired_blocking_total", "reads that repaired differing replicas before answering (Cassandra ReadRepair RepairedBlocking)"),
            streamed_ranges: counter("strata_streaming_incoming_ranges_total", "token ranges of a table's keyspace fetched from other replicas for removenode"),
            streamed_partitions: counter("strata_streaming_incoming_partitions_total", "partitions fetched from other replicas for removenode"),
            streamed_bytes: counter("strata_streaming_incoming_bytes_total", "bytes of cells fetched from other replicas for removenode (Cassandra Streaming TotalIncomingBytes)"),
            table_read: latency("strata_table_read_latency_seconds", "single-partition read latency per table (Cassandra Table ReadLatency)", &table),
            table_range: latency("strata_table_range_latency_seconds", "range read latency per table (Cassandra Table RangeLatency)", &table),
            table_write: latency("strata_table_write_latency_seconds", "write latency per table (Cassandra Table WriteLatency)", &table),
            engine: EngineMetrics {
                sync_lock: Mutex::new(()),
                live_arrays: gauge("strata_live_arrays", "immutable arrays on disk (Cassandra LiveSSTableCount)"),
                array_bytes: gauge("strata_live_disk_space_used_bytes", "bytes in arrays on disk (Cassandra LiveDiskSpaceUsed)"),
                memtable_bytes: gauge("strata_memtable_live_data_size_bytes", "estimated bytes in the active and frozen memtables (Cassandra AllMemtablesLiveDataSize)"),
                frozen_memtables: gauge("strata_pending_flushes", "memtables frozen and waiting for flush (Cassandra PendingFlushes)"),
                block_cache_bytes: gauge("strata_block_cache_size_bytes", "bytes held by the block cache (Cassandra ChunkCache Size)"),
                versions: gauge("strata_engine_versions", "versions in the version tree"),
                pending_merges: gauge("strata_pending_compactions", "engine levels waiting for a merge (Cassandra Compaction PendingTasks)"),
                commitlog_bytes: gauge("strata_commitlog_total_size_bytes", "bytes of commit log (WAL) segments on disk (Cassandra CommitLog TotalCommitLogSize)"),
                cache_hit_rate: register(&registry, prometheus::Gauge::new("strata_block_cache_hit_rate", "block cache hits / requests of reads since start (Cassandra ChunkCache HitRate)")),
                cache_hits: counter("strata_block_cache_hits_total", "block cache hits of reads (Cassandra ChunkCache Hits)"),
                cache_requests: counter("strata_block_cache_requests_total", "block cache lookups of reads (Cassandra ChunkCache Requests)"),
                flushes: counter("strata_memtable_flushes_total", "memtable flushes (Cassandra MemtableSwitchCount)"),
                merges: counter("strata_compactions_completed_total", "array merges completed (Cassandra Compaction CompletedTasks)"),
                scan_arrays_read: counter("strata_scan_arrays_read_total", "arrays opened by scans (Cassandra SSTablesPerReadHistogram, summed)"),
                scan_arrays_skipped: counter("strata_scan_arrays_skipped_total", "arrays partition reads skipped by the prefix filter"),
            },
            registry,
        }
    }

    /// Counts one error response with the given protocol error code.
    pub fn error(&self, code: i32) {
        self.request_errors.inc();
        if let Some((_, counter)) = self.errors.iter().find(|(c, _)| *c == code) {
            counter.inc();
        }
    }

    /// Cassandra's pools, by name: merges (CompactionExecutor, `running_merges` of them
    /// active now), flushes, writes, requests and reads, with their counts since start.
    pub fn thread_pools(&self, engine: &Stats, running_merges: usize) -> Vec<ThreadPool> {
        let client = &self.client_requests;
        let reads = client.read.get_sample_count()
            + client.range_slice.get_sample_count()
            + client.cas_read.get_sample_count();
        let writes = client.write.get_sample_count() + client.cas_write.get_sample_count();
        let pool = |name, active, pending, completed| ThreadPool {
            name,
            active,
            pending,
            completed,
        };
        vec![
            pool(
                "CompactionExecutor",
                running_merges as u64,
                engine.pending_merges as u64,
                engine.merges,
            ),
            pool(
                "MemtableFlushWriter",
                0,
                engine.frozen_memtables as u64,
                engine.flushes,
            ),
            pool("MutationStage", 0, 0, writes),
            pool("Native-Transport-Requests", 0, 0, self.requests.get()),
            pool("ReadStage", 0, 0, reads),
        ]
    }

    /// The latency histograms of one table (resolved once per catalog build).
    pub fn table(&self, keyspace: &str, table: &str) -> TableMetrics {
        let labels = [keyspace, table];
        TableMetrics {
            read: self.table_read.with_label_values(&labels),
            range: self.table_range.with_label_values(&labels),
            write: self.table_write.with_label_values(&labels),
        }
    }

    /// Every metric in Prometheus text format, with the engine's state as of now and the
    /// size of the commit log segments.
    pub fn render(&self, engine: &Stats, commitlog_bytes: u64) -> String {
        self.sync(engine, commitlog_bytes);
        let opened = self.connections_opened.get();
        self.connected_clients.set(
            i64::try_from(opened.saturating_sub(self.connections_closed.get())).unwrap_or(i64::MAX),
        );
        let mut out = Vec::new();
        // Encoding to a Vec cannot fail but for an invalid metric, which `new` rules out.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }

    fn sync(&self, s: &Stats, commitlog_bytes: u64) {
        let e = &self.engine;
        let _guard = e.sync_lock.lock().unwrap_or_else(|p| p.into_inner());
        let set = |g: &IntGauge, v: u64| g.set(i64::try_from(v).unwrap_or(i64::MAX));
        set(&e.live_arrays, s.arrays as u64);
        set(&e.array_bytes, s.array_bytes);
        set(&e.memtable_bytes, s.memtable_bytes as u64);
        set(&e.frozen_memtables, s.frozen_memtables as u64);
        set(&e.block_cache_bytes, s.block_cache_bytes as u64);
        set(&e.versions, s.versions as u64);
        set(&e.pending_merges, s.pending_merges as u64);
        set(&e.commitlog_bytes, commitlog_bytes);
        let requests = s.block_cache_hits + s.block_cache_misses;
        e.cache_hit_rate.set(if requests == 0 {
            0.0
        } else {
            s.block_cache_hits as f64 / requests as f64
        });
        let advance = |c: &IntCounter, v: u64| c.inc_by(v.saturating_sub(c.get()));
        advance(&e.cache_hits, s.block_cache_hits);
        advance(&e.cache_requests, requests);
        advance(&e.flushes, s.flushes);
        advance(&e.merges, s.merges);
        advance(&e.scan_arrays_read, s.scan_arrays_read);
        advance(&e.scan_arrays_skipped, s.scan_arrays_skipped_by_prefix);
    }

    /// Compatibility with the counters' old call sites: `Metrics::add(&m.requests, 1)`.
    pub fn add(counter: &IntCounter, n: u64) {
        counter.inc_by(n);
    }
}

/// Registers a freshly built collector; both steps fail only for an invalid or duplicate
/// name, a programming error caught by the tests.
// The names and help texts are constants: an error here is a bug every start (and the
// unit test, which builds the registry) hits at once, never something input can cause.
#[allow(clippy::expect_used)]
fn register<C: prometheus::core::Collector + Clone + 'static>(
    registry: &Registry,
    built: prometheus::Result<C>,
) -> C {
    let collector = built.expect("valid metric definition");
    registry
        .register(Box::new(collector.clone()))
        .expect("unique metric name");
    collector
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_bucket_upper_bounds_in_micros() {
        let buckets = [(0.0001, 1), (0.001, 9), (0.01, 10)];
        assert_eq!(bucket_micros(&buckets, 10, 0.0), 100.0);
        assert_eq!(bucket_micros(&buckets, 10, 0.5), 1000.0);
        assert_eq!(bucket_micros(&buckets, 10, 0.95), 10000.0);
        assert_eq!(bucket_micros(&buckets, 10, 1.0), 10000.0);
        assert_eq!(bucket_micros(&buckets, 0, 0.5), 0.0);
        assert_eq!(
            bucket_micros(&[(0.0001, 0), (0.001, 0)], 3, 0.5),
            1000.0,
            "beyond the last bucket"
        );
    }

    #[test]
    fn render_types_counters_as_counters_and_holds_histograms() {
        let m = global();
        m.client_requests.read.observe(0.000_3);
        m.error(0x2200);
        let table = m.table("ks", "t");
        table.write.observe(0.002);
        let stats = Stats {
            flushes: 3,
            block_cache_hits: 3,
            block_cache_misses: 1,
            ..Stats::default()
        };
        let text = m.render(&stats, 42);
        for line in [
            "# TYPE strata_client_request_latency_seconds histogram",
            "strata_client_request_latency_seconds_bucket{scope=\"Read\",le=\"0.0005\"}",
            "strata_table_write_latency_seconds_count{keyspace=\"ks\",table=\"t\"}",
            "# TYPE strata_memtable_flushes_total counter",
            "strata_memtable_flushes_total 3",
            "# TYPE strata_requests_total counter",
            "strata_cql_errors_total{code=\"0x2200\"}",
            "strata_commitlog_total_size_bytes 42",
            "strata_block_cache_hit_rate 0.75",
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
        // A second scrape with the same engine counters adds nothing.
        assert!(m
            .render(&stats, 42)
            .contains("strata_memtable_flushes_total 3"));
    }
}
