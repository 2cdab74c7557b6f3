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
//! - Compare-and-set (`cas`) and SERIAL reads of one partition are linearizable: on a
//!   single node they are serialised by that partition's lock stripe; once other nodes are
//!   in the ring they are Paxos rounds among the partition's replicas (`paxos`).
//! - Every request is timed here, as Cassandra's StorageProxy does: the `ClientRequest`
//!   latency of its kind and its tables' latencies (`metrics`).

use std::future::Future;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use strata_protocol::{Consistency, WriteType};

use super::command::{Branch, CoordinatorError, ReadCommand, ReadResult, ReadTarget, WriteCommand};
use super::consistency::{ReadTracker, Replica, ReplicaPlan, Replication, WriteTracker};
use super::local::LocalReplica;
use super::replica::Transport;
use super::ring::{Ring, SharedRing};
use crate::metrics;
use crate::storage::PartitionUpdate;

/// How long the coordinator waits for replicas: cassandra.yaml's `write_request_timeout`,
/// `read_request_timeout` (a partition read) and `range_request_timeout` (a read over token
/// ranges), and how long a lightweight transaction contends (`cas_contention_timeout`).
#[derive(Clone, Copy, Debug)]
pub struct Deadlines {
    pub write: Duration,
    pub read: Duration,
    pub range: Duration,
    pub cas_contention: Duration,
}

impl Deadlines {
    /// A scan over token ranges reads range after range (each a replicated read with its
    /// own repairs), so it gets `range_request_timeout` as in Cassandra, not the partition
    /// read's.
    pub fn for_read(&self, target: &ReadTarget) -> Duration {
        match target {
            ReadTarget::Partition { .. } => self.read,
            ReadTarget::TokenRange { .. } => self.range,
        }
    }
}

/// Runs `operation` for at most `deadline`; `None` when the deadline passed first. Most
/// local operations complete on their first poll, and those never arm a timer (a timer per
/// request would cost the single-node path for nothing).
async fn within<F: Future>(deadline: Duration, operation: F) -> Option<F::Output> {
    let mut operation = std::pin::pin!(operation);
    let first = std::future::poll_fn(|cx| Poll::Ready(operation.as_mut().poll(cx))).await;
    match first {
        Poll::Ready(output) => Some(output),
        Poll::Pending => tokio::time::timeout(deadline, operation).await.ok(),
    }
}

/// Lightweight transactions of one partition serialise on one of these stripes.
const CAS_LOCK_STRIPES: usize = 256;

pub struct Coordinator {
    ring: SharedRing,
    /// The local node's host id (its counter shard), fixed for the process's life.
    host_id: uuid::Uuid,
    cas_locks: Vec<tokio::sync::Mutex<()>>,
    local: Arc<LocalReplica>,
    /// This node as a replica of every token (one node owns the ring).
    local_replica: Replica,
    deadlines: Deadlines,
    /// Benchmark baseline: acknowledge writes and answer reads without storage.
    null_storage: bool,
    /// The other replicas, once the node's messaging and gossip run (`connect`). Until
    /// then, and while the ring holds only this node, every replica is the local one.
    transport: std::sync::OnceLock<Arc<dyn Transport>>,
}

impl Coordinator {
    pub fn new(
        ring: SharedRing,
        local: Arc<LocalReplica>,
        deadlines: Deadlines,
        null_storage: bool,
    ) -> Coordinator {
        let cas_locks = (0..CAS_LOCK_STRIPES)
            .map(|_| tokio::sync::Mutex::new(()))
            .collect();
        let current = ring.current();
        let local_replica = Replica {
            address: current.local().address,
            dc: current.local().dc.clone(),
        };
        Coordinator {
            host_id: current.local().host_id,
            ring,
            cas_locks,
            local,
            local_replica,
            deadlines,
            null_storage,
            transport: std::sync::OnceLock::new(),
        }
    }

