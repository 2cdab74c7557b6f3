//! `idle-connections`: opens N raw connections, hand-shakes each, holds them for a while, then
//! checks that the server still answers on every one of them.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};
use serde::Serialize;
use tokio::net::TcpStream;

use crate::handshake::{self, HandshakeError, OPCODE_OPTIONS, OPCODE_SUPPORTED};

/// Handshakes in flight at once: enough to open 1,000 connections in well under a second
/// without a connect storm that would overflow the server's accept backlog.
const CONNECT_PARALLELISM: usize = 64;

#[derive(Debug, Clone)]
pub struct IdleConfig {
    pub addr: SocketAddr,
    pub count: usize,
    pub hold: Duration,
    /// Bound on each connect and on each request/reply exchange.
    pub io_timeout: Duration,
}

#[derive(Debug, Serialize)]
pub struct IdleReport {
    pub requested: usize,
    pub handshaken: usize,
    pub handshake_failures: usize,
    pub handshake_secs: f64,
    pub held_secs: f64,
    /// Connections that still answered OPTIONS after the hold.
    pub alive_after_hold: usize,
    /// The first failure (handshake or final liveness check), if any.
    pub first_error: Option<String>,
}

pub async fn run_idle(config: &IdleConfig) -> IdleReport {
    let started = Instant::now();
    let attempts: Vec<Result<TcpStream, HandshakeError>> = stream::iter(0..config.count)
        .map(|_| open_handshaken(config.addr, config.io_timeout))
        .buffer_unordered(CONNECT_PARALLELISM)
        .collect()
        .await;
    let handshake_secs = started.elapsed().as_secs_f64();
    let mut first_error = None;
    let mut sockets = Vec::with_capacity(attempts.len());
    for attempt in attempts {
        match attempt {
            Ok(socket) => sockets.push(socket),
            Err(e) => {
                first_error.get_or_insert_with(|| format!("handshake: {e}"));
            }
        }
    }
    let handshaken = sockets.len();
    println!("idle-connections: {handshaken}/{} handshaken in {handshake_secs:.2}s; holding {:?}", config.count, config.hold);
    let hold_started = Instant::now();
    tokio::time::sleep(config.hold).await;
    let held_secs = hold_started.elapsed().as_secs_f64();
    let (alive_after_hold, liveness_error) = count_alive(sockets, config.io_timeout).await;
    if let Some(e) = liveness_error {
        first_error.get_or_insert_with(|| format!("after hold: {e}"));
    }
    IdleReport {
        requested: config.count,
        handshaken,
        handshake_failures: config.count - handshaken,
        handshake_secs,
        held_secs,
        alive_after_hold,
        first_error,
    }
}

async fn open_handshaken(addr: SocketAddr, io_timeout: Duration) -> Result<TcpStream, HandshakeError> {
    let mut socket = tokio::time::timeout(io_timeout, TcpStream::connect(addr))
        .await
        .map_err(|_| HandshakeError::Timeout(io_timeout))??;
    socket.set_nodelay(true)?;
    handshake::handshake(&mut socket, io_timeout).await?;
    Ok(socket)
}

/// Sends OPTIONS on every held connection; returns how many answered and the first failure.
async fn count_alive(sockets: Vec<TcpStream>, io_timeout: Duration) -> (usize, Option<String>) {
    let results: Vec<Result<(), HandshakeError>> = stream::iter(sockets)
        .map(|mut socket| async move {
            handshake::exchange(&mut socket, 2, OPCODE_OPTIONS, &[], OPCODE_SUPPORTED, io_timeout).await
        })
        .buffer_unordered(CONNECT_PARALLELISM)
        .collect()
        .await;
    let alive = results.iter().filter(|r| r.is_ok()).count();
    let first_error = results.into_iter().find_map(|r| r.err()).map(|e| e.to_string());
    (alive, first_error)
}

impl IdleReport {
    pub fn print(&self) {
        println!(
            "idle-connections: requested {}, handshaken {}, failed {}, alive after {:.1}s hold: {}",
            self.requested, self.handshaken, self.handshake_failures, self.held_secs, self.alive_after_hold
        );
        if let Some(e) = &self.first_error {
            println!("idle-connections: first error: {e}");
        }
    }
}
