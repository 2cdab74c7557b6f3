//! Server-side write pipeline. A write is first appended on the requesting task's own
//! thread (`Engine::try_append`: a memtable insert and a WAL buffer copy, which never waits
//! for background work). In periodic sync mode the task then hands the record to the OS
//! itself (`Engine::wait_durable`) and is done; in batch mode it queues the ticket for the
//! durability thread, which waits for each appended group to become durable (one
//! group-commit fsync covers every record appended before it) and acknowledges it.
//!
//! Writes `try_append` declines (the memtable is about to fill, whose rotation fsyncs the
//! WAL segment, or flushes are behind) go to a dedicated writer thread
//! (`WRITER_THREADS`) that may block: it drains queued writes and appends each drained
//! group as one engine write (one WAL record, `Engine::append`), then acknowledges it
//! (periodic) or passes it to the durability thread (batch).
//!
//! Why: handing every request to tokio's blocking pool costs two thread wake-ups and a
//! contended pool mutex per write, which dominated CPU per write in the server benchmark;
//! a writer thread still costs a hand-off and a wake-up each way (periodic mode, 7-round
//! A/B: 16.2 µs of server CPU per write through the writer thread, 15.5 appending in
//! place; 67.6k vs 70.6k writes/s). Appending in place keeps
//! blocking off the async workers: only the writer thread ever waits for a flush or a
//! segment fsync. Splitting append from the durability wait keeps appends going while an
//! fsync runs, instead of sleeping through it.
//!
//! Invariants:
//! - A statement's mutations are one engine append (alone, or contiguous and in order inside
//!   a writer group), so a statement is applied atomically (one WAL record).
//! - If a group write fails, each of its jobs is retried alone, so one job's error (e.g.
//!   a write to a version dropped concurrently) is reported only to that job.
//! - A job is acknowledged only after `wait_durable` of the group holding it succeeded.
//! - The queues are bounded (`QUEUE_JOBS` jobs, `QUEUE_GROUPS` appended groups); submitters
//!   and writers wait when they are full.
//! - A group holds at most `GROUP_BYTES` of mutations (below the WAL record limit).
//! - The pipeline exists only with all its threads running: `start` fails if one cannot
//!   be spawned, rather than accept writes nothing would drain.

use std::cell::RefCell;
use std::sync::{Arc, Mutex};
use std::task::Poll;

use futures_util::{Stream, StreamExt};

use strata_engine::{Engine, Error as EngineError, Mutation, SyncMode, WriteTicket};
use tokio::sync::{mpsc, oneshot};

/// Writes waiting for a writer thread.
const QUEUE_JOBS: usize = 4096;
/// Appended groups waiting for the durability thread.
const QUEUE_GROUPS: usize = 1024;
/// Upper bound of one combined engine write.
const GROUP_BYTES: usize = 4 << 20;
/// Threads appending groups. One: appending is a memtable insert and a buffer copy, and
/// the fsync wait is off the writer (batch mode: the durability thread), so a second
/// writer only made groups smaller and added wake-ups. A/B on 2 cores, 64 writes in
/// flight, two runs each: periodic 77.3k/77.2k writes/s with one writer vs 64.0k (two
/// writers, same code) and 70.6k/68.1k (two writers, before the durability thread);
/// batch 58.2k/63.3k vs 57.0k and 53.6k/56.7k.
const WRITER_THREADS: usize = 1;

type Reply = oneshot::Sender<Result<(), EngineError>>;

tokio::task_local! {
    /// Set while a caller that sends its acknowledgements itself polls its writes
    /// (`with_deferred_handoff`): what those writes owe before they are acknowledged.
    static HANDOFF_OWED: RefCell<Deferred>;
}

/// What the writes appended in place inside one `with_deferred_handoff` poll owe.
#[derive(Default)]
pub struct Deferred {
    /// Periodic mode: the newest ticket whose commit-log record is still in the engine's
    /// buffer. `Handoff::complete` hands every buffered record to the OS; the caller does so
    /// before it sends any acknowledgement.
    pub handoff: Option<Handoff>,
    /// Batch mode: the writes waiting for a group-commit fsync, as one group for the
    /// durability thread. They complete only once it is submitted.
    pub durability: Option<DurabilityGroup>,
}

