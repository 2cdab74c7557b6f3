//! The simulation's internode network (`messaging::Network`): in-memory byte pipes between
//! node addresses, with seeded faults.
//!
//! - Delay: every write reaches the reader after a random delay (up to `max_delay_ms`),
//!   in order (a chunk never overtakes the one written before it on its connection).
//! - Loss: a stream cannot lose bytes without corrupting its framing, so a message is lost
//!   as TCP loses it when the peer gives up: each write resets its whole connection with
//!   probability `loss_percent`, and whatever both directions had in flight is gone.
//!   Messaging reconnects; the requests on it time out.
//! - Partition: a cut pair of nodes cannot connect, and a write on a connection between
//!   them resets it (what was already on the wire still arrives).
//! - Crash: a node whose runtime is dropped drops its halves (its peers read EOF) and its
//!   listener (connections to it are refused until it binds again).

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::mpsc;
use tokio::time::{Instant, Sleep};

use crate::cluster::messaging::{Connection, Listener, Network};
use crate::test_rng::LinkFaults;

struct State {
    listeners: HashMap<SocketAddr, mpsc::UnboundedSender<Connection>>,
    /// Decided per write: a lost write resets its connection.
    faults: LinkFaults,
}

/// The whole network; `node` gives one node's view of it (connections from its address).
#[derive(Clone)]
pub struct SimNet(Arc<Mutex<State>>);

impl SimNet {
    pub fn new(seed: u64, loss_percent: u64, max_delay_ms: u64) -> SimNet {
        SimNet(Arc::new(Mutex::new(State {
            listeners: HashMap::new(),
            faults: LinkFaults::new(seed, loss_percent, max_delay_ms),
        })))
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The network as the node at `me` (its internode address) uses it.
    pub fn node(&self, me: SocketAddr) -> Arc<dyn Network> {
        Arc::new(NodeNet {
            net: self.clone(),
            me,
        })
    }

    /// Cuts (or heals) every link between `a` and `b`.
    pub fn partition(&self, a: &[SocketAddr], b: &[SocketAddr], cut: bool) {
        self.state().faults.partition(a, b, cut);
    }

    /// Sets the loss rate (0 heals the links).
    pub fn set_loss(&self, loss_percent: u64) {
        self.state().faults.loss_percent = loss_percent;
    }

    /// (writes carried, connections reset).
    pub fn counts(&self) -> (u64, u64) {
        let state = self.state();
        (state.faults.sent, state.faults.lost)
    }

    /// When a write from `from` to `to` arrives, or `None` when it resets its connection.
    fn schedule(&self, from: SocketAddr, to: SocketAddr) -> Option<Duration> {
        self.state().faults.decide(from, to)
    }
}

struct NodeNet {
    net: SimNet,
    me: SocketAddr,
}

impl Network for NodeNet {
    fn bind(&self, addr: SocketAddr) -> BoxFuture<'_, io::Result<Box<dyn Listener>>> {
        let (sender, accepted) = mpsc::unbounded_channel();
        let mut state = self.net.state();
        let result: io::Result<Box<dyn Listener>> = match state.listeners.get(&addr) {
            Some(open) if !open.is_closed() => Err(io::ErrorKind::AddrInUse.into()),
            _ => {
                state.listeners.insert(addr, sender.clone());
                Ok(Box::new(SimListener {
                    net: self.net.clone(),
                    addr,
                    sender,
                    accepted,
                }))
            }
        };
        Box::pin(async move { result })
    }

    fn connect(&self, peer: SocketAddr) -> BoxFuture<'_, io::Result<Connection>> {
        let result = (|| {
            let state = self.net.state();
            if state.faults.is_cut(self.me, peer) {
                return Err(io::Error::from(io::ErrorKind::ConnectionRefused));
            }
            let listener = state
                .listeners
                .get(&peer)
                .ok_or(io::ErrorKind::ConnectionRefused)?;
            let (client, server) = Wire::open(&self.net, self.me, peer);
            listener
                .send(server)
                .map_err(|_| io::ErrorKind::ConnectionRefused)?;
            Ok(client)
        })();
        Box::pin(async move { result })
    }
}

struct SimListener {
    net: SimNet,
    addr: SocketAddr,
    sender: mpsc::UnboundedSender<Connection>,
    accepted: mpsc::UnboundedReceiver<Connection>,
}

impl Listener for SimListener {
    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.addr)
    }

    fn accept(&mut self) -> BoxFuture<'_, io::Result<Connection>> {
        Box::pin(async move {
            self.accepted
                .recv()
                .await
                .ok_or_else(|| io::ErrorKind::NotConnected.into())
        })
    }
}

