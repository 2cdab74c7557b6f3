//! Malformed input never panics.
//!
//! Method: proptest feeds (a) random bytes, (b) random mutations of valid request streams (bit flips,
//! truncation, inserted bytes, length fields overwritten with extreme values) into `ServerCodec::decode`
//! in every connection state (fresh, v4 lz4, v4 snappy, v5 framed, v5 framed + LZ4), and (c) random and
//! mutated bodies into `Request::decode` and `Response::decode`. Decoding must return, never panic, and
//! stop within a bounded number of calls. proptest prints the seed and minimal input of any failure.

mod common;

use bytes::{Bytes, BytesMut};
use common::{handshake, strategies, TestClient};
use proptest::prelude::*;
use strata_protocol::{Envelope, Limits, Opcode, ProtocolVersion, Request, Response, ServerCodec};

const OPCODES: [Opcode; 16] = [
    Opcode::Error,
    Opcode::Startup,
    Opcode::Ready,
    Opcode::Authenticate,
    Opcode::Options,
    Opcode::Supported,
    Opcode::Query,
    Opcode::Result,
    Opcode::Prepare,
    Opcode::Execute,
    Opcode::Register,
    Opcode::Event,
    Opcode::Batch,
    Opcode::AuthChallenge,
    Opcode::AuthResponse,
    Opcode::AuthSuccess,
];

/// Connection states to attack: (version, compression) after a handshake, or `None` for a fresh codec.
fn connection(state: u8) -> (ServerCodec, TestClient) {
    match state % 6 {
        0 => (
            ServerCodec::new(Limits::with_max_frame_bytes(1 << 20)),
            TestClient::new(ProtocolVersion::V4),
        ),
        1 => handshake(ProtocolVersion::V4, Some("lz4")),
        2 => handshake(ProtocolVersion::V4, Some("snappy")),
        3 => handshake(ProtocolVersion::V5, None),
        4 => handshake(ProtocolVersion::V5, Some("lz4")),
        _ => (
            ServerCodec::new(Limits::default()),
            TestClient::new(ProtocolVersion::V5),
        ),
    }
}

/// Decodes until the codec wants more bytes or fails fatally; every envelope is also body-decoded.
fn drain(codec: &mut ServerCodec, bytes: &[u8]) {
    let mut buf = BytesMut::from(bytes);
    // Each successful call consumes at least one byte or returns a queued envelope, so this bounds the loop.
    for _ in 0..=2 * bytes.len() + 16 {
        match codec.decode(&mut buf) {
            Ok(Some(envelope)) => {
                let _ = Request::decode(&envelope);
            }
            Ok(None) => return,
            Err(error) if error.is_fatal() => return,
            Err(_) => {}
        }
    }
    panic!("decode did not settle on {} bytes", bytes.len());
}

#[derive(Debug, Clone)]
enum Mutation {
    FlipBit {
        at: usize,
        bit: u8,
    },
    Truncate {
        at: usize,
    },
    Insert {
        at: usize,
        byte: u8,
    },
    /// Overwrites 4 bytes with a length-like value (negative, huge, off by a little).
    Length {
        at: usize,
        value: i32,
    },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let extreme = prop_oneof![
        Just(-1),
        Just(-2),
        Just(-3),
        Just(i32::MIN),
        Just(i32::MAX),
        Just(0x0001_FFFF),
        0..64i32,
        any::<i32>()
    ];
    prop_oneof![
        (any::<usize>(), 0..8u8).prop_map(|(at, bit)| Mutation::FlipBit { at, bit }),
        any::<usize>().prop_map(|at| Mutation::Truncate { at }),
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Insert { at, byte }),
        (any::<usize>(), extreme).prop_map(|(at, value)| Mutation::Length { at, value }),
    ]
}

fn apply(bytes: &mut Vec<u8>, mutation: &Mutation) {
    if bytes.is_empty() {
        return;
    }
    let len = bytes.len();
    match *mutation {
        Mutation::FlipBit { at, bit } => bytes[at % len] ^= 1 << bit,
        Mutation::Truncate { at } => bytes.truncate(at % len),
        Mutation::Insert { at, byte } => bytes.insert(at % (len + 1), byte),
        Mutation::Length { at, value } => {
            let at = at % len;
            let end = (at + 4).min(len);
            bytes[at..end].copy_from_slice(&value.to_be_bytes()[..end - at]);
        }
    }
}