/// Periodic mode: the commit-log hand-off owed by writes appended in a deferred scope.
pub struct Handoff {
    engine: Arc<Engine>,
    /// The newest ticket: `wait_durable` of it hands every earlier record over too.
    ticket: WriteTicket,
}

impl Handoff {
    /// Hands every record up to the ticket to the OS. If that fails the writes it covers
    /// must not be acknowledged.
    pub fn complete(self) -> Result<(), EngineError> {
        self.engine.wait_durable(self.ticket)
    }

    /// Adds a later scope's hand-off to what `owed` already holds (of the same engine: a
    /// caller serves one node).
    pub fn absorb(owed: &mut Option<Handoff>, later: Option<Handoff>) {
        if let Some(later) = later {
            match owed {
                Some(held) if held.ticket >= later.ticket => {}
                _ => *owed = Some(later),
            }
        }
    }
}

/// Polls `running` (requests whose acknowledgements the caller sends itself) once, inside
/// `with_deferred_handoff`: the next result ready now, if any. What the writes of that poll
/// owe is settled here: the hand-off is added to `handoff` (completed by the caller before
/// its next socket write), a batch-mode group is submitted at once. `FuturesUnordered`
/// polls each woken future at most once per call, so this returns even if one keeps
/// waking itself.
pub async fn next_ready<S: Stream + Unpin>(
    running: &mut S,
    handoff: &mut Option<Handoff>,
) -> Option<S::Item> {
    let (ready, owed) = std::future::poll_fn(|cx| {
        let (polled, owed) = with_deferred_handoff(|| running.poll_next_unpin(cx));
        let ready = match polled {
            Poll::Ready(Some(item)) => Some(item),
            Poll::Ready(None) | Poll::Pending => None,
        };
        Poll::Ready((ready, owed))
    })
    .await;
    Handoff::absorb(handoff, owed.handoff);
    if let Some(group) = owed.durability {
        group.submit().await;
    }
    ready
}

/// Batch-mode writes appended in place during one poll, gathered so that one fsync, one
/// queue send and one wake-up of the durability thread serve them all.
pub struct DurabilityGroup {
    queue: mpsc::Sender<Appended>,
    appended: Appended,
}

impl DurabilityGroup {
    /// Hands the group to the durability thread, which acknowledges its writes once an
    /// fsync covers them. If that thread is gone the group's writes fail (`Closed`).
    pub async fn submit(self) {
        let _ = self.queue.send(self.appended).await;
    }
}

/// Runs `poll` so that the writes appended in place inside it defer what they owe to the
/// caller, which sends their acknowledgements itself (the CQL connection):
/// - periodic mode: the commit-log records stay in the engine's buffer; the caller must
///   pass `Deferred::handoff` to `Engine::wait_durable` (handing every buffered record to
///   the OS) before it sends any acknowledgement, so a burst of writes costs one `write()`
///   of the commit log instead of one per request;
/// - batch mode: the writes wait for durability as one group; the caller must
///   `submit` `Deferred::durability` right after the poll. Why: handed to the durability
///   thread one by one, the first write of a burst woke that thread, which (on the same
///   core) started an fsync covering only the writes appended so far, and the rest of the
///   burst waited for a second fsync.
///
/// Callers that do not use this (counters, the writer thread) are unaffected. The CQL
/// connection and the internode connection use it through `next_ready`.
pub fn with_deferred_handoff<R>(poll: impl FnOnce() -> R) -> (R, Deferred) {
    HANDOFF_OWED.sync_scope(RefCell::default(), || {
        let result = poll();
        (result, HANDOFF_OWED.with(RefCell::take))
    })
}

struct Job {
    mutations: Vec<Mutation>,
    done: Reply,
}

/// A group appended to the engine, with the replies owed once it is durable.
struct Appended {
    ticket: WriteTicket,
    replies: Vec<Reply>,
}

pub struct WritePipeline {
    engine: Arc<Engine>,
    /// Writes for the writer thread.
    queue: mpsc::Sender<Job>,
    /// Batch mode: appended records for the durability thread.
    durability: Option<mpsc::Sender<Appended>>,
}

/// Starts a named thread running the body (`std::thread::Builder::spawn`, injectable
/// so tests can make it fail).
type Spawn = fn(String, Box<dyn FnOnce() + Send>) -> std::io::Result<()>;

