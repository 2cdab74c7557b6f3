//! The server side of one connection, as a sans-IO state machine.
//!
//! States: the first envelope fixes the protocol version. Before the handshake completes, envelopes are bare
//! (v4 framing). In v4, once STARTUP negotiated compression ([`ServerCodec::set_compression`]), envelopes
//! with the compression flag are decompressed and every response is compressed. In v5, once the server has
//! encoded READY or AUTHENTICATE, both directions switch to segment framing ([`crate::segment`]), LZ4
//! compressed when lz4 was negotiated.

use std::collections::VecDeque;

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::compression::Compression;
use crate::error::{DecodeError, EncodeError, ProtocolError};
use crate::frame::{
    flags, put_response_header, Envelope, Opcode, ProtocolVersion, RawHeader, HEADER_LEN,
    RESPONSE_BIT,
};
use crate::response::error::{ErrorBody, ErrorKind};
use crate::response::Response;
use crate::segment;
use crate::types::{int_len, put_string_list, Reader};

/// Default cap on an envelope body: far below the spec's 256 MB, and above anything a sane request needs.
pub const DEFAULT_MAX_FRAME_BYTES: usize = 16 * 1024 * 1024;

/// Resource bounds of one connection. Build with `Limits { max_frame_bytes, ..Limits::default() }` so
/// that bounds added later keep their defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest envelope body accepted (after decompression) or produced.
    pub max_frame_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
        }
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
        Self {
            stream,
            response,
            tracing_id: None,
            warnings: Vec::new(),
        }
    }
}

/// Per-connection protocol state.
#[derive(Debug)]
pub struct ServerCodec {
    limits: Limits,
    /// Fixed by the first envelope; later envelopes must match.
    version: Option<ProtocolVersion>,
    /// v4: per-envelope compression; v5: LZ4 segments (never snappy).
    compression: Option<Compression>,
    /// v5: segment framing is on (the server has sent READY or AUTHENTICATE).
    framed: bool,
    /// v5: envelopes (or per-envelope errors) from a self-contained segment not yet returned.
    pending: VecDeque<Result<Envelope, DecodeError>>,
    /// v5: the start of an envelope split over non-self-contained segments; bounded by the frame limit.
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

