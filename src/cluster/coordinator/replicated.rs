//! The coordinator's data path across nodes (Cassandra's `StorageProxy`): replicas from the
//! ring and the keyspace's placement, `Unavailable` from the failure detector's view before
//! anything is sent, writes to every live replica acknowledged per consistency level, reads
//! as one data request plus digest requests, and blocking read repair on a mismatch.
//!
//! The decisions are the sans-IO trackers' (`consistency`, `read_repair`); this module only
//! sends, waits until the deadline and feeds them. The local replica is called directly
//! (never serialized) when it is one of the replicas.
//!
//! Invariants:
//! - Nothing is sent unless every partition of the request passes `check_available`.
//! - A write is sent to every live replica and its sends run to completion, so replicas
//!   beyond the level still receive it after the client has its answer: they run in the
//!   coordinator's own task while it waits (the local replica's write is appended on the
//!   first poll, inside the CQL connection's deferred commit-log hand-off, and no task is
//!   spawned per replica), and what is still running when it stops waiting continues in one
//!   task (`Sends`).
//! - A read answers only from `block_for` agreeing replicas: digests equal to the data
//!   answer's, or, after a mismatch, the merge of every contacted replica's cells once
//!   `block_for` of them acknowledged holding it (blocking read repair).
//! - Range reads visit the ring's ranges in token order, each from its own replicas; the
//!   paging state is an engine key, valid on any coordinator.

use std::collections::BTreeMap;
use std::future::Future;
use std::ops::Bound;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};

use strata_protocol::{Consistency, WriteType};
use tokio::time::Instant;
use uuid::Uuid;

use super::Coordinator;
use crate::cluster::command::{
    CoordinatorError, ReadCommand, ReadResult, ReadTarget, TableWrite, WriteCommand,
};
use crate::cluster::consistency::{
    ReadTracker, Replica, ReplicaPlan, Replication, Verdict, WriteTracker,
};
use crate::cluster::local::decode_cells;
use crate::cluster::placement::Strategy;
use crate::cluster::read_repair::{
    digests_agree, repair_tracker, resolve, ReplicaCells, Resolution,
};
use crate::cluster::replica::{
    ReplicaError, ReplicaRead, ReplicaRequest, ReplicaResponse, ReplicaWrite, Transport, WireCells,
};
use crate::cluster::ring::{Endpoint, Ring};
use crate::error::FailureReason;
use crate::storage::{layout, Decoded};

/// Cassandra's `truncate_request_timeout`.
const TRUNCATE_TIMEOUT: Duration = Duration::from_secs(60);

/// The replicas of one token range or partition, nearest first (the local node, then its
/// DC), with the failure detector's view of each.
pub(super) struct Replicas {
    pub(super) endpoints: Vec<Endpoint>,
    pub(super) replicas: Vec<Replica>,
    pub(super) live: Vec<bool>,
    replication: Replication,
}

impl Replicas {
    pub(super) fn plan<'a>(
        &'a self,
        consistency: Consistency,
        local_dc: &'a str,
    ) -> ReplicaPlan<'a> {
        ReplicaPlan {
            consistency,
            replication: &self.replication,
            local_dc,
            replicas: &self.replicas,
            live: &self.live,
        }
    }
}

/// Placement of a keyspace as the coordinator needs it.
pub(super) struct Placement {
    pub(super) strategy: Strategy,
    pub(super) replication: Replication,
}

impl Coordinator {
    pub(super) fn placement(&self, transport: &Arc<dyn Transport>, keyspace: &str) -> Placement {
        match transport.replication(keyspace) {
            Some(options) => Placement {
                strategy: Strategy::from_options(&options).unwrap_or(Strategy::Local),
                replication: Replication::from_options(&options),
            },
            None => Placement {
                strategy: Strategy::Local,
                replication: Replication::Simple(1),
            },
        }
    }

