//! Time-based (version 1) UUIDs as Cassandra builds them for `now()`, `minTimeuuid()`
//! and `maxTimeuuid()`, and the date/time helpers of the native functions.

use std::sync::atomic::{AtomicU64, Ordering};

/// 100 ns intervals between the UUID epoch (1582-10-15) and the Unix epoch.
const UUID_EPOCH_OFFSET: i64 = 0x01B2_1DD2_1381_4000;
/// Days of `date` values are unsigned, centred on the Unix epoch at 2^31.
const DATE_EPOCH: i64 = 1 << 31;

/// Last 100-ns tick handed out, so two `now()` calls never produce the same UUID.
static LAST_TICKS: AtomicU64 = AtomicU64::new(0);

fn msb(ticks: i64) -> u64 {
    let ticks = ticks as u64;
    let time_low = ticks & 0xFFFF_FFFF;
    let time_mid = (ticks >> 32) & 0xFFFF;
    let time_hi = (ticks >> 48) & 0x0FFF;
    (time_low << 32) | (time_mid << 16) | 0x1000 | time_hi
}

fn build(ticks: i64, lsb: u64) -> [u8; 16] {
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&msb(ticks).to_be_bytes());
    out[8..].copy_from_slice(&lsb.to_be_bytes());
    out
}

/// A fresh, strictly increasing version-1 UUID with a random node part.
pub fn now() -> [u8; 16] {
    let wall = crate::clock::now_micros() * 10 + UUID_EPOCH_OFFSET;
    let mut last = LAST_TICKS.load(Ordering::Relaxed);
    let ticks = loop {
        let next = (wall as u64).max(last + 1);
        match LAST_TICKS.compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => break next as i64,
            Err(actual) => last = actual,
        }
    };
    let random = uuid::Uuid::new_v4().as_u64_pair().1;
    // IETF variant bits on the clock sequence.
    build(
        ticks,
        (random & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000,
    )
}

/// The smallest (or largest) timeuuid of a millisecond, as Cassandra's
/// `minTimeuuid`/`maxTimeuuid` build them.
pub fn bound(millis: i64, max: bool) -> [u8; 16] {
    let ticks = millis * 10_000 + UUID_EPOCH_OFFSET + if max { 9_999 } else { 0 };
    let lsb = if max {
        0x7F7F_7F7F_7F7F_7F7F
    } else {
        0x8080_8080_8080_8080
    };
    build(ticks, lsb)
}

/// Unix milliseconds of a version-1 UUID.
pub fn unix_millis(uuid: &[u8]) -> Option<i64> {
    let bytes: [u8; 8] = uuid.get(..8)?.try_into().ok()?;
    let msb = u64::from_be_bytes(bytes);
    if (msb >> 12) & 0xF != 1 {
        return None;
    }
    let ticks = ((msb & 0x0FFF) << 48) | (((msb >> 16) & 0xFFFF) << 32) | (msb >> 32);
    Some((ticks as i64 - UUID_EPOCH_OFFSET) / 10_000)
}

/// Today's `date` value.
pub fn today() -> u32 {
    (crate::clock::now_millis().div_euclid(86_400_000) + DATE_EPOCH) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_round_trips_its_time_and_increases() {
        let a = now();
        let b = now();
        assert!(a[..8] != b[..8] || a != b);
        let millis = unix_millis(&a).expect("v1");
        assert!((millis - crate::clock::now_millis()).abs() < 5_000);
    }

    #[test]
    fn bounds_bracket_the_millisecond() {
        assert_eq!(unix_millis(&bound(1_000, false)), Some(1_000));
        assert_eq!(unix_millis(&bound(1_000, true)), Some(1_000));
    }
}
