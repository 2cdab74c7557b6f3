//! `modify` (INSERT, UPDATE, DELETE, BATCH) through a real server, against Apache
//! Cassandra 5.0's semantics and messages (its cql3 validation tests: InsertTest,
//! DeleteTest, BatchTest and `BatchStatement.validate`).

use bytes::Bytes;

use crate::testing::{TestClient, TestServer};

fn int(v: i32) -> Option<Bytes> {
    Some(Bytes::copy_from_slice(&v.to_be_bytes()))
}

/// A server with `ks.t (k, c, v)` keyed by (k, c) and the counter table `ks.n`.
async fn server() -> (TestServer, TestClient) {
    TestServer::with_schema(&[
        "CREATE TABLE ks.t (k int, c int, v int, PRIMARY KEY (k, c))",
        "CREATE TABLE ks.n (k int PRIMARY KEY, n counter)",
    ])
    .await
}

#[tokio::test]
async fn insert_needs_the_whole_primary_key_once_and_known_columns() {
    let (_server, mut client) = server().await;
    for (cql, expected) in [
        (
            "INSERT INTO ks.t (c, v) VALUES (0, 1)",
            "Some partition key parts are missing: k",
        ),
        (
            "INSERT INTO ks.t (k, v) VALUES (0, 1)",
            "Some clustering keys are missing: c",
        ),
        (
            "INSERT INTO ks.t (k, c, v, v) VALUES (0, 0, 2, 2)",
            "The column names contains duplicates",
        ),
        (
            "INSERT INTO ks.t (k, c, c, v) VALUES (0, 0, 0, 2)",
            "The column names contains duplicates",
        ),
        (
            "INSERT INTO ks.t (k, c, vx) VALUES (0, 0, 2)",
            "Undefined column name vx",
        ),
        (
            "INSERT INTO ks.t (k, c, v) VALUES (0, 0)",
            "Unmatched column names/values",
        ),
        (
            "INSERT INTO ks.t (k, c, v) VALUES (null, 0, 1)",
            "Invalid null value in condition for column k",
        ),
        (
            "INSERT INTO ks.n (k, n) VALUES (0, 1)",
            "INSERT statements are not allowed on counter tables, use UPDATE instead",
        ),
    ] {
        let message = client.invalid(cql).await;
        assert!(message.starts_with(expected), "{cql}: {message}");
    }
    assert!(client.rows("SELECT * FROM ks.t").await.is_empty());
}

/// INSERT writes the row's liveness, UPDATE only its cells: a row only updated exists
/// while one of its cells does (Cassandra's row marker).
#[tokio::test]
async fn insert_makes_a_row_live_and_update_does_not() {
    let (_server, mut client) = server().await;
    for cql in [
        "INSERT INTO ks.t (k, c) VALUES (1, 1)",
        "UPDATE ks.t SET v = null WHERE k = 2 AND c = 2",
        "UPDATE ks.t SET v = 3 WHERE k = 3 AND c = 3",
        "UPDATE ks.t SET v = null WHERE k = 3 AND c = 3",
        "INSERT INTO ks.t (k, c, v) VALUES (4, 4, 4)",
        "DELETE v FROM ks.t WHERE k = 4 AND c = 4",
    ] {
        client.run(cql).await;
    }
    for (k, expected) in [
        (1, vec![vec![int(1), int(1), None]]),
        (2, vec![]),
        (3, vec![]),
        (4, vec![vec![int(4), int(4), None]]),
    ] {
        let got = client
            .rows(&format!("SELECT k, c, v FROM ks.t WHERE k = {k}"))
            .await;
        assert_eq!(got, expected, "k = {k}");
    }
}

/// The highest timestamp wins; a deletion wins a tie with a write.
#[tokio::test]
async fn timestamps_order_writes_and_deletions() {
    let (_server, mut client) = server().await;
    client
        .run("INSERT INTO ks.t (k, c, v) VALUES (0, 0, 1) USING TIMESTAMP 10")
        .await;
    client
        .run("INSERT INTO ks.t (k, c, v) VALUES (0, 0, 2) USING TIMESTAMP 5")
        .await;
    let select = "SELECT v, writetime(v) FROM ks.t WHERE k = 0 AND c = 0";
    let ten = Some(Bytes::copy_from_slice(&10i64.to_be_bytes()));
    assert_eq!(client.rows(select).await, vec![vec![int(1), ten]]);
    client
        .run("DELETE FROM ks.t USING TIMESTAMP 9 WHERE k = 0 AND c = 0")
        .await;
    assert_eq!(client.rows(select).await.len(), 1, "older deletion");
    client
        .run("DELETE FROM ks.t USING TIMESTAMP 10 WHERE k = 0 AND c = 0")
        .await;
    assert!(client.rows(select).await.is_empty(), "tie: deleted");
}

