//! Just enough of the CQL native protocol v4 to hand-shake a raw TCP connection
//! (OPTIONS → SUPPORTED, STARTUP → READY). Idle connections opened this way cost the client
//! only a socket, unlike driver sessions with their heartbeats and metadata refreshes, so the
//! server's per-connection memory is what gets measured.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Frame header: version, flags, stream (i16), opcode, body length (u32).
pub const HEADER_LEN: usize = 9;
const REQUEST_VERSION: u8 = 0x04;
const RESPONSE_VERSION: u8 = 0x84;
/// A SUPPORTED or ERROR body is a few hundred bytes; anything past this is not a sane reply.
pub const MAX_BODY_LEN: u32 = 1 << 20;

pub const OPCODE_ERROR: u8 = 0x00;
pub const OPCODE_STARTUP: u8 = 0x01;
pub const OPCODE_READY: u8 = 0x02;
pub const OPCODE_OPTIONS: u8 = 0x05;
pub const OPCODE_SUPPORTED: u8 = 0x06;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HandshakeError {
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    #[error("no reply within {0:?}")]
    Timeout(Duration),
    #[error("response version byte {0:#04x}, expected 0x84 (v4 response)")]
    BadVersion(u8),
    #[error("response body of {0} bytes exceeds the {MAX_BODY_LEN}-byte bound")]
    BodyTooLarge(u32),
    #[error("response on stream {got}, expected stream {expected}")]
    WrongStream { expected: i16, got: i16 },
    #[error("server answered ERROR {code:#06x}: {message}")]
    Server { code: i32, message: String },
    #[error("expected opcode {expected:#04x}, got {got:#04x}")]
    UnexpectedOpcode { expected: u8, got: u8 },
}

/// The decoded 9-byte header of a response frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseHeader {
    pub stream: i16,
    pub opcode: u8,
    pub body_len: u32,
}

/// A complete v4 request frame (no flags: uncompressed, untraced).
pub fn encode_request(stream: i16, opcode: u8, body: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(HEADER_LEN + body.len());
    frame.push(REQUEST_VERSION);
    frame.push(0);
    frame.extend_from_slice(&stream.to_be_bytes());
    frame.push(opcode);
    // Bodies built here are tiny constants, far below u32::MAX.
    frame.extend_from_slice(&(body.len() as u32).to_be_bytes());
    frame.extend_from_slice(body);
    frame
}

/// STARTUP body: a [string map] holding only CQL_VERSION.
pub fn startup_body() -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&1u16.to_be_bytes());
    push_string(&mut body, "CQL_VERSION");
    push_string(&mut body, "3.0.0");
    body
}

fn push_string(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u16).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

pub fn decode_header(bytes: &[u8; HEADER_LEN]) -> Result<ResponseHeader, HandshakeError> {
    let [version, _flags, s0, s1, opcode, l0, l1, l2, l3] = *bytes;
    if version != RESPONSE_VERSION {
        return Err(HandshakeError::BadVersion(version));
    }
    let body_len = u32::from_be_bytes([l0, l1, l2, l3]);
    if body_len > MAX_BODY_LEN {
        return Err(HandshakeError::BodyTooLarge(body_len));
    }
    Ok(ResponseHeader { stream: i16::from_be_bytes([s0, s1]), opcode, body_len })
}

/// ERROR body: [int code][string message]; a malformed body still yields a readable error.
pub fn decode_error_body(body: &[u8]) -> HandshakeError {
    let code = body.get(0..4).map_or(-1, |b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]));
    let message = body
        .get(4..6)
        .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
        .and_then(|len| body.get(6..6 + len))
        .map_or_else(|| "<malformed error body>".to_owned(), |m| String::from_utf8_lossy(m).into_owned());
    HandshakeError::Server { code, message }
}

