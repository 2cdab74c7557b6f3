//! One CQL connection: frame I/O through the protocol crate's codec, the handshake,
//! stream-id multiplexing and per-connection bounds.
//!
//! Requests run inside the connection's own task, not one task each: every frame of a
//! read is decoded and started, everything that completes on its first poll (most reads
//! and writes) is answered at once, and all the replies ready by then go out in one socket
//! write. Requests that wait (blocking-pool scans, batch-mode fsyncs, the writer thread)
//! stay in the connection's set of running requests and are polled when woken; their
//! replies are gathered the same way. A task per request made the connection task wake
//! once per reply and write each on its own (one `send()` per response was ~42% of server
//! CPU, issue 15).
//!
//! Invariants:
//! - At most `max_inflight_per_connection` requests run at once, counted where frames are
//!   decoded and started: frames already buffered wait undecoded for a free slot, and the
//!   socket is not read while none is free (backpressure on the client).
//! - Handshake messages (OPTIONS, STARTUP, REGISTER) are answered inline, so a codec state
//!   change (compression, v5 framing) happens before the next frame is decoded.
//! - A malformed frame closes only this connection; a request that fails (or panics)
//!   gets an ERROR on its own stream and the connection goes on.
//! - Replies are encoded straight into the connection's output buffer, which is written
//!   once per batch of ready replies (or sooner past `COALESCE_BYTES`).
//!
//! The connection is generic over its byte stream (`AsyncRead + AsyncWrite`), so a TLS
//! stream can be served like a TCP socket.

