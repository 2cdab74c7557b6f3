//! Closed-loop load over one driver session with a fixed number of requests in flight: as
//! each request completes the next is issued, until the measured window (or the request
//! budget) is used up; then the in-flight requests drain.
//!
//! Every workload runs through the same loop; a [`Workload`] only chooses the schema, the one
//! prepared statement, how keys are picked (new keys in order, or existing keys uniformly)
//! and how a reply is checked. Workloads meant to be compared use tables of the same shape.

use std::time::{Duration, Instant};

use futures::stream::{FuturesUnordered, StreamExt};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;
use scylla::value::{CqlValue, Row};

use crate::stats::{Completion, Outcome, Stats, Summary, Window};

pub const KEYSPACE_DDL: &str =
    "CREATE KEYSPACE IF NOT EXISTS bench WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}";

/// `CREATE TABLE` of a key/value table: `k bigint PRIMARY KEY, v blob`.
macro_rules! kv_table {
    ($name:literal) => {
        concat!("CREATE TABLE IF NOT EXISTS bench.", $name, " (k bigint PRIMARY KEY, v blob)")
    };
}

/// `CREATE TABLE` of a table with a second unique column to index or key a view by:
/// `k bigint PRIMARY KEY, v bigint, payload blob` (`v` is [`secondary_value`] of `k`).
macro_rules! row_table {
    ($name:literal) => {
        concat!("CREATE TABLE IF NOT EXISTS bench.", $name, " (k bigint PRIMARY KEY, v bigint, payload blob)")
    };
}

pub const TABLE_DDL: &str = kv_table!("kv");
const LWT_TABLE_DDL: &str = kv_table!("lwt");
const PLAIN_ROWS_DDL: &str = row_table!("rows");
const INDEXED_ROWS_DDL: &str = row_table!("indexed");
const INDEX_DDL: &str = "CREATE INDEX IF NOT EXISTS indexed_v ON bench.indexed (v)";
const VIEWED_ROWS_DDL: &str = row_table!("viewed");
const VIEW_DDL: &str = "CREATE MATERIALIZED VIEW IF NOT EXISTS bench.viewed_by_v AS \
    SELECT k, v, payload FROM bench.viewed WHERE v IS NOT NULL AND k IS NOT NULL PRIMARY KEY (v, k)";

/// What a run sends. Comparable pairs: `Write`/`LwtInsert` (new keys), `Update`/`LwtUpdate`
/// (existing keys), `BaseWrite`/`IndexWrite`/`MvWrite` (new keys), `PkRead`/`IndexRead`
/// (the same existing rows of `bench.indexed`, found by `k` or by the indexed `v`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Workload {
    /// `INSERT INTO bench.kv (k, v)`, new keys.
    Write,
    /// `SELECT v FROM bench.kv WHERE k = ?`, existing keys; values are verified.
    Read,
    /// `UPDATE bench.kv SET v = ? WHERE k = ?`, existing keys.
    Update,
    /// `INSERT INTO bench.lwt (k, v) .. IF NOT EXISTS`, new keys; must apply.
    LwtInsert,
    /// `UPDATE bench.lwt SET v = ? WHERE k = ? IF EXISTS`, existing keys; must apply.
    LwtUpdate,
    /// `INSERT INTO bench.rows (k, v, payload)`: no index, no view.
    BaseWrite,
    /// The same into `bench.indexed`, which has an index on `v`.
    IndexWrite,
    /// The same into `bench.viewed`, which has one materialized view keyed by `(v, k)`.
    MvWrite,
    /// `SELECT payload FROM bench.indexed WHERE k = ?`; payloads are verified.
    PkRead,
    /// `SELECT payload FROM bench.indexed WHERE v = ?` (through the index); verified.
    IndexRead,
}

/// Which keys a workload uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keys {
    /// `first_key`, `first_key + 1`, ...: rows that do not exist yet.
    New,
    /// Uniform in `0..keys`: rows an earlier run wrote.
    Existing,
}

