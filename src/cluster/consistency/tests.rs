use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};

use strata_protocol::{Consistency, WriteType};

use super::*;
use crate::test_rng::{seed_from_env, Rng};

fn replicas(dcs: &[(&str, usize)]) -> Vec<Replica> {
    let mut out = Vec::new();
    for (dc, n) in dcs {
        for _ in 0..*n {
            let i = out.len() as u8 + 1;
            out.push(Replica {
                address: IpAddr::V4(Ipv4Addr::new(127, 0, 0, i)),
                dc: dc.to_string(),
            });
        }
    }
    out
}

fn plan<'a>(
    consistency: Consistency,
    replication: &'a Replication,
    replicas: &'a [Replica],
    live: &'a [bool],
) -> ReplicaPlan<'a> {
    ReplicaPlan {
        consistency,
        replication,
        local_dc: "dc1",
        replicas,
        live,
    }
}

fn writes(
    consistency: Consistency,
    replication: &Replication,
    replicas: &[Replica],
    live: &[bool],
) -> WriteTracker {
    WriteTracker::new(
        &plan(consistency, replication, replicas, live),
        WriteType::Simple,
    )
}

fn nts() -> Replication {
    Replication::NetworkTopology(vec![("dc1".into(), 3), ("dc2".into(), 2)])
}

#[test]
fn block_for_matches_cassandra() {
    let simple = Replication::Simple(3);
    let expected = [
        (Consistency::Any, 1, 1),
        (Consistency::One, 1, 1),
        (Consistency::LocalOne, 1, 1),
        (Consistency::Two, 2, 2),
        (Consistency::Three, 3, 3),
        (Consistency::Quorum, 2, 3),
        (Consistency::Serial, 2, 3),
        (Consistency::All, 3, 5),
        (Consistency::LocalQuorum, 2, 2),
        (Consistency::LocalSerial, 2, 2),
        // A quorum in each DC: 2 of 3 plus 2 of 2.
        (Consistency::EachQuorum, 2, 4),
    ];
    for (cl, with_simple, with_nts) in expected {
        assert_eq!(
            block_for(cl, &simple, "dc1"),
            with_simple,
            "{cl:?} SimpleStrategy"
        );
        assert_eq!(
            block_for(cl, &nts(), "dc1"),
            with_nts,
            "{cl:?} NetworkTopologyStrategy"
        );
    }
    // The local quorum is the coordinator's DC's.
    assert_eq!(block_for(Consistency::LocalQuorum, &nts(), "dc2"), 2);
}

#[test]
fn unavailable_has_cassandras_counts_and_message() {
    let simple = Replication::Simple(3);
    let three = replicas(&[("dc1", 3)]);
    let err = plan(Consistency::Quorum, &simple, &three, &[true, false, false])
        .check_available()
        .unwrap_err();
    assert_eq!((err.required, err.alive), (2, 1));
    assert_eq!(err.to_string(), "Cannot achieve consistency level QUORUM");
    assert!(
        plan(Consistency::Quorum, &simple, &three, &[true, false, true])
            .check_available()
            .is_ok()
    );
    let err = plan(Consistency::All, &simple, &three, &[true, false, true])
        .check_available()
        .unwrap_err();
    assert_eq!((err.required, err.alive), (3, 2));
    // ANY never is: a hint on the coordinator counts.
    assert!(plan(Consistency::Any, &simple, &three, &[false; 3])
        .check_available()
        .is_ok());
    // RF 3 on a 1-node ring: the levels count the factor, not the nodes there are.
    let one = replicas(&[("dc1", 1)]);
    let err = plan(Consistency::Quorum, &simple, &one, &[true])
        .check_available()
        .unwrap_err();
    assert_eq!((err.required, err.alive), (2, 1));
    assert!(plan(Consistency::One, &simple, &one, &[true])
        .check_available()
        .is_ok());

    let five = replicas(&[("dc1", 3), ("dc2", 2)]);
    let nts = nts();
    let dc2_down = [true, true, true, false, true];
    let err = plan(Consistency::EachQuorum, &nts, &five, &dc2_down)
        .check_available()
        .unwrap_err();
    assert_eq!(
        (err.required, err.alive, err.dc.as_deref()),
        (2, 1, Some("dc2"))
    );
    assert_eq!(
        err.to_string(),
        "Cannot achieve consistency level EACH_QUORUM in DC dc2"
    );
    assert!(plan(Consistency::LocalQuorum, &nts, &five, &dc2_down)
        .check_available()
        .is_ok());
    // LOCAL_ONE counts only the local DC.
    let local_down = [false, false, false, true, true];
    let err = plan(Consistency::LocalOne, &nts, &five, &local_down)
        .check_available()
        .unwrap_err();
    assert_eq!((err.required, err.alive), (1, 0));
    assert!(plan(Consistency::One, &nts, &five, &local_down)
        .check_available()
        .is_ok());
    // LOCAL_SERIAL: a quorum of the local DC's Paxos participants.
    let err = plan(
        Consistency::LocalSerial,
        &nts,
        &five,
        &[true, false, false, true, true],
    )
    .check_available()
    .unwrap_err();
    assert_eq!((err.required, err.alive), (2, 1));
}

