//! Lightweight transactions across replicas: the IO shell around `cluster::paxos::Proposer`
//! (Cassandra 5.0's `StorageProxy.cas` and `readWithPaxos`, Paxos v1).
//!
//! The proposer decides; this module sends what each `Action` asks to the partition's
//! Paxos participants (the local one called directly, never serialized), feeds back the
//! answers and the phase deadline (`write_request_timeout`), reads the partition at QUORUM
//! (LOCAL_QUORUM for LOCAL_SERIAL) for the caller's condition, sleeps the backoffs and
//! commits at the statement's consistency.
//!
//! Invariants:
//! - Nothing is sent unless a quorum of participants is alive (`Unavailable` with the
//!   SERIAL level's `required`/`alive`) and the commit's level can be met.
//! - The caller's update is proposed with the ballot's timestamp, after a read made under
//!   that ballot; it is committed only once a quorum accepted it.
//! - A SERIAL read is a compare-and-set that writes nothing: it completes any accepted
//!   proposal first, so it sees every commit and every proposal that may have been applied.

use std::sync::Arc;

use strata_protocol::{Consistency, WriteType};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::replicated::Replicas;
use super::Coordinator;
use crate::cluster::command::{
    CoordinatorError, ReadCommand, ReadResult, ReadTarget, WriteCommand,
};
use crate::cluster::consistency::{Verdict, WriteTracker};
use crate::cluster::paxos::store::{PaxosKey, PaxosUpdate};
use crate::cluster::paxos::{Action, Commit, Config, Proposer};
use crate::cluster::replica::{
    execute_paxos, PaxosRequest, ReplicaError, ReplicaRequest, ReplicaResponse, Transport,
};
use crate::cluster::ring::Ring;
use crate::error::FailureReason;
use crate::schema::Table;

/// Answers of one round of requests: (position among the targets, answer).
type Answers = mpsc::UnboundedReceiver<(usize, Result<ReplicaResponse, ReplicaError>)>;

/// One lightweight transaction's fixed context.
struct Transaction<'a> {
    transport: &'a Arc<dyn Transport>,
    ring: &'a Ring,
    table: Arc<Table>,
    key: PaxosKey,
    replicas: Replicas,
    /// Positions in `replicas` of the Paxos participants (the local DC's for LOCAL_SERIAL).
    participants: Vec<usize>,
}

