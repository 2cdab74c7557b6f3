//! The `compaction` table option, validated as Cassandra 5.0's `CompactionParams` does:
//! `fromMap`/`create` (class, `provide_overlapping_tombstones`, default thresholds for the
//! strategies that take them), then `validate`: the strategy's static `validateOptions`
//! (the options every strategy shares, then its own), any option left over refused as
//! "Properties specified [x] are not understood by <Strategy>", then the thresholds.
//! Messages are Cassandra's, word for word; the first failing check wins, in Cassandra's order.

use std::collections::BTreeMap;

use crate::error::{CqlError, CqlResult};
use crate::types::{java_float_string, parse_java_float, parse_java_integer};

const PACKAGE: &str = "org.apache.cassandra.db.compaction.";

/// A compaction strategy of Cassandra 5.0.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Strategy {
    SizeTiered,
    Leveled,
    TimeWindow,
    Unified,
}

impl Strategy {
    fn from_short_name(name: &str) -> Option<Strategy> {
        Some(match name {
            "SizeTieredCompactionStrategy" => Strategy::SizeTiered,
            "LeveledCompactionStrategy" => Strategy::Leveled,
            "TimeWindowCompactionStrategy" => Strategy::TimeWindow,
            "UnifiedCompactionStrategy" => Strategy::Unified,
            _ => return None,
        })
    }

    fn short_name(self) -> &'static str {
        match self {
            Strategy::SizeTiered => "SizeTieredCompactionStrategy",
            Strategy::Leveled => "LeveledCompactionStrategy",
            Strategy::TimeWindow => "TimeWindowCompactionStrategy",
            Strategy::Unified => "UnifiedCompactionStrategy",
        }
    }

    /// `CompactionParams.supportsThresholdParams`: every strategy but UCS understands
    /// `min_threshold`/`max_threshold`, and gets them by default.
    fn takes_thresholds(self) -> bool {
        self != Strategy::Unified
    }
}

type Options = BTreeMap<String, String>;

fn config(message: String) -> CqlError {
    CqlError::Config(message)
}

/// `WITH compaction = {...}` as written, to the map `system_schema.tables` shows.
pub fn compaction(mut options: Options) -> CqlResult<Options> {
    let class = options
        .remove("class")
        .ok_or_else(|| config("Missing sub-option 'class' for the 'compaction' option".into()))?;
    let full = if class.contains('.') {
        class
    } else {
        format!("{PACKAGE}{class}")
    };
    let strategy = full
        .strip_prefix(PACKAGE)
        .and_then(Strategy::from_short_name)
        .ok_or_else(|| config(format!("Unable to find compaction strategy class '{full}'")))?;
    overlapping_tombstones(&options)?;
    if strategy.takes_thresholds() {
        options
            .entry("min_threshold".into())
            .or_insert_with(|| "4".into());
        options
            .entry("max_threshold".into())
            .or_insert_with(|| "32".into());
    }
    let unknown = validate_strategy_options(strategy, &options)?;
    if !unknown.is_empty() {
        return Err(config(format!(
            "Properties specified [{}] are not understood by {}",
            java_hash_order(unknown, options.len()).join(", "),
            strategy.short_name()
        )));
    }
    thresholds(&options)?;
    options.insert("class".into(), full);
    Ok(options)
}

/// `CompactionParams.create`: the value must name a `TombstoneOption`, in any case.
fn overlapping_tombstones(options: &Options) -> CqlResult<()> {
    let Some(value) = options.get("provide_overlapping_tombstones") else {
        return Ok(());
    };
    let upper = value.to_uppercase();
    if matches!(upper.as_str(), "NONE" | "ROW" | "CELL") {
        return Ok(());
    }
    Err(config(format!(
        "Invalid value {upper} for 'provide_overlapping_tombstones' compaction sub-option - must be one of the following [NONE, ROW, CELL]."
    )))
}

