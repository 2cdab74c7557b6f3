//! Strata: a Cassandra-compatible database on a stratified B-tree.
//!
//! Layout (see ARCHITECTURE.md for the invariants of each module):
//! - `config`: cassandra.yaml keys, CASSANDRA_* variables, flags.
//! - `server`, `connection`, `request`: the CQL listener, one task per connection, and
//!   query-class requests.
//! - `cql`: syntax-only lexer and parser. `types`: CQL types and value codecs.
//! - `exec`: semantics and execution of statements. `schema`: catalog and its persistence.
//! - `storage`: the CQL data model as engine keys. `cluster`: coordinator, ring, replicas.
//! - `system`: generated system tables. `admin`: admin HTTP endpoint and nodetool.
//! - `error`: the one mapping of errors to CQL error codes.

// Client input, and bytes read back from disk, must never panic the server: the lints of
// the protocol and engine crates, for the whole crate outside tests, with no module
// exempt. The few `#[allow]`s left each name the invariant that keeps them safe.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod admin;
pub mod auth;
pub mod clients;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod connection;
pub mod cql;
pub mod damage;
pub mod error;
pub mod exec;
pub mod health;
pub mod logging;
pub mod metrics;
pub mod node;
pub mod nodetool;
pub mod prepared_cache;
pub mod request;
pub mod schema;
pub mod server;
#[cfg(test)]
mod sim;
pub mod snapshot;
pub mod storage;
pub mod system;
#[cfg(test)]
pub(crate) mod test_dir;
#[cfg(test)]
pub(crate) mod test_rng;
#[cfg(test)]
pub(crate) mod testing;
pub mod tls;
pub mod trace;
pub mod types;
pub mod util;
pub mod version;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::Config;
use crate::node::{Mode, Node};
use crate::tls::Encryption;

