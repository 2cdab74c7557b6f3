//! The admin endpoint (HTTP on `admin_port`, default 7199) and the `strata nodetool`
//! client that talks to it.
//!
//! Endpoints: `GET /metrics` (Prometheus text), `GET /health` (the operation mode; 200 when
//! NORMAL, 503 otherwise, for `strata health`), `GET /nodetool/<verb>` for read-only
//! verbs and `POST /nodetool/<verb>` for actions; the body of the answer is what
//! nodetool prints. The endpoint binds to its own `admin_address`, loopback by default,
//! never to the address other nodes and clients use. With `authenticator:
//! PasswordAuthenticator`, every action (POST) needs HTTP basic credentials of a superuser
//! role (`nodetool -u NAME -pw PASSWORD`), as Cassandra's JMX authentication asks nodetool
//! for them; reads (GET: metrics, health, report verbs) stay open to local tools.
//!
//! The server is a few lines of HTTP/1.1 (one request per connection, no keep-alive, no
//! body): an HTTP framework would add a dependency tree for nothing nodetool or a
//! Prometheus scraper needs.
//!
//! Invariants: at most `MAX_CONNECTIONS` connections at once (more wait in the kernel's
//! accept queue), one request per connection, request heads are bounded
//! (`MAX_HEAD_BYTES`) and must arrive within `HEAD_TIMEOUT`, and every verb answers in
//! bounded time except flush/compact/drain, which report when done.

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};

use crate::cluster::nodetool;
use crate::node::{Mode, Node};
use crate::snapshot;
use crate::util::human_bytes;

mod scrub;
mod stats;

const MAX_HEAD_BYTES: usize = 8 * 1024;
const MAX_CONNECTIONS: usize = 16;
const HEAD_TIMEOUT: Duration = Duration::from_secs(5);

/// Serves the admin endpoint until the process exits. `drain` is signalled when an
/// operator asks the node to drain.
pub async fn run(node: Arc<Node>, listener: TcpListener, drain: watch::Sender<bool>) {
    accept(node, listener, Some(Arc::new(drain))).await
}

/// Serves the read-only metrics listener (`metrics_port`) until the process exits: `GET
/// /metrics` and nothing else, so metrics can be exposed without the admin verbs.
pub async fn run_metrics(node: Arc<Node>, listener: TcpListener) {
    accept(node, listener, None).await
}

/// The accept loop of both listeners; `drain` is `None` on the metrics-only one.
async fn accept(node: Arc<Node>, listener: TcpListener, drain: Option<Arc<watch::Sender<bool>>>) {
    let limit = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(permit) = limit.clone().acquire_owned().await else {
            return;
        };
        let Ok((socket, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let node = node.clone();
        let drain = drain.clone();
        tokio::spawn(async move {
            if let Err(e) = serve(node, socket, drain.as_deref()).await {
                tracing::debug!(error = %e, "admin request failed");
            }
            drop(permit);
        });
    }
}

async fn serve(
    node: Arc<Node>,
    mut socket: TcpStream,
    drain: Option<&watch::Sender<bool>>,
) -> std::io::Result<()> {
    // One deadline for the whole head, so a slow client cannot hold a connection slot.
    let Some(head) = tokio::time::timeout(HEAD_TIMEOUT, read_head(&mut socket))
        .await
        .map_err(|_| std::io::ErrorKind::TimedOut)??
    else {
        return Ok(());
    };
    let text = String::from_utf8_lossy(&head);
    let mut parts = text.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let args: Vec<String> = query
        .split('&')
        .filter(|a| !a.is_empty())
        .map(percent_decode)
        .collect();
    tracing::debug!(method, path, "admin request");
    let refused = if method == "POST" && node.config().password_authenticator {
        check_credentials(&node, &text).await.err()
    } else {
        None
    };
    let (status, body) = match (refused, drain) {
        (Some(refusal), _) => refusal,
        (None, Some(drain)) => route(&node, method, path, &args, drain).await,
        (None, None) if (method, path) == ("GET", "/metrics") => ("200 OK", metrics(&node)),
        (None, None) => ("404 Not Found", "only GET /metrics is served here\n".into()),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    socket.write_all(response.as_bytes()).await
}

/// Whether the head carries HTTP basic credentials of a superuser role; the refusal
/// (status and nodetool's message, as Cassandra's JMX authenticator words it) otherwise.
async fn check_credentials(node: &Node, head: &str) -> Result<(), (&'static str, String)> {
    use base64::Engine as _;
    let encoded = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        let value = value.trim();
        let (scheme, token) = value.split_once(' ')?;
        (name.trim().eq_ignore_ascii_case("authorization") && scheme.eq_ignore_ascii_case("basic"))
            .then(|| token.trim().to_string())
    });
    let Some(encoded) = encoded else {
        return Err((
            "401 Unauthorized",
            "error: Authentication failed! Credentials required\n".into(),
        ));
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok());
    let credentials = decoded.as_deref().and_then(|text| text.split_once(':'));
    match credentials {
        Some((user, password))
            if crate::exec::auth::is_superuser_login(node, user, password).await =>
        {
            Ok(())
        }
        _ => Err((
            "401 Unauthorized",
            "error: Authentication failed! Invalid username or password, or not a superuser\n"
                .into(),
        )),
    }
}

