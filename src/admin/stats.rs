//! The read-only report verbs of nodetool, in Cassandra's layouts: `version`, `tpstats`,
//! `compactionstats`, `tablehistograms`, `proxyhistograms`.

use std::fmt::Write;

use prometheus::core::Metric;
use prometheus::Histogram;

use crate::error::{CqlError, CqlResult};
use crate::node::Node;

pub fn version() -> String {
    format!("ReleaseVersion: {}\n", crate::version::RELEASE_VERSION)
}

/// `tpstats`: Strata has no staged thread pools; each row is the work Cassandra's pool
/// of that name does (reads, writes, requests, merges, flushes), with its counts.
pub fn tpstats(node: &Node) -> String {
    let stats = node.engine().stats();
    let client = &node.metrics().client_requests;
    let reads = client.read.get_sample_count()
        + client.range_slice.get_sample_count()
        + client.cas_read.get_sample_count();
    let writes = client.write.get_sample_count() + client.cas_write.get_sample_count();
    let rows = [
        (
            "CompactionExecutor",
            stats.pending_merges as u64,
            stats.merges,
        ),
        (
            "MemtableFlushWriter",
            stats.frozen_memtables as u64,
            stats.flushes,
        ),
        ("MutationStage", 0, writes),
        (
            "Native-Transport-Requests",
            0,
            node.metrics().requests.get(),
        ),
        ("ReadStage", 0, reads),
    ];
    let mut out = format!(
        "{:<34}{:>7}{:>8}{:>11}{:>8}{:>17}\n",
        "Pool Name", "Active", "Pending", "Completed", "Blocked", "All time blocked"
    );
    for (name, pending, completed) in rows {
        let _ = writeln!(
            out,
            "{name:<34}{:>7}{pending:>8}{completed:>11}{:>8}{:>17}",
            0, 0, 0
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

/// `compactionstats`: merges waiting, and completed since start. The engine does not
/// report the progress of a running merge yet.
pub fn compactionstats(node: &Node) -> String {
    let stats = node.engine().stats();
    format!(
        "pending tasks: {}\ncompactions completed: {}\n",
        stats.pending_merges, stats.merges
    )
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
    let buckets: Vec<Vec<(f64, u64)>> = columns
        .iter()
        .map(|(_, h)| {
            h.metric()
                .get_histogram()
                .get_bucket()
                .iter()
                .map(|b| (b.upper_bound(), b.cumulative_count()))
                .collect()
        })
        .collect();
    let counts: Vec<u64> = columns.iter().map(|(_, h)| h.get_sample_count()).collect();
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
        for (b, &count) in buckets.iter().zip(&counts) {
            let _ = write!(out, "{:>19.2}", bucket_micros(b, count, quantile));
        }
        out.push('\n');
    }
    out.push('\n');
    out
}

/// The upper bound (µs) of the bucket holding the `quantile` sample; 0 with no samples.
/// Samples beyond the last bucket report its bound.
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
}
