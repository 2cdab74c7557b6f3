//! Internode messaging on `storage_port` (7000): request/response and one-way messages
//! between nodes over framed TCP.
//!
//! # API (what the coordinator and the replicas use)
//!
//! ```ignore
//! let messaging = Messaging::bind(MessagingConfig::new(cluster_name, host_id, listen)).await?;
//! // Serve a verb: the handler gets the raw payload and answers bytes or an error text.
//! messaging.register(Verb::Ping, |inbound: Inbound| async move { Ok(inbound.payload) });
//! // Ask a peer; typed payloads go through `encode`/`decode` (postcard).
//! let response = messaging.send_request(peer, Verb::Ping, encode(&request), deadline).await?;
//! let answer: MyAnswer = decode(&response.payload)?;
//! // Or in one call:
//! let answer: MyAnswer = messaging.request(peer, Verb::Ping, &request, deadline).await?;
//! ```
//!
//! - A peer is its internode address (`broadcast_address:storage_port`, `Endpoint::address`
//!   plus the port). Connections are opened lazily on the first message and re-opened with
//!   exponential backoff (50 ms to 1 s) while messages wait in the queue.
//! - `deadline` bounds the whole exchange: the caller gets `MessagingError::Timeout` at the
//!   deadline (`send_request`; `send_request_swept`, without a timer per message, up to
//!   `SWEEP_INTERVAL` after it) whatever happened on the wire (a lost connection
//!   included), except that a
//!   request of a `Verb::fails_fast` verb fails with `Unreachable` as soon as a connection
//!   attempt to its peer fails (it was never sent), and the receiver
//!   drops a request whose deadline (sent as wall-clock milliseconds, so clocks must be
//!   synchronised as in Cassandra) passed before it is handled.
//! - Every message carries the sender's cluster-metadata epoch (`set_epoch`); handlers see
//!   it in `Inbound::epoch`, callers in `Response::epoch`.
//! - Three connections per peer (`Link`): urgent (verbs that must not wait behind data,
//!   `Verb::is_urgent`), small, and large (payloads over `large_message_bytes`). Each link
//!   queues at most `queue_bytes` of unsent messages; beyond that a send fails at once with
//!   `Overloaded` (Cassandra's per-endpoint outbound limit) instead of buffering without
//!   bound. Responses travel back on the connection that carried the request.
//! - The handshake checks the cluster name and negotiates the messaging version; a peer of
//!   another cluster is refused and its requests time out.
//! - Handlers run on the task of the connection that brought their request, at most
//!   `max_inflight_per_connection` at once: they must not block the thread (blocking work
//!   goes to `spawn_blocking`, as a replica's range scan does). What a burst queues on a
//!   link goes out in one socket write, and so do the responses ready together.
//! - Connections come from a `Network` (`network.rs`): `Tcp` (`Messaging::bind`) in
//!   production, an in-memory one in the whole-node simulation (`Messaging::bind_on`).
//!
//! Verbs are added to `Verb` (a stable `u16` each: the number is the wire format).

mod frame;
mod network;

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use futures_util::future::CatchUnwind;
use futures_util::stream::FuturesUnordered;
use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot, watch, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tokio_util::codec::{Decoder, Framed, FramedRead, LengthDelimitedCodec};
use uuid::Uuid;

use super::write_pipeline::{next_ready, Handoff};

pub use frame::{decode, encode, FrameError, Link};
use frame::{Header, Hello, HelloReply, Kind};
pub use network::{Connection, Listener, Network, ReadHalf, Tcp, WriteHalf};

/// A message type. The discriminant is the wire value and must never change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u16)]
#[non_exhaustive]
pub enum Verb {
    /// Echoes its payload (liveness checks, tests).
    Ping = 0,
    /// Metadata log (`cluster::metadata`): openraft's append-entries RPC.
    MetadataAppend = 40,
    /// Metadata log: openraft's vote RPC.
    MetadataVote = 41,
    /// Metadata log: one chunk of a snapshot.
    MetadataSnapshot = 42,
    /// Metadata log: a schema change for the leader to append.
    MetadataPropose = 43,
    /// Metadata log: a node asks to be added to the group.
    MetadataJoin = 44,
    /// Metadata log: answers once the node applied the given index (schema agreement).
    MetadataWaitApplied = 45,
    /// Metadata log: the members' applied positions after a schema change.
    MetadataAgreed = 46,
    /// Metadata log: the leader takes a removed node out of the group.
    MetadataRemove = 47,
    /// Metadata log: a starting node asks whether a group exists and what it says of the
    /// node (removed, or its address taken by another host).
    MetadataStatus = 48,
    /// A write or read repair for a replica (`cluster::replica::ReplicaWrite`).
    Mutation = 1,
    /// A replica's raw cells for a read (`cluster::replica::ReplicaRead`).
    ReadData = 2,
    /// The digest of a replica's answer to a read.
    ReadDigest = 3,
    /// TRUNCATE of a table (by id) on the receiving node.
    Truncate = 4,
    /// Paxos prepare of a partition (`cluster::replica::PaxosRequest`): a promise or not.
    PaxosPrepare = 5,
    /// Paxos propose: accepted or not.
    PaxosPropose = 6,
    /// Paxos commit: the update applied and the commit recorded (ack).
    PaxosCommit = 7,
    /// `nodetool removenode`: the receiving node fetches the ranges it gains
    /// (`cluster::streaming`) and answers when they are all applied.
    StreamRanges = 8,
}

