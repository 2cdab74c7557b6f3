//! timestamp, date and time: Cassandra's accepted text forms, and printing. All calendar maths is proleptic
//! Gregorian in UTC (Cassandra's behaviour with its default `user.timezone=UTC`).

use super::error::{marshal, TypeError};

const MILLIS_PER_DAY: i64 = 86_400_000;
pub(crate) const NANOS_PER_DAY: i64 = 86_400_000_000_000;
/// `date` values are unsigned days with the epoch at 2^31, so that byte order is chronological.
pub(crate) const DATE_EPOCH_OFFSET: i64 = 1 << 31;

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm; exact for the whole i64 range we use).
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date (year, month, day) of a day count since 1970-01-01.
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if year.rem_euclid(4) == 0
            && (year.rem_euclid(100) != 0 || year.rem_euclid(400) == 0) =>
        {
            29
        }
        2 => 28,
        _ => 31,
    }
}

/// A small cursor over the text of a date/time literal.
struct Cursor<'a> {
    rest: &'a str,
}

impl<'a> Cursor<'a> {
    fn digits(&mut self, min: usize, max: usize) -> Option<(i64, usize)> {
        let len = self.rest.bytes().take_while(u8::is_ascii_digit).count();
        if len < min || len > max {
            return None;
        }
        let value = self.rest[..len].parse().ok()?;
        self.rest = &self.rest[len..];
        Some((value, len))
    }

    fn eat(&mut self, c: char) -> bool {
        match self.rest.strip_prefix(c) {
            Some(r) => {
                self.rest = r;
                true
            }
            None => false,
        }
    }
}

fn checked_date(year: i64, month: i64, day: i64) -> Option<(i64, u32, u32)> {
    let month = u32::try_from(month).ok().filter(|m| (1..=12).contains(m))?;
    let day = u32::try_from(day)
        .ok()
        .filter(|d| *d >= 1 && *d <= days_in_month(year, month))?;
    Some((year, month, day))
}

/// Parses Cassandra's timestamp text (its `java.time` parser since 4.0.3): `now`, an integer of milliseconds,
/// `y-M-d( |T)H:m[:s[.f{0,9}]]` or `yyyy-MM-dd`, then an optional zone (`Z`, `+hh`, `+hhmm`, `+hh:mm`, `UTC`,
/// `GMT`, `GMT+hh:mm`, with or without a space before it); no zone means UTC. Fractions finer than a
/// millisecond are truncated. Returns milliseconds since the epoch.
pub fn parse_timestamp(text: &str) -> Result<i64, TypeError> {
    if text.eq_ignore_ascii_case("now") {
        return Ok(crate::clock::now_millis());
    }
    if is_integer_text(text) {
        return text
            .parse()
            .map_err(|_| marshal(format!("Unable to make long (for date) from: '{text}'")));
    }
    parse_date_time(text)
        .ok_or_else(|| marshal(format!("Unable to parse a date/time from '{text}'")))
}

