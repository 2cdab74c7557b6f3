//! Encode -> decode identity for every request and response message in v4 and v5, and golden bytes.
//!
//! Method: proptest generates messages restricted to what a version can carry; each is encoded with the
//! crate's encoder and decoded with its decoder (requests: client encoder -> server decoder; responses:
//! server encoder -> client decoder), and must come back equal. Golden-byte tests pin the wire format to
//! independently computed vectors so that a symmetric bug in both directions cannot hide.

mod common;

use bytes::{Bytes, BytesMut};
use common::strategies;
use proptest::prelude::*;
use strata_protocol::frame::flags;
use strata_protocol::response::result::EncodedRows;
use strata_protocol::{
    ColType, ColumnSpec, Consistency, Envelope, ErrorBody, ErrorKind, Limits, Prepared,
    ProtocolVersion, QueryParams, Request, Response, ResponseFrame, ResultBody, Rows, RowsMetadata,
    ServerCodec, Value, Values, WriteType,
};

fn envelope(version: ProtocolVersion, request: &Request) -> Envelope {
    let mut body = BytesMut::new();
    request.encode(version, &mut body).unwrap();
    Envelope {
        version,
        flags: 0,
        stream: 3,
        opcode: request.opcode(),
        body: body.freeze(),
    }
}

fn response_body(version: ProtocolVersion, response: &Response) -> Bytes {
    let mut body = BytesMut::new();
    response.encode_body(version, &mut body).unwrap();
    body.freeze()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_request_survives_encode_then_decode(
        (version, request) in strategies::versions().prop_flat_map(|v| (Just(v), strategies::request(v)))
    ) {
        let decoded = Request::decode(&envelope(version, &request)).unwrap();
        prop_assert_eq!(decoded, request);
    }

    #[test]
    fn every_response_survives_encode_then_decode(
        (version, response) in strategies::versions().prop_flat_map(|v| (Just(v), strategies::response(v)))
    ) {
        let body = response_body(version, &response);
        let decoded = Response::decode(version, response.opcode(), body).unwrap();
        prop_assert_eq!(decoded, strategies::as_decoded(response, version));
    }
}

fn spec(name: &str, col_type: ColType) -> ColumnSpec {
    ColumnSpec {
        keyspace: "ks".into(),
        table: "t".into(),
        name: name.into(),
        col_type,
    }
}

/// `SELECT` in v4 golden bytes: global table spec, one int and one text column, two rows (one null cell).
#[test]
fn rows_golden_bytes_v4() {
    let rows = Rows {
        metadata: RowsMetadata::new(vec![spec("k", ColType::Int), spec("v", ColType::Varchar)]),
        rows: vec![
            vec![
                Some(Bytes::from_static(&[0, 0, 0, 1])),
                Some(Bytes::from_static(b"a")),
            ],
            vec![Some(Bytes::from_static(&[0, 0, 0, 2])), None],
        ],
    };
    let body = response_body(
        ProtocolVersion::V4,
        &Response::Result(ResultBody::Rows(rows)),
    );
    let expected = common::hex(
        "00000002 00000001 00000002 0002 6b73 0001 74 0001 6b 0009 0001 76 000d 00000002
         00000004 00000001 00000001 61 00000004 00000002 ffffffff",
    );
    assert_eq!(body.to_vec(), expected);
}

#[test]
fn encoded_rows_are_byte_identical_to_rows() {
    let metadata = RowsMetadata {
        columns: vec![spec("k", ColType::Int), spec("v", ColType::Blob)],
        paging_state: Some(Bytes::from_static(b"next")),
        no_metadata: false,
        new_metadata_id: None,
    };
    let cells: Vec<Vec<Option<Bytes>>> = (0..100u32)
        .map(|i| {
            vec![
                Some(Bytes::copy_from_slice(&i.to_be_bytes())),
                (i % 3 != 0).then(|| Bytes::from(vec![7; i as usize])),
            ]
        })
        .collect();
    let mut content = BytesMut::new();
    for row in &cells {
        let row: Vec<Option<&[u8]>> = row.iter().map(|cell| cell.as_deref()).collect();
        EncodedRows::put_row(&mut content, &row).unwrap();
    }
    let encoded = EncodedRows {
        metadata: metadata.clone(),
        row_count: 100,
        content: content.freeze(),
    };
    for version in [ProtocolVersion::V4, ProtocolVersion::V5] {
        let from_rows = response_body(
            version,
            &Response::Result(ResultBody::Rows(Rows {
                metadata: metadata.clone(),
                rows: cells.clone(),
            })),
        );
        let from_encoded = response_body(
            version,
            &Response::Result(ResultBody::EncodedRows(encoded.clone())),
        );
        assert_eq!(from_rows, from_encoded);
    }
}

