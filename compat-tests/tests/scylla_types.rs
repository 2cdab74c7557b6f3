//! Every CQL type through the ScyllaDB Rust driver (`scylla` 1.x): each sample value is written
//! twice, once bound to a prepared INSERT and once as a CQL literal, and both rows must read
//! back as exactly the value the driver decodes from Cassandra 5.0. Counters, static columns,
//! in-place updates of non-frozen collections and UDTs, and the driver's derived UDT structs
//! have their own tests.

// Each test file compiles its own copy of the shared harness and uses a part of it.
#[allow(dead_code)]
mod common;

use std::collections::BTreeMap;
use std::net::IpAddr;

use common::{create_keyspace, StrataNode, TestResult};
use scylla::client::session::Session;
use scylla::value::{
    Counter, CqlDate, CqlDecimal, CqlDuration, CqlTime, CqlTimestamp, CqlTimeuuid, CqlValue,
    CqlVarint,
};
use scylla::{DeserializeValue, SerializeValue};
use uuid::Uuid;

const KEYSPACE: &str = "rs_dm";

/// The user types the tests use; `address` only holds frozen fields, so it can also be a
/// non-frozen (multi-cell) column.
const TYPES: &[&str] = &[
    "CREATE TYPE rs_dm.phone (label text, digits text)",
    "CREATE TYPE rs_dm.address (street text, zip int, phones frozen<list<frozen<phone>>>, \
     location tuple<double, double>)",
];

/// A value written as `bound` through a prepared statement and as `literal` in CQL text; both
/// must read back as `read`. They differ only where Cassandra stores something else than it
/// was given (an empty non-frozen collection is no collection: null).
struct Sample {
    literal: String,
    bound: Option<CqlValue>,
    read: Option<CqlValue>,
}

fn same(literal: impl Into<String>, value: CqlValue) -> Sample {
    Sample {
        literal: literal.into(),
        bound: Some(value.clone()),
        read: Some(value),
    }
}

fn null() -> Sample {
    Sample {
        literal: "null".into(),
        bound: None,
        read: None,
    }
}

fn stored_as(literal: &str, bound: CqlValue, read: Option<CqlValue>) -> Sample {
    Sample {
        literal: literal.into(),
        bound: Some(bound),
        read,
    }
}

/// A column of the table under test and the samples written to it.
struct Column {
    name: &'static str,
    cql_type: &'static str,
    samples: Vec<Sample>,
}

fn column(name: &'static str, cql_type: &'static str, samples: Vec<Sample>) -> Column {
    Column {
        name,
        cql_type,
        samples,
    }
}

/// A fresh node with keyspace `rs_dm` and its user types.
async fn node_with_types() -> Result<(StrataNode, Session), Box<dyn std::error::Error>> {
    let node = StrataNode::start()?;
    let session = node.session(None).await?;
    create_keyspace(&session, KEYSPACE).await?;
    for ddl in TYPES {
        session.query_unpaged(*ddl, &[]).await?;
    }
    Ok((node, session))
}

/// Creates `table` with one column per entry, writes every sample bound and as a literal (each
/// to its own row) and reads each row back through a prepared SELECT.
async fn assert_round_trips(session: &Session, table: &str, columns: &[Column]) -> TestResult {
    let definitions: Vec<String> = columns
        .iter()
        .map(|c| format!("{} {}", c.name, c.cql_type))
        .collect();
    session
        .query_unpaged(
            format!(
                "CREATE TABLE {KEYSPACE}.{table} (k int PRIMARY KEY, {})",
                definitions.join(", ")
            ),
            &[],
        )
        .await?;
    let mut key = 0_i32;
    for column in columns {
        let name = column.name;
        let insert = session
            .prepare(format!(
                "INSERT INTO {KEYSPACE}.{table} (k, {name}) VALUES (?, ?)"
            ))
            .await?;
        let select = session
            .prepare(format!("SELECT {name} FROM {KEYSPACE}.{table} WHERE k = ?"))
            .await?;
        for sample in &column.samples {
            let (bound_key, literal_key) = (key, key + 1);
            key += 2;
            session
                .execute_unpaged(&insert, (bound_key, &sample.bound))
                .await
                .map_err(|e| format!("{name}: binding {:?}: {e}", sample.bound))?;
            session
                .query_unpaged(
                    format!(
                        "INSERT INTO {KEYSPACE}.{table} (k, {name}) VALUES ({literal_key}, {})",
                        sample.literal
                    ),
                    &[],
                )
                .await
                .map_err(|e| format!("{name}: literal {}: {e}", sample.literal))?;
            for (row_key, written_as) in [(bound_key, "bound"), (literal_key, "literal")] {
                let (read,): (Option<CqlValue>,) = session
                    .execute_unpaged(&select, (row_key,))
                    .await?
                    .into_rows_result()?
                    .single_row()?;
                assert_eq!(
                    read, sample.read,
                    "{table}.{name} {} ({written_as})",
                    sample.literal
                );
            }
        }
    }
    Ok(())
}

