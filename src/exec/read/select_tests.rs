//! `select` through a real server, against Apache Cassandra 5.0's semantics and messages
//! (its cql3 validation tests: SelectTest, SelectOrderByTest, SelectLimitTest and
//! `SelectStatement`'s checks).

use crate::testing::{TestClient, TestServer};

/// The rows of `cql` as ints (every selected column an int).
async fn ints(client: &mut TestClient, cql: &str) -> Vec<Vec<i32>> {
    client
        .rows(cql)
        .await
        .into_iter()
        .map(|row| {
            row.into_iter()
                .map(|v| i32::from_be_bytes(v.expect("value").as_ref().try_into().expect("int")))
                .collect()
        })
        .collect()
}

/// `ints` in row order, for results across partitions (whose order is the tokens').
async fn sorted_ints(client: &mut TestClient, cql: &str) -> Vec<Vec<i32>> {
    let mut rows = ints(client, cql).await;
    rows.sort();
    rows
}

/// `ks.t (k, c1, c2, v)` keyed by (k, c1, c2), partitions 0 and 1 with c1, c2 in 0..2
/// and v = 10 * c1 + c2.
async fn server() -> (TestServer, TestClient) {
    let (server, mut client) = TestServer::with_schema(&[
        "CREATE TABLE ks.t (k int, c1 int, c2 int, v int, PRIMARY KEY (k, c1, c2))",
    ])
    .await;
    for k in 0..2 {
        for c1 in 0..2 {
            for c2 in 0..2 {
                let v = 10 * c1 + c2;
                let cql = format!("INSERT INTO ks.t (k, c1, c2, v) VALUES ({k}, {c1}, {c2}, {v})");
                client.run(&cql).await;
            }
        }
    }
    (server, client)
}

#[tokio::test]
async fn order_by_follows_the_clustering_columns_or_skips_equal_ones() {
    let (_server, mut client) = server().await;
    let q = "SELECT c1, c2 FROM ks.t WHERE k = 0";
    assert_eq!(ints(&mut client, q).await, [[0, 0], [0, 1], [1, 0], [1, 1]]);
    for order in ["ORDER BY c1 DESC", "ORDER BY c1 DESC, c2 DESC"] {
        assert_eq!(
            ints(&mut client, &format!("{q} {order}")).await,
            [[1, 1], [1, 0], [0, 1], [0, 0]],
            "{order}"
        );
    }
    // c1 is fixed by `=`, so ordering by c2 alone is ordering by the clustering.
    let fixed = "SELECT c2 FROM ks.t WHERE k = 0 AND c1 = 1 ORDER BY c2 DESC";
    assert_eq!(ints(&mut client, fixed).await, [[1], [0]]);
    for (cql, expected) in [
        (
            format!("{q} ORDER BY v"),
            "Order by is currently only supported on the clustered columns of the PRIMARY KEY, got v",
        ),
        (
            format!("{q} ORDER BY c2"),
            "Order by currently only supports the ordering of columns following their declared order in the PRIMARY KEY",
        ),
        (
            format!("{q} AND c1 > 0 ORDER BY c2"),
            "Order by currently only supports the ordering of columns following their declared order in the PRIMARY KEY",
        ),
        (
            format!("{q} ORDER BY c2, c1"),
            "Order by currently only supports the ordering of columns following their declared order in the PRIMARY KEY",
        ),
        (
            format!("{q} ORDER BY c1 ASC, c2 DESC"),
            "Unsupported order by relation",
        ),
        (
            "SELECT * FROM ks.t ORDER BY c1".to_string(),
            "ORDER BY is only supported when the partition key is restricted by an EQ or an IN.",
        ),
    ] {
        assert_eq!(client.invalid(&cql).await, expected, "{cql}");
    }
}

#[tokio::test]
async fn clustering_restrictions_need_their_prefix_and_others_need_filtering() {
    let (_server, mut client) = server().await;
    assert_eq!(
        ints(
            &mut client,
            "SELECT c1, c2 FROM ks.t WHERE k = 0 AND c1 = 1 AND c2 >= 1"
        )
        .await,
        [[1, 1]]
    );
    assert_eq!(
        ints(
            &mut client,
            "SELECT c1, c2 FROM ks.t WHERE k = 0 AND (c1, c2) > (0, 1)"
        )
        .await,
        [[1, 0], [1, 1]]
    );
    assert_eq!(
        client.invalid("SELECT * FROM ks.t WHERE k = 0 AND c2 = 1").await,
        "PRIMARY KEY column \"c2\" cannot be restricted as preceding column \"c1\" is not restricted"
    );
    let filtering = "Cannot execute this query as it might involve data filtering and thus may have unpredictable performance. If you want to execute this query despite the performance unpredictability, use ALLOW FILTERING";
    assert_eq!(
        client.invalid("SELECT * FROM ks.t WHERE v = 11").await,
        filtering
    );
    let filtered = "SELECT k, c1, c2 FROM ks.t WHERE v = 11 ALLOW FILTERING";
    assert_eq!(
        sorted_ints(&mut client, filtered).await,
        [[0, 1, 1], [1, 1, 1]]
    );
}

