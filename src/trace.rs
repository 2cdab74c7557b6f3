//! Request tracing: a request sent with the TRACING frame flag gets a session id in its
//! response, and its session and events become readable in `system_traces.sessions` and
//! `system_traces.events`, where drivers (`ResultSet.get_query_trace()`) and cqlsh
//! (`TRACING ON`) look for them.
//!
//! Invariants:
//! - Traces live in memory only, at most `MAX_SESSIONS` of them (the oldest is dropped
//!   first) with at most `MAX_EVENTS` events each: tracing never grows memory without bound
//!   and never touches the engine. (Cassandra writes them to a table with a TTL of a day;
//!   a restart here forgets them.)
//! - A session becomes visible only when complete, with its duration set: drivers poll
//!   until `duration` is not null.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use uuid::Uuid;

const MAX_SESSIONS: usize = 1024;
const MAX_EVENTS: usize = 64;

pub struct TraceEvent {
    pub event_id: Uuid,
    pub activity: String,
    pub source_elapsed_micros: i32,
}

/// The thread name events report: Cassandra's request stage (the names of the runtime's
/// threads mean nothing to a user reading a trace).
pub const EVENT_THREAD: &str = "Native-Transport-Requests-1";

pub struct TraceSession {
    pub session_id: Uuid,
    pub client: SocketAddr,
    pub coordinator: SocketAddr,
    pub command: &'static str,
    pub request: String,
    pub parameters: BTreeMap<String, String>,
    pub started_at_millis: i64,
    pub duration_micros: i32,
    pub events: Vec<TraceEvent>,
}

/// A trace being recorded for one request.
pub struct ActiveTrace {
    session: TraceSession,
    started: Instant,
}

impl ActiveTrace {
    /// Starts a trace of a `command` (QUERY, EXECUTE, ...) request from `client`.
    pub fn start(
        client: SocketAddr,
        coordinator: SocketAddr,
        command: &'static str,
        request: &str,
    ) -> ActiveTrace {
        let session_id = Uuid::from_bytes(crate::types::now_timeuuid());
        let session = TraceSession {
            session_id,
            client,
            coordinator,
            command,
            request: request.to_string(),
            parameters: BTreeMap::new(),
            started_at_millis: crate::clock::now_millis(),
            duration_micros: 0,
            events: Vec::new(),
        };
        ActiveTrace {
            session,
            started: Instant::now(),
        }
    }

    pub fn session_id(&self) -> Uuid {
        self.session.session_id
    }

    pub fn parameter(&mut self, name: &str, value: String) {
        self.session.parameters.insert(name.to_string(), value);
    }

    /// Records `activity` at the time elapsed since the request arrived.
    pub fn event(&mut self, activity: impl Into<String>) {
        if self.session.events.len() >= MAX_EVENTS {
            return;
        }
        self.session.events.push(TraceEvent {
            event_id: Uuid::from_bytes(crate::types::now_timeuuid()),
            activity: activity.into(),
            source_elapsed_micros: self.elapsed_micros(),
        });
    }

    fn elapsed_micros(&self) -> i32 {
        i32::try_from(self.started.elapsed().as_micros()).unwrap_or(i32::MAX)
    }
}

/// Completed traces, newest last.
#[derive(Default)]
pub struct TraceStore {
    sessions: Mutex<VecDeque<TraceSession>>,
    /// `nodetool settraceprobability`: the share of requests traced without the TRACING
    /// flag, as f64 bits (0 = none, the default).
    probability: AtomicU64,
    /// Requests considered for sampling, hashed into a uniform draw.
    draws: AtomicU64,
}

impl TraceStore {
    pub fn set_probability(&self, p: f64) {
        self.probability.store(p.to_bits(), Ordering::Relaxed);
    }

    /// Whether to trace a request its client did not ask to trace. One relaxed load when
    /// sampling is off; otherwise a counter hashed (SplitMix64) into [0, 1).
    pub fn sampled(&self) -> bool {
        let p = f64::from_bits(self.probability.load(Ordering::Relaxed));
        if p <= 0.0 {
            return false;
        }
        let mut z = self
            .draws
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        ((z >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    /// Completes `trace` (its duration is the time since it started) and publishes it.
    pub fn finish(&self, mut trace: ActiveTrace) {
        trace.session.duration_micros = trace.elapsed_micros();
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        if sessions.len() >= MAX_SESSIONS {
            sessions.pop_front();
        }
        sessions.push_back(trace.session);
    }

    /// Runs `f` over the completed sessions.
    pub fn with_sessions<T>(&self, f: impl FnOnce(&VecDeque<TraceSession>) -> T) -> T {
        f(&self.sessions.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_store_keeps_the_newest_sessions_within_its_bound() {
        let store = TraceStore::default();
        let addr: SocketAddr = "127.0.0.1:9042".parse().unwrap();
        let mut last = Uuid::nil();
        for i in 0..MAX_SESSIONS + 10 {
            let mut trace = ActiveTrace::start(addr, addr, "QUERY", &format!("q{i}"));
            for _ in 0..MAX_EVENTS + 5 {
                trace.event("step");
            }
            last = trace.session_id();
            store.finish(trace);
        }
        store.with_sessions(|s| {
            assert_eq!(s.len(), MAX_SESSIONS);
            assert_eq!(s.front().map(|t| t.request.as_str()), Some("q10"));
            assert_eq!(s.back().map(|t| t.session_id), Some(last));
            assert!(s.iter().all(|t| t.events.len() == MAX_EVENTS));
        });
    }
}
