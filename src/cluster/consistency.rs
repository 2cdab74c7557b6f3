//! Consistency-level accounting, sans-IO: how many replicas a request must hear from, whether
//! enough are alive to try, and when the answers received so far decide the request.
//!
//! Nothing here sends, sleeps or reads a clock. The coordinator builds a plan from the
//! replica set of a token and its failure detector's live view, feeds the trackers the
//! events its transport delivers (ack, failure, deadline passed) and turns their verdicts
//! into client answers. The counts follow Cassandra 5.0 (`ConsistencyLevel.blockFor`,
//! `ReplicaPlans.assureSufficientLiveReplicas`, `AbstractWriteResponseHandler`,
//! `DatacenterSyncWriteResponseHandler`, `ReadCallback`) so the `required/alive`,
//! `received/block_for/data_present/write_type` fields drivers decode are Cassandra's.
//!
//! Invariants:
//! - `Unavailable` is decided before anything is sent, from the live view only; once a
//!   request was sent the only outcomes are success, timeout and failure.
//! - A tracker's verdict, once reached, never changes: later or duplicated messages and a
//!   late deadline are ignored (a replica answers at most once in the counts).
//! - Only replicas the level waits for count: for LOCAL_* levels the coordinator's DC.
//! - A write succeeds only after `block_for` counted acks (for EACH_QUORUM, a quorum in
//!   every DC); a read only after `block_for` counted answers including the data answer.

use std::collections::BTreeMap;
use std::net::IpAddr;

use strata_protocol::{Consistency, WriteType};

use crate::error::{consistency_name, FailureReason};

/// One replica of a token as the coordinator sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replica {
    pub address: IpAddr,
    pub dc: String,
}

/// A keyspace's replication factors, as consistency levels count them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Replication {
    /// SimpleStrategy (and LocalStrategy with 1): one factor for the whole ring.
    Simple(usize),
    /// NetworkTopologyStrategy: a factor per DC.
    NetworkTopology(Vec<(String, usize)>),
}

impl Replication {
    /// The factors of a keyspace's stored `replication` map (full class names, as
    /// `system_schema.keyspaces` holds them). LocalStrategy data has one replica: the node.
    pub fn from_options(options: &BTreeMap<String, String>) -> Replication {
        let factor = |value: &String| value.trim().parse::<usize>().unwrap_or(0);
        match options.get("class").map(String::as_str) {
            Some("org.apache.cassandra.locator.NetworkTopologyStrategy") => {
                Replication::NetworkTopology(
                    options
                        .iter()
                        .filter(|(k, _)| *k != "class")
                        .map(|(dc, rf)| (dc.clone(), factor(rf)))
                        .collect(),
                )
            }
            Some("org.apache.cassandra.locator.SimpleStrategy") => {
                Replication::Simple(options.get("replication_factor").map_or(1, factor))
            }
            _ => Replication::Simple(1),
        }
    }

    pub fn total(&self) -> usize {
        match self {
            Replication::Simple(rf) => *rf,
            Replication::NetworkTopology(dcs) => dcs.iter().map(|(_, rf)| rf).sum(),
        }
    }

    /// Cassandra's `localQuorumFor`: a quorum of the DC's factor, or of the whole factor
    /// for a strategy without DCs.
    fn local_quorum(&self, dc: &str) -> usize {
        match self {
            Replication::Simple(rf) => rf / 2 + 1,
            Replication::NetworkTopology(dcs) => {
                dcs.iter().find(|(d, _)| d == dc).map_or(0, |(_, rf)| *rf) / 2 + 1
            }
        }
    }
}

/// Acknowledgements a request at `consistency` waits for (Cassandra's `blockFor`).
/// `local_dc` is the coordinator's DC.
pub fn block_for(consistency: Consistency, replication: &Replication, local_dc: &str) -> usize {
    match consistency {
        Consistency::Any | Consistency::One | Consistency::LocalOne => 1,
        Consistency::Two => 2,
        Consistency::Three => 3,
        Consistency::Quorum | Consistency::Serial => replication.total() / 2 + 1,
        Consistency::All => replication.total(),
        Consistency::LocalQuorum | Consistency::LocalSerial => replication.local_quorum(local_dc),
        Consistency::EachQuorum => match replication {
            Replication::NetworkTopology(dcs) => {
                dcs.iter().map(|(dc, _)| replication.local_quorum(dc)).sum()
            }
            Replication::Simple(rf) => rf / 2 + 1,
        },
    }
}

/// Levels that count only the coordinator's DC.
fn is_dc_local(consistency: Consistency) -> bool {
    matches!(
        consistency,
        Consistency::LocalOne | Consistency::LocalQuorum | Consistency::LocalSerial
    )
}