/// The request head, or `None` if the client closed early or sent more than `MAX_HEAD_BYTES`.
async fn read_head(socket: &mut TcpStream) -> std::io::Result<Option<Vec<u8>>> {
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = socket.read(&mut buf).await?;
        // `read` returns at most `buf.len()` bytes, so the slice is always there.
        let Some(read) = buf.get(..n).filter(|r| !r.is_empty()) else {
            return Ok(None);
        };
        if head.len() + n > MAX_HEAD_BYTES {
            return Ok(None);
        }
        head.extend_from_slice(read);
    }
    Ok(Some(head))
}

async fn route(
    node: &Arc<Node>,
    method: &str,
    path: &str,
    args: &[String],
    drain: &watch::Sender<bool>,
) -> (&'static str, String) {
    let verb = path.strip_prefix("/nodetool/").unwrap_or(path);
    let args = args.to_vec();
    match (method, path, verb) {
        ("GET", "/metrics", _) => ("200 OK", metrics(node)),
        ("GET", "/health", _) => {
            let mode = node.mode();
            let status = if mode == Mode::Normal {
                "200 OK"
            } else {
                "503 Service Unavailable"
            };
            (status, format!("{}\n", mode.name()))
        }
        ("GET", _, "status") => answer(nodetool::status(&**node, args.first().map(String::as_str))),
        ("GET", _, "ring") => answer(nodetool::ring(&**node, args.first().map(String::as_str))),
        ("GET", _, "getendpoints") => answer(nodetool::getendpoints(&**node, &args)),
        ("GET", _, "gossipinfo") => match node.gossip() {
            Some(gossip) => ("200 OK", gossip.info().await),
            None => ("503 Service Unavailable", "gossip is not running\n".into()),
        },
        ("GET", _, "info") => ("200 OK", info(node)),
        ("GET", _, "describecluster") => ("200 OK", nodetool::describecluster(&**node)),
        ("GET", _, "netstats") => ("200 OK", stats::netstats(node)),
        ("GET", _, "listsnapshots") => cql_blocking(node, snapshot::list).await,
        ("GET", _, "tablestats" | "cfstats") => {
            cql_blocking(node, move |n| snapshot::tablestats(n, &args)).await
        }
        ("GET", _, "version") => ("200 OK", stats::version()),
        ("GET", _, "tpstats") => ("200 OK", stats::tpstats(node)),
        ("GET", _, "compactionstats") => {
            answer(stats::compactionstats(node, &args).map_err(|e| e.to_string()))
        }
        ("GET", _, "proxyhistograms") => ("200 OK", stats::proxyhistograms(node)),
        ("GET", _, "tablehistograms" | "cfhistograms") => {
            cql_blocking(node, move |n| stats::tablehistograms(n, &args)).await
        }
        ("GET", _, "getlogginglevels") => ("200 OK", crate::logging::levels()),
        ("POST", _, "setlogginglevel") => match crate::logging::set_level(&args) {
            Ok(()) => ("200 OK", String::new()),
            Err(e) => ("400 Bad Request", format!("error: {e}\n")),
        },
        ("POST", _, "settraceprobability") => match args.as_slice() {
            [p] => match p.parse::<f64>() {
                Ok(p) if (0.0..=1.0).contains(&p) => {
                    node.traces().set_probability(p);
                    ("200 OK", String::new())
                }
                _ => (
                    "400 Bad Request",
                    "error: Trace probability must be between 0 and 1\n".into(),
                ),
            },
            _ => (
                "400 Bad Request",
                "error: settraceprobability requires a probability between 0 and 1\n".into(),
            ),
        },
        ("POST", _, "removenode") => {
            let host: Arc<dyn crate::cluster::Host> = node.clone();
            answer(nodetool::removenode(&host, &args).await)
        }
        ("POST", _, "snapshot") => cql_blocking(node, move |n| snapshot_verb(n, &args)).await,
        ("POST", _, "clearsnapshot") => {
            cql_blocking(node, move |n| clearsnapshot_verb(n, &args)).await
        }
        ("POST", _, "flush") => blocking(node, |n| n.engine().flush().map(|_| String::new())).await,
        ("POST", _, "scrub") => cql_blocking(node, move |n| scrub::scrub(n, &args)).await,
        ("POST", _, "compact") => {
            blocking(node, |n| n.engine().compact().map(|_| String::new())).await
        }
        ("POST", _, "drain") => {
            // Answered once the node is DRAINED (clients refused, peers told, memtables
            // flushed: crate::run does it), as Cassandra's nodetool drain returns then.
            let mut mode = node.mode_changes();
            let _ = drain.send(true);
            if mode.wait_for(|m| *m == Mode::Drained).await.is_ok() {
                ("200 OK", String::new())
            } else {
                (
                    "500 Internal Server Error",
                    "error: the node stopped before it was drained\n".to_string(),
                )
            }
        }
        _ => (
            "404 Not Found",
            format!("nodetool: unknown command '{verb}'\n"),
        ),
    }
}