impl WritePipeline {
    pub fn start(engine: Arc<Engine>) -> std::io::Result<WritePipeline> {
        WritePipeline::start_with(engine, spawn_thread)
    }

    fn start_with(engine: Arc<Engine>, spawn: Spawn) -> std::io::Result<WritePipeline> {
        let (queue, receiver) = mpsc::channel(QUEUE_JOBS);
        let receiver = Arc::new(Mutex::new(receiver));
        let durability = matches!(engine.sync_mode(), SyncMode::Batch).then(|| {
            let (appended, durability_queue) = mpsc::channel(QUEUE_GROUPS);
            let engine = engine.clone();
            spawn(
                "strata-durability".into(),
                Box::new(move || durability_loop(&engine, durability_queue)),
            )?;
            Ok::<_, std::io::Error>(appended)
        });
        // A missing thread would leave writes queued forever: refuse to start instead.
        // Threads already running end once the queues they read are dropped with this.
        let durability = durability.transpose()?;
        for i in 0..WRITER_THREADS {
            let engine = engine.clone();
            let receiver = receiver.clone();
            let durability = durability.clone();
            spawn(
                format!("strata-writer-{i}"),
                Box::new(move || writer_loop(&engine, &receiver, durability.as_ref())),
            )?;
        }
        Ok(WritePipeline {
            engine,
            queue,
            durability,
        })
    }

    /// Applies `mutations` atomically and durably (per the engine's sync mode).
    pub async fn write(&self, mutations: Vec<Mutation>) -> Result<(), EngineError> {
        let Some(ticket) = self.engine.try_append(&mutations)? else {
            return answer(|done| self.queue.send(Job { mutations, done })).await;
        };
        let deferred = HANDOFF_OWED.try_with(|_| ()).is_ok();
        match &self.durability {
            // In periodic mode `wait_durable` of the newest ticket hands every earlier
            // record to the OS too, so an older owed ticket may be dropped.
            None if deferred => HANDOFF_OWED.with(|owed| {
                let handoff = &mut owed.borrow_mut().handoff;
                match handoff {
                    Some(held) if Arc::ptr_eq(&held.engine, &self.engine) => {
                        if ticket > held.ticket {
                            held.ticket = ticket;
                        }
                    }
                    // Tickets of two engines do not compare (in-process test clusters
                    // write to several in one poll): the other engine's write hands its
                    // own record over.
                    Some(_) => return self.engine.wait_durable(ticket),
                    None => {
                        *handoff = Some(Handoff {
                            engine: self.engine.clone(),
                            ticket,
                        })
                    }
                }
                Ok(())
            }),
            None => self.engine.wait_durable(ticket),
            Some(queue) if deferred => {
                let (done, result) = oneshot::channel();
                HANDOFF_OWED.with(|owed| {
                    let group = &mut owed.borrow_mut().durability;
                    match group {
                        // One fsync covering the greatest ticket covers the whole group.
                        Some(DurabilityGroup { appended, .. }) => {
                            if ticket > appended.ticket {
                                appended.ticket = ticket;
                            }
                            appended.replies.push(done);
                        }
                        None => {
                            *group = Some(DurabilityGroup {
                                queue: queue.clone(),
                                appended: Appended {
                                    ticket,
                                    replies: vec![done],
                                },
                            })
                        }
                    }
                });
                result.await.map_err(|_| EngineError::Closed)?
            }
            Some(queue) => {
                answer(|done| {
                    queue.send(Appended {
                        ticket,
                        replies: vec![done],
                    })
                })
                .await
            }
        }
    }
}

/// Queues a job carrying a reply channel (`enqueue` gets its sender) and awaits the reply.
async fn answer<F, E>(enqueue: impl FnOnce(Reply) -> F) -> Result<(), EngineError>
where
    F: std::future::Future<Output = Result<(), E>>,
{
    let (done, result) = oneshot::channel();
    enqueue(done).await.map_err(|_| EngineError::Closed)?;
    result.await.map_err(|_| EngineError::Closed)?
}

fn spawn_thread(name: String, body: Box<dyn FnOnce() + Send>) -> std::io::Result<()> {
    std::thread::Builder::new().name(name).spawn(body).map(drop)
}