impl Drop for SimListener {
    fn drop(&mut self) {
        let mut state = self.net.state();
        // A restarted node may have bound the address again already.
        if state
            .listeners
            .get(&self.addr)
            .is_some_and(|s| s.same_channel(&self.sender))
        {
            state.listeners.remove(&self.addr);
        }
    }
}

/// A chunk of bytes in flight, readable from `at`.
struct Chunk {
    at: Instant,
    data: Bytes,
}

/// One connection: a pipe each way and the reset both directions see.
struct Wire {
    pipes: [Mutex<Option<mpsc::UnboundedSender<Chunk>>>; 2],
    reset: AtomicBool,
}

impl Wire {
    /// The client's and the server's ends of a new connection from `client` to `server`.
    fn open(net: &SimNet, client: SocketAddr, server: SocketAddr) -> (Connection, Connection) {
        let (to_server, server_rx) = mpsc::unbounded_channel();
        let (to_client, client_rx) = mpsc::unbounded_channel();
        let wire = Arc::new(Wire {
            pipes: [Mutex::new(Some(to_server)), Mutex::new(Some(to_client))],
            reset: AtomicBool::new(false),
        });
        let end = |pipe: usize, from: SocketAddr, to: SocketAddr, rx| Connection {
            read: Box::new(SimRead {
                wire: wire.clone(),
                rx,
                pending: None,
                sleep: None,
            }),
            write: Box::new(SimWrite {
                wire: wire.clone(),
                net: net.clone(),
                pipe,
                from,
                to,
                last_at: Instant::now(),
            }),
        };
        (
            end(0, client, server, client_rx),
            end(1, server, client, server_rx),
        )
    }

    fn pipe(&self, pipe: usize) -> std::sync::MutexGuard<'_, Option<mpsc::UnboundedSender<Chunk>>> {
        self.pipes[pipe].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Resets the connection: both readers wake to an error.
    fn reset(&self) {
        self.reset.store(true, Ordering::SeqCst);
        self.pipe(0).take();
        self.pipe(1).take();
    }

    fn is_reset(&self) -> bool {
        self.reset.load(Ordering::SeqCst)
    }
}

fn reset_error() -> io::Error {
    io::ErrorKind::ConnectionReset.into()
}

struct SimRead {
    wire: Arc<Wire>,
    rx: mpsc::UnboundedReceiver<Chunk>,
    /// The chunk being read (or waiting for its delay).
    pending: Option<Chunk>,
    sleep: Option<Pin<Box<Sleep>>>,
}

impl AsyncRead for SimRead {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            if this.wire.is_reset() {
                return Poll::Ready(Err(reset_error()));
            }
            if let Some(chunk) = &mut this.pending {
                if chunk.at > Instant::now() {
                    let at = chunk.at;
                    let sleep = this
                        .sleep
                        .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)));
                    std::task::ready!(sleep.as_mut().poll(cx));
                }
                this.sleep = None;
                let n = chunk.data.len().min(buf.remaining());
                buf.put_slice(&chunk.data.split_to(n));
                if chunk.data.is_empty() {
                    this.pending = None;
                }
                return Poll::Ready(Ok(()));
            }
            match std::task::ready!(this.rx.poll_recv(cx)) {
                Some(chunk) => this.pending = Some(chunk),
                // The writer closed (EOF), or a reset took the pipe (checked at the top).
                None if this.wire.is_reset() => return Poll::Ready(Err(reset_error())),
                None => return Poll::Ready(Ok(())),
            }
        }
    }
}

struct SimWrite {
    wire: Arc<Wire>,
    net: SimNet,
    pipe: usize,
    from: SocketAddr,
    to: SocketAddr,
    /// When the last chunk arrives (the next one arrives no sooner).
    last_at: Instant,
}

impl AsyncWrite for SimWrite {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.wire.is_reset() {
            return Poll::Ready(Err(reset_error()));
        }
        let Some(delay) = self.net.schedule(self.from, self.to) else {
            self.wire.reset();
            return Poll::Ready(Err(reset_error()));
        };
        let at = (Instant::now() + delay).max(self.last_at);
        self.last_at = at;
        let chunk = Chunk {
            at,
            data: Bytes::copy_from_slice(buf),
        };
        let sent = match &*self.wire.pipe(self.pipe) {
            Some(pipe) => pipe.send(chunk).is_ok(),
            None => false,
        };
        Poll::Ready(match sent {
            true => Ok(buf.len()),
            false => Err(io::ErrorKind::BrokenPipe.into()),
        })
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.wire.pipe(self.pipe).take();
        Poll::Ready(Ok(()))
    }
}

impl Drop for SimWrite {
    fn drop(&mut self) {
        // The reader sees EOF, as a closed socket's peer does.
        self.wire.pipe(self.pipe).take();
    }
}
