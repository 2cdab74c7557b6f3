//! The connection state machine driven with real wire bytes: handshake, version negotiation, v4
//! compression, v5 framing (golden vectors, split envelopes, LZ4), limits and per-envelope errors.

mod common;

use bytes::{BufMut, Bytes, BytesMut};
use common::{decode_all, encode_response, handshake, hex, startup, TestClient};
use strata_protocol::frame::flags;
use strata_protocol::types::put_bytes_map;
use strata_protocol::{
    unsupported_version_response, ColType, ColumnSpec, Compression, Consistency, DecodeError,
    EncodeError, Limits, Opcode, ProtocolError, ProtocolVersion, QueryParams, Request, Response,
    ResponseFrame, ResultBody, Rows, RowsMetadata, ServerCodec,
};

fn query(text: &str) -> Request {
    Request::Query {
        query: text.to_owned(),
        params: QueryParams::new(Consistency::One),
    }
}

/// brief §1.9: the framed READY (answer to REGISTER) and a framed OPTIONS from the client, byte for byte.
#[test]
fn v5_golden_frames_after_handshake() {
    let (mut codec, _client) = handshake(ProtocolVersion::V5, None);
    assert!(codec.is_framed());
    let ready = encode_response(&mut codec, 0, Response::Ready);
    assert_eq!(
        ready.to_vec(),
        hex("090002 a4c8c1 850000000200000000 4f5a5d99")
    );
    let options = hex("090002 a4c8c1 050000010500000000 b5557486");
    assert_eq!(decode_all(&mut codec, &options), vec![Request::Options]);
}

/// READY itself is the last unframed envelope; STARTUP, OPTIONS and SUPPORTED before it are unframed too.
#[test]
fn v5_ready_is_sent_unframed_and_switches_framing_on() {
    let mut codec = ServerCodec::new(Limits::default());
    let client = TestClient::new(ProtocolVersion::V5);
    decode_all(&mut codec, &client.request(0, &startup(None)));
    assert!(!codec.is_framed());
    assert_eq!(
        encode_response(&mut codec, 0, Response::Ready).to_vec(),
        hex("850000000200000000")
    );
    assert!(codec.is_framed());
    // An error answer to STARTUP keeps the connection unframed.
    let mut codec = ServerCodec::new(Limits::default());
    decode_all(&mut codec, &client.request(0, &startup(None)));
    let error = Response::Error(strata_protocol::ErrorBody::new(
        strata_protocol::ErrorKind::Protocol,
        "bad",
    ));
    encode_response(&mut codec, 0, error);
    assert!(!codec.is_framed());
    // AUTHENTICATE also completes the unframed phase.
    let mut codec = ServerCodec::new(Limits::default());
    decode_all(&mut codec, &client.request(0, &startup(None)));
    encode_response(
        &mut codec,
        0,
        Response::Authenticate("org.apache.cassandra.auth.PasswordAuthenticator".into()),
    );
    assert!(codec.is_framed());
}

fn big_query(size: usize) -> Request {
    let text: String = (0..size)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    query(&text)
}

/// A 300 KB QUERY spans three non-self-contained segments and is reassembled, with and without LZ4,
/// also when the bytes arrive in small pieces.
#[test]
fn v5_split_request_is_reassembled() {
    for compression in [None, Some("lz4")] {
        let (mut codec, client) = handshake(ProtocolVersion::V5, compression);
        let request = big_query(300 * 1024);
        let bytes = client.request(7, &request);
        assert_eq!(
            decode_all(&mut codec, &bytes),
            vec![request.clone()],
            "compression {compression:?}"
        );
        let mut buf = BytesMut::new();
        let mut decoded = Vec::new();
        for piece in bytes.chunks(4093) {
            buf.extend_from_slice(piece);
            while let Some(envelope) = codec.decode(&mut buf).unwrap() {
                assert_eq!(envelope.stream, 7);
                decoded.push(Request::decode(&envelope).unwrap());
            }
        }
        assert_eq!(decoded, vec![request]);
    }
}