    /// Decodes the next complete request envelope from `buf` (advancing it), or `Ok(None)` if more bytes
    /// are needed. After an error with [`DecodeError::is_fatal`] the connection must be closed.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Envelope>, DecodeError> {
        if let Some(next) = self.pending.pop_front() {
            return next.map(Some);
        }
        if self.framed {
            self.decode_framed(buf)
        } else {
            self.decode_bare(buf)
        }
    }

    /// Encodes a response for the connection's negotiated version, compression and framing into `out`.
    /// Encoding READY or AUTHENTICATE on a v5 connection switches both directions to segment framing.
    pub fn encode(&mut self, frame: &ResponseFrame, out: &mut BytesMut) -> Result<(), EncodeError> {
        let version = self.version.ok_or(EncodeError::NoVersion)?;
        let start = out.len();
        let result = match (version, self.compression, self.framed) {
            (ProtocolVersion::V4, None, _) | (ProtocolVersion::V5, _, false) => {
                self.encode_envelope_into(frame, version, out)
            }
            (ProtocolVersion::V4, Some(compression), _) => {
                self.encode_compressed(frame, compression, out)
            }
            (ProtocolVersion::V5, compression, true) => {
                self.encode_framed(frame, compression == Some(Compression::Lz4), out)
            }
        };
        if result.is_err() {
            out.truncate(start);
        }
        result?;
        let handshake_done = matches!(frame.response, Response::Ready | Response::Authenticate(_));
        if version == ProtocolVersion::V5 && handshake_done {
            self.framed = true;
        }
        Ok(())
    }

    /// Records the compression negotiated by STARTUP (`"lz4"`, `"snappy"`, case-insensitive, or none).
    /// Call it before encoding the reply to STARTUP: in v4 that reply is already compressed, as Cassandra
    /// does (its legacy pipeline is installed before STARTUP runs, and STARTUP sets the compressor), and
    /// drivers install their decompressor before sending STARTUP. In v5 the reply to STARTUP is unframed
    /// and uncompressed; LZ4 segments start after it. v5 compresses with LZ4 only, so snappy on v5 means
    /// no compression (as the python driver assumes).
    pub fn set_compression(&mut self, name: Option<&str>) -> Result<(), ProtocolError> {
        let compression = name.map(Compression::from_name).transpose()?;
        self.compression = match (self.version, compression) {
            (Some(ProtocolVersion::V5), Some(Compression::Snappy)) => None,
            (_, compression) => compression,
        };
        Ok(())
    }

    /// The negotiated protocol version, once the first envelope has been decoded.
    pub fn version(&self) -> Option<ProtocolVersion> {
        self.version
    }

    /// The compression in effect, if any.
    pub fn compression(&self) -> Option<Compression> {
        self.compression
    }

    /// True once v5 segment framing is on.
    pub fn is_framed(&self) -> bool {
        self.framed
    }

    /// Decodes an unframed envelope (v4 always, v5 during the handshake).
    fn decode_bare(&mut self, buf: &mut BytesMut) -> Result<Option<Envelope>, DecodeError> {
        // The version is checked as soon as the stream id is known, so that an old client with a shorter
        // header gets its answer without waiting for bytes it will never send.
        let Some(stream) = RawHeader::stream_of_any_version(buf) else {
            return Ok(None);
        };
        let version = self.accept_version(buf.first().copied().unwrap_or_default(), stream)?;
        let Some(header) = RawHeader::peek(buf) else {
            return Ok(None);
        };
        let body_len = self.checked_body_len(&header)?;
        let frame_len = HEADER_LEN + body_len;
        if buf.len() < frame_len {
            buf.reserve(frame_len - buf.len());
            return Ok(None);
        }
        buf.advance(HEADER_LEN);
        let body = buf.split_to(body_len).freeze();
        self.finish_envelope(&header, version, body).map(Some)
    }

    /// Decodes v5 segments until an envelope is complete.
    fn decode_framed(&mut self, buf: &mut BytesMut) -> Result<Option<Envelope>, DecodeError> {
        let lz4 = self.compression == Some(Compression::Lz4);
        while let Some(segment) = segment::decode(buf, lz4)? {
            if segment.self_contained {
                self.queue_self_contained(segment.payload)?;
                return self.pending.pop_front().transpose();
            }
            if let Some(envelope) = self.add_split_part(&segment.payload)? {
                return Ok(Some(envelope));
            }
        }
        Ok(None)
    }

    /// Splits a self-contained payload into its envelopes and queues them (or their individual errors).
    fn queue_self_contained(&mut self, mut payload: Bytes) -> Result<(), DecodeError> {
        if !self.partial.is_empty() {
            return Err(DecodeError::MalformedSegment(
                "self-contained segment inside a split envelope",
            ));
        }
        if payload.is_empty() {
            return Err(DecodeError::MalformedSegment(
                "empty self-contained segment",
            ));
        }
        while !payload.is_empty() {
            let (header, version, body) = self.take_contained_envelope(&mut payload)?;
            self.pending
                .push_back(self.finish_envelope(&header, version, body));
        }
        Ok(())
    }

    fn take_contained_envelope(
        &mut self,
        payload: &mut Bytes,
    ) -> Result<(RawHeader, ProtocolVersion, Bytes), DecodeError> {
        let header = RawHeader::peek(payload).ok_or(DecodeError::MalformedSegment(
            "envelope header cut short in a self-contained segment",
        ))?;
        let version = self.accept_version(header.version_byte, header.stream)?;
        let body_len = self.checked_body_len(&header)?;
        if payload.len() < HEADER_LEN + body_len {
            return Err(DecodeError::MalformedSegment(
                "envelope body cut short in a self-contained segment",
            ));
        }
        payload.advance(HEADER_LEN);
        Ok((header, version, payload.split_to(body_len)))
    }

    /// Appends a non-self-contained payload to the envelope being reassembled; returns it once complete.
    fn add_split_part(&mut self, part: &[u8]) -> Result<Option<Envelope>, DecodeError> {
        if part.is_empty() {
            return Err(DecodeError::MalformedSegment("empty split segment"));
        }
        self.partial.extend_from_slice(part);
        let Some(header) = RawHeader::peek(&self.partial) else {
            return Ok(None);
        };
        let version = self.accept_version(header.version_byte, header.stream)?;
        let frame_len = HEADER_LEN + self.checked_body_len(&header)?;
        match self.partial.len().cmp(&frame_len) {
            std::cmp::Ordering::Less => Ok(None),
            std::cmp::Ordering::Greater => Err(DecodeError::MalformedSegment(
                "split segments carry bytes beyond their envelope",
            )),
            std::cmp::Ordering::Equal => {
                let mut whole = std::mem::take(&mut self.partial).freeze();
                whole.advance(HEADER_LEN);
                self.finish_envelope(&header, version, whole).map(Some)
            }
        }
    }

    /// Checks the version byte of a request and fixes the connection's version on first use.
    fn accept_version(
        &mut self,
        version_byte: u8,
        stream: i16,
    ) -> Result<ProtocolVersion, DecodeError> {
        if version_byte & RESPONSE_BIT != 0 {
            return Err(DecodeError::ResponseDirection {
                version_byte,
                stream,
            });
        }
        let got =
            ProtocolVersion::from_number(version_byte).ok_or(DecodeError::UnsupportedVersion {
                version: version_byte,
                stream,
            })?;
        match self.version {
            Some(expected) if expected != got => Err(DecodeError::VersionMismatch {
                expected,
                got,
                stream,
            }),
            _ => {
                self.version = Some(got);
                Ok(got)
            }
        }
    }

    /// The body length, refused when negative or beyond the frame limit (before anything is buffered).
    fn checked_body_len(&self, header: &RawHeader) -> Result<usize, DecodeError> {
        let max = self.limits.max_frame_bytes;
        usize::try_from(header.length)
            .ok()
            .filter(|len| *len <= max)
            .ok_or(DecodeError::FrameTooLarge {
                length: i64::from(header.length),
                max,
                stream: header.stream,
            })
    }

    /// Validates flags, decompresses (v4) and strips the custom payload of a whole envelope.
    fn finish_envelope(
        &self,
        header: &RawHeader,
        version: ProtocolVersion,
        body: Bytes,
    ) -> Result<Envelope, DecodeError> {
        let stream = header.stream;
        if header.flags & !flags::KNOWN != 0 {
            return Err(DecodeError::UnknownFlags {
                flags: header.flags,
                stream,
            });
        }
        let envelope_error = |source| DecodeError::Envelope { stream, source };
        let opcode = Opcode::try_from(header.opcode).map_err(envelope_error)?;
        // v5 envelopes never use the compression flag (compression moved to segments); it is ignored there.
        let compressed = version == ProtocolVersion::V4 && header.flags & flags::COMPRESSION != 0;
        let body = if compressed {
            let compression = self
                .compression
                .ok_or(DecodeError::CompressionNotNegotiated { stream })?;
            Bytes::from(
                compression
                    .decompress(&body, self.limits.max_frame_bytes)
                    .map_err(envelope_error)?,
            )
        } else {
            body
        };
        let body = if header.flags & flags::CUSTOM_PAYLOAD != 0 {
            strip_custom_payload(body).map_err(envelope_error)?
        } else {
            body
        };
        Ok(Envelope {
            version,
            flags: header.flags & !(flags::COMPRESSION | flags::CUSTOM_PAYLOAD),
            stream,
            opcode,
            body,
        })
    }

    /// Writes header and body straight into `out` (no intermediate copy of the body).
    fn encode_envelope_into(
        &self,
        frame: &ResponseFrame,
        version: ProtocolVersion,
        out: &mut BytesMut,
    ) -> Result<(), EncodeError> {
        let start = out.len();
        put_response_header(out, version, 0, frame.stream, frame.response.opcode(), 0);
        let flags = put_body_prefix(frame, out)?;
        let tail = frame.response.encode_body_head(version, out)?;
        if let Some(tail) = &tail {
            out.extend_from_slice(tail);
        }
        let body_len = out.len() - start - HEADER_LEN;
        self.check_body_len(body_len)?;
        patch_header(out, start, flags, int_len(body_len, "response body")?);
        Ok(())
    }

    fn encode_compressed(
        &self,
        frame: &ResponseFrame,
        compression: Compression,
        out: &mut BytesMut,
    ) -> Result<(), EncodeError> {
        let mut body = BytesMut::new();
        let flags = put_body_prefix(frame, &mut body)?;
        if let Some(tail) = frame
            .response
            .encode_body_head(ProtocolVersion::V4, &mut body)?
        {
            body.extend_from_slice(&tail);
        }
        self.check_body_len(body.len())?;
        let compressed = compression.compress(&body)?;
        let length = int_len(compressed.len(), "compressed response body")?;
        put_response_header(
            out,
            ProtocolVersion::V4,
            flags | flags::COMPRESSION,
            frame.stream,
            frame.response.opcode(),
            length,
        );
        out.extend_from_slice(&compressed);
        Ok(())
    }

    /// Encodes the envelope once into a scratch buffer (pre-encoded row content stays apart) and frames it.
    fn encode_framed(
        &self,
        frame: &ResponseFrame,
        lz4: bool,
        out: &mut BytesMut,
    ) -> Result<(), EncodeError> {
        let mut head = BytesMut::new();
        put_response_header(
            &mut head,
            ProtocolVersion::V5,
            0,
            frame.stream,
            frame.response.opcode(),
            0,
        );
        let flags = put_body_prefix(frame, &mut head)?;
        let tail = frame
            .response
            .encode_body_head(ProtocolVersion::V5, &mut head)?
            .unwrap_or_default();
        let body_len = head.len() - HEADER_LEN + tail.len();
        self.check_body_len(body_len)?;
        patch_header(&mut head, 0, flags, int_len(body_len, "response body")?);
        segment::encode(&[&head, &tail], lz4, out);
        Ok(())
    }

    fn check_body_len(&self, size: usize) -> Result<(), EncodeError> {
        let limit = self.limits.max_frame_bytes;
        if size > limit {
            return Err(EncodeError::FrameTooLarge { size, limit });
        }
        Ok(())
    }
}

