//! `system.size_estimates` and `system.table_estimates`: per table and per token range of
//! this node, an estimate of the partitions and their mean size (Cassandra's
//! `SizeEstimatesRecorder`; the Spark connector splits table scans by them).
//!
//! Cassandra records them every few minutes from its SSTable index summaries. Strata
//! estimates them when read, by sampling: in each range it reads at most
//! `SAMPLE_PARTITIONS` partitions (and `SAMPLE_ENTRIES` entries) from the range's start;
//! a range read to its end is counted exactly, otherwise the count is extrapolated from
//! the share of the range's tokens the sample covered (Murmur3 tokens are uniform).
//! Invariant: the cost of a read is bounded by tables x ranges x the sample, whatever the
//! data size.

use std::ops::Bound;

use strata_engine::VersionId;

use super::RowBuilder;
use crate::cluster::ring::{range_width, Ring};
use crate::error::CqlResult;
use crate::node::Node;
use crate::schema::{Catalog, Table};
use crate::storage::layout;
use crate::storage::FullRow;

const SAMPLE_PARTITIONS: u64 = 128;
const SAMPLE_ENTRIES: u64 = 65_536;

/// `range_type` of `table_estimates` rows.
const PRIMARY: &str = "primary";
const LOCAL_PRIMARY: &str = "local_primary";

/// `size_estimates`: every user table over this node's local primary ranges.
pub(super) fn size_estimates(
    node: &Node,
    catalog: &Catalog,
    table: &Table,
) -> CqlResult<Vec<FullRow>> {
    let ranges = node_ranges(node, true);
    let mut rows = Vec::new();
    for t in sorted_tables(catalog) {
        for (range, estimate) in estimate_ranges(node, t, &ranges)? {
            rows.push(estimate_row(table, t, range, estimate).finish()?);
        }
    }
    Ok(rows)
}

/// `table_estimates`: the same per range type: `local_primary` (ranges measured against
/// this datacenter's tokens) and `primary` (against every token of the ring).
pub(super) fn table_estimates(
    node: &Node,
    catalog: &Catalog,
    table: &Table,
) -> CqlResult<Vec<FullRow>> {
    let local = node_ranges(node, true);
    let primary = node_ranges(node, false);
    let mut rows = Vec::new();
    for t in sorted_tables(catalog) {
        for (kind, ranges) in [(LOCAL_PRIMARY, &local), (PRIMARY, &primary)] {
            for (range, estimate) in estimate_ranges(node, t, ranges)? {
                rows.push(
                    estimate_row(table, t, range, estimate)
                        .text("range_type", kind)
                        .finish()?,
                );
            }
        }
    }
    Ok(rows)
}

fn sorted_tables(catalog: &Catalog) -> Vec<&Table> {
    let mut tables: Vec<&Table> = catalog.user_tables().map(|t| t.as_ref()).collect();
    tables.sort_by(|a, b| (&a.def.keyspace, &a.def.name).cmp(&(&b.def.keyspace, &b.def.name)));
    tables
}

fn estimate_row<'t>(
    table: &'t Table,
    of: &Table,
    (start, end): (i64, i64),
    estimate: Estimate,
) -> RowBuilder<'t> {
    RowBuilder::new(table)
        .text("keyspace_name", &of.def.keyspace)
        .text("table_name", &of.def.name)
        .text("range_start", &start.to_string())
        .text("range_end", &end.to_string())
        .count("mean_partition_size", estimate.mean_partition_size)
        .count("partitions_count", estimate.partitions)
}

/// This node's primary ranges `(start, end]`, each starting at the token before one of
/// its tokens (among this datacenter's endpoints if `local_dc`), unwrapped at the minimum
/// token as Cassandra's `Range::unwrap` does, sorted.
fn node_ranges(node: &Node, local_dc: bool) -> Vec<(i64, i64)> {
    let ring = node.coordinator().ring();
    primary_ranges(&ring, local_dc)
}

fn primary_ranges(ring: &Ring, local_dc: bool) -> Vec<(i64, i64)> {
    let local = ring.local();
    let counted: std::collections::BTreeSet<i64> = ring
        .tokens()
        .filter(|(_, host)| {
            !local_dc
                || ring
                    .endpoint(host)
                    .is_some_and(|endpoint| endpoint.dc == local.dc)
        })
        .map(|(token, _)| token)
        .collect();
    let mut ranges = Vec::new();
    for &end in &local.tokens {
        let start = counted
            .range(..end)
            .next_back()
            .or_else(|| counted.iter().next_back())
            .copied()
            .unwrap_or(end);
        if start < end {
            ranges.push((start, end));
        } else {
            // Wraps past the maximum token (or is the whole ring): (start, MIN] and
            // (MIN, end].
            ranges.push((start, i64::MIN));
            ranges.push((i64::MIN, end));
        }
    }
    ranges.sort_unstable();
    ranges
}

#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Estimate {
    partitions: u64,
    mean_partition_size: u64,
}

fn estimate_ranges(
    node: &Node,
    table: &Table,
    ranges: &[(i64, i64)],
) -> CqlResult<Vec<((i64, i64), Estimate)>> {
    let engine = node.engine();
    let head = engine.writable_head(table.def.data_version)?;
    ranges
        .iter()
        .map(|&range| Ok((range, estimate(engine, head, range)?)))
        .collect()
}