/// A big page is split on the way out and the client can put it back together.
#[test]
fn v5_split_response_round_trips() {
    for compression in [None, Some("lz4")] {
        let (mut codec, mut client) = handshake(ProtocolVersion::V5, compression);
        let column = ColumnSpec {
            keyspace: "ks".into(),
            table: "t".into(),
            name: "v".into(),
            col_type: ColType::Blob,
        };
        let rows: Vec<Vec<Option<Bytes>>> = (0..300u32)
            .map(|i| vec![Some(Bytes::from(vec![(i % 251) as u8; 1000]))])
            .collect();
        let response = Response::Result(ResultBody::Rows(Rows {
            metadata: RowsMetadata::new(vec![column]),
            rows,
        }));
        let mut out = encode_response(&mut codec, 3, response.clone());
        let received = client.read(&mut out).unwrap();
        assert_eq!((received.stream, received.response), (3, response));
    }
}

/// Several envelopes packed in one self-contained segment are returned one by one.
#[test]
fn v5_self_contained_segment_with_several_envelopes() {
    let (mut codec, client) = handshake(ProtocolVersion::V5, None);
    let mut unframed = TestClient::new(ProtocolVersion::V5);
    unframed.framed = false;
    let mut envelopes = BytesMut::new();
    envelopes.extend_from_slice(&unframed.request(1, &query("SELECT 1")));
    envelopes.extend_from_slice(&unframed.request(2, &Request::Options));
    envelopes.extend_from_slice(&unframed.request(3, &query("SELECT 3")));
    let mut framed = BytesMut::new();
    strata_protocol::segment::encode(&[&envelopes], false, &mut framed);
    drop(client);
    assert_eq!(
        decode_all(&mut codec, &framed),
        vec![query("SELECT 1"), Request::Options, query("SELECT 3")]
    );
}

#[test]
fn v5_corrupt_segment_is_fatal() {
    let (mut codec, client) = handshake(ProtocolVersion::V5, None);
    let mut bytes = client.request(1, &query("SELECT 1"));
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    let error = codec.decode(&mut bytes).unwrap_err();
    assert!(matches!(error, DecodeError::PayloadCrcMismatch { .. }));
    assert!(error.is_fatal());
}

/// v4 with lz4 or snappy: READY is already compressed (as Cassandra does), requests may be compressed.
#[test]
fn v4_compression_round_trips() {
    for name in ["lz4", "snappy"] {
        let (mut codec, mut client) = handshake(ProtocolVersion::V4, Some(name));
        assert_eq!(codec.compression(), Compression::from_name(name).ok());
        let request = big_query(50_000);
        assert_eq!(
            decode_all(&mut codec, &client.request(4, &request)),
            vec![request]
        );
        let mut out = encode_response(
            &mut codec,
            4,
            Response::Result(ResultBody::SetKeyspace("ks".into())),
        );
        assert_eq!(out[1] & flags::COMPRESSION, flags::COMPRESSION, "{name}");
        assert_eq!(
            client.read(&mut out).unwrap().response,
            Response::Result(ResultBody::SetKeyspace("ks".into()))
        );
        // An uncompressed request is still accepted after negotiation.
        client.compression = None;
        assert_eq!(
            decode_all(&mut codec, &client.request(5, &Request::Options)),
            vec![Request::Options]
        );
    }
}

#[test]
fn v4_ready_after_compression_is_compressed() {
    let mut codec = ServerCodec::new(Limits::default());
    let client = TestClient::new(ProtocolVersion::V4);
    decode_all(&mut codec, &client.request(0, &startup(Some("lz4"))));
    codec.set_compression(Some("lz4")).unwrap();
    let ready = encode_response(&mut codec, 0, Response::Ready);
    // lz4 of an empty body: 4-byte length 0 then the empty block's token byte.
    assert_eq!(ready.to_vec(), hex("84 01 0000 02 00000005 00000000 00"));
}

#[test]
fn v5_with_snappy_means_no_compression() {
    let (codec, _client) = handshake(ProtocolVersion::V5, Some("snappy"));
    assert_eq!(codec.compression(), None);
}

