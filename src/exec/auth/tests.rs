//! Logins and permission checks over a real socket, through the in-process server.

use strata_protocol::{ErrorKind, Request, Response, ResultBody};

use crate::testing::{TestClient, TestServer};

async fn auth_server() -> TestServer {
    TestServer::with_config(|c| {
        c.password_authenticator = true;
        c.cassandra_authorizer = true;
    })
    .await
}

fn plain(user: &str, password: &str) -> Option<bytes::Bytes> {
    Some(format!("\0{user}\0{password}").into_bytes().into())
}

/// STARTUP, which must be answered with AUTHENTICATE, then one AUTH_RESPONSE.
async fn login(server: &TestServer, user: &str, password: &str) -> (TestClient, Response) {
    let mut client = TestClient::connect(server.addr).await;
    let options =
        std::collections::BTreeMap::from([("CQL_VERSION".to_string(), "3.0.0".to_string())]);
    client.send(0, &Request::Startup(options)).await;
    match client.recv().await {
        Some((0, Response::Authenticate(class))) => {
            assert_eq!(class, "org.apache.cassandra.auth.PasswordAuthenticator")
        }
        other => panic!("STARTUP answered with {other:?}"),
    }
    client
        .send(0, &Request::AuthResponse(plain(user, password)))
        .await;
    let reply = client.recv().await.map(|(_, r)| r).expect("a reply");
    (client, reply)
}

async fn logged_in(server: &TestServer, user: &str, password: &str) -> TestClient {
    let (client, reply) = login(server, user, password).await;
    assert!(matches!(reply, Response::AuthSuccess(_)), "{reply:?}");
    client
}

fn error(response: Response) -> (ErrorKind, String) {
    match response {
        Response::Error(body) => (body.kind, body.message),
        other => panic!("expected an error, got {other:?}"),
    }
}

fn ok(cql: &str, response: Response) -> Response {
    assert!(
        !matches!(response, Response::Error(_)),
        "{cql}: {response:?}"
    );
    response
}

#[tokio::test]
async fn logins_are_checked_as_cassandra_checks_them() {
    let server = auth_server().await;
    let (_, reply) = login(&server, "cassandra", "wrong").await;
    let (kind, message) = error(reply);
    assert_eq!(kind, ErrorKind::AuthenticationError);
    assert_eq!(
        message,
        "Provided username cassandra and/or password are incorrect"
    );
    let (_, reply) = login(&server, "", "x").await;
    assert_eq!(error(reply).1, "Authentication ID must not be null");

    let mut anonymous = TestClient::connect(server.addr).await;
    let options =
        std::collections::BTreeMap::from([("CQL_VERSION".to_string(), "3.0.0".to_string())]);
    anonymous.send(0, &Request::Startup(options)).await;
    let _authenticate = anonymous.recv().await;
    let (kind, message) = error(anonymous.query("SELECT * FROM system.local").await);
    assert_eq!(
        (kind, message.as_str()),
        (ErrorKind::Unauthorized, "You have not logged in")
    );

    let mut admin = logged_in(&server, "cassandra", "cassandra").await;
    let roles = ok(
        "roles",
        admin.query("SELECT role FROM system_auth.roles").await,
    );
    assert!(matches!(roles, Response::Result(ResultBody::Rows(r)) if r.rows.len() == 1));
    for cql in [
        "CREATE ROLE nologin WITH PASSWORD = 'x'",
        "CREATE ROLE bob WITH PASSWORD = 'pw' AND LOGIN = true",
    ] {
        ok(cql, admin.query(cql).await);
    }
    let (_, reply) = login(&server, "nologin", "x").await;
    assert_eq!(error(reply).1, "nologin is not permitted to log in");
    server.stop().await;
}

