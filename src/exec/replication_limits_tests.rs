//! Statements whose cross-replica protocol is not implemented yet are refused on replicated
//! keyspaces (and keep working with replication factor 1); conditional statements run at
//! any replication factor (Paxos, `cluster::paxos`); `serial_consistency` reaches them.

use strata_protocol::{Consistency, ErrorKind, QueryParams, Request, Response};

use crate::testing::TestServer;

#[tokio::test]
async fn protocols_not_replicated_yet_are_refused_with_rf_above_one() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    for ks in ["one", "three"] {
        let rf = if ks == "one" { 1 } else { 3 };
        client.run(&format!("CREATE KEYSPACE {ks} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': {rf}}}")).await;
        client
            .run(&format!("CREATE TABLE {ks}.t (k int PRIMARY KEY, v int)"))
            .await;
        client
            .run(&format!(
                "CREATE TABLE {ks}.c (k int PRIMARY KEY, n counter)"
            ))
            .await;
    }
    client.run("CREATE KEYSPACE nts WITH replication = {'class': 'NetworkTopologyStrategy', 'datacenter1': 2}").await;
    client
        .run("CREATE TABLE nts.t (k int PRIMARY KEY, v int)")
        .await;
    client
        .run("CREATE TABLE three.indexed (k int PRIMARY KEY, v int)")
        .await;
    client.run("CREATE INDEX ON three.indexed (v)").await;
    // Plain writes and reads are not affected.
    client.run("INSERT INTO three.t (k, v) VALUES (1, 1)").await;
    client.run("SELECT * FROM three.t WHERE k = 1").await;

    let refused = [
        ("INSERT INTO three.indexed (k, v) VALUES (2, 2) IF NOT EXISTS", "Conditional statements (IF) on tables with secondary indexes or materialized views are not supported yet on keyspace three (replication factor 3)"),
        ("UPDATE three.c SET n = n + 1 WHERE k = 1", "Counter updates are not supported yet on keyspace three (replication factor 3): Strata does not run counter replication across replicas yet"),
        ("SELECT * FROM three.t AT SNAPSHOT 'x' WHERE k = 1", "Reads AT SNAPSHOT are not supported yet on keyspace three"),
        ("CREATE TABLE one.copy CLONE three.t", "CLONE is not supported yet on keyspace three"),
        ("CREATE TABLE three.copy CLONE one.t", "CLONE is not supported yet on keyspace three"),
        ("CREATE KEYSPACE copy CLONE three", "CLONE is not supported yet on keyspace three"),
        ("RESTORE TABLE three.t FROM SNAPSHOT 'x'", "RESTORE is not supported yet on keyspace three"),
        ("RESTORE KEYSPACE three FROM SNAPSHOT 'x'", "RESTORE is not supported yet on keyspace three"),
    ];
    for (cql, expected) in refused {
        let message = client.invalid(cql).await;
        assert!(message.starts_with(expected), "{cql}: {message}");
    }
    // Nothing of a refused statement was applied.
    match client.query("SELECT * FROM three.t WHERE k = 2").await {
        Response::Result(strata_protocol::ResultBody::Rows(rows)) => assert!(rows.rows.is_empty()),
        other => panic!("{other:?}"),
    }
    // Conditional statements run at any replication factor (on one node, every level's
    // Paxos participants are this node).
    for cql in [
        "INSERT INTO three.t (k, v) VALUES (3, 3) IF NOT EXISTS",
        "UPDATE nts.t SET v = 3 WHERE k = 1 IF EXISTS",
        "BEGIN BATCH INSERT INTO three.t (k, v) VALUES (4, 4) IF NOT EXISTS; APPLY BATCH",
    ] {
        match client.query(cql).await {
            Response::Result(strata_protocol::ResultBody::Rows(rows)) => {
                assert_eq!(rows.rows.len(), 1, "{cql}")
            }
            other => panic!("{cql}: {other:?}"),
        }
    }
    // With replication factor 1 they run as before.
    client
        .run("INSERT INTO one.t (k, v) VALUES (2, 2) IF NOT EXISTS")
        .await;
    client.run("UPDATE one.c SET n = n + 1 WHERE k = 1").await;
    server.stop().await;
}

#[tokio::test]
async fn serial_consistency_reaches_conditional_writes() {
    let (server, mut client) =
        TestServer::with_schema(&["CREATE TABLE ks.t (k int PRIMARY KEY, v int)"]).await;
    let conditional = |serial: Option<Consistency>| {
        let mut params = QueryParams::new(Consistency::One);
        params.serial_consistency = serial;
        Request::Query {
            query: "INSERT INTO ks.t (k, v) VALUES (1, 1) IF NOT EXISTS".into(),
            params,
        }
    };
    client.send(1, &conditional(Some(Consistency::One))).await;
    match client.recv().await {
        Some((1, Response::Error(e))) => {
            assert_eq!(e.kind, ErrorKind::Invalid);
            assert_eq!(
                e.message,
                "Invalid consistency for conditional update. Must be one of SERIAL or LOCAL_SERIAL"
            );
        }
        other => panic!("{other:?}"),
    }
    for serial in [Some(Consistency::LocalSerial), None] {
        client.send(1, &conditional(serial)).await;
        assert!(
            matches!(client.recv().await, Some((1, Response::Result(_)))),
            "{serial:?}"
        );
    }
    server.stop().await;
}
