//! Wall-clock access for the server (the engine gets time only through its `Clock`).
//!
//! Invariant: `next_micros` never returns the same value twice in one process, so two
//! statements from this node without client timestamps never tie.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

static LAST_MICROS: AtomicI64 = AtomicI64::new(0);

pub fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

pub fn now_secs() -> i64 {
    now_micros() / 1_000_000
}

pub fn now_millis() -> i64 {
    now_micros() / 1_000
}

/// A strictly increasing microsecond timestamp (server-side write timestamps).
pub fn next_micros() -> i64 {
    let now = now_micros();
    let mut last = LAST_MICROS.load(Ordering::Relaxed);
    loop {
        let next = now.max(last + 1);
        match LAST_MICROS.compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return next,
            Err(actual) => last = actual,
        }
    }
}