#[tokio::test]
async fn statements_need_their_permissions_and_batches_each_member_s() {
    let server = auth_server().await;
    let mut admin = logged_in(&server, "cassandra", "cassandra").await;
    for cql in [
        "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
        "CREATE TABLE ks.a (k int PRIMARY KEY, v int)",
        "CREATE TABLE ks.b (k int PRIMARY KEY, v int)",
        "CREATE ROLE bob WITH PASSWORD = 'pw' AND LOGIN = true",
        "GRANT MODIFY ON ks.a TO bob",
    ] {
        ok(cql, admin.query(cql).await);
    }
    let mut bob = logged_in(&server, "bob", "pw").await;
    ok(
        "insert",
        bob.query("INSERT INTO ks.a (k, v) VALUES (1, 1)").await,
    );
    let (kind, message) = error(bob.query("SELECT * FROM ks.a").await);
    assert_eq!(kind, ErrorKind::Unauthorized);
    assert_eq!(
        message,
        "User bob has no SELECT permission on <table ks.a> or any of its parents"
    );
    let batch = "BEGIN BATCH INSERT INTO ks.a (k, v) VALUES (2, 2); \
                 INSERT INTO ks.b (k, v) VALUES (2, 2); APPLY BATCH";
    assert_eq!(
        error(bob.query(batch).await).1,
        "User bob has no MODIFY permission on <table ks.b> or any of its parents"
    );
    let (kind, message) = error(bob.query("CREATE ROLE eve").await);
    assert_eq!(
        (kind, message.as_str()),
        (
            ErrorKind::Unauthorized,
            "User bob has no CREATE permission on <all roles> or any of its parents"
        )
    );
    let (kind, message) = error(bob.query("LIST ALL PERMISSIONS").await);
    assert_eq!(
        (kind, message.as_str()),
        (
            ErrorKind::Unauthorized,
            "You are not authorized to view everyone's permissions"
        )
    );
    ok(
        "grant",
        admin.query("GRANT SELECT ON KEYSPACE ks TO bob").await,
    );
    ok("select", bob.query("SELECT * FROM ks.a").await);
    let listed = ok("list", bob.query("LIST ALL PERMISSIONS OF bob").await);
    let Response::Result(ResultBody::Rows(rows)) = listed else {
        panic!("no rows: {listed:?}");
    };
    let text = |cell: &Option<bytes::Bytes>| {
        String::from_utf8(cell.as_ref().expect("a value").to_vec()).expect("utf-8")
    };
    let listed: Vec<Vec<String>> = rows
        .rows
        .iter()
        .map(|row| row.iter().map(text).collect())
        .collect();
    assert_eq!(
        listed,
        vec![
            vec!["bob", "bob", "<keyspace ks>", "SELECT"],
            vec!["bob", "bob", "<table ks.a>", "MODIFY"],
        ]
    );
    server.stop().await;
}

#[tokio::test]
async fn without_an_authenticator_nothing_changes() {
    let server = TestServer::start().await;
    let mut client = server.client().await;
    let (kind, message) = error(client.query("CREATE ROLE bob").await);
    assert_eq!(
        (kind, message.as_str()),
        (ErrorKind::Unauthorized, "You have not logged in")
    );
    assert!(server
        .node
        .catalog()
        .keyspace("system_auth")
        .is_some_and(|ks| ks.tables.is_empty()));
    server.stop().await;
}

/// An authenticating server whose permission cache lasts `validity_ms` (roles' a long
/// time), with role `bob` (password `pw`) inheriting MODIFY on `ks.a` from role `writer`,
/// and the admin's connection.
async fn bob_the_writer(validity_ms: u64) -> (TestServer, TestClient) {
    let server = TestServer::with_config(|c| {
        c.password_authenticator = true;
        c.cassandra_authorizer = true;
        // Long enough that nothing goes stale while the test runs.
        c.roles_validity_ms = 600_000;
        c.permissions_validity_ms = validity_ms;
    })
    .await;
    let mut admin = logged_in(&server, "cassandra", "cassandra").await;
    for cql in [
        "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
        "CREATE TABLE ks.a (k int PRIMARY KEY, v int)",
        "CREATE ROLE writer",
        "GRANT MODIFY ON ks.a TO writer",
        "CREATE ROLE bob WITH PASSWORD = 'pw' AND LOGIN = true",
        "GRANT writer TO bob",
    ] {
        ok(cql, admin.query(cql).await);
    }
    (server, admin)
}

/// Whether two assemblies of bob's subject in a row give the very same one.
async fn subject_reused(server: &TestServer) -> bool {
    let first = super::store::subject(&server.node, "bob").await;
    let again = super::store::subject(&server.node, "bob").await;
    std::sync::Arc::ptr_eq(&first.expect("bob"), &again.expect("bob"))
}

/// A login's subject (roles and permissions) is assembled once and reused by its next
/// statements while the entries it came from are fresh; a change made through this node
/// (REVOKE here) is seen by the very next statement, and with `permissions_validity: 0`
/// nothing is kept.
#[tokio::test]
async fn a_subject_is_reused_while_fresh_and_dropped_by_a_change() {
    let insert = "INSERT INTO ks.a (k, v) VALUES (1, 1)";
    let (server, mut admin) = bob_the_writer(600_000).await;
    let mut bob = logged_in(&server, "bob", "pw").await;
    ok(insert, bob.query(insert).await);
    assert!(subject_reused(&server).await, "assembled again");
    let revoke = "REVOKE MODIFY ON ks.a FROM writer";
    ok(revoke, admin.query(revoke).await);
    assert_eq!(
        error(bob.query(insert).await).1,
        "User bob has no MODIFY permission on <table ks.a> or any of its parents"
    );
    server.stop().await;

    let (server, _admin) = bob_the_writer(0).await;
    assert!(!subject_reused(&server).await, "kept while disabled");
    server.stop().await;
}
