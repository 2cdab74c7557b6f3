//! Messaging over real loopback sockets.

use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;
use uuid::Uuid;

use super::*;

async fn node(cluster: &str, configure: impl FnOnce(&mut MessagingConfig)) -> Messaging {
    let mut config = MessagingConfig::new(cluster, Uuid::new_v4(), "127.0.0.1:0".parse().unwrap());
    configure(&mut config);
    Messaging::bind(config).await.unwrap()
}

fn in_secs(secs: f64) -> Instant {
    Instant::now() + Duration::from_secs_f64(secs)
}

/// A loopback address nobody listens on (yet).
fn unused_addr() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// A `Ping` from `from` to `to` with a deadline `secs` away.
async fn ping(
    from: &Messaging,
    to: &Messaging,
    payload: &'static [u8],
    secs: f64,
) -> Result<Response, MessagingError> {
    let deadline = in_secs(secs);
    from.send_request(
        to.local_addr(),
        Verb::Ping,
        Bytes::from_static(payload),
        deadline,
    )
    .await
}

#[tokio::test]
async fn request_response_carries_epochs_and_errors() {
    let (a, b) = (node("c", |_| {}).await, node("c", |_| {}).await);
    a.set_epoch(5);
    b.set_epoch(9);
    b.register(Verb::Ping, |m: Inbound| async move {
        match &m.payload[..] {
            b"fail" => Err("handler failed".to_string()),
            _ => Ok(Bytes::from(format!(
                "{}:{}",
                m.epoch,
                String::from_utf8_lossy(&m.payload)
            ))),
        }
    });
    let response = ping(&a, &b, b"hi", 5.0).await.unwrap();
    assert_eq!(&response.payload[..], b"5:hi");
    assert_eq!(response.epoch, 9);
    let err = ping(&a, &b, b"fail", 5.0).await.unwrap_err();
    assert_eq!(err, MessagingError::Remote("handler failed".into()));
    // Typed helper, and a large payload (its own link) next to small ones.
    let big = vec![7u8; 1 << 20];
    let echoed: Vec<u8> = {
        b.register(Verb::Ping, |m: Inbound| async move { Ok(m.payload) });
        a.request(b.local_addr(), Verb::Ping, &big, in_secs(10.0))
            .await
            .unwrap()
    };
    assert_eq!(echoed, big);
    // Pings travel on the urgent link, whatever their size (counted once written, which
    // may be a moment after the answer came back).
    for _ in 0..100 {
        if a.link_stats(Link::Urgent).completed == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        a.link_stats(Link::Urgent),
        LinkStats {
            pending: 0,
            completed: 3,
            dropped: 0
        }
    );
    assert_eq!(a.link_stats(Link::Large), LinkStats::default());
}

#[tokio::test]
async fn unknown_verb_handler_answers_an_error() {
    let (a, b) = (node("c", |_| {}).await, node("c", |_| {}).await);
    let err = ping(&a, &b, b"", 5.0).await.unwrap_err();
    assert_eq!(err, MessagingError::Remote("unknown verb 0".into()));
}

#[tokio::test]
async fn other_cluster_is_refused() {
    let (a, b) = (node("one", |_| {}).await, node("two", |_| {}).await);
    b.register(Verb::Ping, |m: Inbound| async move { Ok(m.payload) });
    let started = std::time::Instant::now();
    let err = ping(&a, &b, b"", 0.5).await.unwrap_err();
    assert_eq!(err, MessagingError::Timeout);
    assert!(started.elapsed() < Duration::from_secs(3));
}

/// Serves `Ping` on `node` after 5 s (past every deadline of the tests).
fn answer_pings_after_5s(node: &Messaging) {
    node.register(Verb::Ping, |m: Inbound| async move {
        tokio::time::sleep(Duration::from_secs(5)).await;
        Ok(m.payload)
    });
}

#[tokio::test]
async fn deadline_bounds_a_slow_handler() {
    let (a, b) = (node("c", |_| {}).await, node("c", |_| {}).await);
    answer_pings_after_5s(&b);
    let started = std::time::Instant::now();
    let err = ping(&a, &b, b"", 0.3).await.unwrap_err();
    assert_eq!(err, MessagingError::Timeout);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(
        a.inner.lock_callbacks().is_empty(),
        "the timed-out callback is removed"
    );
}

