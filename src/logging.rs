//! Process logging: `tracing` events to stderr, filtered by `STRATA_LOG` (default `info`).
//! The filter sits behind tracing-subscriber's reload layer, so `nodetool
//! setlogginglevel` changes it at run time, as Cassandra's logback levels can be.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use tracing_subscriber::prelude::*;
use tracing_subscriber::{reload, EnvFilter, Registry};

struct Reloadable {
    handle: reload::Handle<EnvFilter, Registry>,
    /// The filter given at start, which `setlogginglevel` without arguments restores.
    initial: String,
    /// The filter in force, as directives (`info,strata::cluster=debug`).
    current: Mutex<String>,
}

static FILTER: OnceLock<Reloadable> = OnceLock::new();

/// Installs the global subscriber (once per process; later calls do nothing).
pub fn init() {
    let initial = std::env::var("STRATA_LOG")
        .ok()
        .filter(|text| EnvFilter::try_new(text).is_ok())
        .unwrap_or_else(|| "info".into());
    let (filter, handle) = reload::Layer::new(EnvFilter::new(&initial));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let output = tracing_subscriber::fmt::layer()
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    if tracing_subscriber::registry()
        .with(filter)
        .with(output)
        .try_init()
        .is_ok()
    {
        let current = Mutex::new(initial.clone());
        let _ = FILTER.set(Reloadable {
            handle,
            initial,
            current,
        });
    }
}

/// Cassandra's `nodetool setlogginglevel [component] [level]`: no arguments restore the
/// start-up filter; a component (a module path such as `strata::cluster`, or `ROOT` or
/// an empty one for everything) gets the level. Levels: TRACE, DEBUG, INFO, WARN, ERROR,
/// OFF (and ALL, as TRACE), in any case.
pub fn set_level(args: &[String]) -> Result<(), String> {
    let filter = FILTER
        .get()
        .ok_or("logging is not reloadable in this process")?;
    let mut current = filter.current.lock().unwrap_or_else(|e| e.into_inner());
    let next = match args {
        [] => filter.initial.clone(),
        [component, level] => {
            let level = match level.to_ascii_lowercase().as_str() {
                "all" => "trace".to_string(),
                l @ ("trace" | "debug" | "info" | "warn" | "error" | "off") => l.to_string(),
                _ => return Err(format!("Invalid log level {level}: expected TRACE, DEBUG, INFO, WARN, ERROR, OFF or ALL")),
            };
            match component.as_str() {
                "" | "ROOT" | "root" => level,
                target => format!("{current},{target}={level}"),
            }
        }
        _ => return Err("usage: setlogginglevel [<component> <level>]".into()),
    };
    let parsed =
        EnvFilter::try_new(&next).map_err(|e| format!("Invalid logging component: {e}"))?;
    filter.handle.reload(parsed).map_err(|e| e.to_string())?;
    *current = next;
    Ok(())
}

/// `nodetool getlogginglevels`: each directive of the filter in force.
pub fn levels() -> String {
    let current = FILTER
        .get()
        .map(|f| f.current.lock().unwrap_or_else(|e| e.into_inner()).clone())
        .unwrap_or_default();
    let mut out = format!("\n{:<50}{}\n", "Logger Name", "Log Level");
    for directive in current.split(',').filter(|d| !d.is_empty()) {
        let (name, level) = directive.split_once('=').unwrap_or(("ROOT", directive));
        out.push_str(&format!("{name:<50}{}\n", level.to_ascii_uppercase()));
    }
    out
}

/// Cassandra's `slow_query_log_timeout` default: requests slower than this are logged.
const SLOW_REQUEST: Duration = Duration::from_millis(500);
/// At most one slow-request line per this interval (Cassandra reports every 5 s).
const SLOW_REPORT_INTERVAL: Duration = Duration::from_secs(5);

/// Slow requests seen since the last report, and when that report was (ms since `EPOCH`,
/// 0 for never).
struct SlowLog {
    since_report: AtomicU64,
    last_report_ms: AtomicU64,
}

impl SlowLog {
    const fn new() -> SlowLog {
        SlowLog {
            since_report: AtomicU64::new(0),
            last_report_ms: AtomicU64::new(0),
        }
    }