/// The bind markers of a statement, in order.
#[derive(Debug, Clone, Copy)]
enum Bind {
    KeyValue,
    ValueKey,
    KeySecondaryPayload,
    Key,
    Secondary,
}

/// What a successful reply is.
#[derive(Debug, Clone, Copy)]
enum Check {
    Acknowledged,
    /// `[applied]` is true.
    Applied,
    /// One row whose first column is [`value_for`] the key.
    ReturnsValue,
}

struct Spec {
    /// Idempotent DDL run (in order) before preparing.
    schema: &'static [&'static str],
    cql: &'static str,
    keys: Keys,
    bind: Bind,
    check: Check,
}

impl Workload {
    pub fn name(self) -> String {
        clap::ValueEnum::to_possible_value(&self).map_or_else(|| format!("{self:?}"), |v| v.get_name().to_string())
    }

    pub fn keys(self) -> Keys {
        self.spec().keys
    }

    fn spec(self) -> Spec {
        use {Bind::*, Check::*, Keys::*};
        let spec = |schema, cql, keys, bind, check| Spec { schema, cql, keys, bind, check };
        match self {
            Workload::Write => spec(&[TABLE_DDL], "INSERT INTO bench.kv (k, v) VALUES (?, ?)", New, KeyValue, Acknowledged),
            Workload::Read => spec(&[TABLE_DDL], "SELECT v FROM bench.kv WHERE k = ?", Existing, Key, ReturnsValue),
            Workload::Update => spec(&[TABLE_DDL], "UPDATE bench.kv SET v = ? WHERE k = ?", Existing, ValueKey, Acknowledged),
            Workload::LwtInsert => {
                spec(&[LWT_TABLE_DDL], "INSERT INTO bench.lwt (k, v) VALUES (?, ?) IF NOT EXISTS", New, KeyValue, Applied)
            }
            Workload::LwtUpdate => {
                spec(&[LWT_TABLE_DDL], "UPDATE bench.lwt SET v = ? WHERE k = ? IF EXISTS", Existing, ValueKey, Applied)
            }
            Workload::BaseWrite => spec(
                &[PLAIN_ROWS_DDL],
                "INSERT INTO bench.rows (k, v, payload) VALUES (?, ?, ?)",
                New,
                KeySecondaryPayload,
                Acknowledged,
            ),
            Workload::IndexWrite => spec(
                &[INDEXED_ROWS_DDL, INDEX_DDL],
                "INSERT INTO bench.indexed (k, v, payload) VALUES (?, ?, ?)",
                New,
                KeySecondaryPayload,
                Acknowledged,
            ),
            Workload::MvWrite => spec(
                &[VIEWED_ROWS_DDL, VIEW_DDL],
                "INSERT INTO bench.viewed (k, v, payload) VALUES (?, ?, ?)",
                New,
                KeySecondaryPayload,
                Acknowledged,
            ),
            Workload::PkRead => {
                spec(&[INDEXED_ROWS_DDL, INDEX_DDL], "SELECT payload FROM bench.indexed WHERE k = ?", Existing, Key, ReturnsValue)
            }
            Workload::IndexRead => spec(
                &[INDEXED_ROWS_DDL, INDEX_DDL],
                "SELECT payload FROM bench.indexed WHERE v = ?",
                Existing,
                Secondary,
                ReturnsValue,
            ),
        }
    }
}

#[derive(Debug, Clone)]
pub struct LoadConfig {
    pub workload: Workload,
    pub concurrency: usize,
    pub warmup: Duration,
    pub duration: Duration,
    /// Stop after this many measured requests even if the duration is not over.
    pub max_requests: Option<u64>,
    pub value_size: usize,
    /// `Keys::New`: the first key written.
    pub first_key: u64,
    /// `Keys::Existing`: keys are drawn uniformly from `0..keys` (written by earlier runs).
    pub keys: u64,
    pub seed: u64,
}

