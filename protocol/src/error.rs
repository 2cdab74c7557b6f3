//! Typed errors, one enum per layer.
//!
//! - [`ProtocolError`]: a message body (or a primitive inside it) is malformed. The connection can answer with
//!   an ERROR 0x000A on the request's stream and carry on: the envelope boundary is intact.
//! - [`DecodeError`]: the byte stream itself is broken or refused (framing, CRC, version, size). The server
//!   answers if it can ([`DecodeError::stream`]) and closes the connection.
//! - [`EncodeError`]: a response cannot be represented on the wire (too large, a count beyond the notation).

use crate::frame::ProtocolVersion;

/// A malformed message body or primitive value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// Fewer bytes remain than the notation needs.
    #[error("truncated {what}: need {needed} bytes, {remaining} remain")]
    Truncated {
        what: &'static str,
        needed: usize,
        remaining: usize,
    },
    /// A length that must not be negative was negative.
    #[error("negative length {length} for {what}")]
    NegativeLength { what: &'static str, length: i32 },
    /// A string was not valid UTF-8.
    #[error("invalid UTF-8 in {what}")]
    InvalidUtf8 { what: &'static str },
    /// A count exceeds what this implementation accepts.
    #[error("too many {what}: {count} (limit {limit})")]
    TooMany {
        what: &'static str,
        count: usize,
        limit: usize,
    },
    /// A consistency level code outside the spec.
    #[error("unknown consistency level 0x{0:04x}")]
    UnknownConsistency(u16),
    /// An opcode outside the spec.
    #[error("unknown opcode 0x{0:02x}")]
    UnknownOpcode(u8),
    /// A response opcode was used where a request was expected, or vice versa.
    #[error("opcode {0:?} is not a request")]
    NotARequest(crate::frame::Opcode),
    /// A request opcode was used where a response was expected.
    #[error("opcode {0:?} is not a response")]
    NotAResponse(crate::frame::Opcode),
    /// Flag bits this implementation does not know; they may change the meaning of what follows.
    #[error("unknown {what} flags 0x{flags:x}")]
    UnknownFlags { what: &'static str, flags: u32 },
    /// Bytes were left over after the message was fully read.
    #[error("{count} unexpected trailing bytes after {what}")]
    TrailingBytes { what: &'static str, count: usize },
    /// A batch type byte outside 0..=2.
    #[error("unknown batch type {0}")]
    UnknownBatchType(u8),
    /// A batch statement kind byte outside 0..=1.
    #[error("unknown batch statement kind {0}")]
    UnknownBatchStatementKind(u8),
    /// An event type name outside the spec.
    #[error("unknown event type {0:?}")]
    UnknownEventType(String),
    /// An `[inet]` address whose size is neither 4 nor 16.
    #[error("invalid inet address size {0}")]
    InvalidInetSize(u8),
    /// A value that is valid on the wire but not allowed here (for example "unset" in a batch of v3).
    #[error("invalid {what}: {reason}")]
    Invalid {
        what: &'static str,
        reason: &'static str,
    },
    /// The compression named in STARTUP is not supported.
    #[error("unsupported compression {0:?}")]
    UnsupportedCompression(String),
    /// A compressed body could not be decompressed.
    #[error("decompression failed: {0}")]
    Decompression(String),
    /// A body or field is larger than the configured limit.
    #[error("{what} of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        what: &'static str,
        size: usize,
        limit: usize,
    },
}

/// A broken or refused byte stream; the connection must be closed after answering.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The client asked for a protocol version this server does not speak. Answer with
    /// [`crate::unsupported_version_response`] (unframed) and close.
    #[error("unsupported protocol version {version}")]
    UnsupportedVersion { version: u8, stream: i16 },
    /// A frame whose version differs from the one the connection negotiated.
    #[error("protocol version {got:?} on a connection that negotiated {expected:?}")]
    VersionMismatch {
        expected: ProtocolVersion,
        got: ProtocolVersion,
        stream: i16,
    },
    /// A frame with the response direction bit set was sent to the server.
    #[error("received a response frame (version byte 0x{version_byte:02x}) from a client")]
    ResponseDirection { version_byte: u8, stream: i16 },
    /// An envelope body length beyond the configured maximum (or negative).
    #[error("frame body length {length} outside 0..={max}")]
    FrameTooLarge {
        length: i64,
        max: usize,
        stream: i16,
    },
    /// Unknown envelope flag bits.
    #[error("unknown frame flags 0x{flags:02x}")]
    UnknownFlags { flags: u8, stream: i16 },
    /// A compressed envelope arrived although no compression was negotiated.
    #[error("compressed frame received but no compression was negotiated")]
    CompressionNotNegotiated { stream: i16 },
    /// A v5 segment header failed its CRC24 check.
    #[error("segment header CRC24 mismatch: computed 0x{computed:06x}, received 0x{received:06x}")]
    HeaderCrcMismatch { computed: u32, received: u32 },
    /// A v5 segment payload failed its CRC32 check.
    #[error(
        "segment payload CRC32 mismatch: computed 0x{computed:08x}, received 0x{received:08x}"
    )]
    PayloadCrcMismatch { computed: u32, received: u32 },
    /// A v5 segment is structurally wrong (bad lengths, an envelope split across self-contained segments...).
    #[error("malformed segment: {0}")]
    MalformedSegment(&'static str),
    /// The envelope was read whole but is unusable: unknown opcode, or a body that does not decompress or
    /// whose custom payload is malformed. Not fatal (see [`DecodeError::is_fatal`]).
    #[error("malformed envelope on stream {stream}: {source}")]
    Envelope { stream: i16, source: ProtocolError },
}

