//! The CQL listener: accepts connections up to a bound and runs one task per connection.
//!
//! Invariants:
//! - At most `max_connections` connections are served at once; further clients wait in
//!   the kernel's accept queue rather than consuming memory here.
//! - Shutdown stops accepting and lets each connection finish its in-flight requests.
//! - The TLS handshake (if any) runs in the connection's own task, holding its slot, so a
//!   slow or plain-text client on a TLS port delays nobody else.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

use crate::connection;
use crate::node::Node;
use crate::tls::Encryption;

/// Accepts CQL connections on `listener` until `shutdown` completes, wrapping each socket
/// as `encryption` says.
pub async fn run(
    node: Arc<Node>,
    listener: TcpListener,
    encryption: Encryption,
    shutdown: impl Future<Output = ()>,
) {
    let limit = Arc::new(Semaphore::new(node.config().max_connections));
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::pin!(shutdown);
    let mut backoff = Duration::from_millis(1);
    loop {
        let permit = tokio::select! {
            _ = &mut shutdown => break,
            permit = limit.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let accepted = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((socket, peer)) => {
                backoff = Duration::from_millis(1);
                let node = node.clone();
                let stop = stop_rx.clone();
                let _ = socket.set_nodelay(true);
                let endpoints = connection::Endpoints {
                    peer,
                    local: socket.local_addr().unwrap_or(peer),
                };
                let encryption = encryption.clone();
                tokio::spawn(async move {
                    match encryption.accept(socket).await {
                        Ok(stream) => {
                            let tls = stream.tls_session();
                            connection::serve(node, stream, endpoints, tls, stop).await
                        }
                        // A plain-text client on a TLS-only port lands here too.
                        Err(e) => {
                            tracing::info!(%peer, error = %e, "TLS handshake failed; connection closed")
                        }
                    }
                    drop(permit);
                });
            }
            Err(e) => {
                // Usually out of file descriptors: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
            }
        }
    }
    let _ = stop_tx.send(true);
}
