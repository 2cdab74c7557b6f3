//! `strata health`: the container health check (Docker's `HEALTHCHECK`), run next to the
//! node it checks and configured the same way (the same YAML, `CASSANDRA_*` variables and
//! flags), so it finds the node's ports without being told.
//!
//! Healthy means both:
//! - the admin endpoint reports the operation mode NORMAL (`GET /health`), and
//! - the node serves CQL on its rpc address: OPTIONS, STARTUP and a read of
//!   `system.local` are answered (SUPPORTED, READY, RESULT), over a fresh connection.
//!
//! Invariant: every step is bounded by one timeout, so a hung node is reported unhealthy
//! instead of hanging the check.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::{bail, Context};
use bytes::{BufMut, BytesMut};
use strata_protocol::frame::{flags, Opcode, RawHeader, HEADER_LEN};
use strata_protocol::types::{put_long_string, put_string_map, Reader};

use crate::config::Config;

/// Protocol version the probe speaks: every Cassandra 4+ server and Strata accept v4.
const VERSION: u8 = 4;
/// Largest response body the probe accepts (a `system.local` row is far smaller).
const MAX_BODY: usize = 1 << 20;

/// Checks the node `config` describes; the error says what is not healthy.
pub fn check(config: &Config, timeout: Duration) -> anyhow::Result<()> {
    if config.admin_port == 0 {
        bail!("the admin endpoint is disabled (admin_port 0): cannot read the operation mode");
    }
    let admin = config.admin_address.to_string();
    let (normal, mode) =
        crate::admin::request(&admin, config.admin_port, "GET", "/health", timeout)
            .with_context(|| format!("admin endpoint {admin}:{}", config.admin_port))?;
    if !normal {
        bail!("operation mode is {}, not NORMAL", mode.trim());
    }
    let cql = SocketAddr::new(config.local_cql_address(), config.native_transport_port);
    // TLS-only: the probe speaks TLS too (plain text on the native port otherwise, which
    // optional mode and native_transport_port_ssl keep serving).
    let tls = config.client_encryption.enabled
        && !config.client_encryption.optional
        && config.native_transport_port_ssl.is_none();
    let tls = if tls {
        Some(crate::tls::probe_config(&config.client_encryption)?)
    } else {
        None
    };
    cql_round_trip(cql, tls, timeout).with_context(|| format!("CQL on {cql}"))
}

fn cql_round_trip(
    addr: SocketAddr,
    tls: Option<std::sync::Arc<rustls::ClientConfig>>,
    timeout: Duration,
) -> anyhow::Result<()> {
    let stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    match tls {
        None => queries(stream),
        Some(config) => {
            let name = rustls_pki_types::ServerName::IpAddress(addr.ip().into());
            let connection = rustls::ClientConnection::new(config, name)?;
            queries(rustls::StreamOwned::new(connection, stream))
        }
    }
}

/// OPTIONS, STARTUP and a read of `system.local`, each answered as expected.
fn queries(mut stream: impl Read + Write) -> anyhow::Result<()> {
    let stream = &mut stream;
    exchange(
        stream,
        0,
        Opcode::Options,
        BytesMut::new(),
        Opcode::Supported,
    )?;
    let mut startup = BytesMut::new();
    put_string_map(
        &mut startup,
        [("CQL_VERSION", "3.0.0")].into_iter(),
        "startup options",
    )?;
    exchange(stream, 1, Opcode::Startup, startup, Opcode::Ready)?;
    let mut query = BytesMut::new();
    put_long_string(&mut query, "SELECT key FROM system.local", "query")?;
    query.put_u16(0x0001); // consistency ONE
    query.put_u8(0); // no query flags
    exchange(stream, 2, Opcode::Query, query, Opcode::Result)
}

/// Sends one request envelope and checks that the answer on its stream has `expected` opcode.
fn exchange(
    stream: &mut (impl Read + Write),
    id: i16,
    opcode: Opcode,
    body: BytesMut,
    expected: Opcode,
) -> anyhow::Result<()> {
    let mut envelope = BytesMut::with_capacity(HEADER_LEN + body.len());
    envelope.put_u8(VERSION);
    envelope.put_u8(0);
    envelope.put_i16(id);
    envelope.put_u8(opcode as u8);
    envelope.put_i32(i32::try_from(body.len())?);
    envelope.extend_from_slice(&body);
    stream.write_all(&envelope)?;
    let mut head = [0u8; HEADER_LEN];
    stream.read_exact(&mut head)?;
    let header = RawHeader::peek(&head).context("short header")?;
    let len = usize::try_from(header.length)
        .ok()
        .filter(|len| *len <= MAX_BODY)
        .context("bad response length")?;
    let mut answer = vec![0u8; len];
    stream.read_exact(&mut answer)?;
    if header.stream != id {
        bail!(
            "answer on stream {} to a request on stream {id}",
            header.stream
        );
    }
    if header.opcode == Opcode::Error as u8 {
        let mut reader = Reader::new(answer.into());
        if header.flags & flags::WARNING != 0 {
            reader.read_string_list("warnings")?;
        }
        let code = reader.read_int("error code")?;
        let message = reader.read_string("error message")?;
        bail!("{opcode:?} answered error 0x{code:04x}: {message}");
    }
    if header.opcode != expected as u8 {
        bail!(
            "{opcode:?} answered opcode 0x{:02x}, expected {expected:?}",
            header.opcode
        );
    }
    Ok(())
}