impl DecodeError {
    /// False when only one envelope was bad and the connection can go on: its bytes were consumed, so the
    /// server may answer ERROR 0x000A on [`DecodeError::stream`] and keep reading. True when the byte stream
    /// cannot be trusted any more and the connection must be closed.
    pub fn is_fatal(&self) -> bool {
        !matches!(self, Self::Envelope { .. })
    }

    /// The ERROR 0x000A to send (through [`crate::ServerCodec::encode`]) before closing or, for a
    /// non-fatal error, before reading on. `None` for [`DecodeError::UnsupportedVersion`], which is answered
    /// with the unframed [`crate::unsupported_version_response`], and for errors on no particular stream.
    pub fn error_response(&self) -> Option<crate::ResponseFrame> {
        if matches!(self, Self::UnsupportedVersion { .. }) {
            return None;
        }
        let body = crate::ErrorBody::new(crate::ErrorKind::Protocol, self.to_string());
        Some(crate::ResponseFrame::new(
            self.stream()?,
            crate::Response::Error(body),
        ))
    }

    /// The stream id to answer on, when the error could be attributed to one envelope.
    pub fn stream(&self) -> Option<i16> {
        match self {
            Self::UnsupportedVersion { stream, .. }
            | Self::VersionMismatch { stream, .. }
            | Self::ResponseDirection { stream, .. }
            | Self::FrameTooLarge { stream, .. }
            | Self::UnknownFlags { stream, .. }
            | Self::CompressionNotNegotiated { stream }
            | Self::Envelope { stream, .. } => Some(*stream),
            Self::HeaderCrcMismatch { .. }
            | Self::PayloadCrcMismatch { .. }
            | Self::MalformedSegment(_) => None,
        }
    }
}

/// A response that cannot be put on the wire.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// Encode was called before any request fixed the connection's protocol version.
    #[error("no protocol version negotiated yet")]
    NoVersion,
    /// A length or count does not fit its wire notation (for example a `[string]` over 65535 bytes).
    #[error("{what} of {size} does not fit the wire notation (max {max})")]
    TooLong {
        what: &'static str,
        size: usize,
        max: usize,
    },
    /// The encoded body exceeds the connection's frame limit.
    #[error("response body of {size} bytes exceeds the frame limit of {limit} bytes")]
    FrameTooLarge { size: usize, limit: usize },
    /// A row of [`crate::Rows`] does not have one cell per column.
    #[error("row has {got} cells but the metadata has {expected} columns")]
    RowWidth { expected: usize, got: usize },
    /// Compression failed.
    #[error("compression failed: {0}")]
    Compression(String),
}