#[test]
fn write_tracker_counts_acks_failures_and_timeouts() {
    let simple = Replication::Simple(3);
    let three = replicas(&[("dc1", 3)]);
    let live = [true; 3];
    let p = plan(Consistency::Quorum, &simple, &three, &live);

    let mut w = WriteTracker::new(&p, WriteType::Simple);
    assert_eq!(w.on_ack(0), &Verdict::Pending);
    assert_eq!(
        w.on_ack(0),
        &Verdict::Pending,
        "a duplicated ack counts once"
    );
    assert_eq!(w.on_ack(2), &Verdict::Success);
    assert_eq!(
        w.on_deadline(),
        &Verdict::Success,
        "a verdict never changes"
    );

    let mut w = WriteTracker::new(&p, WriteType::Batch);
    w.on_ack(1);
    assert_eq!(
        w.on_deadline(),
        &Verdict::Timeout {
            received: 1,
            block_for: 2
        }
    );
    assert_eq!(w.write_type(), WriteType::Batch);

    // Two failures of three leave fewer than a quorum able to answer.
    let mut w = WriteTracker::new(&p, WriteType::Simple);
    w.on_ack(0);
    assert_eq!(w.on_failure(1, FailureReason::Unknown), &Verdict::Pending);
    let failure = w.on_failure(2, FailureReason::Timeout).clone();
    let expected = vec![
        (three[1].address, FailureReason::Unknown),
        (three[2].address, FailureReason::Timeout),
    ];
    assert_eq!(
        failure,
        Verdict::Failure {
            received: 1,
            block_for: 2,
            failures: expected
        }
    );

    // ANY: a hint is an ack.
    let p = plan(Consistency::Any, &simple, &three, &[false; 3]);
    let mut w = WriteTracker::new(&p, WriteType::Simple);
    assert_eq!(w.on_hint(), &Verdict::Success);
    // ...but at ONE it is not.
    let mut w = writes(Consistency::One, &simple, &three, &live);
    assert_eq!(w.on_hint(), &Verdict::Pending);
}

#[test]
fn each_quorum_needs_every_dc_and_never_reports_all_acks_in_a_timeout() {
    let nts = nts();
    let five = replicas(&[("dc1", 3), ("dc2", 2)]);
    let live = [true; 5];
    let mut w = writes(Consistency::EachQuorum, &nts, &five, &live);
    for i in 0..3 {
        assert_eq!(w.on_ack(i), &Verdict::Pending);
    }
    assert_eq!(w.on_ack(3), &Verdict::Pending, "dc2 has one of two");
    // Four acks reached block_for 4 overall, but dc2 lacks its quorum.
    assert_eq!(
        w.on_deadline(),
        &Verdict::Timeout {
            received: 3,
            block_for: 4
        }
    );

    let mut w = writes(Consistency::EachQuorum, &nts, &five, &live);
    for i in [0, 3, 1, 4] {
        w.on_ack(i);
    }
    assert_eq!(w.verdict(), &Verdict::Success);
}