    /// The replicas `hosts` (a placement's answer), ordered nearest first.
    pub(super) fn replicas(
        &self,
        transport: &Arc<dyn Transport>,
        ring: &Ring,
        hosts: &[Uuid],
        replication: &Replication,
    ) -> Replicas {
        let local = ring.local();
        let mut endpoints: Vec<Endpoint> = hosts
            .iter()
            .filter_map(|h| ring.endpoint(h).cloned())
            .collect();
        endpoints.sort_by_key(|e| (e.host_id != local.host_id, e.dc != local.dc));
        let live = endpoints
            .iter()
            .map(|e| e.host_id == local.host_id || transport.is_alive(&e.host_id))
            .collect();
        let replicas = endpoints
            .iter()
            .map(|e| Replica {
                address: e.address,
                dc: e.dc.clone(),
            })
            .collect();
        Replicas {
            endpoints,
            replicas,
            live,
            replication: replication.clone(),
        }
    }

    /// Truncates table `id` on every other node of the ring, as Cassandra's TRUNCATE: all
    /// must be up (`Unavailable` at ALL otherwise) and all must acknowledge within
    /// `truncate_request_timeout` (60 s). Without other nodes there is nothing to do.
    pub async fn truncate_others(&self, id: Uuid) -> Result<(), CoordinatorError> {
        let Some((transport, ring)) = self.cluster() else {
            return Ok(());
        };
        let local = ring.local().host_id;
        let others: Vec<&Endpoint> = ring.endpoints().filter(|e| e.host_id != local).collect();
        let alive = others
            .iter()
            .filter(|e| transport.is_alive(&e.host_id))
            .count();
        if alive < others.len() {
            return Err(CoordinatorError::Unavailable {
                consistency: Consistency::All,
                required: ring.len() as i32,
                alive: alive as i32 + 1,
                dc: None,
            });
        }
        let deadline = Instant::now() + TRUNCATE_TIMEOUT;
        let answers = futures_util::future::join_all(
            others
                .iter()
                .map(|e| transport.send(e, ReplicaRequest::Truncate(id), deadline)),
        )
        .await;
        let acked = answers.iter().filter(|a| a.is_ok()).count();
        match answers.into_iter().find_map(Result::err) {
            None => Ok(()),
            Some(ReplicaError::Timeout) => Err(CoordinatorError::WriteTimeout {
                consistency: Consistency::All,
                received: acked as i32 + 1,
                block_for: ring.len() as i32,
                write_type: WriteType::Simple,
                contentions: None,
            }),
            Some(ReplicaError::Failed(reason)) => Err(CoordinatorError::Internal(format!(
                "truncate failed on a replica: {reason}"
            ))),
        }
    }

