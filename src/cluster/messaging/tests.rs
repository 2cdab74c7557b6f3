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

#[tokio::test]
async fn deadline_bounds_a_slow_handler() {
    let (a, b) = (node("c", |_| {}).await, node("c", |_| {}).await);
    b.register(Verb::Ping, |m: Inbound| async move {
        tokio::time::sleep(Duration::from_secs(5)).await;
        Ok(m.payload)
    });
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