/// The strategy's `validateOptions`: the options it did not recognise.
fn validate_strategy_options(strategy: Strategy, options: &Options) -> CqlResult<Vec<String>> {
    let mut unchecked = common_options(options)?;
    match strategy {
        Strategy::SizeTiered => {
            size_tiered_options(options, &mut unchecked)?;
            remove_thresholds(&mut unchecked);
        }
        Strategy::Leveled => {
            leveled_options(options, &mut unchecked)?;
            remove_thresholds(&mut unchecked);
            size_tiered_options(options, &mut unchecked)?;
        }
        Strategy::TimeWindow => {
            time_window_options(options, &mut unchecked)?;
            remove_thresholds(&mut unchecked);
        }
        Strategy::Unified => unified_options(&mut unchecked)?,
    }
    Ok(unchecked.into_keys().collect())
}

fn remove_thresholds(unchecked: &mut Options) {
    unchecked.remove("min_threshold");
    unchecked.remove("max_threshold");
}

fn is_boolean(value: &str) -> bool {
    value.eq_ignore_ascii_case("true") || value.eq_ignore_ascii_case("false")
}

/// Refuses `key` unless it is `true` or `false` (any case), with `message(value)`: each
/// option words this differently in Cassandra.
fn check_boolean(
    options: &Options,
    key: &str,
    message: impl FnOnce(&str) -> String,
) -> CqlResult<()> {
    match options.get(key) {
        Some(v) if !is_boolean(v) => Err(config(message(v))),
        _ => Ok(()),
    }
}

/// `key`'s value read by `parse` (`int` or `long`), `None` when absent; otherwise refused
/// as Cassandra's `Integer.parseInt` callers word it.
fn parsed<T>(options: &Options, key: &str, parse: fn(&str) -> Option<T>) -> CqlResult<Option<T>> {
    options
        .get(key)
        .map(|v| {
            parse(v).ok_or_else(|| config(format!("{v} is not a parsable int (base10) for {key}")))
        })
        .transpose()
}

/// `Integer.parseInt` / `Long.parseLong`.
fn int(value: &str) -> Option<i32> {
    parse_java_integer(value)
}

fn long(value: &str) -> Option<i64> {
    parse_java_integer(value)
}

/// `Double.parseDouble` / `Float.parseFloat`: surrounding blanks and a type suffix allowed.
fn double(value: &str) -> Option<f64> {
    let trimmed = value.trim_matches(|c: char| c <= ' ');
    let unsuffixed = match trimmed.strip_suffix(['f', 'F', 'd', 'D']) {
        Some(rest) if !rest.ends_with(['e', 'E', '+', '-']) && !rest.is_empty() => rest,
        _ => trimmed,
    };
    parse_java_float(unsuffixed)
}

/// `AbstractCompactionStrategy.validateOptions`: the options every strategy shares.
fn common_options(options: &Options) -> CqlResult<Options> {
    if let Some(v) = options.get("tombstone_threshold") {
        let threshold = double(v).map(|d| d as f32).ok_or_else(|| {
            config(format!(
                "{v} is not a parsable int (base10) for tombstone_threshold"
            ))
        })?;
        if threshold < 0.0 {
            return Err(config(format!(
                "tombstone_threshold must be greater than 0, but was {threshold:.6}"
            )));
        }
    }
    if let Some(interval) = parsed(options, "tombstone_compaction_interval", long)? {
        if interval < 0 {
            return Err(config(format!(
                "tombstone_compaction_interval must be greater than 0, but was {interval}"
            )));
        }
    }
    check_boolean(options, "unchecked_tombstone_compaction", |v| {
        format!("'unchecked_tombstone_compaction' should be either 'true' or 'false', not '{v}'")
    })?;
    check_boolean(options, "log_all", |v| {
        format!("'log_all' should either be 'true' or 'false', not {v}")
    })?;
    check_boolean(options, "enabled", |v| {
        format!("enabled should either be 'true' or 'false', not {v}")
    })?;
    let mut unchecked = options.clone();
    for key in [
        "tombstone_threshold",
        "tombstone_compaction_interval",
        "unchecked_tombstone_compaction",
        "log_all",
        "enabled",
        "only_purge_repaired_tombstones",
        "provide_overlapping_tombstones",
    ] {
        unchecked.remove(key);
    }
    Ok(unchecked)
}

