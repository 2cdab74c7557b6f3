//! The read-only report verbs of nodetool, in Cassandra's layouts: `version`, `tpstats`,
//! `netstats`, `compactionstats`, `tablehistograms`, `proxyhistograms`.

use std::fmt::Write;

use prometheus::Histogram;

use crate::error::{CqlError, CqlResult};
use crate::metrics::percentile_micros;
use crate::node::Node;

pub fn version() -> String {
    format!("ReleaseVersion: {}\n", crate::version::RELEASE_VERSION)
}

/// `tpstats`: Strata has no staged thread pools; each row is the work Cassandra's pool
/// of that name does (reads, writes, requests, merges, flushes), with its counts.
pub fn tpstats(node: &Node) -> String {
    let engine = node.engine();
    let pools = node
        .metrics()
        .thread_pools(&engine.stats(), engine.running_merges().len());
    let mut out = format!(
        "{:<34}{:>7}{:>8}{:>11}{:>8}{:>17}\n",
        "Pool Name", "Active", "Pending", "Completed", "Blocked", "All time blocked"
    );
    for pool in pools {
        let _ = writeln!(
            out,
            "{:<34}{:>7}{:>8}{:>11}{:>8}{:>17}",
            pool.name, pool.active, pool.pending, pool.completed, 0, 0
        );
    }
    out.push_str("\nMessage type           Dropped\n");
    for kind in [
        "READ",
        "RANGE_SLICE",
        "MUTATION",
        "COUNTER_MUTATION",
        "REQUEST_RESPONSE",
    ] {
        let _ = writeln!(out, "{kind:<23}{:>7}", 0);
    }
    out
}

/// `netstats` in Cassandra's layout: the node's mode, streaming (Strata streams nothing
/// yet), read repairs (Mismatch (Background) stays 0: read repair is blocking only, as in
/// Cassandra 4 and later) and the internode message pools. Cassandra's "Gossip messages"
/// are its urgent connections; Strata's urgent link carries the same kind of traffic
/// (pings, metadata-log heartbeats and votes; gossip itself is chitchat's, over UDP).
pub fn netstats(node: &Node) -> String {
    use crate::cluster::messaging::Link;
    let metrics = node.metrics();
    let mut out = format!(
        "Mode: {}\nNot sending any streams.\nRead Repair Statistics:\nAttempted: {}\n\
         Mismatch (Blocking): {}\nMismatch (Background): 0\n",
        node.mode().name(),
        metrics.read_repair_attempted.get(),
        metrics.read_repair_blocking.get()
    );
    let _ = writeln!(
        out,
        "{:<25}{:>10}{:>10}{:>15}{:>10}",
        "Pool Name", "Active", "Pending", "Completed", "Dropped"
    );
    for (pool, link) in [
        ("Large messages", Link::Large),
        ("Small messages", Link::Small),
        ("Gossip messages", Link::Urgent),
    ] {
        let stats = node.messaging().link_stats(link);
        let _ = writeln!(
            out,
            "{pool:<25}{:>10}{:>10}{:>15}{:>10}",
            "n/a", stats.pending, stats.completed, stats.dropped
        );
    }
    out
}

/// `compactionstats [-H]` in Cassandra's layout: merges waiting, then each running merge
/// with its progress (input bytes read of the total) and the time left at its rate so far.
/// A merge covers every table whose data its arrays hold, so keyspace and table are `*`.
pub fn compactionstats(node: &Node, args: &[String]) -> CqlResult<String> {
    let human = match args {
        [] => false,
        [flag] if flag == "-H" || flag == "--human-readable" => true,
        _ => {
            return Err(CqlError::invalid(
                "compactionstats: unsupported arguments (supported: -H)",
            ))
        }
    };
    let engine = node.engine();
    let running = engine.running_merges();
    let mut out = format!("pending tasks: {}\n\n", engine.stats().pending_merges);
    if running.is_empty() {
        return Ok(out);
    }
    let bytes = |n: u64| {
        if human {
            crate::util::human_bytes(n)
        } else {
            n.to_string()
        }
    };
    let mut rows = vec![[
        "id",
        "compaction type",
        "keyspace",
        "table",
        "completed",
        "total",
        "unit",
        "progress",
    ]
    .map(String::from)];
    let mut remaining_secs = 0.0;
    for merge in &running {
        let progress = if merge.bytes_total == 0 {
            "n/a".to_string()
        } else {
            format!(
                "{:.2}%",
                merge.bytes_done as f64 * 100.0 / merge.bytes_total as f64
            )
        };
        rows.push([
            crate::system::merge_task_id(node.host_id(), merge.id).to_string(),
            "Compaction".into(),
            "*".into(),
            "*".into(),
            bytes(merge.bytes_done),
            bytes(merge.bytes_total),
            "bytes".into(),
            progress,
        ]);
        let rate = merge.bytes_done as f64 / merge.elapsed.as_secs_f64().max(1e-3);
        remaining_secs += (merge.bytes_total - merge.bytes_done) as f64 / rate.max(1.0);
    }
    out.push_str(&aligned(&rows));
    let secs = remaining_secs.min(1e9) as u64;
    let _ = writeln!(
        out,
        "{:>25}{:>10}",
        "Active compaction remaining time : ",
        format!(
            "{}h{:02}m{:02}s",
            secs / 3600,
            (secs % 3600) / 60,
            secs % 60
        )
    );
    Ok(out)
}

