//! Wall-clock access for the server (the engine gets time only through its `Clock`).
//!
//! Invariants: `next_micros` never returns the same value twice in one process, so two
//! statements from this node without client timestamps never tie; `now_timeuuid` never
//! returns the same timestamp twice either (`now()`, trace ids).

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::types::make_timeuuid;

static LAST_MICROS: AtomicI64 = AtomicI64::new(0);
/// Last 100-ns tick handed out by `now_timeuuid`.
static LAST_TICKS: AtomicU64 = AtomicU64::new(0);
/// 100 ns intervals between the UUID epoch (1582-10-15) and the Unix epoch.
const UUID_EPOCH_OFFSET: i64 = 0x01B2_1DD2_1381_4000;

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

/// A fresh, strictly increasing version-1 UUID with a random node part, as Cassandra's
/// `now()` builds it.
pub fn now_timeuuid() -> [u8; 16] {
    let wall = (now_micros() * 10 + UUID_EPOCH_OFFSET) as u64;
    let mut last = LAST_TICKS.load(Ordering::Relaxed);
    let ticks = loop {
        let next = wall.max(last + 1);
        match LAST_TICKS.compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => break next,
            Err(actual) => last = actual,
        }
    };
    let random = uuid::Uuid::new_v4().as_u64_pair().1;
    // IETF variant bits on the clock sequence.
    make_timeuuid(
        ticks,
        (random & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::timeuuid_unix_millis;

    #[test]
    fn now_timeuuid_round_trips_its_time_and_increases() {
        let a = now_timeuuid();
        let b = now_timeuuid();
        assert!(a[..8] != b[..8]);
        let millis = timeuuid_unix_millis(&a).expect("v1");
        assert!((millis - now_millis()).abs() < 5_000);
    }
}