/// `durability`: the durability thread's queue (batch mode); without it the writer
/// acknowledges its own groups.
fn writer_loop(
    engine: &Engine,
    receiver: &Mutex<mpsc::Receiver<Job>>,
    durability: Option<&mpsc::Sender<Appended>>,
) {
    loop {
        let Some(group) = next_group(receiver) else {
            return;
        };
        let Some(appended) = append_group(engine, group) else {
            continue;
        };
        match durability {
            Some(queue) => {
                if queue.blocking_send(appended).is_err() {
                    return;
                }
            }
            None => acknowledge(engine, appended),
        }
    }
}

/// Acknowledges appended groups, in append order, as they become durable.
fn durability_loop(engine: &Engine, mut appended: mpsc::Receiver<Appended>) {
    while let Some(group) = appended.blocking_recv() {
        acknowledge(engine, group);
    }
}

fn acknowledge(engine: &Engine, Appended { ticket, replies }: Appended) {
    match engine.wait_durable(ticket) {
        Ok(()) => replies.into_iter().for_each(|done| {
            let _ = done.send(Ok(()));
        }),
        // The engine refuses all writes after a failed sync; each job hears why.
        Err(e) => replies.into_iter().for_each(|done| {
            let _ = done.send(Err(EngineError::Poisoned(e.to_string())));
        }),
    }
}

/// Waits for one job, then takes whatever else is queued up to `GROUP_BYTES`.
fn next_group(receiver: &Mutex<mpsc::Receiver<Job>>) -> Option<Vec<Job>> {
    let mut receiver = receiver.lock().unwrap_or_else(|e| e.into_inner());
    let first = receiver.blocking_recv()?;
    let mut bytes = job_bytes(&first);
    let mut group = vec![first];
    while bytes < GROUP_BYTES {
        match receiver.try_recv() {
            Ok(job) => {
                bytes += job_bytes(&job);
                group.push(job);
            }
            Err(_) => break,
        }
    }
    Some(group)
}

fn job_bytes(job: &Job) -> usize {
    job.mutations
        .iter()
        .map(|m| m.key.len() + 32 + cell_bytes(&m.cell))
        .sum()
}

fn cell_bytes(cell: &strata_engine::Cell) -> usize {
    match &cell.value {
        strata_engine::CellValue::Live(v) => v.len(),
        strata_engine::CellValue::Tombstone { .. } => 0,
    }
}