fn text(s: &str) -> CqlValue {
    CqlValue::Text(s.to_owned())
}

fn uuid(s: &str) -> Uuid {
    Uuid::parse_str(s).expect("a valid uuid literal")
}

/// Days since the epoch as CQL's `date` (unsigned, the epoch at 2^31).
fn date(days_since_epoch: i64) -> CqlValue {
    CqlValue::Date(CqlDate(((1_i64 << 31) + days_since_epoch) as u32))
}

fn varint(big_endian: &[u8]) -> CqlVarint {
    CqlVarint::from_signed_bytes_be(big_endian.to_vec())
}

fn decimal(unscaled_big_endian: &[u8], scale: i32) -> CqlValue {
    CqlValue::Decimal(CqlDecimal::from_signed_be_bytes_and_exponent(
        unscaled_big_endian.to_vec(),
        scale,
    ))
}

fn duration(months: i32, days: i32, nanoseconds: i64) -> CqlValue {
    CqlValue::Duration(CqlDuration {
        months,
        days,
        nanoseconds,
    })
}

fn inet(s: &str) -> CqlValue {
    CqlValue::Inet(s.parse::<IpAddr>().expect("a valid address"))
}

fn ints(values: &[i32]) -> Vec<CqlValue> {
    values.iter().copied().map(CqlValue::Int).collect()
}

fn texts(values: &[&str]) -> Vec<CqlValue> {
    values.iter().copied().map(text).collect()
}

fn udt(name: &str, fields: &[(&str, Option<CqlValue>)]) -> CqlValue {
    CqlValue::UserDefinedType {
        keyspace: KEYSPACE.to_owned(),
        name: name.to_owned(),
        fields: fields
            .iter()
            .map(|(field, value)| ((*field).to_owned(), value.clone()))
            .collect(),
    }
}

fn phone(label: &str, digits: Option<&str>) -> CqlValue {
    udt(
        "phone",
        &[("label", Some(text(label))), ("digits", digits.map(text))],
    )
}

/// `location` of the addresses below: a tuple field.
fn berlin() -> CqlValue {
    CqlValue::Tuple(vec![
        Some(CqlValue::Double(52.52)),
        Some(CqlValue::Double(13.405)),
    ])
}

