//! Counters an operator can scrape (Prometheus text format on the admin port).
//!
//! Invariant: counters only ever increase; gauges are computed at scrape time.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Default)]
pub struct Metrics {
    pub connections_opened: AtomicU64,
    pub connections_closed: AtomicU64,
    pub requests: AtomicU64,
    pub request_errors: AtomicU64,
    pub protocol_errors: AtomicU64,
    pub request_micros_total: AtomicU64,
}

impl Metrics {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Renders the counters plus the given gauges in Prometheus exposition format.
    pub fn render(&self, gauges: &[(&str, &str, u64)]) -> String {
        let counters = [
            (
                "strata_connections_opened_total",
                "CQL connections accepted",
                &self.connections_opened,
            ),
            (
                "strata_connections_closed_total",
                "CQL connections closed",
                &self.connections_closed,
            ),
            (
                "strata_requests_total",
                "CQL requests handled",
                &self.requests,
            ),
            (
                "strata_request_errors_total",
                "CQL requests answered with an error",
                &self.request_errors,
            ),
            (
                "strata_protocol_errors_total",
                "connections closed for a protocol error",
                &self.protocol_errors,
            ),
            (
                "strata_request_micros_total",
                "time spent executing requests",
                &self.request_micros_total,
            ),
        ];
        let mut out = String::new();
        for (name, help, value) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                value.load(Ordering::Relaxed)
            );
        }
        for (name, help, value) in gauges {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
            );
        }
        out
    }
}