#[tokio::test]
async fn limits_count_rows_overall_and_per_partition() {
    let (_server, mut client) = server().await;
    assert_eq!(
        ints(&mut client, "SELECT c1, c2 FROM ks.t WHERE k = 1 LIMIT 3").await,
        [[0, 0], [0, 1], [1, 0]]
    );
    let per_partition = ints(
        &mut client,
        "SELECT k, c1, c2 FROM ks.t PER PARTITION LIMIT 1",
    )
    .await;
    assert_eq!(per_partition.len(), 2, "{per_partition:?}");
    assert!(
        per_partition.iter().all(|r| r[1..] == [0, 0]),
        "{per_partition:?}"
    );
    let both = "SELECT k FROM ks.t PER PARTITION LIMIT 2 LIMIT 3";
    assert_eq!(ints(&mut client, both).await.len(), 3);
    for (cql, expected) in [
        (
            "SELECT * FROM ks.t LIMIT 0",
            "LIMIT must be strictly positive",
        ),
        (
            "SELECT * FROM ks.t LIMIT -1",
            "LIMIT must be strictly positive",
        ),
        (
            "SELECT * FROM ks.t PER PARTITION LIMIT 0",
            "PER PARTITION LIMIT must be strictly positive",
        ),
    ] {
        assert_eq!(client.invalid(cql).await, expected, "{cql}");
    }
}

#[tokio::test]
async fn distinct_returns_each_partition_once_and_only_key_columns() {
    let (_server, mut client) = server().await;
    assert_eq!(
        sorted_ints(&mut client, "SELECT DISTINCT k FROM ks.t").await,
        [[0], [1]]
    );
    assert_eq!(
        client.invalid("SELECT DISTINCT k, c1 FROM ks.t").await,
        "SELECT DISTINCT queries must only request partition key columns and/or static columns (not c1)"
    );
    assert_eq!(
        client.invalid("SELECT DISTINCT k FROM ks.t WHERE k = 0 AND c1 = 0").await,
        "SELECT DISTINCT with WHERE clause only supports restriction by partition key and/or static columns."
    );
    let in_keys = "SELECT k, c1, c2 FROM ks.t WHERE k IN (1, 0) AND c1 = 1 AND c2 = 0";
    assert_eq!(
        sorted_ints(&mut client, in_keys).await,
        [[0, 1, 0], [1, 1, 0]]
    );
}

#[tokio::test]
async fn order_by_over_an_in_on_the_partition_key_sorts_all_rows_unless_paged() {
    let (_server, mut client) = server().await;
    let ordered = "FROM ks.t WHERE k IN (1, 0) ORDER BY c1 DESC, c2 DESC";
    // Ties keep the partitions' order; LIMIT applies after the sort.
    assert_eq!(
        ints(&mut client, &format!("SELECT k, c1, c2 {ordered} LIMIT 3")).await,
        [[0, 1, 1], [1, 1, 1], [0, 1, 0]]
    );
    // Ordering columns need not be selected.
    assert_eq!(
        ints(&mut client, &format!("SELECT v {ordered} LIMIT 3")).await,
        [[11], [11], [10]]
    );
    let mut params = strata_protocol::QueryParams::new(strata_protocol::Consistency::One);
    params.page_size = Some(100);
    match client
        .query_with(&format!("SELECT v {ordered}"), params)
        .await
    {
        strata_protocol::Response::Error(e) => assert_eq!(e.message, "Cannot page queries with both ORDER BY and a IN restriction on the partition key; you must either remove the ORDER BY or the IN and sort client side, or disable paging for this query"),
        other => panic!("expected the paging refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn a_token_restriction_beside_the_partition_key_filters_its_partitions() {
    let (_server, mut client) = server().await;
    assert_eq!(
        ints(
            &mut client,
            "SELECT c1, c2 FROM ks.t WHERE k = 0 AND token(k) = token(0)"
        )
        .await,
        [[0, 0], [0, 1], [1, 0], [1, 1]]
    );
    assert!(client
        .rows("SELECT * FROM ks.t WHERE k = 0 AND token(k) > token(0)")
        .await
        .is_empty());
}