/// The sampled estimate of the partitions of `version` whose token is in `(start, end]`
/// (`end` = `i64::MIN`: up to the maximum token).
fn estimate(
    engine: &strata_engine::Engine,
    version: VersionId,
    (start, end): (i64, i64),
) -> CqlResult<Estimate> {
    let Some(first) = start.checked_add(1) else {
        return Ok(Estimate::default());
    };
    let token_key = |token: i64| {
        let mut key = Vec::with_capacity(8);
        layout::push_token(token, &mut key);
        key
    };
    let upper = match end.checked_add(1) {
        Some(after) if end != i64::MIN => Bound::Excluded(token_key(after)),
        _ => Bound::Unbounded,
    };
    let scan = engine.scan(version, Bound::Included(token_key(first)), upper, false)?;
    let mut sample = Sample::default();
    let mut complete = true;
    for item in scan {
        let (key, cell) = item?;
        if !sample.add(&key, &cell) {
            complete = false;
            break;
        }
    }
    Ok(sample.estimate(complete, (start, end)))
}

/// What a sample saw: partitions, entries, their bytes and the last partition's token.
#[derive(Default)]
struct Sample {
    partitions: u64,
    entries: u64,
    bytes: u64,
    prefix: Vec<u8>,
    last_token: i64,
}

impl Sample {
    /// Counts one entry; false (not counted) once the sample is full.
    fn add(&mut self, key: &[u8], cell: &strata_engine::Cell) -> bool {
        if self.entries >= SAMPLE_ENTRIES {
            return false;
        }
        let prefix_len = (layout::PARTITION_PREFIX.prefix_len)(key).unwrap_or(key.len());
        let prefix = key.get(..prefix_len).unwrap_or(key);
        if prefix != self.prefix.as_slice() {
            if self.partitions >= SAMPLE_PARTITIONS {
                return false;
            }
            self.partitions += 1;
            self.prefix = prefix.to_vec();
            self.last_token = layout::read_token(key).unwrap_or(self.last_token);
        }
        self.entries += 1;
        self.bytes += crate::snapshot::entry_bytes(key, cell);
        true
    }

    /// The range's estimate: exact if the sample read it all (`complete`), else scaled by
    /// the share of the range's tokens up to the last partition sampled.
    fn estimate(&self, complete: bool, (start, end): (i64, i64)) -> Estimate {
        if self.partitions == 0 {
            return Estimate::default();
        }
        let mean_partition_size = self.bytes / self.partitions;
        let partitions = if complete {
            self.partitions
        } else {
            let covered = range_width(start, self.last_token) as f64;
            let whole = range_width(start, end) as f64;
            (self.partitions as f64 * whole / covered.max(1.0)).round() as u64
        };
        Estimate {
            partitions,
            mean_partition_size,
        }
    }
}

/// Bytes of the entries written in `table`'s own versions: its branch from
/// `data_version` down, without the branches of other tables (clones) below it.
pub(super) fn table_bytes(node: &Node, catalog: &Catalog, table: &Table) -> CqlResult<u64> {
    let engine = node.engine();
    let others: std::collections::HashSet<VersionId> = catalog
        .user_tables()
        .map(|t| t.def.data_version)
        .filter(|&v| v != table.def.data_version)
        .collect();
    let mut pending = vec![table.def.data_version];
    let mut bytes = 0;
    while let Some(version) = pending.pop() {
        let Some(info) = engine.version_info(version) else {
            continue;
        };
        if !info.deleted {
            bytes += engine.bytes_written_at(version).unwrap_or(0);
        }
        pending.extend(info.children.iter().filter(|c| !others.contains(c)));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::ring::Endpoint;

    fn endpoint(n: u8, dc: &str, tokens: Vec<i64>) -> Endpoint {
        Endpoint {
            host_id: uuid::Uuid::from_u128(u128::from(n)),
            address: std::net::IpAddr::from([127, 0, 0, n]),
            dc: dc.into(),
            rack: "rack1".into(),
            tokens,
        }
    }

    #[test]
    fn primary_ranges_end_at_local_tokens_and_unwrap_at_the_minimum() {
        let mut ring = Ring::new(endpoint(1, "dc1", vec![-100, 500]));
        assert_eq!(
            primary_ranges(&ring, true),
            vec![(i64::MIN, -100), (-100, 500), (500, i64::MIN)]
        );
        ring.upsert(endpoint(2, "dc1", vec![0]));
        ring.upsert(endpoint(3, "dc2", vec![400]));
        assert_eq!(
            primary_ranges(&ring, false),
            vec![(i64::MIN, -100), (400, 500), (500, i64::MIN)]
        );
        assert_eq!(
            primary_ranges(&ring, true),
            vec![(i64::MIN, -100), (0, 500), (500, i64::MIN)],
            "local primary ranges ignore other datacenters' tokens"
        );
    }

    #[test]
    fn a_partial_sample_is_scaled_by_the_tokens_it_covered() {
        let sample = Sample {
            partitions: 128,
            entries: 256,
            bytes: 128 * 300,
            prefix: Vec::new(),
            last_token: 249,
        };
        let estimate = sample.estimate(false, (-1, 999));
        assert_eq!(estimate.mean_partition_size, 300);
        assert_eq!(estimate.partitions, 512);
        assert_eq!(sample.estimate(true, (-1, 999)).partitions, 128);
        assert_eq!(
            Sample::default().estimate(false, (0, 10)),
            Estimate::default()
        );
    }
}
