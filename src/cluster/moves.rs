//! Which data must move when a node leaves the ring (`nodetool removenode`), sans-IO.
//!
//! Cassandra's `StorageService.removeNode` / `restoreReplicaCount`: once the removed node's
//! tokens are gone, some ranges have a replica they did not have before; each such node
//! (the "gaining" node) fetches the range from a replica that held it before and is still
//! there. `removal_moves` computes those moves from the ring before the removal and one
//! keyspace's strategy; the IO that carries them out is `cluster::streaming`.
//!
//! Ranges are the ring's vnode ranges before the removal, `(start, end]` (wrapping when
//! `start >= end`). Removing tokens only merges ranges, so each of them lies inside one
//! range of the ring after the removal and has one replica set before and one after.
//!
//! Invariants (tested with seeded random rings, `STRATA_TEST_SEED`):
//! - A move's target is a replica of its range after the removal and was not one before;
//!   every such (range, node) pair has exactly one move.
//! - A move's sources are replicas of its range before the removal, never the removed node
//!   nor a node the caller says is down; those in the target's datacenter come first.
//! - Replicas after the removal that are not targets held the range before: once every
//!   move is done each range has its replicas' data (min(rf, nodes left) of them per DC).

use uuid::Uuid;

use super::placement::Strategy;
use super::ring::Ring;

/// One range a node gains, and where it can fetch it from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RangeMove {
    /// Exclusive start token.
    pub start: i64,
    /// Inclusive end token (the range wraps when `start >= end`).
    pub end: i64,
    /// The node that becomes a replica of the range.
    pub target: Uuid,
    /// Live replicas of the range before the removal (never the removed node), those in
    /// the target's datacenter first, then in placement order.
    pub sources: Vec<Uuid>,
}