/// `SizeTieredCompactionStrategyOptions.validateOptions`.
fn size_tiered_options(options: &Options, unchecked: &mut Options) -> CqlResult<()> {
    if let Some(size) = parsed(options, "min_sstable_size", long)? {
        if size < 0 {
            return Err(config(format!(
                "min_sstable_size must be non negative: {size}"
            )));
        }
    }
    let bucket = |key: &str, default: f64| -> CqlResult<f64> {
        match options.get(key) {
            None => Ok(default),
            Some(v) => {
                double(v).ok_or_else(|| config(format!("{v} is not a parsable float for {key}")))
            }
        }
    };
    let low = bucket("bucket_low", 0.5)?;
    let high = bucket("bucket_high", 1.5)?;
    if high <= low {
        return Err(config(format!(
            "bucket_high value ({}) is less than or equal to the bucket_low value ({})",
            java_float_string(high, false),
            java_float_string(low, false)
        )));
    }
    for key in ["min_sstable_size", "bucket_low", "bucket_high"] {
        unchecked.remove(key);
    }
    Ok(())
}

/// `LeveledCompactionStrategy.validateOptions` (before the size-tiered options, which
/// LCS uses in L0).
fn leveled_options(options: &Options, unchecked: &mut Options) -> CqlResult<()> {
    let size = options
        .get("sstable_size_in_mb")
        .map_or("1", String::as_str);
    let parsed = int(size).ok_or_else(|| {
        config(format!(
            "{size} is not a parsable int (base10) for sstable_size_in_mb"
        ))
    })?;
    if parsed < 1 {
        return Err(config(format!(
            "sstable_size_in_mb must be larger than 0, but was {parsed}"
        )));
    }
    if let Some(fanout) = options.get("fanout_size") {
        // Cassandra names the sstable size, not the fanout, when the fanout does not parse.
        let parsed = int(fanout).ok_or_else(|| {
            config(format!(
                "{size} is not a parsable int (base10) for fanout_size"
            ))
        })?;
        if parsed < 1 {
            return Err(config(format!(
                "fanout_size must be larger than 0, but was {parsed}"
            )));
        }
    }
    for key in [
        "sstable_size_in_mb",
        "fanout_size",
        "single_sstable_uplevel",
    ] {
        unchecked.remove(key);
    }
    Ok(())
}

/// `TimeWindowCompactionStrategyOptions.validateOptions`.
fn time_window_options(options: &Options, unchecked: &mut Options) -> CqlResult<()> {
    // java.util.concurrent.TimeUnit names, exactly as written (TimeUnit.valueOf).
    let units = |key: &str, valid: &[&str]| -> CqlResult<()> {
        match options.get(key) {
            Some(v) if !valid.contains(&v.as_str()) => {
                Err(config(format!("{v} is not valid for {key}")))
            }
            _ => Ok(()),
        }
    };
    units(
        "timestamp_resolution",
        &["SECONDS", "MILLISECONDS", "MICROSECONDS", "NANOSECONDS"],
    )?;
    units("compaction_window_unit", &["MINUTES", "HOURS", "DAYS"])?;
    if let Some(size) = parsed(options, "compaction_window_size", int)? {
        if size < 1 {
            return Err(config(format!(
                "{size} must be greater than 1 for compaction_window_size"
            )));
        }
    }
    if let Some(frequency) = parsed(options, "expired_sstable_check_frequency_seconds", long)? {
        if frequency < 0 {
            return Err(config(format!(
                "expired_sstable_check_frequency_seconds must not be negative, but was {frequency}"
            )));
        }
    }
    check_boolean(options, "unsafe_aggressive_sstable_expiration", |v| {
        format!("unsafe_aggressive_sstable_expiration is not 'true' or 'false' ({v})")
    })?;
    if let Some(v) = options.get("unsafe_aggressive_sstable_expiration") {
        // Allowed only with -Dcassandra.allow_unsafe_aggressive_sstable_expiration=true,
        // which a Strata node never has.
        if v.eq_ignore_ascii_case("true") {
            return Err(config(
                "unsafe_aggressive_sstable_expiration is requested but not allowed, restart cassandra with -Dcassandra.allow_unsafe_aggressive_sstable_expiration=true to allow it".into(),
            ));
        }
    }
    for key in [
        "compaction_window_size",
        "compaction_window_unit",
        "timestamp_resolution",
        "expired_sstable_check_frequency_seconds",
        "unsafe_aggressive_sstable_expiration",
    ] {
        unchecked.remove(key);
    }
    size_tiered_options(options, unchecked)
}

