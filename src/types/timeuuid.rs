//! Version-1 (time-based) UUIDs and date/timestamp conversions, the building blocks of CQL's time functions
//! (`now()`, `minTimeuuid()`, `maxTimeuuid()`, `toTimestamp()`, `toDate()`, `toUnixTimestamp()`).

use super::temporal::DATE_EPOCH_OFFSET;

/// 100-ns intervals between the UUID epoch (1582-10-15) and the Unix epoch.
const UUID_EPOCH_OFFSET: i64 = 0x01B2_1DD2_1381_4000;
const TICKS_PER_MILLI: i64 = 10_000;
/// Lowest and highest clock-sequence-and-node halves under `TimeUUIDType`'s signed-byte comparison
/// (Cassandra's `UUIDGen.MIN_CLOCK_SEQ_AND_NODE` / `MAX_CLOCK_SEQ_AND_NODE`).
const MIN_CLOCK_SEQ_AND_NODE: u64 = 0x8080_8080_8080_8080;
const MAX_CLOCK_SEQ_AND_NODE: u64 = 0x7F7F_7F7F_7F7F_7F7F;

/// A fresh, strictly increasing version-1 UUID of the server's clock (`crate::clock`) with a
/// random node part, as Cassandra's `now()` builds it.
pub fn now_timeuuid() -> [u8; 16] {
    let ticks = crate::clock::next_ticks(UUID_EPOCH_OFFSET) as u64;
    let random = uuid::Uuid::new_v4().as_u64_pair().1;
    // IETF variant bits on the clock sequence.
    make_timeuuid(
        ticks,
        (random & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000,
    )
}

/// Builds a version-1 UUID from a 60-bit timestamp (100-ns ticks since 1582-10-15) and the low 8 bytes.
pub fn make_timeuuid(ticks: u64, clock_seq_and_node: u64) -> [u8; 16] {
    let time_low = ticks & 0xFFFF_FFFF;
    let time_mid = (ticks >> 32) & 0xFFFF;
    let time_hi = (ticks >> 48) & 0x0FFF;
    let msb = (time_low << 32) | (time_mid << 16) | 0x1000 | time_hi;
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&msb.to_be_bytes());
    out[8..].copy_from_slice(&clock_seq_and_node.to_be_bytes());
    out
}

/// The 60-bit timestamp of a version-1 UUID, or None if the bytes are not one.
pub fn timeuuid_ticks(bytes: &[u8]) -> Option<u64> {
    let raw: [u8; 16] = bytes.try_into().ok()?;
    if raw[6] >> 4 != 1 {
        return None;
    }
    let msb = u64::from_be_bytes([
        raw[0], raw[1], raw[2], raw[3], raw[4], raw[5], raw[6], raw[7],
    ]);
    Some(((msb & 0x0FFF) << 48) | (((msb >> 16) & 0xFFFF) << 32) | (msb >> 32))
}

/// Milliseconds since the Unix epoch of a version-1 UUID (`toUnixTimestamp(timeuuid)`).
pub fn timeuuid_unix_millis(bytes: &[u8]) -> Option<i64> {
    let ticks = i64::try_from(timeuuid_ticks(bytes)?).ok()?;
    Some((ticks - UUID_EPOCH_OFFSET).div_euclid(TICKS_PER_MILLI))
}

fn ticks_of_millis(millis: i64) -> u64 {
    let ticks = i128::from(millis) * i128::from(TICKS_PER_MILLI) + i128::from(UUID_EPOCH_OFFSET);
    // A v1 timestamp has 60 bits; clamp what cannot be represented rather than wrap.
    ticks.clamp(0, (1i128 << 60) - 1) as u64
}

/// The smallest timeuuid of a millisecond (`minTimeuuid()`).
pub fn min_timeuuid(millis: i64) -> [u8; 16] {
    make_timeuuid(ticks_of_millis(millis), MIN_CLOCK_SEQ_AND_NODE)
}

/// The largest timeuuid of a millisecond (`maxTimeuuid()`).
pub fn max_timeuuid(millis: i64) -> [u8; 16] {
    let ticks = ticks_of_millis(millis)
        .saturating_add(TICKS_PER_MILLI as u64 - 1)
        .min((1 << 60) - 1);
    make_timeuuid(ticks, MAX_CLOCK_SEQ_AND_NODE)
}