/// Too few live replicas to try: `UnavailableException` with its exact fields.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("Cannot achieve consistency level {}{}", consistency_name(*.consistency), .dc.as_ref().map(|dc| format!(" in DC {dc}")).unwrap_or_default())]
pub struct Unavailable {
    pub consistency: Consistency,
    pub required: i32,
    pub alive: i32,
    /// The DC that lacks a quorum (EACH_QUORUM only).
    pub dc: Option<String>,
}

fn unavailable(
    consistency: Consistency,
    required: usize,
    alive: usize,
    dc: Option<&str>,
) -> Unavailable {
    Unavailable {
        consistency,
        required: required as i32,
        alive: alive as i32,
        dc: dc.map(str::to_string),
    }
}

/// The replicas of one request and which of them the failure detector believes alive.
#[derive(Clone, Debug)]
pub struct ReplicaPlan<'a> {
    pub consistency: Consistency,
    pub replication: &'a Replication,
    pub local_dc: &'a str,
    /// Every replica of the token, nearest first (the coordinator itself first if it is one).
    pub replicas: &'a [Replica],
    /// `live[i]`: the failure detector's view of `replicas[i]`.
    pub live: &'a [bool],
}

impl ReplicaPlan<'_> {
    /// Acks the level waits for. The SERIAL levels count Paxos participants, the token's
    /// actual replicas (of the local DC for LOCAL_SERIAL), as `Paxos.Participants` does,
    /// so a factor above the nodes there are never asks for more acks than replicas.
    pub fn block_for(&self) -> usize {
        match self.consistency {
            Consistency::Serial | Consistency::LocalSerial => self.participants() / 2 + 1,
            other => block_for(other, self.replication, self.local_dc),
        }
    }

    fn participants(&self) -> usize {
        self.replicas
            .iter()
            .filter(|r| self.consistency != Consistency::LocalSerial || r.dc == self.local_dc)
            .count()
    }

    fn live_in(&self, dc: Option<&str>) -> usize {
        self.replicas
            .iter()
            .zip(self.live)
            .filter(|(r, live)| **live && dc.is_none_or(|dc| r.dc == dc))
            .count()
    }

    /// Cassandra's `assureSufficientLiveReplicas`: `Unavailable` unless enough replicas the
    /// level counts are alive. ANY always passes (a hint on the coordinator counts). The
    /// SERIAL levels count Paxos participants: a quorum of the actual replicas (of the local
    /// DC for LOCAL_SERIAL), as `Paxos.getPaxosParticipants` does.
    pub fn check_available(&self) -> Result<(), Unavailable> {
        let consistency = self.consistency;
        let check = |required: usize, alive: usize, dc: Option<&str>| match alive < required {
            true => Err(unavailable(consistency, required, alive, dc)),
            false => Ok(()),
        };
        match (consistency, self.replication) {
            (Consistency::Any, _) => Ok(()),
            (Consistency::LocalOne | Consistency::LocalQuorum, _) => {
                check(self.block_for(), self.live_in(Some(self.local_dc)), None)
            }
            (Consistency::Serial, _) => check(self.block_for(), self.live_in(None), None),
            (Consistency::LocalSerial, _) => {
                check(self.block_for(), self.live_in(Some(self.local_dc)), None)
            }
            (Consistency::EachQuorum, Replication::NetworkTopology(dcs)) => {
                for (dc, _) in dcs {
                    check(
                        self.replication.local_quorum(dc),
                        self.live_in(Some(dc)),
                        Some(dc),
                    )?;
                }
                Ok(())
            }
            _ => check(self.block_for(), self.live_in(None), None),
        }
    }

    /// Which replicas a read contacts, after `check_available`: the nearest live ones the
    /// level counts, `block_for` of them (a quorum per DC for EACH_QUORUM). The first gets
    /// the data request, the others digest requests.
    pub fn read_contacts(&self) -> Result<Vec<usize>, Unavailable> {
        self.check_available()?;
        // The live replicas with their indexes, nearest first.
        let live = self
            .replicas
            .iter()
            .zip(self.live)
            .enumerate()
            .filter(|(_, (_, live))| **live)
            .map(|(i, (replica, _))| (i, replica));
        let contacts = match (self.consistency, self.replication) {
            (Consistency::EachQuorum, Replication::NetworkTopology(dcs)) => {
                let mut out = Vec::new();
                for (dc, _) in dcs {
                    let quorum = self.replication.local_quorum(dc);
                    out.extend(
                        live.clone()
                            .filter(|(_, replica)| replica.dc == *dc)
                            .map(|(i, _)| i)
                            .take(quorum),
                    );
                }
                // The data request goes to the nearest replica contacted.
                out.sort_unstable();
                out
            }
            (c, _) if is_dc_local(c) => live
                .filter(|(_, replica)| replica.dc == self.local_dc)
                .map(|(i, _)| i)
                .take(self.block_for())
                .collect(),
            _ => live.map(|(i, _)| i).take(self.block_for()).collect(),
        };
        Ok(contacts)
    }
}