/// Appends the group as one engine write. On failure each job is written alone and
/// answered here (so only the job at fault hears its error); then nothing is left to
/// wait for.
fn append_group(engine: &Engine, group: Vec<Job>) -> Option<Appended> {
    let mut lengths = Vec::with_capacity(group.len());
    let mut replies = Vec::with_capacity(group.len());
    let mut combined = Vec::with_capacity(group.iter().map(|j| j.mutations.len()).sum());
    for job in group {
        lengths.push(job.mutations.len());
        replies.push(job.done);
        combined.extend(job.mutations);
    }
    match engine.append(&combined) {
        Ok(ticket) => Some(Appended { ticket, replies }),
        Err(e) if replies.len() == 1 => {
            if let Some(done) = replies.pop() {
                let _ = done.send(Err(e));
            }
            None
        }
        Err(_) => {
            let mut rest = combined.as_slice();
            for (len, done) in lengths.into_iter().zip(replies) {
                // The lengths add up to `combined`'s: each job gets exactly its mutations.
                let (mutations, tail) = rest.split_at(len.min(rest.len()));
                let _ = done.send(engine.write(mutations));
                rest = tail;
            }
            None
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Arc;

    use futures_util::FutureExt;
    use strata_engine::{
        Cell, Engine, MemStorage, Mutation, Options, Storage, SyncMode, SystemClock, ROOT_VERSION,
    };

    use super::WritePipeline;

    fn engine(sync: SyncMode) -> Arc<Engine> {
        let options = Options {
            sync,
            background_threads: false,
            ..Options::default()
        };
        Arc::new(
            Engine::open(Arc::new(MemStorage::new()), options, Arc::new(SystemClock))
                .expect("engine"),
        )
    }

    #[test]
    fn a_thread_that_cannot_start_refuses_the_pipeline() {
        fn failing(_: String, _: Box<dyn FnOnce() + Send>) -> std::io::Result<()> {
            Err(std::io::Error::new(
                std::io::ErrorKind::WouldBlock,
                "no more threads",
            ))
        }
        for sync in [
            SyncMode::Batch,
            SyncMode::Periodic {
                interval_ms: 10_000,
            },
        ] {
            assert!(
                WritePipeline::start_with(engine(sync.clone()), failing).is_err(),
                "{sync:?}"
            );
        }
    }

    /// Bytes of the commit log handed to the storage so far.
    pub(crate) fn wal_bytes(storage: &MemStorage) -> u64 {
        let names = storage.list().expect("list");
        names
            .iter()
            .filter(|n| n.ends_with(".wal"))
            .map(|n| storage.len(n).expect("len"))
            .sum()
    }

    /// A periodic-mode engine (a 10 s sync period: no sync during a test) on memory storage.
    pub(crate) fn periodic_engine() -> (Arc<MemStorage>, Arc<Engine>) {
        let storage = Arc::new(MemStorage::new());
        let options = Options {
            sync: SyncMode::Periodic {
                interval_ms: 10_000,
            },
            background_threads: false,
            ..Options::default()
        };
        let engine = Arc::new(
            Engine::open(storage.clone(), options, Arc::new(SystemClock)).expect("engine"),
        );
        (storage, engine)
    }

    #[tokio::test]
    async fn a_deferred_handoff_leaves_records_buffered_until_the_owed_ticket_is_waited_for() {
        let (storage, engine) = periodic_engine();
        let pipeline = WritePipeline::start(engine.clone()).expect("pipeline");
        let version = engine.clone_version(ROOT_VERSION).expect("branch");
        let write = |i: u8| {
            pipeline.write(vec![Mutation {
                version,
                key: vec![b'k', i],
                cell: Cell::live(1, vec![i]),
            }])
        };
        let before = wal_bytes(&storage);
        // Two writes inside the scope: acknowledged (Ready), visible, not yet in the log.
        let (done, owed) =
            super::with_deferred_handoff(|| [write(1).now_or_never(), write(2).now_or_never()]);
        assert!(matches!(done, [Some(Ok(())), Some(Ok(()))]), "{done:?}");
        assert!(engine.get(version, b"k\x02").expect("get").is_some());
        assert_eq!(wal_bytes(&storage), before, "records handed off too early");
        // One wait for the owed (newest) ticket hands both records over.
        owed.handoff
            .expect("a ticket owed")
            .complete()
            .expect("hand-off");
        let both = wal_bytes(&storage);
        assert!(both > before);
        // Outside the scope a write hands its own record over before it completes.
        write(3).await.expect("write");
        assert!(wal_bytes(&storage) > both);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_are_applied_in_either_sync_mode() {
        for sync in [
            SyncMode::Batch,
            SyncMode::Periodic {
                interval_ms: 10_000,
            },
        ] {
            let engine = engine(sync.clone());
            let pipeline = Arc::new(WritePipeline::start(engine.clone()).expect("pipeline"));
            let version = engine.clone_version(ROOT_VERSION).expect("branch");
            let writes: Vec<_> = (0..64u8)
                .map(|i| {
                    let pipeline = pipeline.clone();
                    let mutation = Mutation {
                        version,
                        key: vec![b'k', i],
                        cell: Cell::live(1, vec![i]),
                    };
                    tokio::spawn(async move { pipeline.write(vec![mutation]).await })
                })
                .collect();
            for write in writes {
                write.await.expect("task").expect("write");
            }
            for i in 0..64u8 {
                let cell = engine
                    .get(version, &[b'k', i])
                    .expect("get")
                    .expect("written");
                assert_eq!(cell, Cell::live(1, vec![i]), "{sync:?}");
            }
            // A write to a frozen version fails alone, reported to its writer only.
            let frozen = Mutation {
                version: ROOT_VERSION,
                key: b"x".to_vec(),
                cell: Cell::live(1, vec![]),
            };
            assert!(pipeline.write(vec![frozen]).await.is_err());
        }
    }

    /// Batch mode: writes polled inside one deferred scope reach the durability thread as
    /// one group, only when the caller submits it, so the first write of a burst cannot
    /// start an fsync that the rest of the burst misses. Method: the durability thread is
    /// held back, so its queue shows what was sent: nothing before the submit, one group
    /// after; then the threads run and every write of the group completes.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn batch_writes_of_one_poll_wait_for_durability_as_one_group() {
        let engine = engine(SyncMode::Batch);
        let pipeline = WritePipeline::start_with(engine.clone(), held_spawn).expect("pipeline");
        let version = engine.clone_version(ROOT_VERSION).expect("branch");
        let mut writes: Vec<_> = (0..32u8)
            .map(|i| {
                Box::pin(pipeline.write(vec![Mutation {
                    version,
                    key: vec![b'k', i],
                    cell: Cell::live(1, vec![i]),
                }]))
            })
            .collect();
        let (polled, owed) = super::with_deferred_handoff(|| {
            writes
                .iter_mut()
                .map(|w| w.as_mut().now_or_never())
                .collect::<Vec<_>>()
        });
        assert!(
            polled.iter().all(Option::is_none),
            "acknowledged before durable"
        );
        let queue = pipeline.durability.as_ref().expect("batch mode");
        let queued = || super::QUEUE_GROUPS - queue.capacity();
        assert_eq!(
            queued(),
            0,
            "a write reached the durability thread on its own"
        );
        assert!(owed.handoff.is_none());
        owed.durability.expect("a group owed").submit().await;
        assert_eq!(queued(), 1);
        for body in take_held() {
            std::thread::spawn(body);
        }
        for write in writes {
            write.await.expect("write");
        }
        assert!(engine.get(version, b"k\x1f").expect("get").is_some());
    }

    std::thread_local! {
        /// Thread bodies held back by `held_spawn` until the test has queued its writes
        /// (per test thread: tests run in parallel, and a test's body is polled on its own).
        static HELD: std::cell::RefCell<Vec<Box<dyn FnOnce() + Send>>> =
            const { std::cell::RefCell::new(Vec::new()) };
    }

    fn held_spawn(_: String, body: Box<dyn FnOnce() + Send>) -> std::io::Result<()> {
        HELD.with(|held| held.borrow_mut().push(body));
        Ok(())
    }

    fn take_held() -> Vec<Box<dyn FnOnce() + Send>> {
        HELD.with(|held| held.take())
    }

    /// Writes the engine cannot take in place (each is as large as the memtable) queue for
    /// the writer, which appends the whole queue as one group. One job of the group writes to
    /// a frozen version: the group fails, each job is retried alone, and only that job
    /// fails, without any of its mutations applied (a job is one atomic append).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_job_in_a_group_fails_alone_and_atomically() {
        let options = Options {
            sync: SyncMode::Periodic {
                interval_ms: 10_000,
            },
            background_threads: false,
            memtable_bytes: 4096,
            ..Options::default()
        };
        let engine = Arc::new(
            Engine::open(Arc::new(MemStorage::new()), options, Arc::new(SystemClock))
                .expect("engine"),
        );
        let pipeline =
            Arc::new(WritePipeline::start_with(engine.clone(), held_spawn).expect("pipeline"));
        let version = engine.clone_version(ROOT_VERSION).expect("branch");
        let put = |version, key: Vec<u8>| Mutation {
            version,
            key,
            cell: Cell::live(1, vec![1; 4096]),
        };
        let bad = 5u8;
        let writes: Vec<_> = (0..10u8)
            .map(|i| {
                let mut job = vec![put(version, vec![b'a', i]), put(version, vec![b'b', i])];
                if i == bad {
                    job.push(put(ROOT_VERSION, vec![b'x']));
                }
                let pipeline = pipeline.clone();
                tokio::spawn(async move { pipeline.write(job).await })
            })
            .collect();
        // Nothing drains the queue yet: every write waits there for the writer.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        assert!(
            writes.iter().all(|w| !w.is_finished()),
            "a write finished without the writer thread"
        );
        let bodies = take_held();
        assert_eq!(bodies.len(), 1, "one writer thread, no durability thread");
        for body in bodies {
            std::thread::spawn(body);
        }
        for (i, write) in writes.into_iter().enumerate() {
            let result = write.await.expect("task");
            assert_eq!(
                result.is_err(),
                i == usize::from(bad),
                "job {i}: {result:?}"
            );
        }
        for i in 0..10u8 {
            for prefix in [b'a', b'b'] {
                let cell = engine.get(version, &[prefix, i]).expect("get");
                assert_eq!(cell.is_some(), i != bad, "key {prefix}{i}");
            }
        }
    }
}
