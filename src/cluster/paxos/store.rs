//! A replica's durable Paxos state (Cassandra's `system.paxos`): one engine cell per
//! partition that ever ran a lightweight transaction, in a node-local engine branch of its
//! own (never replicated, never in the schema), keyed by table id and partition key, holding
//! the postcard-encoded `Acceptor`.
//!
//! Invariants: each verb is one read-modify-write of its partition's cell under the
//! partition's lock stripe, and the new state is in the engine (written like any other
//! write, so per the commit-log mode it survives `kill -9`) before the replica answers; the
//! cell's timestamp grows with every write, so the engine's newest cell is the last state.
//! The state is purged as Cassandra's legacy Paxos purges `system.paxos`: every write
//! carries a TTL of the table's `gc_grace_seconds`, at least 3 hours (`paxos_ttl_secs`);
//! a state past its expiry reads as none (a fresh acceptor), and merges turn the expired
//! cell into a tombstone.

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

/// How long a partition's Paxos state lives after its last change: the table's
/// `gc_grace_seconds`, at least 3 hours (Cassandra's `legacyPaxosTtlSec`). A state outlives
/// the tombstones of the writes it committed, so expiry cannot resurrect a decided value.
pub fn paxos_ttl_secs(gc_grace_seconds: i32) -> u32 {
    gc_grace_seconds.max(3 * 3600).unsigned_abs()
}