#[test]
fn unknown_compression_is_refused() {
    let mut codec = ServerCodec::new(Limits::default());
    assert!(matches!(
        codec.set_compression(Some("zstd")),
        Err(ProtocolError::UnsupportedCompression(_))
    ));
}

#[test]
fn compressed_frame_without_negotiation_is_refused() {
    let mut codec = ServerCodec::new(Limits::default());
    let mut bytes = BytesMut::from(&hex("04 01 0002 05 00000000")[..]);
    assert!(matches!(
        codec.decode(&mut bytes),
        Err(DecodeError::CompressionNotNegotiated { stream: 2 })
    ));
}

/// brief §1.10: the exact answer to a version the server does not speak.
#[test]
fn unsupported_versions_get_the_negotiation_error() {
    for (bytes, version, stream) in [
        (hex("42 00 0007 05 00000000"), 0x42, 7),
        (hex("06 00 0001 05 00000000"), 6, 1),
        (hex("03 00 0002 05 00000000"), 3, 2),
        (hex("02 00 05 05 00000000"), 2, 5),
        (hex("01 00 ff"), 1, -1),
    ] {
        let mut codec = ServerCodec::new(Limits::default());
        let mut buf = BytesMut::from(&bytes[..]);
        let error = codec.decode(&mut buf).unwrap_err();
        assert_eq!(error, DecodeError::UnsupportedVersion { version, stream });
        assert_eq!(error.stream(), Some(stream));
        assert_eq!(
            error.error_response(),
            None,
            "answered with unsupported_version_response instead"
        );
    }
    let message =
        "Invalid or unsupported protocol version (66); supported versions are (4/v4, 5/v5); \
                   the lowest supported version is 4 and the greatest is 5";
    let mut expected = hex("84 00 0007 00");
    expected.put_i32(4 + 2 + message.len() as i32);
    expected.put_i32(0x000A);
    expected.put_u16(message.len() as u16);
    expected.put_slice(message.as_bytes());
    assert_eq!(unsupported_version_response(0x42, 7).to_vec(), expected);
}

#[test]
fn version_is_fixed_by_the_first_envelope() {
    let mut codec = ServerCodec::new(Limits::default());
    decode_all(
        &mut codec,
        &TestClient::new(ProtocolVersion::V4).request(0, &Request::Options),
    );
    assert_eq!(codec.version(), Some(ProtocolVersion::V4));
    let mut v5 = TestClient::new(ProtocolVersion::V5).request(1, &Request::Options);
    assert!(matches!(
        codec.decode(&mut v5),
        Err(DecodeError::VersionMismatch { stream: 1, .. })
    ));
}

#[test]
fn response_direction_is_refused() {
    let mut codec = ServerCodec::new(Limits::default());
    let mut bytes = BytesMut::from(&hex("84 00 0000 02 00000000")[..]);
    assert!(matches!(
        codec.decode(&mut bytes),
        Err(DecodeError::ResponseDirection { .. })
    ));
}

/// Oversized and negative lengths are refused from the header alone, before the body is buffered.
#[test]
fn frame_length_limits_apply_before_buffering() {
    let mut codec = ServerCodec::new(Limits::with_max_frame_bytes(1024));
    let mut huge = BytesMut::from(&hex("04 00 0003 07 7fffffff")[..]);
    assert_eq!(
        codec.decode(&mut huge),
        Err(DecodeError::FrameTooLarge {
            length: i64::from(i32::MAX),
            max: 1024,
            stream: 3
        })
    );
    let mut negative = BytesMut::from(&hex("04 00 0003 07 ffffffff")[..]);
    let mut codec = ServerCodec::new(Limits::with_max_frame_bytes(1024));
    assert!(matches!(
        codec.decode(&mut negative),
        Err(DecodeError::FrameTooLarge { length: -1, .. })
    ));
}