#[tokio::test]
async fn ttl_is_bounded_and_reported() {
    let (_server, mut client) = server().await;
    for (ttl, expected) in [
        ("-1", "A TTL must be greater or equal to 0, but was -1"),
        (
            "630720001",
            "ttl is too large. requested (630720001) maximum (630720000)",
        ),
    ] {
        let cql = format!("INSERT INTO ks.t (k, c, v) VALUES (0, 0, 0) USING TTL {ttl}");
        assert_eq!(client.invalid(&cql).await, expected);
    }
    client
        .run("INSERT INTO ks.t (k, c, v) VALUES (0, 0, 0) USING TTL 100")
        .await;
    let got = client
        .rows("SELECT ttl(v) FROM ks.t WHERE k = 0 AND c = 0")
        .await;
    let ttl = got
        .first()
        .and_then(|row| row.first().cloned().flatten())
        .map(|b| i32::from_be_bytes(b.as_ref().try_into().expect("int")));
    assert!(matches!(ttl, Some(99 | 100)), "{ttl:?}");
}

/// A slice of a partition, then the partition, and the key a DELETE must name.
#[tokio::test]
async fn delete_removes_a_clustering_range_or_a_partition() {
    let (_server, mut client) = server().await;
    for c in 0..6 {
        client
            .run(&format!("INSERT INTO ks.t (k, c, v) VALUES (0, {c}, {c})"))
            .await;
    }
    client
        .run("INSERT INTO ks.t (k, c, v) VALUES (1, 0, 0)")
        .await;
    client
        .run("DELETE FROM ks.t WHERE k = 0 AND c > 1 AND c <= 3")
        .await;
    let left = client.rows("SELECT c FROM ks.t WHERE k = 0").await;
    assert_eq!(
        left,
        vec![vec![int(0)], vec![int(1)], vec![int(4)], vec![int(5)]]
    );
    client.run("DELETE FROM ks.t WHERE k = 0").await;
    assert!(client
        .rows("SELECT c FROM ks.t WHERE k = 0")
        .await
        .is_empty());
    assert_eq!(client.rows("SELECT c FROM ks.t WHERE k = 1").await.len(), 1);
    assert_eq!(
        client.invalid("DELETE FROM ks.t WHERE c = 1").await,
        "Some partition key parts are missing: k"
    );
}

/// `BatchStatement.validate`'s rules, in its order, and a counter batch that applies.
#[tokio::test]
async fn batches_follow_cassandras_timestamp_and_counter_rules() {
    let (_server, mut client) = server().await;
    let insert = "INSERT INTO ks.t (k, c, v) VALUES (0, 0, 0)";
    let count = "UPDATE ks.n SET n = n + 1 WHERE k = 0";
    for (cql, expected) in [
        (
            format!("BEGIN BATCH USING TTL 1 {insert}; APPLY BATCH"),
            "Global TTL on the BATCH statement is not supported.",
        ),
        (
            format!("BEGIN BATCH USING TIMESTAMP 1 {insert} IF NOT EXISTS; APPLY BATCH"),
            "Cannot provide custom timestamp for conditional BATCH",
        ),
        (
            format!("BEGIN COUNTER BATCH USING TIMESTAMP 1 {count}; APPLY BATCH"),
            "Cannot provide custom timestamp for counter BATCH",
        ),
        (
            format!("BEGIN BATCH USING TIMESTAMP 1 {insert} USING TIMESTAMP 2; APPLY BATCH"),
            "Timestamp must be set either on BATCH or individual statements",
        ),
        (
            format!("BEGIN UNLOGGED BATCH USING TIMESTAMP 1 {count}; APPLY BATCH"),
            "Cannot provide custom timestamp for a BATCH containing counters",
        ),
        (
            format!("BEGIN COUNTER BATCH {count}; {insert}; APPLY BATCH"),
            "Cannot include non-counter statement in a counter batch",
        ),
        (
            format!("BEGIN BATCH {insert}; {count}; APPLY BATCH"),
            "Counter and non-counter mutations cannot exist in the same batch",
        ),
        (
            format!("BEGIN UNLOGGED BATCH {count}; {insert}; APPLY BATCH"),
            "Counter and non-counter mutations cannot exist in the same batch",
        ),
        (
            format!("BEGIN BATCH {count}; APPLY BATCH"),
            "Cannot include a counter statement in a logged batch",
        ),
    ] {
        assert_eq!(client.invalid(&cql).await, expected, "{cql}");
    }
    assert!(client.rows("SELECT * FROM ks.t").await.is_empty());
    assert!(client.rows("SELECT * FROM ks.n").await.is_empty());
    for cql in [
        format!("BEGIN COUNTER BATCH {count}; {count}; APPLY BATCH"),
        format!("BEGIN UNLOGGED BATCH {count}; APPLY BATCH"),
    ] {
        client.run(&cql).await;
    }
    let n = Some(Bytes::copy_from_slice(&3i64.to_be_bytes()));
    assert_eq!(
        client.rows("SELECT n FROM ks.n WHERE k = 0").await,
        vec![vec![n]]
    );
}

/// UPDATE and DELETE refuse regular columns in WHERE before any ALLOW FILTERING question,
/// naming them as StatementRestrictions does (trailing space included).
#[tokio::test]
async fn writes_refuse_non_key_columns_in_where() {
    let (_server, mut client) = server().await;
    for cql in [
        "UPDATE ks.t SET v = 1 WHERE k = 1 AND c = 1 AND v = 1",
        "UPDATE ks.t SET v = 1 WHERE k = 1 AND v = 1",
        "DELETE FROM ks.t WHERE k = 1 AND v = 1 AND c = 1",
    ] {
        assert_eq!(
            client.invalid(cql).await,
            "Non PRIMARY KEY columns found in where clause: v ",
            "{cql}"
        );
    }
}