#[test]
fn local_levels_count_only_the_local_dc() {
    let nts = nts();
    let five = replicas(&[("dc1", 3), ("dc2", 2)]);
    let live = [true; 5];
    let mut w = writes(Consistency::LocalQuorum, &nts, &five, &live);
    w.on_ack(3);
    w.on_ack(4);
    w.on_ack(0);
    assert_eq!(w.verdict(), &Verdict::Pending);
    assert_eq!(w.on_ack(2), &Verdict::Success);
    // Failures of remote replicas do not count either: 3 local candidates, block_for 2.
    let mut w = writes(Consistency::LocalQuorum, &nts, &five, &live);
    w.on_failure(3, FailureReason::Unknown);
    w.on_failure(4, FailureReason::Unknown);
    assert_eq!(w.on_failure(0, FailureReason::Unknown), &Verdict::Pending);
    assert!(matches!(
        w.on_failure(1, FailureReason::Unknown),
        Verdict::Failure {
            received: 0,
            block_for: 2,
            ..
        }
    ));
}

#[test]
fn reads_contact_the_nearest_live_replicas_and_need_the_data() {
    let simple = Replication::Simple(3);
    let three = replicas(&[("dc1", 3)]);
    let live = [false, true, true];
    let p = plan(Consistency::Quorum, &simple, &three, &live);
    assert_eq!(p.read_contacts().unwrap(), vec![1, 2]);
    let contacts: Vec<Replica> = [1, 2].iter().map(|i| three[*i].clone()).collect();
    let mut r = ReadTracker::new(&p, &contacts);
    assert_eq!(r.on_response(1, false), &Verdict::Pending);
    assert_eq!(
        r.on_deadline(),
        &Verdict::Timeout {
            received: 1,
            block_for: 2
        }
    );
    assert!(!r.data_present());

    let mut r = ReadTracker::new(&p, &contacts);
    r.on_response(1, false);
    assert_eq!(r.on_response(0, true), &Verdict::Success);

    let mut r = ReadTracker::new(&p, &contacts);
    r.on_response(0, true);
    let failure = r
        .on_failure(1, FailureReason::ReadTooManyTombstones)
        .clone();
    assert_eq!(
        failure,
        Verdict::Failure {
            received: 1,
            block_for: 2,
            failures: vec![(three[2].address, FailureReason::ReadTooManyTombstones)]
        }
    );

    let five = replicas(&[("dc1", 3), ("dc2", 2)]);
    let nts = nts();
    let all_live = [true; 5];
    assert_eq!(
        plan(Consistency::EachQuorum, &nts, &five, &all_live)
            .read_contacts()
            .unwrap(),
        vec![0, 1, 3, 4]
    );
    assert_eq!(
        plan(
            Consistency::LocalOne,
            &nts,
            &five,
            &[false, false, true, true, true]
        )
        .read_contacts()
        .unwrap(),
        vec![2]
    );
    assert!(plan(Consistency::All, &simple, &three, &live)
        .read_contacts()
        .is_err());
}

// ---------------------------------------------------------------------------------------------
// Seeded simulation: random topologies, liveness views, message loss, delay and failures
// ---------------------------------------------------------------------------------------------

const WRITE_TIMEOUT_MS: u64 = 2_000;

/// A random cluster: DCs with replicas, a replication matching them, the truth about which
/// replicas are up and a failure detector view that is sometimes wrong.
struct Topology {
    replication: Replication,
    replicas: Vec<Replica>,
    up: Vec<bool>,
    fd_live: Vec<bool>,
}

fn random_topology(rng: &mut Rng) -> Topology {
    let dc_count = 1 + rng.below(2);
    let dcs: Vec<(String, usize)> = (0..dc_count)
        .map(|d| (format!("dc{}", d + 1), 1 + rng.below(4)))
        .collect();
    // A DC may have fewer nodes than its factor (RF 3 on a 1-node ring): the replicas
    // are the nodes there are, the levels still count the factor.
    let named: Vec<(&str, usize)> = dcs
        .iter()
        .map(|(d, rf)| {
            let nodes = if rng.chance(25) {
                1 + rng.below(*rf)
            } else {
                *rf
            };
            (d.as_str(), nodes)
        })
        .collect();
    let replicas = replicas(&named);
    let replication = if dc_count == 1 && rng.chance(50) {
        Replication::Simple(dcs[0].1)
    } else {
        Replication::NetworkTopology(dcs)
    };
    let up: Vec<bool> = replicas.iter().map(|_| rng.chance(75)).collect();
    // The failure detector lags: a tenth of its entries are stale.
    let fd_live = up
        .iter()
        .map(|u| if rng.chance(10) { !u } else { *u })
        .collect();
    Topology {
        replication,
        replicas,
        up,
        fd_live,
    }
}