fn answer(result: Result<String, String>) -> (&'static str, String) {
    match result {
        Ok(body) => ("200 OK", body),
        Err(e) => ("400 Bad Request", format!("error: {e}\n")),
    }
}

async fn blocking(
    node: &Arc<Node>,
    work: impl FnOnce(&Node) -> Result<String, strata_engine::Error> + Send + 'static,
) -> (&'static str, String) {
    let node = node.clone();
    match tokio::task::spawn_blocking(move || work(&node)).await {
        Ok(Ok(body)) => ("200 OK", body),
        Ok(Err(e)) => ("500 Internal Server Error", format!("error: {e}\n")),
        Err(e) => ("500 Internal Server Error", format!("error: {e}\n")),
    }
}

async fn cql_blocking(
    node: &Arc<Node>,
    work: impl FnOnce(&Node) -> Result<String, crate::error::CqlError> + Send + 'static,
) -> (&'static str, String) {
    let node = node.clone();
    match tokio::task::spawn_blocking(move || work(&node)).await {
        Ok(Ok(body)) => ("200 OK", body),
        Ok(Err(e)) => ("400 Bad Request", format!("error: {e}\n")),
        Err(e) => ("500 Internal Server Error", format!("error: {e}\n")),
    }
}

/// Splits nodetool's `-t TAG` option from the positional targets.
fn tag_and_targets(args: &[String]) -> (Option<String>, Vec<String>, bool) {
    let mut tag = None;
    let mut targets = Vec::new();
    let mut all = false;
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "-t" | "--tag" => tag = iter.next().cloned(),
            "--all" => all = true,
            _ => targets.extend(arg.split(',').filter(|s| !s.is_empty()).map(String::from)),
        }
    }
    (tag, targets, all)
}