impl Verb {
    fn from_wire(value: u16) -> Option<Verb> {
        match value {
            0 => Some(Verb::Ping),
            40 => Some(Verb::MetadataAppend),
            41 => Some(Verb::MetadataVote),
            42 => Some(Verb::MetadataSnapshot),
            43 => Some(Verb::MetadataPropose),
            44 => Some(Verb::MetadataJoin),
            45 => Some(Verb::MetadataWaitApplied),
            46 => Some(Verb::MetadataAgreed),
            47 => Some(Verb::MetadataRemove),
            48 => Some(Verb::MetadataStatus),
            1 => Some(Verb::Mutation),
            2 => Some(Verb::ReadData),
            3 => Some(Verb::ReadDigest),
            4 => Some(Verb::Truncate),
            5 => Some(Verb::PaxosPrepare),
            6 => Some(Verb::PaxosPropose),
            7 => Some(Verb::PaxosCommit),
            8 => Some(Verb::StreamRanges),
            _ => None,
        }
    }

    /// Requests of these verbs fail at once (`Unreachable`) while their peer cannot be
    /// connected to, instead of waiting in the queue for a reconnection until their
    /// deadline: their callers ask another node (the next metadata leader) or go on without
    /// the peer (schema agreement), and a request never written to a connection cannot have
    /// been acted on, so asking elsewhere cannot apply a proposal twice.
    pub fn fails_fast(self) -> bool {
        matches!(
            self,
            Verb::MetadataPropose
                | Verb::MetadataJoin
                | Verb::MetadataWaitApplied
                | Verb::MetadataAgreed
                | Verb::MetadataRemove
                | Verb::MetadataStatus
        )
    }

    /// Verbs on the urgent link: small control messages that must not queue behind data.
    pub fn is_urgent(self) -> bool {
        // Raft heartbeats and votes must not wait behind data, or leaders would be
        // deposed under load.
        matches!(self, Verb::Ping | Verb::MetadataAppend | Verb::MetadataVote)
    }
}

#[derive(Clone, Debug)]
pub struct MessagingConfig {
    pub cluster_name: String,
    pub host_id: Uuid,
    /// Where to listen, and the address peers know this node by.
    pub listen: SocketAddr,
    /// Unsent bytes allowed per link per peer.
    pub queue_bytes: usize,
    /// Payloads above this go on the large link.
    pub large_message_bytes: usize,
    /// Largest frame accepted or sent.
    pub max_message_bytes: usize,
    /// Requests handled at once per inbound connection (then the socket is not read).
    pub max_inflight_per_connection: usize,
}

impl MessagingConfig {
    pub fn new(
        cluster_name: impl Into<String>,
        host_id: Uuid,
        listen: SocketAddr,
    ) -> MessagingConfig {
        MessagingConfig {
            cluster_name: cluster_name.into(),
            host_id,
            listen,
            // Cassandra's internode_application_send_queue_reserve_endpoint_capacity (128 MiB)
            // is per endpoint over all links; a third of it per link, rounded.
            queue_bytes: 32 << 20,
            // Cassandra's large-message threshold.
            large_message_bytes: 64 << 10,
            max_message_bytes: 256 << 20,
            max_inflight_per_connection: 1024,
        }
    }
}

#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum MessagingError {
    #[error("request timed out")]
    Timeout,
    #[error("outbound queue to {0} is full")]
    Overloaded(SocketAddr),
    #[error("message of {0} bytes exceeds the internode message size limit")]
    TooLarge(usize),
    /// The peer's handler failed (or does not know the verb); its message.
    #[error("remote error: {0}")]
    Remote(String),
    #[error("undecodable message: {0}")]
    Decode(String),
    #[error("messaging is shut down")]
    Shutdown,
    /// The peer cannot be connected to (a `Verb::fails_fast` request, never sent).
    #[error("cannot connect to {0}")]
    Unreachable(SocketAddr),
}

/// A request or one-way message as a handler receives it.
#[derive(Debug)]
pub struct Inbound {
    /// The sender's internode address (from its handshake).
    pub from: SocketAddr,
    pub host_id: Uuid,
    pub verb: Verb,
    pub epoch: u64,
    pub payload: Bytes,
}