/// What the network did with one request to one replica.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Fate {
    /// The request never arrived (replica down or message lost).
    Lost,
    /// Applied, but the answer was lost.
    AppliedSilently,
    /// Applied and answered after `delay` ms.
    Acked(u64),
    /// Answered with a failure after `delay` ms.
    Failed(u64),
}

fn random_fate(rng: &mut Rng, up: bool) -> Fate {
    if !up || rng.chance(10) {
        return Fate::Lost;
    }
    match rng.below(20) {
        0 => Fate::AppliedSilently,
        1 | 2 => Fate::Failed(rng.below(3_000) as u64),
        // Most answers come fast; some after the deadline.
        _ => Fate::Acked(if rng.chance(85) {
            rng.below(50) as u64
        } else {
            rng.below(4_000) as u64
        }),
    }
}

/// Independent model of "enough counted acks": per-DC quorums for EACH_QUORUM, else a count.
fn model_enough(
    cl: Consistency,
    replication: &Replication,
    replicas: &[Replica],
    acked: &[usize],
) -> bool {
    let counted = |dc: Option<&str>| {
        acked
            .iter()
            .filter(|i| dc.is_none_or(|dc| replicas[**i].dc == dc))
            .count()
    };
    match (cl, replication) {
        (Consistency::EachQuorum, Replication::NetworkTopology(dcs)) => {
            dcs.iter().all(|(dc, rf)| counted(Some(dc)) > rf / 2)
        }
        // Paxos participants are the replicas there are, whatever the factor.
        (Consistency::Serial, _) => counted(None) > replicas.len() / 2,
        (Consistency::LocalSerial, _) => {
            counted(Some("dc1")) > replicas.iter().filter(|r| r.dc == "dc1").count() / 2
        }
        (Consistency::LocalOne | Consistency::LocalQuorum, _) => {
            counted(Some("dc1")) >= block_for(cl, replication, "dc1")
        }
        _ => counted(None) >= block_for(cl, replication, "dc1"),
    }
}

/// Independent model of the live check (Cassandra's table, written out per level).
fn model_available(cl: Consistency, t: &Topology) -> bool {
    let live = |dc: Option<&str>| {
        (0..t.replicas.len())
            .filter(|i| t.fd_live[*i] && dc.is_none_or(|dc| t.replicas[*i].dc == dc))
            .count()
    };
    let in_dc = |dc: &str| t.replicas.iter().filter(|r| r.dc == dc).count();
    let rf = t.replication.total();
    let local_rf = match &t.replication {
        Replication::Simple(rf) => *rf,
        Replication::NetworkTopology(dcs) => dcs
            .iter()
            .find(|(d, _)| d == "dc1")
            .map_or(0, |(_, rf)| *rf),
    };
    match cl {
        Consistency::Any => true,
        Consistency::One => live(None) >= 1,
        Consistency::Two => live(None) >= 2,
        Consistency::Three => live(None) >= 3,
        Consistency::Quorum => live(None) > rf / 2,
        Consistency::All => live(None) >= rf,
        Consistency::LocalOne => live(Some("dc1")) >= 1,
        Consistency::LocalQuorum => live(Some("dc1")) > local_rf / 2,
        Consistency::Serial => live(None) > t.replicas.len() / 2,
        Consistency::LocalSerial => live(Some("dc1")) > in_dc("dc1") / 2,
        Consistency::EachQuorum => match &t.replication {
            Replication::NetworkTopology(dcs) => dcs.iter().all(|(dc, rf)| live(Some(dc)) > rf / 2),
            Replication::Simple(rf) => live(None) > rf / 2,
        },
    }
}

fn counted(cl: Consistency, replica: &Replica) -> bool {
    !matches!(
        cl,
        Consistency::LocalOne | Consistency::LocalQuorum | Consistency::LocalSerial
    ) || replica.dc == "dc1"
}