    /// Writes `command` to the replicas of each of its partitions.
    pub(super) async fn mutate_replicated(
        &self,
        command: WriteCommand,
        consistency: Consistency,
        transport: &Arc<dyn Transport>,
        ring: &Ring,
    ) -> Result<(), CoordinatorError> {
        let write_type = if command
            .tables
            .iter()
            .any(|t| t.updates.iter().any(|u| u.has_counter_adds()))
        {
            WriteType::Counter
        } else {
            WriteType::Simple
        };
        // Partitions with the same replicas travel together, as one atomic write each.
        let mut groups: BTreeMap<Vec<Uuid>, (Replication, WriteCommand)> = BTreeMap::new();
        let mut placements: BTreeMap<String, Placement> = BTreeMap::new();
        for table in command.tables {
            let keyspace = table.table.def.keyspace.clone();
            let placement = placements
                .entry(keyspace.clone())
                .or_insert_with(|| self.placement(transport, &keyspace));
            for update in table.updates {
                let hosts = placement.strategy.replicas(ring, update.token);
                let (_, group) = groups
                    .entry(hosts)
                    .or_insert_with(|| (placement.replication.clone(), WriteCommand::default()));
                match group
                    .tables
                    .iter_mut()
                    .find(|t| Arc::ptr_eq(&t.table, &table.table))
                {
                    Some(entry) => entry.updates.push(update),
                    None => group.tables.push(TableWrite {
                        table: table.table.clone(),
                        branch: table.branch,
                        updates: vec![update],
                    }),
                }
            }
        }
        let local_dc = ring.local().dc.clone();
        let groups: Vec<(Replicas, WriteCommand)> = groups
            .into_iter()
            .map(|(hosts, (replication, command))| {
                (
                    self.replicas(transport, ring, &hosts, &replication),
                    command,
                )
            })
            .collect();
        for (replicas, _) in &groups {
            replicas.plan(consistency, &local_dc).check_available()?;
        }
        let deadline = Instant::now() + self.deadlines.write;
        let now_secs = crate::clock::now_secs();
        let mut sends = Sends::default();
        let mut trackers = Vec::with_capacity(groups.len());
        for (g, (replicas, command)) in groups.iter().enumerate() {
            trackers.push(WriteTracker::new(
                &replicas.plan(consistency, &local_dc),
                write_type,
            ));
            let wire = ReplicaWrite::Updates {
                tables: command
                    .tables
                    .iter()
                    .map(|t| (t.table.def.id, t.updates.clone()))
                    .collect(),
                now_secs,
            };
            for (i, endpoint) in replicas.endpoints.iter().enumerate() {
                if !replicas.live.get(i).copied().unwrap_or(false) {
                    continue;
                }
                if endpoint.host_id == ring.local().host_id {
                    let local = self.local.clone();
                    let command = command.clone();
                    let shard = self.counter_shard();
                    sends.push((g, i), async move {
                        local
                            .apply(command, shard, now_secs)
                            .await
                            .map(|()| ReplicaResponse::Ack)
                            .map_err(|e| ReplicaError::Failed(e.to_string()))
                    });
                } else {
                    let send =
                        transport.send(endpoint, ReplicaRequest::Write(wire.clone()), deadline);
                    sends.push((g, i), send);
                }
            }
        }
        let expired = tokio::time::sleep_until(deadline);
        tokio::pin!(expired);
        loop {
            if trackers.iter().all(|t| *t.verdict() == Verdict::Success) {
                return Ok(());
            }
            if let Some(t) = trackers
                .iter()
                .find(|t| matches!(t.verdict(), Verdict::Failure { .. }))
            {
                return Err(CoordinatorError::from_write(
                    t.verdict(),
                    consistency,
                    write_type,
                ));
            }
            let answer = tokio::select! {
                answer = sends.next() => answer,
                () = &mut expired => None,
            };
            let Some(((g, i), result)) = answer else {
                // The deadline passed (or every replica answered without meeting the level).
                let pending = trackers
                    .iter_mut()
                    .find(|t| *t.verdict() != Verdict::Success);
                return match pending {
                    Some(t) => Err(CoordinatorError::from_write(
                        t.on_deadline(),
                        consistency,
                        write_type,
                    )),
                    None => Ok(()),
                };
            };
            if let Some(tracker) = trackers.get_mut(g) {
                match result {
                    Ok(_) => {
                        tracker.on_ack(i);
                    }
                    Err(ReplicaError::Failed(reason)) => {
                        tracing::debug!(%reason, "replica failed a write");
                        tracker.on_failure(i, FailureReason::Unknown);
                    }
                    Err(ReplicaError::Timeout) => {}
                }
            }
        }
    }

