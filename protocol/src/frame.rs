//! The envelope header (v4 "frame", v5 "envelope"): 9 bytes, big-endian.
//!
//! `version:u8 | flags:u8 | stream:i16 | opcode:u8 | length:i32`, then `length` body bytes. Bit 0x80 of the
//! version byte is the direction (set on responses). Decoding is two-phase: [`RawHeader::peek`] reads the
//! header without consuming anything, the caller checks the length against its limit and waits until the
//! whole body is buffered, and only then takes the body.

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::ProtocolError;

/// Size of the envelope header in protocol v3 and later.
pub const HEADER_LEN: usize = 9;

/// Stream id of server-initiated EVENT envelopes.
pub const EVENT_STREAM: i16 = -1;

/// Direction bit of the version byte: set on responses.
pub const RESPONSE_BIT: u8 = 0x80;

/// Envelope header flag bits.
pub mod flags {
    /// v4 only: the body is compressed with the negotiated algorithm. Ignored (and never set) in v5.
    pub const COMPRESSION: u8 = 0x01;
    /// Request: trace this query. Response: the body starts with a 16-byte tracing session id.
    pub const TRACING: u8 = 0x02;
    /// The body starts with a `[bytes map]` custom payload (QUERY, PREPARE, EXECUTE, BATCH and their results).
    pub const CUSTOM_PAYLOAD: u8 = 0x04;
    /// Response: the body starts with a `[string list]` of warnings.
    pub const WARNING: u8 = 0x08;
    /// The client opts into a beta protocol version.
    pub const USE_BETA: u8 = 0x10;
    /// Every flag bit the spec defines; others are refused.
    pub const KNOWN: u8 = COMPRESSION | TRACING | CUSTOM_PAYLOAD | WARNING | USE_BETA;
}

/// A protocol version this server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProtocolVersion {
    V4,
    V5,
}

impl ProtocolVersion {
    /// The supported version for a version byte with the direction bit cleared.
    pub fn from_number(number: u8) -> Option<Self> {
        match number {
            4 => Some(Self::V4),
            5 => Some(Self::V5),
            _ => None,
        }
    }

    /// The version number (4 or 5).
    pub fn number(self) -> u8 {
        match self {
            Self::V4 => 4,
            Self::V5 => 5,
        }
    }

    /// The version byte of a response envelope.
    pub fn response_byte(self) -> u8 {
        self.number() | RESPONSE_BIT
    }
}

/// Message opcodes (spec §2.4.1.4). There is no 0x04.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Opcode {
    Error = 0x00,
    Startup = 0x01,
    Ready = 0x02,
    Authenticate = 0x03,
    Options = 0x05,
    Supported = 0x06,
    Query = 0x07,
    Result = 0x08,
    Prepare = 0x09,
    Execute = 0x0A,
    Register = 0x0B,
    Event = 0x0C,
    Batch = 0x0D,
    AuthChallenge = 0x0E,
    AuthResponse = 0x0F,
    AuthSuccess = 0x10,
}

impl TryFrom<u8> for Opcode {
    type Error = ProtocolError;
    fn try_from(byte: u8) -> Result<Self, ProtocolError> {
        Ok(match byte {
            0x00 => Self::Error,
            0x01 => Self::Startup,
            0x02 => Self::Ready,
            0x03 => Self::Authenticate,
            0x05 => Self::Options,
            0x06 => Self::Supported,
            0x07 => Self::Query,
            0x08 => Self::Result,
            0x09 => Self::Prepare,
            0x0A => Self::Execute,
            0x0B => Self::Register,
            0x0C => Self::Event,
            0x0D => Self::Batch,
            0x0E => Self::AuthChallenge,
            0x0F => Self::AuthResponse,
            0x10 => Self::AuthSuccess,
            other => return Err(ProtocolError::UnknownOpcode(other)),
        })
    }
}

impl Opcode {
    /// True for opcodes a client sends.
    pub fn is_request(self) -> bool {
        matches!(
            self,
            Self::Startup
                | Self::Options
                | Self::Query
                | Self::Prepare
                | Self::Execute
                | Self::Register
                | Self::Batch
                | Self::AuthResponse
        )
    }
}

/// A request envelope after decompression, with the custom payload stripped.
///
/// `flags` keeps what the client sent except [`flags::COMPRESSION`] and [`flags::CUSTOM_PAYLOAD`], which
/// described the body before it was decompressed and stripped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub version: ProtocolVersion,
    pub flags: u8,
    pub stream: i16,
    pub opcode: Opcode,
    pub body: Bytes,
}

impl Envelope {
    /// The client asked for this request to be traced.
    pub fn tracing_requested(&self) -> bool {
        self.flags & flags::TRACING != 0
    }
}

/// The 9 header bytes as read, before any validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawHeader {
    pub version_byte: u8,
    pub flags: u8,
    pub stream: i16,
    pub opcode: u8,
    pub length: i32,
}

impl RawHeader {
    /// Reads a header from the front of `buf` without consuming it; `None` while fewer than 9 bytes are buffered.
    pub fn peek(buf: &[u8]) -> Option<Self> {
        let header: &[u8; HEADER_LEN] = buf.get(..HEADER_LEN)?.try_into().ok()?;
        let [version_byte, flags, s0, s1, opcode, l0, l1, l2, l3] = *header;
        Some(Self {
            version_byte,
            flags,
            stream: i16::from_be_bytes([s0, s1]),
            opcode,
            length: i32::from_be_bytes([l0, l1, l2, l3]),
        })
    }

    /// The stream id of a header of any version: protocol v1 and v2 headers carry a one-byte stream id.
    pub fn stream_of_any_version(buf: &[u8]) -> Option<i16> {
        let version = buf.first()? & !RESPONSE_BIT;
        if version <= 2 {
            buf.get(2).map(|stream| i16::from(*stream as i8))
        } else {
            Some(i16::from_be_bytes([*buf.get(2)?, *buf.get(3)?]))
        }
    }
}

/// Writes a response envelope header.
pub fn put_response_header(
    out: &mut BytesMut,
    version: ProtocolVersion,
    flags: u8,
    stream: i16,
    opcode: Opcode,
    length: i32,
) {
    out.put_u8(version.response_byte());
    out.put_u8(flags);
    out.put_i16(stream);
    out.put_u8(opcode as u8);
    out.put_i32(length);
}