/// Runs one write through the tracker; returns the verdict and which replicas applied it.
fn simulate_write(
    rng: &mut Rng,
    t: &Topology,
    cl: Consistency,
) -> Result<(Verdict, Vec<bool>), Unavailable> {
    let p = ReplicaPlan {
        consistency: cl,
        replication: &t.replication,
        local_dc: "dc1",
        replicas: &t.replicas,
        live: &t.fd_live,
    };
    p.check_available()?;
    let fates: Vec<Fate> = t.up.iter().map(|up| random_fate(rng, *up)).collect();
    let applied = fates
        .iter()
        .map(|f| matches!(f, Fate::AppliedSilently | Fate::Acked(_)))
        .collect();
    let mut events: Vec<(u64, usize, bool)> = fates
        .iter()
        .enumerate()
        .filter_map(|(i, f)| match f {
            Fate::Acked(d) => Some((*d, i, true)),
            Fate::Failed(d) => Some((*d, i, false)),
            _ => None,
        })
        .collect();
    events.sort();
    // Some replies are delivered twice (a retransmission).
    if let Some(dup) = events.get(rng.below(events.len() + 1)).copied() {
        events.push((dup.0 + 1, dup.1, dup.2));
        events.sort();
    }
    let mut w = WriteTracker::new(&p, WriteType::Simple);
    let mut acked = BTreeSet::new();
    let mut failed = BTreeSet::new();
    let block_for = p.block_for();
    let candidates = t.replicas.iter().filter(|r| counted(cl, r)).count();
    for (at, i, ok) in events
        .into_iter()
        .take_while(|(at, ..)| *at < WRITE_TIMEOUT_MS)
    {
        let before = w.verdict().clone();
        let verdict = if ok {
            w.on_ack(i).clone()
        } else {
            w.on_failure(i, FailureReason::Unknown).clone()
        };
        if before != Verdict::Pending {
            assert_eq!(verdict, before, "a verdict changed at {at} ms");
            continue;
        }
        if counted(cl, &t.replicas[i]) {
            if ok {
                acked.insert(i)
            } else {
                failed.insert(i)
            };
        }
        let acks: Vec<usize> = acked.iter().copied().collect();
        match &verdict {
            Verdict::Success => assert!(
                model_enough(cl, &t.replication, &t.replicas, &acks),
                "success without enough acks {acks:?}"
            ),
            Verdict::Failure {
                received,
                block_for: b,
                failures,
            } => {
                assert!(
                    block_for + failed.len() > candidates,
                    "failure while the level could still be met"
                );
                assert_eq!(
                    (*received as usize, *b as usize, failures.len()),
                    (acked.len(), block_for, failed.len())
                );
            }
            Verdict::Pending => {
                assert!(
                    !model_enough(cl, &t.replication, &t.replicas, &acks),
                    "enough acks {acks:?} but still pending"
                );
                assert!(
                    block_for + failed.len() <= candidates,
                    "hopeless but still pending"
                );
            }
            Verdict::Timeout { .. } => panic!("timeout before the deadline"),
        }
    }
    let verdict = w.on_deadline().clone();
    if let Verdict::Timeout {
        received,
        block_for: b,
    } = &verdict
    {
        assert_eq!(*b as usize, block_for);
        assert_eq!(*received as usize, acked.len().min(block_for - 1));
    }
    Ok((verdict, applied))
}

#[test]
fn simulated_writes_respect_the_level_under_loss_delay_and_failures() {
    let seed = seed_from_env("STRATA_SIM_SEED", 0xC0_5157_E9C1);
    eprintln!("simulated_writes seed {seed:#x} (replay with STRATA_SIM_SEED)");
    let mut rng = Rng(seed);
    let mut outcomes = [0usize; 4];
    for _ in 0..20_000 {
        let t = random_topology(&mut rng);
        let cl = Consistency::ALL_LEVELS[rng.below(Consistency::ALL_LEVELS.len())];
        match simulate_write(&mut rng, &t, cl) {
            Err(unavailable) => {
                assert!(
                    !model_available(cl, &t),
                    "{cl:?}: {unavailable} although the model has enough live replicas"
                );
                outcomes[0] += 1;
            }
            Ok((verdict, _)) => {
                assert!(
                    model_available(cl, &t),
                    "{cl:?} tried with too few live replicas"
                );
                outcomes[match verdict {
                    Verdict::Success => 1,
                    Verdict::Timeout { .. } => 2,
                    _ => 3,
                }] += 1;
            }
        }
    }
    eprintln!(
        "unavailable {} success {} timeout {} failure {}",
        outcomes[0], outcomes[1], outcomes[2], outcomes[3]
    );
    assert!(
        outcomes.iter().all(|n| *n > 100),
        "the simulation must reach every outcome: {outcomes:?}"
    );
}