    /// Reads `command` from the replicas of its partition or of each ring range it covers.
    pub(super) async fn read_replicated(
        &self,
        command: ReadCommand,
        consistency: Consistency,
        transport: &Arc<dyn Transport>,
        ring: &Ring,
    ) -> Result<ReadResult, CoordinatorError> {
        let placement = self.placement(transport, &command.table.def.keyspace);
        let deadline = Instant::now() + self.deadlines.for_read(&command.target);
        match &command.target {
            ReadTarget::Partition { token, .. } => {
                let hosts = placement.strategy.replicas(ring, *token);
                let replicas = self.replicas(transport, ring, &hosts, &placement.replication);
                self.read_from(&command, consistency, transport, ring, &replicas, deadline)
                    .await
            }
            ReadTarget::TokenRange { start, end } => {
                let (start, end) = (*start, *end);
                let mut ranges: Vec<(Bound<i64>, Bound<i64>, Vec<Uuid>)> = Vec::new();
                for (lo, hi, token) in split_ranges(ring, start, end) {
                    let hosts = placement.strategy.replicas(ring, token);
                    match ranges.last_mut() {
                        // Adjacent ranges with the same replicas are read as one.
                        Some(last) if last.2 == hosts => last.1 = hi,
                        _ => ranges.push((lo, hi, hosts)),
                    }
                }
                let resume_token = command
                    .resume_after
                    .as_deref()
                    .and_then(layout::split_partition)
                    .map(|(token, _, _)| token);
                let mut out = ReadResult::default();
                let mut rows = 0usize;
                let mut resume = command.resume_after.clone();
                let mut resume_rows = command.resume_partition_rows;
                for (lo, hi, hosts) in ranges {
                    if resume_token.is_some_and(|t| ends_before(hi, t)) {
                        continue;
                    }
                    let sub = ReadCommand {
                        target: ReadTarget::TokenRange { start: lo, end: hi },
                        row_limit: command.row_limit.saturating_sub(rows),
                        resume_after: resume.take(),
                        resume_partition_rows: std::mem::take(&mut resume_rows),
                        ..command.clone()
                    };
                    let replicas = self.replicas(transport, ring, &hosts, &placement.replication);
                    let part = self
                        .read_from(&sub, consistency, transport, ring, &replicas, deadline)
                        .await?;
                    rows += part
                        .items
                        .iter()
                        .filter(|i| matches!(i, Decoded::Row(_)))
                        .count();
                    out.items.extend(part.items);
                    if part.resume_key.is_some() {
                        out.resume_key = part.resume_key;
                        out.resume_partition_rows = part.resume_partition_rows;
                        return Ok(out);
                    }
                }
                Ok(out)
            }
        }
    }