/// Sends one request and checks that the reply on the same stream has the `expected` opcode.
pub async fn exchange(
    socket: &mut TcpStream,
    stream: i16,
    opcode: u8,
    body: &[u8],
    expected: u8,
    timeout: Duration,
) -> Result<(), HandshakeError> {
    let round_trip = async {
        socket.write_all(&encode_request(stream, opcode, body)).await?;
        let mut header_bytes = [0u8; HEADER_LEN];
        socket.read_exact(&mut header_bytes).await?;
        let header = decode_header(&header_bytes)?;
        let mut reply = vec![0u8; header.body_len as usize];
        socket.read_exact(&mut reply).await?;
        check_reply(header, &reply, stream, expected)
    };
    tokio::time::timeout(timeout, round_trip).await.map_err(|_| HandshakeError::Timeout(timeout))?
}

fn check_reply(header: ResponseHeader, body: &[u8], stream: i16, expected: u8) -> Result<(), HandshakeError> {
    if header.opcode == OPCODE_ERROR {
        return Err(decode_error_body(body));
    }
    if header.stream != stream {
        return Err(HandshakeError::WrongStream { expected: stream, got: header.stream });
    }
    if header.opcode != expected {
        return Err(HandshakeError::UnexpectedOpcode { expected, got: header.opcode });
    }
    Ok(())
}

/// OPTIONS then STARTUP, as drivers do; on success the connection is ready for queries.
pub async fn handshake(socket: &mut TcpStream, timeout: Duration) -> Result<(), HandshakeError> {
    exchange(socket, 0, OPCODE_OPTIONS, &[], OPCODE_SUPPORTED, timeout).await?;
    exchange(socket, 1, OPCODE_STARTUP, &startup_body(), OPCODE_READY, timeout).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn startup_frame_matches_the_v4_layout() {
        let frame = encode_request(1, OPCODE_STARTUP, &startup_body());
        let expected_body = b"\x00\x01\x00\x0bCQL_VERSION\x00\x053.0.0";
        assert_eq!(&frame[..HEADER_LEN], &[0x04, 0, 0, 1, 0x01, 0, 0, 0, expected_body.len() as u8]);
        assert_eq!(&frame[HEADER_LEN..], expected_body);
    }

    #[test]
    fn header_decodes_and_rejects_bad_input() {
        let ready = [0x84, 0, 0, 1, OPCODE_READY, 0, 0, 0, 0];
        assert_eq!(decode_header(&ready).ok(), Some(ResponseHeader { stream: 1, opcode: OPCODE_READY, body_len: 0 }));
        let v3 = [0x83, 0, 0, 1, OPCODE_READY, 0, 0, 0, 0];
        assert!(matches!(decode_header(&v3), Err(HandshakeError::BadVersion(0x83))));
        let huge = [0x84, 0, 0, 1, OPCODE_READY, 0xff, 0xff, 0xff, 0xff];
        assert!(matches!(decode_header(&huge), Err(HandshakeError::BodyTooLarge(_))));
    }

    #[test]
    fn error_body_decodes_even_when_truncated() {
        let body = b"\x00\x00\x00\x0a\x00\x03bad";
        let decoded = decode_error_body(body);
        assert!(matches!(decoded, HandshakeError::Server { code: 10, ref message } if message == "bad"));
        let truncated = decode_error_body(&body[..7]);
        assert!(matches!(truncated, HandshakeError::Server { code: 10, ref message } if message.contains("malformed")));
        assert!(matches!(decode_error_body(&[]), HandshakeError::Server { code: -1, .. }));
    }

    #[test]
    fn reply_checks_stream_then_opcode() {
        let header = ResponseHeader { stream: 2, opcode: OPCODE_READY, body_len: 0 };
        assert!(matches!(check_reply(header, &[], 1, OPCODE_READY), Err(HandshakeError::WrongStream { .. })));
        assert!(matches!(check_reply(header, &[], 2, OPCODE_SUPPORTED), Err(HandshakeError::UnexpectedOpcode { .. })));
        assert!(check_reply(header, &[], 2, OPCODE_READY).is_ok());
    }
}