/// When a verb runs, and how long the state it writes lives.
#[derive(Clone, Copy, Debug)]
pub struct Lifetime {
    pub now_secs: i64,
    pub ttl_secs: u32,
}

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
        lifetime: Lifetime,
        change: impl FnOnce(&mut Acceptor<PaxosUpdate>) -> (bool, T),
    ) -> StoreResult<T> {
        let engine_key = key.engine_key();
        let _guard = self.lock(&engine_key);
        let head = self.engine.writable_head(self.branch)?;
        let stored = self.engine.get(head, &engine_key)?;
        let (mut state, timestamp) = match &stored {
            Some(
                cell @ Cell {
                    value: CellValue::Live(bytes),
                    ..
                },
            ) if cell.is_live_at(lifetime.now_secs) => (
                postcard::from_bytes(bytes).map_err(|e| strata_engine::Error::Corruption {
                    file: "paxos state".into(),
                    detail: format!("table {}: {e}", key.table),
                })?,
                cell.timestamp,
            ),
            // None, or a state past its TTL (a tombstone once merged) reads as a fresh
            // acceptor; the old cell's timestamp still orders the next write above it.
            other => (
                Acceptor::default(),
                other.as_ref().map_or(0, |c| c.timestamp),
            ),
        };
        let (changed, answer) = change(&mut state);
        if changed {
            let bytes = postcard::to_allocvec(&state)
                .map_err(|e| strata_engine::Error::InvalidArgument(e.to_string()))?;
            self.engine.write(&[Mutation {
                version: head,
                key: engine_key,
                cell: Cell {
                    ttl_secs: lifetime.ttl_secs,
                    expires_at_secs: lifetime.now_secs + i64::from(lifetime.ttl_secs),
                    ..Cell::live(timestamp + 1, bytes)
                },
            }])?;
        }
        Ok(answer)
    }

    /// The Prepare verb.
    pub fn prepare(
        &self,
        key: &PaxosKey,
        ballot: Ballot,
        lifetime: Lifetime,
    ) -> StoreResult<Promise<PaxosUpdate>> {
        self.update(key, lifetime, |state| {
            let promise = state.prepare(ballot);
            (promise.promised, promise)
        })
    }

    /// The Propose verb.
    pub fn propose(
        &self,
        key: &PaxosKey,
        proposal: Commit<PaxosUpdate>,
        lifetime: Lifetime,
    ) -> StoreResult<bool> {
        self.update(key, lifetime, |state| {
            let accepted = state.propose(proposal);
            (accepted, accepted)
        })
    }

    /// The Commit verb's state change (the caller applies the update to the table first).
    pub fn commit(
        &self,
        key: &PaxosKey,
        commit: Commit<PaxosUpdate>,
        lifetime: Lifetime,
    ) -> StoreResult<()> {
        self.update(key, lifetime, |state| {
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
        let now = LIFETIME;
        let branch;
        {
            let engine = Arc::new(
                Engine::open_dir(dir.path(), Options::default(), Arc::new(SystemClock))
                    .expect("open"),
            );
            branch = engine.clone_version(ROOT_VERSION).expect("branch");
            let store = PaxosStore::new(engine.clone(), branch);
            assert!(
                store
                    .prepare(&key, ballot(5), now)
                    .expect("prepare")
                    .promised
            );
            let proposal = Commit {
                ballot: ballot(5),
                update: PaxosUpdate::default(),
            };
            assert!(store.propose(&key, proposal, now).expect("propose"));
            assert!(
                !store
                    .prepare(&key, ballot(4), now)
                    .expect("prepare")
                    .promised
            );
        }
        let engine = Arc::new(
            Engine::open_dir(dir.path(), Options::default(), Arc::new(SystemClock))
                .expect("reopen"),
        );
        let store = PaxosStore::new(engine, branch);
        let promise = store.prepare(&key, ballot(6), now).expect("prepare");
        assert!(promise.promised);
        assert_eq!(promise.accepted.map(|a| a.ballot), Some(ballot(5)));
        let other = PaxosKey {
            partition_key: vec![1],
            ..key
        };
        assert!(
            store
                .prepare(&other, ballot(1), now)
                .expect("prepare")
                .promised
        );
    }

    const LIFETIME: Lifetime = Lifetime {
        now_secs: 1_000_000,
        ttl_secs: 3 * 3600,
    };

    /// Method: a promise and an accepted proposal are kept until the TTL has passed since
    /// the last write, then read as none (a lower ballot is promised again, nothing is
    /// accepted); the next write still wins over the expired cell.
    #[test]
    fn the_state_expires_after_its_ttl() {
        let dir = TempDir::new("paxos-store-ttl");
        let engine = Arc::new(
            Engine::open_dir(dir.path(), Options::default(), Arc::new(SystemClock)).expect("open"),
        );
        let branch = engine.clone_version(ROOT_VERSION).expect("branch");
        let store = PaxosStore::new(engine, branch);
        let key = PaxosKey {
            table: Uuid::from_u128(9),
            partition_key: vec![4],
        };
        let ballot = |micros| Ballot { micros, node: 1 };
        let at = |offset: i64| Lifetime {
            now_secs: LIFETIME.now_secs + offset,
            ..LIFETIME
        };
        let proposal = Commit {
            ballot: ballot(5),
            update: PaxosUpdate::default(),
        };
        assert!(
            store
                .prepare(&key, ballot(5), at(0))
                .expect("prepare")
                .promised
        );
        assert!(store.propose(&key, proposal, at(0)).expect("propose"));
        let ttl = i64::from(LIFETIME.ttl_secs);
        let kept = store
            .prepare(&key, ballot(4), at(ttl - 1))
            .expect("prepare");
        assert!(!kept.promised, "purged before its TTL");
        // The refused prepare wrote nothing: the TTL still counts from the proposal.
        let purged = store.prepare(&key, ballot(4), at(ttl)).expect("prepare");
        assert!(purged.promised && purged.accepted.is_none(), "{purged:?}");
        // The new promise is the state now (it beat the expired cell).
        let after = store.prepare(&key, ballot(3), at(ttl)).expect("prepare");
        assert!(!after.promised);
    }

    #[test]
    fn the_ttl_is_gc_grace_but_at_least_three_hours() {
        assert_eq!(paxos_ttl_secs(864_000), 864_000);
        assert_eq!(paxos_ttl_secs(0), 10_800);
        assert_eq!(paxos_ttl_secs(-5), 10_800);
    }
}