/// A request without a timer of its own (the coordinator's replica requests) times out by
/// the shared sweep, and its callback leaves the map at its deadline even while nobody
/// polls it (a caller that stopped waiting holds no callback past the deadline).
#[tokio::test]
async fn the_sweep_times_out_requests_without_a_timer_of_their_own() {
    let (a, b) = (node("c", |_| {}).await, node("c", |_| {}).await);
    answer_pings_after_5s(&b);
    let send = |secs| a.send_request_swept(b.local_addr(), Verb::Ping, Bytes::new(), in_secs(secs));
    let started = Instant::now();
    let polled = send(0.2).unwrap();
    let unpolled = send(0.2).unwrap();
    assert_eq!(a.inner.lock_callbacks().len(), 2);
    assert_eq!(polled.await.unwrap_err(), MessagingError::Timeout);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(200)
            && waited < Duration::from_millis(200) + 4 * SWEEP_INTERVAL,
        "{waited:?}"
    );
    assert!(
        a.inner.lock_callbacks().is_empty(),
        "the sweep removed the unpolled request's callback too"
    );
    assert_eq!(unpolled.await.unwrap_err(), MessagingError::Timeout);
    // An answered request leaves nothing behind either.
    b.register(Verb::Ping, |m: Inbound| async move { Ok(m.payload) });
    assert!(send(5.0).unwrap().await.is_ok());
    assert!(a.inner.lock_callbacks().is_empty());
}