/// `^-?\d+$`, the pattern Cassandra uses to recognise raw numbers in temporal strings.
fn is_integer_text(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

fn parse_date_time(text: &str) -> Option<i64> {
    let mut c = Cursor { rest: text };
    let (year, year_len) = c.digits(1, 9)?;
    let ok = c.eat('-');
    let (month, month_len) = c.digits(1, 2).filter(|_| ok)?;
    let ok = c.eat('-');
    let (day, day_len) = c.digits(1, 2).filter(|_| ok)?;
    let (year, month, day) = checked_date(year, month, day)?;
    let mut millis = days_from_civil(year, month, day) * MILLIS_PER_DAY;
    if c.rest.starts_with('T')
        || (c.rest.starts_with(' ') && c.rest[1..].starts_with(|ch: char| ch.is_ascii_digit()))
    {
        // With a time, Cassandra's pattern is `y-M-d`: any widths.
        c.rest = &c.rest[1..];
        millis += parse_clock(&mut c)?;
    } else if (year_len, month_len, day_len) != (4, 2, 2) {
        // A date alone must be `yyyy-MM-dd`.
        return None;
    }
    let offset_minutes = parse_zone(c.rest)?;
    Some(millis - offset_minutes * 60_000)
}

/// `HH:mm[:ss[.f{1,9}]]` as milliseconds since midnight (digits past milliseconds are dropped).
fn parse_clock(c: &mut Cursor<'_>) -> Option<i64> {
    let (hour, _) = c.digits(1, 2).filter(|(h, _)| *h < 24)?;
    let ok = c.eat(':');
    let (minute, _) = c.digits(1, 2).filter(|(m, _)| ok && *m < 60)?;
    let mut millis = (hour * 60 + minute) * 60_000;
    if c.eat(':') {
        let (second, _) = c.digits(1, 2).filter(|(s, _)| *s < 60)?;
        millis += second * 1000;
        if c.eat('.') {
            let (fraction, len) = c.digits(1, 9)?;
            let len = u32::try_from(len).ok()?;
            millis += if len <= 3 {
                fraction * 10i64.pow(3 - len)
            } else {
                fraction / 10i64.pow(len - 3)
            };
        }
    }
    Some(millis)
}

/// A zone suffix as an offset in minutes east of UTC; "" means UTC (the server's zone).
fn parse_zone(text: &str) -> Option<i64> {
    let zone = text.strip_prefix(' ').unwrap_or(text);
    if text.is_empty() {
        return Some(0);
    }
    if zone == "Z" || zone.eq_ignore_ascii_case("UTC") || zone.eq_ignore_ascii_case("GMT") {
        return Some(0);
    }
    let numeric = zone
        .strip_prefix("GMT")
        .or_else(|| zone.strip_prefix("UTC"))
        .unwrap_or(zone);
    let (sign, body) = match numeric.as_bytes().first()? {
        b'+' => (1, &numeric[1..]),
        b'-' => (-1, &numeric[1..]),
        _ => return None,
    };
    let mut c = Cursor { rest: body };
    let (hours, hour_len) = c.digits(1, 4)?;
    let (hours, minutes) = if hour_len > 2 {
        // `+hhmm`
        (hours / 100, hours % 100)
    } else if c.eat(':') {
        (hours, c.digits(2, 2)?.0)
    } else {
        (hours, 0)
    };
    if !c.rest.is_empty() || hours > 23 || minutes > 59 {
        return None;
    }
    Some(sign * (hours * 60 + minutes))
}

/// cqlsh's timestamp form: `2011-02-03 04:05:00.000000+0000` (UTC). Like cqlsh, a timestamp outside years
/// 0000-9999 (which no date literal can express) prints as its integer milliseconds.
pub fn format_timestamp(millis: i64) -> String {
    if !timestamp_in_literal_range(millis) {
        return millis.to_string();
    }
    let (date, time_millis) = split_millis(millis);
    format!(
        "{date} {}.{:03}000+0000",
        clock_hms(time_millis),
        time_millis % 1000
    )
}

/// Whether a timestamp falls in years 0000-9999, the range a date-time literal can express.
pub(crate) fn timestamp_in_literal_range(millis: i64) -> bool {
    (0..=9999).contains(&civil_from_days(millis.div_euclid(MILLIS_PER_DAY)).0)
}

/// Cassandra's `toJson` timestamp form: `2011-02-03 04:05:00.000Z` (UTC).
pub fn format_timestamp_json(millis: i64) -> String {
    let (date, time_millis) = split_millis(millis);
    format!(
        "{date} {}.{:03}Z",
        clock_hms(time_millis),
        time_millis % 1000
    )
}

fn split_millis(millis: i64) -> (String, i64) {
    let days = millis.div_euclid(MILLIS_PER_DAY);
    (format_civil(days), millis.rem_euclid(MILLIS_PER_DAY))
}

fn clock_hms(millis_of_day: i64) -> String {
    let seconds = millis_of_day / 1000;
    format!(
        "{:02}:{:02}:{:02}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

fn format_civil(days: i64) -> String {
    let (year, month, day) = civil_from_days(days);
    if year < 0 {
        format!("-{:04}-{month:02}-{day:02}", -year)
    } else {
        format!("{year:04}-{month:02}-{day:02}")
    }
}

/// Parses a `date`: `yyyy-MM-dd` (ISO local date, strict) or an unsigned day number with the epoch at 2^31.
/// Returns the 4-byte wire value.
pub fn parse_date(text: &str) -> Result<u32, TypeError> {
    if is_integer_text(text) {
        return text
            .parse::<i64>()
            .ok()
            .and_then(|days| u32::try_from(days).ok())
            .ok_or_else(|| {
                marshal(format!(
                    "Unable to make unsigned int (for date) from: '{text}'"
                ))
            });
    }
    let days = parse_iso_date(text).ok_or_else(|| {
        marshal(format!(
            "Unable to coerce '{text}' to a formatted date (long)"
        ))
    })?;
    let shifted = days + DATE_EPOCH_OFFSET;
    if shifted < 0 {
        return Err(marshal(format!(
            "Input date {text} is less than min supported date -5877641-06-23T00:00Z"
        )));
    }
    u32::try_from(shifted).map_err(|_| {
        marshal(format!(
            "Input date {text} is greater than max supported date 5881580-07-11T00:00Z"
        ))
    })
}

/// ISO_LOCAL_DATE: a 4-digit year (more digits need a sign), 2-digit month and day.
fn parse_iso_date(text: &str) -> Option<i64> {
    let (sign, body) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => (0, text),
    };
    let mut c = Cursor { rest: body };
    let (year, year_len) = c.digits(4, 10)?;
    if year_len > 4 && sign == 0 {
        return None;
    }
    let year = if sign < 0 { -year } else { year };
    let ok = c.eat('-');
    let (month, _) = c.digits(2, 2).filter(|_| ok)?;
    let ok = c.eat('-');
    let (day, _) = c.digits(2, 2).filter(|_| ok)?;
    if !c.rest.is_empty() {
        return None;
    }
    let (year, month, day) = checked_date(year, month, day)?;
    Some(days_from_civil(year, month, day))
}

/// Prints a `date` wire value as Java's ISO local date: `yyyy-MM-dd`, with a `+` before years above 9999.
pub fn format_date(value: u32) -> String {
    let days = i64::from(value) - DATE_EPOCH_OFFSET;
    let text = format_civil(days);
    if civil_from_days(days).0 > 9999 {
        format!("+{text}")
    } else {
        text
    }
}

/// Parses a `time`: nanoseconds since midnight as an integer, or `hh:mm:ss[.fffffffff]`.
pub fn parse_time(text: &str) -> Result<i64, TypeError> {
    if is_integer_text(text) {
        return text
            .parse::<i64>()
            .ok()
            .filter(|n| (0..NANOS_PER_DAY).contains(n))
            .ok_or_else(|| marshal(format!("Unable to make long (for time) from: '{text}'")));
    }
    parse_clock_nanos(text.trim()).ok_or_else(|| {
        marshal(format!(
            "(TimeType) Unable to coerce '{text}' to a formatted time (long)"
        ))
    })
}

fn parse_clock_nanos(text: &str) -> Option<i64> {
    let mut c = Cursor { rest: text };
    let (hour, _) = c.digits(1, 9).filter(|(h, _)| *h < 24)?;
    let ok = c.eat(':');
    let (minute, _) = c.digits(1, 9).filter(|(m, _)| ok && *m < 60)?;
    let ok = c.eat(':');
    let (second, _) = c.digits(1, 9).filter(|(s, _)| ok && *s < 60)?;
    let mut nanos = ((hour * 60 + minute) * 60 + second) * 1_000_000_000;
    if c.eat('.') {
        let (fraction, len) = c.digits(1, 9)?;
        nanos += fraction * 10i64.pow(9 - u32::try_from(len).ok()?);
    }
    c.rest.is_empty().then_some(nanos)
}

/// Prints a `time` as Cassandra does: `08:12:54.123456789`.
pub fn format_time(nanos: i64) -> String {
    let n = nanos.rem_euclid(NANOS_PER_DAY);
    let seconds = n / 1_000_000_000;
    format!(
        "{:02}:{:02}:{:02}.{:09}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60,
        n % 1_000_000_000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const T_2011_02_03_0405: i64 = 1_296_705_900_000;

    #[test]
    fn timestamp_text_forms() {
        let cases: [(&str, i64); 18] = [
            ("2011-2-3 4:5", T_2011_02_03_0405),
            ("2011-02-03 04:05:00.123456789", T_2011_02_03_0405 + 123),
            ("2011-02-03 04:05", T_2011_02_03_0405),
            ("2011-02-03 04:05:00", T_2011_02_03_0405),
            ("2011-02-03 04:05:00.000", T_2011_02_03_0405),
            ("2011-02-03T04:05:00.000+0000", T_2011_02_03_0405),
            ("2011-02-03T04:05:00Z", T_2011_02_03_0405),
            ("2011-02-03 04:05+0000", T_2011_02_03_0405),
            ("2011-02-03 05:05+01:00", T_2011_02_03_0405),
            ("2011-02-03 05:05 +01", T_2011_02_03_0405),
            ("2011-02-03 04:05 UTC", T_2011_02_03_0405),
            ("2011-02-03 06:05:00 GMT+02:00", T_2011_02_03_0405),
            ("2011-02-03 04:05:00.123", T_2011_02_03_0405 + 123),
            ("2011-02-03 04:05:00.1", T_2011_02_03_0405 + 100),
            ("2011-02-03", 1_296_691_200_000),
            ("2011-02-03+0100", 1_296_691_200_000 - 3_600_000),
            ("1296705900000", T_2011_02_03_0405),
            ("-1", -1),
        ];
        for (text, millis) in cases {
            assert_eq!(parse_timestamp(text), Ok(millis), "{text}");
        }
        assert!(parse_timestamp("now").is_ok_and(|t| t > T_2011_02_03_0405));
    }

    #[test]
    fn timestamp_errors_use_cassandras_words() {
        for text in [
            "2011-02-30",
            "2011-13-01",
            "abc",
            "2011-02-03 25:00",
            "2011-02-03 04:05 +25",
            "2011-2-3",
        ] {
            assert_eq!(
                parse_timestamp(text),
                Err(TypeError::Marshal(format!(
                    "Unable to parse a date/time from '{text}'"
                )))
            );
        }
        assert_eq!(
            parse_timestamp("99999999999999999999"),
            Err(TypeError::Marshal(
                "Unable to make long (for date) from: '99999999999999999999'".into()
            ))
        );
    }

    #[test]
    fn timestamps_print_like_cqlsh_and_json() {
        assert_eq!(
            format_timestamp(T_2011_02_03_0405 + 7),
            "2011-02-03 04:05:00.007000+0000"
        );
        assert_eq!(
            format_timestamp_json(T_2011_02_03_0405),
            "2011-02-03 04:05:00.000Z"
        );
        assert_eq!(format_timestamp(-1), "1969-12-31 23:59:59.999000+0000");
        assert_eq!(format_timestamp(i64::MIN), i64::MIN.to_string());
    }

    #[test]
    fn dates_round_trip_and_check_ranges() {
        assert_eq!(parse_date("1970-01-01"), Ok(1 << 31));
        assert_eq!(parse_date("2011-02-03"), Ok((1u32 << 31) + 15_008));
        assert_eq!(parse_date("0"), Ok(0));
        assert_eq!(parse_date("4294967295"), Ok(u32::MAX));
        assert_eq!(format_date((1u32 << 31) + 15_008), "2011-02-03");
        assert_eq!(
            format_date(parse_date("-0001-12-31").unwrap_or(0)),
            "-0001-12-31"
        );
        assert_eq!(
            format_date(parse_date("+10083-07-20").unwrap_or(0)),
            "+10083-07-20"
        );
        for text in ["2011-2-3", "2011-02-29", "20110-01-01", ""] {
            assert_eq!(
                parse_date(text),
                Err(TypeError::Marshal(format!(
                    "Unable to coerce '{text}' to a formatted date (long)"
                )))
            );
        }
        assert_eq!(
            parse_date("-5"),
            Err(TypeError::Marshal(
                "Unable to make unsigned int (for date) from: '-5'".into()
            ))
        );
        assert_eq!(
            parse_date("4294967296"),
            Err(TypeError::Marshal(
                "Unable to make unsigned int (for date) from: '4294967296'".into()
            ))
        );
        for days in [-1_000_000i64, -1, 0, 59, 60, 365, 10_957, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn times_parse_and_print() {
        assert_eq!(parse_time("08:12:54.123456789"), Ok(29_574_123_456_789));
        assert_eq!(parse_time("08:12:54"), Ok(29_574_000_000_000));
        assert_eq!(parse_time("08:12:54.1"), Ok(29_574_100_000_000));
        assert_eq!(parse_time("0"), Ok(0));
        assert_eq!(format_time(29_574_123_456_789), "08:12:54.123456789");
        assert_eq!(
            parse_time("86400000000000"),
            Err(TypeError::Marshal(
                "Unable to make long (for time) from: '86400000000000'".into()
            ))
        );
        for text in ["24:00:00", "08:12", "08:12:54.", "08:12:54.1234567890", "x"] {
            assert_eq!(
                parse_time(text),
                Err(TypeError::Marshal(format!(
                    "(TimeType) Unable to coerce '{text}' to a formatted time (long)"
                )))
            );
        }
    }
}
