//! proptest strategies for every request and response, restricted to what each version can carry so that
//! encode -> decode must give back exactly the input.

use std::net::{IpAddr, SocketAddr};

use bytes::Bytes;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use strata_protocol::{
    Batch, BatchStatement, BatchType, ColType, ColumnSpec, Consistency, ErrorBody, ErrorKind,
    Event, EventType, FailureInfo, Prepared, ProtocolVersion, QueryParams, Request, Response,
    ResultBody, Rows, RowsMetadata, SchemaChange, SchemaChangeTarget, SchemaChangeType, Value,
    Values, WriteType,
};

pub fn versions() -> impl Strategy<Value = ProtocolVersion> {
    prop_oneof![Just(ProtocolVersion::V4), Just(ProtocolVersion::V5)]
}

fn is_v5(version: ProtocolVersion) -> bool {
    version == ProtocolVersion::V5
}

fn consistency() -> impl Strategy<Value = Consistency> + Clone {
    proptest::sample::select(Consistency::ALL_LEVELS.to_vec())
}

fn blob() -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 0..24).prop_map(Bytes::from)
}

fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_ é]{0,12}"
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        blob().prop_map(Value::Set),
        Just(Value::Null),
        Just(Value::Unset)
    ]
}

fn positional() -> impl Strategy<Value = Values> {
    vec(value(), 0..5).prop_map(Values::Positional)
}

fn values() -> impl Strategy<Value = Values> {
    prop_oneof![
        positional(),
        vec((text(), value()), 0..5).prop_map(Values::Named)
    ]
}

/// Fields that only v5 carries, or `None` in v4.
fn v5_only<T: std::fmt::Debug + Clone + 'static>(
    version: ProtocolVersion,
    strategy: impl Strategy<Value = T> + 'static,
) -> BoxedStrategy<Option<T>> {
    if is_v5(version) {
        option::of(strategy).boxed()
    } else {
        Just(None).boxed()
    }
}

pub fn query_params(version: ProtocolVersion) -> impl Strategy<Value = QueryParams> {
    (
        (
            consistency(),
            values(),
            any::<bool>(),
            option::of(any::<i32>()),
            option::of(blob()),
        ),
        (
            option::of(consistency()),
            option::of(any::<i64>()),
            v5_only(version, text()),
            v5_only(version, any::<i32>()),
        ),
    )
        .prop_map(
            |((consistency, values, skip_metadata, page_size, paging_state), tail)| {
                let (serial_consistency, timestamp, keyspace, now_in_seconds) = tail;
                QueryParams {
                    consistency,
                    values,
                    skip_metadata,
                    page_size,
                    paging_state,
                    serial_consistency,
                    timestamp,
                    keyspace,
                    now_in_seconds,
                }
            },
        )
}

fn batch(version: ProtocolVersion) -> impl Strategy<Value = Batch> {
    let statement = prop_oneof![
        (text(), positional()).prop_map(|(query, values)| BatchStatement::Query { query, values }),
        (blob(), positional()).prop_map(|(id, values)| BatchStatement::Prepared { id, values }),
    ];
    let batch_type = prop_oneof![
        Just(BatchType::Logged),
        Just(BatchType::Unlogged),
        Just(BatchType::Counter)
    ];
    (
        (batch_type, vec(statement, 0..4), consistency()),
        (
            option::of(consistency()),
            option::of(any::<i64>()),
            v5_only(version, text()),
            v5_only(version, any::<i32>()),
        ),
    )
        .prop_map(|((batch_type, statements, consistency), tail)| {
            let (serial_consistency, timestamp, keyspace, now_in_seconds) = tail;
            Batch {
                batch_type,
                statements,
                consistency,
                serial_consistency,
                timestamp,
                keyspace,
                now_in_seconds,
            }
        })
}

fn event_type() -> impl Strategy<Value = EventType> {
    prop_oneof![
        Just(EventType::TopologyChange),
        Just(EventType::StatusChange),
        Just(EventType::SchemaChange)
    ]
}

