//! Wall-clock access for the server (the engine gets time only through its `Clock`).
//!
//! Every wall-clock reading of the server goes through `now_micros` (write timestamps,
//! TTL origins, Paxos ballots, `now()`, the wall-clock deadlines sent between nodes), so a
//! test or a simulation can run a node's code against a clock of its own: `with_clock`
//! installs one for the calling thread (a current-thread runtime's tasks all run there),
//! and every other thread keeps the system clock. Monotonic time (timeouts, deadlines in a
//! process) is tokio's `Instant`, which a paused runtime already controls.
//!
//! Invariants: `next_micros` never returns the same value twice from one clock, so two
//! statements from this node without client timestamps never tie; `now_timeuuid`
//! (`types`) never returns the same timestamp twice either.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of wall-clock time, in microseconds since the Unix epoch.
pub trait WallClock: Send + Sync {
    fn now_micros(&self) -> i64;
}

/// A clock with its own "last value handed out" state, so one clock's timestamps are
/// strictly increasing whatever other clocks do.
struct Source {
    clock: Arc<dyn WallClock>,
    last: Last,
}

/// The last values a clock handed out.
#[derive(Default)]
struct Last {
    micros: AtomicI64,
    /// 100-ns ticks, for time UUIDs.
    ticks: AtomicI64,
}

/// The system clock's strictly-increasing state (shared by every thread without a clock
/// of its own).
static SYSTEM_LAST: Last = Last {
    micros: AtomicI64::new(0),
    ticks: AtomicI64::new(0),
};

thread_local! {
    static INSTALLED: RefCell<Option<Rc<Source>>> = const { RefCell::new(None) };
}

/// Runs `f` with `clock` as this thread's wall clock (restored afterwards, also on a panic).
pub fn with_clock<T>(clock: Arc<dyn WallClock>, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<Rc<Source>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            INSTALLED.with(|installed| *installed.borrow_mut() = previous);
        }
    }
    let source = Rc::new(Source {
        clock,
        last: Last::default(),
    });
    let _restore = Restore(INSTALLED.with(|installed| installed.replace(Some(source))));
    f()
}

/// The installed clock's reading and its strictly-increasing state, or the system's.
fn read<T>(f: impl FnOnce(i64, &Last) -> T) -> T {
    INSTALLED.with(|installed| match &*installed.borrow() {
        Some(source) => f(source.clock.now_micros(), &source.last),
        None => f(system_micros(), &SYSTEM_LAST),
    })
}

fn system_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

pub fn now_micros() -> i64 {
    read(|now, _| now)
}

pub fn now_secs() -> i64 {
    now_micros() / 1_000_000
}

pub fn now_millis() -> i64 {
    now_micros() / 1_000
}

/// A strictly increasing microsecond timestamp (server-side write timestamps).
pub fn next_micros() -> i64 {
    read(|now, last| strictly_after(now, &last.micros))
}

/// A strictly increasing count of 100-ns ticks since `epoch_offset` ticks before the Unix
/// epoch (time UUIDs: `types::now_timeuuid`).
pub fn next_ticks(epoch_offset: i64) -> i64 {
    read(|now, last| strictly_after(now * 10 + epoch_offset, &last.ticks))
}

/// `now`, or one more than the last value `last` recorded if that is not below it.
fn strictly_after(now: i64, last: &AtomicI64) -> i64 {
    let mut seen = last.load(Ordering::Relaxed);
    loop {
        let next = now.max(seen + 1);
        match last.compare_exchange_weak(seen, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return next,
            Err(actual) => seen = actual,
        }
    }
}

/// A clock that reads what the test sets (simulations and tests).
#[cfg(test)]
#[derive(Debug, Default)]
pub struct ManualClock(pub AtomicI64);

#[cfg(test)]
impl WallClock for ManualClock {
    fn now_micros(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Method: install a manual clock on this thread; every reading follows it, timestamps
    /// stay strictly increasing when it stands still or goes back, another thread keeps
    /// the system clock, and the system clock is back after the closure.
    #[test]
    fn an_installed_clock_drives_this_thread_only() {
        let manual = Arc::new(ManualClock(AtomicI64::new(5_000_000_000)));
        with_clock(manual.clone(), || {
            assert_eq!(now_micros(), 5_000_000_000);
            assert_eq!(now_secs(), 5_000);
            assert_eq!(next_micros(), 5_000_000_000);
            assert_eq!(next_micros(), 5_000_000_001);
            manual.0.store(4_000_000_000, Ordering::Relaxed);
            assert_eq!(now_millis(), 4_000_000);
            assert_eq!(next_micros(), 5_000_000_002);
            let elsewhere = std::thread::spawn(now_secs).join().expect("thread");
            assert!(elsewhere > 1_700_000_000, "{elsewhere}");
        });
        assert!(now_secs() > 1_700_000_000);
    }
}