#[tokio::test]
async fn reconnects_when_the_peer_comes_up() {
    let a = node("c", |_| {}).await;
    let peer = unused_addr();
    let pending = {
        let a = a.clone();
        tokio::spawn(async move {
            a.send_request(peer, Verb::Ping, Bytes::from_static(b"x"), in_secs(10.0))
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(400)).await;
    let b = node("c", |c| c.listen = peer).await;
    b.register(Verb::Ping, |m: Inbound| async move { Ok(m.payload) });
    let started = std::time::Instant::now();
    let response = pending.await.unwrap().unwrap();
    assert_eq!(&response.payload[..], b"x");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "backoff is capped at 1 s: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn queue_is_bounded_in_bytes() {
    let a = node("c", |c| c.queue_bytes = 4096).await;
    let peer = unused_addr();
    let payload = Bytes::from(vec![0u8; 3000]);
    a.send_one_way(peer, Verb::Ping, payload.clone(), in_secs(30.0))
        .unwrap();
    assert_eq!(
        a.send_one_way(peer, Verb::Ping, payload, in_secs(30.0)),
        Err(MessagingError::Overloaded(peer))
    );
    assert_eq!(
        a.send_one_way(
            peer,
            Verb::Ping,
            Bytes::from(vec![0u8; 5000]),
            in_secs(30.0)
        ),
        Err(MessagingError::TooLarge(5000 + frame::HEADER_LEN))
    );
    // The first waits for the peer, the second was dropped (nodetool netstats' counts).
    assert_eq!(
        a.link_stats(Link::Urgent),
        LinkStats {
            pending: 1,
            completed: 0,
            dropped: 1
        }
    );
}

#[tokio::test]
async fn fail_fast_requests_fail_at_once_when_the_peer_cannot_be_reached() {
    let a = node("c", |_| {}).await;
    let dead = unused_addr();
    // A metadata proposal to a node nobody listens on: failed by the first connection
    // attempt, long before its deadline (it was never sent).
    let started = Instant::now();
    let err = a
        .send_request(dead, Verb::MetadataPropose, Bytes::new(), in_secs(10.0))
        .await
        .unwrap_err();
    assert_eq!(err, MessagingError::Unreachable(dead));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // While the link is down the next one fails without waiting for an attempt.
    let err = a
        .send_request(dead, Verb::MetadataWaitApplied, Bytes::new(), in_secs(10.0))
        .await
        .unwrap_err();
    assert_eq!(err, MessagingError::Unreachable(dead));
    // Data-path requests still wait for a reconnection until their deadline.
    let err = a
        .send_request(dead, Verb::Mutation, Bytes::new(), in_secs(0.5))
        .await
        .unwrap_err();
    assert_eq!(err, MessagingError::Timeout);
}

/// Queued messages `0..count` of `len` bytes each on one link, their budget taken from
/// `budget`, expiring at `expires_at_ms`.
fn queued(
    budget: &Arc<Semaphore>,
    count: u64,
    len: usize,
    expires_at_ms: u64,
) -> mpsc::UnboundedReceiver<Outgoing> {
    let (tx, rx) = mpsc::unbounded_channel();
    for id in 0..count {
        let header = Header {
            kind: Kind::OneWay,
            id,
            verb: Verb::Mutation as u16,
            epoch: 0,
            expires_at_ms,
        };
        let permit = budget
            .clone()
            .try_acquire_many_owned((len + frame::HEADER_LEN) as u32)
            .unwrap();
        tx.send(Outgoing {
            header,
            payload: Bytes::from(vec![id as u8; len]),
            fail_fast: None,
            permit,
        })
        .unwrap();
    }
    rx
}

/// The ids of the frames in `out`, in order.
fn frame_ids(out: &BytesMut) -> Vec<u64> {
    let mut out = out.clone();
    let mut codec = LengthDelimitedCodec::new();
    let mut ids = Vec::new();
    while let Some(frame) = codec.decode(&mut out).unwrap() {
        ids.push(Header::decode(frame.freeze()).unwrap().0.id);
    }
    assert!(out.is_empty(), "a partial frame");
    ids
}

/// What a burst queued on a link goes out in as few writes as `COALESCE_BYTES` allows, in
/// order; the messages hold their queue budget until their write is done; a lone message
/// is written at once (nothing waits for a batch to fill).
#[test]
fn a_batch_takes_the_queued_messages_in_order_up_to_the_coalescing_bound() {
    let budget = Arc::new(Semaphore::new(1 << 20));
    let frame_bytes = 1000 + frame::HEADER_LEN + frame::LENGTH_LEN;
    let mut queue = queued(&budget, 100, 1000, u64::MAX);
    let mut held = VecDeque::new();
    let mut batch = Batch::default();
    let first = queue.try_recv().unwrap();
    // 64 frames of 1,031 bytes reach 64 KiB.
    assert_eq!(batch.take(first, &mut held, &mut queue, 0), (64, 0));
    assert_eq!(frame_ids(&batch.out), (0..64).collect::<Vec<_>>());
    assert!(batch.out.len() >= COALESCE_BYTES && batch.out.len() - frame_bytes < COALESCE_BYTES);
    let held_budget = |budget: &Semaphore| ((1 << 20) - budget.available_permits()) / 1027;
    assert_eq!(
        held_budget(&budget),
        100,
        "nothing written yet: every message holds its budget"
    );
    batch.clear();
    assert_eq!(held_budget(&budget), 36);
    // Messages held while the link was down go first, then the queue.
    held.push_back(queue.try_recv().unwrap());
    held.push_back(queue.try_recv().unwrap());
    let first = held.pop_front().unwrap();
    assert_eq!(batch.take(first, &mut held, &mut queue, 0), (36, 0));
    assert_eq!(frame_ids(&batch.out), (64..100).collect::<Vec<_>>());
    batch.clear();
    assert_eq!(budget.available_permits(), 1 << 20);
    // A lone message: the batch ends when the queue is empty.
    let mut lone = queued(&budget, 1, 10, u64::MAX);
    let first = lone.try_recv().unwrap();
    assert_eq!(batch.take(first, &mut held, &mut lone, 0), (1, 0));
    assert_eq!(frame_ids(&batch.out), vec![0]);
    batch.clear();
    // Expired messages are dropped, not written.
    let mut stale = queued(&budget, 3, 10, 1_000);
    let first = stale.try_recv().unwrap();
    assert_eq!(batch.take(first, &mut held, &mut stale, 1_001), (3, 3));
    assert!(batch.out.is_empty() && batch.permits.is_empty());
}

/// A burst of messages on two links arrives complete and in each link's order.
#[tokio::test]
async fn a_burst_of_messages_arrives_in_order() {
    let (a, b) = (node("c", |_| {}).await, node("c", |_| {}).await);
    let received = Arc::new(Mutex::new(Vec::new()));
    for verb in [Verb::Ping, Verb::Mutation] {
        let received = received.clone();
        b.register(verb, move |m: Inbound| {
            received.lock().unwrap().push((m.verb, m.payload.clone()));
            async move { Ok(m.payload) }
        });
    }
    let count = 3000u32;
    for i in 0..count {
        let payload = Bytes::from(i.to_be_bytes().to_vec());
        let verb = if i % 2 == 0 {
            Verb::Ping
        } else {
            Verb::Mutation
        };
        a.send_one_way(b.local_addr(), verb, payload, in_secs(30.0))
            .unwrap();
    }
    // A request behind them on each link: answered once everything before it was handled.
    for verb in [Verb::Ping, Verb::Mutation] {
        a.send_request(
            b.local_addr(),
            verb,
            Bytes::from_static(b"end"),
            in_secs(30.0),
        )
        .await
        .unwrap();
    }
    let received = received.lock().unwrap();
    for verb in [Verb::Ping, Verb::Mutation] {
        let seen: Vec<u32> = received
            .iter()
            .filter(|(v, p)| *v == verb && &p[..] != b"end")
            .map(|(_, p)| u32::from_be_bytes(p[..].try_into().unwrap()))
            .collect();
        let sent: Vec<u32> = (0..count)
            .filter(|i| (i % 2 == 0) == (verb == Verb::Ping))
            .collect();
        assert_eq!(seen, sent, "{verb:?}");
    }
    let urgent = a.link_stats(Link::Urgent);
    let small = a.link_stats(Link::Small);
    assert_eq!(urgent.completed + small.completed, u64::from(count) + 2);
    assert_eq!(urgent.dropped + small.dropped, 0);
}

/// A handler that panics answers a failure; the connection serves the next request.
#[tokio::test]
async fn a_panicking_handler_answers_a_failure_and_the_connection_goes_on() {
    let (a, b) = (node("c", |_| {}).await, node("c", |_| {}).await);
    b.register(Verb::Ping, |m: Inbound| async move {
        if &m.payload[..] == b"panic" {
            panic!("handler bug");
        }
        Ok(m.payload)
    });
    let err = ping(&a, &b, b"panic", 5.0).await.unwrap_err();
    assert_eq!(
        err,
        MessagingError::Remote("handler of verb 0 panicked".into())
    );
    assert_eq!(&ping(&a, &b, b"ok", 5.0).await.unwrap().payload[..], b"ok");
}

/// Handlers run on their connection's task, at most `max_inflight_per_connection` at once:
/// the next requests wait unread until one finishes.
#[tokio::test]
async fn inflight_requests_per_connection_are_bounded() {
    let a = node("c", |_| {}).await;
    let b = node("c", |c| c.max_inflight_per_connection = 2).await;
    let release = Arc::new(Semaphore::new(0));
    let running = Arc::new(AtomicU64::new(0));
    let most = Arc::new(AtomicU64::new(0));
    {
        let (release, running, most) = (release.clone(), running.clone(), most.clone());
        b.register(Verb::Mutation, move |m: Inbound| {
            let (release, running, most) = (release.clone(), running.clone(), most.clone());
            async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                release.acquire().await.unwrap().forget();
                running.fetch_sub(1, Ordering::SeqCst);
                Ok(m.payload)
            }
        });
    }
    let requests: Vec<_> = (0..5u8)
        .map(|i| {
            let (a, to) = (a.clone(), b.local_addr());
            tokio::spawn(async move {
                a.send_request(to, Verb::Mutation, Bytes::from(vec![i]), in_secs(10.0))
                    .await
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(running.load(Ordering::SeqCst), 2);
    release.add_permits(5);
    for (i, request) in requests.into_iter().enumerate() {
        assert_eq!(request.await.unwrap().unwrap().payload[..], [i as u8]);
    }
    assert_eq!(most.load(Ordering::SeqCst), 2);
}

/// Writes a replica answers together leave their commit-log records in the engine's
/// buffer until the responses are written, and are handed to the OS before any of them
/// is: one hand-off per batch of responses instead of one per write (periodic mode). Writes
/// that get no answer are handed over once polled.
#[tokio::test]
async fn replica_writes_are_handed_to_the_commit_log_before_their_answers() {
    use strata_engine::{Cell, Mutation};

    use crate::cluster::write_pipeline::tests::{periodic_engine, wal_bytes};
    use crate::cluster::write_pipeline::WritePipeline;

    let (storage, engine) = periodic_engine();
    let pipeline = Arc::new(WritePipeline::start(engine.clone()).unwrap());
    let version = engine.clone_version(strata_engine::ROOT_VERSION).unwrap();
    let (a, b) = (node("c", |_| {}).await, node("c", |_| {}).await);
    {
        let storage = storage.clone();
        b.register(Verb::Mutation, move |m: Inbound| {
            let (pipeline, storage) = (pipeline.clone(), storage.clone());
            async move {
                let mutation = Mutation {
                    version,
                    key: m.payload.to_vec(),
                    cell: Cell::live(1, vec![]),
                };
                pipeline
                    .write(vec![mutation])
                    .await
                    .map_err(|e| e.to_string())?;
                // The log as it is once this write is acknowledged to the handler.
                Ok(Bytes::from(wal_bytes(&storage).to_be_bytes().to_vec()))
            }
        });
    }
    for i in 0..20u8 {
        let answer = a
            .send_request(
                b.local_addr(),
                Verb::Mutation,
                Bytes::from(vec![i]),
                in_secs(10.0),
            )
            .await
            .unwrap();
        let at_write = u64::from_be_bytes(answer.payload[..].try_into().unwrap());
        assert!(
            wal_bytes(&storage) > at_write,
            "write {i} answered before its record was handed over"
        );
    }
    // A one-way message's write has no answer to wait for: handed over all the same.
    let before = wal_bytes(&storage);
    a.send_one_way(
        b.local_addr(),
        Verb::Mutation,
        Bytes::from_static(b"x"),
        in_secs(10.0),
    )
    .unwrap();
    for _ in 0..100 {
        if wal_bytes(&storage) > before {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("a one-way write's record stayed in the engine's buffer");
}
