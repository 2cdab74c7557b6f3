//! `duration`: months, days and nanoseconds, each a signed vint on the wire, all of one sign.

use super::codec::{read_signed_vint, write_signed_vint};
use super::error::{invalid, marshal, TypeError};

const NANOS_PER_MICRO: i64 = 1_000;
const NANOS_PER_MILLI: i64 = 1_000_000;
const NANOS_PER_SECOND: i64 = 1_000_000_000;
const NANOS_PER_MINUTE: i64 = 60 * NANOS_PER_SECOND;
const NANOS_PER_HOUR: i64 = 60 * NANOS_PER_MINUTE;

/// A CQL duration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Duration {
    pub months: i32,
    pub days: i32,
    pub nanos: i64,
}

/// The units in the order a duration must list them (Cassandra's unit index, 1-based).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Unit {
    Years = 1,
    Months,
    Weeks,
    Days,
    Hours,
    Minutes,
    Seconds,
    Millis,
    Micros,
    Nanos,
}

impl Unit {
    fn plural(self) -> &'static str {
        match self {
            Unit::Years => "years",
            Unit::Months => "months",
            Unit::Weeks => "weeks",
            Unit::Days => "days",
            Unit::Hours => "hours",
            Unit::Minutes => "minutes",
            Unit::Seconds => "seconds",
            Unit::Millis => "milliseconds",
            Unit::Micros => "microseconds",
            Unit::Nanos => "nanoseconds",
        }
    }

    fn from_symbol(symbol: &str) -> Option<Unit> {
        Some(match symbol.to_lowercase().as_str() {
            "y" => Unit::Years,
            "mo" => Unit::Months,
            "w" => Unit::Weeks,
            "d" => Unit::Days,
            "h" => Unit::Hours,
            "m" => Unit::Minutes,
            "s" => Unit::Seconds,
            "ms" => Unit::Millis,
            "us" | "µs" => Unit::Micros,
            "ns" => Unit::Nanos,
            _ => return None,
        })
    }
}

/// Accumulates units like Cassandra's `Duration.Builder`, with its order and overflow checks.
struct Builder {
    negative: bool,
    months: i64,
    days: i64,
    nanos: i64,
    last: Option<Unit>,
}

impl Builder {
    fn new(negative: bool) -> Builder {
        Builder {
            negative,
            months: 0,
            days: 0,
            nanos: 0,
            last: None,
        }
    }

    fn add(&mut self, unit: Unit, amount: i64) -> Result<(), TypeError> {
        if let Some(last) = self.last {
            if last == unit {
                return Err(invalid(format!(
                    "Invalid duration. The {} are specified multiple times",
                    unit.plural()
                )));
            }
            if unit < last {
                return Err(invalid(format!(
                    "Invalid duration. The {} should be after {}",
                    last.plural(),
                    unit.plural()
                )));
            }
        }
        self.last = Some(unit);
        match unit {
            Unit::Years => {
                Self::accumulate(&mut self.months, amount, 12, i64::from(i32::MAX), "months")
            }
            Unit::Months => {
                Self::accumulate(&mut self.months, amount, 1, i64::from(i32::MAX), "months")
            }
            Unit::Weeks => Self::accumulate(&mut self.days, amount, 7, i64::from(i32::MAX), "days"),
            Unit::Days => Self::accumulate(&mut self.days, amount, 1, i64::from(i32::MAX), "days"),
            Unit::Hours => Self::accumulate(
                &mut self.nanos,
                amount,
                NANOS_PER_HOUR,
                i64::MAX,
                "nanoseconds",
            ),
            Unit::Minutes => Self::accumulate(
                &mut self.nanos,
                amount,
                NANOS_PER_MINUTE,
                i64::MAX,
                "nanoseconds",
            ),
            Unit::Seconds => Self::accumulate(
                &mut self.nanos,
                amount,
                NANOS_PER_SECOND,
                i64::MAX,
                "nanoseconds",
            ),
            Unit::Millis => Self::accumulate(
                &mut self.nanos,
                amount,
                NANOS_PER_MILLI,
                i64::MAX,
                "nanoseconds",
            ),
            Unit::Micros => Self::accumulate(
                &mut self.nanos,
                amount,
                NANOS_PER_MICRO,
                i64::MAX,
                "nanoseconds",
            ),
            Unit::Nanos => Self::accumulate(&mut self.nanos, amount, 1, i64::MAX, "nanoseconds"),
        }
    }

