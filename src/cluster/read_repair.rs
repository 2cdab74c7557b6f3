//! Read resolution and read-repair decisions, sans-IO.
//!
//! Replicas answer a read with their raw engine cells (timestamps, TTLs, tombstones and the
//! deletion markers of `storage::layout`), not with resolved rows, so the coordinator can
//! reconcile them and tell each replica what it lacks. Because every deletion (partition,
//! range, row, complex column) is a cell at its own key and shadowing is applied only by
//! the row decoder afterwards, reconciliation is per key: the cell that wins under
//! `Cell::precedence` (Cassandra's `Cells.resolveRegular`), the same order each replica's
//! engine uses, so a replica that applies its repair ends with exactly the merged cells.
//!
//! The flow (Cassandra's `DigestResolver` then `DataResolver` with `BlockingReadRepair`):
//! one replica sends data, the others `digest`s of their answers; if every digest equals
//! the data's, the data is the answer. Otherwise the coordinator asks every contacted
//! replica for data, `resolve`s them and, at levels above ONE, waits for the repairs
//! (`Resolution::repairs`) to be acknowledged before answering.
//!
//! Invariants:
//! - `resolve` is deterministic and independent of the order of the responses.
//! - A replica that stopped early (a limit) is trusted only up to its last key: the merged
//!   answer ends at the smallest such key among the responses, and no repair is computed
//!   for keys beyond it, so a limit never turns into a false "missing" repair.
//! - After applying its repairs, every replica's cells up to the merged end equal the merged
//!   cells, and resolving again yields no repairs.

use std::collections::BTreeMap;

use md5::{Digest, Md5};
use strata_engine::{Cell, CellValue};
use strata_protocol::WriteType;

use super::consistency::{Replica, ReplicaPlan, WriteTracker};

/// One replica's answer to a read: its cells in key order, and how far the answer is
/// complete.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplicaCells {
    pub cells: Vec<(Vec<u8>, Cell)>,
    /// `None`: the replica returned every cell of the read's range. `Some(k)`: it stopped
    /// at a limit after key `k`, and knows nothing about keys after it.
    pub complete_through: Option<Vec<u8>>,
}

/// A digest of an answer (MD5, as Cassandra's digest reads): equal answers have equal
/// digests whatever replica computed them.
pub fn digest(answer: &ReplicaCells) -> [u8; 16] {
    let mut hash = Md5::new();
    let mut field = |bytes: &[u8]| {
        hash.update((bytes.len() as u64).to_be_bytes());
        hash.update(bytes);
    };
    for (key, cell) in &answer.cells {
        field(key);
        field(&cell.timestamp.to_be_bytes());
        field(&cell.ttl_secs.to_be_bytes());
        field(&cell.expires_at_secs.to_be_bytes());
        match &cell.value {
            CellValue::Live(value) => field(value),
            CellValue::Tombstone { deleted_at_secs } => {
                field(&[]);
                field(&deleted_at_secs.to_be_bytes());
            }
        }
    }
    // Where the answer ends is part of it: a replica that stopped at a limit differs from
    // one that returned the whole range.
    if let Some(end) = &answer.complete_through {
        field(b"limit");
        field(end);
    }
    hash.finalize().into()
}

/// The reconciled answer of a read and what each replica must be told.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resolution {
    /// The winning cell of every key, in key order, up to `complete_through`.
    pub merged: ReplicaCells,
    /// `repairs[i]`: the cells response `i` lacks or holds a losing version of (empty when
    /// it is up to date).
    pub repairs: Vec<Vec<(Vec<u8>, Cell)>>,
}

impl Resolution {
    /// Whether any replica needs a repair.
    pub fn needs_repair(&self) -> bool {
        self.repairs.iter().any(|r| !r.is_empty())
    }
}

/// Reconciles the data answers of the replicas a read contacted.
pub fn resolve(responses: &[ReplicaCells]) -> Resolution {
    // Trusted only up to the earliest point any replica stopped at.
    let end = responses
        .iter()
        .filter_map(|r| r.complete_through.as_ref())
        .min()
        .cloned();
    let within = |key: &[u8]| end.as_deref().is_none_or(|end| key <= end);
    let mut winners: BTreeMap<&[u8], &Cell> = BTreeMap::new();
    for (key, cell) in responses.iter().flat_map(|r| r.cells.iter()) {
        if !within(key) {
            continue;
        }
        let best = winners.entry(key.as_slice()).or_insert(cell);
        if cell.beats(best) {
            *best = cell;
        }
    }
    let repairs = responses
        .iter()
        .map(|response| {
            let mut have = response.cells.iter().peekable();
            let mut missing = Vec::new();
            for (key, winner) in &winners {
                // Both lists are in key order: advance this replica's cursor to `key`.
                while have.next_if(|(k, _)| k.as_slice() < *key).is_some() {}
                let held = have
                    .next_if(|(k, _)| k.as_slice() == *key)
                    .map(|(_, cell)| cell);
                if held != Some(*winner) {
                    missing.push((key.to_vec(), (*winner).clone()));
                }
            }
            missing
        })
        .collect();
    let cells = winners
        .into_iter()
        .map(|(k, c)| (k.to_vec(), c.clone()))
        .collect();
    Resolution {
        merged: ReplicaCells {
            cells,
            complete_through: end,
        },
        repairs,
    }
}

/// Whether the digest answers agree with the data answer: if so the data is the read's
/// answer; if not, the coordinator asks every contacted replica for data and `resolve`s.
pub fn digests_agree(data: &ReplicaCells, digests: &[[u8; 16]]) -> bool {
    let expected = digest(data);
    digests.iter().all(|d| *d == expected)
}

/// Blocking read repair (Cassandra's `BlockingPartitionRepair`): the read answers only once
/// `block_for` of the contacted replicas hold the merged cells, the ones already in sync
/// counting at once and the others when they acknowledge their repair. `contacts[i]` is the
/// replica of `resolution.repairs[i]`. With one contact (ONE, LOCAL_ONE) nothing can
/// disagree, so only levels above ONE ever wait here.
pub fn repair_tracker(
    plan: &ReplicaPlan<'_>,
    contacts: &[Replica],
    resolution: &Resolution,
) -> WriteTracker {
    let live = vec![true; contacts.len()];
    let contacted = ReplicaPlan {
        replicas: contacts,
        live: &live,
        ..plan.clone()
    };
    let mut tracker = WriteTracker::new(&contacted, WriteType::Simple);
    for (i, repair) in resolution.repairs.iter().enumerate() {
        if repair.is_empty() {
            tracker.on_ack(i);
        }
    }
    tracker
}

#[cfg(test)]
mod tests;