/// The `date` wire value of the day containing a timestamp (`toDate(timestamp)`); None outside `date`'s range.
pub fn timestamp_to_date(millis: i64) -> Option<u32> {
    u32::try_from(millis.div_euclid(86_400_000) + DATE_EPOCH_OFFSET).ok()
}

/// Midnight UTC of a `date` wire value, in milliseconds (`toTimestamp(date)`).
pub fn date_to_timestamp(date: u32) -> i64 {
    (i64::from(date) - DATE_EPOCH_OFFSET) * 86_400_000
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::compare::compare_values;
    use crate::types::cql_type::{CqlType, NativeType};
    use crate::types::literal::parse_uuid_text;

    #[test]
    fn timestamps_of_known_uuids() {
        // 0x1deeaa2d2177dd0 ticks since 1582-10-15 = 2009-12-17 00:26:29 UTC.
        let uuid = parse_uuid_text("d2177dd0-eaa2-11de-a572-001b779c76e3").unwrap();
        let millis = timeuuid_unix_millis(&uuid).unwrap();
        assert_eq!(millis / 1000, 1_261_009_589);
        let rebuilt = make_timeuuid(
            timeuuid_ticks(&uuid).unwrap(),
            u64::from_be_bytes(uuid[8..].try_into().unwrap()),
        );
        assert_eq!(rebuilt, uuid);
        assert_eq!(
            timeuuid_unix_millis(&parse_uuid_text("550e8400-e29b-41d4-a716-446655440000").unwrap()),
            None
        );
    }

    #[test]
    fn min_and_max_bracket_every_uuid_of_their_millisecond() {
        let timeuuid = CqlType::Native(NativeType::Timeuuid);
        let millis = 1_296_705_900_123;
        let (low, high) = (min_timeuuid(millis), max_timeuuid(millis));
        assert_eq!(timeuuid_unix_millis(&low), Some(millis));
        assert_eq!(timeuuid_unix_millis(&high), Some(millis));
        for node in [0u64, 0x8000_0000_0000_0000, u64::MAX, 0x7F7F_7F7F_7F7F_7F7F] {
            for extra in [0, 5_000, 9_999] {
                let u = make_timeuuid(ticks_of_millis(millis) + extra, node);
                assert!(
                    compare_values(&timeuuid, &low, &u).is_le(),
                    "{node:x} {extra}"
                );
                assert!(
                    compare_values(&timeuuid, &u, &high).is_le(),
                    "{node:x} {extra}"
                );
            }
        }
        assert!(compare_values(&timeuuid, &high, &min_timeuuid(millis + 1)).is_lt());
        assert_eq!(timeuuid_unix_millis(&min_timeuuid(-5)), Some(-5));
    }

    #[test]
    fn dates_and_timestamps_convert() {
        assert_eq!(timestamp_to_date(0), Some(1 << 31));
        assert_eq!(timestamp_to_date(-1), Some((1 << 31) - 1));
        assert_eq!(date_to_timestamp(1 << 31), 0);
        assert_eq!(
            date_to_timestamp(timestamp_to_date(1_296_705_900_000).unwrap()),
            1_296_691_200_000
        );
        assert_eq!(timestamp_to_date(i64::MAX), None);
    }

    /// `now()` follows the server's clock, an installed one included, and never repeats a
    /// timestamp even when that clock stands still.
    #[test]
    fn now_timeuuid_reads_the_server_clock_and_increases() {
        let a = now_timeuuid();
        let b = now_timeuuid();
        assert!(a[..8] != b[..8]);
        let millis = timeuuid_unix_millis(&a).expect("v1");
        assert!((millis - crate::clock::now_millis()).abs() < 5_000);
        let fixed = std::sync::Arc::new(crate::clock::ManualClock(
            std::sync::atomic::AtomicI64::new(
                4_102_444_800_000_000, // 2100-01-01
            ),
        ));
        crate::clock::with_clock(fixed, || {
            let (c, d) = (now_timeuuid(), now_timeuuid());
            assert_eq!(timeuuid_unix_millis(&c), Some(4_102_444_800_000));
            assert!(timeuuid_ticks(&d) > timeuuid_ticks(&c));
        });
    }
}