    fn accumulate(
        total: &mut i64,
        amount: i64,
        per_unit: i64,
        max: i64,
        name: &str,
    ) -> Result<(), TypeError> {
        if amount > (max - *total) / per_unit {
            // Cassandra prints Integer.MAX_VALUE as the limit whatever the unit (sic).
            return Err(invalid(format!(
                "Invalid duration. The total number of {name} must be less or equal to {}",
                i32::MAX
            )));
        }
        *total += amount * per_unit;
        Ok(())
    }

    fn build(self) -> Duration {
        let sign = if self.negative { -1 } else { 1 };
        // The accumulate checks keep months and days within i32.
        Duration {
            months: (sign * self.months) as i32,
            days: (sign * self.days) as i32,
            nanos: sign * self.nanos,
        }
    }
}

impl Duration {
    /// Parses the three accepted syntaxes: `1y2mo3w4d5h6m7s8ms9us10ns` (units in order, `µs` too),
    /// ISO 8601 `P1Y2M3DT4H5M6S` / `P3W`, and the alternative `P0001-02-03T04:05:06`. A leading `-` negates.
    pub fn parse(input: &str) -> Result<Duration, TypeError> {
        let negative = input.starts_with('-');
        let source = if negative { &input[1..] } else { input };
        let unable = || invalid(format!("Unable to convert '{source}' to a duration"));
        let mut builder = Builder::new(negative);
        if let Some(iso) = source.strip_prefix('P') {
            if let Some(weeks) = iso.strip_suffix('W') {
                builder.add(Unit::Weeks, number(weeks).ok_or_else(unable)?)?;
            } else if iso.contains('-') {
                parse_iso_alternative(iso, &mut builder).ok_or_else(unable)??;
            } else {
                parse_iso_designators(iso, &mut builder).ok_or_else(unable)??;
            }
        } else {
            parse_standard(source, &mut builder).ok_or_else(unable)??;
        }
        Ok(builder.build())
    }

    /// The wire form: three signed vints.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(12);
        write_signed_vint(i64::from(self.months), &mut out);
        write_signed_vint(i64::from(self.days), &mut out);
        write_signed_vint(self.nanos, &mut out);
        out
    }

    /// Reads and checks a wire value (trailing bytes are ignored, as Cassandra does).
    pub fn decode(bytes: &[u8]) -> Result<Duration, TypeError> {
        if bytes.len() < 3 {
            return Err(marshal(format!(
                "Expected at least 3 bytes for a duration ({})",
                bytes.len()
            )));
        }
        let mut input = bytes;
        let truncated = || {
            marshal(format!(
                "Not enough bytes to read a duration ({})",
                bytes.len()
            ))
        };
        let months = read_signed_vint(&mut input).ok_or_else(truncated)?;
        let days = read_signed_vint(&mut input).ok_or_else(truncated)?;
        let nanos = read_signed_vint(&mut input).ok_or_else(truncated)?;
        let months = i32::try_from(months).map_err(|_| {
            marshal(format!(
                "The duration months must be a 32 bits integer but was: {months}"
            ))
        })?;
        let days = i32::try_from(days).map_err(|_| {
            marshal(format!(
                "The duration days must be a 32 bits integer but was: {days}"
            ))
        })?;
        let all_positive = months >= 0 && days >= 0 && nanos >= 0;
        let all_negative = months <= 0 && days <= 0 && nanos <= 0;
        if !(all_positive || all_negative) {
            return Err(marshal(format!(
                "The duration months, days and nanoseconds must be all of the same sign ({months}, {days}, {nanos})"
            )));
        }
        Ok(Duration {
            months,
            days,
            nanos,
        })
    }
}