#[derive(Debug)]
pub struct Response {
    pub payload: Bytes,
    /// The responder's cluster-metadata epoch.
    pub epoch: u64,
}

pub type HandlerFuture = Pin<Box<dyn Future<Output = Result<Bytes, String>> + Send>>;
type Handler = Arc<dyn Fn(Inbound) -> HandlerFuture + Send + Sync>;
type Callback = oneshot::Sender<Result<Response, MessagingError>>;

/// A request waiting for its response: whom to hand it to, and until when.
struct Waiting {
    callback: Callback,
    deadline: Instant,
}

const MIN_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(1);
/// Bound on connecting plus the handshake, so a black-holed peer does not stall its link.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Frames gathered into one socket write, outbound (messages a burst queued on one link)
/// and inbound (responses ready together). Cassandra's internode buffers are 64 KiB too.
const COALESCE_BYTES: usize = 64 << 10;
/// How often the waiting requests are swept for expired deadlines: the latest a request
/// sent without a timer of its own (`send_request_swept`) learns of its timeout, and how
/// long past its deadline a callback outlives a caller that went away.
const SWEEP_INTERVAL: Duration = Duration::from_millis(50);

/// The messaging service of one node. Cheap to clone.
#[derive(Clone)]
pub struct Messaging {
    inner: Arc<Inner>,
}

struct Inner {
    config: MessagingConfig,
    /// TCP, or the simulation's in-memory network.
    network: Arc<dyn Network>,
    local_addr: SocketAddr,
    epoch: AtomicU64,
    next_id: AtomicU64,
    handlers: RwLock<HashMap<Verb, Handler>>,
    callbacks: Mutex<HashMap<u64, Waiting>>,
    links: Mutex<HashMap<(SocketAddr, Link), Outbound>>,
    /// Outbound counts per link kind, over every peer.
    counters: Counters,
    shutdown: watch::Sender<bool>,
}

/// Outbound messages of one link kind over every peer (Cassandra's per-connection-type
/// `InternodeOutboundMetrics`, summed): queued and not yet written, written, and dropped
/// (expired before they could be written, refused over the queue's budget, or lost with
/// their connection).
#[derive(Default)]
struct LinkCounters {
    pending: AtomicU64,
    completed: AtomicU64,
    dropped: AtomicU64,
}

/// A snapshot of one link kind's outbound counts (`nodetool netstats`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkStats {
    pub pending: u64,
    pub completed: u64,
    pub dropped: u64,
}

#[derive(Default)]
struct Counters {
    urgent: LinkCounters,
    small: LinkCounters,
    large: LinkCounters,
}

struct Outbound {
    queue: mpsc::UnboundedSender<Outgoing>,
    budget: Arc<Semaphore>,
    /// The link's last connection attempt failed and none succeeded since.
    down: Arc<std::sync::atomic::AtomicBool>,
}

struct Outgoing {
    header: Header,
    payload: Bytes,
    /// The request's id, failed at once while the link is down (`Verb::fails_fast`).
    fail_fast: Option<u64>,
    /// Bytes of the link's queue budget this message holds until written.
    permit: OwnedSemaphorePermit,
}

impl Messaging {
    /// Listens on `config.listen` (TCP) and serves inbound connections until `shutdown`.
    pub async fn bind(config: MessagingConfig) -> std::io::Result<Messaging> {
        Messaging::bind_on(config, Arc::new(Tcp)).await
    }

    /// `bind` on `network` (the simulation passes an in-memory one).
    pub async fn bind_on(
        config: MessagingConfig,
        network: Arc<dyn Network>,
    ) -> std::io::Result<Messaging> {
        let listener = network.bind(config.listen).await?;
        let local_addr = listener.local_addr()?;
        let (shutdown, _) = watch::channel(false);
        let inner = Arc::new(Inner {
            config,
            network,
            local_addr,
            epoch: AtomicU64::new(0),
            next_id: AtomicU64::new(1),
            handlers: RwLock::default(),
            callbacks: Mutex::default(),
            links: Mutex::default(),
            counters: Default::default(),
            shutdown,
        });
        tokio::spawn(accept_loop(inner.clone(), listener));
        tokio::spawn(sweep_expired(inner.clone()));
        Ok(Messaging { inner })
    }