/// Opens the node and serves CQL (and the admin endpoint) until Ctrl-C, SIGTERM or
/// `nodetool drain`; then stops accepting clients and flushes. After a signal it returns
/// (exit code 0), which is what `docker stop` expects of the container's PID 1 (signals it
/// does not handle are ignored there, so SIGTERM must be caught here). After `nodetool
/// drain` the process stays up, DRAINED, until a signal, as Cassandra's does: the operator
/// restarts it, and meanwhile `strata health` (the image's HEALTHCHECK) reports it unhealthy.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let cql_addr = SocketAddr::new(config.rpc_address, config.native_transport_port);
    let admin_addr = SocketAddr::new(config.admin_address, config.admin_port);
    if !config.ignored_properties.is_empty() {
        tracing::warn!(
            "cassandra.yaml properties Strata does not implement, ignored: [{}]",
            config.ignored_properties.join(", ")
        );
    }
    tracing::info!(
        "Strata {} (Cassandra {} compatible), cluster '{}', data directory {}",
        env!("CARGO_PKG_VERSION"),
        version::RELEASE_VERSION,
        config.cluster_name,
        config.data_dir.display()
    );
    // Includes the memory bound (ARCHITECTURE.md): memtable x 3 + block cache + connections.
    tracing::info!("Configuration: {}", config.summary());
    // TLS files are read and checked before the data directory is touched.
    let encryption = tls::Encryption::for_clients(&config.client_encryption)?;
    // Cassandra's native_transport_port_ssl: TLS there, plain text on the native port.
    let ssl_port = config
        .native_transport_port_ssl
        .filter(|p| *p != config.native_transport_port && !matches!(encryption, Encryption::Plain));
    let ssl_addr = ssl_port.map(|p| SocketAddr::new(config.rpc_address, p));
    let node = Node::open(config).await?;
    exec::serve_truncate(&node);
    exec::auth::store::setup(&node)
        .await
        .map_err(|e| anyhow::anyhow!("cannot set up system_auth: {e}"))?;
    let listener = bind_cql(cql_addr).await?;
    let (main_encryption, ssl_listener) = match ssl_addr {
        Some(addr) => (
            Encryption::Plain,
            Some((bind_cql(addr).await?, addr, encryption)),
        ),
        None => (encryption, None),
    };
    let (drain_tx, mut drain_rx) = watch::channel(false);
    if admin_addr.port() != 0 {
        let admin = TcpListener::bind(admin_addr)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen for admin on {admin_addr}: {e}"))?;
        tracing::info!("Admin endpoint (nodetool, /metrics) on http://{admin_addr}/");
        tokio::spawn(admin::run(node.clone(), admin, drain_tx));
    }
    if let Some(metrics_addr) = node.config().metrics_listener() {
        let metrics = TcpListener::bind(metrics_addr)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen for metrics on {metrics_addr}: {e}"))?;
        tracing::info!("Metrics (read-only) on http://{metrics_addr}/metrics");
        tokio::spawn(admin::run_metrics(node.clone(), metrics));
    }
    tracing::info!(host_id = %node.host_id(), "Starting listening for CQL clients on {cql_addr} ({})...", main_encryption.describe());
    let (stop_ssl, ssl_stopped) = watch::channel(false);
    let ssl_task = ssl_listener.map(|(listener, addr, encryption)| {
        tracing::info!(
            "Starting listening for CQL clients on {addr} ({})...",
            encryption.describe()
        );
        let mut stopped = ssl_stopped.clone();
        tokio::spawn(server::run(
            node.clone(),
            listener,
            encryption,
            async move {
                let _ = stopped.wait_for(|s| *s).await;
            },
        ))
    });
    if let Some(gossip) = node.gossip() {
        gossip.set_rpc_ready(true).await;
    }
    node.set_mode(Mode::Normal);
    let mut stop_requested = drain_rx.clone();
    let mut transport_stopped = node.disk_failure().transport_stopped();
    // Whether serving ended by `nodetool drain` (the process then stays up) or by a signal.
    let by_drain = Arc::new(AtomicBool::new(false));
    let shutdown = {
        let by_drain = by_drain.clone();
        async move {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate() => {}
                _ = drain_rx.wait_for(|d| *d) => by_drain.store(true, Ordering::Relaxed),
                _ = transport_stopped.wait_for(|s| *s) => {}
            }
        }
    };
    server::run(node.clone(), listener, main_encryption, shutdown).await;
    let _ = stop_ssl.send(true);
    if let Some(task) = ssl_task {
        let _ = task.await;
    }
    if *node.disk_failure().transport_stopped().borrow() {
        // disk_failure_policy stopped the native transport: the process stays up (admin
        // endpoint included) for inspection until it is stopped.
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate() => {}
            _ = stop_requested.wait_for(|d| *d) => by_drain.store(true, Ordering::Relaxed),
        }
    }
    // Listening for the stop signal starts before the drain, so one sent during it counts.
    let stop_signal = by_drain.load(Ordering::Relaxed).then(|| {
        tokio::spawn(async {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate() => {}
            }
        })
    });
    node.set_mode(Mode::Draining);
    tracing::info!("Stopping: flushing memtables");
    // Peers tell their drivers this node is DOWN now rather than when their failure
    // detectors convict it, as Cassandra's drain does; the flush runs meanwhile.
    let announce = async {
        if let Some(gossip) = node.gossip() {
            gossip.announce_stopping().await;
        }
    };
    let engine = node.engine().clone();
    let (_, flushed) = tokio::join!(
        announce,
        tokio::task::spawn_blocking(move || engine.flush())
    );
    flushed??;
    node.set_mode(Mode::Drained);
    if let Some(stop_signal) = stop_signal {
        tracing::info!("Drained; serving no clients until the process is stopped");
        let _ = stop_signal.await;
    }
    tracing::info!("Drained; exiting");
    Ok(())
}

async fn bind_cql(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen for CQL on {addr}: {e}"))
}

#[cfg(unix)]
async fn terminate() {
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut s) => {
            s.recv().await;
        }
        Err(_) => std::future::pending().await,
    }
}

#[cfg(not(unix))]
async fn terminate() {
    std::future::pending().await
}
