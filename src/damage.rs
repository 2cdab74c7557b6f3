//! Damaged data: Cassandra's `disk_failure_policy` applied to the storage errors requests
//! meet, and how damage is described to operators (files, byte and token ranges);
//! `nodetool scrub` is `admin::scrub`.
//!
//! As in Cassandra 5.0 (`DefaultFSErrorHandler`): corrupt data (a checksum or structural
//! check failed) stops the native transport under `stop_paranoid`, and ends the process under
//! `die`; under `stop`, `best_effort` and `ignore` only the reads that touch it fail. A disk
//! error (I/O) stops the transport under `stop` and `stop_paranoid` too. The process stays up
//! after a stop, for inspection (nodetool still answers).
//!
//! Invariants:
//! - Damaged data is never returned as data: a read that touches a damaged block fails with
//!   a ServerError naming the file, block, byte range and keys.
//! - Every damage found is logged once per detection with its file and token range.

use std::sync::Arc;

use strata_engine::{Damage, Engine, Error as EngineError};
use tokio::sync::watch;

use crate::config::DiskFailurePolicy;
use crate::storage::layout;

/// Cassandra's exit status when `die` kills the process (`JVMKiller`).
const DIE_EXIT_CODE: i32 = 100;

/// Applies the policy to storage errors; `stopped` tells the CQL listeners to close.
pub struct DiskFailure {
    policy: DiskFailurePolicy,
    stop: watch::Sender<bool>,
}

impl DiskFailure {
    pub fn new(policy: DiskFailurePolicy) -> Arc<DiskFailure> {
        Arc::new(DiskFailure {
            policy,
            stop: watch::channel(false).0,
        })
    }

    /// Becomes true when the policy stops the native transport.
    pub fn transport_stopped(&self) -> watch::Receiver<bool> {
        self.stop.subscribe()
    }

    /// Called with every storage error a request met.
    pub fn handle(&self, error: &EngineError) {
        let corrupt = match error {
            EngineError::Corruption { .. } => true,
            EngineError::Io(_) => false,
            _ => return,
        };
        tracing::error!(
            "{} ({error}); disk_failure_policy is {}",
            if corrupt {
                "Corrupt data read"
            } else {
                "Disk error"
            },
            self.policy.name()
        );
        if self.policy == DiskFailurePolicy::Die {
            tracing::error!(
                "Exiting forcefully due to a storage failure, as disk_failure_policy is die"
            );
            std::process::exit(DIE_EXIT_CODE);
        }
        let stop = matches!(
            (self.policy, corrupt),
            (DiskFailurePolicy::StopParanoid, _) | (DiskFailurePolicy::Stop, false)
        );
        // Only the first failure stops the transport (and says so).
        if stop
            && self
                .stop
                .send_if_modified(|stopped| !std::mem::replace(stopped, true))
        {
            tracing::error!(
                "Stopping native transport as disk_failure_policy is {}; the process stays up \
                 for inspection",
                self.policy.name()
            );
        }
    }
}

/// A damaged block for operators: file, block, bytes and the tokens of the partitions it
/// held (keys of the system branch, which are not token-prefixed, are shown as is).
pub fn describe(damage: &Damage) -> String {
    let token = |key: &[u8]| layout::read_token(key).map(|t| t.to_string());
    let from = match &damage.after {
        None => Some("the lowest token".to_string()),
        Some(key) => token(key).map(|t| format!("token {t}")),
    };
    match (from, token(&damage.last)) {
        (Some(from), Some(to)) => format!(
            "{} block {} (bytes {}..{}): partitions after {from} through token {to} ({})",
            damage.file,
            damage.block,
            damage.offset,
            damage.offset + u64::from(damage.len),
            damage.detail
        ),
        _ => format!("{} {damage}", damage.file),
    }
}

/// Logs every damaged block the engine knows of (start-up, after the schema is read).
pub fn log_known(engine: &Engine) {
    for damage in engine.damage() {
        tracing::error!(
            "Damaged data in {}; reads of it fail until `nodetool scrub` rewrites the file",
            describe(&damage)
        );
    }
}