/// The smallest target and flush sizes UCS accepts (`Controller.MIN_TARGET_SSTABLE_SIZE`).
const MIN_TARGET_SSTABLE_SIZE: i64 = 1 << 20;
const DEFAULT_TARGET_SSTABLE_SIZE: i64 = 1 << 30;

/// UCS's `Controller.validateOptions`, on what the shared options left (it removes what
/// it checks).
fn unified_options(unchecked: &mut Options) -> CqlResult<()> {
    if let Some(s) = unchecked.remove("scaling_parameters") {
        for w in s.split(',') {
            scaling_parameter(w.trim())?;
        }
    }
    if let Some(s) = unchecked.remove("base_shard_count") {
        let count = int(&s).ok_or_else(|| {
            config(format!(
                "{s} is not a parsable int (base10) for base_shard_count"
            ))
        })?;
        if count <= 0 {
            return Err(config(format!(
                "Invalid configuration, base_shard_count should be positive: {count}"
            )));
        }
    }
    let mut target = DEFAULT_TARGET_SSTABLE_SIZE;
    for key in ["target_sstable_size", "flush_size_override"] {
        if let Some(s) = unchecked.remove(key) {
            let size = human_readable_bytes(&s)
                .map_err(|e| config(format!("{key} {s} is not a valid size in bytes: {e}")))?;
            if size < MIN_TARGET_SSTABLE_SIZE {
                return Err(config(format!(
                    "{key} {s} is not acceptable, size must be at least {}",
                    pretty_print_memory(MIN_TARGET_SSTABLE_SIZE)
                )));
            }
            if key == "target_sstable_size" {
                target = size;
            }
        }
    }
    if let Some(s) = unchecked.remove("max_sstables_to_compact") {
        // Values of 0 or less mean the default.
        int(&s).ok_or_else(|| {
            config(format!(
                "{s} is not a parsable int (base10) for max_sstables_to_compact"
            ))
        })?;
    }
    if let Some(s) = unchecked.remove("expired_sstable_check_frequency_seconds") {
        let frequency = long(&s).ok_or_else(|| {
            config(format!(
                "{s} is not a parsable long (base10) for expired_sstable_check_frequency_seconds"
            ))
        })?;
        if frequency <= 0 {
            return Err(config(format!(
                "Invalid configuration, expired_sstable_check_frequency_seconds should be positive: {frequency}"
            )));
        }
    }
    if let Some(s) = unchecked.remove("unsafe_aggressive_sstable_expiration") {
        if !is_boolean(&s) {
            return Err(config(format!(
                "unsafe_aggressive_sstable_expiration should either be 'true' or 'false', not {s}"
            )));
        }
    }
    if let Some(s) = unchecked.remove("overlap_inclusion_method") {
        if !matches!(s.to_uppercase().as_str(), "NONE" | "SINGLE" | "TRANSITIVE") {
            return Err(config(format!(
                "Invalid overlap inclusion method {s}. The valid options are [NONE, SINGLE, TRANSITIVE]."
            )));
        }
    }
    if let Some(s) = unchecked.remove("min_sstable_size") {
        let size = human_readable_bytes(&s).map_err(|_| {
            config(format!(
                "{s} is not a valid size in bytes for min_sstable_size"
            ))
        })?;
        if size < 0 {
            return Err(config(
                "Invalid configuration, min_sstable_size should be greater than or equal to 0 (zero)"
                    .into(),
            ));
        }
        let limit = (target as f64 * std::f64::consts::FRAC_1_SQRT_2).ceil() as i64;
        if size >= limit {
            return Err(config(format!(
                "Invalid configuration, min_sstable_size ({}) should be less than the target size minimum: {}",
                pretty_print_memory(size),
                pretty_print_memory(limit)
            )));
        }
    }
    if let Some(s) = unchecked.remove("sstable_growth") {
        let growth = percent(&s).ok_or_else(|| {
            config(format!(
                "sstable_growth is not a valid number between 0 and 1: For input string: \"{s}\""
            ))
        })?;
        if !(0.0..=1.0).contains(&growth) {
            return Err(config(format!(
                "sstable_growth {s} must be between 0 and 1"
            )));
        }
    }
    Ok(())
}