    /// The bound address (the configured one, with the actual port when it was 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.inner.local_addr
    }

    pub fn set_epoch(&self, epoch: u64) {
        self.inner.epoch.store(epoch, Ordering::Relaxed);
    }

    pub fn epoch(&self) -> u64 {
        self.inner.epoch.load(Ordering::Relaxed)
    }

    /// The outbound counts of `link`'s connections to every peer.
    pub fn link_stats(&self, link: Link) -> LinkStats {
        let counters = self.inner.counters(link);
        LinkStats {
            pending: counters.pending.load(Ordering::Relaxed),
            completed: counters.completed.load(Ordering::Relaxed),
            dropped: counters.dropped.load(Ordering::Relaxed),
        }
    }

    /// Serves `verb` with `handler` (replacing any earlier one). Its answer goes back to
    /// the requester; an `Err` arrives there as `MessagingError::Remote`.
    pub fn register<F, Fut>(&self, verb: Verb, handler: F)
    where
        F: Fn(Inbound) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Bytes, String>> + Send + 'static,
    {
        let handler: Handler = Arc::new(move |inbound| Box::pin(handler(inbound)));
        self.inner
            .handlers
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(verb, handler);
    }

    /// Sends a request and waits for its response until `deadline`.
    pub async fn send_request(
        &self,
        peer: SocketAddr,
        verb: Verb,
        payload: Bytes,
        deadline: Instant,
    ) -> Result<Response, MessagingError> {
        let pending = self.send_request_swept(peer, verb, payload, deadline)?;
        tokio::time::timeout_at(deadline, pending)
            .await
            .unwrap_or(Err(MessagingError::Timeout))
    }

    /// Sends a request whose response the returned future gives, without a timer of its
    /// own: past `deadline` the shared sweep answers `Timeout` (at most `SWEEP_INTERVAL`
    /// late). For callers that bound their wait themselves, as the coordinator does with
    /// one deadline for all of a request's replicas: a timer per message cost a timer
    /// wheel registration and removal each.
    pub fn send_request_swept(
        &self,
        peer: SocketAddr,
        verb: Verb,
        payload: Bytes,
        deadline: Instant,
    ) -> Result<PendingResponse, MessagingError> {
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let (callback, response) = oneshot::channel();
        self.inner
            .lock_callbacks()
            .insert(id, Waiting { callback, deadline });
        // Removes the callback however the request ends (answered, swept, or dropped).
        let pending = PendingResponse {
            response,
            guard: PendingGuard {
                inner: self.inner.clone(),
                id,
                answered: false,
            },
        };
        self.inner
            .enqueue(peer, Kind::Request, id, verb, payload, deadline)?;
        Ok(pending)
    }

    /// `send_request` with postcard-encoded request and response types.
    pub async fn request<Req, Resp>(
        &self,
        peer: SocketAddr,
        verb: Verb,
        request: &Req,
        deadline: Instant,
    ) -> Result<Resp, MessagingError>
    where
        Req: serde::Serialize,
        Resp: for<'de> serde::Deserialize<'de>,
    {
        let response = self
            .send_request(peer, verb, encode(request), deadline)
            .await?;
        decode(&response.payload).map_err(|e| MessagingError::Decode(e.to_string()))
    }

    /// Sends a message that gets no response (dropped by the receiver after `deadline`).
    pub fn send_one_way(
        &self,
        peer: SocketAddr,
        verb: Verb,
        payload: Bytes,
        deadline: Instant,
    ) -> Result<(), MessagingError> {
        self.inner
            .enqueue(peer, Kind::OneWay, 0, verb, payload, deadline)
    }

    /// Stops accepting, closes every connection and fails pending requests.
    pub fn shutdown(&self) {
        self.inner.shutdown.send_replace(true);
        self.inner.lock_links().clear();
        self.inner.lock_callbacks().clear();
    }
}

/// A request's response to come (`send_request_swept`).
pub struct PendingResponse {
    response: oneshot::Receiver<Result<Response, MessagingError>>,
    guard: PendingGuard,
}

impl Future for PendingResponse {
    type Output = Result<Response, MessagingError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let result = std::task::ready!(self.response.poll_unpin(cx));
        // Whoever sent the result took the callback out of the map already.
        self.guard.answered = true;
        Poll::Ready(result.unwrap_or(Err(MessagingError::Shutdown)))
    }
}

struct PendingGuard {
    inner: Arc<Inner>,
    id: u64,
    answered: bool,
}

impl Drop for PendingGuard {
    fn drop(&mut self) {
        if !self.answered {
            self.inner.lock_callbacks().remove(&self.id);
        }
    }
}

impl Inner {
    fn counters(&self, link: Link) -> &LinkCounters {
        match link {
            Link::Urgent => &self.counters.urgent,
            Link::Small => &self.counters.small,
            Link::Large => &self.counters.large,
        }
    }

