//! Closed-loop `write`/`read` load over one driver session with a fixed number of requests in
//! flight: as each request completes the next is issued, until the measured window (or the
//! request budget) is used up; then the in-flight requests drain.

use std::time::{Duration, Instant};

use futures::stream::{FuturesUnordered, StreamExt};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;

use crate::stats::{Completion, Outcome, Stats, Summary, Window};

pub const KEYSPACE_DDL: &str =
    "CREATE KEYSPACE IF NOT EXISTS bench WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}";
pub const TABLE_DDL: &str = "CREATE TABLE IF NOT EXISTS bench.kv (k bigint PRIMARY KEY, v blob)";
const INSERT_CQL: &str = "INSERT INTO bench.kv (k, v) VALUES (?, ?)";
const SELECT_CQL: &str = "SELECT v FROM bench.kv WHERE k = ?";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Write,
    Read,
}

#[derive(Debug, Clone)]
pub struct LoadConfig {
    pub op: Op,
    pub concurrency: usize,
    pub warmup: Duration,
    pub duration: Duration,
    /// Stop after this many measured requests even if the duration is not over.
    pub max_requests: Option<u64>,
    pub value_size: usize,
    /// Reads draw keys uniformly from `0..keys` (the keys a previous `write` run issued).
    pub keys: u64,
    pub seed: u64,
}

pub struct Statements {
    insert: PreparedStatement,
    select: PreparedStatement,
}

/// Creates `bench.kv` if needed and prepares both statements.
pub async fn prepare(session: &Session) -> anyhow::Result<Statements> {
    session.query_unpaged(KEYSPACE_DDL, &[]).await?;
    session.query_unpaged(TABLE_DDL, &[]).await?;
    Ok(Statements { insert: session.prepare(INSERT_CQL).await?, select: session.prepare(SELECT_CQL).await? })
}

/// What a run did: the measured summary plus how many keys writes issued (`0..keys_issued`).
pub struct LoadResult {
    pub summary: Summary,
    pub keys_issued: u64,
}

pub async fn run_load(session: &Session, statements: &Statements, config: &LoadConfig) -> LoadResult {
    let start = Instant::now() + config.warmup;
    let window = Window { start, end: start + config.duration };
    let mut stats = Stats::new(window);
    let mut rng = SmallRng::seed_from_u64(config.seed);
    let mut next_write_key = 0u64;
    let mut in_flight = FuturesUnordered::new();
    loop {
        while in_flight.len() < config.concurrency && may_issue(&stats, window, config.max_requests) {
            let key = match config.op {
                Op::Write => post_increment(&mut next_write_key),
                Op::Read => rng.gen_range(0..config.keys),
            };
            in_flight.push(execute_one(session, statements, config.op, key, config.value_size));
        }
        match in_flight.next().await {
            Some(done) => stats.record(done),
            None => break,
        }
    }
    LoadResult { summary: stats.summary(), keys_issued: next_write_key }
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

async fn execute_one(session: &Session, statements: &Statements, op: Op, key: u64, value_size: usize) -> Completion {
    let started = Instant::now();
    // bigint is signed; keys stay far below i64::MAX in any bounded run.
    let cql_key = key as i64;
    let outcome = match op {
        Op::Write => write(session, &statements.insert, cql_key, value_for(key, value_size)).await,
        Op::Read => read(session, &statements.select, cql_key, &value_for(key, value_size)).await,
    };
    Completion { started, finished: Instant::now(), outcome }
}

async fn write(session: &Session, insert: &PreparedStatement, key: i64, value: Vec<u8>) -> Outcome {
    match session.execute_unpaged(insert, (key, value)).await {
        Ok(_) => Outcome::Ok,
        Err(e) => Outcome::Error(e.to_string()),
    }
}

async fn read(session: &Session, select: &PreparedStatement, key: i64, expected: &[u8]) -> Outcome {
    let result = match session.execute_unpaged(select, (key,)).await {
        Ok(result) => result,
        Err(e) => return Outcome::Error(e.to_string()),
    };
    let rows = match result.into_rows_result() {
        Ok(rows) => rows,
        Err(e) => return Outcome::Error(format!("SELECT did not return rows: {e}")),
    };
    match rows.maybe_first_row::<(Option<&[u8]>,)>() {
        Ok(None) => Outcome::Missing,
        Ok(Some((Some(value),))) if value == expected => Outcome::Ok,
        Ok(Some(_)) => Outcome::WrongValue,
        Err(e) => Outcome::Error(format!("decoding the row: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