impl Coordinator {
    /// `cas` once other nodes are in the ring: Paxos among the partition's replicas.
    /// `decide` may run several times (once per ballot that reaches the read).
    pub(super) async fn cas_replicated<T, E: From<CoordinatorError>>(
        &self,
        read: ReadCommand,
        serial: Consistency,
        commit_consistency: Consistency,
        decide: &mut (dyn FnMut(ReadResult, i64) -> Result<(Option<WriteCommand>, T), E> + Send),
        transport: &Arc<dyn Transport>,
        ring: &Ring,
    ) -> Result<T, E> {
        let ReadTarget::Partition { token, key, .. } = &read.target else {
            return Err(CoordinatorError::Internal("a compare-and-set of a range".into()).into());
        };
        let placement = self.placement(transport, &read.table.def.keyspace);
        let hosts = placement.strategy.replicas(ring, *token);
        let replicas = self.replicas(transport, ring, &hosts, &placement.replication);
        let local_dc = ring.local().dc.clone();
        let plan = replicas.plan(serial, &local_dc);
        plan.check_available().map_err(CoordinatorError::from)?;
        if commit_consistency != Consistency::Any {
            replicas
                .plan(commit_consistency, &local_dc)
                .check_available()
                .map_err(CoordinatorError::from)?;
        }
        let participants: Vec<usize> = (0..replicas.replicas.len())
            .filter(|i| {
                serial != Consistency::LocalSerial
                    || replicas.replicas.get(*i).is_some_and(|r| r.dc == local_dc)
            })
            .collect();
        let required = plan.block_for();
        let tx = Transaction {
            transport,
            ring,
            table: read.table.clone(),
            key: PaxosKey {
                table: read.table.def.id,
                partition_key: key.clone(),
            },
            replicas,
            participants,
        };
        let mut proposer = Proposer::new(Config {
            participants: tx.participants.len(),
            required,
            give_up_at_micros: crate::clock::now_micros()
                + self.deadlines.cas_contention.as_micros() as i64,
            seed: uuid::Uuid::new_v4().as_u64_pair().0,
        });
        let quorum = match serial {
            Consistency::LocalSerial => Consistency::LocalQuorum,
            _ => Consistency::Quorum,
        };
        let mut answer = None;
        let mut action = proposer.start(crate::clock::now_micros());
        // Bounded: every path either ends the request or asks the proposer, which gives up
        // once `cas_contention_timeout` passed.
        loop {
            action = match action {
                Action::Prepare(ballot) => {
                    let request = |key: PaxosKey| PaxosRequest::Prepare { key, ballot };
                    let answers = self.to_participants(&tx, request);
                    self.collect(&mut proposer, answers, |p, from, response| match response {
                        ReplicaResponse::Promise(promise) => p.on_promise(from, ballot, *promise),
                        _ => None,
                    })
                    .await
                }
                Action::Propose(proposal) => {
                    let ballot = proposal.ballot;
                    let request = |key: PaxosKey| PaxosRequest::Propose {
                        key,
                        proposal: proposal.clone(),
                    };
                    let answers = self.to_participants(&tx, request);
                    let not_sent = (0..tx.participants.len()).filter(|p| {
                        let live = tx
                            .participants
                            .get(*p)
                            .and_then(|r| tx.replicas.live.get(*r));
                        live != Some(&true)
                    });
                    match not_sent.filter_map(|p| proposer.not_sent(p)).next() {
                        Some(action) => action,
                        None => {
                            let feed =
                                |p: &mut Proposer<PaxosUpdate>, from, response| match response {
                                    ReplicaResponse::Accepted(accepted) => {
                                        p.on_accept(from, ballot, accepted)
                                    }
                                    _ => None,
                                };
                            self.collect(&mut proposer, answers, feed).await
                        }
                    }
                }
                Action::CommitReplay(commit) => {
                    self.commit(&tx, commit, quorum).await?;
                    proposer.retry(crate::clock::now_micros())
                }
                Action::RepairCommit { commit, to } => {
                    let targets: Vec<usize> = to
                        .iter()
                        .filter_map(|p| tx.participants.get(*p).copied())
                        .collect();
                    drop(self.send(&tx, &targets, |key| PaxosRequest::Commit {
                        key,
                        commit: commit.clone(),
                    }));
                    proposer.retry(crate::clock::now_micros())
                }
                Action::Read(ballot) => {
                    let current = self
                        .read_replicated(read.clone(), quorum, transport, ring)
                        .await?;
                    let (write, result) = decide(current, ballot.micros)?;
                    answer = Some(result);
                    proposer.propose(ballot, self.update_of(&tx, write)?)
                }
                Action::Accepted(commit) => {
                    if !commit.update.updates.is_empty() {
                        self.commit(&tx, commit, commit_consistency).await?;
                    }
                    return answer.ok_or_else(|| {
                        CoordinatorError::Internal("accepted before any read".into()).into()
                    });
                }
                Action::Backoff(delay) => {
                    tokio::time::sleep(delay).await;
                    proposer.retry(crate::clock::now_micros())
                }
                Action::Timeout { received, required } => {
                    return Err(CoordinatorError::WriteTimeout {
                        consistency: serial,
                        received: received as i32,
                        block_for: required as i32,
                        write_type: WriteType::Cas,
                        contentions: Some(proposer.contentions.min(u16::MAX.into()) as u16),
                    }
                    .into());
                }
            };
        }
    }

    /// A SERIAL (or LOCAL_SERIAL) read of one partition once other nodes are in the ring:
    /// a Paxos round that writes nothing, reading under its ballot (Cassandra's
    /// `readWithPaxos`); a timeout of its Paxos phases is a ReadTimeout at the SERIAL level.
    pub(super) async fn serial_read_replicated(
        &self,
        command: ReadCommand,
        serial: Consistency,
        transport: &Arc<dyn Transport>,
        ring: &Ring,
    ) -> Result<ReadResult, CoordinatorError> {
        let mut decide = |current: ReadResult, _| Ok::<_, CoordinatorError>((None, current));
        // Its update is empty, never committed: no commit level to check.
        let read = self.cas_replicated(
            command,
            serial,
            Consistency::Any,
            &mut decide,
            transport,
            ring,
        );
        match read.await {
            Err(CoordinatorError::WriteTimeout {
                consistency,
                block_for,
                write_type: WriteType::Cas,
                ..
            }) => Err(CoordinatorError::ReadTimeout {
                consistency,
                received: 0,
                block_for,
                data_present: false,
            }),
            other => other,
        }
    }

    /// The caller's write as a proposal's update: the partition updates of the
    /// transaction's table (nothing else may be written under its ballot).
    fn update_of(
        &self,
        tx: &Transaction<'_>,
        write: Option<WriteCommand>,
    ) -> Result<PaxosUpdate, CoordinatorError> {
        let mut updates = Vec::new();
        for table in write.map(|w| w.tables).unwrap_or_default() {
            if table.table.def.id != tx.key.table
                || table
                    .updates
                    .iter()
                    .any(|u| u.partition_key != tx.key.partition_key)
            {
                return Err(CoordinatorError::Internal(
                    "a conditional write outside its partition".into(),
                ));
            }
            updates.extend(table.updates);
        }
        Ok(PaxosUpdate {
            updates,
            now_secs: crate::clock::now_secs(),
        })
    }