#[test]
fn rows_with_a_wrong_cell_count_are_refused() {
    let rows = Rows {
        metadata: RowsMetadata::new(vec![spec("k", ColType::Int)]),
        rows: vec![vec![]],
    };
    let mut out = BytesMut::new();
    assert!(Response::Result(ResultBody::Rows(rows))
        .encode_body(ProtocolVersion::V4, &mut out)
        .is_err());
}

/// Non-SELECT statements prepare with No_metadata and zero result columns (spec §4.2.5.4).
#[test]
fn prepared_without_result_columns_sends_no_metadata() {
    let prepared = Prepared {
        id: Bytes::from_static(&[0xab; 16]),
        result_metadata_id: Some(Bytes::from_static(&[0xcd; 16])),
        bind_columns: vec![spec("k", ColType::Int)],
        pk_indexes: vec![0],
        result_columns: None,
    };
    let body = response_body(
        ProtocolVersion::V5,
        &Response::Result(ResultBody::Prepared(prepared)),
    );
    let mut expected = common::hex("00000004 0010");
    expected.extend([0xab; 16]);
    expected.extend(common::hex("0010"));
    expected.extend([0xcd; 16]);
    expected.extend(common::hex(
        "00000001 00000001 00000001 0000 0002 6b73 0001 74 0001 6b 0009 00000004 00000000",
    ));
    assert_eq!(body.to_vec(), expected);
}

#[test]
fn duration_travels_as_custom_type_in_v4() {
    let rows = Rows {
        metadata: RowsMetadata::new(vec![spec("d", ColType::Duration)]),
        rows: vec![],
    };
    let response = Response::Result(ResultBody::Rows(rows));
    let decoded = Response::decode(
        ProtocolVersion::V4,
        response.opcode(),
        response_body(ProtocolVersion::V4, &response),
    )
    .unwrap();
    let Response::Result(ResultBody::Rows(rows)) = decoded else {
        panic!("not rows: {decoded:?}")
    };
    assert_eq!(
        rows.metadata.columns[0].col_type,
        ColType::Custom("org.apache.cassandra.db.marshal.DurationType".into())
    );
    let v5 = Response::decode(
        ProtocolVersion::V5,
        response.opcode(),
        response_body(ProtocolVersion::V5, &response),
    )
    .unwrap();
    assert_eq!(v5, response);
}

/// The wire code of every error kind (spec §8), checked on the encoded bytes.
#[test]
fn error_codes_on_the_wire() {
    let cl = Consistency::Quorum;
    let cases = [
        (ErrorKind::Server, 0x0000),
        (ErrorKind::Protocol, 0x000A),
        (ErrorKind::AuthenticationError, 0x0100),
        (
            ErrorKind::Unavailable {
                consistency: cl,
                required: 2,
                alive: 1,
            },
            0x1000,
        ),
        (ErrorKind::Overloaded, 0x1001),
        (ErrorKind::IsBootstrapping, 0x1002),
        (ErrorKind::TruncateError, 0x1003),
        (
            ErrorKind::WriteTimeout {
                consistency: cl,
                received: 1,
                block_for: 2,
                write_type: WriteType::Simple,
                contentions: None,
            },
            0x1100,
        ),
        (
            ErrorKind::ReadTimeout {
                consistency: cl,
                received: 1,
                block_for: 2,
                data_present: false,
            },
            0x1200,
        ),
        (
            ErrorKind::ReadFailure {
                consistency: cl,
                received: 1,
                block_for: 2,
                failures: strata_protocol::FailureInfo::NumFailures(1),
                data_present: true,
            },
            0x1300,
        ),
        (
            ErrorKind::FunctionFailure {
                keyspace: "ks".into(),
                function: "f".into(),
                arg_types: vec!["int".into()],
            },
            0x1400,
        ),
        (
            ErrorKind::WriteFailure {
                consistency: cl,
                received: 1,
                block_for: 2,
                failures: strata_protocol::FailureInfo::NumFailures(1),
                write_type: WriteType::Batch,
            },
            0x1500,
        ),
        (ErrorKind::CdcWriteFailure, 0x1600),
        (
            ErrorKind::CasWriteUnknown {
                consistency: cl,
                received: 1,
                block_for: 2,
            },
            0x1700,
        ),
        (ErrorKind::SyntaxError, 0x2000),
        (ErrorKind::Unauthorized, 0x2100),
        (ErrorKind::Invalid, 0x2200),
        (ErrorKind::ConfigError, 0x2300),
        (
            ErrorKind::AlreadyExists {
                keyspace: "ks".into(),
                table: "".into(),
            },
            0x2400,
        ),
        (
            ErrorKind::Unprepared {
                id: Bytes::from_static(&[1, 2]),
            },
            0x2500,
        ),
    ];
    for (kind, code) in cases {
        assert_eq!(kind.code(), code);
        let body = response_body(
            ProtocolVersion::V5,
            &Response::Error(ErrorBody::new(kind.clone(), "m")),
        );
        assert_eq!(body[..4], code.to_be_bytes(), "{kind:?}");
        assert_eq!(body[4..7], [0, 1, b'm']);
    }
    // Extra bodies, byte for byte.
    let unavailable = response_body(
        ProtocolVersion::V4,
        &Response::Error(ErrorBody::new(
            ErrorKind::Unavailable {
                consistency: cl,
                required: 3,
                alive: 1,
            },
            "",
        )),
    );
    assert_eq!(
        unavailable.to_vec(),
        common::hex("00001000 0000 0004 00000003 00000001")
    );
    let unprepared = response_body(
        ProtocolVersion::V4,
        &Response::Error(ErrorBody::new(
            ErrorKind::Unprepared {
                id: Bytes::from_static(&[0xaa, 0xbb]),
            },
            "",
        )),
    );
    assert_eq!(unprepared.to_vec(), common::hex("00002500 0000 0002 aabb"));
    let cas = ErrorKind::WriteTimeout {
        consistency: Consistency::Serial,
        received: 0,
        block_for: 1,
        write_type: WriteType::Cas,
        contentions: Some(3),
    };
    let v5 = response_body(
        ProtocolVersion::V5,
        &Response::Error(ErrorBody::new(cas.clone(), "")),
    );
    assert_eq!(
        v5.to_vec(),
        common::hex("00001100 0000 0008 00000000 00000001 0003 434153 0003")
    );
    let v4 = response_body(
        ProtocolVersion::V4,
        &Response::Error(ErrorBody::new(cas, "")),
    );
    assert_eq!(
        v4.to_vec(),
        common::hex("00001100 0000 0008 00000000 00000001 0003 434153")
    );
}