    /// One read from `replicas`: a data request to the nearest contact and digest requests
    /// to the others, one more request to a spare replica if they are slow (speculative
    /// retry); on a mismatch, data from every replica that answered, resolution and
    /// blocking read repair.
    async fn read_from(
        &self,
        command: &ReadCommand,
        consistency: Consistency,
        transport: &Arc<dyn Transport>,
        ring: &Ring,
        replicas: &Replicas,
        deadline: Instant,
    ) -> Result<ReadResult, CoordinatorError> {
        let local_dc = ring.local().dc.clone();
        let plan = replicas.plan(consistency, &local_dc);
        let contacts = plan.read_contacts()?;
        let local = ring.local().host_id;
        let dc_local = matches!(
            consistency,
            Consistency::LocalOne | Consistency::LocalQuorum | Consistency::LocalSerial
        );
        // The spare: the nearest live replica the level counts that is not contacted.
        let spare = (0..replicas.endpoints.len()).find(|i| {
            !contacts.contains(i)
                && replicas.live.get(*i).copied().unwrap_or(false)
                && replicas
                    .replicas
                    .get(*i)
                    .is_some_and(|r| !dc_local || r.dc == local_dc)
        });
        let chosen: Vec<usize> = contacts.iter().copied().chain(spare).collect();
        let endpoints: Vec<&Endpoint> = chosen
            .iter()
            .filter_map(|i| replicas.endpoints.get(*i))
            .collect();
        let chosen_replicas: Vec<Replica> = chosen
            .iter()
            .filter_map(|i| replicas.replicas.get(*i).cloned())
            .collect();
        if let [only] = endpoints.as_slice() {
            if only.host_id == local {
                return self.local.read(command.clone()).await;
            }
        }
        let wire = ReplicaRead::of(command);
        // First round: data from the nearest contact, digests from the others.
        let mut tracker = ReadTracker::new(&plan, &chosen_replicas);
        let requests = (0..endpoints.len())
            .map(|i| match i {
                0 => Some(ReplicaRequest::Data(wire.clone())),
                i if i < contacts.len() => Some(ReplicaRequest::Digest(wire.clone())),
                _ => None,
            })
            .collect();
        let speculation = Speculation {
            after: SPECULATIVE_RETRY_AFTER,
            read: wire.clone(),
        };
        let round = Round {
            transport,
            command,
            local,
            deadline,
        };
        let answers = self
            .ask(
                &round,
                &endpoints,
                requests,
                Some(speculation),
                &mut tracker,
            )
            .await;
        settle(&mut tracker, answers.verdict.clone(), consistency)?;
        let mut data = None;
        let mut digests = Vec::new();
        let mut answered = Vec::new();
        for (i, response) in answers.responses.into_iter().enumerate() {
            match response {
                Some(ReplicaResponse::Data(cells)) => data = Some(cells),
                Some(ReplicaResponse::Digest(d)) => digests.push(d),
                Some(
                    ReplicaResponse::Ack
                    | ReplicaResponse::Promise(_)
                    | ReplicaResponse::Accepted(_),
                )
                | None => continue,
            }
            answered.push(i);
        }
        let Some(data) = data else {
            return Err(CoordinatorError::Internal("read ended without data".into()));
        };
        if digests_agree(&data, &digests) {
            return Ok(decode_cells(command, &data)?);
        }
        // Digest mismatch: every replica that answered sends its cells.
        crate::metrics::global().read_repair_attempted.inc();
        let endpoints: Vec<&Endpoint> = answered
            .iter()
            .filter_map(|i| endpoints.get(*i).copied())
            .collect();
        let contacts: Vec<Replica> = answered
            .iter()
            .filter_map(|i| chosen_replicas.get(*i).cloned())
            .collect();
        let mut tracker = ReadTracker::new(&plan, &contacts);
        let requests = endpoints
            .iter()
            .map(|_| Some(ReplicaRequest::Data(wire.clone())))
            .collect();
        let answers = self
            .ask(&round, &endpoints, requests, None, &mut tracker)
            .await;
        settle(&mut tracker, answers.verdict.clone(), consistency)?;
        // Resolve over the replicas that sent their cells (at least `block_for`).
        let (endpoints, contacts, all): (Vec<&Endpoint>, Vec<Replica>, Vec<ReplicaCells>) = {
            let mut kept = (Vec::new(), Vec::new(), Vec::new());
            for ((endpoint, replica), response) in
                endpoints.iter().zip(&contacts).zip(answers.responses)
            {
                if let Some(ReplicaResponse::Data(cells)) = response {
                    kept.0.push(*endpoint);
                    kept.1.push(replica.clone());
                    kept.2.push(cells);
                }
            }
            kept
        };
        let resolution = resolve_read(command, &all);
        if resolution.needs_repair() {
            crate::metrics::global().read_repair_blocking.inc();
            self.repair(
                command,
                consistency,
                transport,
                &plan,
                &endpoints,
                &contacts,
                &resolution,
                deadline,
            )
            .await?;
        }
        Ok(decode_cells(command, &resolution.merged)?)
    }

