//! Model-based test of the whole engine.
//!
//! Method: a seeded generator produces a sequence of operations (writes of live cells and
//! tombstones, scans with random bounds, snapshot, clone, delete_version, flush, compact,
//! merge_version, clock advances, crash-and-reopen, clean reopen). Each operation is applied
//! both to the engine and to an in-memory model (the winning cell per `(key, version)` plus the
//! version tree). After EVERY step, every version the model knows is read back in full (a point
//! get of every key of the small key universe and a full forward and reverse scan) and compared
//! with the model. The key universe is tiny and the memtable is a few KiB, so versions collide
//! on keys and flushes, merges and version GC really run.
//!
//! What may legitimately differ after merges (see `check_cell`): an expired cell may come back
//! as a tombstone, and a tombstone older than `gc_grace_secs` may be gone. A live cell must
//! always come back byte for byte.
//!
//! Knobs: `STRATA_MODEL_CASES` (default 24), `STRATA_MODEL_STEPS` (default 300),
//! `STRATA_MODEL_SEED` (run one seed only), `STRATA_MODEL_BASE_SEED` (first seed of a sweep).
//! A failing case is shrunk by replay (deleting ops while it still fails) and the seed plus the
//! minimal op list are printed; freeze it as a named test in `regressions/mod.rs` with a doc
//! comment telling the bug's story.

#[path = "regressions/support.rs"]
mod support;

#[path = "regressions/mod.rs"]
mod regressions;

use support::{run_case_from_seed, shrink_and_report, Config, Coverage};

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|raw| raw.parse().ok())
        .unwrap_or(default)
}

/// The main randomized run: a fixed base seed so CI is reproducible, `STRATA_MODEL_SEED` to
/// replay one case, `STRATA_MODEL_CASES` to run more cases locally.
#[test]
fn model_random_cases() {
    const BASE_SEED: u64 = 0x5717_a7a0_0000_0000;
    let steps = env_u64("STRATA_MODEL_STEPS", 300) as usize;
    let seeds: Vec<u64> = match std::env::var("STRATA_MODEL_SEED") {
        Ok(raw) => vec![support::parse_seed(&raw)],
        Err(_) => {
            let base = env_u64("STRATA_MODEL_BASE_SEED", BASE_SEED);
            (0..env_u64("STRATA_MODEL_CASES", 24))
                .map(|case| base.wrapping_add(case))
                .collect()
        }
    };
    let single = seeds.len() == 1;
    let mut total = Coverage::default();
    for seed in seeds {
        let config = Config::from_seed(seed);
        eprintln!("model case seed={seed:#x} config={config:?}");
        match run_case_from_seed(seed, steps) {
            Ok(coverage) => total.add(&coverage),
            Err(failure) => shrink_and_report(seed, steps, failure),
        }
    }
    eprintln!("coverage over all cases: {total:?}");
    // Guard against a generator that stops reaching the interesting machinery.
    if !single {
        assert!(
            total.flushes > 0
                && total.merges > 0
                && total.version_splits > 0
                && total.prefix_skips > 0,
            "{total:?}"
        );
        assert!(
            total.try_appends_taken > 0 && total.try_appends_declined > 0,
            "{total:?}"
        );
    }
}