#[test]
fn cas_write_unknown_becomes_a_cas_write_timeout_in_v4() {
    let kind = ErrorKind::CasWriteUnknown {
        consistency: Consistency::Serial,
        received: 0,
        block_for: 1,
    };
    let body = response_body(
        ProtocolVersion::V4,
        &Response::Error(ErrorBody::new(kind, "unknown")),
    );
    let decoded =
        Response::decode(ProtocolVersion::V4, strata_protocol::Opcode::Error, body).unwrap();
    let expected = ErrorKind::WriteTimeout {
        consistency: Consistency::Serial,
        received: 0,
        block_for: 1,
        write_type: WriteType::Cas,
        contentions: None,
    };
    assert_eq!(
        decoded,
        Response::Error(ErrorBody::new(expected, "unknown"))
    );
}

/// QUERY golden bytes as the python driver sends them in v4 and v5 (flags [byte] vs [int]).
#[test]
fn query_golden_bytes_v4_and_v5() {
    let mut params = QueryParams::new(Consistency::LocalOne);
    params.values = Values::Positional(vec![
        Value::Set(Bytes::from_static(&[0, 0, 0, 1])),
        Value::Unset,
    ]);
    params.page_size = Some(5000);
    params.skip_metadata = true;
    let request = Request::Query {
        query: "SELECT".into(),
        params,
    };
    let tail = "0002 00000004 00000001 fffffffe 00001388";
    let v4 = envelope(ProtocolVersion::V4, &request).body;
    assert_eq!(
        v4.to_vec(),
        common::hex(&format!("00000006 53454c454354 000a 07 {tail}"))
    );
    let v5 = envelope(ProtocolVersion::V5, &request).body;
    assert_eq!(
        v5.to_vec(),
        common::hex(&format!("00000006 53454c454354 000a 00000007 {tail}"))
    );
    assert_eq!(
        Request::decode(&envelope(ProtocolVersion::V5, &request)).unwrap(),
        request
    );
}

#[test]
fn response_frames_carry_tracing_id_and_warnings() {
    let mut codec = ServerCodec::new(Limits::default());
    let mut client = common::TestClient::new(ProtocolVersion::V4);
    common::decode_all(&mut codec, &client.request(0, &Request::Options));
    let frame = ResponseFrame {
        stream: 9,
        response: Response::Result(ResultBody::Void),
        tracing_id: Some([7; 16]),
        warnings: vec!["Aggregation query used without partition key".into()],
    };
    let mut out = BytesMut::new();
    codec.encode(&frame, &mut out).unwrap();
    let received = client.read(&mut out).unwrap();
    assert_eq!(received.flags, flags::TRACING | flags::WARNING);
    assert_eq!(received.tracing_id, frame.tracing_id);
    assert_eq!(received.warnings, frame.warnings);
    assert_eq!(received.response, frame.response);
    assert_eq!(received.stream, 9);
}