/// The workload's prepared statement and how to use it.
pub struct Prepared {
    statement: PreparedStatement,
    bind: Bind,
    check: Check,
}

/// Creates the workload's keyspace, tables, index or view if needed and prepares its statement.
pub async fn prepare(session: &Session, workload: Workload) -> anyhow::Result<Prepared> {
    let spec = workload.spec();
    session.query_unpaged(KEYSPACE_DDL, &[]).await?;
    for ddl in spec.schema {
        session.query_unpaged(*ddl, &[]).await?;
    }
    Ok(Prepared { statement: session.prepare(spec.cql).await?, bind: spec.bind, check: spec.check })
}

/// What a run did: the measured summary plus the key after the last new key issued (with
/// `first_key` 0, the number of keys written).
pub struct LoadResult {
    pub summary: Summary,
    pub keys_issued: u64,
}

pub async fn run_load(session: &Session, prepared: &Prepared, config: &LoadConfig) -> LoadResult {
    let start = Instant::now() + config.warmup;
    let window = Window { start, end: start + config.duration };
    let mut stats = Stats::new(window);
    let mut rng = SmallRng::seed_from_u64(config.seed);
    let mut next_new_key = config.first_key;
    let keys = config.workload.keys();
    let mut in_flight = FuturesUnordered::new();
    loop {
        while in_flight.len() < config.concurrency && may_issue(&stats, window, config.max_requests) {
            let key = match keys {
                Keys::New => post_increment(&mut next_new_key),
                Keys::Existing => rng.gen_range(0..config.keys),
            };
            in_flight.push(execute_one(session, prepared, key, config.value_size));
        }
        match in_flight.next().await {
            Some(done) => stats.record(done),
            None => break,
        }
    }
    LoadResult { summary: stats.summary(), keys_issued: next_new_key }
}

fn post_increment(counter: &mut u64) -> u64 {
    let current = *counter;
    *counter += 1;
    current
}

fn may_issue(stats: &Stats, window: Window, max_requests: Option<u64>) -> bool {
    Instant::now() < window.end && max_requests.is_none_or(|max| stats.measured() < max)
}

/// The value stored under `key`: deterministic, so reads can verify what they get back.
pub fn value_for(key: u64, size: usize) -> Vec<u8> {
    let key_bytes = key.to_le_bytes();
    (0..size).map(|i| key_bytes[i % key_bytes.len()] ^ (i as u8)).collect()
}

/// The `v` of row `key` in the three-column tables: unique per row, and never equal to any
/// `k`, so a lookup by the wrong column finds nothing rather than a plausible row.
pub fn secondary_value(key: u64) -> i64 {
    -1 - key as i64
}

fn bound_values(bind: Bind, key: u64, value_size: usize) -> Vec<CqlValue> {
    // bigint is signed; keys stay far below i64::MAX in any bounded run.
    let k = CqlValue::BigInt(key as i64);
    let value = || CqlValue::Blob(value_for(key, value_size));
    match bind {
        Bind::KeyValue => vec![k, value()],
        Bind::ValueKey => vec![value(), k],
        Bind::KeySecondaryPayload => vec![k, CqlValue::BigInt(secondary_value(key)), value()],
        Bind::Key => vec![k],
        Bind::Secondary => vec![CqlValue::BigInt(secondary_value(key))],
    }
}

async fn execute_one(session: &Session, prepared: &Prepared, key: u64, value_size: usize) -> Completion {
    let started = Instant::now();
    let reply = session.execute_unpaged(&prepared.statement, bound_values(prepared.bind, key, value_size)).await;
    let outcome = match reply {
        Err(e) => Outcome::Error(e.to_string()),
        Ok(_) if matches!(prepared.check, Check::Acknowledged) => Outcome::Ok,
        Ok(result) => match result.into_rows_result() {
            Err(e) => Outcome::Error(format!("expected rows: {e}")),
            Ok(rows) => match rows.maybe_first_row::<Row>() {
                Err(e) => Outcome::Error(format!("decoding the row: {e}")),
                Ok(row) => check_row(prepared.check, row, &value_for(key, value_size)),
            },
        },
    };
    Completion { started, finished: Instant::now(), outcome }
}

