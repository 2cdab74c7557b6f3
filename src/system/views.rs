//! Rows of `system_views.*`, Cassandra 5.0's virtual tables that operators and tools read:
//! `clients`, `settings`, `thread_pools`, `caches`, `disk_usage`, the local latency tables
//! and `sstable_tasks` (running merges).
//!
//! Where Cassandra reports a decaying rate (`per_second`, `recent_*_per_second`), Strata
//! gives the average since the node started: it keeps counts, not rate meters.

use prometheus::Histogram;

use super::RowBuilder;
use crate::clients::{Client, Stage};
use crate::error::{CqlError, CqlResult};
use crate::node::Node;
use crate::schema::{Catalog, Table};
use crate::storage::FullRow;

/// All rows of `system_views.<name>`.
pub(super) fn rows(
    node: &Node,
    catalog: &Catalog,
    table: &Table,
    name: &str,
) -> CqlResult<Vec<FullRow>> {
    match name {
        "caches" => caches(node, table),
        "clients" => clients(node, table),
        "disk_usage" => disk_usage(node, catalog, table),
        "local_read_latency" => latency(node, catalog, table, |t| &t.metrics.read),
        "local_scan_latency" => latency(node, catalog, table, |t| &t.metrics.range),
        "local_write_latency" => latency(node, catalog, table, |t| &t.metrics.write),
        "settings" => settings(node, table),
        "sstable_tasks" => sstable_tasks(node, table),
        "thread_pools" => thread_pools(node, table),
        other => Err(CqlError::Server(format!(
            "no generator for system_views.{other}"
        ))),
    }
}

/// The id a running merge has in `sstable_tasks` and `nodetool compactionstats`: stable
/// while it runs, distinct across nodes and merges.
pub fn merge_task_id(host_id: uuid::Uuid, merge_id: u64) -> uuid::Uuid {
    uuid::Uuid::new_v3(&host_id, &merge_id.to_be_bytes())
}

/// Seconds since the node started (at least one, for averages).
fn uptime_secs(node: &Node) -> f64 {
    (crate::clock::now_secs() - i64::from(node.generation())).max(1) as f64
}

/// Cassandra 5.0's `ClientsTable`: one row per connection, with the role it logged in as
/// (AllowAllAuthenticator's `anonymous` when no authenticator is configured, null until
/// the login otherwise) and its TLS session.
fn clients(node: &Node, table: &Table) -> CqlResult<Vec<FullRow>> {
    let password_auth = node.config().password_authenticator;
    node.clients()
        .all()
        .iter()
        .map(|client| {
            let state = client.state();
            let ip = client.address.ip();
            let mut row = RowBuilder::new(table)
                .inet("address", ip)
                .int("port", i32::from(client.address.port()))
                .text("hostname", &ip.to_string())
                .text("connection_stage", state.stage.name())
                .count("request_count", client.request_count())
                .boolean("ssl_enabled", client.tls.is_some());
            let user = if password_auth {
                state.user.as_deref()
            } else {
                Some("anonymous")
            };
            let mode = match user {
                Some(_) if password_auth => "Password",
                _ => "Unauthenticated",
            };
            row = row.text("authentication_mode", mode);
            if let Some(user) = user {
                row = row.text("username", user);
            }
            if let Some(tls) = &client.tls {
                row = row
                    .text("ssl_protocol", &tls.protocol)
                    .text("ssl_cipher_suite", &tls.cipher_suite);
            }
            if state.stage != Stage::Established {
                row = row.text_map("client_options", &state.options);
            }
            if let Some(version) = state.protocol_version {
                row = row.int("protocol_version", i32::from(version));
            }
            if let Some(name) = Client::option(&state, "DRIVER_NAME") {
                row = row.text("driver_name", name);
            }
            if let Some(version) = Client::option(&state, "DRIVER_VERSION") {
                row = row.text("driver_version", version);
            }
            if let Some(keyspace) = &state.keyspace {
                row = row.text("keyspace_name", keyspace);
            }
            row.finish()
        })
        .collect()
}

fn settings(node: &Node, table: &Table) -> CqlResult<Vec<FullRow>> {
    let mut settings = node.config().settings();
    settings.push(("partitioner", super::PARTITIONER.to_string()));
    settings.sort_by_key(|(name, _)| *name);
    settings
        .iter()
        .map(|(name, value)| {
            RowBuilder::new(table)
                .text("name", name)
                .text("value", value)
                .finish()
        })
        .collect()
}

fn thread_pools(node: &Node, table: &Table) -> CqlResult<Vec<FullRow>> {
    let engine = node.engine();
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let workers = i32::try_from(workers).unwrap_or(i32::MAX);
    let int = |n: u64| i32::try_from(n).unwrap_or(i32::MAX);
    let mut pools = node
        .metrics()
        .thread_pools(&engine.stats(), engine.running_merges().len());
    pools.sort_by_key(|p| p.name);
    pools
        .iter()
        .map(|pool| {
            // Merges and flushes run one at a time; requests on the runtime's workers.
            let limit = match pool.name {
                "CompactionExecutor" | "MemtableFlushWriter" => 1,
                _ => workers,
            };
            RowBuilder::new(table)
                .text("name", pool.name)
                .int("active_tasks", int(pool.active))
                .int("active_tasks_limit", limit)
                .count("blocked_tasks", 0)
                .count("blocked_tasks_all_time", 0)
                .count("completed_tasks", pool.completed)
                .int("pending_tasks", int(pool.pending))
                .finish()
        })
        .collect()
}