pub fn request(version: ProtocolVersion) -> impl Strategy<Value = Request> {
    // v5 always carries the result metadata id on EXECUTE.
    let metadata_id = if is_v5(version) {
        blob().prop_map(Some).boxed()
    } else {
        Just(None).boxed()
    };
    let prepare_keyspace = v5_only(version, text());
    prop_oneof![
        proptest::collection::btree_map(text(), text(), 0..4).prop_map(Request::Startup),
        Just(Request::Options),
        ("[ -~]{0,40}", query_params(version))
            .prop_map(|(query, params)| Request::Query { query, params }),
        (text(), prepare_keyspace)
            .prop_map(|(query, keyspace)| Request::Prepare { query, keyspace }),
        (blob(), metadata_id, query_params(version)).prop_map(
            |(id, result_metadata_id, params)| Request::Execute {
                id,
                result_metadata_id,
                params
            }
        ),
        batch(version).prop_map(Request::Batch),
        vec(event_type(), 0..4).prop_map(Request::Register),
        option::of(blob()).prop_map(Request::AuthResponse),
    ]
}

/// Types a version can carry without conversion (v4 sends duration as a custom type).
pub fn col_type(version: ProtocolVersion) -> impl Strategy<Value = ColType> {
    let mut simple = vec![
        ColType::Ascii,
        ColType::Bigint,
        ColType::Blob,
        ColType::Boolean,
        ColType::Counter,
        ColType::Decimal,
        ColType::Double,
        ColType::Float,
        ColType::Int,
        ColType::Timestamp,
        ColType::Uuid,
        ColType::Varchar,
        ColType::Varint,
        ColType::Timeuuid,
        ColType::Inet,
        ColType::Date,
        ColType::Time,
        ColType::Smallint,
        ColType::Tinyint,
    ];
    if is_v5(version) {
        simple.push(ColType::Duration);
    }
    let leaf = prop_oneof![
        proptest::sample::select(simple),
        text().prop_map(ColType::Custom)
    ];
    leaf.prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            inner
                .clone()
                .prop_map(|element| ColType::List(Box::new(element))),
            inner
                .clone()
                .prop_map(|element| ColType::Set(Box::new(element))),
            (inner.clone(), inner.clone())
                .prop_map(|(key, value)| ColType::Map(Box::new(key), Box::new(value))),
            (text(), text(), vec((text(), inner.clone()), 0..3)).prop_map(
                |(keyspace, name, fields)| ColType::Udt {
                    keyspace,
                    name,
                    fields
                }
            ),
            vec(inner, 0..3).prop_map(ColType::Tuple),
        ]
    })
}

/// Columns that either share one table (global spec) or not.
fn columns(version: ProtocolVersion, max: usize) -> impl Strategy<Value = Vec<ColumnSpec>> {
    let column = (
        prop_oneof![Just("ks".to_owned()), text()],
        prop_oneof![Just("t".to_owned()), text()],
        text(),
        col_type(version),
    )
        .prop_map(|(keyspace, table, name, col_type)| ColumnSpec {
            keyspace,
            table,
            name,
            col_type,
        });
    vec(column, 0..max)
}

fn rows(version: ProtocolVersion) -> impl Strategy<Value = Rows> {
    (
        columns(version, 4),
        option::of(blob()),
        any::<bool>(),
        v5_only(version, blob()),
        0..4usize,
    )
        .prop_flat_map(
            |(columns, paging_state, no_metadata, new_metadata_id, row_count)| {
                let width = columns.len();
                let metadata = RowsMetadata {
                    columns,
                    paging_state,
                    no_metadata,
                    new_metadata_id,
                };
                vec(
                    vec(option::of(blob()), width..=width),
                    row_count..=row_count,
                )
                .prop_map(move |rows| Rows {
                    metadata: metadata.clone(),
                    rows,
                })
            },
        )
}