    /// Sends each contact the cells it lacks and waits until `block_for` contacts hold the
    /// merge (Cassandra's `BlockingReadRepair`).
    #[allow(clippy::too_many_arguments)]
    async fn repair(
        &self,
        command: &ReadCommand,
        consistency: Consistency,
        transport: &Arc<dyn Transport>,
        plan: &ReplicaPlan<'_>,
        endpoints: &[&Endpoint],
        contacts: &[Replica],
        resolution: &Resolution,
        deadline: Instant,
    ) -> Result<(), CoordinatorError> {
        let mut tracker = repair_tracker(plan, contacts, resolution);
        let mut sends = Sends::default();
        let local = self.ring.current().local().host_id;
        for (i, (endpoint, cells)) in endpoints.iter().zip(&resolution.repairs).enumerate() {
            if cells.is_empty() {
                continue;
            }
            if endpoint.host_id == local {
                let replica = self.local.clone();
                let table = command.table.clone();
                let cells = cells.clone();
                sends.push(i, async move {
                    replica
                        .apply_cells(&table, cells)
                        .await
                        .map(|()| ReplicaResponse::Ack)
                        .map_err(|e| ReplicaError::Failed(e.to_string()))
                });
            } else {
                let request = ReplicaRequest::Write(ReplicaWrite::Cells {
                    table: command.table.def.id,
                    cells: WireCells::from(&ReplicaCells {
                        cells: cells.clone(),
                        complete_through: None,
                    }),
                });
                sends.push(i, transport.send(endpoint, request, deadline));
            }
        }
        let expired = tokio::time::sleep_until(deadline);
        tokio::pin!(expired);
        loop {
            match tracker.verdict() {
                Verdict::Success => return Ok(()),
                Verdict::Pending => {}
                other => {
                    return Err(CoordinatorError::from_read(other, consistency, true));
                }
            }
            let answer = tokio::select! {
                answer = sends.next() => answer,
                () = &mut expired => None,
            };
            match answer {
                Some((i, Ok(_))) => {
                    tracker.on_ack(i);
                }
                Some((i, Err(ReplicaError::Failed(_)))) => {
                    tracker.on_failure(i, FailureReason::Unknown);
                }
                Some((_, Err(ReplicaError::Timeout))) => {}
                // The deadline passed, or every repair answered without `block_for` acks.
                None => {
                    let verdict = tracker.on_deadline().clone();
                    return Err(CoordinatorError::from_read(&verdict, consistency, true));
                }
            }
        }
    }

    /// Sends `requests[i]` to `endpoints[i]` (the local one directly; `None`: a spare,
    /// asked only if `speculation` fires) and feeds each answer to `tracker` until it
    /// decides or the deadline passes. Returns the answers received.
    async fn ask(
        &self,
        round: &Round<'_>,
        endpoints: &[&Endpoint],
        requests: Vec<Option<ReplicaRequest>>,
        speculation: Option<Speculation>,
        tracker: &mut ReadTracker,
    ) -> Answers {
        let Round {
            transport,
            command,
            local,
            deadline,
        } = *round;
        let mut sends = Sends::default();
        let mut spares = Vec::new();
        for (i, request) in requests.into_iter().enumerate() {
            match (request, endpoints.get(i)) {
                (Some(request), Some(endpoint)) => self.send_read(
                    transport, command, local, i, endpoint, request, deadline, &mut sends,
                ),
                (None, Some(_)) => spares.push(i),
                _ => {}
            }
        }
        let mut out = Answers {
            verdict: Verdict::Pending,
            responses: vec![None; endpoints.len()],
        };
        let speculate_at =
            Instant::now() + speculation.as_ref().map_or(Duration::ZERO, |s| s.after);
        let mut speculation = speculation.filter(|_| !spares.is_empty());
        let mut outstanding = endpoints.len() - spares.len();
        // Created once, not per answer: each new timer is a timer wheel entry added and
        // removed.
        let speculate = tokio::time::sleep_until(speculate_at);
        let expired = tokio::time::sleep_until(deadline);
        tokio::pin!(speculate, expired);
        while out.verdict == Verdict::Pending && outstanding > 0 {
            let answer = tokio::select! {
                answer = sends.next() => answer,
                () = &mut speculate, if speculation.is_some() => {
                    // Slow replicas: ask the spare for what is still missing.
                    if let (Some(spec), Some(&i)) = (speculation.take(), spares.first()) {
                        let data_seen = out
                            .responses
                            .iter()
                            .any(|r| matches!(r, Some(ReplicaResponse::Data(_))));
                        let request = match data_seen {
                            true => ReplicaRequest::Digest(spec.read),
                            false => ReplicaRequest::Data(spec.read),
                        };
                        if let Some(endpoint) = endpoints.get(i) {
                            self.send_read(transport, command, local, i, endpoint, request, deadline, &mut sends);
                            outstanding += 1;
                        }
                    }
                    continue;
                }
                () = &mut expired => None,
            };
            let Some((i, result)) = answer else {
                break;
            };
            outstanding -= 1;
            if let Err(ReplicaError::Failed(reason)) = &result {
                tracing::debug!(%reason, "replica failed a read");
            }
            out.verdict = feed(tracker, i, &result);
            if let (Ok(response), Some(slot)) = (result, out.responses.get_mut(i)) {
                *slot = Some(response);
            }
        }
        out
    }