/// `UnifiedCompactionStrategy.parseScalingParameter`: `N`, `L<f>`, `T<f>` (f ≥ 2) or an integer.
fn scaling_parameter(value: &str) -> CqlResult<()> {
    let pattern = || {
        config(format!(
            "Scaling parameter {value} must match N|L[0-9]+|T[0-9]+|[+-]?[0-9]+"
        ))
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if value == "N" {
        return Ok(());
    }
    if let Some(fan) = value.strip_prefix(['L', 'T']) {
        if !all_digits(fan) {
            return Err(pattern());
        }
        return match int(fan) {
            Some(f) if f >= 2 => Ok(()),
            Some(_) => Err(config(format!(
                "Fan factor cannot be lower than 2 in {value}"
            ))),
            None => Err(config(format!("For input string: \"{fan}\""))),
        };
    }
    let unsigned = value.strip_prefix(['+', '-']).unwrap_or(value);
    if !all_digits(unsigned) {
        return Err(pattern());
    }
    int(value)
        .map(|_| ())
        .ok_or_else(|| config(format!("For input string: \"{value}\"")))
}

/// `FBUtilities.parsePercent`: `50%` is 0.5, otherwise a plain double.
fn percent(value: &str) -> Option<f64> {
    match value.strip_suffix('%') {
        Some(number) => double(number).map(|v| v / 100.0),
        None => double(value),
    }
}

/// `FBUtilities.parseHumanReadableBytes`: a number, optional blanks, an optional unit prefix
/// (`K`, `M`, `G`, `T`, `P`: powers of 1000, or of 1024 with `i`), then `B`.
fn human_readable_bytes(value: &str) -> Result<i64, String> {
    let body = value
        .strip_suffix('B')
        .ok_or_else(|| format!("{value} does not end in unit B"))?;
    let number_end = body
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E')))
        .unwrap_or(body.len());
    let number =
        double(&body[..number_end]).ok_or_else(|| format!("For input string: \"{value}\""))?;
    let prefix = body[number_end..].trim_start();
    let (power, binary) = match prefix.strip_suffix('i') {
        Some(p) => (p, true),
        None => (prefix, false),
    };
    let exponent = match power {
        "" if !binary => 0,
        "K" | "k" => 1,
        "M" => 2,
        "G" => 3,
        "T" => 4,
        "P" => 5,
        _ => return Err(format!("Invalid unit prefix in {value}")),
    };
    let base: f64 = if binary { 1024.0 } else { 1000.0 };
    Ok((number * base.powi(exponent)) as i64)
}

/// `FBUtilities.prettyPrintMemory`: `1.000MiB`, `512.000KiB`, `12bytes`.
fn pretty_print_memory(size: i64) -> String {
    let units = [(30, "GiB"), (20, "MiB"), (10, "KiB")];
    for (shift, unit) in units {
        if size >= 1 << shift {
            return format!("{:.3}{unit}", size as f64 / (1u64 << shift) as f64);
        }
    }
    format!("{size}bytes")
}

/// `CompactionParams.validate`, after the strategy's own checks: both thresholds integers,
/// positive, the minimum at least 2 and at most the maximum. A strategy without thresholds
/// (UCS) is checked against the defaults, which always pass.
fn thresholds(options: &Options) -> CqlResult<()> {
    let threshold = |key: &str, default: i64| -> CqlResult<i64> {
        let Some(v) = options.get(key) else {
            return Ok(default);
        };
        // StringUtils.isNumeric: digits only, no sign.
        if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(config(format!(
                "Invalid value {v} for '{key}' compaction sub-option - must be an integer"
            )));
        }
        v.parse::<i32>()
            .map(i64::from)
            .map_err(|_| config(format!("For input string: \"{v}\"")))
    };
    let min = threshold("min_threshold", 4)?;
    let max = threshold("max_threshold", 32)?;
    if min <= 0 || max <= 0 {
        return Err(config("Disabling compaction by setting compaction thresholds to 0 has been removed, set the compaction option 'enabled' to false instead.".into()));
    }
    if min <= 1 {
        return Err(config(format!(
            "Min compaction threshold cannot be less than 2 (got {min})"
        )));
    }
    if min > max {
        return Err(config(format!(
            "Min compaction threshold (got {min}) cannot be greater than max compaction threshold (got {max})"
        )));
    }
    Ok(())
}

