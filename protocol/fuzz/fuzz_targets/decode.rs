//! Fuzzes the server's decode path: `ServerCodec::decode` in every connection state, then
//! `Request::decode` on each envelope, plus the client-side `Response::decode` on the raw input.
//!
//! Input layout: byte 0 picks the connection state, byte 1 the size of the pieces the rest is fed in
//! (so partial-input paths are exercised), the rest is the byte stream.
#![no_main]

use std::collections::BTreeMap;

use bytes::{BufMut, Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use strata_protocol::{
    Limits, Opcode, ProtocolVersion, Request, Response, ResponseFrame, ServerCodec,
};

/// A codec after STARTUP and READY, as a driver leaves it.
fn after_handshake(version: ProtocolVersion, compression: Option<&str>) -> ServerCodec {
    let mut codec = ServerCodec::new(Limits::with_max_frame_bytes(1 << 20));
    let mut options = BTreeMap::new();
    options.insert("CQL_VERSION".to_owned(), "3.0.0".to_owned());
    let mut body = BytesMut::new();
    let _ = Request::Startup(options).encode(version, &mut body);
    let mut startup = BytesMut::new();
    startup.put_slice(&[version.number(), 0, 0, 0, Opcode::Startup as u8]);
    startup.put_i32(body.len() as i32);
    startup.put_slice(&body);
    let _ = codec.decode(&mut startup);
    let _ = codec.set_compression(compression);
    let _ = codec.encode(
        &ResponseFrame::new(0, Response::Ready),
        &mut BytesMut::new(),
    );
    codec
}

fn codec_for(state: u8) -> ServerCodec {
    match state % 6 {
        0 => ServerCodec::new(Limits::with_max_frame_bytes(1 << 20)),
        1 => after_handshake(ProtocolVersion::V4, None),
        2 => after_handshake(ProtocolVersion::V4, Some("lz4")),
        3 => after_handshake(ProtocolVersion::V4, Some("snappy")),
        4 => after_handshake(ProtocolVersion::V5, None),
        _ => after_handshake(ProtocolVersion::V5, Some("lz4")),
    }
}

fuzz_target!(|data: &[u8]| {
    let [state, piece, stream @ ..] = data else {
        return;
    };
    let mut codec = codec_for(*state);
    let mut buf = BytesMut::new();
    'feed: for chunk in stream.chunks(usize::from(*piece).max(1)) {
        buf.extend_from_slice(chunk);
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(envelope)) => {
                    let _ = Request::decode(&envelope);
                }
                Ok(None) => break,
                Err(error) if error.is_fatal() => break 'feed,
                Err(_) => {}
            }
        }
    }
    for version in [ProtocolVersion::V4, ProtocolVersion::V5] {
        if let Ok(opcode) = Opcode::try_from(*piece) {
            let _ = Response::decode(version, opcode, Bytes::copy_from_slice(stream));
        }
    }
});