    /// Counts a slow request at `now_ms` (> 0): the slow requests to report (this one
    /// included) if a line is due, `None` if the last line is too recent.
    fn count(&self, now_ms: u64) -> Option<u64> {
        self.since_report.fetch_add(1, Ordering::Relaxed);
        let last = self.last_report_ms.load(Ordering::Relaxed);
        let interval = SLOW_REPORT_INTERVAL.as_millis() as u64;
        if last != 0 && now_ms.saturating_sub(last) < interval {
            return None;
        }
        self.last_report_ms
            .compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed)
            .ok()?;
        Some(self.since_report.swap(0, Ordering::Relaxed))
    }
}

static SLOW: SlowLog = SlowLog::new();
static EPOCH: OnceLock<Instant> = OnceLock::new();

/// Warns of a request that took `elapsed` if that is past `slow_query_log_timeout`: at
/// most one line per `SLOW_REPORT_INTERVAL`, naming this request (`describe` runs only
/// then) and counting the slow ones since the last line, as Cassandra's slow query log.
/// A fast request costs one comparison.
pub fn slow_request(elapsed: Duration, describe: impl FnOnce() -> String) {
    if elapsed < SLOW_REQUEST {
        return;
    }
    let now_ms = EPOCH.get_or_init(Instant::now).elapsed().as_millis() as u64 + 1;
    let Some(seen) = SLOW.count(now_ms) else {
        return;
    };
    tracing::warn!(
        "{seen} operations were slow in the last {} msecs: <{}>, time {} msec - slow timeout {} msec",
        SLOW_REPORT_INTERVAL.as_millis(),
        describe(),
        elapsed.as_millis(),
        SLOW_REQUEST.as_millis()
    );
}

/// Names the table (`ks/table`) an engine version belongs to, for the engine's warnings;
/// set once the node that knows the catalog is built.
pub type VersionNames =
    std::sync::Arc<OnceLock<Box<dyn Fn(strata_engine::VersionId) -> Option<String> + Send + Sync>>>;

/// Logs each engine flush and merge, one line each (Cassandra logs every flush and
/// compaction with sizes and durations), and warns of large partitions merges write.
pub fn engine_listener(names: VersionNames) -> strata_engine::Listener {
    strata_engine::Listener(std::sync::Arc::new(
        move |event: &strata_engine::Event| match event {
            strata_engine::Event::Flushed {
                array: None,
                duration,
                ..
            } => {
                tracing::debug!("Flushed an empty memtable in {} ms", duration.as_millis())
            }
            strata_engine::Event::Flushed {
                array: Some(id),
                bytes,
                entries,
                duration,
            } => {
                tracing::info!(
                    "Flushed memtable to array {id}: {entries} entries, {bytes} bytes in {} ms",
                    duration.as_millis()
                )
            }
            strata_engine::Event::LargePrefix {
                version,
                prefix,
                bytes,
            } => {
                let (token, key) = crate::storage::layout::split_partition(prefix)
                    .map(|(token, key, _)| (token, key))
                    .unwrap_or_default();
                let key: String = key.iter().map(|b| format!("{b:02x}")).collect();
                let table = names
                    .get()
                    .and_then(|name| name(*version))
                    .unwrap_or_else(|| format!("version {version}"));
                tracing::warn!(
                    "Writing large partition {table}:0x{key} (token {token}) ({}): over \
                     compaction_large_partition_warning_threshold",
                    crate::util::human_bytes(*bytes)
                )
            }
            strata_engine::Event::Merged {
                inputs,
                input_bytes,
                outputs,
                output_bytes,
                level,
                duration,
            } => {
                tracing::info!(
                "Merged {inputs} arrays ({input_bytes} bytes) into {outputs} ({output_bytes} bytes) at level {level} in {} ms",
                duration.as_millis()
            )
            }
            strata_engine::Event::Damaged(damage) => tracing::error!(
                "Damaged data in {}; the file is left out of merges, and reads of it fail, \
                 until `nodetool scrub` rewrites it",
                crate::damage::describe(damage)
            ),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_requests_are_reported_once_per_interval_with_their_count() {
        let log = SlowLog::new();
        assert_eq!(log.count(1), Some(1), "the first is reported at once");
        assert_eq!(log.count(100), None);
        assert_eq!(log.count(4_000), None);
        assert_eq!(log.count(5_001), Some(3), "with the two held back");
        assert_eq!(log.count(5_002), None);
        assert_eq!(log.count(20_000), Some(2));
    }
}