/// Cassandra's caches: `chunks` is the engine's block cache (Cassandra's chunk cache);
/// Strata has no key, row or counter cache, listed with no capacity as Cassandra lists
/// them when disabled.
fn caches(node: &Node, table: &Table) -> CqlResult<Vec<FullRow>> {
    let stats = node.engine().stats();
    let uptime = uptime_secs(node);
    let requests = stats.block_cache_hits + stats.block_cache_misses;
    let chunks = (
        "chunks",
        node.config().block_cache_bytes as u64,
        stats.block_cache_bytes as u64,
        stats.block_cache_entries,
        requests,
        stats.block_cache_hits,
    );
    [
        chunks,
        ("counters", 0, 0, 0, 0, 0),
        ("keys", 0, 0, 0, 0, 0),
        ("rows", 0, 0, 0, 0, 0),
    ]
    .iter()
    .map(|&(name, capacity, size, entries, requests, hits)| {
        // Cassandra's ratio gauge is NaN before the first request.
        let ratio = if requests == 0 {
            f64::NAN
        } else {
            hits as f64 / requests as f64
        };
        RowBuilder::new(table)
            .text("name", name)
            .count("capacity_bytes", capacity)
            .int("entry_count", i32::try_from(entries).unwrap_or(i32::MAX))
            .count("hit_count", hits)
            .double("hit_ratio", ratio)
            .count("recent_hit_rate_per_second", (hits as f64 / uptime) as u64)
            .count(
                "recent_request_rate_per_second",
                (requests as f64 / uptime) as u64,
            )
            .count("request_count", requests)
            .count("size_bytes", size)
            .finish()
    })
    .collect()
}

/// User tables by keyspace and name (the order of Cassandra's `(keyspace, table)` keys).
fn user_tables(catalog: &Catalog) -> Vec<&Table> {
    let mut tables: Vec<&Table> = catalog.user_tables().map(|t| t.as_ref()).collect();
    tables.sort_by(|a, b| (&a.def.keyspace, &a.def.name).cmp(&(&b.def.keyspace, &b.def.name)));
    tables
}

/// Bytes on disk and in memtables of the entries written in each table's own versions
/// (its head and snapshots; data a clone shares with its source counts for the source).
fn disk_usage(node: &Node, catalog: &Catalog, table: &Table) -> CqlResult<Vec<FullRow>> {
    user_tables(catalog)
        .into_iter()
        .map(|t| {
            let bytes = super::estimates::table_bytes(node, catalog, t)?;
            RowBuilder::new(table)
                .text("keyspace_name", &t.def.keyspace)
                .text("table_name", &t.def.name)
                .count("mebibytes", bytes.div_ceil(1 << 20))
                .finish()
        })
        .collect()
}

/// A latency table: count, median, 99th percentile and maximum in milliseconds (bucket
/// upper bounds, rounded to 3 decimals as Cassandra rounds them), and the rate.
fn latency(
    node: &Node,
    catalog: &Catalog,
    table: &Table,
    histogram: impl Fn(&Table) -> &Histogram,
) -> CqlResult<Vec<FullRow>> {
    let uptime = uptime_secs(node);
    let ms = |h: &Histogram, q: f64| (crate::metrics::percentile_micros(h, q)).round() / 1000.0;
    user_tables(catalog)
        .into_iter()
        .map(|t| {
            let h = histogram(t);
            let count = h.get_sample_count();
            RowBuilder::new(table)
                .text("keyspace_name", &t.def.keyspace)
                .text("table_name", &t.def.name)
                .count("count", count)
                .double("50th_ms", ms(h, 0.5))
                .double("99th_ms", ms(h, 0.99))
                .double("max_ms", ms(h, 1.0))
                .double(
                    "per_second",
                    (count as f64 / uptime * 1000.0).round() / 1000.0,
                )
                .finish()
        })
        .collect()
}

/// Running merges: a merge covers every table whose data its arrays hold, so keyspace and
/// table are `*`, as Cassandra shows tasks that are not about one table.
fn sstable_tasks(node: &Node, table: &Table) -> CqlResult<Vec<FullRow>> {
    node.engine()
        .running_merges()
        .iter()
        .map(|merge| {
            let ratio = if merge.bytes_total == 0 {
                1.0
            } else {
                merge.bytes_done as f64 / merge.bytes_total as f64
            };
            RowBuilder::new(table)
                .text("keyspace_name", "*")
                .text("table_name", "*")
                .uuid("task_id", merge_task_id(node.host_id(), merge.id))
                .double("completion_ratio", ratio)
                .text("kind", "compaction")
                .count("progress", merge.bytes_done)
                .count("total", merge.bytes_total)
                .text("unit", "bytes")
                .finish()
        })
        .collect()
}