    /// Connects the coordinator to the other replicas (once; later calls are ignored).
    pub fn connect(&self, transport: Arc<dyn Transport>) {
        let _ = self.transport.set(transport);
    }

    /// The transport when the data path spans nodes: other nodes are in the ring and the
    /// transport is connected. `None` is the single-node fast path.
    fn cluster(&self) -> Option<(&Arc<dyn Transport>, Arc<Ring>)> {
        let transport = self.transport.get()?;
        let ring = self.ring.current();
        (ring.len() > 1).then_some((transport, ring))
    }

    /// How this node reaches the other replicas (`None` until `connect`).
    pub fn transport(&self) -> Option<&Arc<dyn Transport>> {
        self.transport.get()
    }

    /// The current ring (a snapshot: membership publishes changes as new rings).
    pub fn ring(&self) -> Arc<Ring> {
        self.ring.current()
    }

    pub fn shared_ring(&self) -> &SharedRing {
        &self.ring
    }

    pub fn local(&self) -> &Arc<LocalReplica> {
        &self.local
    }

    /// Applies a write on the replicas of its partitions and waits for `consistency`.
    pub async fn mutate(
        &self,
        command: WriteCommand,
        consistency: Consistency,
    ) -> Result<(), CoordinatorError> {
        let _latency = metrics::global().client_requests.write.start_timer();
        if let Some((transport, ring)) = self.cluster() {
            if !self.null_storage && command.tables.iter().all(|t| t.branch == Branch::Main) {
                // Boxed: its replica fan-out state would grow the single-node write's
                // future, which is moved whole into the connection's set.
                return Box::pin(self.mutate_replicated(command, consistency, transport, &ring))
                    .await;
            }
        }
        let replication = self.local_replication(
            consistency,
            command
                .tables
                .iter()
                .filter(|t| t.branch == Branch::Main)
                .map(|t| t.table.def.keyspace.as_str()),
        )?;
        if self.null_storage {
            return Ok(());
        }
        let counter = command
            .tables
            .iter()
            .any(|t| t.updates.iter().any(PartitionUpdate::has_counter_adds));
        // Histogram handles (reference counted, no allocation for a one-table write).
        let first = command
            .tables
            .first()
            .map(|t| t.table.metrics.write.clone());
        let others: Vec<_> = command
            .tables
            .iter()
            .skip(1)
            .map(|t| t.table.metrics.write.clone())
            .collect();
        let started = Instant::now();
        let apply = self
            .local
            .apply(command, self.counter_shard(), crate::clock::now_secs());
        let result = match within(self.deadlines.write, apply).await {
            Some(result) => result,
            None => {
                let write_type = if counter {
                    WriteType::Counter
                } else {
                    WriteType::Simple
                };
                let mut tracker =
                    WriteTracker::new(&self.local_plan(consistency, &replication), write_type);
                Err(CoordinatorError::from_write(
                    tracker.on_deadline(),
                    consistency,
                    write_type,
                ))
            }
        };
        let seconds = started.elapsed().as_secs_f64();
        first.iter().chain(&others).for_each(|h| h.observe(seconds));
        result
    }