use std::future::Future;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use bytes::BytesMut;
use futures_util::stream::{FuturesUnordered, StreamExt};
use futures_util::FutureExt;
use strata_protocol::{
    unsupported_version_response, DecodeError, Envelope, Event, EventType, Limits, Opcode, Request,
    Response, ResponseFrame, ServerCodec,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{broadcast, watch};

use crate::cluster;
use crate::error::CqlError;
use crate::metrics::Metrics;
use crate::node::Node;
use crate::request::{self, RequestOutcome, Session};
use crate::trace::ActiveTrace;

/// Initial read buffer; it grows up to the frame limit only for large frames.
const READ_BUFFER_BYTES: usize = 16 * 1024;
/// Replies are gathered into one socket write up to this size.
const COALESCE_BYTES: usize = 256 * 1024;
/// Buffers that grew past this for a large frame are released once empty, so an idle
/// connection holds at most a few tens of KiB whatever it sent before.
const RETAINED_BUFFER_BYTES: usize = 64 * 1024;

/// Drops an empty buffer's oversized allocation.
fn shrink(buffer: &mut BytesMut, initial: usize) {
    if buffer.is_empty() && buffer.capacity() > RETAINED_BUFFER_BYTES {
        *buffer = BytesMut::with_capacity(initial);
    }
}

/// The two ends of a connection, as traces record them.
#[derive(Clone, Copy, Debug)]
pub struct Endpoints {
    pub peer: SocketAddr,
    pub local: SocketAddr,
}

/// A query-class request, with what it needs to run apart from the connection.
struct Job {
    node: Arc<Node>,
    session: Session,
    stream: i16,
    request: Request,
    trace: Option<ActiveTrace>,
    /// The client asked for tracing: its reply carries the session id.
    reply_trace: bool,
}

/// A finished request: its frame and the keyspace a `USE` switched to.
struct Reply {
    frame: ResponseFrame,
    keyspace: Option<String>,
}

struct Connection<S> {
    node: Arc<Node>,
    socket: S,
    endpoints: Endpoints,
    codec: ServerCodec,
    session: Session,
    started: bool,
    events: Option<broadcast::Receiver<Event>>,
    registered: Vec<EventType>,
    /// `max_inflight_per_connection`: requests running at once.
    max_inflight: usize,
    out: BytesMut,
    /// This connection's row of `system_views.clients`, listed until the connection ends.
    client: crate::clients::ClientHandle,
    /// The commit-log hand-off owed before the next socket write (periodic mode: the
    /// writes of the replies in `out` left their records in the engine's buffer).
    handoff: Option<cluster::Handoff>,
}

/// Serves one connection on `socket` until the client leaves or `stop` fires.
pub async fn serve<S>(
    node: Arc<Node>,
    socket: S,
    endpoints: Endpoints,
    tls: Option<crate::clients::TlsSession>,
    stop: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    Metrics::add(&node.metrics().connections_opened, 1);
    let max_inflight = node.config().max_inflight_per_connection.max(1);
    let codec = ServerCodec::new(Limits::with_max_frame_bytes(node.config().max_frame_bytes));
    let mut connection = Connection {
        node: node.clone(),
        socket,
        endpoints,
        codec,
        session: Session::default(),
        started: false,
        events: None,
        registered: Vec::new(),
        max_inflight,
        out: BytesMut::new(),
        client: node.clients().register(endpoints.peer, tls),
        handoff: None,
    };
    if let Err(reason) = connection.run(stop).await {
        tracing::debug!(peer = %endpoints.peer, %reason, "connection closed");
    }
    Metrics::add(&node.metrics().connections_closed, 1);
}

/// Requests of one connection that have started and not yet answered.
type Running<F> = FuturesUnordered<F>;

impl<S> Connection<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    async fn run(&mut self, mut stop: watch::Receiver<bool>) -> Result<(), String> {
        let mut input = BytesMut::with_capacity(READ_BUFFER_BYTES);
        let mut running = Running::new();
        let mut eof = false;
        loop {
            // Frames already buffered are decoded only while a request slot is free: the
            // bound holds on what runs, not only on what is read. Requests that finish at
            // once free their slots for the next buffered frames before anything is written.
            loop {
                let full = self.decode_all(&mut input, &mut running, start).await?;
                self.collect_ready(&mut running).await?;
                if !full || running.len() >= self.max_inflight {
                    break;
                }
            }
            shrink(&mut input, READ_BUFFER_BYTES);
            if !self.out.is_empty() {
                self.flush().await?;
            }
            if eof && running.is_empty() {
                return Ok(());
            }
            tokio::select! {
                read = self.socket.read_buf(&mut input), if !eof && running.len() < self.max_inflight => {
                    eof = read.map_err(|e| e.to_string())? == 0;
                }
                Some(reply) = running.next(), if !running.is_empty() => self.encode_reply(reply)?,
                event = recv_event(&mut self.events), if !eof => self.forward_event(event).await?,
                _ = stop.changed() => return self.drain(&mut running).await,
            }
        }
    }

    /// Answers the requests still running, then closes.
    async fn drain<F: Future<Output = Reply>>(
        &mut self,
        running: &mut Running<F>,
    ) -> Result<(), String> {
        while let Some(reply) = running.next().await {
            self.encode_reply(reply)?;
        }
        self.flush().await
    }

    /// Polls the woken running requests once each and encodes every reply that is ready;
    /// they are written together by the next flush (sooner past `COALESCE_BYTES`).
    async fn collect_ready<F: Future<Output = Reply>>(
        &mut self,
        running: &mut Running<F>,
    ) -> Result<(), String> {
        loop {
            // Writes made in this poll owe their commit-log hand-off to the next flush
            // (periodic mode) or wait as one group for the durability thread (batch mode).
            let Some(reply) = cluster::next_ready(running, &mut self.handoff).await else {
                return Ok(());
            };
            self.encode_reply(reply)?;
            if self.out.len() >= COALESCE_BYTES {
                self.flush().await?;
            }
        }
    }

    /// Decodes and starts buffered frames until none is complete or every request slot
    /// is taken; true in the second case (frames may still wait in `input`).
    async fn decode_all<F>(
        &mut self,
        input: &mut BytesMut,
        running: &mut Running<F>,
        start: fn(Job) -> F,
    ) -> Result<bool, String> {
        while running.len() < self.max_inflight {
            match self.codec.decode(input) {
                Ok(Some(envelope)) => {
                    if let Some(job) = self.dispatch(envelope).await? {
                        running.push(start(job));
                    }
                }
                Ok(None) => return Ok(false),
                Err(error) => self.reject(error).await?,
            }
        }
        Ok(true)
    }

    /// Answers a broken frame; closes the connection unless only one envelope was bad.
    async fn reject(&mut self, error: DecodeError) -> Result<(), String> {
        Metrics::add(&self.node.metrics().protocol_errors, 1);
        if let DecodeError::UnsupportedVersion { version, stream } = error {
            let reply = unsupported_version_response(version, stream);
            let _ = self.socket.write_all(&reply).await;
            return Err(format!("unsupported protocol version {version}"));
        }
        if let Some(stream) = error.stream().filter(|_| self.codec.version().is_some()) {
            self.write(&error_frame(stream, &CqlError::from(&error)))
                .await?;
        }
        if error.is_fatal() {
            return Err(error.to_string());
        }
        Ok(())
    }

    /// Answers a handshake message at once; returns a query-class request as a job to run.
    async fn dispatch(&mut self, envelope: Envelope) -> Result<Option<Job>, String> {
        let stream = envelope.stream;
        let request = match Request::decode(&envelope) {
            Ok(r) => r,
            Err(e) => {
                self.write(&error_frame(stream, &CqlError::from(e))).await?;
                return Ok(None);
            }
        };
        let inline = match request {
            Request::Options => ResponseFrame::new(stream, request::supported()),
            Request::Startup(options) => self.startup(stream, &options),
            _ if !self.started => {
                let message = format!(
                    "Unexpected message {}, expecting STARTUP or OPTIONS",
                    opcode_name(envelope.opcode)
                );
                error_frame(stream, &CqlError::Protocol(message))
            }
            Request::Register(types) => {
                self.registered = types;
                self.events = Some(self.node.subscribe());
                ResponseFrame::new(stream, Response::Ready)
            }
            Request::AuthResponse(token) => {
                self.authenticate(stream, token).await?;
                return Ok(None);
            }
            _ if self.must_log_in() => error_frame(
                stream,
                &CqlError::Unauthorized("You have not logged in".into()),
            ),
            other => {
                // Sampled requests (`nodetool settraceprobability`) are traced too, but
                // only a client that asked gets the session id, as in Cassandra.
                let requested = envelope.tracing_requested();
                let trace =
                    (requested || self.node.traces().sampled()).then(|| self.start_trace(&other));
                self.client.request();
                return Ok(Some(Job {
                    node: self.node.clone(),
                    session: self.session.clone(),
                    stream,
                    request: other,
                    trace,
                    reply_trace: requested,
                }));
            }
        };
        self.write(&inline).await?;
        Ok(None)
    }

    /// The reply to STARTUP; on success the connection is started and the negotiated
    /// compression applies from this reply on.
    fn startup(
        &mut self,
        stream: i16,
        options: &std::collections::BTreeMap<String, String>,
    ) -> ResponseFrame {
        if !options
            .keys()
            .any(|k| k.eq_ignore_ascii_case("CQL_VERSION"))
        {
            let error = CqlError::Protocol("Missing value CQL_VERSION in STARTUP message".into());
            return error_frame(stream, &error);
        }
        let compression = options
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("COMPRESSION"))
            .map(|(_, v)| v.as_str());
        if let Err(e) = self.codec.set_compression(compression) {
            return error_frame(stream, &CqlError::from(e));
        }
        self.started = true;
        self.client.started(
            options,
            self.codec.version().map(|v| v.number()),
            self.node.config().password_authenticator,
        );
        let reply = if self.node.config().password_authenticator {
            Response::Authenticate(crate::auth::PASSWORD_AUTHENTICATOR.into())
        } else {
            Response::Ready
        };
        ResponseFrame::new(stream, reply)
    }

    /// Whether a query must wait for a login (an authenticator is on, nobody logged in).
    fn must_log_in(&self) -> bool {
        self.session.user.is_none() && self.node.config().password_authenticator
    }

    /// AUTH_RESPONSE: one SASL PLAIN round, answered inline like the rest of the handshake.
    async fn authenticate(
        &mut self,
        stream: i16,
        token: Option<bytes::Bytes>,
    ) -> Result<(), String> {
        if !self.node.config().password_authenticator {
            let error = CqlError::Protocol(
                "Unexpected message AUTH_RESPONSE, authentication is not enabled".into(),
            );
            return self.write(&error_frame(stream, &error)).await;
        }
        let token = token.unwrap_or_default();
        match crate::exec::auth::login(&self.node, &token).await {
            Ok(user) => {
                self.client.logged_in(&user);
                self.session.user = Some(user.into());
                self.write(&ResponseFrame::new(stream, Response::AuthSuccess(None)))
                    .await
            }
            Err(error) => self.write(&error_frame(stream, &error)).await,
        }
    }

    /// A trace of `request`, named and described as Cassandra does.
    fn start_trace(&self, request: &Request) -> ActiveTrace {
        let (command, text, params) = match request {
            Request::Query { query, params } => (
                "QUERY",
                format!("Parsing {query}"),
                Some((Some(query.as_str()), params)),
            ),
            Request::Execute { params, .. } => (
                "EXECUTE",
                "Executing prepared statement".to_string(),
                Some((None, params)),
            ),
            Request::Prepare { query, .. } => ("PREPARE", format!("Preparing {query}"), None),
            Request::Batch(batch) => (
                "BATCH",
                format!("Executing batch of {} statements", batch.statements.len()),
                None,
            ),
            _ => ("QUERY", String::new(), None),
        };
        let description = match command {
            "BATCH" => "Execute batch of CQL3 queries",
            "PREPARE" => "Preparing CQL3 query",
            _ => "Execute CQL3 query",
        };
        let Endpoints { peer, local } = self.endpoints;
        let mut trace = ActiveTrace::start(peer, local, command, description);
        if let Some((query, params)) = params {
            if let Some(query) = query {
                trace.parameter("query", query.to_string());
            }
            trace.parameter(
                "consistency_level",
                crate::error::consistency_name(params.consistency).to_string(),
            );
            if let Some(size) = params.page_size {
                trace.parameter("page_size", size.to_string());
            }
        }
        trace.event(text);
        trace
    }

    async fn forward_event(&mut self, event: Option<Event>) -> Result<(), String> {
        let Some(event) = event else {
            self.events = None;
            return Ok(());
        };
        let wanted = match &event {
            Event::SchemaChange(_) => EventType::SchemaChange,
            Event::TopologyChange { .. } => EventType::TopologyChange,
            Event::StatusChange { .. } => EventType::StatusChange,
        };
        if !self.registered.contains(&wanted) {
            return Ok(());
        }
        self.write(&ResponseFrame::new(-1, Response::Event(event)))
            .await
    }

    /// Encodes a finished request's reply (written with the next flush) and applies its
    /// session change.
    fn encode_reply(&mut self, reply: Reply) -> Result<(), String> {
        if let Some(keyspace) = reply.keyspace {
            self.client.set_keyspace(&keyspace);
            self.session.keyspace = Some(keyspace.into());
        }
        self.encode(&reply.frame)
    }

    async fn write(&mut self, frame: &ResponseFrame) -> Result<(), String> {
        self.encode(frame)?;
        self.flush().await
    }

    /// Appends `frame` to the output buffer.
    fn encode(&mut self, frame: &ResponseFrame) -> Result<(), String> {
        let start = self.out.len();
        if let Err(e) = self.codec.encode(frame, &mut self.out) {
            // An unencodable response (e.g. a page over the frame limit) becomes an error
            // on its stream rather than a dropped connection.
            tracing::warn!(peer = %self.endpoints.peer, error = %e, "cannot encode response");
            self.out.truncate(start);
            let error = CqlError::Server(format!("cannot encode response: {e}"));
            self.codec
                .encode(&error_frame(frame.stream, &error), &mut self.out)
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// Writes the output buffer, after handing the commit-log records of the writes it
    /// acknowledges to the OS (if that fails, nothing is acknowledged: the connection
    /// closes).
    async fn flush(&mut self) -> Result<(), String> {
        if let Some(handoff) = self.handoff.take() {
            handoff
                .complete()
                .map_err(|e| format!("commit log hand-off failed: {e}"))?;
        }
        self.socket
            .write_all(&self.out)
            .await
            .map_err(|e| e.to_string())?;
        self.out.clear();
        shrink(&mut self.out, 0);
        Ok(())
    }
}

/// `execute`'s future, boxed. A request future is several KiB (the executor's and the
/// coordinator's states nest inline) and `FuturesUnordered::push` moves it three times on
/// its way into the task node: that memcpy was ~60% of a write's instructions (callgrind,
/// 46k per write). Boxed, it is copied once and the set moves a pointer.
fn start(job: Job) -> Pin<Box<impl Future<Output = Reply> + Send>> {
    Box::pin(execute(job))
}

/// Runs a query-class request to its reply. A panic in the handler becomes a server
/// error on the request's stream; the connection goes on.
async fn execute(job: Job) -> Reply {
    let Job {
        node,
        session,
        stream,
        request,
        mut trace,
        reply_trace,
    } = job;
    let started = Instant::now();
    let handled = AssertUnwindSafe(async {
        #[cfg(test)]
        tests::seam(&request).await;
        request::handle(&node, &session, request).await
    })
    .catch_unwind()
    .await;
    let RequestOutcome {
        response,
        keyspace,
        event,
        warnings,
    } = handled.unwrap_or_else(|_| {
        RequestOutcome::error(CqlError::Server(
            "internal error while executing the request".into(),
        ))
    });
    let tracing_id = trace.take().map(|mut trace| {
        trace.event("Request complete");
        let id = trace.session_id();
        node.traces().finish(trace);
        *id.as_bytes()
    });
    if let Response::Error(error) = &response {
        node.metrics().error(error.kind.code());
    }
    let metrics = node.metrics();
    Metrics::add(&metrics.requests, 1);
    Metrics::add(
        &metrics.request_micros_total,
        started.elapsed().as_micros() as u64,
    );
    if let Some(event) = event {
        node.publish(event);
    }
    let mut frame = ResponseFrame::new(stream, response);
    frame.warnings = warnings;
    frame.tracing_id = tracing_id.filter(|_| reply_trace);
    Reply { frame, keyspace }
}

async fn recv_event(events: &mut Option<broadcast::Receiver<Event>>) -> Option<Event> {
    let Some(rx) = events else {
        return std::future::pending().await;
    };
    loop {
        match rx.recv().await {
            Ok(event) => return Some(event),
            // A slow client missed some events; drivers re-read schema anyway.
            Err(broadcast::error::RecvError::Lagged(_)) => continue,
            Err(broadcast::error::RecvError::Closed) => return None,
        }
    }
}

/// An ERROR frame; the body (code and extra fields) comes from the one mapping,
/// `CqlError::to_body`.
fn error_frame(stream: i16, error: &CqlError) -> ResponseFrame {
    ResponseFrame::new(stream, Response::Error(error.to_body()))
}

fn opcode_name(opcode: Opcode) -> &'static str {
    match opcode {
        Opcode::Query => "QUERY",
        Opcode::Prepare => "PREPARE",
        Opcode::Execute => "EXECUTE",
        Opcode::Batch => "BATCH",
        Opcode::Register => "REGISTER",
        Opcode::AuthResponse => "AUTH_RESPONSE",
        _ => "REQUEST",
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use bytes::BufMut;
    use strata_protocol::frame::HEADER_LEN;
    use strata_protocol::{ErrorKind, Opcode, Request, Response};

    use crate::testing::{TestClient, TestServer};

    /// Queries with these texts panic or stall in the request task (a test seam: no real
    /// statement panics on purpose).
    const PANIC: &str = "-- test: panic";
    const STALL: &str = "-- test: stall";
    /// A query any started connection can run.
    const LOCAL: &str = "SELECT release_version FROM system.local";
    /// Stalled requests running now, and the most seen at once.
    static STALLED: AtomicUsize = AtomicUsize::new(0);
    static MOST_STALLED: AtomicUsize = AtomicUsize::new(0);

    pub(super) async fn seam(request: &Request) {
        let Request::Query { query, .. } = request else {
            return;
        };
        if query == PANIC {
            panic!("test seam: a request handler panics");
        }
        if query == STALL {
            let now = STALLED.fetch_add(1, Ordering::SeqCst) + 1;
            MOST_STALLED.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(50)).await;
            STALLED.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// `count` QUERY envelopes of `cql` on streams 1..=count, as one socket write.
    fn pipelined(cql: &str, count: i16) -> Vec<u8> {
        let request = TestClient::query_request(cql);
        (1..=count)
            .flat_map(|stream| TestClient::envelope(stream, &request).to_vec())
            .collect()
    }

    /// Every stream in 1..=count answered once, with a response `check` accepts.
    async fn expect_answers(
        client: &mut TestClient,
        count: i16,
        check: impl Fn(&Response) -> bool,
    ) {
        let mut seen = vec![false; count as usize + 1];
        for _ in 0..count {
            let (stream, response) = client.recv().await.expect("connection closed early");
            assert!(check(&response), "stream {stream}: {response:?}");
            assert!(
                !std::mem::replace(&mut seen[stream as usize], true),
                "stream {stream} answered twice"
            );
        }
    }

    /// The size of what `start` returns.
    fn returned_size<A, R>(_: fn(A) -> R) -> usize {
        std::mem::size_of::<R>()
    }

    /// Each running request's future is moved into the connection's set, and nested
    /// futures are moved into their parents' state on every call: its size is copied
    /// several times per request (memcpy was a fifth of a null-storage write's
    /// instructions at 4.8 KiB, and 39% at 9 KiB). Rare paths (schema statements, batches,
    /// LWT, index reads, replica fan-out, role loading) are boxed to keep it small: 5.5 KiB
    /// in a debug build when this bound was set (9 KiB before).
    #[test]
    fn a_request_future_stays_small() {
        let size = returned_size(super::execute);
        eprintln!("request future: {size} bytes");
        assert!(size <= 7 * 1024, "{size} bytes: box the await that grew it");
    }

    #[tokio::test]
    async fn a_panicking_request_gets_a_server_error_even_when_replies_queue_up() {
        let server = TestServer::with_config(|c| c.max_inflight_per_connection = 2).await;
        let mut client = server.client().await;
        client.send_raw(&pipelined(PANIC, 16)).await;
        expect_answers(
            &mut client,
            16,
            |r| matches!(r, Response::Error(e) if e.kind == ErrorKind::Server),
        )
        .await;
        // The connection goes on.
        assert!(matches!(
            client
                .query("SELECT release_version FROM system.local")
                .await,
            Response::Result(_)
        ));
        server.stop().await;
    }

    #[tokio::test]
    async fn max_inflight_bounds_the_requests_decoded_from_one_read() {
        let server = TestServer::with_config(|c| c.max_inflight_per_connection = 2).await;
        let mut client = server.client().await;
        client.send_raw(&pipelined(STALL, 12)).await;
        // A stalled query then fails to parse: what matters is how many ran at once.
        expect_answers(
            &mut client,
            12,
            |r| matches!(r, Response::Error(e) if e.kind == ErrorKind::SyntaxError),
        )
        .await;
        let most = MOST_STALLED.load(Ordering::SeqCst);
        assert!(
            (1..=2).contains(&most),
            "{most} requests ran at once with max_inflight 2"
        );
        server.stop().await;
    }

    /// A frame that arrives in pieces (a partial header, the rest of it, the body in two
    /// parts) is decoded once whole, and frames sharing one read are each answered.
    #[tokio::test]
    async fn frames_are_decoded_across_and_within_reads() {
        let server = TestServer::start().await;
        let mut client = server.client().await;
        let frame = TestClient::envelope(3, &TestClient::query_request(LOCAL));
        let body_half = HEADER_LEN + (frame.len() - HEADER_LEN) / 2;
        for piece in [
            &frame[..3],
            &frame[3..HEADER_LEN],
            &frame[HEADER_LEN..body_half],
        ] {
            client.send_raw(piece).await;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // The frame's last bytes and two whole frames in one write.
        let mut rest = frame[body_half..].to_vec();
        rest.extend_from_slice(&pipelined(LOCAL, 2));
        client.send_raw(&rest).await;
        let mut streams = Vec::new();
        for _ in 0..3 {
            let (stream, response) = client.recv().await.expect("connection closed early");
            assert!(matches!(response, Response::Result(_)), "{response:?}");
            streams.push(stream);
        }
        streams.sort_unstable();
        assert_eq!(streams, [1, 2, 3]);
        server.stop().await;
    }

    /// Before STARTUP only OPTIONS and STARTUP are answered; anything else gets Cassandra's
    /// protocol error on its stream, and the connection can still start.
    #[tokio::test]
    async fn a_query_before_startup_is_a_protocol_error() {
        let server = TestServer::start().await;
        let mut client = TestClient::connect(server.addr).await;
        client.send(5, &TestClient::query_request(LOCAL)).await;
        match client.recv().await {
            Some((5, Response::Error(e))) => {
                assert_eq!(e.kind, ErrorKind::Protocol);
                assert_eq!(
                    e.message,
                    "Unexpected message QUERY, expecting STARTUP or OPTIONS"
                );
            }
            other => panic!("{other:?}"),
        }
        client.startup().await;
        assert!(matches!(client.query(LOCAL).await, Response::Result(_)));
        server.stop().await;
    }

    /// A header announcing a body over `max_frame_bytes` is refused before the body is
    /// buffered: a protocol error on its stream, then the connection closes (its byte stream
    /// cannot be trusted), while other connections go on.
    #[tokio::test]
    async fn an_oversize_frame_is_refused_and_closes_its_connection() {
        let server = TestServer::with_config(|c| c.max_frame_bytes = 64 * 1024).await;
        let mut bad = server.client().await;
        let mut good = server.client().await;
        let mut header = vec![4u8, 0, 0, 9, Opcode::Query as u8];
        header.put_i32(64 * 1024 + 1);
        bad.send_raw(&header).await;
        match bad.recv().await {
            Some((9, Response::Error(e))) => {
                assert_eq!(e.kind, ErrorKind::Protocol);
                assert!(e.message.contains("frame body length"), "{}", e.message);
            }
            other => panic!("{other:?}"),
        }
        assert!(bad.recv().await.is_none(), "the connection stays open");
        assert!(matches!(good.query(LOCAL).await, Response::Result(_)));
        server.stop().await;
    }

    /// A reply over `max_frame_bytes` cannot be sent: its stream gets an error instead
    /// (asking for paging) and the connection goes on.
    #[tokio::test]
    async fn a_reply_over_the_frame_limit_becomes_an_error_on_its_stream() {
        let server = TestServer::with_config(|c| c.max_frame_bytes = 16 * 1024).await;
        let mut client = server.client().await;
        client.create_keyspace("ks").await;
        client
            .run("CREATE TABLE ks.t (k int PRIMARY KEY, v text)")
            .await;
        let text = "x".repeat(1024);
        for k in 0..32 {
            client
                .run(&format!("INSERT INTO ks.t (k, v) VALUES ({k}, '{text}')"))
                .await;
        }
        match client.query("SELECT * FROM ks.t").await {
            Response::Error(e) => {
                assert_eq!(e.kind, ErrorKind::Invalid);
                assert!(
                    e.message.contains("exceeds the maximum frame size"),
                    "{}",
                    e.message
                );
            }
            other => panic!("a reply over the frame limit was sent: {other:?}"),
        }
        assert_eq!(client.rows("SELECT k FROM ks.t WHERE k = 1").await.len(), 1);
        server.stop().await;
    }

    #[tokio::test]
    async fn a_malformed_frame_closes_only_its_connection() {
        let server = TestServer::start().await;
        let mut bad = server.client().await;
        let mut good = server.client().await;
        // A QUERY whose body claims a longer string than it holds.
        let mut frame = vec![4u8, 0, 0, 7, Opcode::Query as u8];
        let body = [0u8, 0, 0, 100, b'x'];
        frame.put_i32(body.len() as i32);
        frame.extend_from_slice(&body);
        bad.send_raw(&frame).await;
        let reply = bad.recv().await;
        assert!(
            matches!(&reply, Some((7, Response::Error(e))) if e.kind == ErrorKind::Protocol),
            "{reply:?}"
        );
        // A frame with a bad version byte is fatal for its connection only.
        bad.send_raw(&[0x42, 0, 0, 8, 7, 0, 0, 0, 0]).await;
        while bad.recv().await.is_some() {}
        assert!(matches!(
            good.query("SELECT release_version FROM system.local").await,
            Response::Result(_)
        ));
        server.stop().await;
    }
}
