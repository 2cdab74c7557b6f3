//! The commands between the coordinator and the replicas, and the coordinator's errors.
//!
//! In-process commands hold the table (`Arc<Table>`: its layout decodes rows) and name the
//! branch they address (`Branch`); `cluster::replica` turns them into serializable
//! commands that name the table by id. Neither the coordinator nor a replica is needed to
//! build one, so the executor, the coordinator and the replicas all depend on this module
//! and not on each other.

use std::sync::Arc;

use strata_engine::VersionId;
use strata_protocol::{Consistency, WriteType};

use super::consistency::{Unavailable, Verdict};
use crate::error::FailureReason;
use crate::schema::Table;
use crate::storage::{ClusteringRange, Decoded, PartitionUpdate};

/// Which branch of a table a command addresses. Replicated data is always on the table's
/// main branch, which each replica resolves to its own writable head (engine version ids
/// are node-local); a frozen or cloned version (`AT SNAPSHOT`, clones, virtual tables) is
/// node-local and never leaves this node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Branch {
    Main,
    Local(VersionId),
}

/// Partition updates of one table.
#[derive(Clone, Debug)]
pub struct TableWrite {
    pub table: Arc<Table>,
    pub branch: Branch,
    pub updates: Vec<PartitionUpdate>,
}

/// Everything one statement or batch writes; a replica applies its share atomically.
#[derive(Clone, Debug, Default)]
pub struct WriteCommand {
    pub tables: Vec<TableWrite>,
}

/// Where a read starts and ends, in engine-key order of the table branch.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum ReadTarget {
    /// One partition, rows restricted to `slices` (in clustering order).
    Partition {
        token: i64,
        key: Vec<u8>,
        slices: Vec<ClusteringRange>,
        reverse: bool,
    },
    /// All partitions whose token lies in the range (a full scan when unbounded).
    TokenRange {
        start: std::ops::Bound<i64>,
        end: std::ops::Bound<i64>,
    },
}

#[derive(Clone, Debug)]
pub struct ReadCommand {
    pub table: Arc<Table>,
    pub branch: Branch,
    pub target: ReadTarget,
    /// Stop after this many rows (a partition with only static cells counts as one).
    pub row_limit: usize,
    pub per_partition_limit: Option<usize>,
    /// Resume strictly after this engine key (paging).
    pub resume_after: Option<Vec<u8>>,
    /// Rows earlier pages returned from the partition `resume_after` is in (so PER
    /// PARTITION LIMIT holds across pages).
    pub resume_partition_rows: usize,
    pub now_secs: i64,
}

impl ReadCommand {
    /// A read of `slices` of one partition, forwards, without limits or paging, as of now.
    pub fn partition(
        table: &Arc<Table>,
        branch: Branch,
        token: i64,
        key: Vec<u8>,
        slices: Vec<ClusteringRange>,
    ) -> ReadCommand {
        ReadCommand {
            table: table.clone(),
            branch,
            target: ReadTarget::Partition {
                token,
                key,
                slices,
                reverse: false,
            },
            row_limit: usize::MAX,
            per_partition_limit: None,
            resume_after: None,
            resume_partition_rows: 0,
            now_secs: crate::clock::now_secs(),
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct ReadResult {
    pub items: Vec<Decoded>,
    /// Engine key of the last row returned; `None` when the read reached its end.
    pub resume_key: Option<Vec<u8>>,
    /// Rows returned so far from the partition of `resume_key`, earlier pages included.
    pub resume_partition_rows: usize,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CoordinatorError {
    #[error("Cannot achieve consistency level {consistency:?}")]
    Unavailable {
        consistency: Consistency,
        required: i32,
        alive: i32,
        /// The DC that lacks a quorum (EACH_QUORUM only).
        dc: Option<String>,
    },
    /// The deadline passed before `block_for` replicas acknowledged.
    #[error("Operation timed out - received only {received} responses.")]
    WriteTimeout {
        consistency: Consistency,
        received: i32,
        block_for: i32,
        write_type: WriteType,
        /// Paxos contentions met before giving up (CAS writes only; sent on protocol v5).
        contentions: Option<u16>,
    },
    /// The deadline passed before `block_for` replicas (the data one among them) answered.
    #[error("Operation timed out - received only {received} responses.")]
    ReadTimeout {
        consistency: Consistency,
        received: i32,
        block_for: i32,
        data_present: bool,
    },
    /// Too many replicas failed (answered with an error) for the level to be met.
    #[error("Operation failed - received {received} responses and {} failures", failures.len())]
    WriteFailure {
        consistency: Consistency,
        received: i32,
        block_for: i32,
        failures: Vec<(std::net::IpAddr, FailureReason)>,
        write_type: WriteType,
    },
    #[error("Operation failed - received {received} responses and {} failures", failures.len())]
    ReadFailure {
        consistency: Consistency,
        received: i32,
        block_for: i32,
        failures: Vec<(std::net::IpAddr, FailureReason)>,
        data_present: bool,
    },
    #[error("storage error: {0}")]
    Storage(#[from] strata_engine::Error),
    #[error("internal error: {0}")]
    Internal(String),
}

impl CoordinatorError {
    /// The error of a write whose tracker decided against it.
    pub(crate) fn from_write(
        verdict: &Verdict,
        consistency: Consistency,
        write_type: WriteType,
    ) -> Self {
        match verdict {
            Verdict::Timeout {
                received,
                block_for,
            } => CoordinatorError::WriteTimeout {
                consistency,
                received: *received,
                block_for: *block_for,
                write_type,
                contentions: None,
            },
            Verdict::Failure {
                received,
                block_for,
                failures,
            } => CoordinatorError::WriteFailure {
                consistency,
                received: *received,
                block_for: *block_for,
                failures: failures.clone(),
                write_type,
            },
            other => CoordinatorError::Internal(format!("write ended with {other:?}")),
        }
    }

    /// The error of a read whose tracker decided against it.
    pub(crate) fn from_read(
        verdict: &Verdict,
        consistency: Consistency,
        data_present: bool,
    ) -> Self {
        match verdict {
            Verdict::Timeout {
                received,
                block_for,
            } => CoordinatorError::ReadTimeout {
                consistency,
                received: *received,
                block_for: *block_for,
                data_present,
            },
            Verdict::Failure {
                received,
                block_for,
                failures,
            } => CoordinatorError::ReadFailure {
                consistency,
                received: *received,
                block_for: *block_for,
                failures: failures.clone(),
                data_present,
            },
            other => CoordinatorError::Internal(format!("read ended with {other:?}")),
        }
    }
}

impl From<Unavailable> for CoordinatorError {
    fn from(e: Unavailable) -> Self {
        CoordinatorError::Unavailable {
            consistency: e.consistency,
            required: e.required,
            alive: e.alive,
            dc: e.dc,
        }
    }
}