    /// Sends one read request (the local replica's runs directly) whose answer `sends`
    /// gives tagged with `i`.
    #[allow(clippy::too_many_arguments)]
    fn send_read(
        &self,
        transport: &Arc<dyn Transport>,
        command: &ReadCommand,
        local: Uuid,
        i: usize,
        endpoint: &Endpoint,
        request: ReplicaRequest,
        deadline: Instant,
        sends: &mut Sends<usize>,
    ) {
        if endpoint.host_id == local {
            let replica = self.local.clone();
            let command = command.clone();
            let digest_only = matches!(request, ReplicaRequest::Digest(_));
            sends.push(i, async move {
                replica
                    .read_cells(command)
                    .await
                    .map(|cells| match digest_only {
                        true => {
                            ReplicaResponse::Digest(crate::cluster::read_repair::digest(&cells))
                        }
                        false => ReplicaResponse::Data(cells),
                    })
                    .map_err(|e| ReplicaError::Failed(e.to_string()))
            });
        } else {
            sends.push(i, transport.send(endpoint, request, deadline));
        }
    }
}

type ReplicaResult = Result<ReplicaResponse, ReplicaError>;
/// One replica's request, its answer tagged with what the caller knows that replica by.
type TaggedSend<T> = Pin<Box<dyn Future<Output = (T, ReplicaResult)> + Send>>;

/// The requests of one write, read or read repair to its replicas, polled in the coordinator's task
/// while it waits for them (a task spawned per replica cost a spawn, a channel send and a
/// wake-up each). Those still running when it stops waiting (the level was met or cannot
/// be, the deadline passed, or the request was dropped) are handed to one task that runs
/// them to completion, so every live replica still receives a write.
struct Sends<T: Send + 'static> {
    running: FuturesUnordered<TaggedSend<T>>,
}

impl<T: Send + 'static> Default for Sends<T> {
    fn default() -> Sends<T> {
        Sends {
            running: FuturesUnordered::new(),
        }
    }
}

impl<T: Send + 'static> Sends<T> {
    fn push(&mut self, tag: T, send: impl Future<Output = ReplicaResult> + Send + 'static) {
        self.running
            .push(Box::pin(async move { (tag, send.await) }));
    }

    /// The next answer; `None` once every request answered.
    async fn next(&mut self) -> Option<(T, ReplicaResult)> {
        self.running.next().await
    }
}

impl<T: Send + 'static> Drop for Sends<T> {
    fn drop(&mut self) {
        if self.running.is_empty() {
            return;
        }
        let mut rest = std::mem::take(&mut self.running);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { while rest.next().await.is_some() {} });
        }
    }
}

/// What every request of one read shares.
#[derive(Clone, Copy)]
struct Round<'a> {
    transport: &'a Arc<dyn Transport>,
    command: &'a ReadCommand,
    local: Uuid,
    deadline: Instant,
}

/// A read's speculative retry: after `after` without a decision, one more replica is asked.
struct Speculation {
    after: Duration,
    read: ReplicaRead,
}

/// How long a read waits for its contacts before asking a spare replica. Cassandra's
/// default is the table's 99th percentile read latency; a fixed bound well above a loopback
/// or LAN round trip here (no latency percentiles are kept per table yet).
const SPECULATIVE_RETRY_AFTER: Duration = Duration::from_millis(100);