/// The order a Java `HashMap<String, _>` holding `map_size` entries iterates `keys` in
/// (Cassandra prints the unknown options from one): by bucket of the spread `String.hashCode`
/// in a table sized for the map, then by name.
fn java_hash_order(mut keys: Vec<String>, map_size: usize) -> Vec<String> {
    // HashMap(Map) sizes its table to the next power of two of size / 0.75 + 1.
    let wanted = (map_size as f64 / 0.75 + 1.0) as usize;
    let capacity = wanted.next_power_of_two();
    let bucket = |key: &str| {
        let hash = key.encode_utf16().fold(0i32, |h, unit| {
            h.wrapping_mul(31).wrapping_add(i32::from(unit))
        });
        let hash = hash as u32;
        ((hash ^ (hash >> 16)) as usize) & (capacity - 1)
    };
    keys.sort_by(|a, b| bucket(a).cmp(&bucket(b)).then_with(|| a.cmp(b)));
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(entries: &[(&str, &str)]) -> Options {
        entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn error(entries: &[(&str, &str)]) -> String {
        match compaction(map(entries)) {
            Err(CqlError::Config(message)) => message,
            other => panic!("expected a ConfigurationException, got {other:?}"),
        }
    }

    #[test]
    fn strategies_that_take_thresholds_get_the_defaults() {
        assert_eq!(
            compaction(map(&[
                ("class", "SizeTieredCompactionStrategy"),
                ("min_threshold", "7")
            ]))
            .unwrap(),
            map(&[
                (
                    "class",
                    "org.apache.cassandra.db.compaction.SizeTieredCompactionStrategy"
                ),
                ("min_threshold", "7"),
                ("max_threshold", "32")
            ])
        );
        assert_eq!(
            compaction(map(&[("class", "UnifiedCompactionStrategy")])).unwrap(),
            map(&[(
                "class",
                "org.apache.cassandra.db.compaction.UnifiedCompactionStrategy"
            )])
        );
        assert!(compaction(map(&[("min_threshold", "4")])).is_err());
        assert!(compaction(map(&[("class", "NoSuchStrategy")])).is_err());
    }

    #[test]
    fn unknown_options_are_named_per_strategy() {
        assert_eq!(
            error(&[("class", "SizeTieredCompactionStrategy"), ("abc", "-54.54")]),
            "Properties specified [abc] are not understood by SizeTieredCompactionStrategy"
        );
        assert_eq!(
            error(&[("class", "LeveledCompactionStrategy"), ("compaction_window_size", "4")]),
            "Properties specified [compaction_window_size] are not understood by LeveledCompactionStrategy"
        );
        assert_eq!(
            error(&[("class", "SizeTieredCompactionStrategy"), ("sstable_size_in_mb", "1234")]),
            "Properties specified [sstable_size_in_mb] are not understood by SizeTieredCompactionStrategy"
        );
        assert_eq!(
            error(&[
                ("class", "UnifiedCompactionStrategy"),
                ("min_threshold", "4")
            ]),
            "Properties specified [min_threshold] are not understood by UnifiedCompactionStrategy"
        );
    }

    #[test]
    fn values_are_checked_with_cassandras_messages() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("min_threshold", "1")], "Min compaction threshold cannot be less than 2 (got 1)"),
            (&[("min_threshold", "0")], "Disabling compaction by setting compaction thresholds to 0 has been removed, set the compaction option 'enabled' to false instead."),
            (&[("min_threshold", "-1")], "Invalid value -1 for 'min_threshold' compaction sub-option - must be an integer"),
            (&[("min_threshold", "40")], "Min compaction threshold (got 40) cannot be greater than max compaction threshold (got 32)"),
            (&[("tombstone_threshold", "-1")], "tombstone_threshold must be greater than 0, but was -1.000000"),
            (&[("tombstone_threshold", "x")], "x is not a parsable int (base10) for tombstone_threshold"),
            (&[("enabled", "yes")], "enabled should either be 'true' or 'false', not yes"),
            (&[("bucket_low", "2")], "bucket_high value (1.5) is less than or equal to the bucket_low value (2.0)"),
            (&[("provide_overlapping_tombstones", "IllegalValue")], "Invalid value ILLEGALVALUE for 'provide_overlapping_tombstones' compaction sub-option - must be one of the following [NONE, ROW, CELL]."),
        ];
        for (extra, message) in cases {
            let mut entries = vec![("class", "SizeTieredCompactionStrategy")];
            entries.extend_from_slice(extra);
            assert_eq!(error(&entries), *message, "{extra:?}");
        }
        assert_eq!(
            error(&[
                ("class", "LeveledCompactionStrategy"),
                ("sstable_size_in_mb", "-5")
            ]),
            "sstable_size_in_mb must be larger than 0, but was -5"
        );
        assert_eq!(
            error(&[
                ("class", "TimeWindowCompactionStrategy"),
                ("compaction_window_unit", "WEEKS")
            ]),
            "WEEKS is not valid for compaction_window_unit"
        );
        assert_eq!(
            error(&[
                ("class", "UnifiedCompactionStrategy"),
                ("scaling_parameters", "T4, X")
            ]),
            "Scaling parameter X must match N|L[0-9]+|T[0-9]+|[+-]?[0-9]+"
        );
        assert_eq!(
            error(&[
                ("class", "UnifiedCompactionStrategy"),
                ("target_sstable_size", "512KiB")
            ]),
            "target_sstable_size 512KiB is not acceptable, size must be at least 1.000MiB"
        );
        assert!(compaction(map(&[
            ("class", "UnifiedCompactionStrategy"),
            ("scaling_parameters", "T4, L10, N, -2"),
            ("target_sstable_size", "256MiB"),
            ("sstable_growth", "50%"),
            ("base_shard_count", "8"),
        ]))
        .is_ok());
    }

    #[test]
    fn unknown_options_follow_java_hash_map_order() {
        // Java: new HashMap<>(Map.of("b", "", "a", "")).keySet() is [a, b] ('a' = 97, 'b' = 98).
        assert_eq!(
            java_hash_order(vec!["b".into(), "a".into()], 2),
            vec!["a".to_string(), "b".to_string()]
        );
    }
}