    /// Sends the request `make` builds to every live participant.
    fn to_participants(
        &self,
        tx: &Transaction<'_>,
        make: impl Fn(PaxosKey) -> PaxosRequest,
    ) -> Answers {
        self.send(tx, &tx.participants, make)
    }

    /// Sends the request `make` builds to the live replicas at `targets` (positions in
    /// `tx.replicas`), each in its own task; answers arrive by position in `targets`.
    fn send(
        &self,
        tx: &Transaction<'_>,
        targets: &[usize],
        make: impl Fn(PaxosKey) -> PaxosRequest,
    ) -> Answers {
        let (answers, inbox) = mpsc::unbounded_channel();
        let deadline = Instant::now() + self.deadlines.write;
        let local = tx.ring.local().host_id;
        for (position, replica) in targets.iter().enumerate() {
            let (Some(endpoint), Some(true)) = (
                tx.replicas.endpoints.get(*replica),
                tx.replicas.live.get(*replica).copied(),
            ) else {
                continue;
            };
            let request = make(tx.key.clone());
            let answers = answers.clone();
            if endpoint.host_id == local {
                let replica = self.local.clone();
                let table = tx.table.clone();
                let shard = self.counter_shard();
                tokio::spawn(async move {
                    let answer = execute_paxos(&replica, table, &shard, request).await;
                    let _ = answers.send((position, answer));
                });
            } else {
                let send = tx
                    .transport
                    .send(endpoint, ReplicaRequest::Paxos(request), deadline);
                tokio::spawn(async move {
                    let _ = answers.send((position, send.await));
                });
            }
        }
        inbox
    }

    /// Feeds a round's answers to the proposer until it decides, or until the deadline
    /// (or the last answer) passes without a decision.
    async fn collect(
        &self,
        proposer: &mut Proposer<PaxosUpdate>,
        mut answers: Answers,
        mut feed: impl FnMut(
            &mut Proposer<PaxosUpdate>,
            usize,
            ReplicaResponse,
        ) -> Option<Action<PaxosUpdate>>,
    ) -> Action<PaxosUpdate> {
        let deadline = Instant::now() + self.deadlines.write;
        loop {
            let answer = tokio::select! {
                answer = answers.recv() => answer,
                () = tokio::time::sleep_until(deadline) => None,
            };
            let Some((from, result)) = answer else {
                break;
            };
            match result {
                Ok(response) => {
                    if let Some(action) = feed(proposer, from, response) {
                        return action;
                    }
                }
                Err(ReplicaError::Failed(reason)) => {
                    tracing::debug!(%reason, "a replica failed a Paxos request");
                }
                Err(ReplicaError::Timeout) => {}
            }
        }
        proposer.on_deadline().unwrap_or(Action::Timeout {
            received: 0,
            required: 1,
        })
    }

    /// Commits on every live replica of the partition and waits for `consistency` (not at
    /// all for ANY); the sends complete in their tasks after the answer.
    async fn commit(
        &self,
        tx: &Transaction<'_>,
        commit: Commit<PaxosUpdate>,
        consistency: Consistency,
    ) -> Result<(), CoordinatorError> {
        let everyone: Vec<usize> = (0..tx.replicas.endpoints.len()).collect();
        let mut answers = self.send(tx, &everyone, |key| PaxosRequest::Commit {
            key,
            commit: commit.clone(),
        });
        if consistency == Consistency::Any {
            return Ok(());
        }
        let local_dc = tx.ring.local().dc.clone();
        let mut tracker =
            WriteTracker::new(&tx.replicas.plan(consistency, &local_dc), WriteType::Simple);
        let deadline = Instant::now() + self.deadlines.write;
        loop {
            match tracker.verdict() {
                Verdict::Success => return Ok(()),
                verdict @ Verdict::Failure { .. } => {
                    return Err(CoordinatorError::from_write(
                        verdict,
                        consistency,
                        WriteType::Simple,
                    ))
                }
                _ => {}
            }
            let answer = tokio::select! {
                answer = answers.recv() => answer,
                () = tokio::time::sleep_until(deadline) => None,
            };
            match answer {
                None => {
                    return Err(CoordinatorError::from_write(
                        tracker.on_deadline(),
                        consistency,
                        WriteType::Simple,
                    ))
                }
                Some((i, Ok(_))) => {
                    tracker.on_ack(i);
                }
                Some((i, Err(ReplicaError::Failed(reason)))) => {
                    tracing::debug!(%reason, "a replica failed a Paxos commit");
                    tracker.on_failure(i, FailureReason::Unknown);
                }
                Some((_, Err(ReplicaError::Timeout))) => {}
            }
        }
    }
}