fn request_stream(client: &TestClient, requests: &[Request]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for (stream, request) in requests.iter().enumerate() {
        bytes.extend_from_slice(&client.request(stream as i16, request));
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic_the_codec(state in any::<u8>(), bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let (mut codec, _) = connection(state);
        drain(&mut codec, &bytes);
    }

    #[test]
    fn random_bytes_behind_a_valid_header_never_panic(
        state in any::<u8>(),
        version in 4..=5u8,
        header_flags in any::<u8>(),
        opcode in prop_oneof![proptest::sample::select(OPCODES.to_vec()).prop_map(|o| o as u8), any::<u8>()],
        body in proptest::collection::vec(any::<u8>(), 0..512),
    ) {
        let (mut codec, _) = connection(state);
        let mut bytes = vec![version, header_flags, 0, 1, opcode];
        bytes.extend_from_slice(&(body.len() as i32).to_be_bytes());
        bytes.extend_from_slice(&body);
        drain(&mut codec, &bytes);
    }

    #[test]
    fn mutated_request_streams_never_panic(
        state in any::<u8>(),
        requests in proptest::collection::vec(strategies::request(ProtocolVersion::V4), 1..4),
        mutations in proptest::collection::vec(mutation(), 1..4),
    ) {
        let (mut codec, client) = connection(state);
        // Requests generated for v4 are valid in v5 too (v5-only fields are simply absent).
        let mut bytes = request_stream(&client, &requests);
        mutations.iter().for_each(|mutation| apply(&mut bytes, mutation));
        drain(&mut codec, &bytes);
    }

    #[test]
    fn random_bodies_never_panic_request_decode(
        version in strategies::versions(),
        opcode in proptest::sample::select(OPCODES.to_vec()),
        header_flags in any::<u8>(),
        body in proptest::collection::vec(any::<u8>(), 0..512),
    ) {
        let envelope = Envelope { version, flags: header_flags, stream: 0, opcode, body: Bytes::from(body.clone()) };
        let _ = Request::decode(&envelope);
        let _ = Response::decode(version, opcode, Bytes::from(body));
    }

    #[test]
    fn mutated_request_bodies_never_panic(
        (version, request) in strategies::versions().prop_flat_map(|v| (Just(v), strategies::request(v))),
        mutations in proptest::collection::vec(mutation(), 1..4),
    ) {
        let mut body = BytesMut::new();
        request.encode(version, &mut body).unwrap();
        let mut body = body.to_vec();
        mutations.iter().for_each(|mutation| apply(&mut body, mutation));
        let envelope = Envelope { version, flags: 0, stream: 0, opcode: request.opcode(), body: Bytes::from(body) };
        let _ = Request::decode(&envelope);
    }

    #[test]
    fn mutated_response_bodies_never_panic(
        (version, response) in strategies::versions().prop_flat_map(|v| (Just(v), strategies::response(v))),
        mutations in proptest::collection::vec(mutation(), 1..4),
    ) {
        let mut body = BytesMut::new();
        response.encode_body(version, &mut body).unwrap();
        let mut body = body.to_vec();
        mutations.iter().for_each(|mutation| apply(&mut body, mutation));
        let _ = Response::decode(version, response.opcode(), Bytes::from(body));
    }
}

/// Hand-picked hostile bodies that once panicked other CQL decoders (brief §3.2).
#[test]
fn known_hostile_bodies_are_errors() {
    let cases: [(Opcode, &[u8]); 8] = [
        // QUERY whose long string claims more bytes than the body has.
        (Opcode::Query, &[0x7f, 0xff, 0xff, 0xff, b'S']),
        // Negative long string length.
        (Opcode::Query, &[0xff, 0xff, 0xff, 0xf0]),
        // QUERY with unknown consistency 0x00ff.
        (Opcode::Query, &[0, 0, 0, 0, 0, 0xff, 0]),
        // QUERY with unknown flag 0x80 in v4.
        (Opcode::Query, &[0, 0, 0, 0, 0, 1, 0x80]),
        // Values flag with 65535 values and no bytes.
        (Opcode::Query, &[0, 0, 0, 0, 0, 1, 1, 0xff, 0xff]),
        // BATCH with type 7.
        (Opcode::Batch, &[7, 0, 0, 0, 1, 0]),
        // BATCH claiming 65535 statements.
        (Opcode::Batch, &[0, 0xff, 0xff]),
        // REGISTER with an unknown event.
        (Opcode::Register, &[0, 1, 0, 3, b'F', b'O', b'O']),
    ];
    for (opcode, body) in cases {
        let envelope = Envelope {
            version: ProtocolVersion::V4,
            flags: 0,
            stream: 0,
            opcode,
            body: Bytes::copy_from_slice(body),
        };
        assert!(
            Request::decode(&envelope).is_err(),
            "{opcode:?} {body:02x?}"
        );
    }
    let trailing = Envelope {
        version: ProtocolVersion::V4,
        flags: 0,
        stream: 0,
        opcode: Opcode::Options,
        body: Bytes::from_static(b"x"),
    };
    assert!(Request::decode(&trailing).is_err());
    let response_opcode = Envelope {
        version: ProtocolVersion::V4,
        flags: 0,
        stream: 0,
        opcode: Opcode::Ready,
        body: Bytes::new(),
    };
    assert!(Request::decode(&response_opcode).is_err());
}

/// A type option nested deeper than the bound is an error, not a stack overflow.
#[test]
fn deeply_nested_types_are_refused() {
    let mut body = vec![
        0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, b'k', 0, 1, b't', 0, 1, b'c',
    ];
    body.extend(std::iter::repeat_n([0, 0x20], 100_000).flatten());
    body.extend([0, 9, 0, 0, 0, 0]);
    assert!(Response::decode(ProtocolVersion::V4, Opcode::Result, Bytes::from(body)).is_err());
}
