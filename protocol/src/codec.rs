//! The server side of one connection, as a sans-IO state machine.
//!
//! States: the first envelope fixes the protocol version. Before the handshake completes, envelopes are bare
//! (v4 framing). In v4, once STARTUP negotiated compression ([`ServerCodec::set_compression`]), envelopes
//! with the compression flag are decompressed and every response is compressed. In v5, once the server has
//! encoded READY or AUTHENTICATE, both directions switch to segment framing ([`crate::segment`]), LZ4
//! compressed when lz4 was negotiated.

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};

use crate::compression::Compression;
use crate::error::{DecodeError, EncodeError, ProtocolError};
use crate::frame::{Envelope, ProtocolVersion};
use crate::response::Response;

/// Default cap on an envelope body: far below the spec's 256 MB, and above anything a sane request needs.
pub const DEFAULT_MAX_FRAME_BYTES: usize = 16 * 1024 * 1024;

/// Resource bounds of one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Largest envelope body accepted (after decompression) or produced.
    pub max_frame_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_frame_bytes: DEFAULT_MAX_FRAME_BYTES }
    }
}

impl Limits {
    /// Limits with the given frame cap.
    pub fn with_max_frame_bytes(max_frame_bytes: usize) -> Self {
        Self { max_frame_bytes }
    }
}

/// A response and its envelope-level extras.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseFrame {
    pub stream: i16,
    pub response: Response,
    /// Sent with the TRACING flag when the request asked for tracing.
    pub tracing_id: Option<[u8; 16]>,
    /// Sent with the WARNING flag when non-empty.
    pub warnings: Vec<String>,
}

impl ResponseFrame {
    /// A response without tracing or warnings.
    pub fn new(stream: i16, response: Response) -> Self {
        Self { stream, response, tracing_id: None, warnings: Vec::new() }
    }
}

/// Per-connection protocol state.
#[derive(Debug)]
pub struct ServerCodec {
    limits: Limits,
    version: Option<ProtocolVersion>,
    compression: Option<Compression>,
    /// v5: segment framing is on (the server has sent READY or AUTHENTICATE).
    framed: bool,
    /// v5: envelopes decoded from a self-contained segment and not yet returned.
    pending: VecDeque<Envelope>,
    /// v5: the start of an envelope split over non-self-contained segments.
    partial: BytesMut,
}

impl ServerCodec {
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            version: None,
            compression: None,
            framed: false,
            pending: VecDeque::new(),
            partial: BytesMut::new(),
        }
    }

    /// Decodes the next complete request envelope from `buf` (advancing it), or `Ok(None)` if more bytes are needed.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Envelope>, DecodeError> {
        let _ = buf;
        todo!()
    }

    /// Encodes a response for the connection's negotiated version, compression and framing into `out`.
    pub fn encode(&mut self, frame: &ResponseFrame, out: &mut BytesMut) -> Result<(), EncodeError> {
        let _ = (frame, out);
        todo!()
    }

    /// Records the compression negotiated by STARTUP (`"lz4"`, `"snappy"` or none).
    pub fn set_compression(&mut self, name: Option<&str>) -> Result<(), ProtocolError> {
        let _ = name;
        todo!()
    }

    /// The negotiated protocol version, once the first envelope has been decoded.
    pub fn version(&self) -> Option<ProtocolVersion> {
        self.version
    }
}

/// The unframed v4 ERROR 0x000A telling a client its protocol version is not supported.
pub fn unsupported_version_response(requested: u8, stream: i16) -> Bytes {
    let _ = (requested, stream);
    todo!()
}