/// Counts contact `i`'s answer; a timeout decides nothing before the deadline.
fn feed(
    tracker: &mut ReadTracker,
    i: usize,
    answer: &Result<ReplicaResponse, ReplicaError>,
) -> Verdict {
    match answer {
        Ok(response) => tracker.on_response(i, matches!(response, ReplicaResponse::Data(_))),
        Err(ReplicaError::Failed(_)) => tracker.on_failure(i, FailureReason::Unknown),
        Err(ReplicaError::Timeout) => tracker.verdict(),
    }
    .clone()
}

/// The outcome of one round of a read: `Pending` means the deadline passed first.
fn settle(
    tracker: &mut ReadTracker,
    verdict: Verdict,
    consistency: Consistency,
) -> Result<(), CoordinatorError> {
    let data_present = tracker.data_present();
    match verdict {
        Verdict::Success => Ok(()),
        Verdict::Pending => Err(CoordinatorError::from_read(
            tracker.on_deadline(),
            consistency,
            data_present,
        )),
        other => Err(CoordinatorError::from_read(
            &other,
            consistency,
            data_present,
        )),
    }
}

/// The answers of one round of a read.
struct Answers {
    verdict: Verdict,
    responses: Vec<Option<ReplicaResponse>>,
}

/// `resolve` for a read in either direction. A reverse read that stopped at a limit knows
/// nothing about keys below its last one (it read downwards), so the trusted part is above
/// the highest such stop: the merge and the repairs keep the partition header and the keys
/// from there up, and the merge resumes there.
fn resolve_read(command: &ReadCommand, responses: &[ReplicaCells]) -> Resolution {
    let ReadTarget::Partition {
        token,
        key,
        reverse: true,
        ..
    } = &command.target
    else {
        return resolve(responses);
    };
    let floor = responses
        .iter()
        .filter_map(|r| r.complete_through.clone())
        .max();
    let unlimited: Vec<ReplicaCells> = responses
        .iter()
        .map(|r| ReplicaCells {
            cells: r.cells.clone(),
            complete_through: None,
        })
        .collect();
    let mut resolution = resolve(&unlimited);
    if let Some(floor) = floor {
        let row_area =
            layout::with_suffix(&layout::partition_prefix(*token, key), &[&[layout::ROW]]);
        let trusted = |k: &Vec<u8>| *k < row_area || *k >= floor;
        resolution.merged.cells.retain(|(k, _)| trusted(k));
        for repair in &mut resolution.repairs {
            repair.retain(|(k, _)| trusted(k));
        }
        resolution.merged.complete_through = Some(floor);
    }
    resolution
}

/// Whether a range ending at `end` lies wholly before `token`.
fn ends_before(end: Bound<i64>, token: i64) -> bool {
    match end {
        Bound::Included(e) => e < token,
        Bound::Excluded(e) => e <= token,
        Bound::Unbounded => false,
    }
}

/// Splits a token range at the ring's tokens, in token order: `(start, end, token)` where
/// `token` lies in the piece and names its replicas (the ring range ending at the first
/// ring token at or after it).
pub(crate) fn split_ranges(
    ring: &Ring,
    start: Bound<i64>,
    end: Bound<i64>,
) -> Vec<(Bound<i64>, Bound<i64>, i64)> {
    let above_start = |t: i64| match start {
        Bound::Included(s) => t >= s,
        Bound::Excluded(s) => t > s,
        Bound::Unbounded => true,
    };
    let below_end = |t: i64| match end {
        Bound::Included(e) | Bound::Excluded(e) => t < e,
        Bound::Unbounded => true,
    };
    let mut out = Vec::new();
    let mut lo = start;
    for (t, _) in ring.tokens() {
        if above_start(t) && below_end(t) {
            out.push((lo, Bound::Included(t), t));
            lo = Bound::Excluded(t);
        }
    }
    let last = match end {
        Bound::Included(e) => e,
        Bound::Excluded(e) => e.saturating_sub(1),
        Bound::Unbounded => i64::MAX,
    };
    out.push((lo, end, last));
    out
}

#[cfg(test)]
mod tests;