impl std::fmt::Display for Duration {
    /// Cassandra's `Duration.toString`: `1y2mo3d4h5m6s7ms8us9ns`, zero units omitted, `-` in front if negative.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut out = String::new();
        if self.months < 0 || self.days < 0 || self.nanos < 0 {
            out.push('-');
        }
        let months = i64::from(self.months).unsigned_abs();
        let rest = append_unit(&mut out, months, 12, "y");
        append_unit(&mut out, rest, 1, "mo");
        append_unit(&mut out, i64::from(self.days).unsigned_abs(), 1, "d");
        if self.nanos != 0 {
            let mut rest = self.nanos.unsigned_abs();
            for (per, symbol) in [
                (NANOS_PER_HOUR, "h"),
                (NANOS_PER_MINUTE, "m"),
                (NANOS_PER_SECOND, "s"),
                (NANOS_PER_MILLI, "ms"),
                (NANOS_PER_MICRO, "us"),
                (1, "ns"),
            ] {
                rest = append_unit(&mut out, rest, per as u64, symbol);
            }
        }
        f.write_str(&out)
    }
}

fn append_unit(out: &mut String, dividend: u64, divisor: u64, symbol: &str) -> u64 {
    if dividend == 0 || dividend < divisor {
        return dividend;
    }
    out.push_str(&format!("{}{symbol}", dividend / divisor));
    dividend % divisor
}

/// Digits only, as a Java long (`Long.parseLong` on a `\d+` group).
fn number(text: &str) -> Option<i64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// `(\d+)(unit)` repeated to the end. None = the text does not match (reported as "Unable to convert").
fn parse_standard(source: &str, builder: &mut Builder) -> Option<Result<(), TypeError>> {
    let mut rest = source;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let amount = number(&rest[..digits])?;
        rest = &rest[digits..];
        let symbol_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = longest_unit_prefix(&rest[..symbol_len])?;
        rest = &rest[unit.1..];
        if let Err(e) = builder.add(unit.0, amount) {
            return Some(Err(e));
        }
    }
    Some(Ok(()))
}

/// The unit symbol at the start of `text` (two-letter symbols win over `m`), with its byte length.
fn longest_unit_prefix(text: &str) -> Option<(Unit, usize)> {
    let two: String = text.chars().take(2).collect();
    if two.chars().count() == 2 {
        if let Some(unit) = Unit::from_symbol(&two) {
            return Some((unit, two.len()));
        }
    }
    let one: String = text.chars().take(1).collect();
    Unit::from_symbol(&one).map(|u| (u, one.len()))
}

/// `[nY][nM][nD][T[nH][nM][nS]]` after the `P`.
fn parse_iso_designators(iso: &str, builder: &mut Builder) -> Option<Result<(), TypeError>> {
    let (date, time) = match iso.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (iso, None),
    };
    let mut steps: Vec<(Unit, i64)> = Vec::new();
    collect_designators(
        date,
        &[('Y', Unit::Years), ('M', Unit::Months), ('D', Unit::Days)],
        &mut steps,
    )?;
    if let Some(time) = time {
        collect_designators(
            time,
            &[
                ('H', Unit::Hours),
                ('M', Unit::Minutes),
                ('S', Unit::Seconds),
            ],
            &mut steps,
        )?;
    }
    for (unit, amount) in steps {
        if let Err(e) = builder.add(unit, amount) {
            return Some(Err(e));
        }
    }
    Some(Ok(()))
}

/// Reads `\d+X` groups whose designators appear in `order`, each at most once and in that order.
fn collect_designators(
    text: &str,
    order: &[(char, Unit)],
    steps: &mut Vec<(Unit, i64)>,
) -> Option<()> {
    let mut rest = text;
    let mut next = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let amount = number(&rest[..digits])?;
        let designator = rest[digits..].chars().next()?;
        let (position, &(_, unit)) = order
            .iter()
            .enumerate()
            .skip(next)
            .find(|(_, (c, _))| *c == designator)?;
        steps.push((unit, amount));
        next = position + 1;
        rest = &rest[digits + 1..];
    }
    Some(())
}