fn address(
    street: Option<&str>,
    zip: Option<i32>,
    phones: Option<Vec<CqlValue>>,
    location: Option<CqlValue>,
) -> CqlValue {
    udt(
        "address",
        &[
            ("street", street.map(text)),
            ("zip", zip.map(CqlValue::Int)),
            ("phones", phones.map(CqlValue::List)),
            ("location", location),
        ],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_native_type_round_trips_bound_and_as_a_literal() -> TestResult {
    let (_node, session) = node_with_types().await?;
    let columns = [
        column(
            "c_ascii",
            "ascii",
            vec![
                same("'plain ascii ~!'", CqlValue::Ascii("plain ascii ~!".into())),
                same("''", CqlValue::Ascii(String::new())),
                null(),
            ],
        ),
        column(
            "c_bigint",
            "bigint",
            vec![
                same("-9223372036854775808", CqlValue::BigInt(i64::MIN)),
                same("9223372036854775807", CqlValue::BigInt(i64::MAX)),
                null(),
            ],
        ),
        column(
            "c_blob",
            "blob",
            vec![
                same("0xcafe00ff", CqlValue::Blob(vec![0xCA, 0xFE, 0x00, 0xFF])),
                same("0x", CqlValue::Blob(Vec::new())),
                null(),
            ],
        ),
        column(
            "c_boolean",
            "boolean",
            vec![
                same("true", CqlValue::Boolean(true)),
                same("false", CqlValue::Boolean(false)),
                null(),
            ],
        ),
        column(
            "c_date",
            "date",
            vec![
                same("'2024-02-29'", date(19_782)),
                same("'1970-01-01'", date(0)),
                same("'1969-12-31'", date(-1)),
                null(),
            ],
        ),
        column(
            "c_decimal",
            "decimal",
            vec![
                same(
                    "-12345.678901234567890123",
                    decimal(
                        &[0xFD, 0x62, 0xBD, 0x49, 0xB1, 0x89, 0x8E, 0xBD, 0xBB, 0x35],
                        18,
                    ),
                ),
                same("0.000001", decimal(&[0x01], 6)),
                // BigDecimal("1E+3"): unscaled 1, scale -3.
                same("1E3", decimal(&[0x01], -3)),
                null(),
            ],
        ),
        column(
            "c_double",
            "double",
            vec![
                same("3.141592653589793", CqlValue::Double(std::f64::consts::PI)),
                same("-1.7976931348623157E308", CqlValue::Double(f64::MIN)),
                same("Infinity", CqlValue::Double(f64::INFINITY)),
                null(),
            ],
        ),
        column(
            "c_duration",
            "duration",
            vec![
                same(
                    "1y2mo3w4d5h6m7s8ms9us10ns",
                    duration(14, 25, 18_367_008_009_010),
                ),
                same("-1y2mo", duration(-14, 0, 0)),
                same("PT0S", duration(0, 0, 0)),
                null(),
            ],
        ),
        column(
            "c_float",
            "float",
            vec![
                same("1.5", CqlValue::Float(1.5)),
                same("3.4028235E38", CqlValue::Float(f32::MAX)),
                same("-Infinity", CqlValue::Float(f32::NEG_INFINITY)),
                null(),
            ],
        ),
        column(
            "c_inet",
            "inet",
            vec![
                same("'10.1.2.3'", inet("10.1.2.3")),
                same("'2001:db8::ff00:42:8329'", inet("2001:db8::ff00:42:8329")),
                same("'::1'", inet("::1")),
                null(),
            ],
        ),
        column(
            "c_int",
            "int",
            vec![
                same("-2147483648", CqlValue::Int(i32::MIN)),
                same("2147483647", CqlValue::Int(i32::MAX)),
                null(),
            ],
        ),
        column(
            "c_smallint",
            "smallint",
            vec![
                same("-32768", CqlValue::SmallInt(i16::MIN)),
                same("32767", CqlValue::SmallInt(i16::MAX)),
                null(),
            ],
        ),
        column(
            "c_text",
            "text",
            vec![
                same("'héllo ✓ ''quoted'''", text("héllo ✓ 'quoted'")),
                same("$$dollar 'quoted'$$", text("dollar 'quoted'")),
                same("''", text("")),
                null(),
            ],
        ),
        column(
            "c_time",
            "time",
            vec![
                same(
                    "'13:14:15.123456789'",
                    CqlValue::Time(CqlTime(47_655_123_456_789)),
                ),
                same("'00:00:00'", CqlValue::Time(CqlTime(0))),
                same(
                    "'23:59:59.999999999'",
                    CqlValue::Time(CqlTime(86_399_999_999_999)),
                ),
                null(),
            ],
        ),
        column(
            "c_timestamp",
            "timestamp",
            vec![
                same(
                    "'2024-02-29 12:34:56.789+0000'",
                    CqlValue::Timestamp(CqlTimestamp(1_709_210_096_789)),
                ),
                same("-86400000", CqlValue::Timestamp(CqlTimestamp(-86_400_000))),
                same(
                    "'1970-01-01T01:00:00+0100'",
                    CqlValue::Timestamp(CqlTimestamp(0)),
                ),
                null(),
            ],
        ),
        column(
            "c_timeuuid",
            "timeuuid",
            vec![
                same(
                    "50554d6e-29bb-11e5-b345-feff819cdc9f",
                    CqlValue::Timeuuid(CqlTimeuuid::from(uuid(
                        "50554d6e-29bb-11e5-b345-feff819cdc9f",
                    ))),
                ),
                null(),
            ],
        ),
        column(
            "c_tinyint",
            "tinyint",
            vec![
                same("-128", CqlValue::TinyInt(i8::MIN)),
                same("127", CqlValue::TinyInt(i8::MAX)),
                null(),
            ],
        ),
        column(
            "c_uuid",
            "uuid",
            vec![
                same(
                    "123e4567-e89b-42d3-a456-426614174000",
                    CqlValue::Uuid(uuid("123e4567-e89b-42d3-a456-426614174000")),
                ),
                same(
                    "00000000-0000-0000-0000-000000000000",
                    CqlValue::Uuid(Uuid::nil()),
                ),
                null(),
            ],
        ),
        column(
            "c_varchar",
            "varchar",
            vec![same("'varchar is text'", text("varchar is text"))],
        ),
        column(
            "c_varint",
            "varint",
            vec![
                same(
                    "-123456789012345678901234567890",
                    CqlValue::Varint(varint(&[
                        0xFE, 0x71, 0x16, 0xF0, 0x09, 0x3C, 0x8C, 0x1F, 0x11, 0xB1, 0xC0, 0xF5,
                        0x2E,
                    ])),
                ),
                same(
                    "1267650600228229401496703205376",
                    CqlValue::Varint(varint(&[0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])),
                ),
                same("128", CqlValue::Varint(varint(&[0x00, 0x80]))),
                same("-129", CqlValue::Varint(varint(&[0xFF, 0x7F]))),
                same("0", CqlValue::Varint(varint(&[0x00]))),
                null(),
            ],
        ),
    ];
    assert_round_trips(&session, "natives", &columns).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collections_frozen_and_nested_round_trip() -> TestResult {
    let (_node, session) = node_with_types().await?;
    let nested_lists = CqlValue::List(vec![
        CqlValue::List(ints(&[1, 2])),
        CqlValue::List(Vec::new()),
        CqlValue::List(ints(&[3])),
    ]);
    let columns = [
        column(
            "c_list",
            "list<int>",
            vec![
                same("[3, 1, 3]", CqlValue::List(ints(&[3, 1, 3]))),
                stored_as("[]", CqlValue::List(Vec::new()), None),
                null(),
            ],
        ),
        column(
            "c_set",
            "set<text>",
            vec![
                // Sets come back sorted by the element type's order.
                stored_as(
                    "{'b', 'a', 'c'}",
                    CqlValue::Set(texts(&["b", "a", "c"])),
                    Some(CqlValue::Set(texts(&["a", "b", "c"]))),
                ),
                stored_as("{}", CqlValue::Set(Vec::new()), None),
            ],
        ),
        column(
            "c_map",
            "map<text, int>",
            vec![
                stored_as(
                    "{'y': 2, 'x': 1}",
                    CqlValue::Map(vec![
                        (text("y"), CqlValue::Int(2)),
                        (text("x"), CqlValue::Int(1)),
                    ]),
                    Some(CqlValue::Map(vec![
                        (text("x"), CqlValue::Int(1)),
                        (text("y"), CqlValue::Int(2)),
                    ])),
                ),
                stored_as("{}", CqlValue::Map(Vec::new()), None),
            ],
        ),
        column(
            "c_timeuuid_set",
            "set<timeuuid>",
            vec![stored_as(
                "{50554d6e-29bb-11e5-b345-feff819cdc9f, d2177dd0-eaa2-11de-a572-001b779c76e3}",
                CqlValue::Set(vec![
                    CqlValue::Timeuuid(uuid("50554d6e-29bb-11e5-b345-feff819cdc9f").into()),
                    CqlValue::Timeuuid(uuid("d2177dd0-eaa2-11de-a572-001b779c76e3").into()),
                ]),
                // Timeuuids sort by their timestamp (2009 before 2015), not by their bytes.
                Some(CqlValue::Set(vec![
                    CqlValue::Timeuuid(uuid("d2177dd0-eaa2-11de-a572-001b779c76e3").into()),
                    CqlValue::Timeuuid(uuid("50554d6e-29bb-11e5-b345-feff819cdc9f").into()),
                ])),
            )],
        ),
        column(
            "c_frozen_list",
            "frozen<list<text>>",
            vec![
                same("['z', 'a']", CqlValue::List(texts(&["z", "a"]))),
                // A frozen collection is one value: empty stays empty.
                same("[]", CqlValue::List(Vec::new())),
            ],
        ),
        column(
            "c_frozen_set",
            "frozen<set<int>>",
            vec![
                stored_as(
                    "{5, -1}",
                    CqlValue::Set(ints(&[5, -1])),
                    Some(CqlValue::Set(ints(&[-1, 5]))),
                ),
                same("{}", CqlValue::Set(Vec::new())),
            ],
        ),
        column(
            "c_frozen_map",
            "frozen<map<int, text>>",
            vec![same(
                "{1: 'one', 2: 'two'}",
                CqlValue::Map(vec![
                    (CqlValue::Int(1), text("one")),
                    (CqlValue::Int(2), text("two")),
                ]),
            )],
        ),
        column(
            "c_list_of_lists",
            "list<frozen<list<int>>>",
            vec![same("[[1, 2], [], [3]]", nested_lists.clone())],
        ),
        column(
            "c_map_of_sets",
            "map<text, frozen<set<int>>>",
            vec![stored_as(
                "{'b': {2, 1}, 'a': {}}",
                CqlValue::Map(vec![
                    (text("b"), CqlValue::Set(ints(&[2, 1]))),
                    (text("a"), CqlValue::Set(Vec::new())),
                ]),
                Some(CqlValue::Map(vec![
                    (text("a"), CqlValue::Set(Vec::new())),
                    (text("b"), CqlValue::Set(ints(&[1, 2]))),
                ])),
            )],
        ),
        column(
            "c_frozen_nested",
            "frozen<map<int, frozen<list<frozen<set<text>>>>>>",
            vec![same(
                "{7: [{'x', 'y'}, {}]}",
                CqlValue::Map(vec![(
                    CqlValue::Int(7),
                    CqlValue::List(vec![
                        CqlValue::Set(texts(&["x", "y"])),
                        CqlValue::Set(Vec::new()),
                    ]),
                )]),
            )],
        ),
        column(
            "c_set_of_lists",
            "set<frozen<list<int>>>",
            vec![stored_as(
                "{[2], [1, 9], [1]}",
                CqlValue::Set(vec![
                    CqlValue::List(ints(&[2])),
                    CqlValue::List(ints(&[1, 9])),
                    CqlValue::List(ints(&[1])),
                ]),
                // Frozen lists compare element by element, a prefix first.
                Some(CqlValue::Set(vec![
                    CqlValue::List(ints(&[1])),
                    CqlValue::List(ints(&[1, 9])),
                    CqlValue::List(ints(&[2])),
                ])),
            )],
        ),
    ];
    assert_round_trips(&session, "collections", &columns).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tuples_and_user_types_round_trip() -> TestResult {
    let (_node, session) = node_with_types().await?;
    let home_phone = phone("home", Some("555-0100"));
    let columns = [
        column(
            "c_tuple",
            "tuple<int, text, double>",
            vec![
                same(
                    "(1, 'one', 1.5)",
                    CqlValue::Tuple(vec![
                        Some(CqlValue::Int(1)),
                        Some(text("one")),
                        Some(CqlValue::Double(1.5)),
                    ]),
                ),
                same(
                    "(2, null, null)",
                    CqlValue::Tuple(vec![Some(CqlValue::Int(2)), None, None]),
                ),
                null(),
            ],
        ),
        column(
            "c_nested_tuple",
            "frozen<tuple<int, frozen<tuple<text, frozen<list<int>>>>>>",
            vec![same(
                "(1, ('a', [1, 2]))",
                CqlValue::Tuple(vec![
                    Some(CqlValue::Int(1)),
                    Some(CqlValue::Tuple(vec![
                        Some(text("a")),
                        Some(CqlValue::List(ints(&[1, 2]))),
                    ])),
                ]),
            )],
        ),
        column(
            "c_frozen_udt",
            "frozen<address>",
            vec![
                same(
                    "{street: 'Main St', zip: 10115, phones: [{label: 'home', digits: '555-0100'}, \
                     {label: 'fax'}], location: (52.52, 13.405)}",
                    address(
                        Some("Main St"),
                        Some(10_115),
                        Some(vec![home_phone.clone(), phone("fax", None)]),
                        Some(berlin()),
                    ),
                ),
                // Fields a literal leaves out are null.
                same("{zip: 1}", address(None, Some(1), None, None)),
                null(),
            ],
        ),
        column(
            "c_udt",
            "address",
            vec![
                same(
                    "{street: 'Side St', zip: 20095, location: (52.52, 13.405)}",
                    address(Some("Side St"), Some(20_095), None, Some(berlin())),
                ),
                same("{zip: 2}", address(None, Some(2), None, None)),
                null(),
            ],
        ),
        column(
            "c_udt_list",
            "list<frozen<phone>>",
            vec![same(
                "[{label: 'home', digits: '555-0100'}, {label: 'work', digits: null}]",
                CqlValue::List(vec![home_phone.clone(), phone("work", None)]),
            )],
        ),
        column(
            "c_udt_set",
            "set<frozen<phone>>",
            vec![stored_as(
                "{{label: 'b', digits: '2'}, {label: 'a', digits: '1'}}",
                CqlValue::Set(vec![phone("b", Some("2")), phone("a", Some("1"))]),
                Some(CqlValue::Set(vec![
                    phone("a", Some("1")),
                    phone("b", Some("2")),
                ])),
            )],
        ),
        column(
            "c_udt_map",
            "map<text, frozen<phone>>",
            vec![same(
                "{'home': {label: 'home', digits: '555-0100'}}",
                CqlValue::Map(vec![(text("home"), home_phone.clone())]),
            )],
        ),
        column(
            "c_udt_keys",
            "map<frozen<phone>, int>",
            vec![same(
                "{{label: 'home', digits: '555-0100'}: 1}",
                CqlValue::Map(vec![(home_phone, CqlValue::Int(1))]),
            )],
        ),
    ];
    assert_round_trips(&session, "composites", &columns).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_add_subtract_and_read_as_counter() -> TestResult {
    let (_node, session) = node_with_types().await?;
    session
        .query_unpaged(
            "CREATE TABLE rs_dm.hits (page text, day int, views counter, clicks counter, \
             PRIMARY KEY (page, day))",
            &[],
        )
        .await?;
    let add = session
        .prepare("UPDATE rs_dm.hits SET views = views + ?, clicks = clicks - ? WHERE page = ? AND day = ?")
        .await?;
    session
        .execute_unpaged(&add, (Counter(5), Counter(2), "/", 1_i32))
        .await?;
    session
        .execute_unpaged(&add, (Counter(i64::MAX - 5), Counter(-7), "/", 1_i32))
        .await?;
    session
        .query_unpaged(
            "UPDATE rs_dm.hits SET views = views - 1 WHERE page = '/about' AND day = 1",
            &[],
        )
        .await?;
    let select = session
        .prepare("SELECT views, clicks FROM rs_dm.hits WHERE page = ? AND day = ?")
        .await?;
    let read = |page: &'static str| {
        let (session, select) = (&session, &select);
        async move {
            session
                .execute_unpaged(select, (page, 1_i32))
                .await?
                .into_rows_result()?
                .single_row::<(Option<Counter>, Option<Counter>)>()
                .map_err(Box::<dyn std::error::Error>::from)
        }
    };
    let (views, clicks) = read("/").await?;
    assert_eq!(views.map(|c| c.0), Some(i64::MAX));
    assert_eq!(clicks.map(|c| c.0), Some(5));
    let (views, clicks) = read("/about").await?;
    assert_eq!(views.map(|c| c.0), Some(-1));
    assert_eq!(clicks.map(|c| c.0), None, "a counter never updated is null");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_columns_are_shared_by_a_partition() -> TestResult {
    let (_node, session) = node_with_types().await?;
    session
        .query_unpaged(
            "CREATE TABLE rs_dm.teams (team text, member int, motto text static, \
             office frozen<address> static, tags set<text> static, role text, \
             PRIMARY KEY (team, member))",
            &[],
        )
        .await?;
    let office = address(Some("Main St"), Some(10_115), None, None);
    session
        .query_unpaged(
            "INSERT INTO rs_dm.teams (team, motto, office, tags) VALUES (?, ?, ?, ?)",
            ("core", "ship it", &office, vec!["b", "a"]),
        )
        .await?;
    type Row = (
        String,
        Option<i32>,
        Option<String>,
        Option<CqlValue>,
        Option<Vec<String>>,
        Option<String>,
    );
    let select = "SELECT team, member, motto, office, tags, role FROM rs_dm.teams";
    let rows: Vec<Row> = common::select_all(&session, select).await?;
    let row = |member: Option<i32>, motto: &str, role: Option<&str>| -> Row {
        (
            "core".to_owned(),
            member,
            Some(motto.to_owned()),
            Some(office.clone()),
            Some(vec!["a".to_owned(), "b".to_owned()]),
            role.map(str::to_owned),
        )
    };
    assert_eq!(
        rows,
        vec![row(None, "ship it", None)],
        "a partition with only static cells reads as one row"
    );

    let insert = session
        .prepare("INSERT INTO rs_dm.teams (team, member, role) VALUES (?, ?, ?)")
        .await?;
    for (member, role) in [(2_i32, "dev"), (1, "lead")] {
        session
            .execute_unpaged(&insert, ("core", member, role))
            .await?;
    }
    session
        .query_unpaged(
            "UPDATE rs_dm.teams SET motto = 'ship less' WHERE team = 'core'",
            &[],
        )
        .await?;
    let rows: Vec<Row> = common::select_all(&session, select).await?;
    assert_eq!(
        rows,
        vec![
            row(Some(1), "ship less", Some("lead")),
            row(Some(2), "ship less", Some("dev")),
        ]
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_frozen_collections_and_udts_update_in_place() -> TestResult {
    let (_node, session) = node_with_types().await?;
    session
        .query_unpaged(
            "CREATE TABLE rs_dm.profiles (id int PRIMARY KEY, nicknames list<text>, \
             emails set<text>, scores map<text, int>, home address)",
            &[],
        )
        .await?;
    session
        .query_unpaged(
            "INSERT INTO rs_dm.profiles (id, nicknames, emails, scores, home) \
             VALUES (1, ['b'], {'x@example.com', 'y@example.com'}, {'math': 1}, {zip: 1})",
            &[],
        )
        .await?;
    let update = session
        .prepare(
            "UPDATE rs_dm.profiles SET nicknames = ? + nicknames, nicknames = nicknames + ?, \
             emails = emails - ?, scores[?] = ?, home.street = ? WHERE id = ?",
        )
        .await?;
    session
        .execute_unpaged(
            &update,
            (
                vec!["a"],
                vec!["c"],
                vec!["x@example.com"],
                "art",
                7_i32,
                "Main St",
                1_i32,
            ),
        )
        .await?;
    type Row = (Vec<String>, Vec<String>, BTreeMap<String, i32>, CqlValue);
    let rows: Vec<Row> = common::select_all(
        &session,
        "SELECT nicknames, emails, scores, home FROM rs_dm.profiles WHERE id = 1",
    )
    .await?;
    let expected_home = address(Some("Main St"), Some(1), None, None);
    assert_eq!(
        rows,
        vec![(
            vec!["a".to_owned(), "b".to_owned(), "c".to_owned()],
            vec!["y@example.com".to_owned()],
            BTreeMap::from([("art".to_owned(), 7), ("math".to_owned(), 1)]),
            expected_home,
        )]
    );
    Ok(())
}

/// `phone` as an application maps it with the driver's derive macros.
#[derive(Debug, Clone, PartialEq, SerializeValue, DeserializeValue)]
struct Phone {
    label: String,
    digits: Option<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn derived_udt_structs_and_rust_tuples_round_trip() -> TestResult {
    let (_node, session) = node_with_types().await?;
    session
        .query_unpaged(
            "CREATE TABLE rs_dm.contacts (id int PRIMARY KEY, main phone, others \
             list<frozen<phone>>, pair tuple<int, text>)",
            &[],
        )
        .await?;
    let main = Phone {
        label: "home".into(),
        digits: Some("555-0100".into()),
    };
    let others = vec![
        Phone {
            label: "fax".into(),
            digits: None,
        },
        main.clone(),
    ];
    let pair = (7_i32, "seven".to_owned());
    session
        .query_unpaged(
            "INSERT INTO rs_dm.contacts (id, main, others, pair) VALUES (?, ?, ?, ?)",
            (1_i32, &main, &others, &pair),
        )
        .await?;
    session
        .query_unpaged(
            "INSERT INTO rs_dm.contacts (id, main, others, pair) VALUES (2, \
             {label: 'home', digits: '555-0100'}, [{label: 'fax'}, \
             {digits: '555-0100', label: 'home'}], (7, 'seven'))",
            &[],
        )
        .await?;
    type Row = (Phone, Vec<Phone>, (i32, String));
    let rows: Vec<Row> = common::select_all(
        &session,
        "SELECT main, others, pair FROM rs_dm.contacts WHERE id IN (1, 2)",
    )
    .await?;
    let expected = (main, others, pair);
    assert_eq!(rows, vec![expected.clone(), expected]);
    Ok(())
}