/// Writes `[tracing_id][warnings]` and returns the header flags announcing them.
fn put_body_prefix(frame: &ResponseFrame, out: &mut BytesMut) -> Result<u8, EncodeError> {
    let mut header_flags = 0;
    if let Some(tracing_id) = &frame.tracing_id {
        header_flags |= flags::TRACING;
        out.put_slice(tracing_id);
    }
    if !frame.warnings.is_empty() {
        header_flags |= flags::WARNING;
        put_string_list(out, &frame.warnings, "warnings")?;
    }
    Ok(header_flags)
}

/// Fills in the flags and length of a header written with placeholders at `start`.
fn patch_header(out: &mut BytesMut, start: usize, header_flags: u8, length: i32) {
    if let Some(flags_byte) = out.get_mut(start + 1) {
        *flags_byte = header_flags;
    }
    if let Some(length_bytes) = out.get_mut(start + 5..start + HEADER_LEN) {
        length_bytes.copy_from_slice(&length.to_be_bytes());
    }
}

/// Drops the leading `[bytes map]` of a body sent with the custom payload flag: Strata has no use for it.
fn strip_custom_payload(body: Bytes) -> Result<Bytes, ProtocolError> {
    let mut reader = Reader::new(body);
    reader.read_bytes_map("custom payload")?;
    Ok(reader.into_rest())
}

/// The unframed v4 ERROR 0x000A telling a client its protocol version is not supported. The wording holds
/// what every driver looks for: "Invalid or unsupported protocol version" (Java, python's lowercase match)
/// and the end-anchored "the lowest supported version is 4 and the greatest is 5" (gocql).
pub fn unsupported_version_response(requested: u8, stream: i16) -> Bytes {
    let message = format!(
        "Invalid or unsupported protocol version ({requested}); supported versions are (4/v4, 5/v5); \
         the lowest supported version is 4 and the greatest is 5"
    );
    let body = Response::Error(ErrorBody::new(ErrorKind::Protocol, message));
    let mut out = BytesMut::new();
    put_response_header(&mut out, ProtocolVersion::V4, 0, stream, Opcode::Error, 0);
    // The message is far below every notation limit, so encoding cannot fail.
    if body.encode_body(ProtocolVersion::V4, &mut out).is_ok() {
        let length = i32::try_from(out.len() - HEADER_LEN).unwrap_or_default();
        patch_header(&mut out, 0, 0, length);
    }
    out.freeze()
}