    fn lock_callbacks(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Waiting>> {
        self.callbacks.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn lock_links(&self) -> std::sync::MutexGuard<'_, HashMap<(SocketAddr, Link), Outbound>> {
        self.links.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn enqueue(
        self: &Arc<Self>,
        peer: SocketAddr,
        kind: Kind,
        id: u64,
        verb: Verb,
        payload: Bytes,
        deadline: Instant,
    ) -> Result<(), MessagingError> {
        if *self.shutdown.borrow() {
            return Err(MessagingError::Shutdown);
        }
        let len = payload.len() + frame::HEADER_LEN;
        if len > self.config.max_message_bytes || len > self.config.queue_bytes {
            return Err(MessagingError::TooLarge(len));
        }
        let link = if verb.is_urgent() {
            Link::Urgent
        } else if payload.len() > self.config.large_message_bytes {
            Link::Large
        } else {
            Link::Small
        };
        let remaining = deadline.saturating_duration_since(Instant::now());
        let expires_at_ms = crate::clock::now_millis() as u64 + remaining.as_millis() as u64;
        let header = Header {
            kind,
            id,
            verb: verb as u16,
            epoch: self.epoch.load(Ordering::Relaxed),
            expires_at_ms,
        };
        let mut links = self.lock_links();
        let outbound = links.entry((peer, link)).or_insert_with(|| {
            let (queue, rx) = mpsc::unbounded_channel();
            let budget = Arc::new(Semaphore::new(self.config.queue_bytes));
            let down = Arc::default();
            tokio::spawn(run_link(self.clone(), peer, link, rx, Arc::clone(&down)));
            Outbound {
                queue,
                budget,
                down,
            }
        });
        let counters = self.counters(link);
        let fail_fast = (kind == Kind::Request && verb.fails_fast()).then_some(id);
        if fail_fast.is_some() && outbound.down.load(Ordering::Relaxed) {
            counters.dropped.fetch_add(1, Ordering::Relaxed);
            return Err(MessagingError::Unreachable(peer));
        }
        let Ok(permit) = outbound.budget.clone().try_acquire_many_owned(len as u32) else {
            counters.dropped.fetch_add(1, Ordering::Relaxed);
            return Err(MessagingError::Overloaded(peer));
        };
        counters.pending.fetch_add(1, Ordering::Relaxed);
        outbound
            .queue
            .send(Outgoing {
                header,
                payload,
                fail_fast,
                permit,
            })
            .map_err(|_| {
                counters.pending.fetch_sub(1, Ordering::Relaxed);
                MessagingError::Shutdown
            })
    }

    /// Fails a waiting request at once (it was never sent).
    fn fail(&self, id: u64, error: MessagingError) {
        if let Some(waiting) = self.lock_callbacks().remove(&id) {
            let _ = waiting.callback.send(Err(error));
        }
    }

    /// A response arrived: hand it to its waiting request, if that is still waiting.
    fn complete(&self, header: Header, payload: Bytes) {
        let Some(waiting) = self.lock_callbacks().remove(&header.id) else {
            return;
        };
        let result = match header.kind {
            Kind::Response => Ok(Response {
                payload,
                epoch: header.epoch,
            }),
            _ => Err(MessagingError::Remote(
                String::from_utf8_lossy(&payload).into_owned(),
            )),
        };
        let _ = waiting.callback.send(result);
    }

    fn codec(&self) -> LengthDelimitedCodec {
        LengthDelimitedCodec::builder()
            .max_frame_length(self.config.max_message_bytes)
            .new_codec()
    }

    fn hello(&self, link: Link) -> Hello {
        Hello {
            magic: frame::MAGIC,
            min_version: frame::MIN_VERSION,
            max_version: frame::MAX_VERSION,
            cluster_name: self.config.cluster_name.clone(),
            host_id: self.config.host_id,
            listen: self.local_addr,
            link,
        }
    }
}

/// Fails the requests whose deadline passed with `Timeout`, every `SWEEP_INTERVAL`: one
/// timer for every waiting request of the node, and the bound on how long a callback stays
/// in the map (its deadline plus the interval) whatever its caller does.
async fn sweep_expired(inner: Arc<Inner>) {
    let mut shutdown = inner.shutdown.subscribe();
    let mut ticks = tokio::time::interval(SWEEP_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut expired = Vec::new();
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stopped(&mut shutdown) => return,
        }
        let now = Instant::now();
        expired.extend(
            inner
                .lock_callbacks()
                .extract_if(|_, waiting| waiting.deadline <= now)
                .map(|(_, waiting)| waiting.callback),
        );
        // Answered outside the lock: each send may wake its caller.
        for callback in expired.drain(..) {
            let _ = callback.send(Err(MessagingError::Timeout));
        }
    }
}

/// One outbound link to one peer: connects (again) as needed and writes queued messages;
/// a reader task takes the responses that come back on the same connection (reading and
/// writing never wait on each other, so neither side's buffers can deadlock the link).
/// Messages queued while a write was under way go out together in the next one
/// (`take_batch`), so a burst costs one `write()` and one wake-up of this task, not one
/// per message.
async fn run_link(
    inner: Arc<Inner>,
    peer: SocketAddr,
    link: Link,
    mut queue: mpsc::UnboundedReceiver<Outgoing>,
    down: Arc<std::sync::atomic::AtomicBool>,
) {
    let mut shutdown = inner.shutdown.subscribe();
    let mut backoff = MIN_BACKOFF;
    // Messages taken off the queue while the link was down, sent first once it is up.
    let mut held: VecDeque<Outgoing> = Default::default();
    let mut batch = Batch::default();
    loop {
        let framed = match tokio::time::timeout(CONNECT_TIMEOUT, connect(&inner, peer, link)).await
        {
            Ok(Ok(framed)) => framed,
            failed => {
                let error = failed.map_or_else(
                    |_| "timed out".to_string(),
                    |r| r.err().map(|e| e.to_string()).unwrap_or_default(),
                );
                tracing::debug!(%peer, ?link, error, "internode connection failed");
                down.store(true, Ordering::Relaxed);
                // Fail-fast requests waiting for this connection fail now; the others wait.
                while let Ok(message) = queue.try_recv() {
                    match message.fail_fast {
                        Some(id) => {
                            let counters = inner.counters(link);
                            counters.pending.fetch_sub(1, Ordering::Relaxed);
                            counters.dropped.fetch_add(1, Ordering::Relaxed);
                            inner.fail(id, MessagingError::Unreachable(peer));
                        }
                        None => held.push_back(message),
                    }
                }
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = stopped(&mut shutdown) => return,
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        backoff = MIN_BACKOFF;
        down.store(false, Ordering::Relaxed);
        let parts = framed.into_parts();
        let (read_half, mut write_half) = parts.io.into_split();
        let mut responses = FramedRead::new(read_half, inner.codec());
        *responses.read_buffer_mut() = parts.read_buf;
        let reader_inner = inner.clone();
        let mut reader = tokio::spawn(async move {
            while let Some(Ok(frame)) = responses.next().await {
                match Header::decode(frame.freeze()) {
                    Ok((header, payload)) => reader_inner.complete(header, payload),
                    Err(_) => return,
                }
            }
        });
        loop {
            tokio::select! {
                message = next_message(&mut held, &mut queue) => {
                    let Some(message) = message else {
                        reader.abort();
                        return;
                    };
                    let counters = inner.counters(link);
                    let now_ms = crate::clock::now_millis() as u64;
                    let (taken, expired) = batch.take(message, &mut held, &mut queue, now_ms);
                    counters.pending.fetch_sub(taken, Ordering::Relaxed);
                    counters.dropped.fetch_add(expired, Ordering::Relaxed);
                    let written = batch.permits.len() as u64;
                    let sent = write_half.write_all(&batch.out).await;
                    batch.clear();
                    if sent.is_err() {
                        counters.dropped.fetch_add(written, Ordering::Relaxed);
                        break;
                    }
                    counters.completed.fetch_add(written, Ordering::Relaxed);
                }
                _ = &mut reader => break,
                _ = stopped(&mut shutdown) => {
                    reader.abort();
                    return;
                }
            }
        }
        reader.abort();
    }
}

/// Frames gathered for one socket write: what a burst queued, up to `COALESCE_BYTES`
/// (then written, and the rest follows in the next write).
#[derive(Default)]
struct Batch {
    out: BytesMut,
    /// The written messages' shares of the link's queue budget, held until the write
    /// completes, so the budget bounds everything not yet handed to the socket.
    permits: Vec<OwnedSemaphorePermit>,
}

impl Batch {
    /// Adds `first`, then the messages held or queued behind it (in order, without
    /// waiting) until `out` reaches `COALESCE_BYTES` or nothing is left; expired ones are
    /// dropped. Returns how many messages were taken off the queue and how many of them
    /// had expired.
    fn take(
        &mut self,
        first: Outgoing,
        held: &mut VecDeque<Outgoing>,
        queue: &mut mpsc::UnboundedReceiver<Outgoing>,
        now_ms: u64,
    ) -> (u64, u64) {
        let (mut taken, mut expired) = (0, 0);
        let mut next = Some(first);
        while let Some(message) = next {
            taken += 1;
            if message.header.expired(now_ms) {
                expired += 1;
            } else {
                message.header.put_frame(&message.payload, &mut self.out);
                self.permits.push(message.permit);
            }
            if self.out.len() >= COALESCE_BYTES {
                break;
            }
            next = held.pop_front().or_else(|| queue.try_recv().ok());
        }
        (taken, expired)
    }

    /// Releases what the last write sent (and the buffer a large message grew).
    fn clear(&mut self) {
        self.out.clear();
        shrink(&mut self.out);
        self.permits.clear();
    }
}

/// Gives a buffer that grew past `COALESCE_BYTES` (a large message) back to the
/// allocator, so an idle connection does not hold the largest frame it ever carried.
fn shrink(buffer: &mut BytesMut) {
    if buffer.capacity() > 2 * COALESCE_BYTES {
        *buffer = BytesMut::new();
    }
}

/// The next message to write: those held while the link was down first, then the queue.
async fn next_message(
    held: &mut VecDeque<Outgoing>,
    queue: &mut mpsc::UnboundedReceiver<Outgoing>,
) -> Option<Outgoing> {
    match held.pop_front() {
        Some(message) => Some(message),
        None => queue.recv().await,
    }
}

#[derive(Debug, thiserror::Error)]
enum ConnectError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Frame(#[from] FrameError),
    #[error("peer closed the connection during the handshake")]
    Closed,
    #[error("refused by peer: {0}")]
    Rejected(String),
    #[error("commit log hand-off failed: {0}")]
    CommitLog(String),
}

async fn connect(
    inner: &Inner,
    peer: SocketAddr,
    link: Link,
) -> Result<Framed<Connection, LengthDelimitedCodec>, ConnectError> {
    let stream = inner.network.connect(peer).await?;
    let mut framed = Framed::new(stream, inner.codec());
    framed.send(encode(&inner.hello(link))).await?;
    let reply = framed.next().await.ok_or(ConnectError::Closed)??;
    match decode::<HelloReply>(&reply)? {
        HelloReply::Accept { .. } => Ok(framed),
        HelloReply::Reject { reason } => {
            tracing::warn!(%peer, reason, "internode handshake refused");
            Err(ConnectError::Rejected(reason))
        }
    }
}

async fn accept_loop(inner: Arc<Inner>, mut listener: Box<dyn Listener>) {
    let mut shutdown = inner.shutdown.subscribe();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopped(&mut shutdown) => return,
        };
        match accepted {
            Ok(stream) => {
                let inner = inner.clone();
                tokio::spawn(async move {
                    if let Err(error) = serve_connection(inner, stream).await {
                        tracing::debug!(%error, "internode connection closed");
                    }
                });
            }
            Err(error) => {
                tracing::warn!(%error, "internode accept failed");
                tokio::time::sleep(MIN_BACKOFF).await;
            }
        }
    }
}

/// An inbound connection: the handshake, then requests handled concurrently (at most
/// `max_inflight_per_connection`) with their responses written back in completion order.
///
/// Handlers run inside this task (a `FuturesUnordered`), not a task each, as the CQL
/// connection runs its requests: a replica's write or partition read completes on its
/// first poll, so the requests one socket read brings are handled at once and every
/// response ready by then goes out in one socket write, after one commit-log hand-off for
/// the writes among them (`cluster::next_ready`).
async fn serve_connection(inner: Arc<Inner>, stream: Connection) -> Result<(), ConnectError> {
    let mut framed = Framed::new(stream, inner.codec());
    let hello_frame = tokio::time::timeout(CONNECT_TIMEOUT, framed.next())
        .await
        .map_err(|_| ConnectError::Closed)?
        .ok_or(ConnectError::Closed)??;
    let hello: Hello = decode(&hello_frame)?;
    let reply = hello.answer(&inner.config.cluster_name, inner.config.host_id);
    framed.send(encode(&reply)).await?;
    if let HelloReply::Reject { reason } = reply {
        tracing::warn!(peer = %hello.listen, reason, "refused internode connection");
        return Err(ConnectError::Rejected(reason));
    }
    let parts = framed.into_parts();
    let (read_half, write_half) = parts.io.into_split();
    let connection = InboundConnection {
        codec: inner.codec(),
        inner,
        peer: (hello.listen, hello.host_id),
        write_half,
        out: BytesMut::new(),
        handoff: None,
    };
    connection.run(parts.read_buf, read_half).await
}

/// One inbound connection after its handshake.
struct InboundConnection {
    inner: Arc<Inner>,
    /// The peer's internode address and host id (from its handshake).
    peer: (SocketAddr, Uuid),
    codec: LengthDelimitedCodec,
    write_half: WriteHalf,
    /// Responses encoded and not yet written.
    out: BytesMut,
    /// The commit-log hand-off the writes answered in `out` owe before it is written.
    handoff: Option<Handoff>,
}

impl InboundConnection {
    async fn run(
        mut self,
        mut input: BytesMut,
        mut read_half: ReadHalf,
    ) -> Result<(), ConnectError> {
        let max_inflight = self.inner.config.max_inflight_per_connection.max(1);
        let mut shutdown = self.inner.shutdown.subscribe();
        let mut running = FuturesUnordered::new();
        let mut eof = false;
        loop {
            // Buffered frames are started only while a slot is free; handlers that finish
            // at once free theirs for the next buffered frames before anything is written.
            loop {
                let full = self.start_buffered(&mut input, &mut running, max_inflight)?;
                self.collect_ready(&mut running).await?;
                if !full || running.len() >= max_inflight {
                    break;
                }
            }
            // A hand-off is owed without a response too: a one-way message's writes, or a
            // long handler's (a range stream applies pages before it answers).
            if !self.out.is_empty() || self.handoff.is_some() {
                self.flush().await?;
            }
            if eof && running.is_empty() {
                return Ok(());
            }
            tokio::select! {
                read = read_half.read_buf(&mut input), if !eof && running.len() < max_inflight => {
                    eof = read? == 0;
                }
                Some(answer) = running.next(), if !running.is_empty() => self.encode(answer),
                _ = stopped(&mut shutdown) => return Ok(()),
            }
        }
    }