    /// Compare-and-set on the partition with `token`: reads `read`, lets `decide` choose
    /// the write (if any) from what it saw and the timestamp to write at, and applies that
    /// write. `decide` runs on the coordinator, as Cassandra evaluates conditions between
    /// the Paxos read and propose phases. On one node all of it runs under the partition's
    /// lock, so no other `cas` or SERIAL read of the partition interleaves; once other
    /// nodes are in the ring it is a Paxos round among the partition's replicas at
    /// `serial` (`coordinator::paxos`; `decide` may then run once per contended attempt),
    /// committed at `commit` (the statement's consistency).
    pub async fn cas<T, E: From<CoordinatorError>>(
        &self,
        token: i64,
        read: ReadCommand,
        serial: Consistency,
        commit: Consistency,
        mut decide: impl FnMut(ReadResult, i64) -> Result<(Option<WriteCommand>, T), E> + Send,
    ) -> Result<T, E> {
        let _latency = metrics::global().client_requests.cas_write.start_timer();
        if let Some((transport, ring)) = self.cluster() {
            if !self.null_storage && read.branch == Branch::Main {
                // Boxed for the reason `mutate` gives.
                let cas = self.cas_replicated(read, serial, commit, &mut decide, transport, &ring);
                return Box::pin(cas).await;
            }
        }
        self.local_replication(serial, [read.table.def.keyspace.as_str()])?;
        let _guard = self.cas_lock(token).lock().await;
        let current = if self.null_storage {
            ReadResult::default()
        } else {
            self.local.read(read).await?
        };
        // Later transactions on the partition get later timestamps, as Paxos ballots do.
        let (write, answer) = decide(current, crate::clock::next_micros())?;
        if let Some(command) = write.filter(|_| !self.null_storage) {
            self.local
                .apply(command, self.counter_shard(), crate::clock::now_secs())
                .await?;
        }
        Ok(answer)
    }

    // In bounds: `CAS_LOCK_STRIPES` (non-zero) locks, and the index is taken modulo their
    // count.
    #[allow(clippy::indexing_slicing)]
    fn cas_lock(&self, token: i64) -> &tokio::sync::Mutex<()> {
        let index = (token as u64 % self.cas_locks.len().max(1) as u64) as usize;
        &self.cas_locks[index]
    }

    /// This node's counter shard id: its host id (see ARCHITECTURE.md, "Counters").
    fn counter_shard(&self) -> Vec<u8> {
        self.host_id.as_bytes().to_vec()
    }

    /// Reads from enough replicas for `consistency` and reconciles their answers.
    pub async fn read(
        &self,
        command: ReadCommand,
        consistency: Consistency,
    ) -> Result<ReadResult, CoordinatorError> {
        // A SERIAL read of one partition must not observe half of a compare-and-set.
        let serial_partition = match (&command.target, consistency) {
            (
                ReadTarget::Partition { token, .. },
                Consistency::Serial | Consistency::LocalSerial,
            ) => Some(*token),
            _ => None,
        };
        let client = &metrics::global().client_requests;
        let (client_latency, table_latency) = match (&command.target, serial_partition) {
            (ReadTarget::TokenRange { .. }, _) => {
                (&client.range_slice, &command.table.metrics.range)
            }
            (ReadTarget::Partition { .. }, Some(_)) => {
                (&client.cas_read, &command.table.metrics.read)
            }
            (ReadTarget::Partition { .. }, None) => (&client.read, &command.table.metrics.read),
        };
        let _latency = client_latency.start_timer();
        let table_latency = table_latency.clone();
        if let Some((transport, ring)) = self.cluster() {
            if !self.null_storage && command.branch == Branch::Main {
                let _table_latency = table_latency.start_timer();
                // Boxed for the reason `mutate` gives.
                return match serial_partition {
                    Some(_) => {
                        let read =
                            self.serial_read_replicated(command, consistency, transport, &ring);
                        Box::pin(read).await
                    }
                    None => {
                        Box::pin(self.read_replicated(command, consistency, transport, &ring)).await
                    }
                };
            }
        }
        let keyspace =
            (command.branch == Branch::Main).then_some(command.table.def.keyspace.as_str());
        let replication = self.local_replication(consistency, keyspace)?;
        if self.null_storage {
            return Ok(ReadResult::default());
        }
        let _guard = match serial_partition {
            Some(token) => Some(self.cas_lock(token).lock().await),
            None => None,
        };
        let _table_latency = table_latency.start_timer();
        let deadline = self.deadlines.for_read(&command.target);
        match within(deadline, self.local.read(command)).await {
            Some(result) => result,
            None => {
                let plan = self.local_plan(consistency, &replication);
                let mut tracker = ReadTracker::new(&plan, plan.replicas);
                Err(CoordinatorError::from_read(
                    tracker.on_deadline(),
                    consistency,
                    false,
                ))
            }
        }
    }