/// `YYYY-MM-DDThh:mm:ss` after the `P`.
fn parse_iso_alternative(iso: &str, builder: &mut Builder) -> Option<Result<(), TypeError>> {
    let bytes = iso.as_bytes();
    let shape_ok = iso.is_ascii()
        && bytes.len() == 19
        && [4, 7].iter().all(|&i| bytes.get(i) == Some(&b'-'))
        && bytes.get(10) == Some(&b'T')
        && [13, 16].iter().all(|&i| bytes.get(i) == Some(&b':'));
    if !shape_ok {
        return None;
    }
    let fields = [
        (Unit::Years, &iso[0..4]),
        (Unit::Months, &iso[5..7]),
        (Unit::Days, &iso[8..10]),
        (Unit::Hours, &iso[11..13]),
        (Unit::Minutes, &iso[14..16]),
        (Unit::Seconds, &iso[17..19]),
    ];
    for (unit, text) in fields {
        let amount = number(text)?;
        if let Err(e) = builder.add(unit, amount) {
            return Some(Err(e));
        }
    }
    Some(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(months: i32, days: i32, nanos: i64) -> Duration {
        Duration {
            months,
            days,
            nanos,
        }
    }

    #[test]
    fn all_three_syntaxes() {
        let cases = [
            ("1h30m", d(0, 0, 90 * NANOS_PER_MINUTE)),
            (
                "1y2mo3w4d5h6m7s8ms9us10ns",
                d(
                    14,
                    25,
                    5 * NANOS_PER_HOUR + 6 * NANOS_PER_MINUTE + 7_008_009_010,
                ),
            ),
            ("12µs", d(0, 0, 12_000)),
            ("2MO", d(2, 0, 0)),
            ("-3d", d(0, -3, 0)),
            (
                "P1Y2M3DT4H5M6S",
                d(
                    14,
                    3,
                    4 * NANOS_PER_HOUR + 5 * NANOS_PER_MINUTE + 6 * NANOS_PER_SECOND,
                ),
            ),
            ("PT30M", d(0, 0, 30 * NANOS_PER_MINUTE)),
            ("P2W", d(0, 14, 0)),
            ("-P1D", d(0, -1, 0)),
            (
                "P0001-02-03T04:05:06",
                d(
                    14,
                    3,
                    4 * NANOS_PER_HOUR + 5 * NANOS_PER_MINUTE + 6 * NANOS_PER_SECOND,
                ),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(Duration::parse(text), Ok(expected), "{text}");
            let bytes = expected.encode();
            assert_eq!(Duration::decode(&bytes), Ok(expected));
        }
    }

    #[test]
    fn errors_match_cassandra() {
        let cases = [
            ("3", "Unable to convert '3' to a duration"),
            ("1x", "Unable to convert '1x' to a duration"),
            ("", "Unable to convert '' to a duration"),
            ("P1Q", "Unable to convert 'P1Q' to a duration"),
            (
                "1h1h",
                "Invalid duration. The hours are specified multiple times",
            ),
            (
                "1m1h",
                "Invalid duration. The minutes should be after hours",
            ),
            (
                "3000000000mo",
                "Invalid duration. The total number of months must be less or equal to 2147483647",
            ),
        ];
        for (text, message) in cases {
            assert_eq!(
                Duration::parse(text).map_err(|e| e.to_string()),
                Err(message.to_string()),
                "{text}"
            );
        }
    }

    #[test]
    fn printing_matches_cassandra() {
        assert_eq!(
            d(14, 3, 90 * NANOS_PER_MINUTE + 1).to_string(),
            "1y2mo3d1h30m1ns"
        );
        assert_eq!(d(0, -1, -NANOS_PER_MILLI).to_string(), "-1d1ms");
        assert_eq!(d(0, 0, 0).to_string(), "");
    }

    #[test]
    fn decoding_checks_signs_and_sizes() {
        assert_eq!(
            Duration::decode(&[0, 0]).map_err(|e| e.to_string()),
            Err("Expected at least 3 bytes for a duration (2)".to_string())
        );
        let mixed = d(1, 0, 0)
            .encode()
            .into_iter()
            .take(2)
            .chain(d(0, 0, -5).encode().into_iter().skip(2))
            .collect::<Vec<_>>();
        assert_eq!(
            Duration::decode(&mixed).map_err(|e| e.to_string()),
            Err(
                "The duration months, days and nanoseconds must be all of the same sign (1, 0, -5)"
                    .to_string()
            )
        );
    }
}
