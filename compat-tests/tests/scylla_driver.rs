//! The core CQL workload through the ScyllaDB Rust driver (`scylla` 1.x), against a strata
//! node each test starts itself (see `common`).

// Each test file compiles its own copy of the shared harness and uses a part of it.
#[allow(dead_code)]
mod common;

use std::collections::HashSet;
use std::net::IpAddr;
use std::ops::ControlFlow;

use common::{create_keyspace, node_with_table, select_all, StrataNode, TestResult, CLUSTER_NAME};
use futures::{stream, StreamExt, TryStreamExt};
use scylla::client::session::Session;
use scylla::frame::Compression;
use scylla::response::PagingState;
use scylla::statement::batch::{Batch, BatchType};
use scylla::statement::Statement;
use scylla::value::{CqlDate, CqlDecimal, CqlDuration, CqlTime, CqlTimestamp, CqlVarint};
use uuid::Uuid;

const PAGED_ROWS: i32 = 10_000;
const PAGE_SIZE: i32 = 100;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connects_and_reads_system_local() -> TestResult {
    let node = StrataNode::start()?;
    let session = node.session(None).await?;
    let (cluster_name, release_version, partitioner): (String, String, String) = session
        .query_unpaged(
            "SELECT cluster_name, release_version, partitioner FROM system.local WHERE key = 'local'",
            &[],
        )
        .await?
        .into_rows_result()?
        .single_row()?;
    assert_eq!(cluster_name, CLUSTER_NAME);
    assert_eq!(release_version, "5.0.0");
    assert_eq!(partitioner, "org.apache.cassandra.dht.Murmur3Partitioner");
    let peers = session
        .query_unpaged("SELECT peer FROM system.peers", &[])
        .await?;
    assert_eq!(peers.into_rows_result()?.rows_num(), 0);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ddl_prepared_statements_and_clustering_order() -> TestResult {
    let (_node, session) = node_with_table(
        "rs_core",
        "CREATE TABLE rs_core.readings (sensor text, day int, seq int, value double, \
             PRIMARY KEY ((sensor, day), seq)) WITH CLUSTERING ORDER BY (seq DESC)",
        None,
    )
    .await?;
    session
        .query_unpaged(
            "CREATE TABLE IF NOT EXISTS rs_core.readings (k int PRIMARY KEY)",
            &[],
        )
        .await?;
    let insert = session
        .prepare("INSERT INTO rs_core.readings (sensor, day, seq, value) VALUES (?, ?, ?, ?)")
        .await?;
    for seq in 1..=5 {
        session
            .execute_unpaged(&insert, ("s1", 7, seq, f64::from(seq) * 1.5))
            .await?;
    }
    let select = session
        .prepare("SELECT seq, value FROM rs_core.readings WHERE sensor = ? AND day = ?")
        .await?;
    let rows: Vec<(i32, f64)> = session
        .execute_unpaged(&select, ("s1", 7))
        .await?
        .into_rows_result()?
        .rows::<(i32, f64)>()?
        .collect::<Result<_, _>>()?;
    let expected: Vec<(i32, f64)> = (1..=5).rev().map(|s| (s, f64::from(s) * 1.5)).collect();
    assert_eq!(rows, expected);

    let slice: Vec<(i32,)> = select_all(
        &session,
        "SELECT seq FROM rs_core.readings WHERE sensor = 's1' AND day = 7 \
         AND seq > 1 AND seq <= 4 ORDER BY seq ASC",
    )
    .await?;
    assert_eq!(slice, vec![(2,), (3,), (4,)]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_types_round_trip_through_prepared_statements() -> TestResult {
    let (_node, session) = node_with_table(
        "rs_types",
        "CREATE TABLE rs_types.t (k int PRIMARY KEY, a_bigint bigint, a_blob blob, \
             a_bool boolean, a_date date, a_decimal decimal, a_duration duration, a_float float, \
             a_inet inet, a_smallint smallint, a_text text, a_time time, a_timestamp timestamp, \
             a_tinyint tinyint, a_uuid uuid, a_varint varint)",
        None,
    )
    .await?;
    let insert = session
        .prepare(
            "INSERT INTO rs_types.t (k, a_bigint, a_blob, a_bool, a_date, a_decimal, a_duration, \
             a_float, a_inet, a_smallint, a_text, a_time, a_timestamp, a_tinyint, a_uuid, \
             a_varint) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .await?;
    let uuid = Uuid::parse_str("123e4567-e89b-42d3-a456-426614174000")?;
    let inet = IpAddr::from([10, 1, 2, 3]);
    // 2024-02-29 is day 19782 after the epoch; CQL dates are offset by 2^31.
    let date = CqlDate((1u32 << 31) + 19_782);
    let decimal = CqlDecimal::from_signed_be_bytes_and_exponent(vec![0x01, 0xE2, 0x40], 3);
    let duration = CqlDuration {
        months: 14,
        days: 25,
        nanoseconds: 18_367_008_009_010,
    };
    let time = CqlTime(47_655_123_456_789);
    let timestamp = CqlTimestamp(1_709_210_096_789);
    let varint = CqlVarint::from_signed_bytes_be(vec![0xFF, 0x00, 0x01]);
    let blob = vec![0xCA_u8, 0xFE, 0x00, 0xFF];
    session
        .execute_unpaged(
            &insert,
            (
                1_i32,
                i64::MIN,
                &blob,
                true,
                date,
                &decimal,
                duration,
                1.5_f32,
                inet,
                i16::MIN,
                "héllo ✓",
                time,
                timestamp,
                i8::MIN,
                uuid,
                &varint,
            ),
        )
        .await?;
    let select = session
        .prepare(
            "SELECT a_bigint, a_blob, a_bool, a_date, a_decimal, a_duration, a_float, a_inet, \
             a_smallint, a_text, a_time, a_timestamp, a_tinyint, a_uuid, a_varint \
             FROM rs_types.t WHERE k = ?",
        )
        .await?;
    let result = session
        .execute_unpaged(&select, (1_i32,))
        .await?
        .into_rows_result()?;
    type Row = (
        i64,
        Vec<u8>,
        bool,
        CqlDate,
        CqlDecimal,
        CqlDuration,
        f32,
        IpAddr,
        i16,
        String,
        CqlTime,
        CqlTimestamp,
        i8,
        Uuid,
        CqlVarint,
    );
    let row: Row = result.single_row()?;
    assert_eq!(row.0, i64::MIN);
    assert_eq!(row.1, blob);
    assert!(row.2);
    assert_eq!(row.3, date);
    assert_eq!(row.4, decimal);
    assert_eq!(row.5, duration);
    assert_eq!(row.6, 1.5);
    assert_eq!(row.7, inet);
    assert_eq!(row.8, i16::MIN);
    assert_eq!(row.9, "héllo ✓");
    assert_eq!(row.10, time);
    assert_eq!(row.11, timestamp);
    assert_eq!(row.12, i8::MIN);
    assert_eq!(row.13, uuid);
    assert_eq!(row.14, varint);

    let (date_text,): (CqlDate,) = session
        .query_unpaged("SELECT a_date FROM rs_types.t WHERE k = 1", &[])
        .await?
        .into_rows_result()?
        .single_row()?;
    assert_eq!(date_text, date, "the literal and the bound date must agree");
    Ok(())
}

async fn fill_paged_table(session: &Session) -> TestResult {
    create_keyspace(session, "rs_paging").await?;
    session
        .query_unpaged(
            "CREATE TABLE rs_paging.t (p int, c int, v text, PRIMARY KEY (p, c))",
            &[],
        )
        .await?;
    let insert = session
        .prepare("INSERT INTO rs_paging.t (p, c, v) VALUES (?, ?, ?)")
        .await?;
    let insert = &insert;
    stream::iter(0..PAGED_ROWS)
        .map(|i| async move {
            session
                .execute_unpaged(insert, (i % 10, i / 10, format!("v{i}")))
                .await
        })
        .buffer_unordered(64)
        .try_collect::<Vec<_>>()
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_through_10000_rows() -> TestResult {
    let node = StrataNode::start()?;
    let session = node.session(None).await?;
    fill_paged_table(&session).await?;

    let mut select = session.prepare("SELECT p, c, v FROM rs_paging.t").await?;
    select.set_page_size(PAGE_SIZE);
    let mut paging_state = PagingState::start();
    let mut page_sizes = Vec::new();
    let mut seen = HashSet::new();
    loop {
        let (result, paging) = session
            .execute_single_page(&select, &[], paging_state)
            .await?;
        let rows = result.into_rows_result()?;
        page_sizes.push(rows.rows_num());
        for row in rows.rows::<(i32, i32, String)>()? {
            let (p, c, v) = row?;
            assert_eq!(v, format!("v{}", c * 10 + p));
            assert!(seen.insert((p, c)), "row ({p}, {c}) returned twice");
        }
        assert!(page_sizes.len() <= 200, "paging does not terminate");
        match paging.into_paging_control_flow() {
            ControlFlow::Break(()) => break,
            ControlFlow::Continue(next) => paging_state = next,
        }
    }
    assert_eq!(seen.len(), PAGED_ROWS as usize);
    let non_empty: Vec<usize> = page_sizes.iter().copied().filter(|&n| n > 0).collect();
    assert_eq!(
        non_empty,
        vec![PAGE_SIZE as usize; (PAGED_ROWS / PAGE_SIZE) as usize]
    );

    let mut one_partition = Statement::new("SELECT c FROM rs_paging.t WHERE p = 3");
    one_partition.set_page_size(PAGE_SIZE);
    let clusterings: Vec<(i32,)> = session
        .query_iter(one_partition, &[])
        .await?
        .rows_stream::<(i32,)>()?
        .try_collect()
        .await?;
    let expected: Vec<(i32,)> = (0..PAGED_ROWS / 10).map(|c| (c,)).collect();
    assert_eq!(clusterings, expected);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logged_unlogged_and_empty_batches() -> TestResult {
    let (_node, session) = node_with_table(
        "rs_batch",
        "CREATE TABLE rs_batch.t (k int, c int, v text, PRIMARY KEY (k, c))",
        None,
    )
    .await?;

    let mut logged = Batch::new(BatchType::Logged);
    logged.append_statement("INSERT INTO rs_batch.t (k, c, v) VALUES (?, ?, ?)");
    logged.append_statement("INSERT INTO rs_batch.t (k, c, v) VALUES (2, 1, 'literal')");
    logged.append_statement(
        session
            .prepare("UPDATE rs_batch.t SET v = ? WHERE k = ? AND c = ?")
            .await?,
    );
    session
        .batch(
            &logged,
            ((1_i32, 1_i32, "bound"), (), ("updated", 1_i32, 2_i32)),
        )
        .await?;

    let mut unlogged = Batch::new(BatchType::Unlogged);
    unlogged.append_statement("INSERT INTO rs_batch.t (k, c, v) VALUES (3, 1, 'u1')");
    unlogged.append_statement("DELETE FROM rs_batch.t WHERE k = 2 AND c = 1");
    session.batch(&unlogged, ((), ())).await?;
    session
        .query_unpaged("BEGIN BATCH APPLY BATCH", &[])
        .await?;

    let mut rows: Vec<(i32, i32, String)> =
        select_all(&session, "SELECT k, c, v FROM rs_batch.t").await?;
    rows.sort();
    assert_eq!(
        rows,
        vec![
            (1, 1, "bound".to_owned()),
            (1, 2, "updated".to_owned()),
            (3, 1, "u1".to_owned())
        ]
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lz4_compressed_connection_and_invalid_requests() -> TestResult {
    let (_node, session) = node_with_table(
        "rs_lz4",
        "CREATE TABLE rs_lz4.t (k int PRIMARY KEY, v text)",
        Some(Compression::Lz4),
    )
    .await?;
    let big = "strata ".repeat(40_000);
    session
        .query_unpaged("INSERT INTO rs_lz4.t (k, v) VALUES (?, ?)", (1_i32, &big))
        .await?;
    let (v,): (String,) = session
        .query_unpaged("SELECT v FROM rs_lz4.t WHERE k = 1", &[])
        .await?
        .into_rows_result()?
        .single_row()?;
    assert_eq!(v, big);

    let error = session
        .query_unpaged("SELECT * FROM rs_lz4.nope", &[])
        .await
        .err()
        .ok_or("querying a missing table must fail")?;
    assert!(
        error.to_string().contains("table nope does not exist"),
        "{error}"
    );
    Ok(())
}