/// Quorum writes followed by quorum reads (and ALL/ONE, ONE/ALL) over a lossy network: a read
/// that succeeds has heard from at least one replica holding every acknowledged write.
#[test]
fn simulated_acknowledged_writes_are_seen_by_overlapping_reads() {
    let seed = seed_from_env("STRATA_SIM_SEED", 0x0A_C4ED);
    eprintln!("simulated_acknowledged_writes seed {seed:#x} (replay with STRATA_SIM_SEED)");
    let mut rng = Rng(seed);
    let pairs = [
        (Consistency::Quorum, Consistency::Quorum),
        (Consistency::All, Consistency::One),
        (Consistency::One, Consistency::All),
    ];
    let (mut acked_writes, mut checked_reads) = (0, 0);
    for _ in 0..2_000 {
        let dcs = [("dc1", 1 + rng.below(5))];
        let replicas = replicas(&dcs);
        // Sometimes the factor exceeds the nodes the ring holds.
        let replication = Replication::Simple(replicas.len() + rng.below(2));
        let (write_cl, read_cl) = pairs[rng.below(pairs.len())];
        // What each replica holds, and the writes acknowledged to the client.
        let mut stores: Vec<BTreeSet<u32>> = vec![BTreeSet::new(); replicas.len()];
        let mut acknowledged = Vec::new();
        for value in 0..20u32 {
            // Nodes fail and recover between writes; the detector sees it with a lag.
            let up: Vec<bool> = replicas.iter().map(|_| rng.chance(80)).collect();
            let fd_live = up
                .iter()
                .map(|u| if rng.chance(10) { !u } else { *u })
                .collect();
            let t = Topology {
                replication: replication.clone(),
                replicas: replicas.clone(),
                up,
                fd_live,
            };
            if let Ok((verdict, applied)) = simulate_write(&mut rng, &t, write_cl) {
                for (store, applied) in stores.iter_mut().zip(applied) {
                    if applied {
                        store.insert(value);
                    }
                }
                if verdict == Verdict::Success {
                    acknowledged.push(value);
                }
            }
        }
        acked_writes += acknowledged.len();
        let up: Vec<bool> = replicas.iter().map(|_| rng.chance(80)).collect();
        let p = ReplicaPlan {
            consistency: read_cl,
            replication: &replication,
            local_dc: "dc1",
            replicas: &replicas,
            live: &up,
        };
        let Ok(contacts) = p.read_contacts() else {
            continue;
        };
        let contact_replicas: Vec<Replica> =
            contacts.iter().map(|i| replicas[*i].clone()).collect();
        let mut r = ReadTracker::new(&p, &contact_replicas);
        let mut heard = BTreeSet::new();
        for (n, _) in contacts.iter().enumerate() {
            if rng.chance(10) {
                continue; // the answer was lost
            }
            if r.on_response(n, n == 0) == &Verdict::Pending {
                heard.insert(contacts[n]);
            } else {
                heard.insert(contacts[n]);
                break;
            }
        }
        if r.on_deadline() != &Verdict::Success {
            continue;
        }
        checked_reads += 1;
        let seen: BTreeSet<u32> = heard
            .iter()
            .flat_map(|i| stores[*i].iter().copied())
            .collect();
        for value in &acknowledged {
            assert!(
                seen.contains(value),
                "acknowledged write {value} missed by a {read_cl:?} read after {write_cl:?} writes"
            );
        }
    }
    eprintln!("{acked_writes} acknowledged writes checked by {checked_reads} reads");
    assert!(checked_reads > 500 && acked_writes > 5_000);
}