/// Checks the first row of a reply that should carry one.
fn check_row(check: Check, row: Option<Row>, expected: &[u8]) -> Outcome {
    let first = row.and_then(|r| r.columns.into_iter().next());
    match (check, first) {
        (Check::Acknowledged, _) => Outcome::Ok,
        (Check::Applied, Some(Some(CqlValue::Boolean(true)))) => Outcome::Ok,
        (Check::Applied, Some(Some(CqlValue::Boolean(false)))) => Outcome::NotApplied,
        (Check::Applied, other) => Outcome::Error(format!("no [applied] flag in the reply: {other:?}")),
        (Check::ReturnsValue, None) => Outcome::Missing,
        (Check::ReturnsValue, Some(Some(CqlValue::Blob(value)))) if value == expected => Outcome::Ok,
        (Check::ReturnsValue, Some(_)) => Outcome::WrongValue,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_workload_has_a_statement_and_comparable_pairs_share_a_shape() {
        use clap::ValueEnum;
        for workload in Workload::value_variants() {
            let spec = workload.spec();
            assert!(!spec.schema.is_empty() && !spec.cql.is_empty(), "{workload:?}");
            assert!(!workload.name().is_empty());
        }
        assert_eq!(TABLE_DDL.replace("bench.kv", ""), LWT_TABLE_DDL.replace("bench.lwt", ""));
        assert_eq!(PLAIN_ROWS_DDL.replace("bench.rows", ""), VIEWED_ROWS_DDL.replace("bench.viewed", ""));
        assert_eq!(PLAIN_ROWS_DDL.replace("bench.rows", ""), INDEXED_ROWS_DDL.replace("bench.indexed", ""));
        assert_eq!(Workload::LwtInsert.name(), "lwt-insert");
    }

    #[test]
    fn secondary_values_are_unique_and_never_a_key() {
        assert_ne!(secondary_value(0), secondary_value(1));
        assert!(secondary_value(0) < 0 && secondary_value(u32::MAX as u64) < 0);
    }

    #[test]
    fn replies_are_checked_per_workload() {
        let row = |value: CqlValue| Some(Row { columns: vec![Some(value)] });
        let expected = value_for(3, 10);
        assert_eq!(check_row(Check::Applied, row(CqlValue::Boolean(true)), &expected), Outcome::Ok);
        assert_eq!(check_row(Check::Applied, row(CqlValue::Boolean(false)), &expected), Outcome::NotApplied);
        assert!(matches!(check_row(Check::Applied, None, &expected), Outcome::Error(_)));
        assert_eq!(check_row(Check::ReturnsValue, row(CqlValue::Blob(expected.clone())), &expected), Outcome::Ok);
        assert_eq!(check_row(Check::ReturnsValue, row(CqlValue::Blob(vec![1])), &expected), Outcome::WrongValue);
        assert_eq!(check_row(Check::ReturnsValue, None, &expected), Outcome::Missing);
    }

    #[test]
    fn values_are_deterministic_sized_and_differ_per_key() {
        assert_eq!(value_for(7, 100), value_for(7, 100));
        assert_eq!(value_for(7, 100).len(), 100);
        assert_ne!(value_for(7, 100), value_for(8, 100));
        assert!(value_for(7, 0).is_empty());
    }

    #[test]
    fn request_budget_stops_issuing() {
        let now = Instant::now();
        let window = Window { start: now, end: now + Duration::from_secs(60) };
        let stats = Stats::new(window);
        assert!(may_issue(&stats, window, None));
        assert!(may_issue(&stats, window, Some(1)));
        assert!(!may_issue(&stats, window, Some(0)));
        let over = Window { start: now - Duration::from_secs(2), end: now - Duration::from_secs(1) };
        assert!(!may_issue(&stats, over, None));
    }
}
