//! The coordinator: every CQL statement reaches storage through here.
//!
//! It finds the replica set of each partition on the ring, sends mutations and reads to
//! those replicas, and counts acknowledgements against the consistency level. Today the
//! ring holds one node, so the replica set is always the local replica, but the interface
//! already carries tokens, timestamps and consistency levels so gossip and replication
//! can slot in behind it without touching the executor.
//!
//! Invariants:
//! - The executor never calls the engine directly for table data; it goes through
//!   `Coordinator::mutate` and `Coordinator::read`.
//! - A write is acknowledged to the client only after `block_for(consistency)` replicas
//!   acknowledged it.

use std::sync::Arc;

use strata_engine::VersionId;
use strata_protocol::Consistency;

use super::local::LocalReplica;
use super::ring::Ring;
use crate::schema::Table;
use crate::storage::{ClusteringRange, Decoded, PartitionUpdate};

/// Partition updates of one table branch.
#[derive(Clone, Debug)]
pub struct TableWrite {
    pub table: Arc<Table>,
    pub version: VersionId,
    pub updates: Vec<PartitionUpdate>,
}

/// Everything one statement or batch writes; a replica applies its share atomically.
#[derive(Clone, Debug, Default)]
pub struct WriteCommand {
    pub tables: Vec<TableWrite>,
}

/// Where a read starts and ends, in engine-key order of the table branch.
#[derive(Clone, Debug)]
pub enum ReadTarget {
    /// One partition, rows restricted to `slices` (in clustering order).
    Partition { token: i64, key: Vec<u8>, slices: Vec<ClusteringRange>, reverse: bool },
    /// All partitions whose token lies in the range (a full scan when unbounded).
    TokenRange { start: std::ops::Bound<i64>, end: std::ops::Bound<i64> },
}

#[derive(Clone, Debug)]
pub struct ReadCommand {
    pub table: Arc<Table>,
    pub version: VersionId,
    pub target: ReadTarget,
    /// Stop after this many rows (a partition with only static cells counts as one).
    pub row_limit: usize,
    pub per_partition_limit: Option<usize>,
    /// Resume strictly after this engine key (paging).
    pub resume_after: Option<Vec<u8>>,
    pub now_secs: i64,
}

#[derive(Clone, Debug, Default)]
pub struct ReadResult {
    pub items: Vec<Decoded>,
    /// Engine key of the last row returned; `None` when the read reached its end.
    pub resume_key: Option<Vec<u8>>,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CoordinatorError {
    #[error("Cannot achieve consistency level {consistency:?}")]
    Unavailable { consistency: Consistency, required: i32, alive: i32 },
    #[error("storage error: {0}")]
    Storage(#[from] strata_engine::Error),
    #[error("internal error: {0}")]
    Internal(String),
}

pub struct Coordinator {
    ring: Ring,
    local: Arc<LocalReplica>,
    /// Benchmark baseline: acknowledge writes and answer reads without storage.
    null_storage: bool,
}

impl Coordinator {
    pub fn new(ring: Ring, local: Arc<LocalReplica>, null_storage: bool) -> Coordinator {
        Coordinator { ring, local, null_storage }
    }

    pub fn ring(&self) -> &Ring {
        &self.ring
    }

    pub fn local(&self) -> &Arc<LocalReplica> {
        &self.local
    }

    /// Applies a write on the replicas of its partitions and waits for `consistency`.
    pub async fn mutate(&self, command: WriteCommand, consistency: Consistency) -> Result<(), CoordinatorError> {
        self.check_available(consistency)?;
        if self.null_storage {
            return Ok(());
        }
        self.local.apply(command).await
    }

    /// Reads from enough replicas for `consistency` and reconciles their answers.
    pub async fn read(&self, command: ReadCommand, consistency: Consistency) -> Result<ReadResult, CoordinatorError> {
        self.check_available(consistency)?;
        if self.null_storage {
            return Ok(ReadResult::default());
        }
        self.local.read(command).await
    }

    /// With one node every level needing at most one replica succeeds; the others fail
    /// like Cassandra's Unavailable would with rf = 1.
    fn check_available(&self, consistency: Consistency) -> Result<(), CoordinatorError> {
        let required = self.ring.block_for(consistency);
        let alive = self.ring.live_replicas();
        if required > alive {
            return Err(CoordinatorError::Unavailable { consistency, required, alive });
        }
        Ok(())
    }
}
