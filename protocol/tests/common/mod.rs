//! A minimal test client: encodes requests as a driver would and decodes the server's responses, so that
//! tests can drive [`ServerCodec`] from the outside with real wire bytes.
#![allow(dead_code)] // Each test binary uses a different subset.

pub mod strategies;

use std::collections::BTreeMap;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use strata_protocol::frame::{flags, RawHeader, HEADER_LEN};
use strata_protocol::types::Reader;
use strata_protocol::{
    segment, Compression, Limits, Opcode, ProtocolVersion, Request, Response, ResponseFrame,
    ServerCodec,
};

/// A decoded response envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub version_byte: u8,
    pub flags: u8,
    pub stream: i16,
    pub response: Response,
    pub tracing_id: Option<[u8; 16]>,
    pub warnings: Vec<String>,
}

/// Client-side protocol state, mirroring what the python driver does.
pub struct TestClient {
    pub version: ProtocolVersion,
    pub compression: Option<Compression>,
    /// v5 framing on (after READY/AUTHENTICATE).
    pub framed: bool,
    /// v5: concatenated segment payloads not yet parsed into envelopes.
    stream_bytes: BytesMut,
}

impl TestClient {
    pub fn new(version: ProtocolVersion) -> Self {
        Self {
            version,
            compression: None,
            framed: false,
            stream_bytes: BytesMut::new(),
        }
    }

    fn lz4_segments(&self) -> bool {
        self.compression == Some(Compression::Lz4)
    }

    /// The bytes of a request envelope with explicit flags and a raw body, framed or compressed as the
    /// connection state requires.
    pub fn raw_request(
        &self,
        stream: i16,
        opcode: Opcode,
        extra_flags: u8,
        body: &[u8],
    ) -> BytesMut {
        let compress = self.version == ProtocolVersion::V4 && opcode != Opcode::Startup;
        let (header_flags, body) = match self.compression.filter(|_| compress) {
            Some(compression) => (
                extra_flags | flags::COMPRESSION,
                compression.compress(body).unwrap(),
            ),
            None => (extra_flags, body.to_vec()),
        };
        let mut envelope = BytesMut::new();
        envelope.put_u8(self.version.number());
        envelope.put_u8(header_flags);
        envelope.put_i16(stream);
        envelope.put_u8(opcode as u8);
        envelope.put_i32(body.len() as i32);
        envelope.put_slice(&body);
        if !self.framed {
            return envelope;
        }
        let mut out = BytesMut::new();
        segment::encode(&[&envelope], self.lz4_segments(), &mut out);
        out
    }

    pub fn request(&self, stream: i16, request: &Request) -> BytesMut {
        let mut body = BytesMut::new();
        request.encode(self.version, &mut body).unwrap();
        self.raw_request(stream, request.opcode(), 0, &body)
    }

    /// Decodes the next response from `buf`, switching to v5 framing after READY/AUTHENTICATE as a driver does.
    pub fn read(&mut self, buf: &mut BytesMut) -> Option<Received> {
        if self.framed {
            while let Some(segment) = segment::decode(buf, self.lz4_segments()).unwrap() {
                self.stream_bytes.extend_from_slice(&segment.payload);
            }
            let mut pending = std::mem::take(&mut self.stream_bytes);
            let received = self.read_envelope(&mut pending);
            self.stream_bytes = pending;
            return received;
        }
        let received = self.read_envelope(buf)?;
        if self.version == ProtocolVersion::V5
            && matches!(
                received.response,
                Response::Ready | Response::Authenticate(_)
            )
        {
            self.framed = true;
        }
        Some(received)
    }

    fn read_envelope(&self, buf: &mut BytesMut) -> Option<Received> {
        let header = RawHeader::peek(buf)?;
        let length = header.length as usize;
        if buf.len() < HEADER_LEN + length {
            return None;
        }
        buf.advance(HEADER_LEN);
        let body = buf.split_to(length);
        let body = if header.flags & flags::COMPRESSION != 0 {
            let compression = self
                .compression
                .expect("compressed response without negotiated compression");
            Bytes::from(compression.decompress(&body, 1 << 30).unwrap())
        } else {
            body.freeze()
        };
        let version =
            ProtocolVersion::from_number(header.version_byte & 0x7f).expect("response version");
        let mut reader = Reader::new(body);
        let tracing_id = (header.flags & flags::TRACING != 0).then(|| {
            reader
                .take(16, "tracing id")
                .unwrap()
                .as_ref()
                .try_into()
                .unwrap()
        });
        let warnings = if header.flags & flags::WARNING != 0 {
            reader.read_string_list("warnings").unwrap()
        } else {
            Vec::new()
        };
        let opcode = Opcode::try_from(header.opcode).unwrap();
        let response = Response::decode(version, opcode, reader.into_rest()).unwrap();
        Some(Received {
            version_byte: header.version_byte,
            flags: header.flags,
            stream: header.stream,
            response,
            tracing_id,
            warnings,
        })
    }
}

/// Feeds `bytes` to the codec and returns every request decoded from them.
pub fn decode_all(codec: &mut ServerCodec, bytes: &[u8]) -> Vec<Request> {
    let mut buf = BytesMut::from(bytes);
    let mut requests = Vec::new();
    while let Some(envelope) = codec.decode(&mut buf).unwrap() {
        requests.push(Request::decode(&envelope).unwrap());
    }
    assert!(buf.is_empty(), "{} bytes left undecoded", buf.len());
    requests
}

pub fn startup(compression: Option<&str>) -> Request {
    let mut options = BTreeMap::new();
    options.insert("CQL_VERSION".to_owned(), "3.0.0".to_owned());
    if let Some(name) = compression {
        options.insert("COMPRESSION".to_owned(), name.to_owned());
    }
    Request::Startup(options)
}

pub fn hex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect()
}

/// Runs OPTIONS, STARTUP and READY as a driver does and returns the codec and client ready for requests.
pub fn handshake(version: ProtocolVersion, compression: Option<&str>) -> (ServerCodec, TestClient) {
    let mut codec = ServerCodec::new(Limits::default());
    let mut client = TestClient::new(version);
    assert_eq!(
        decode_all(&mut codec, &client.request(0, &Request::Options)),
        vec![Request::Options]
    );
    let supported = Response::Supported(vec![(
        "COMPRESSION".into(),
        vec!["lz4".into(), "snappy".into()],
    )]);
    let mut out = encode_response(&mut codec, 0, supported.clone());
    assert_eq!(client.read(&mut out).unwrap().response, supported);
    assert_eq!(
        decode_all(&mut codec, &client.request(1, &startup(compression))),
        vec![startup(compression)]
    );
    codec.set_compression(compression).unwrap();
    // Like the python driver: decompressor installed before STARTUP, compressor after READY.
    client.compression = codec.compression();
    let mut out = encode_response(&mut codec, 1, Response::Ready);
    assert_eq!(client.read(&mut out).unwrap().response, Response::Ready);
    assert!(out.is_empty());
    (codec, client)
}

/// Encodes one response with the codec.
pub fn encode_response(codec: &mut ServerCodec, stream: i16, response: Response) -> BytesMut {
    let mut out = BytesMut::new();
    codec
        .encode(&ResponseFrame::new(stream, response), &mut out)
        .unwrap();
    out
}