fn prepared(version: ProtocolVersion) -> impl Strategy<Value = Prepared> {
    let metadata_id = if is_v5(version) {
        blob().prop_map(Some).boxed()
    } else {
        Just(None).boxed()
    };
    (
        blob(),
        metadata_id,
        columns(version, 4),
        vec(any::<u16>(), 0..3),
        option::of(columns(version, 3)),
    )
        .prop_map(
            |(id, result_metadata_id, bind_columns, pk_indexes, result_columns)| Prepared {
                id,
                result_metadata_id,
                bind_columns,
                pk_indexes,
                result_columns,
            },
        )
}

pub fn schema_change() -> impl Strategy<Value = SchemaChange> {
    let change = prop_oneof![
        Just(SchemaChangeType::Created),
        Just(SchemaChangeType::Updated),
        Just(SchemaChangeType::Dropped)
    ];
    let target = prop_oneof![
        text().prop_map(SchemaChangeTarget::Keyspace),
        (text(), text()).prop_map(|(keyspace, name)| SchemaChangeTarget::Table { keyspace, name }),
        (text(), text()).prop_map(|(keyspace, name)| SchemaChangeTarget::Type { keyspace, name }),
        (text(), text(), vec(text(), 0..3)).prop_map(|(keyspace, name, args)| {
            SchemaChangeTarget::Function {
                keyspace,
                name,
                args,
            }
        }),
        (text(), text(), vec(text(), 0..3)).prop_map(|(keyspace, name, args)| {
            SchemaChangeTarget::Aggregate {
                keyspace,
                name,
                args,
            }
        }),
    ];
    (change, target).prop_map(|(change, target)| SchemaChange { change, target })
}

fn result(version: ProtocolVersion) -> impl Strategy<Value = ResultBody> {
    prop_oneof![
        Just(ResultBody::Void),
        rows(version).prop_map(ResultBody::Rows),
        text().prop_map(ResultBody::SetKeyspace),
        prepared(version).prop_map(ResultBody::Prepared),
        schema_change().prop_map(ResultBody::SchemaChange),
    ]
}

fn address() -> impl Strategy<Value = SocketAddr> {
    (
        prop_oneof![
            any::<[u8; 4]>().prop_map(IpAddr::from),
            any::<[u8; 16]>().prop_map(IpAddr::from)
        ],
        any::<u16>(),
    )
        .prop_map(|(ip, port)| SocketAddr::new(ip, port))
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        schema_change().prop_map(Event::SchemaChange),
        (
            prop_oneof![Just("NEW_NODE"), Just("REMOVED_NODE")],
            address()
        )
            .prop_map(|(change, address)| Event::TopologyChange {
                change: change.to_owned(),
                address
            }),
        (prop_oneof![Just("UP"), Just("DOWN")], address()).prop_map(|(change, address)| {
            Event::StatusChange {
                change: change.to_owned(),
                address,
            }
        }),
    ]
}

fn write_type() -> impl Strategy<Value = WriteType> {
    proptest::sample::select(vec![
        WriteType::Simple,
        WriteType::Batch,
        WriteType::UnloggedBatch,
        WriteType::Counter,
        WriteType::BatchLog,
        WriteType::Cas,
        WriteType::View,
        WriteType::Cdc,
    ])
}

fn failures(version: ProtocolVersion) -> BoxedStrategy<FailureInfo> {
    if is_v5(version) {
        let ip = prop_oneof![
            any::<[u8; 4]>().prop_map(IpAddr::from),
            any::<[u8; 16]>().prop_map(IpAddr::from)
        ];
        vec((ip, any::<u16>()), 0..3)
            .prop_map(FailureInfo::ReasonMap)
            .boxed()
    } else {
        any::<i32>().prop_map(FailureInfo::NumFailures).boxed()
    }
}