    /// Decodes and starts buffered requests until none is complete or every slot is
    /// taken; true in the second case (frames may still wait in `input`).
    fn start_buffered(
        &mut self,
        input: &mut BytesMut,
        running: &mut FuturesUnordered<Handling>,
        max_inflight: usize,
    ) -> Result<bool, ConnectError> {
        while running.len() < max_inflight {
            let Some(frame) = self.codec.decode(input)? else {
                return Ok(false);
            };
            let (header, payload) = Header::decode(frame.freeze())?;
            if header.expired(crate::clock::now_millis() as u64)
                || !matches!(header.kind, Kind::Request | Kind::OneWay)
            {
                continue;
            }
            running.push(self.start(header, payload));
        }
        Ok(true)
    }

    fn start(&self, header: Header, payload: Bytes) -> Handling {
        let handler = Verb::from_wire(header.verb).and_then(|verb| {
            self.inner
                .handlers
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .get(&verb)
                .cloned()
                .map(|h| (verb, h))
        });
        let future = match handler {
            Some((verb, handler)) => handler(Inbound {
                from: self.peer.0,
                host_id: self.peer.1,
                verb,
                epoch: header.epoch,
                payload,
            }),
            None => {
                let unknown = format!("unknown verb {}", header.verb);
                Box::pin(async move { Err(unknown) })
            }
        };
        Handling {
            header,
            future: AssertUnwindSafe(future).catch_unwind(),
        }
    }

