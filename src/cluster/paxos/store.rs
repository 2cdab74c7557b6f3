//! A replica's durable Paxos state (Cassandra's `system.paxos`): one engine cell per
//! partition that ever ran a lightweight transaction, in a node-local engine branch of its
//! own (never replicated, never in the schema), keyed by table id and partition key, holding
//! the postcard-encoded `Acceptor`.
//!
//! Invariants: each verb is one read-modify-write of its partition's cell under the
//! partition's lock stripe, and the new state is in the engine (written like any other
//! write, so per the commit-log mode it survives `kill -9`) before the replica answers; the
//! cell's timestamp grows with every write, so the engine's newest cell is the last state.

use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use strata_engine::{Cell, CellValue, Engine, Mutation, VersionId};
use uuid::Uuid;

use super::{Acceptor, Ballot, Commit, Promise, Update};
use crate::schema::SchemaStore;
use crate::storage::PartitionUpdate;

/// What a proposal writes: the partition updates of the transaction's table (one
/// partition), with the coordinator's `now_secs` (TTL origin) so every replica stores
/// identical cells.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaxosUpdate {
    pub updates: Vec<PartitionUpdate>,
    pub now_secs: i64,
}

impl Update for PaxosUpdate {
    fn is_empty(&self) -> bool {
        self.updates.is_empty()
    }
}

/// The partition a Paxos verb is about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaxosKey {
    pub table: Uuid,
    pub partition_key: Vec<u8>,
}

impl PaxosKey {
    fn engine_key(&self) -> Vec<u8> {
        let mut key = Vec::with_capacity(16 + self.partition_key.len());
        key.extend_from_slice(self.table.as_bytes());
        key.extend_from_slice(&self.partition_key);
        key
    }
}

/// Read-modify-writes of one partition's state serialise on one of these stripes.
const LOCK_STRIPES: usize = 64;

/// The local record naming the branch (a node-local engine version id).
pub const BRANCH_RECORD: &str = "paxos_branch";

/// The node's Paxos branch: the one recorded in the schema store's local records, else a
/// new clone of the root, recorded (a crash between the two leaves an empty branch unused).
pub fn open_branch(engine: &Engine, schema: &SchemaStore) -> crate::error::CqlResult<VersionId> {
    let recorded = schema
        .local_record(BRANCH_RECORD)
        .and_then(|bytes| <[u8; 4]>::try_from(bytes).ok())
        .map(VersionId::from_le_bytes);
    if let Some(branch) = recorded {
        return Ok(branch);
    }
    let branch = engine.clone_version(strata_engine::ROOT_VERSION)?;
    schema.put_local_record(BRANCH_RECORD, branch.to_le_bytes().to_vec())?;
    Ok(branch)
}

pub struct PaxosStore {
    engine: Arc<Engine>,
    branch: VersionId,
    locks: Vec<Mutex<()>>,
}

/// A storage failure of the Paxos state (the replica answers with an error).
pub type StoreResult<T> = Result<T, strata_engine::Error>;

impl PaxosStore {
    /// The store on `branch`, a node-local engine version kept for Paxos state (made by
    /// cloning the root once, its id persisted by the node).
    pub fn new(engine: Arc<Engine>, branch: VersionId) -> PaxosStore {
        PaxosStore {
            engine,
            branch,
            locks: (0..LOCK_STRIPES).map(|_| Mutex::new(())).collect(),
        }
    }

    // In bounds: the index is taken modulo the (non-zero) number of stripes.
    #[allow(clippy::indexing_slicing)]
    fn lock(&self, key: &[u8]) -> std::sync::MutexGuard<'_, ()> {
        let hash = key.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
        });
        let index = (hash % self.locks.len() as u64) as usize;
        self.locks[index].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `change` on the partition's state and persists it when `change` says so.
    /// Blocking (an engine write): callers run it off the async threads.
    fn update<T>(
        &self,
        key: &PaxosKey,
        change: impl FnOnce(&mut Acceptor<PaxosUpdate>) -> (bool, T),
    ) -> StoreResult<T> {
        let engine_key = key.engine_key();
        let _guard = self.lock(&engine_key);
        let head = self.engine.writable_head(self.branch)?;
        let stored = self.engine.get(head, &engine_key)?;
        let (mut state, timestamp) = match &stored {
            Some(Cell {
                value: CellValue::Live(bytes),
                timestamp,
                ..
            }) => (
                postcard::from_bytes(bytes).map_err(|e| strata_engine::Error::Corruption {
                    file: "paxos state".into(),
                    detail: format!("table {}: {e}", key.table),
                })?,
                *timestamp,
            ),
            _ => (Acceptor::default(), 0),
        };
        let (changed, answer) = change(&mut state);
        if changed {
            let bytes = postcard::to_allocvec(&state)
                .map_err(|e| strata_engine::Error::InvalidArgument(e.to_string()))?;
            self.engine.write(&[Mutation {
                version: head,
                key: engine_key,
                cell: Cell::live(timestamp + 1, bytes),
            }])?;
        }
        Ok(answer)
    }

    /// The Prepare verb.
    pub fn prepare(&self, key: &PaxosKey, ballot: Ballot) -> StoreResult<Promise<PaxosUpdate>> {
        self.update(key, |state| {
            let promise = state.prepare(ballot);
            (promise.promised, promise)
        })
    }

    /// The Propose verb.
    pub fn propose(&self, key: &PaxosKey, proposal: Commit<PaxosUpdate>) -> StoreResult<bool> {
        self.update(key, |state| {
            let accepted = state.propose(proposal);
            (accepted, accepted)
        })
    }

    /// The Commit verb's state change (the caller applies the update to the table first).
    pub fn commit(&self, key: &PaxosKey, commit: Commit<PaxosUpdate>) -> StoreResult<()> {
        self.update(key, |state| {
            let before = state.clone();
            state.commit(commit);
            (*state != before, ())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_dir::TempDir;
    use strata_engine::{Options, SystemClock, ROOT_VERSION};

    /// Method: the state written by each verb is read back from a reopened engine, as after
    /// a `kill -9` (the periodic commit log hands each write to the OS before it returns).
    #[test]
    fn the_state_survives_a_restart() {
        let dir = TempDir::new("paxos-store");
        let key = PaxosKey {
            table: Uuid::from_u128(7),
            partition_key: vec![1, 2],
        };
        let ballot = |micros| Ballot { micros, node: 3 };
        let branch;
        {
            let engine = Arc::new(
                Engine::open_dir(dir.path(), Options::default(), Arc::new(SystemClock))
                    .expect("open"),
            );
            branch = engine.clone_version(ROOT_VERSION).expect("branch");
            let store = PaxosStore::new(engine.clone(), branch);
            assert!(store.prepare(&key, ballot(5)).expect("prepare").promised);
            let proposal = Commit {
                ballot: ballot(5),
                update: PaxosUpdate::default(),
            };
            assert!(store.propose(&key, proposal).expect("propose"));
            assert!(!store.prepare(&key, ballot(4)).expect("prepare").promised);
        }
        let engine = Arc::new(
            Engine::open_dir(dir.path(), Options::default(), Arc::new(SystemClock))
                .expect("reopen"),
        );
        let store = PaxosStore::new(engine, branch);
        let promise = store.prepare(&key, ballot(6)).expect("prepare");
        assert!(promise.promised);
        assert_eq!(promise.accepted.map(|a| a.ballot), Some(ballot(5)));
        let other = PaxosKey {
            partition_key: vec![1],
            ..key
        };
        assert!(store.prepare(&other, ballot(1)).expect("prepare").promised);
    }
}