/// Error kinds as a version carries them: CAS contentions only in v5, CAS_WRITE_UNKNOWN only in v5.
fn error_kind(version: ProtocolVersion) -> impl Strategy<Value = ErrorKind> {
    let counts = (consistency(), any::<i32>(), any::<i32>());
    let simple = proptest::sample::select(vec![
        ErrorKind::Server,
        ErrorKind::Protocol,
        ErrorKind::AuthenticationError,
        ErrorKind::Overloaded,
        ErrorKind::IsBootstrapping,
        ErrorKind::TruncateError,
        ErrorKind::CdcWriteFailure,
        ErrorKind::SyntaxError,
        ErrorKind::Unauthorized,
        ErrorKind::Invalid,
        ErrorKind::ConfigError,
    ]);
    let write_timeout = (counts.clone(), write_type(), any::<u16>()).prop_map(
        move |((consistency, received, block_for), write_type, contentions)| {
            let contentions =
                (is_v5(version) && write_type == WriteType::Cas).then_some(contentions);
            ErrorKind::WriteTimeout {
                consistency,
                received,
                block_for,
                write_type,
                contentions,
            }
        },
    );
    let cas_unknown = counts
        .clone()
        .prop_map(move |(consistency, received, block_for)| {
            if is_v5(version) {
                ErrorKind::CasWriteUnknown {
                    consistency,
                    received,
                    block_for,
                }
            } else {
                ErrorKind::Unavailable {
                    consistency,
                    required: received,
                    alive: block_for,
                }
            }
        });
    prop_oneof![
        simple,
        counts
            .clone()
            .prop_map(|(consistency, required, alive)| ErrorKind::Unavailable {
                consistency,
                required,
                alive
            }),
        write_timeout,
        (counts.clone(), any::<bool>()).prop_map(
            |((consistency, received, block_for), data_present)| {
                ErrorKind::ReadTimeout {
                    consistency,
                    received,
                    block_for,
                    data_present,
                }
            }
        ),
        (counts.clone(), failures(version), any::<bool>()).prop_map(
            |((consistency, received, block_for), failures, data_present)| {
                ErrorKind::ReadFailure {
                    consistency,
                    received,
                    block_for,
                    failures,
                    data_present,
                }
            }
        ),
        (text(), text(), vec(text(), 0..3)).prop_map(|(keyspace, function, arg_types)| {
            ErrorKind::FunctionFailure {
                keyspace,
                function,
                arg_types,
            }
        }),
        (counts, failures(version), write_type()).prop_map(
            |((consistency, received, block_for), failures, write_type)| {
                ErrorKind::WriteFailure {
                    consistency,
                    received,
                    block_for,
                    failures,
                    write_type,
                }
            }
        ),
        cas_unknown,
        (text(), text()).prop_map(|(keyspace, table)| ErrorKind::AlreadyExists { keyspace, table }),
        blob().prop_map(|id| ErrorKind::Unprepared { id }),
    ]
}

pub fn response(version: ProtocolVersion) -> impl Strategy<Value = Response> {
    let multimap = vec((text(), vec(text(), 0..3)), 0..4);
    prop_oneof![
        (error_kind(version), text())
            .prop_map(|(kind, message)| Response::Error(ErrorBody { kind, message })),
        Just(Response::Ready),
        text().prop_map(Response::Authenticate),
        multimap.prop_map(Response::Supported),
        result(version).prop_map(Response::Result),
        event().prop_map(Response::Event),
        option::of(blob()).prop_map(Response::AuthChallenge),
        option::of(blob()).prop_map(Response::AuthSuccess),
    ]
}

/// What a client decodes from `response`: with No_metadata (and no Metadata_changed) only the column
/// count travels, so the decoded column list is empty.
pub fn as_decoded(mut response: Response, version: ProtocolVersion) -> Response {
    if let Response::Result(ResultBody::Rows(rows)) = &mut response {
        let metadata_changed = is_v5(version) && rows.metadata.new_metadata_id.is_some();
        if rows.metadata.no_metadata && !metadata_changed {
            rows.metadata.columns.clear();
        }
        if metadata_changed {
            rows.metadata.no_metadata = false;
        }
    }
    response
}