/// What a tracker has decided so far.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Pending,
    Success,
    /// The deadline passed first: `WriteTimeout`/`ReadTimeout` with these counts.
    Timeout {
        received: i32,
        block_for: i32,
    },
    /// So many replicas failed that the level can no longer be met: `WriteFailure`/
    /// `ReadFailure` with the failing replicas and their reasons.
    Failure {
        received: i32,
        block_for: i32,
        failures: Vec<(IpAddr, FailureReason)>,
    },
}

/// The answers of the replicas a request was sent to; shared by writes and reads.
#[derive(Clone, Debug)]
struct Tally {
    consistency: Consistency,
    block_for: usize,
    /// `counts[i]`: whether answers from replica `i` count towards the level.
    counts: Vec<bool>,
    answered: Vec<bool>,
    addresses: Vec<IpAddr>,
    received: usize,
    failures: Vec<(IpAddr, FailureReason)>,
    verdict: Verdict,
}

impl Tally {
    fn new(
        consistency: Consistency,
        block_for: usize,
        replicas: &[Replica],
        local_dc: &str,
    ) -> Tally {
        let counts = replicas
            .iter()
            .map(|r| !is_dc_local(consistency) || r.dc == local_dc)
            .collect();
        Tally {
            consistency,
            block_for,
            counts,
            answered: vec![false; replicas.len()],
            addresses: replicas.iter().map(|r| r.address).collect(),
            received: 0,
            failures: Vec::new(),
            verdict: Verdict::Pending,
        }
    }

    /// Records replica `i`'s first answer; false if it was a duplicate, the replica does
    /// not count, or the verdict is already in.
    fn first_counted_answer(&mut self, i: usize) -> bool {
        if self.verdict != Verdict::Pending {
            return false;
        }
        match self.answered.get_mut(i) {
            Some(answered) if !*answered => {
                *answered = true;
                self.counts.get(i).copied().unwrap_or(false)
            }
            _ => false,
        }
    }

    /// Cassandra signals a failure once `block_for + failures` exceeds the replicas that
    /// could still answer (`candidates`).
    fn on_failure(&mut self, i: usize, reason: FailureReason, candidates: usize) {
        if !self.first_counted_answer(i) {
            return;
        }
        // `addresses`, `answered` and `counts` all have one entry per replica.
        let Some(&address) = self.addresses.get(i) else {
            return;
        };
        self.failures.push((address, reason));
        if self.block_for + self.failures.len() > candidates {
            self.verdict = self.failure();
        }
    }

    fn failure(&self) -> Verdict {
        Verdict::Failure {
            received: self.received as i32,
            block_for: self.block_for as i32,
            failures: self.failures.clone(),
        }
    }

    fn decide(&mut self, verdict: Verdict) -> &Verdict {
        if self.verdict == Verdict::Pending {
            self.verdict = verdict;
        }
        &self.verdict
    }
}

/// Acks of one write sent to every replica of a token.
#[derive(Clone, Debug)]
pub struct WriteTracker {
    tally: Tally,
    write_type: WriteType,
    /// EACH_QUORUM: acks still needed per DC (Cassandra's `DatacenterSyncWriteResponseHandler`).
    per_dc: Option<Vec<(String, usize)>>,
    dcs: Vec<String>,
    /// Replicas whose failure can still be waited for (Cassandra's `candidateReplicaCount`).
    candidates: usize,
}

impl WriteTracker {
    /// The write was sent to every replica of `plan` (live or not, as Cassandra: a down
    /// replica's message is a hint); call after `plan.check_available()`.
    pub fn new(plan: &ReplicaPlan<'_>, write_type: WriteType) -> WriteTracker {
        let tally = Tally::new(
            plan.consistency,
            plan.block_for(),
            plan.replicas,
            plan.local_dc,
        );
        let per_dc = match (plan.consistency, plan.replication) {
            (Consistency::EachQuorum, Replication::NetworkTopology(dcs)) => Some(
                dcs.iter()
                    .map(|(dc, _)| (dc.clone(), plan.replication.local_quorum(dc)))
                    .collect(),
            ),
            _ => None,
        };
        let candidates = tally.counts.iter().filter(|c| **c).count();
        let dcs = plan.replicas.iter().map(|r| r.dc.clone()).collect();
        WriteTracker {
            tally,
            write_type,
            per_dc,
            dcs,
            candidates,
        }
    }

