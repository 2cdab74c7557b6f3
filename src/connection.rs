//! One CQL connection: frame I/O through the protocol crate's codec, the handshake,
//! stream-id multiplexing and per-connection bounds.
//!
//! Invariants:
//! - At most `max_inflight_per_connection` requests run at once; past that the socket is
//!   not read (backpressure on the client) instead of buffering requests.
//! - Handshake messages (OPTIONS, STARTUP, REGISTER) are answered inline, so a codec state
//!   change (compression, v5 framing) happens before the next frame is decoded.
//! - A malformed frame closes only this connection; a request that fails (or panics)
//!   gets an ERROR on its own stream and the connection goes on.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::BytesMut;
use strata_protocol::{
    unsupported_version_response, DecodeError, Envelope, Event, EventType, Limits, Opcode, Request,
    Response, ResponseFrame, ServerCodec,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{broadcast, mpsc, watch};

use crate::error::CqlError;
use crate::metrics::Metrics;
use crate::node::Node;
use crate::request::{self, RequestOutcome};
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

/// Per-connection state the request handlers may read.
#[derive(Clone, Debug, Default)]
pub struct Session {
    pub keyspace: Option<String>,
    /// The role that logged in (SASL PLAIN with PasswordAuthenticator); always `None`
    /// without an authenticator, and then nothing is checked.
    pub user: Option<Arc<str>>,
}

struct Connection {
    node: Arc<Node>,
    socket: TcpStream,
    peer: SocketAddr,
    codec: ServerCodec,
    session: Session,
    started: bool,
    events: Option<broadcast::Receiver<Event>>,
    registered: Vec<EventType>,
    responses_tx: mpsc::Sender<(ResponseFrame, Option<String>)>,
    responses_rx: mpsc::Receiver<(ResponseFrame, Option<String>)>,
    inflight: usize,
    /// `max_inflight_per_connection`: request slots, and the reply queue's capacity.
    max_inflight: usize,
    out: BytesMut,
    /// This connection's row of `system_views.clients`, listed until the connection ends.
    client: crate::clients::ClientHandle,
}

pub async fn serve(
    node: Arc<Node>,
    socket: TcpStream,
    peer: SocketAddr,
    stop: watch::Receiver<bool>,
) {
    Metrics::add(&node.metrics().connections_opened, 1);
    let _ = socket.set_nodelay(true);
    let max_inflight = node.config().max_inflight_per_connection.max(1);
    let (responses_tx, responses_rx) = mpsc::channel(max_inflight);
    let codec = ServerCodec::new(Limits::with_max_frame_bytes(node.config().max_frame_bytes));
    let mut connection = Connection {
        node: node.clone(),
        socket,
        peer,
        codec,
        session: Session::default(),
        started: false,
        events: None,
        registered: Vec::new(),
        responses_tx,
        responses_rx,
        inflight: 0,
        max_inflight,
        out: BytesMut::new(),
        client: node.clients().register(peer),
    };
    if let Err(reason) = connection.run(stop).await {
        tracing::debug!(%peer, %reason, "connection closed");
    }
    Metrics::add(&node.metrics().connections_closed, 1);
}

impl Connection {
    async fn run(&mut self, mut stop: watch::Receiver<bool>) -> Result<(), String> {
        let mut input = BytesMut::with_capacity(READ_BUFFER_BYTES);
        let mut eof = false;
        loop {
            // Frames already buffered are decoded only while a request slot is free: the
            // bound holds on what is spawned, not only on what is read.
            self.decode_all(&mut input).await?;
            shrink(&mut input, READ_BUFFER_BYTES);
            if eof && self.inflight == 0 {
                return Ok(());
            }
            tokio::select! {
                read = self.socket.read_buf(&mut input), if !eof && self.inflight < self.max_inflight => {
                    eof = read.map_err(|e| e.to_string())? == 0;
                }
                Some(reply) = self.responses_rx.recv() => self.write_replies(reply).await?,
                event = recv_event(&mut self.events), if !eof => self.forward_event(event).await?,
                _ = stop.changed() => return self.drain().await,
            }
        }
    }

    /// Answers the requests still running, then closes.
    async fn drain(&mut self) -> Result<(), String> {
        while self.inflight > 0 {
            let Some(reply) = self.responses_rx.recv().await else {
                break;
            };
            self.write_replies(reply).await?;
        }
        Ok(())
    }

    /// Decodes and dispatches buffered frames until none is complete or every request
    /// slot is taken.
    async fn decode_all(&mut self, input: &mut BytesMut) -> Result<(), String> {
        while self.inflight < self.max_inflight {
            match self.codec.decode(input) {
                Ok(Some(envelope)) => self.dispatch(envelope).await?,
                Ok(None) => return Ok(()),
                Err(error) => self.reject(error).await?,
            }
        }
        Ok(())
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

    async fn dispatch(&mut self, envelope: Envelope) -> Result<(), String> {
        let stream = envelope.stream;
        let request = match Request::decode(&envelope) {
            Ok(r) => r,
            Err(e) => return self.write(&error_frame(stream, &CqlError::from(e))).await,
        };
        match request {
            Request::Options => {
                self.write(&ResponseFrame::new(stream, request::supported()))
                    .await
            }
            Request::Startup(options) => self.startup(stream, &options).await,
            _ if !self.started => {
                let message = format!(
                    "Unexpected message {}, expecting STARTUP or OPTIONS",
                    opcode_name(envelope.opcode)
                );
                self.write(&error_frame(stream, &CqlError::Protocol(message)))
                    .await
            }
            Request::Register(types) => {
                self.registered = types;
                self.events = Some(self.node.subscribe());
                self.write(&ResponseFrame::new(stream, Response::Ready))
                    .await
            }
            Request::AuthResponse(token) => self.authenticate(stream, token).await,
            _ if self.must_log_in() => {
                let error = CqlError::Unauthorized("You have not logged in".into());
                self.write(&error_frame(stream, &error)).await
            }
            other => {
                // Sampled requests (`nodetool settraceprobability`) are traced too, but
                // only a client that asked gets the session id, as in Cassandra.
                let requested = envelope.tracing_requested();
                let trace =
                    (requested || self.node.traces().sampled()).then(|| self.start_trace(&other));
                self.spawn(stream, other, trace, requested).await
            }
        }
    }

    async fn startup(
        &mut self,
        stream: i16,
        options: &std::collections::BTreeMap<String, String>,
    ) -> Result<(), String> {
        if !options
            .keys()
            .any(|k| k.eq_ignore_ascii_case("CQL_VERSION"))
        {
            let error = CqlError::Protocol("Missing value CQL_VERSION in STARTUP message".into());
            return self.write(&error_frame(stream, &error)).await;
        }
        let compression = options
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("COMPRESSION"))
            .map(|(_, v)| v.as_str());
        if let Err(e) = self.codec.set_compression(compression) {
            return self.write(&error_frame(stream, &CqlError::from(e))).await;
        }
        self.started = true;
        self.client
            .started(options, self.codec.version().map(|v| v.number()));
        let reply = if self.node.config().password_authenticator {
            Response::Authenticate(crate::auth::PASSWORD_AUTHENTICATOR.into())
        } else {
            Response::Ready
        };
        self.write(&ResponseFrame::new(stream, reply)).await
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
                self.session.user = Some(user.into());
                self.write(&ResponseFrame::new(stream, Response::AuthSuccess(None)))
                    .await
            }
            Err(error) => self.write(&error_frame(stream, &error)).await,
        }
    }

    /// Runs a query-class request on its own task. Its reply slot is reserved first (the
    /// queue holds `max_inflight` replies and at most that many requests run), so the
    /// guard can always answer on the stream, even if the handler panics.
    async fn spawn(
        &mut self,
        stream: i16,
        request: Request,
        mut trace: Option<ActiveTrace>,
        reply_trace: bool,
    ) -> Result<(), String> {
        let Ok(slot) = self.responses_tx.clone().try_reserve_owned() else {
            // Unreachable while `inflight` counts every reserved slot; refuse rather than wait.
            let error =
                CqlError::Overloaded("Too many requests in flight on this connection".into());
            return self.write(&error_frame(stream, &error)).await;
        };
        self.inflight += 1;
        self.client.request();
        let node = self.node.clone();
        let session = self.session.clone();
        let guard = ReplyGuard {
            slot: Some(slot),
            stream,
        };
        tokio::spawn(async move {
            #[cfg(test)]
            tests::seam(&request).await;
            let started = Instant::now();
            let RequestOutcome {
                response,
                keyspace,
                event,
                warnings,
            } = request::handle(&node, &session, request).await;
            let tracing_id = trace.take().map(|mut trace| {
                trace.event("Request complete");
                let id = trace.session_id();
                node.traces().finish(trace);
                *id.as_bytes()
            });
            if let Response::Error(error) = &response {
                node.metrics().error(error.kind.code());
            }
            Metrics::add(&node.metrics().requests, 1);
            Metrics::add(
                &node.metrics().request_micros_total,
                started.elapsed().as_micros() as u64,
            );
            if let Some(event) = event {
                node.publish(event);
            }
            let mut frame = ResponseFrame::new(stream, response);
            frame.warnings = warnings;
            frame.tracing_id = tracing_id.filter(|_| reply_trace);
            guard.send(frame, keyspace);
        });
        Ok(())
    }

    /// A trace of `request`, named and described as Cassandra does.
    fn start_trace(&self, request: &Request) -> ActiveTrace {
        let coordinator = self.socket.local_addr().unwrap_or(self.peer);
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
        let mut trace = ActiveTrace::start(self.peer, coordinator, command, description);
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

    /// Writes `first` and every reply already waiting, in one socket write: under load
    /// this saves a system call per response.
    async fn write_replies(
        &mut self,
        first: (ResponseFrame, Option<String>),
    ) -> Result<(), String> {
        let mut next = Some(first);
        while let Some((frame, keyspace)) = next.take() {
            self.inflight -= 1;
            if let Some(ks) = keyspace {
                self.client.set_keyspace(&ks);
                self.session.keyspace = Some(ks);
            }
            self.encode(&frame)?;
            if self.out.len() < COALESCE_BYTES {
                next = self.responses_rx.try_recv().ok();
            }
        }
        self.flush().await
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
            tracing::warn!(peer = %self.peer, error = %e, "cannot encode response");
            self.out.truncate(start);
            let error = CqlError::Server(format!("cannot encode response: {e}"));
            self.codec
                .encode(&error_frame(frame.stream, &error), &mut self.out)
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), String> {
        self.socket
            .write_all(&self.out)
            .await
            .map_err(|e| e.to_string())?;
        self.out.clear();
        shrink(&mut self.out, 0);
        Ok(())
    }
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

/// A reply slot reserved in the connection's queue for one request.
type ReplySlot = mpsc::OwnedPermit<(ResponseFrame, Option<String>)>;

/// Sends a request's reply into its reserved slot; if dropped unsent (the handler
/// panicked), sends a server error instead. Neither can fail for want of queue space.
struct ReplyGuard {
    slot: Option<ReplySlot>,
    stream: i16,
}

impl ReplyGuard {
    fn send(mut self, frame: ResponseFrame, keyspace: Option<String>) {
        if let Some(slot) = self.slot.take() {
            slot.send((frame, keyspace));
        }
    }
}

impl Drop for ReplyGuard {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.take() {
            let error = CqlError::Server("internal error while executing the request".into());
            slot.send((error_frame(self.stream, &error), None));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use bytes::BufMut;
    use strata_protocol::{ErrorKind, Opcode, Request, Response};

    use crate::testing::{TestClient, TestServer};

    /// Queries with these texts panic or stall in the request task (a test seam: no real
    /// statement panics on purpose).
    const PANIC: &str = "-- test: panic";
    const STALL: &str = "-- test: stall";
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
