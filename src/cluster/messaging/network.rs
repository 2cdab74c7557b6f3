//! The network messaging runs on: TCP in production (`Tcp`), an in-memory one in the
//! whole-node simulation (`crate::sim`), which must be able to delay, reset and partition
//! connections without sockets.
//!
//! The seam is per connection, never per message: a connection's halves are boxed once when
//! it opens, and every read and write after that is one indirect call into the same
//! `OwnedReadHalf`/`OwnedWriteHalf` calls as before.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::future::BoxFuture;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

pub type ReadHalf = Box<dyn AsyncRead + Send + Unpin>;
pub type WriteHalf = Box<dyn AsyncWrite + Send + Unpin>;

/// Opens connections to peers and listens for theirs.
pub trait Network: Send + Sync + 'static {
    fn bind(&self, addr: SocketAddr) -> BoxFuture<'_, io::Result<Box<dyn Listener>>>;
    fn connect(&self, peer: SocketAddr) -> BoxFuture<'_, io::Result<Connection>>;
}

/// Accepts inbound connections.
pub trait Listener: Send {
    /// The bound address (the actual port when 0 was asked for).
    fn local_addr(&self) -> io::Result<SocketAddr>;
    fn accept(&mut self) -> BoxFuture<'_, io::Result<Connection>>;
}

/// One connection, as its two halves (the reader and the writer of a link run in
/// different tasks).
pub struct Connection {
    pub read: ReadHalf,
    pub write: WriteHalf,
}

impl Connection {
    fn tcp(stream: TcpStream) -> Connection {
        let (read, write) = stream.into_split();
        Connection {
            read: Box::new(read),
            write: Box::new(write),
        }
    }

    pub fn into_split(self) -> (ReadHalf, WriteHalf) {
        (self.read, self.write)
    }
}

/// The whole connection as one stream, for the handshake's `Framed`.
impl AsyncRead for Connection {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.read).poll_read(cx, buf)
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.write).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.write).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.write).poll_shutdown(cx)
    }
}

/// Real TCP, with Nagle off (requests are small and latency-bound).
pub struct Tcp;

impl Network for Tcp {
    fn bind(&self, addr: SocketAddr) -> BoxFuture<'_, io::Result<Box<dyn Listener>>> {
        Box::pin(async move {
            let listener: Box<dyn Listener> = Box::new(TcpListener::bind(addr).await?);
            Ok(listener)
        })
    }

    fn connect(&self, peer: SocketAddr) -> BoxFuture<'_, io::Result<Connection>> {
        Box::pin(async move {
            let stream = TcpStream::connect(peer).await?;
            stream.set_nodelay(true)?;
            Ok(Connection::tcp(stream))
        })
    }
}

impl Listener for TcpListener {
    fn local_addr(&self) -> io::Result<SocketAddr> {
        TcpListener::local_addr(self)
    }

    fn accept(&mut self) -> BoxFuture<'_, io::Result<Connection>> {
        Box::pin(async move {
            loop {
                let (stream, peer) = TcpListener::accept(self).await?;
                // A connection that cannot take the option is dropped, not the listener.
                match stream.set_nodelay(true) {
                    Ok(()) => return Ok(Connection::tcp(stream)),
                    Err(error) => tracing::debug!(%peer, %error, "internode connection closed"),
                }
            }
        })
    }
}