    pub fn write_type(&self) -> WriteType {
        self.write_type
    }

    pub fn consistency(&self) -> Consistency {
        self.tally.consistency
    }

    pub fn verdict(&self) -> &Verdict {
        &self.tally.verdict
    }

    /// Replica `i` applied the write.
    pub fn on_ack(&mut self, i: usize) -> &Verdict {
        if self.tally.first_counted_answer(i) {
            self.count_ack(Some(i));
        }
        &self.tally.verdict
    }

    /// The coordinator stored a hint for a replica: it counts only at ANY.
    pub fn on_hint(&mut self) -> &Verdict {
        if self.tally.consistency == Consistency::Any && self.tally.verdict == Verdict::Pending {
            self.count_ack(None);
        }
        &self.tally.verdict
    }

    fn count_ack(&mut self, replica: Option<usize>) {
        self.tally.received += 1;
        let done = match &mut self.per_dc {
            Some(per_dc) => {
                let dc = replica.and_then(|i| self.dcs.get(i)).map(String::as_str);
                if let Some(needed) = per_dc.iter_mut().find(|(d, _)| Some(d.as_str()) == dc) {
                    needed.1 = needed.1.saturating_sub(1);
                }
                per_dc.iter().all(|(_, needed)| *needed == 0)
            }
            None => self.tally.received >= self.tally.block_for,
        };
        if done {
            self.tally.verdict = Verdict::Success;
        }
    }

    /// Replica `i` reported that it could not apply the write.
    pub fn on_failure(&mut self, i: usize, reason: FailureReason) -> &Verdict {
        self.tally.on_failure(i, reason, self.candidates);
        &self.tally.verdict
    }

    /// `write_request_timeout` passed. The received count never reaches `block_for` in a
    /// timeout (Cassandra lowers it, CASSANDRA-6491, so drivers are not told a write that
    /// timed out had all its acks).
    pub fn on_deadline(&mut self) -> &Verdict {
        let block_for = self.tally.block_for as i32;
        let received = (self.tally.received as i32).min(block_for - 1);
        self.tally.decide(Verdict::Timeout {
            received,
            block_for,
        })
    }
}

/// Answers of one read: one data request and `block_for - 1` digest requests.
#[derive(Clone, Debug)]
pub struct ReadTracker {
    tally: Tally,
    data_present: bool,
    /// Replicas contacted (Cassandra compares failures with all contacts).
    contacted: usize,
}

impl ReadTracker {
    /// `contacts` are the replicas the read was sent to (see `ReplicaPlan::read_contacts`),
    /// indexed as the events will name them.
    pub fn new(plan: &ReplicaPlan<'_>, contacts: &[Replica]) -> ReadTracker {
        ReadTracker {
            tally: Tally::new(plan.consistency, plan.block_for(), contacts, plan.local_dc),
            data_present: false,
            contacted: contacts.len(),
        }
    }

    pub fn block_for(&self) -> usize {
        self.tally.block_for
    }

    pub fn data_present(&self) -> bool {
        self.data_present
    }

    pub fn verdict(&self) -> &Verdict {
        &self.tally.verdict
    }

    /// Contact `i` answered; `data` when it sent data rather than a digest.
    pub fn on_response(&mut self, i: usize, data: bool) -> &Verdict {
        if self.tally.first_counted_answer(i) {
            self.tally.received += 1;
        }
        if self.tally.verdict == Verdict::Pending && self.tally.answered.get(i) == Some(&true) {
            self.data_present |= data;
            if self.tally.received >= self.tally.block_for && self.data_present {
                self.tally.verdict = Verdict::Success;
            }
        }
        &self.tally.verdict
    }

    pub fn on_failure(&mut self, i: usize, reason: FailureReason) -> &Verdict {
        self.tally.on_failure(i, reason, self.contacted);
        &self.tally.verdict
    }

    /// `read_request_timeout` passed: a failure if any replica failed and the level was not
    /// met, otherwise a timeout (Cassandra's `ReadCallback.awaitResults`).
    pub fn on_deadline(&mut self) -> &Verdict {
        let failed = !self.tally.failures.is_empty();
        let verdict = if failed {
            self.tally.failure()
        } else {
            Verdict::Timeout {
                received: self.tally.received as i32,
                block_for: self.tally.block_for as i32,
            }
        };
        self.tally.decide(verdict)
    }
}

#[cfg(test)]
mod tests;
