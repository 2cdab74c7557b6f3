use std::collections::BTreeMap;

use strata_engine::{Cell, CellValue};

use super::*;
use crate::test_rng::{seed_from_env, Rng};

type Store = BTreeMap<Vec<u8>, Cell>;

/// A replica's storage: the engine keeps, per key, the cell that wins under its precedence.
fn apply(store: &mut Store, key: &[u8], cell: &Cell) {
    match store.get(key) {
        Some(held) if !cell.beats(held) => {}
        _ => {
            store.insert(key.to_vec(), cell.clone());
        }
    }
}

/// Cassandra's `resolveRegular`, written out independently as a sort key: timestamp, then
/// "has a local deletion time" (tombstone or expiring), then tombstone over expiring, then
/// the local deletion time, then the value bytes, then the TTL.
fn model_rank(cell: &Cell) -> (i64, bool, bool, i64, Vec<u8>, u32) {
    let (tombstone, ldt, value) = match &cell.value {
        CellValue::Tombstone { deleted_at_secs } => (true, Some(*deleted_at_secs), Vec::new()),
        CellValue::Live(v) => (
            false,
            (cell.expires_at_secs != 0).then_some(cell.expires_at_secs),
            v.clone(),
        ),
    };
    (
        cell.timestamp,
        ldt.is_some(),
        tombstone,
        ldt.unwrap_or(i64::MIN),
        value,
        cell.ttl_secs,
    )
}

/// Cells drawn from small ranges so timestamps, values and deletion times often tie.
fn random_cell(rng: &mut Rng) -> Cell {
    let timestamp = rng.below(4) as i64;
    match rng.below(3) {
        0 => Cell::live(timestamp, vec![rng.below(3) as u8]),
        1 => Cell {
            timestamp,
            ttl_secs: 1 + rng.below(2) as u32,
            expires_at_secs: 100 + rng.below(3) as i64,
            value: CellValue::Live(vec![rng.below(3) as u8]),
        },
        _ => Cell::tombstone(timestamp, 100 + rng.below(3) as i64),
    }
}

/// A replica's answer to a read with an optional limit on the cells it returns.
fn answer(store: &Store, limit: Option<usize>) -> ReplicaCells {
    let cells: Vec<_> = store
        .iter()
        .take(limit.unwrap_or(usize::MAX))
        .map(|(k, c)| (k.clone(), c.clone()))
        .collect();
    let truncated = cells.len() < store.len();
    let complete_through =
        truncated.then(|| cells.last().map(|(k, _)| k.clone()).unwrap_or_default());
    ReplicaCells {
        cells,
        complete_through,
    }
}

#[test]
fn digests_tell_answers_apart() {
    let a = ReplicaCells {
        cells: vec![(b"k".to_vec(), Cell::live(1, b"v".to_vec()))],
        complete_through: None,
    };
    assert_eq!(digest(&a), digest(&a.clone()));
    let mut b = a.clone();
    b.cells[0].1.timestamp = 2;
    assert_ne!(digest(&a), digest(&b));
    let mut c = a.clone();
    c.cells[0].1 = Cell::tombstone(1, 0);
    assert_ne!(digest(&a), digest(&c));
    let mut d = a.clone();
    d.complete_through = Some(b"k".to_vec());
    assert_ne!(digest(&a), digest(&d));
    // Field boundaries are part of the digest: key "k1"+value "" is not key "k"+value "1".
    let e = ReplicaCells {
        cells: vec![(b"k1".to_vec(), Cell::live(1, b"".to_vec()))],
        complete_through: None,
    };
    let f = ReplicaCells {
        cells: vec![(b"k".to_vec(), Cell::live(1, b"1".to_vec()))],
        complete_through: None,
    };
    assert_ne!(digest(&e), digest(&f));
}

#[test]
fn a_replica_that_missed_a_write_gets_exactly_that_write() {
    let fresh = Cell::live(5, b"new".to_vec());
    let deleted = Cell::tombstone(6, 100);
    let full = ReplicaCells {
        cells: vec![
            (b"a".to_vec(), fresh.clone()),
            (b"b".to_vec(), deleted.clone()),
        ],
        complete_through: None,
    };
    let stale = ReplicaCells {
        cells: vec![
            (b"a".to_vec(), Cell::live(4, b"old".to_vec())),
            (b"b".to_vec(), Cell::live(1, b"x".to_vec())),
        ],
        complete_through: None,
    };
    let missing = ReplicaCells {
        cells: vec![],
        complete_through: None,
    };
    let r = resolve(&[full.clone(), stale, missing]);
    assert_eq!(r.merged, full);
    assert_eq!(r.repairs[0], vec![]);
    assert_eq!(r.repairs[1], full.cells);
    assert_eq!(r.repairs[2], full.cells);
    assert!(r.needs_repair());
}

#[test]
fn a_limited_answer_is_trusted_only_up_to_its_last_key() {
    let cell = Cell::live(1, b"v".to_vec());
    let everything = ReplicaCells {
        cells: vec![
            (b"a".to_vec(), cell.clone()),
            (b"b".to_vec(), cell.clone()),
            (b"c".to_vec(), cell.clone()),
        ],
        complete_through: None,
    };
    // Stopped after "a" (limit 1): it has no "b" as far as the read knows, but may have one.
    let limited = ReplicaCells {
        cells: vec![(b"a".to_vec(), cell.clone())],
        complete_through: Some(b"a".to_vec()),
    };
    let r = resolve(&[everything, limited]);
    assert_eq!(r.merged.cells, vec![(b"a".to_vec(), cell)]);
    assert_eq!(r.merged.complete_through, Some(b"a".to_vec()));
    assert!(!r.needs_repair());
}