/// The moves that restore the replica count of every range once `removed` leaves `ring`,
/// under `strategy`, in ring order. `alive` is the failure detector's view (sources must
/// be able to answer); a move whose range has no live source keeps an empty `sources`,
/// so the caller can report it rather than silently skip it.
pub fn removal_moves(
    ring: &Ring,
    removed: Uuid,
    strategy: &Strategy,
    alive: impl Fn(&Uuid) -> bool,
) -> Vec<RangeMove> {
    if matches!(strategy, Strategy::Local) || ring.endpoint(&removed).is_none() {
        return Vec::new();
    }
    let mut after = ring.clone();
    if after.remove(removed).is_none() {
        return Vec::new();
    }
    let dc_of = |host: &Uuid| ring.endpoint(host).map(|e| e.dc.as_str());
    let mut moves = Vec::new();
    for (end, _) in ring.tokens() {
        let start = ring.previous_token(end).unwrap_or(end);
        let before = strategy.replicas(ring, end);
        for target in strategy.replicas(&after, end) {
            if before.contains(&target) {
                continue;
            }
            let mut sources: Vec<Uuid> = before
                .iter()
                .filter(|h| **h != removed && alive(h))
                .copied()
                .collect();
            // Stable: placement order within each group.
            sources.sort_by_key(|h| dc_of(h) != dc_of(&target));
            moves.push(RangeMove {
                start,
                end,
                target,
                sources,
            });
        }
    }
    moves
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::super::ring::tests::{endpoint, random_ring, TestRng};
    use super::*;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n + 1)
    }

    #[test]
    fn simple_strategy_next_node_gains_the_removed_nodes_ranges() {
        // Ring: 1@10, 2@20, 3@30. RF 2: (30, 10] -> {1, 2}, (10, 20] -> {2, 3},
        // (20, 30] -> {3, 1}. Removing 3: (10, 20] and (20, 30] need a new replica.
        let mut ring = Ring::new(endpoint(1, "dc", "r", vec![10]));
        ring.upsert(endpoint(2, "dc", "r", vec![20]));
        ring.upsert(endpoint(3, "dc", "r", vec![30]));
        let rf2 = Strategy::Simple {
            replication_factor: 2,
        };
        let moves = removal_moves(&ring, id(3), &rf2, |_| true);
        assert_eq!(
            moves,
            vec![
                RangeMove {
                    start: 10,
                    end: 20,
                    target: id(1),
                    sources: vec![id(2)],
                },
                RangeMove {
                    start: 20,
                    end: 30,
                    target: id(2),
                    sources: vec![id(1)],
                },
            ]
        );
        // A dead source is never named; a range left without one still has its move.
        let moves = removal_moves(&ring, id(3), &rf2, |h| *h != id(2));
        assert_eq!(moves.first().map(|m| m.sources.clone()), Some(vec![]));
        assert!(removal_moves(&ring, id(9), &rf2, |_| true).is_empty());
        assert!(removal_moves(&ring, id(3), &Strategy::Local, |_| true).is_empty());
        assert!(
            removal_moves(&ring, id(0), &rf2, |_| true).is_empty(),
            "the local node is never removed"
        );
    }

    #[test]
    fn wrapping_range_is_named_by_its_bounds() {
        let mut ring = Ring::new(endpoint(1, "dc", "r", vec![50]));
        ring.upsert(endpoint(2, "dc", "r", vec![-5]));
        let moves = removal_moves(
            &ring,
            id(2),
            &Strategy::Simple {
                replication_factor: 1,
            },
            |_| true,
        );
        // Only the removed node's own range (50, -5] (it wraps) moves, to node 1; with RF 1
        // nobody else held it.
        assert_eq!(
            moves,
            vec![RangeMove {
                start: 50,
                end: -5,
                target: id(1),
                sources: vec![],
            }]
        );
    }

    /// Random multi-DC rings, strategies and removals: the moves are exactly the gained
    /// (range, replica) pairs, sources are live old replicas (never the removed node) with
    /// the target's DC first, and old replicas plus targets cover every new replica set.
    #[test]
    fn moves_restore_every_ranges_replicas() {
        let mut rng = TestRng::from_env("moves_restore_every_ranges_replicas");
        for _ in 0..60 {
            let dc_count = 1 + rng.below(2) as usize;
            let nodes = 2 + rng.below(9) as usize;
            let num_tokens = 1 + rng.below(8) as usize;
            let ring = random_ring(&mut rng, dc_count, nodes, 3, num_tokens);
            let strategy = if rng.below(2) == 0 {
                Strategy::Simple {
                    replication_factor: 1 + rng.below(4) as usize,
                }
            } else {
                Strategy::NetworkTopology {
                    datacenters: (0..dc_count)
                        .map(|d| (format!("dc{d}"), 1 + rng.below(3) as usize))
                        .collect(),
                }
            };
            let hosts: Vec<Uuid> = ring.endpoints().map(|e| e.host_id).collect();
            let candidates: Vec<Uuid> = hosts
                .iter()
                .filter(|h| **h != ring.local().host_id)
                .copied()
                .collect();
            let Some(&removed) = candidates.get(rng.below(candidates.len() as u64) as usize) else {
                continue;
            };
            let down: BTreeSet<Uuid> = hosts
                .iter()
                .filter(|h| **h != removed && rng.below(5) == 0)
                .copied()
                .collect();
            let moves = removal_moves(&ring, removed, &strategy, |h| {
                *h != removed && !down.contains(h)
            });
            let mut after = ring.clone();
            after.remove(removed);
            let mut by_range: BTreeMap<i64, BTreeSet<Uuid>> = BTreeMap::new();
            for m in &moves {
                assert_eq!(ring.previous_token(m.end), Some(m.start));
                let before = strategy.replicas(&ring, m.end);
                assert!(!before.contains(&m.target), "a target was not a replica");
                assert!(strategy.replicas(&after, m.end).contains(&m.target));
                assert!(
                    by_range.entry(m.end).or_default().insert(m.target),
                    "one move per gained (range, node)"
                );
                for s in &m.sources {
                    assert!(before.contains(s) && *s != removed && !down.contains(s));
                }
                let expected: BTreeSet<Uuid> = before
                    .iter()
                    .filter(|h| **h != removed && !down.contains(h))
                    .copied()
                    .collect();
                assert_eq!(m.sources.iter().copied().collect::<BTreeSet<_>>(), expected);
                let dc = |h: &Uuid| ring.endpoint(h).map(|e| e.dc.clone());
                let local_dc = m.sources.iter().take_while(|s| dc(s) == dc(&m.target));
                assert_eq!(
                    local_dc.count(),
                    m.sources.iter().filter(|s| dc(s) == dc(&m.target)).count(),
                    "the target's datacenter first"
                );
            }
            for (end, _) in ring.tokens() {
                let before: BTreeSet<Uuid> = strategy.replicas(&ring, end).into_iter().collect();
                let now = strategy.replicas(&after, end);
                let gained = by_range.remove(&end).unwrap_or_default();
                for host in &now {
                    assert!(
                        before.contains(host) != gained.contains(host),
                        "every new replica either held the range or gains it by a move"
                    );
                }
                let expected: usize = match &strategy {
                    Strategy::NetworkTopology { datacenters } => datacenters
                        .iter()
                        .map(|(dc, rf)| {
                            (*rf).min(after.endpoints().filter(|e| &e.dc == dc).count())
                        })
                        .sum(),
                    other => other.replication_factor(None).min(after.len()),
                };
                assert_eq!(now.len(), expected, "replica count restored");
            }
            assert!(by_range.is_empty(), "moves name only the ring's ranges");
        }
    }
}