/// Rows with each column padded to its widest cell, one space apart (nodetool's
/// `TableBuilder`).
fn aligned<const N: usize>(rows: &[[String; N]]) -> String {
    let mut widths = [0usize; N];
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        out.push_str(line.join(" ").trim_end());
        out.push('\n');
    }
    out
}

/// `tablehistograms <keyspace> <table>` or `<keyspace.table>`.
pub fn tablehistograms(node: &Node, args: &[String]) -> CqlResult<String> {
    let (keyspace, name) = match args {
        [qualified] => qualified.split_once('.').ok_or_else(usage)?,
        [keyspace, table] => (keyspace.as_str(), table.as_str()),
        _ => return Err(usage()),
    };
    let catalog = node.catalog();
    let table = catalog
        .keyspace(keyspace)
        .ok_or_else(|| CqlError::invalid(format!("Keyspace {keyspace} does not exist")))?
        .tables
        .get(name)
        .ok_or_else(|| CqlError::invalid(format!("Table {name} does not exist")))?;
    let m = &table.metrics;
    Ok(format!(
        "{keyspace}/{name} histograms\n{}",
        percentiles(&[
            ("Read Latency", &m.read),
            ("Write Latency", &m.write),
            ("Range Latency", &m.range)
        ])
    ))
}

fn usage() -> CqlError {
    CqlError::invalid("tablehistograms requires keyspace and table name arguments")
}

/// `proxyhistograms`: the coordinator's latencies per request kind.
pub fn proxyhistograms(node: &Node) -> String {
    let c = &node.metrics().client_requests;
    format!(
        "proxy histograms\n{}",
        percentiles(&[
            ("Read Latency", &c.read),
            ("Write Latency", &c.write),
            ("Range Latency", &c.range_slice),
            ("CAS Read Latency", &c.cas_read),
            ("CAS Write Latency", &c.cas_write),
        ])
    )
}

/// Cassandra's percentile table in microseconds. A percentile is the upper bound of the
/// histogram bucket it falls in (Cassandra's histograms are bucketed too).
fn percentiles(columns: &[(&str, &Histogram)]) -> String {
    let mut out = format!("{:<10}", "Percentile");
    for (name, _) in columns {
        let _ = write!(out, "{name:>19}");
    }
    let _ = write!(out, "\n{:<10}", "");
    for _ in columns {
        let _ = write!(out, "{:>19}", "(micros)");
    }
    out.push('\n');
    let rows: [(&str, f64); 7] = [
        ("50%", 0.5),
        ("75%", 0.75),
        ("95%", 0.95),
        ("98%", 0.98),
        ("99%", 0.99),
        ("Min", 0.0),
        ("Max", 1.0),
    ];
    for (label, quantile) in rows {
        let _ = write!(out, "{label:<10}");
        for (_, histogram) in columns {
            let _ = write!(out, "{:>19.2}", percentile_micros(histogram, quantile));
        }
        out.push('\n');
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_padded_to_their_widest_cell() {
        let rows = [
            ["id".to_string(), "type".to_string(), "x".to_string()],
            ["abcd".to_string(), "t".to_string(), "yy".to_string()],
        ];
        assert_eq!(aligned(&rows), "id   type x\nabcd t    yy\n");
    }
}