#[test]
fn incomplete_input_waits_without_consuming() {
    let mut codec = ServerCodec::new(Limits::default());
    let bytes =
        TestClient::new(ProtocolVersion::V4).request(0, &query("SELECT now() FROM system.local"));
    let mut buf = BytesMut::new();
    for (index, byte) in bytes.iter().enumerate() {
        buf.put_u8(*byte);
        let decoded = codec.decode(&mut buf).unwrap();
        if index + 1 < bytes.len() {
            assert_eq!(decoded, None);
            assert_eq!(buf.len(), index + 1);
        } else {
            assert_eq!(
                Request::decode(&decoded.unwrap()).unwrap(),
                query("SELECT now() FROM system.local")
            );
        }
    }
}

#[test]
fn custom_payload_is_stripped_and_tracing_kept() {
    let mut codec = ServerCodec::new(Limits::default());
    let client = TestClient::new(ProtocolVersion::V4);
    let mut body = BytesMut::new();
    put_bytes_map(
        &mut body,
        &[("dse".into(), Some(Bytes::from_static(b"x")))],
        "payload",
    )
    .unwrap();
    query("SELECT 1")
        .encode(ProtocolVersion::V4, &mut body)
        .unwrap();
    let mut bytes = client.raw_request(
        2,
        Opcode::Query,
        flags::CUSTOM_PAYLOAD | flags::TRACING,
        &body,
    );
    let envelope = codec.decode(&mut bytes).unwrap().unwrap();
    assert!(envelope.tracing_requested());
    assert_eq!(envelope.flags, flags::TRACING);
    assert_eq!(Request::decode(&envelope).unwrap(), query("SELECT 1"));
}

/// An unknown opcode spoils only its own envelope; the next one decodes.
#[test]
fn bad_envelope_is_not_fatal() {
    let mut codec = ServerCodec::new(Limits::default());
    let mut bytes = BytesMut::from(&hex("04 00 0009 04 00000000")[..]);
    bytes.extend_from_slice(&TestClient::new(ProtocolVersion::V4).request(10, &Request::Options));
    let error = codec.decode(&mut bytes).unwrap_err();
    assert_eq!(
        error,
        DecodeError::Envelope {
            stream: 9,
            source: ProtocolError::UnknownOpcode(4)
        }
    );
    assert!(!error.is_fatal());
    let answer = error.error_response().unwrap();
    assert_eq!(answer.stream, 9);
    assert!(
        matches!(answer.response, Response::Error(ref body) if body.kind == strata_protocol::ErrorKind::Protocol)
    );
    assert_eq!(
        codec.decode(&mut bytes).unwrap().unwrap().opcode,
        Opcode::Options
    );
    let mut flagged = BytesMut::from(&hex("04 40 0009 05 00000000")[..]);
    assert!(matches!(
        codec.decode(&mut flagged),
        Err(DecodeError::UnknownFlags {
            flags: 0x40,
            stream: 9
        })
    ));
}

#[test]
fn encode_checks_version_and_limit() {
    let mut codec = ServerCodec::new(Limits::with_max_frame_bytes(100));
    let mut out = BytesMut::from(&b"kept"[..]);
    let frame = ResponseFrame::new(0, Response::Authenticate("x".repeat(200)));
    assert_eq!(codec.encode(&frame, &mut out), Err(EncodeError::NoVersion));
    decode_all(
        &mut codec,
        &TestClient::new(ProtocolVersion::V4).request(0, &Request::Options),
    );
    assert!(matches!(
        codec.encode(&frame, &mut out),
        Err(EncodeError::FrameTooLarge { .. })
    ));
    assert_eq!(
        &out[..],
        b"kept",
        "a failed encode leaves the output as it was"
    );
}

#[test]
fn events_go_out_on_stream_minus_one() {
    let (mut codec, mut client) = handshake(ProtocolVersion::V5, Some("lz4"));
    let event = Response::Event(strata_protocol::Event::StatusChange {
        change: "UP".into(),
        address: "127.0.0.2:9042".parse().unwrap(),
    });
    let mut out = encode_response(
        &mut codec,
        strata_protocol::frame::EVENT_STREAM,
        event.clone(),
    );
    let received = client.read(&mut out).unwrap();
    assert_eq!(
        (received.stream, received.version_byte, received.response),
        (-1, 0x85, event)
    );
}