    /// Polls the woken handlers once each and encodes every response that is ready; they
    /// are written together by the next flush (sooner past `COALESCE_BYTES`).
    async fn collect_ready(
        &mut self,
        running: &mut FuturesUnordered<Handling>,
    ) -> Result<(), ConnectError> {
        while let Some(answer) = next_ready(running, &mut self.handoff).await {
            self.encode(answer);
            if self.out.len() >= COALESCE_BYTES {
                self.flush().await?;
            }
        }
        Ok(())
    }

    fn encode(&mut self, answer: Answer) {
        let Some((request, result)) = answer else {
            return;
        };
        let (kind, body) = match result {
            Ok(body) if body.len() + frame::HEADER_LEN <= self.inner.config.max_message_bytes => {
                (Kind::Response, body)
            }
            Ok(body) => (
                Kind::Failure,
                Bytes::from(MessagingError::TooLarge(body.len() + frame::HEADER_LEN).to_string()),
            ),
            Err(message) => (Kind::Failure, Bytes::from(message)),
        };
        let header = Header {
            kind,
            id: request.id,
            verb: request.verb,
            epoch: self.inner.epoch.load(Ordering::Relaxed),
            expires_at_ms: 0,
        };
        header.put_frame(&body, &mut self.out);
    }

    /// Writes the encoded responses, after handing the commit-log records of the writes
    /// they acknowledge to the OS (if that fails, nothing is acknowledged: the connection
    /// closes and the requests time out).
    async fn flush(&mut self) -> Result<(), ConnectError> {
        if let Some(handoff) = self.handoff.take() {
            handoff
                .complete()
                .map_err(|e| ConnectError::CommitLog(e.to_string()))?;
        }
        if self.out.is_empty() {
            return Ok(());
        }
        let written = self.write_half.write_all(&self.out).await;
        self.out.clear();
        shrink(&mut self.out);
        Ok(written?)
    }
}

/// A handler's answer: `None` for a one-way message, else the request's header and result.
type Answer = Option<(Header, Result<Bytes, String>)>;

/// A request being handled on its connection's task: its header and the handler's future.
/// A panicking handler answers a failure, and the connection goes on.
struct Handling {
    header: Header,
    future: CatchUnwind<AssertUnwindSafe<HandlerFuture>>,
}

impl Future for Handling {
    type Output = Answer;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Answer> {
        let result = std::task::ready!(self.future.poll_unpin(cx))
            .unwrap_or_else(|_| Err(format!("handler of verb {} panicked", self.header.verb)));
        Poll::Ready((self.header.kind == Kind::Request).then_some((self.header, result)))
    }
}

/// Resolves once `shutdown` is set (the guard `wait_for` returns is not `Send`, so it is
/// dropped here rather than held in a caller's `select!`).
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|s| *s).await;
}

#[cfg(test)]
mod tests;
