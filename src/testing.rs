//! In-process server harness for tests: a real node (engine on a temporary directory)
//! served by `server::run` on a loopback port, and a minimal protocol v4 client. Tests
//! talk to it over a real socket, as a driver would, without spawning the binary.
//!
//! Every wait is bounded (`REPLY_TIMEOUT`), so a server that never answers fails the test
//! instead of hanging it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use strata_protocol::frame::{flags, RawHeader, HEADER_LEN};
use strata_protocol::types::Reader;
use strata_protocol::{
    Consistency, ErrorKind, Opcode, ProtocolVersion, QueryParams, Request, Response, ResultBody,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::node::Node;

/// Longest wait for one reply before a test gives up.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

pub use crate::test_dir::TempDir;

/// A node on a temporary directory with test-sized budgets and no admin endpoint.
pub fn test_config(dir: &TempDir) -> Config {
    Config {
        data_dir: dir.path().to_path_buf(),
        admin_port: 0,
        native_transport_port: 0,
        // Messaging and gossip on ephemeral ports: tests run many nodes at once.
        storage_port: 0,
        memtable_bytes: 4 << 20,
        block_cache_bytes: 4 << 20,
        ..Config::default()
    }
}

/// A node serving CQL on 127.0.0.1 (an ephemeral port) until `stop` or drop.
pub struct TestServer {
    pub node: Arc<Node>,
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    _dir: TempDir,
}

impl TestServer {
    pub async fn start() -> TestServer {
        TestServer::with_config(|_| {}).await
    }

    /// Starts a server whose configuration `adjust` may change first.
    pub async fn with_config(adjust: impl FnOnce(&mut Config)) -> TestServer {
        let dir = TempDir::new("server");
        let mut config = test_config(&dir);
        adjust(&mut config);
        let node = Node::open(config).await.expect("open node");
        crate::exec::auth::store::setup(&node)
            .await
            .expect("set up system_auth");
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(crate::server::run(
            node.clone(),
            listener,
            crate::tls::Encryption::Plain,
            async move {
                let _ = stopped.await;
            },
        ));
        TestServer {
            node,
            addr,
            stop: Some(stop),
            task: Some(task),
            _dir: dir,
        }
    }

    /// A server with keyspace `ks` (replication factor 1) on which `statements` ran, and a
    /// started client.
    pub async fn with_schema(statements: &[&str]) -> (TestServer, TestClient) {
        let server = TestServer::start().await;
        let mut client = server.client().await;
        client.create_keyspace("ks").await;
        for cql in statements {
            client.run(cql).await;
        }
        (server, client)
    }

    /// A connection that completed STARTUP.
    pub async fn client(&self) -> TestClient {
        let mut client = TestClient::connect(self.addr).await;
        client.startup().await;
        client
    }

    /// Stops accepting, lets connections finish and waits for the listener task.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(REPLY_TIMEOUT, task).await;
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A protocol v4 client without compression: enough to drive the server from tests.
pub struct TestClient {
    socket: TcpStream,
    input: BytesMut,
}

impl TestClient {
    pub async fn connect(addr: SocketAddr) -> TestClient {
        let socket = TcpStream::connect(addr).await.expect("connect");
        TestClient {
            socket,
            input: BytesMut::new(),
        }
    }

    /// The bytes of one v4 request envelope.
    pub fn envelope(stream: i16, request: &Request) -> BytesMut {
        let mut body = BytesMut::new();
        request
            .encode(ProtocolVersion::V4, &mut body)
            .expect("encode request");
        let mut out = BytesMut::with_capacity(HEADER_LEN + body.len());
        out.put_u8(ProtocolVersion::V4.number());
        out.put_u8(0);
        out.put_i16(stream);
        out.put_u8(request.opcode() as u8);
        out.put_i32(i32::try_from(body.len()).expect("body size"));
        out.put_slice(&body);
        out
    }

    pub fn query_request(cql: &str) -> Request {
        Request::Query {
            query: cql.to_string(),
            params: QueryParams::new(Consistency::One),
        }
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.socket.write_all(bytes).await.expect("send");
    }

    pub async fn send(&mut self, stream: i16, request: &Request) {
        self.send_raw(&TestClient::envelope(stream, request)).await;
    }

    /// The next response and its stream; `None` once the server closed the connection.
    pub async fn recv(&mut self) -> Option<(i16, Response)> {
        tokio::time::timeout(REPLY_TIMEOUT, self.recv_unbounded())
            .await
            .expect("no reply within the timeout")
    }

    async fn recv_unbounded(&mut self) -> Option<(i16, Response)> {
        loop {
            if let Some(header) = RawHeader::peek(&self.input) {
                let length = usize::try_from(header.length).expect("response length");
                if self.input.len() >= HEADER_LEN + length {
                    self.input.advance(HEADER_LEN);
                    let mut body = Reader::new(self.input.split_to(length).freeze());
                    // What precedes the message (a tracing id, warnings) is not checked here.
                    if header.flags & flags::TRACING != 0 {
                        body.take(16, "tracing id").expect("tracing id");
                    }
                    if header.flags & flags::WARNING != 0 {
                        body.read_string_list("warnings").expect("warnings");
                    }
                    let opcode = Opcode::try_from(header.opcode).expect("response opcode");
                    let response = Response::decode(ProtocolVersion::V4, opcode, body.into_rest())
                        .expect("decode response");
                    return Some((header.stream, response));
                }
            }
            if self.socket.read_buf(&mut self.input).await.ok()? == 0 {
                return None;
            }
        }
    }

    pub async fn startup(&mut self) {
        let options = BTreeMap::from([("CQL_VERSION".to_string(), "3.0.0".to_string())]);
        self.send(0, &Request::Startup(options)).await;
        let reply = self.recv().await;
        assert!(
            matches!(reply, Some((0, Response::Ready))),
            "STARTUP answered with {reply:?}"
        );
    }

    /// Runs one statement on stream 1 and returns its response.
    pub async fn query(&mut self, cql: &str) -> Response {
        self.query_with(cql, QueryParams::new(Consistency::One))
            .await
    }

    /// Runs one statement that must succeed.
    pub async fn run(&mut self, cql: &str) {
        let reply = self.query(cql).await;
        assert!(matches!(reply, Response::Result(_)), "{cql}: {reply:?}");
    }

    /// Creates keyspace `name` on this node alone (SimpleStrategy, replication factor 1).
    pub async fn create_keyspace(&mut self, name: &str) {
        self.run(&format!(
            "CREATE KEYSPACE {name} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}"
        ))
        .await;
    }

    /// The rows of a statement that must return rows.
    pub async fn rows(&mut self, cql: &str) -> Vec<Vec<Option<Bytes>>> {
        match self.query(cql).await {
            Response::Result(ResultBody::Rows(rows)) => rows.rows,
            other => panic!("{cql}: {other:?}"),
        }
    }

    /// The message of a statement that must fail with InvalidRequest.
    pub async fn invalid(&mut self, cql: &str) -> String {
        match self.query(cql).await {
            Response::Error(e) if e.kind == ErrorKind::Invalid => e.message,
            other => panic!("{cql}: expected InvalidRequest, got {other:?}"),
        }
    }

    /// Runs one statement with `params` (page size, paging state...) on stream 1.
    pub async fn query_with(&mut self, cql: &str, params: QueryParams) -> Response {
        let request = Request::Query {
            query: cql.to_string(),
            params,
        };
        self.send(1, &request).await;
        match self.recv().await {
            Some((1, response)) => response,
            other => panic!("{cql}: unexpected reply {other:?}"),
        }
    }
}
