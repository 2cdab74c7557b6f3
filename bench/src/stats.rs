//! Per-run accounting: latency histogram of the measured window, outcome counts, and a bounded
//! sample of error texts.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::Serialize;

/// Highest latency the histogram tracks (larger samples are clamped): a minute, in µs.
const MAX_TRACKED_MICROS: u64 = 60_000_000;
/// Distinct error texts kept; further new texts are only counted.
const MAX_ERROR_SAMPLES: usize = 8;

/// What one request produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Write acknowledged, or read returned the expected value.
    Ok,
    /// Read returned no row (expected with `--null-storage`).
    Missing,
    /// Read returned a row whose value is not what was written for that key.
    WrongValue,
    /// A lightweight transaction's condition did not hold (`[applied]` false).
    NotApplied,
    Error(String),
}

/// One finished request.
#[derive(Debug, Clone)]
pub struct Completion {
    pub started: Instant,
    pub finished: Instant,
    pub outcome: Outcome,
}

/// The measured window: completions inside it count toward throughput and percentiles.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub start: Instant,
    pub end: Instant,
}

impl Window {
    fn contains(&self, at: Instant) -> bool {
        at >= self.start && at < self.end
    }
}

pub struct Stats {
    window: Window,
    latency_micros: Histogram<u64>,
    measured: u64,
    warmup: u64,
    missing: u64,
    wrong_values: u64,
    not_applied: u64,
    errors: u64,
    error_samples: BTreeMap<String, u64>,
    last_measured: Option<Instant>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub measured_ops: u64,
    pub measured_secs: f64,
    pub ops_per_sec: f64,
    pub warmup_ops: u64,
    pub mean_us: f64,
    pub p50_us: u64,
    pub p90_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
    pub max_us: u64,
    pub errors: u64,
    pub missing: u64,
    pub wrong_values: u64,
    pub not_applied: u64,
    pub error_samples: BTreeMap<String, u64>,
}

impl Stats {
    pub fn new(window: Window) -> Self {
        let latency_micros = Histogram::new_with_bounds(1, MAX_TRACKED_MICROS, 3)
            .expect("constant histogram bounds are valid");
        Stats {
            window,
            latency_micros,
            measured: 0,
            warmup: 0,
            missing: 0,
            wrong_values: 0,
            not_applied: 0,
            errors: 0,
            error_samples: BTreeMap::new(),
            last_measured: None,
        }
    }

    /// Completions inside the window counted so far (errors included).
    pub fn measured(&self) -> u64 {
        self.measured
    }

    pub fn record(&mut self, done: Completion) {
        if !self.window.contains(done.finished) {
            self.warmup += u64::from(done.finished < self.window.start);
            return;
        }
        self.measured += 1;
        self.last_measured = Some(done.finished);
        let micros = done.finished.saturating_duration_since(done.started).as_micros();
        let clamped = u64::try_from(micros).unwrap_or(u64::MAX).clamp(1, MAX_TRACKED_MICROS);
        self.latency_micros.saturating_record(clamped);
        match done.outcome {
            Outcome::Ok => {}
            Outcome::Missing => self.missing += 1,
            Outcome::WrongValue => self.wrong_values += 1,
            Outcome::NotApplied => self.not_applied += 1,
            Outcome::Error(text) => self.record_error(text),
        }
    }

    fn record_error(&mut self, text: String) {
        self.errors += 1;
        if let Some(count) = self.error_samples.get_mut(&text) {
            *count += 1;
        } else if self.error_samples.len() < MAX_ERROR_SAMPLES {
            self.error_samples.insert(text, 1);
        }
    }

    /// Throughput uses the window length, or up to the last completion when a request-count
    /// limit ended the run early.
    pub fn summary(&self) -> Summary {
        let full = self.window.end.saturating_duration_since(self.window.start);
        let elapsed = self.last_measured.map_or(full, |last| last.saturating_duration_since(self.window.start));
        let secs = elapsed.min(full).max(Duration::from_micros(1)).as_secs_f64();
        let h = &self.latency_micros;
        Summary {
            measured_ops: self.measured,
            measured_secs: secs,
            ops_per_sec: self.measured as f64 / secs,
            warmup_ops: self.warmup,
            mean_us: h.mean(),
            p50_us: h.value_at_quantile(0.50),
            p90_us: h.value_at_quantile(0.90),
            p99_us: h.value_at_quantile(0.99),
            p999_us: h.value_at_quantile(0.999),
            max_us: h.max(),
            errors: self.errors,
            missing: self.missing,
            wrong_values: self.wrong_values,
            not_applied: self.not_applied,
            error_samples: self.error_samples.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn completion(started: Instant, after_ms: u64, took_ms: u64, outcome: Outcome) -> Completion {
        let begin = started + Duration::from_millis(after_ms);
        Completion { started: begin, finished: begin + Duration::from_millis(took_ms), outcome }
    }

    #[test]
    fn only_the_window_counts_and_outcomes_are_split() {
        let t0 = Instant::now();
        let window = Window { start: t0 + Duration::from_millis(100), end: t0 + Duration::from_millis(1100) };
        let mut stats = Stats::new(window);
        stats.record(completion(t0, 0, 10, Outcome::Ok)); // warm-up
        stats.record(completion(t0, 200, 1, Outcome::Ok));
        stats.record(completion(t0, 300, 2, Outcome::Missing));
        stats.record(completion(t0, 400, 3, Outcome::WrongValue));
        stats.record(completion(t0, 500, 4, Outcome::Error("boom".into())));
        stats.record(completion(t0, 600, 1, Outcome::NotApplied));
        stats.record(completion(t0, 1200, 1, Outcome::Ok)); // after the window
        let s = stats.summary();
        assert_eq!((s.warmup_ops, s.measured_ops), (1, 5));
        assert_eq!((s.missing, s.wrong_values, s.not_applied, s.errors), (1, 1, 1, 1));
        assert_eq!(s.error_samples.get("boom"), Some(&1));
        assert!((3_990..=4_010).contains(&s.max_us), "max {}", s.max_us);
    }

    #[test]
    fn error_samples_are_bounded() {
        let t0 = Instant::now();
        let mut stats = Stats::new(Window { start: t0, end: t0 + Duration::from_secs(10) });
        for i in 0..100 {
            stats.record(completion(t0, i, 1, Outcome::Error(format!("error {i}"))));
        }
        let s = stats.summary();
        assert_eq!(s.errors, 100);
        assert_eq!(s.error_samples.len(), MAX_ERROR_SAMPLES);
    }
}