    /// `Unavailable` unless this node alone (the whole ring, or node-local data) meets
    /// `consistency` for every replicated keyspace of `keyspaces`; else the replication
    /// the level counts (the one needing most acks, for a timeout's `block_for`). The
    /// levels count the keyspace's factor, not the nodes there are, so RF 3 on one node
    /// is Unavailable at QUORUM and ALL as in Cassandra, never a silent success.
    /// Node-local data and unknown keyspaces have one replica. Levels one live replica
    /// meets whatever the factor skip the schema lookup (the single-node fast path).
    fn local_replication<'k>(
        &self,
        consistency: Consistency,
        keyspaces: impl IntoIterator<Item = &'k str>,
    ) -> Result<Replication, CoordinatorError> {
        let one_suffices = matches!(
            consistency,
            Consistency::Any
                | Consistency::One
                | Consistency::LocalOne
                | Consistency::Serial
                | Consistency::LocalSerial
        );
        let mut counted = Replication::Simple(1);
        // This node is one live replica in its own DC: enough for these levels whatever
        // the factor, so the single-node read and write skip the plan altogether.
        if one_suffices {
            return Ok(counted);
        }
        let plan = self.local_plan(consistency, &counted);
        plan.check_available()?;
        let mut most = plan.block_for();
        let Some(transport) = self.transport.get() else {
            return Ok(counted);
        };
        for options in keyspaces
            .into_iter()
            .filter_map(|k| transport.replication(k))
        {
            let replication = Replication::from_options(&options);
            let plan = self.local_plan(consistency, &replication);
            plan.check_available()?;
            if plan.block_for() > most {
                most = plan.block_for();
                counted = replication;
            }
        }
        Ok(counted)
    }

    /// The replica plan of every token while this node is the whole ring.
    fn local_plan<'a>(
        &'a self,
        consistency: Consistency,
        replication: &'a Replication,
    ) -> ReplicaPlan<'a> {
        ReplicaPlan {
            consistency,
            replication,
            local_dc: &self.local_replica.dc,
            replicas: std::slice::from_ref(&self.local_replica),
            live: &[true],
        }
    }
}

mod paxos;
mod replicated;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::consistency::Verdict;
    use crate::error::CqlError;
    use strata_protocol::ErrorKind;

    #[tokio::test]
    async fn a_deadline_ends_an_operation_that_does_not_finish() {
        let deadline = Duration::from_millis(20);
        assert_eq!(within(deadline, async { 7 }).await, Some(7));
        assert_eq!(within(deadline, std::future::pending::<u8>()).await, None);
        let slow = tokio::time::sleep(Duration::from_millis(1));
        assert_eq!(within(Duration::from_secs(5), slow).await, Some(()));
    }

    #[test]
    fn timeouts_reach_the_client_with_their_counts() {
        let verdict = Verdict::Timeout {
            received: 0,
            block_for: 1,
        };
        let write = CoordinatorError::from_write(&verdict, Consistency::One, WriteType::Counter);
        let body = CqlError::from(write).to_body();
        assert_eq!(
            body.kind,
            ErrorKind::WriteTimeout {
                consistency: Consistency::One,
                received: 0,
                block_for: 1,
                write_type: WriteType::Counter,
                contentions: None
            }
        );
        assert_eq!(
            body.message,
            "Operation timed out - received only 0 responses."
        );
        let read = CoordinatorError::from_read(&verdict, Consistency::Quorum, false);
        let body = CqlError::from(read).to_body();
        assert_eq!(
            body.kind,
            ErrorKind::ReadTimeout {
                consistency: Consistency::Quorum,
                received: 0,
                block_for: 1,
                data_present: false
            }
        );
    }
}
