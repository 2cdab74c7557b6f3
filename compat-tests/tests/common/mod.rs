//! The test harness shared by the scylla-driver suites: a strata node started from
//! `STRATA_BIN` (default: `../target/release/strata` relative to this crate) on free loopback
//! ports with a temp data dir, and a few query helpers. A drop guard kills the node even when
//! the test panics.

use std::error::Error;
use std::fs::File;
use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::deserialize::row::DeserializeRow;
use scylla::frame::Compression;
use tempfile::TempDir;

pub type TestResult = Result<(), Box<dyn Error>>;

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
const STOP_TIMEOUT: Duration = Duration::from_secs(15);
pub const CLUSTER_NAME: &str = "Strata Rust Compat";

/// A running strata node; dropping it kills the process and removes its data dir.
pub struct StrataNode {
    child: Child,
    host: IpAddr,
    ports: NodePorts,
    log_path: PathBuf,
    _data_dir: TempDir,
}

impl StrataNode {
    pub fn start() -> Result<Self, Box<dyn Error>> {
        let [native, storage, admin] = free_ports::<3>(LOOPBACK)?;
        let ports = NodePorts {
            native,
            storage,
            admin,
        };
        let mut node = StrataNode::launch(LOOPBACK, ports, &[])?;
        node.wait_until_listening()?;
        Ok(node)
    }

    /// Starts a node on `host` with `ports` and `extra` flags, without waiting for it to
    /// listen (the nodes of a cluster start together).
    pub fn launch(host: IpAddr, ports: NodePorts, extra: &[&str]) -> Result<Self, Box<dyn Error>> {
        let binary = strata_binary();
        if !binary.is_file() {
            return Err(format!(
                "strata binary not found at {} (build it or set STRATA_BIN)",
                binary.display()
            )
            .into());
        }
        let data_dir = tempfile::Builder::new()
            .prefix("strata-rust-compat-")
            .tempdir()?;
        let log_path = data_dir.path().join("strata-stderr.log");
        let host_arg = host.to_string();
        let child = Command::new(&binary)
            .arg("--data-dir")
            .arg(data_dir.path().join("data"))
            .args(["--rpc-address", &host_arg, "--listen-address", &host_arg])
            .args(["--admin-address", &host_arg])
            .args(["--native-port", &ports.native.to_string()])
            .args(["--storage-port", &ports.storage.to_string()])
            .args(["--admin-port", &ports.admin.to_string()])
            .args(["--cluster-name", CLUSTER_NAME])
            .args(extra)
            .current_dir(data_dir.path())
            .stdin(Stdio::null())
            .stdout(File::create(data_dir.path().join("strata-stdout.log"))?)
            .stderr(File::create(&log_path)?)
            .spawn()?;
        Ok(StrataNode {
            child,
            host,
            ports,
            log_path,
            _data_dir: data_dir,
        })
    }

    pub fn host(&self) -> IpAddr {
        self.host
    }

    /// Graceful stop (SIGTERM, as `kill`), waiting at most `STOP_TIMEOUT` before SIGKILL.
    pub fn stop(&mut self) -> Result<(), Box<dyn Error>> {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status()?;
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }

    /// Runs `strata nodetool` against this node's admin endpoint; its output.
    pub fn nodetool(&self, args: &[&str]) -> Result<String, Box<dyn Error>> {
        let out = Command::new(strata_binary())
            .args(["nodetool", "--host", &self.host.to_string()])
            .args(["--port", &self.ports.admin.to_string()])
            .args(args)
            .output()?;
        if !out.status.success() {
            return Err(format!(
                "nodetool {args:?}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
            .into());
        }
        Ok(String::from_utf8(out.stdout)?)
    }

    pub fn address(&self) -> SocketAddr {
        SocketAddr::new(self.host, self.ports.native)
    }

    pub fn wait_until_listening(&mut self) -> Result<(), Box<dyn Error>> {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                return Err(format!("strata exited early ({status})\n{}", self.log_tail()).into());
            }
            if TcpStream::connect_timeout(&self.address(), Duration::from_millis(500)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(format!(
            "strata did not listen within {STARTUP_TIMEOUT:?}\n{}",
            self.log_tail()
        )
        .into())
    }

    fn log_tail(&self) -> String {
        let mut text = String::new();
        if let Ok(mut file) = File::open(&self.log_path) {
            // Best effort: this only decorates an error message.
            let _ = file.read_to_string(&mut text);
        }
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(40)..].join("\n");
        format!("--- tail of {} ---\n{tail}", self.log_path.display())
    }

    pub async fn session(
        &self,
        compression: Option<Compression>,
    ) -> Result<Session, Box<dyn Error>> {
        let session = SessionBuilder::new()
            .known_node_addr(self.address())
            .compression(compression)
            .connection_timeout(Duration::from_secs(10))
            .build()
            .await
            .map_err(|err| format!("connect failed: {err}\n{}", self.log_tail()))?;
        Ok(session)
    }
}

impl Drop for StrataNode {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.log_tail());
        }
        // The process may already be gone; nothing useful to do about errors here.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A node's CQL, internode and admin ports.
#[derive(Clone, Copy, Debug)]
pub struct NodePorts {
    pub native: u16,
    pub storage: u16,
    pub admin: u16,
}

fn strata_binary() -> PathBuf {
    std::env::var("STRATA_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release/strata")
        })
}

pub fn free_port(host: IpAddr) -> std::io::Result<u16> {
    Ok(free_ports::<1>(host)?[0])
}

/// `N` distinct ports nothing listens on right now. The listeners stay open until all are
/// chosen: released one by one, the OS may hand the same port out twice in a row (seen in CI:
/// a node given one port for storage and admin exited with "Address already in use").
pub fn free_ports<const N: usize>(host: IpAddr) -> std::io::Result<[u16; N]> {
    let mut listeners = Vec::with_capacity(N);
    let mut ports = [0; N];
    for port in &mut ports {
        let listener = TcpListener::bind((host, 0))?;
        *port = listener.local_addr()?.port();
        listeners.push(listener);
    }
    Ok(ports)
}

pub async fn create_keyspace(session: &Session, keyspace: &str) -> TestResult {
    session
        .query_unpaged(
            format!(
                "CREATE KEYSPACE {keyspace} WITH replication = \
                 {{'class': 'SimpleStrategy', 'replication_factor': 1}}"
            ),
            &[],
        )
        .await?;
    Ok(())
}

/// A fresh node, a session on it, and keyspace `keyspace` holding the table `table_ddl` creates.
pub async fn node_with_table(
    keyspace: &str,
    table_ddl: &str,
    compression: Option<Compression>,
) -> Result<(StrataNode, Session), Box<dyn Error>> {
    let node = StrataNode::start()?;
    let session = node.session(compression).await?;
    create_keyspace(&session, keyspace).await?;
    session.query_unpaged(table_ddl, &[]).await?;
    Ok((node, session))
}

/// Every row of an unpaged query, deserialized as `R`.
pub async fn select_all<R>(session: &Session, cql: &str) -> Result<Vec<R>, Box<dyn Error>>
where
    R: for<'frame> DeserializeRow<'frame, 'frame>,
{
    let result = session.query_unpaged(cql, &[]).await?.into_rows_result()?;
    let rows = result.rows::<R>()?.collect::<Result<Vec<R>, _>>()?;
    Ok(rows)
}