fn snapshot_verb(node: &Node, args: &[String]) -> Result<String, crate::error::CqlError> {
    let (tag, targets, _) = tag_and_targets(args);
    let what = if targets.is_empty() {
        "[all keyspaces]".to_string()
    } else {
        format!("[{}]", targets.join(", "))
    };
    let tag = snapshot::take(node, tag, &targets)?;
    Ok(format!("Requested creating snapshot(s) for {what} with snapshot name [{tag}] and options {{skipFlush=false}}\nSnapshot directory: {tag}\n"))
}

fn clearsnapshot_verb(node: &Node, args: &[String]) -> Result<String, crate::error::CqlError> {
    let (tag, keyspaces, all) = tag_and_targets(args);
    if tag.is_none() && !all {
        return Err(crate::error::CqlError::invalid(
            "Specify snapshot name or --all",
        ));
    }
    let removed = snapshot::clear(node, tag.as_deref(), &keyspaces)?;
    Ok(format!(
        "Requested clearing snapshot(s) for {} ({removed} table snapshots)\n",
        tag.as_deref().unwrap_or("[all snapshots]")
    ))
}

/// Decodes `%XX` escapes of a query-string argument.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    while let [first, tail @ ..] = rest {
        let hex = tail
            .get(..2)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (first, hex) {
            (b'%', Some(b)) => {
                out.push(b);
                rest = tail.get(2..).unwrap_or_default();
            }
            (b, _) => {
                out.push(*b);
                rest = tail;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn metrics(node: &Node) -> String {
    let mut text = node.metrics().render(
        &node.engine().stats(),
        commitlog_bytes(&node.config().engine_dir()),
    );
    text.push_str(&format!(
        "# HELP strata_metadata_leader 1 while this node leads the metadata log (Raft).\n\
         # TYPE strata_metadata_leader gauge\nstrata_metadata_leader {}\n",
        u8::from(node.metadata().is_leader())
    ));
    text
}

/// Bytes of the WAL segments in the engine directory (Cassandra's TotalCommitLogSize).
fn commitlog_bytes(engine_dir: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(engine_dir) else {
        return 0;
    };
    entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".wal"))
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum()
}

/// `nodetool info` in Cassandra's layout (the subset that applies).
fn info(node: &Node) -> String {
    let stats = node.engine().stats();
    let uptime = crate::clock::now_secs() - i64::from(node.generation());
    let rows = [
        ("ID", node.host_id().to_string()),
        ("Gossip active", "true".into()),
        ("Native Transport active", "true".into()),
        ("Load", human_bytes(stats.array_bytes)),
        ("Generation No", node.generation().to_string()),
        ("Uptime (seconds)", uptime.to_string()),
        ("Data Center", node.config().dc.clone()),
        ("Rack", node.config().rack.clone()),
        ("Memtable size", human_bytes(stats.memtable_bytes as u64)),
        ("Arrays", stats.arrays.to_string()),
        ("Versions", stats.versions.to_string()),
    ];
    rows.iter()
        .map(|(k, v)| format!("{k:<23}: {v}\n"))
        .collect()
}

/// One request to the admin endpoint: whether it answered 200, and the body.
pub fn request(
    host: &str,
    port: u16,
    method: &str,
    target: &str,
    timeout: Duration,
) -> std::io::Result<(bool, String)> {
    request_as(host, port, method, target, timeout, None)
}

/// `request` with HTTP basic `credentials` (user, password), which actions need when the
/// node has an authenticator.
pub fn request_as(
    host: &str,
    port: u16,
    method: &str,
    target: &str,
    timeout: Duration,
    credentials: Option<(&str, &str)>,
) -> std::io::Result<(bool, String)> {
    use base64::Engine as _;
    let mut stream = std::net::TcpStream::connect((host, port))?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let authorization = credentials.map_or(String::new(), |(user, password)| {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        format!("Authorization: Basic {token}\r\n")
    });
    write!(
        stream,
        "{method} {target} HTTP/1.1\r\nHost: {host}\r\n{authorization}Content-Length: 0\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    Ok((head.starts_with("HTTP/1.1 200"), body.to_string()))
}