#[test]
fn resolution_matches_a_model_and_repairs_converge() {
    let seed = seed_from_env("STRATA_SIM_SEED", 0x5EAD_5EA1);
    eprintln!("read resolution seed {seed:#x} (replay with STRATA_SIM_SEED)");
    let mut rng = Rng(seed);
    let mut repaired_cells = 0;
    for round in 0..3_000 {
        let replicas = 2 + rng.below(3);
        let mut stores = vec![Store::new(); replicas];
        let mut delivered: Vec<(Vec<u8>, Cell, Vec<bool>)> = Vec::new();
        for _ in 0..rng.below(30) {
            let key = vec![b'a' + rng.below(8) as u8];
            let cell = random_cell(&mut rng);
            // Each write reaches a random subset of the replicas (messages lost, nodes down).
            let reached: Vec<bool> = (0..replicas).map(|_| rng.chance(60)).collect();
            for (store, reached) in stores.iter_mut().zip(&reached) {
                if *reached {
                    apply(store, &key, &cell);
                }
            }
            delivered.push((key, cell, reached));
        }
        let limits: Vec<Option<usize>> = (0..replicas)
            .map(|_| rng.chance(30).then(|| rng.below(6)))
            .collect();
        let answers: Vec<ReplicaCells> = stores
            .iter()
            .zip(&limits)
            .map(|(s, l)| answer(s, *l))
            .collect();
        let r = resolve(&answers);

        // The model: per key, the write ranked highest among those any replica received.
        let end = answers
            .iter()
            .filter_map(|a| a.complete_through.clone())
            .min();
        let mut model: BTreeMap<Vec<u8>, Cell> = BTreeMap::new();
        for (key, cell, reached) in &delivered {
            if !reached.contains(&true) || end.as_ref().is_some_and(|end| key > end) {
                continue;
            }
            let best = model.entry(key.clone()).or_insert_with(|| cell.clone());
            if model_rank(cell) > model_rank(best) {
                *best = cell.clone();
            }
        }
        let expected: Vec<_> = model.into_iter().collect();
        assert_eq!(
            r.merged.cells, expected,
            "round {round}: merged answer differs from the model"
        );
        assert_eq!(r.merged.complete_through, end);

        // Order of the responses does not matter.
        let mut reversed = answers.clone();
        reversed.reverse();
        let r2 = resolve(&reversed);
        assert_eq!(r2.merged, r.merged);
        assert_eq!(
            r2.repairs.iter().rev().collect::<Vec<_>>(),
            r.repairs.iter().collect::<Vec<_>>()
        );

        // Applying the repairs makes every replica agree with the merge up to its end...
        for (store, repair) in stores.iter_mut().zip(&r.repairs) {
            repaired_cells += repair.len();
            for (key, cell) in repair {
                apply(store, key, cell);
            }
            let upto: Vec<_> = store
                .iter()
                .filter(|(k, _)| end.as_ref().is_none_or(|end| *k <= end))
                .map(|(k, c)| (k.clone(), c.clone()))
                .collect();
            assert_eq!(
                upto, r.merged.cells,
                "round {round}: a repaired replica still differs"
            );
        }
        // ...so, when no limit cut the answers, the same read needs no repair any more and
        // every replica's digest matches.
        if end.is_none() {
            let again: Vec<ReplicaCells> = stores.iter().map(|s| answer(s, None)).collect();
            assert!(
                !resolve(&again).needs_repair(),
                "round {round}: repairs did not converge"
            );
            assert!(again.iter().all(|a| digest(a) == digest(&again[0])));
        }
    }
    eprintln!("{repaired_cells} repair cells applied");
    assert!(repaired_cells > 1_000);
}

#[test]
fn a_quorum_read_waits_for_the_stale_replica_to_take_its_repair() {
    use std::net::{IpAddr, Ipv4Addr};

    use strata_protocol::Consistency;

    use crate::cluster::consistency::{Replica, ReplicaPlan, Replication, Verdict};

    let replicas: Vec<Replica> = (1..=3)
        .map(|i| Replica {
            address: IpAddr::V4(Ipv4Addr::new(127, 0, 0, i)),
            dc: "dc1".into(),
        })
        .collect();
    let replication = Replication::Simple(3);
    let live = [true; 3];
    let plan = ReplicaPlan {
        consistency: Consistency::Quorum,
        replication: &replication,
        local_dc: "dc1",
        replicas: &replicas,
        live: &live,
    };
    let contacts = &replicas[..2];
    let fresh = ReplicaCells {
        cells: vec![(b"k".to_vec(), Cell::live(2, b"new".to_vec()))],
        complete_through: None,
    };
    let stale = ReplicaCells {
        cells: vec![(b"k".to_vec(), Cell::live(1, b"old".to_vec()))],
        complete_through: None,
    };
    assert!(digests_agree(&fresh, &[digest(&fresh)]));
    assert!(!digests_agree(&fresh, &[digest(&stale)]));

    let resolution = resolve(&[fresh.clone(), stale]);
    let mut tracker = repair_tracker(&plan, contacts, &resolution);
    assert_eq!(
        tracker.verdict(),
        &Verdict::Pending,
        "the stale replica has not taken its repair"
    );
    assert_eq!(tracker.on_ack(1), &Verdict::Success);
    // Past the deadline without the repair's ack, the read times out (not all of a quorum
    // holds what it would return).
    let mut tracker = repair_tracker(&plan, contacts, &resolution);
    assert_eq!(
        tracker.on_deadline(),
        &Verdict::Timeout {
            received: 1,
            block_for: 2
        }
    );

    // In agreement nothing waits.
    let agreed = resolve(&[fresh.clone(), fresh]);
    assert_eq!(
        repair_tracker(&plan, contacts, &agreed).verdict(),
        &Verdict::Success
    );
}
