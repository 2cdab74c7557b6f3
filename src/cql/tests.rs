//! Data-driven tests of the CQL front end.
//!
//! Method: most tests are tables. `verified_stmt` parses a statement, prints it with `Display`,
//! checks the text is the canonical form, re-parses it and checks the tree is unchanged (the
//! sqlparser-rs round trip). Error tests compare the complete message the server will send.
//! The fuzz tests feed seeded random and mutated statements and only require "no panic, and
//! whatever parses round-trips"; the seed is printed so a failure can be replayed.

use super::ast::*;
use super::{parse_statement, ParseError, MAX_DEPTH};

/// Parses `text`, asserts it prints back as `canonical`, and that the canonical text parses to
/// the same tree. Returns the tree.
fn verified_as(text: &str, canonical: &str) -> Statement {
    let statement = parse_statement(text).unwrap_or_else(|e| panic!("{text}\n  failed: {e}"));
    let printed = statement.to_string();
    assert_eq!(printed, canonical, "printing of {text}");
    let reparsed = parse_statement(&printed)
        .unwrap_or_else(|e| panic!("{printed}\n  failed to re-parse: {e}"));
    assert_eq!(reparsed, statement, "round trip of {text}");
    statement
}

/// `verified_as` for text that is already canonical.
fn verified_stmt(text: &str) -> Statement {
    verified_as(text, text)
}

fn parse_error(text: &str) -> String {
    match parse_statement(text) {
        Ok(statement) => panic!("{text}\n  unexpectedly parsed as {statement:?}"),
        Err(error) => error.to_string(),
    }
}

fn select(text: &str) -> SelectStatement {
    match verified_stmt(text) {
        Statement::Select(select) => select,
        other => panic!("not a SELECT: {other:?}"),
    }
}

fn column(name: &str) -> Selector {
    Selector::Column(name.to_string())
}

fn literal(kind: LiteralKind, text: &str) -> Term {
    Term::Literal(Literal {
        kind,
        text: text.to_string(),
    })
}

fn int(text: &str) -> Term {
    literal(LiteralKind::Integer, text)
}

fn marker(index: usize, name: Option<&str>) -> Term {
    Term::Bind(BindMarker {
        index,
        name: name.map(str::to_string),
    })
}

/// The single term of `SELECT * FROM t WHERE a = <term>`.
fn where_term(term_text: &str) -> Term {
    let select = select_any(&format!("SELECT * FROM t WHERE a = {term_text}"));
    match select.where_clause.into_iter().next() {
        Some(Relation::Column {
            predicate: Predicate::Compare(Operator::Eq, term),
            ..
        }) => term,
        other => panic!("unexpected relation {other:?}"),
    }
}

/// Like `select` but without requiring canonical input.
fn select_any(text: &str) -> SelectStatement {
    let statement = parse_statement(text).unwrap_or_else(|e| panic!("{text}\n  failed: {e}"));
    let reparsed = parse_statement(&statement.to_string());
    assert_eq!(reparsed.as_ref(), Ok(&statement), "round trip of {text}");
    match statement {
        Statement::Select(select) => select,
        other => panic!("not a SELECT: {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Round trips of every statement form
// ---------------------------------------------------------------------------------------------

#[test]
fn select_forms_round_trip() {
    for text in [
        "SELECT * FROM t",
        "SELECT * FROM ks.t",
        "SELECT a, b, c FROM ks.t",
        "SELECT JSON * FROM t",
        "SELECT DISTINCT pk FROM t",
        "SELECT JSON DISTINCT pk, v FROM t",
        "SELECT a AS x, b AS \"Y\" FROM t",
        "SELECT count(*) FROM t",
        "SELECT count(*) AS n FROM t WHERE pk = 1",
        "SELECT count(1) FROM t",
        "SELECT writetime(v), ttl(v), maxwritetime(v) FROM t",
        "SELECT writetime(m['k']), ttl(u.f) FROM t",
        "SELECT token(a, b) FROM t",
        "SELECT tojson(x), blobastext(b), max(x), ks.f(1, 'a') FROM t",
        "SELECT totimestamp(now()) FROM t",
        "SELECT CAST(x AS text), CAST(y AS bigint) FROM t",
        "SELECT m['k'], l[0], s[1..3], s[..'z'], s['a'..] FROM t",
        "SELECT u.field, u.a.b, m['k'].f FROM t",
        "SELECT a + b * c, (a + b) * c, a - (b - c), -a, -(a + b) FROM t",
        "SELECT a % 2, a / 2 FROM t",
        "SELECT 1, 'x', 2.5, true, NULL, ?, :name FROM t",
        "SELECT -1, -2.5 FROM t",
        "SELECT [1, 2], {1, 2}, {}, {'a': 1}, (a, b) FROM t",
        "SELECT (int) ?, (text) :v FROM t",
        "SELECT (list<int>) [1, 2] FROM t",
        "SELECT \"Weird Col\", \"select\" FROM t",
        "SELECT key, type, ttl, count, values, json, distinct FROM t",
        "SELECT a FROM t WHERE a = 1 AND b > 2 AND c >= 3 AND d < 4 AND e <= 5 AND f != 6",
        "SELECT * FROM t WHERE a IN (1, 2, 3)",
        "SELECT * FROM t WHERE a IN ()",
        "SELECT * FROM t WHERE a IN ?",
        "SELECT * FROM t WHERE a IN :keys",
        "SELECT * FROM t WHERE s CONTAINS 1 AND m CONTAINS KEY 'k'",
        "SELECT * FROM t WHERE name LIKE 'abc%'",
        "SELECT * FROM t WHERE (a, b) > (1, 2)",
        "SELECT * FROM t WHERE (a, b) >= ?",
        "SELECT * FROM t WHERE (a, b) IN ((1, 2), (3, 4))",
        "SELECT * FROM t WHERE (a, b) IN ?",
        "SELECT * FROM t WHERE (a, b) IN (?, ?)",
        "SELECT * FROM t WHERE (a) = (1)",
        "SELECT * FROM t WHERE token(a, b) > 100 AND token(a, b) <= ?",
        "SELECT * FROM t WHERE token(pk) > token(5)",
        "SELECT * FROM t WHERE m['k'] = 'v'",
        "SELECT * FROM t WHERE expr(my_idx, 'query')",
        "SELECT * FROM t WHERE a = 1 GROUP BY a, b",
        "SELECT * FROM t WHERE a = 1 GROUP BY a, floor(b, 1h)",
        "SELECT * FROM t WHERE a = 1 ORDER BY b DESC, c ASC",
        "SELECT * FROM t ORDER BY v ANN OF [1.0, 2.0] ASC LIMIT 3",
        "SELECT * FROM t PER PARTITION LIMIT 2",
        "SELECT * FROM t LIMIT 10",
        "SELECT * FROM t LIMIT ?",
        "SELECT * FROM t PER PARTITION LIMIT ? LIMIT :lim",
        "SELECT * FROM t ALLOW FILTERING",
        "SELECT * FROM t WHERE a = 1 GROUP BY a ORDER BY b ASC PER PARTITION LIMIT 1 LIMIT 5 ALLOW FILTERING",
        "SELECT * FROM ks.t AT SNAPSHOT 'TAG'",
        "SELECT * FROM ks.t AT SNAPSHOT 'before-upgrade' WHERE pk = 1",
        "SELECT at, snapshot FROM at",
    ] {
        verified_stmt(text);
    }
}

#[test]
fn modification_forms_round_trip() {
    for text in [
        "INSERT INTO t (a, b) VALUES (1, 'x')",
        "INSERT INTO ks.t (a, b) VALUES (?, ?) IF NOT EXISTS",
        "INSERT INTO t (a) VALUES (1) USING TTL 86400",
        "INSERT INTO t (a) VALUES (1) USING TIMESTAMP 123456789",
        "INSERT INTO t (a) VALUES (1) IF NOT EXISTS USING TTL ? AND TIMESTAMP ?",
        "INSERT INTO t JSON '{\"a\": 1}'",
        "INSERT INTO t JSON ? DEFAULT UNSET",
        "INSERT INTO t (a, l, s, m, tu, u) VALUES (1, [1, 2], {'x'}, {'k': 1}, (1, 'a'), {f: 1, g: 'x'})",
        "INSERT INTO t (id, at) VALUES (now(), totimestamp(now()))",
        "INSERT INTO t (a, b) VALUES (:a, :b)",
        "UPDATE t SET a = 1 WHERE pk = 1",
        "UPDATE ks.t USING TTL 10 AND TIMESTAMP 20 SET a = 1, b = 'x' WHERE pk = 1",
        "UPDATE t SET c = c + 1 WHERE pk = 1",
        "UPDATE t SET c = c - 1 WHERE pk = 1",
        "UPDATE t SET l = l + [1] WHERE pk = 1",
        "UPDATE t SET l = [1] + l WHERE pk = 1",
        "UPDATE t SET s = s - {1} WHERE pk = 1",
        "UPDATE t SET m = m + {'k': 'v'} WHERE pk = 1",
        "UPDATE t SET m['k'] = 'v', l[0] = 5 WHERE pk = 1",
        "UPDATE t SET u.field = 3 WHERE pk = 1",
        "UPDATE t SET a = 1 WHERE pk = 1 IF EXISTS",
        "UPDATE t SET a = 1 WHERE pk = 1 IF a = 2 AND b IN (1, 2) AND m['k'] > 3 AND c != 4",
        "UPDATE t SET a = 1 WHERE pk = 1 IF u.f = 1 AND s CONTAINS 3 AND m CONTAINS KEY 'x'",
        "UPDATE t SET a = 1 WHERE pk = 1 IF m['k'] IN ? AND u.f IN (1)",
        "UPDATE t SET v = ? WHERE pk IN ? AND ck = ?",
        "UPDATE t SET a = NULL WHERE pk = 1",
        "DELETE FROM t WHERE pk = 1",
        "DELETE a, m['k'], l[1], u.f FROM ks.t WHERE pk = 1",
        "DELETE FROM t USING TIMESTAMP 5 WHERE pk = 1 AND ck > 3",
        "DELETE FROM t WHERE pk = 1 IF EXISTS",
        "DELETE a FROM t WHERE pk = 1 IF a = 1",
        "BEGIN BATCH APPLY BATCH",
        "BEGIN BATCH INSERT INTO t (a) VALUES (1); UPDATE t SET a = 2 WHERE pk = 1; DELETE FROM t WHERE pk = 2; APPLY BATCH",
        "BEGIN UNLOGGED BATCH USING TIMESTAMP 5 INSERT INTO t (a) VALUES (?); APPLY BATCH",
        "BEGIN COUNTER BATCH UPDATE t SET c = c + 1 WHERE pk = 1; APPLY BATCH",
    ] {
        verified_stmt(text);
    }
}

#[test]
fn schema_forms_round_trip() {
    for text in [
        "USE ks",
        "USE \"MyKeyspace\"",
        "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
        "CREATE KEYSPACE IF NOT EXISTS ks WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 3} AND durable_writes = false",
        "ALTER KEYSPACE ks WITH durable_writes = true",
        "ALTER KEYSPACE IF EXISTS ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': '2'}",
        "DROP KEYSPACE ks",
        "DROP KEYSPACE IF EXISTS ks",
        "CREATE TABLE t (a int PRIMARY KEY, b text)",
        "CREATE TABLE IF NOT EXISTS ks.t (a int, b text, c int STATIC, d map<text, frozen<list<int>>>, PRIMARY KEY ((a, b), c))",
        "CREATE TABLE t (a int, b int, c int, PRIMARY KEY (a, b, c)) WITH CLUSTERING ORDER BY (b DESC, c ASC)",
        "CREATE TABLE t (a int PRIMARY KEY) WITH comment = 'x' AND gc_grace_seconds = 864000 AND compaction = {'class': 'SizeTieredCompactionStrategy'}",
        "CREATE TABLE t (a int PRIMARY KEY) WITH bloom_filter_fp_chance = 0.01 AND CLUSTERING ORDER BY (b ASC) AND COMPACT STORAGE",
        "CREATE TABLE t (k int PRIMARY KEY, v vector<float, 3>, tu tuple<int, text>, u frozen<ks.address>, c counter, x 'org.apache.cassandra.db.marshal.BytesType')",
        "CREATE TABLE t (a ascii, b bigint, c blob, d boolean, e date, f decimal, g double, h duration, i float, j inet, k int, l smallint, m text, n time, o timestamp, p timeuuid, q tinyint, r uuid, s varchar, t varint, PRIMARY KEY (a))",
        "ALTER TABLE t ADD c int",
        "ALTER TABLE t ADD IF NOT EXISTS c int STATIC",
        "ALTER TABLE ks.t ADD (c int, d set<text>)",
        "ALTER TABLE t DROP c",
        "ALTER TABLE IF EXISTS t DROP IF EXISTS (c, d) USING TIMESTAMP 1234",
        "ALTER TABLE t RENAME a TO b",
        "ALTER TABLE t RENAME IF EXISTS a TO b AND c TO d",
        "ALTER TABLE t WITH comment = 'hello' AND default_time_to_live = 10",
        "ALTER TABLE t ALTER c TYPE blob",
        "ALTER TABLE t DROP COMPACT STORAGE",
        "DROP TABLE t",
        "DROP TABLE IF EXISTS ks.t",
        "TRUNCATE TABLE ks.t",
        "CREATE INDEX ON t (v)",
        "CREATE INDEX IF NOT EXISTS idx ON ks.t (v)",
        "CREATE INDEX ON t (KEYS(m))",
        "CREATE INDEX ON t (VALUES(l))",
        "CREATE INDEX ON t (ENTRIES(m))",
        "CREATE INDEX ON t (FULL(f))",
        "CREATE INDEX idx ON t (v) USING 'sai'",
        "CREATE CUSTOM INDEX idx ON t (v) USING 'org.apache.cassandra.index.sasi.SASIIndex' WITH options = {'mode': 'CONTAINS'}",
        "DROP INDEX idx",
        "DROP INDEX IF EXISTS ks.idx",
        "CREATE TYPE address (street text, city text, zip int)",
        "CREATE TYPE IF NOT EXISTS ks.address (street text, tags frozen<set<text>>)",
        "ALTER TYPE address ADD country text",
        "ALTER TYPE address ADD IF NOT EXISTS country text",
        "ALTER TYPE ks.address RENAME zip TO zipcode AND city TO town",
        "ALTER TYPE address ALTER zip TYPE varint",
        "DROP TYPE address",
        "DROP TYPE IF EXISTS ks.address",
        "CREATE MATERIALIZED VIEW mv AS SELECT * FROM t WHERE a IS NOT NULL AND b IS NOT NULL PRIMARY KEY (b, a)",
        "CREATE MATERIALIZED VIEW IF NOT EXISTS ks.mv AS SELECT a, b FROM ks.t WHERE a IS NOT NULL PRIMARY KEY ((b, a)) WITH comment = 'x' AND CLUSTERING ORDER BY (a DESC)",
        "ALTER MATERIALIZED VIEW mv WITH comment = 'y'",
        "DROP MATERIALIZED VIEW mv",
        "DROP MATERIALIZED VIEW IF EXISTS ks.mv",
        "CREATE FUNCTION f(a int, b text) RETURNS NULL ON NULL INPUT RETURNS int LANGUAGE java AS 'return a;'",
        "CREATE OR REPLACE FUNCTION IF NOT EXISTS ks.f() CALLED ON NULL INPUT RETURNS text LANGUAGE javascript AS 'x'",
        "DROP FUNCTION f",
        "DROP FUNCTION IF EXISTS ks.f(int, text)",
        "DROP FUNCTION f()",
        "CREATE AGGREGATE avg(int) SFUNC avg_state STYPE tuple<int, bigint> FINALFUNC avg_final INITCOND (0, 0)",
        "CREATE OR REPLACE AGGREGATE ks.agg(int, text) SFUNC s STYPE int",
        "DROP AGGREGATE agg",
        "DROP AGGREGATE IF EXISTS ks.agg(int)",
    ] {
        verified_stmt(text);
    }
}

#[test]
fn describe_forms_round_trip() {
    for text in [
        "DESCRIBE KEYSPACES",
        "DESCRIBE KEYSPACE",
        "DESCRIBE KEYSPACE ks",
        "DESCRIBE ONLY KEYSPACE ks",
        "DESCRIBE TABLES",
        "DESCRIBE TABLE ks.t",
        "DESCRIBE TABLE t",
        "DESCRIBE SCHEMA",
        "DESCRIBE FULL SCHEMA",
        "DESCRIBE CLUSTER",
        "DESCRIBE TYPES",
        "DESCRIBE TYPE ks.address",
        "DESCRIBE FUNCTIONS",
        "DESCRIBE FUNCTION ks.f",
        "DESCRIBE AGGREGATES",
        "DESCRIBE AGGREGATE agg",
        "DESCRIBE INDEX ks.idx",
        "DESCRIBE MATERIALIZED VIEW ks.mv",
        "DESCRIBE ks",
        "DESCRIBE ks.t",
        "DESCRIBE \"tables\"",
        "DESCRIBE KEYSPACE ks WITH INTERNALS",
        "DESCRIBE TABLE t WITH INTERNALS",
    ] {
        verified_stmt(text);
    }
}

#[test]
fn strata_extensions_round_trip() {
    let cases: &[(&str, Statement)] = &[
        (
            "CREATE TABLE ks.new CLONE ks.src",
            Statement::CloneTable(CloneTable {
                if_not_exists: false,
                name: QualifiedName::qualified("ks", "new"),
                source: QualifiedName::qualified("ks", "src"),
                snapshot: None,
            }),
        ),
        (
            "CREATE TABLE IF NOT EXISTS ks.new CLONE ks.src AT SNAPSHOT 'TAG'",
            Statement::CloneTable(CloneTable {
                if_not_exists: true,
                name: QualifiedName::qualified("ks", "new"),
                source: QualifiedName::qualified("ks", "src"),
                snapshot: Some("TAG".into()),
            }),
        ),
        (
            "CREATE KEYSPACE new CLONE src",
            Statement::CloneKeyspace(CloneKeyspace {
                if_not_exists: false,
                name: "new".into(),
                source: "src".into(),
                snapshot: None,
            }),
        ),
        (
            "CREATE KEYSPACE IF NOT EXISTS new CLONE src AT SNAPSHOT 'TAG'",
            Statement::CloneKeyspace(CloneKeyspace {
                if_not_exists: true,
                name: "new".into(),
                source: "src".into(),
                snapshot: Some("TAG".into()),
            }),
        ),
        (
            "RESTORE TABLE ks.t FROM SNAPSHOT 'TAG'",
            Statement::RestoreTable(RestoreTable {
                table: QualifiedName::qualified("ks", "t"),
                snapshot: "TAG".into(),
            }),
        ),
        (
            "RESTORE KEYSPACE ks FROM SNAPSHOT 'it''s'",
            Statement::RestoreKeyspace(RestoreKeyspace {
                keyspace: "ks".into(),
                snapshot: "it's".into(),
            }),
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(&verified_stmt(text), expected, "{text}");
    }
    let select = select("SELECT * FROM ks.t AT SNAPSHOT 'TAG' WHERE pk = 1");
    assert_eq!(select.snapshot.as_deref(), Some("TAG"));
    assert_eq!(select.table, QualifiedName::qualified("ks", "t"));
}

#[test]
fn role_and_permission_statements_round_trip() {
    for text in [
        "CREATE ROLE bob",
        "CREATE ROLE IF NOT EXISTS bob WITH PASSWORD = 'p''w' AND LOGIN = true AND SUPERUSER = false",
        "CREATE ROLE r WITH HASHED PASSWORD = '$2a$10$x' AND OPTIONS = {'a': 'b'}",
        "CREATE USER \"Alice\" WITH PASSWORD 'pw' NOSUPERUSER",
        "ALTER ROLE IF EXISTS bob WITH LOGIN = false",
        "ALTER USER alice SUPERUSER",
        "DROP ROLE IF EXISTS bob",
        "DROP USER alice",
        "GRANT analysts TO alice",
        "REVOKE analysts FROM alice",
        "GRANT SELECT ON TABLE ks.t TO bob",
        "GRANT ALL PERMISSIONS ON KEYSPACE ks TO bob",
        "REVOKE EXECUTE ON ALL FUNCTIONS IN KEYSPACE ks FROM bob",
        "GRANT DESCRIBE ON ALL ROLES TO bob",
        "GRANT ALTER ON ROLE alice TO bob",
        "GRANT EXECUTE ON FUNCTION ks.f(int, text) TO bob",
        "LIST ROLES",
        "LIST ROLES OF bob NORECURSIVE",
        "LIST USERS",
        "LIST ALL PERMISSIONS ON TABLE ks.t OF bob NORECURSIVE",
        "LIST SELECT",
    ] {
        verified_stmt(text);
    }
    for (text, canonical) in [
        (
            "create role 'Bob' with login = TRUE",
            "CREATE ROLE \"Bob\" WITH LOGIN = true",
        ),
        (
            "GRANT ALL ON ks.t TO bob",
            "GRANT ALL PERMISSIONS ON TABLE ks.t TO bob",
        ),
        (
            "grant modify permission on all keyspaces to bob",
            "GRANT MODIFY ON ALL KEYSPACES TO bob",
        ),
        ("CREATE USER Alice", "CREATE USER \"Alice\""),
    ] {
        verified_as(text, canonical);
    }
    // ALL on a table is what a table supports: no CREATE, no DESCRIBE or EXECUTE.
    let Statement::GrantPermissions(grant) = verified_as(
        "GRANT ALL ON t TO r",
        "GRANT ALL PERMISSIONS ON TABLE t TO r",
    ) else {
        panic!("not a GRANT");
    };
    assert_eq!(
        grant.permissions,
        vec![
            Permission::Alter,
            Permission::Drop,
            Permission::Select,
            Permission::Modify,
            Permission::Authorize,
            Permission::Unmask,
            Permission::SelectMasked
        ]
    );
}

#[test]
fn non_canonical_input_normalises() {
    for (text, canonical) in [
        ("select * from T;", "SELECT * FROM t"),
        ("SELECT * FROM t;;", "SELECT * FROM t"),
        ("  SELECT\n*\tFROM -- comment\n t /* block */ ", "SELECT * FROM t"),
        ("select a as \"A\" from Ks.Tbl where X = 1", "SELECT a AS \"A\" FROM ks.tbl WHERE x = 1"),
        ("SELECT COUNT(*) FROM t", "SELECT count(*) FROM t"),
        ("SELECT WRITETIME(v) FROM t", "SELECT writetime(v) FROM t"),
        ("SELECT ToJson(x) FROM t", "SELECT tojson(x) FROM t"),
        ("SELECT * FROM t WHERE a = TRUE AND b = False", "SELECT * FROM t WHERE a = true AND b = false"),
        ("SELECT * FROM t WHERE a = nan AND b = -infinity", "SELECT * FROM t WHERE a = NaN AND b = -Infinity"),
        ("SELECT * FROM t WHERE a = null", "SELECT * FROM t WHERE a = NULL"),
        ("SELECT * FROM t WHERE a = $$it's$$", "SELECT * FROM t WHERE a = 'it''s'"),
        ("SELECT * FROM t WHERE a = - 5", "SELECT * FROM t WHERE a = -5"),
        ("SELECT * FROM t WHERE ((a = 1))", "SELECT * FROM t WHERE a = 1"),
        ("SELECT * FROM t ORDER BY c", "SELECT * FROM t ORDER BY c ASC"),
        ("SELECT (a) FROM t", "SELECT a FROM t"),
        ("SELECT - -a FROM t", "SELECT -(-a) FROM t"),
        ("SELECT \"json\" FROM t", "SELECT \"json\" FROM t"),
        ("SELECT json FROM t", "SELECT \"json\" FROM t"),
        ("SELECT distinct FROM t", "SELECT \"distinct\" FROM t"),
        ("SELECT \"json\" - 1 FROM t", "SELECT \"json\" - 1 FROM t"),
        ("UPDATE t SET c += 1 WHERE k = 1", "UPDATE t SET c = c + 1 WHERE k = 1"),
        ("UPDATE t SET c -= 1 WHERE k = 1", "UPDATE t SET c = c - 1 WHERE k = 1"),
        ("INSERT INTO t JSON '{}' DEFAULT NULL", "INSERT INTO t JSON '{}'"),
        ("INSERT INTO t (a) VALUES (1) USING TIMESTAMP 1 AND TTL 2", "INSERT INTO t (a) VALUES (1) USING TTL 2 AND TIMESTAMP 1"),
        ("BEGIN BATCH INSERT INTO t (a) VALUES (1) INSERT INTO t (a) VALUES (2) APPLY BATCH;", "BEGIN BATCH INSERT INTO t (a) VALUES (1); INSERT INTO t (a) VALUES (2); APPLY BATCH"),
        ("TRUNCATE t", "TRUNCATE TABLE t"),
        ("TRUNCATE COLUMNFAMILY t", "TRUNCATE TABLE t"),
        ("CREATE COLUMNFAMILY t (a int PRIMARY KEY)", "CREATE TABLE t (a int PRIMARY KEY)"),
        ("CREATE TABLE t (a int, PRIMARY KEY ((a)),)", "CREATE TABLE t (a int, PRIMARY KEY (a))"),
        ("CREATE TABLE t (a INT PRIMARY KEY, b TEXT, c Map<Text, Int>)", "CREATE TABLE t (a int PRIMARY KEY, b text, c map<text, int>)"),
        ("CREATE TYPE t (a int,)", "CREATE TYPE t (a int)"),
        ("create index on t(keys(m))", "CREATE INDEX ON t (KEYS(m))"),
        ("DESC KEYSPACES", "DESCRIBE KEYSPACES"),
        ("desc table ks.t", "DESCRIBE TABLE ks.t"),
        ("DESCRIBE COLUMNFAMILY t", "DESCRIBE TABLE t"),
        ("RESTORE COLUMNFAMILY t FROM SNAPSHOT $$x$$", "RESTORE TABLE t FROM SNAPSHOT 'x'"),
        ("CREATE FUNCTION f(a int) CALLED ON NULL INPUT RETURNS int LANGUAGE Java AS $$ return a; $$", "CREATE FUNCTION f(a int) CALLED ON NULL INPUT RETURNS int LANGUAGE java AS ' return a; '"),
        ("ALTER TABLE t WITH caching = {'keys' : 'ALL' , 'rows_per_partition':'NONE'}", "ALTER TABLE t WITH caching = {'keys': 'ALL', 'rows_per_partition': 'NONE'}"),
    ] {
        verified_as(text, canonical);
    }
}

// ---------------------------------------------------------------------------------------------
// Tree details the planner relies on
// ---------------------------------------------------------------------------------------------

#[test]
fn identifiers_are_case_folded_unless_quoted() {
    let select = select_any("SELECT MyCol, \"MyCol\", \"a\"\"b\" FROM MyKs.\"MyTable\"");
    assert_eq!(select.table, QualifiedName::qualified("myks", "MyTable"));
    let names: Vec<Selector> = match select.selection {
        Selection::Selectors(items) => items.into_iter().map(|i| i.selector).collect(),
        Selection::Wildcard => Vec::new(),
    };
    assert_eq!(names, [column("mycol"), column("MyCol"), column("a\"b")]);
}

#[test]
fn identifiers_are_quoted_only_when_needed() {
    for (name, quoted) in [
        ("users", "users"),
        ("key", "key"),
        ("b_2", "b_2"),
        ("MyTable", "\"MyTable\""),
        ("select", "\"select\""),
        ("a\"b", "\"a\"\"b\""),
        ("with space", "\"with space\""),
        ("1abc", "\"1abc\""),
        ("p1d", "\"p1d\""),
        ("", "\"\""),
    ] {
        assert_eq!(super::quote_identifier(name), quoted, "{name}");
    }
}

#[test]
fn unreserved_keywords_are_identifiers() {
    for word in [
        "key",
        "type",
        "ttl",
        "writetime",
        "count",
        "values",
        "keys",
        "json",
        "distinct",
        "filtering",
        "static",
        "frozen",
        "list",
        "map",
        "exists",
        "options",
        "custom",
        "as",
        "cluster",
        "storage",
        "text",
        "int",
        "timestamp",
        "date",
        "time",
        "like",
        "group",
        "partition",
        "per",
        "user",
        "role",
    ] {
        let text = format!("SELECT {word} FROM {word} WHERE {word} = 1");
        let select = select_any(&text);
        assert_eq!(select.table.name, word, "{text}");
        let created = format!("CREATE TABLE {word} ({word} int PRIMARY KEY)");
        parse_statement(&created).unwrap_or_else(|e| panic!("{created}: {e}"));
    }
}

#[test]
fn literal_kinds_and_texts() {
    let cases: &[(&str, LiteralKind, &str)] = &[
        ("'it''s'", LiteralKind::String, "it's"),
        ("$$a'b$$", LiteralKind::String, "a'b"),
        ("42", LiteralKind::Integer, "42"),
        ("-42", LiteralKind::Integer, "-42"),
        ("3.14", LiteralKind::Float, "3.14"),
        ("-0.5", LiteralKind::Float, "-0.5"),
        ("1e10", LiteralKind::Float, "1e10"),
        ("1.5E-3", LiteralKind::Float, "1.5E-3"),
        ("NaN", LiteralKind::NaN, "NaN"),
        ("-NaN", LiteralKind::NaN, "-NaN"),
        ("Infinity", LiteralKind::Infinity, "Infinity"),
        ("-Infinity", LiteralKind::Infinity, "-Infinity"),
        ("true", LiteralKind::Boolean, "true"),
        ("FALSE", LiteralKind::Boolean, "false"),
        ("null", LiteralKind::Null, "null"),
        (
            "123e4567-e89b-12d3-a456-426614174000",
            LiteralKind::Uuid,
            "123e4567-e89b-12d3-a456-426614174000",
        ),
        ("0xCAFE", LiteralKind::Blob, "0xCAFE"),
        ("0x", LiteralKind::Blob, "0x"),
        ("12h30m", LiteralKind::Duration, "12h30m"),
        ("1y2mo", LiteralKind::Duration, "1y2mo"),
        ("-1d", LiteralKind::Duration, "-1d"),
        ("P1Y2M", LiteralKind::Duration, "P1Y2M"),
        ("PT10H", LiteralKind::Duration, "PT10H"),
        ("P3W", LiteralKind::Duration, "P3W"),
        (
            "P2000-01-02T03:04:05",
            LiteralKind::Duration,
            "P2000-01-02T03:04:05",
        ),
    ];
    for (text, kind, expected) in cases {
        assert_eq!(where_term(text), literal(*kind, expected), "{text}");
    }
}

#[test]
fn collection_tuple_and_udt_terms() {
    assert_eq!(where_term("[1, 2]"), Term::List(vec![int("1"), int("2")]));
    assert_eq!(where_term("[]"), Term::List(vec![]));
    assert_eq!(where_term("{1, 2}"), Term::Set(vec![int("1"), int("2")]));
    assert_eq!(where_term("{}"), Term::Set(vec![]));
    assert_eq!(
        where_term("{'k': 1}"),
        Term::Map(vec![(literal(LiteralKind::String, "k"), int("1"))])
    );
    assert_eq!(
        where_term("{f: 1, \"G\": 2}"),
        Term::Udt(vec![("f".into(), int("1")), ("G".into(), int("2"))])
    );
    assert_eq!(
        where_term("(1, 'a')"),
        Term::Tuple(vec![int("1"), literal(LiteralKind::String, "a")])
    );
    assert_eq!(where_term("(1)"), Term::Tuple(vec![int("1")]));
    assert_eq!(
        where_term("[{a: [1]}, {'x': {1}}]"),
        Term::List(vec![
            Term::Udt(vec![("a".into(), Term::List(vec![int("1")]))]),
            Term::Map(vec![(
                literal(LiteralKind::String, "x"),
                Term::Set(vec![int("1")])
            )]),
        ])
    );
}

#[test]
fn function_cast_hint_and_arithmetic_terms() {
    let call = |name: &str, args: Vec<Term>| Term::FunctionCall {
        name: QualifiedName::unqualified(name),
        args,
    };
    assert_eq!(where_term("now()"), call("now", vec![]));
    assert_eq!(
        where_term("toTimestamp(now())"),
        call("totimestamp", vec![call("now", vec![])])
    );
    assert_eq!(
        where_term("ks.\"F\"(1)"),
        Term::FunctionCall {
            name: QualifiedName::qualified("ks", "F"),
            args: vec![int("1")]
        }
    );
    assert_eq!(where_term("token(1)"), call("token", vec![int("1")]));
    // CAST is a selector only (Cassandra's grammar has no CAST term).
    assert!(parse_statement("SELECT * FROM t WHERE k = CAST(1 AS text)").is_err());
    assert_eq!(
        where_term("(int) ?"),
        Term::TypeHint {
            ty: CqlType::Native(NativeTypeName::Int),
            term: Box::new(marker(0, None))
        }
    );
    assert_eq!(
        where_term("(frozen<list<int>>) [1]"),
        Term::TypeHint {
            ty: CqlType::Frozen(Box::new(CqlType::List(Box::new(CqlType::Native(
                NativeTypeName::Int
            ))))),
            term: Box::new(Term::List(vec![int("1")])),
        }
    );
    let arithmetic = |op, left, right| Term::Arithmetic {
        op,
        left: Box::new(left),
        right: Box::new(right),
    };
    assert_eq!(
        where_term("1 + 2 * 3"),
        arithmetic(
            ArithmeticOp::Add,
            int("1"),
            arithmetic(ArithmeticOp::Multiply, int("2"), int("3"))
        )
    );
    assert_eq!(
        where_term("1 - 2 - 3"),
        arithmetic(
            ArithmeticOp::Subtract,
            arithmetic(ArithmeticOp::Subtract, int("1"), int("2")),
            int("3")
        )
    );
    assert_eq!(
        where_term("1 - -2"),
        arithmetic(ArithmeticOp::Subtract, int("1"), int("-2"))
    );
    assert_eq!(where_term("-?"), Term::Negate(Box::new(marker(0, None))));
    assert_eq!(
        where_term("-now()"),
        Term::Negate(Box::new(call("now", vec![])))
    );
    assert_eq!(
        where_term("1h - 30m"),
        arithmetic(
            ArithmeticOp::Subtract,
            literal(LiteralKind::Duration, "1h"),
            literal(LiteralKind::Duration, "30m")
        )
    );
}

#[test]
fn selector_trees() {
    let select = select_any("SELECT (int) a.b, ((int) a).b, m['k'][1..2], -a * b FROM t");
    let Selection::Selectors(items) = select.selection else {
        panic!("wildcard")
    };
    let hint = |selector| Selector::TypeHint {
        ty: CqlType::Native(NativeTypeName::Int),
        selector: Box::new(selector),
    };
    let field = |selector, name: &str| Selector::Field {
        selector: Box::new(selector),
        field: name.into(),
    };
    let selectors: Vec<Selector> = items.into_iter().map(|i| i.selector).collect();
    assert_eq!(selectors[0], field(hint(column("a")), "b"));
    assert_eq!(selectors[1], field(hint(column("a")), "b"));
    assert_eq!(
        selectors[2],
        Selector::Slice {
            selector: Box::new(Selector::Element {
                selector: Box::new(column("m")),
                key: literal(LiteralKind::String, "k"),
            }),
            from: Some(int("1")),
            to: Some(int("2")),
        }
    );
    assert_eq!(
        selectors[3],
        Selector::Arithmetic {
            op: ArithmeticOp::Multiply,
            left: Box::new(Selector::Negate(Box::new(column("a")))),
            right: Box::new(column("b")),
        }
    );
}

#[test]
fn update_assignment_kinds() {
    let Statement::Update(update) = verified_stmt(
        "UPDATE t SET a = 1, c = c + 1, d = d - 2, l = [0] + l, m['k'] = 'v', u.f = 2 WHERE pk = 1",
    ) else {
        panic!("not an update")
    };
    let kinds: Vec<&str> = update
        .assignments
        .iter()
        .map(|a| match a {
            Assignment::Set { .. } => "set",
            Assignment::Add { .. } => "add",
            Assignment::Subtract { .. } => "subtract",
            Assignment::Prepend { .. } => "prepend",
            Assignment::SetElement { .. } => "element",
            Assignment::SetField { .. } => "field",
        })
        .collect();
    assert_eq!(
        kinds,
        ["set", "add", "subtract", "prepend", "element", "field"]
    );
    // A right-hand side that merely contains arithmetic stays a plain assignment.
    let Statement::Update(update) = verified_stmt("UPDATE t SET a = 1 + 2 WHERE pk = 1") else {
        panic!()
    };
    assert!(matches!(
        update.assignments[0],
        Assignment::Set {
            value: Term::Arithmetic { .. },
            ..
        }
    ));
}

#[test]
fn bind_markers_are_numbered_in_source_order() {
    let statement = verified_stmt(
        "UPDATE t USING TTL ? SET a = ?, m[:key] = :value WHERE pk IN ? AND ck = (int) ? IF b = ?",
    );
    let markers: Vec<(usize, Option<&str>)> = statement
        .bind_markers()
        .iter()
        .map(|m| (m.index, m.name.as_deref()))
        .collect();
    assert_eq!(
        markers,
        [
            (0, None),
            (1, None),
            (2, Some("key")),
            (3, Some("value")),
            (4, None),
            (5, None),
            (6, None)
        ]
    );
    assert_eq!(statement.bind_marker_count(), 7);

    let batch = verified_stmt(
        "BEGIN BATCH USING TIMESTAMP ? INSERT INTO t (a, b) VALUES (?, ?); DELETE FROM t WHERE a = ?; APPLY BATCH",
    );
    assert_eq!(batch.bind_marker_count(), 4);
    let select = verified_stmt("SELECT a, ? FROM t WHERE token(a) > ? AND b IN (?, ?) LIMIT ?");
    let indexes: Vec<usize> = select.bind_markers().iter().map(|m| m.index).collect();
    assert_eq!(indexes, [0, 1, 2, 3, 4]);
    assert_eq!(verified_stmt("SELECT * FROM t").bind_marker_count(), 0);
    assert_eq!(verified_stmt("INSERT INTO t JSON ?").bind_marker_count(), 1);
    // Markers seen during a failed speculation (the type-hint attempt) are not counted twice.
    assert_eq!(
        verified_stmt("SELECT * FROM t WHERE a = (?, ?) AND b = ?").bind_marker_count(),
        3
    );
}

#[test]
fn create_table_tree() {
    let Statement::CreateTable(table) = verified_stmt(
        "CREATE TABLE ks.t (a int, b text, c int STATIC, PRIMARY KEY ((a, b), c)) WITH comment = 'x' AND CLUSTERING ORDER BY (c DESC)",
    ) else {
        panic!("not a table")
    };
    assert_eq!(table.name, QualifiedName::qualified("ks", "t"));
    assert_eq!(table.columns.len(), 3);
    assert!(table.columns[2].is_static);
    assert_eq!(
        table.primary_key,
        Some(PrimaryKey {
            partition_key: vec!["a".into(), "b".into()],
            clustering_columns: vec!["c".into()]
        })
    );
    assert_eq!(
        table.options.clustering_order,
        vec![("c".to_string(), OrderDirection::Desc)]
    );
    assert_eq!(
        table.options.properties,
        vec![Property {
            name: "comment".into(),
            value: PropertyValue::Literal(Literal {
                kind: LiteralKind::String,
                text: "x".into()
            })
        }]
    );
}

#[test]
fn keyspace_replication_map_tree() {
    let Statement::CreateKeyspace(keyspace) = verified_stmt(
        "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3} AND durable_writes = true",
    ) else {
        panic!("not a keyspace")
    };
    let string = |t: &str| Literal {
        kind: LiteralKind::String,
        text: t.into(),
    };
    assert_eq!(
        keyspace.properties,
        vec![
            Property {
                name: "replication".into(),
                value: PropertyValue::Map(vec![
                    (string("class"), string("SimpleStrategy")),
                    (
                        string("replication_factor"),
                        Literal {
                            kind: LiteralKind::Integer,
                            text: "3".into()
                        }
                    ),
                ]),
            },
            Property {
                name: "durable_writes".into(),
                value: PropertyValue::Literal(Literal {
                    kind: LiteralKind::Boolean,
                    text: "true".into()
                }),
            },
        ]
    );
}

#[test]
fn types_parse_to_trees() {
    let type_of = |ty: &str| match parse_statement(&format!("CREATE TABLE t (a {ty} PRIMARY KEY)"))
    {
        Ok(Statement::CreateTable(table)) => table.columns[0].ty.clone(),
        other => panic!("{ty}: {other:?}"),
    };
    let native = |n| Box::new(CqlType::Native(n));
    assert_eq!(
        type_of("map<text, int>"),
        CqlType::Map(native(NativeTypeName::Text), native(NativeTypeName::Int))
    );
    assert_eq!(
        type_of("vector<float, 1536>"),
        CqlType::Vector(native(NativeTypeName::Float), 1536)
    );
    assert_eq!(
        type_of("address"),
        CqlType::UserDefined(QualifiedName::unqualified("address"))
    );
    assert_eq!(
        type_of("ks.\"Addr\""),
        CqlType::UserDefined(QualifiedName::qualified("ks", "Addr"))
    );
    assert_eq!(
        type_of("'com.example.T'"),
        CqlType::Custom("com.example.T".into())
    );
    assert_eq!(
        type_of("frozen<tuple<int, list<text>>>"),
        CqlType::Frozen(Box::new(CqlType::Tuple(vec![
            CqlType::Native(NativeTypeName::Int),
            CqlType::List(native(NativeTypeName::Text)),
        ])))
    );
}

// ---------------------------------------------------------------------------------------------
// Queries that drivers and cqlsh send (protocol-and-drivers.md §2)
// ---------------------------------------------------------------------------------------------

#[test]
fn driver_and_cqlsh_queries_parse() {
    for text in [
        "SELECT * FROM system.peers_v2",
        "SELECT * FROM system.peers",
        "SELECT * FROM system.local WHERE key='local'",
        "select * from system.local where key = 'local'",
        "SELECT cluster_name FROM system.local",
        "SELECT * FROM system.local",
        "USE \"ks\"",
        "SELECT host_id, rpc_address, data_center, rack, tokens FROM system.peers",
        "SELECT host_id, rpc_address, data_center, rack, tokens, cluster_name FROM system.local WHERE key='local'",
        "select keyspace_name, replication, durable_writes from system_schema.keyspaces",
        "select keyspace_name, type_name, field_names, field_types from system_schema.types where keyspace_name in ?",
        "select keyspace_name, table_name from system_schema.tables where keyspace_name in ?",
        "select keyspace_name, view_name, base_table_name from system_schema.views where keyspace_name in ?",
        "select keyspace_name, table_name, column_name, kind, position, type from system_schema.columns where keyspace_name in ?",
        "SELECT * FROM system_schema.scylla_tables",
        "SELECT * FROM system_schema.keyspaces",
        "SELECT * FROM system_schema.tables",
        "SELECT * FROM system_schema.columns",
        "SELECT * FROM system_schema.types",
        "SELECT * FROM system_schema.functions",
        "SELECT * FROM system_schema.aggregates",
        "SELECT * FROM system_schema.triggers",
        "SELECT * FROM system_schema.indexes",
        "SELECT * FROM system_schema.views",
        "SELECT * FROM system_virtual_schema.keyspaces",
        "SELECT * FROM system_virtual_schema.tables",
        "SELECT * FROM system_virtual_schema.columns",
        "SELECT * FROM system_schema.keyspaces WHERE keyspace_name IN ('ks1', 'ks2')",
        "SELECT * FROM system_schema.tables WHERE keyspace_name = 'k' AND table_name = 't'",
        "SELECT * FROM system_schema.views WHERE keyspace_name = 'k' AND view_name = 'v'",
        "SELECT * FROM system_schema.types WHERE keyspace_name = 'k' AND type_name = 'u'",
        "SELECT * FROM system_schema.functions WHERE keyspace_name = 'k' AND function_name = 'f' AND argument_types = ['int', 'text']",
        "SELECT * FROM system_schema.columns WHERE keyspace_name = ?",
        "SELECT peer, host_id, rpc_address, schema_version FROM system.peers",
        "SELECT host_id, peer, peer_port, native_address, native_port, schema_version FROM system.peers_v2",
        "SELECT schema_version FROM system.local WHERE key='local'",
        "SELECT a, b FROM ks.t WHERE token(pk) > -9223372036854775808 AND token(pk) <= 100",
        "SELECT a, b FROM ks.t WHERE token(pk) > ? AND token(pk) <= ?",
        "DESCRIBE KEYSPACES",
        "DESC TABLES",
        "DESCRIBE TYPES",
        "DESCRIBE FUNCTIONS",
        "DESCRIBE AGGREGATES",
        "DESCRIBE KEYSPACE ks",
        "DESCRIBE TABLE ks.t",
        "DESC FULL SCHEMA",
        "DESCRIBE CLUSTER",
        "describe ks.t;",
    ] {
        let statement = parse_statement(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        let reparsed = parse_statement(&statement.to_string());
        assert_eq!(reparsed.as_ref(), Ok(&statement), "{text}");
    }
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

#[test]
fn error_messages_match_cassandra_wording() {
    let mut mismatches = Vec::new();
    for (text, expected) in [
        ("SELECT * FORM t", "line 1:9 mismatched input 'FORM' expecting K_FROM (SELECT * [FORM] t)"),
        ("SELECT a, b FORM t WHERE a = 1", "line 1:12 mismatched input 'FORM' expecting K_FROM (SELECT a, b [FORM] t...)"),
        ("SELEC * FROM t", "line 1:0 no viable alternative at input 'SELEC' ([SELEC] *...)"),
        ("SELECT * FROM t WHERE", "line 0:-1 no viable alternative at input '<EOF>'"),
        ("SELECT * FROM", "line 0:-1 no viable alternative at input '<EOF>'"),
        ("SELECT * FROM t garbage", "line 1:16 mismatched input 'garbage' expecting EOF"),
        ("SELECT * FROM t; SELECT * FROM u", "line 1:17 mismatched input 'SELECT' expecting EOF (SELECT * FROM t; [SELECT] *...)"),
        ("INSERT INTO t (a) VALUES (1", "line 0:-1 mismatched input '<EOF>' expecting ')'"),
        ("INSERT INTO t (a) VALUE (1)", "line 1:18 mismatched input 'VALUE' expecting K_VALUES (INSERT INTO t (a) [VALUE] (...)"),
        ("CREATE TABLE t (a int PRIMARY KEY", "line 0:-1 mismatched input '<EOF>' expecting ')'"),
        ("DROP TABLE", "line 0:-1 no viable alternative at input '<EOF>'"),
        ("SELECT * FROM t WHERE a = 'x' AND", "line 0:-1 no viable alternative at input '<EOF>'"),
        ("SELECT # FROM t", "line 1:7 no viable alternative at character '#'"),
        ("SELECT * FROM t WHERE a = 'abc", "line 1:30 mismatched character '<EOF>' expecting '''"),
        ("", "line 0:-1 no viable alternative at input '<EOF>'"),
        (";", "line 1:0 no viable alternative at input ';'"),
        ("SELECT * FROM t WHERE a =\n  'x' ORDER b", "line 2:12 mismatched input 'b' expecting K_BY"),
        ("SELECT * FROM t WHERE a =\n  'x' ORDER b LIMIT 1", "line 2:12 mismatched input 'b' expecting K_BY (...WHERE a =  'x' ORDER [b] LIMIT...)"),
        ("UPDATE t SET a = b + 1 WHERE k = 1", "line 1:17 Only expressions of the form X = X + <value> are supported."),
        ("UPDATE t SET l = [1] + m WHERE k = 1", "line 1:23 Only expressions of the form X = <value> + X are supported."),
        ("UPDATE t SET a = 1, b = 2, a = 3 WHERE k = 1", "line 1:27 Multiple incompatible setting of column a"),
        ("UPDATE t SET m['x'] = 1, m = {} WHERE k = 1", "line 1:25 Multiple incompatible setting of column m"),
        ("UPDATE t SET u.f = 1, u.f = 2 WHERE k = 1", "line 1:22 Multiple incompatible setting of column u"),
        ("CREATE TABLE t (k int PRIMARY KEY, v text MASKED WITH mask_default())", "line 1:42 Column masks (MASKED WITH) are not supported by Strata"),
        ("GRANT CREATE ON ks.t TO bob", "line 1:21 Resource type DataResource does not support any of the requested permissions"),
        ("GRANT EXECUTE ON ALL ROLES TO bob", "line 1:27 Resource type RoleResource does not support any of the requested permissions"),
        ("CREATE ROLE bob WITH LOGIN = true AND LOGIN = false", "line 1:38 Multiple definition for property LOGIN"),
        ("CREATE ROLE ?", "line 1:12 Bind variables cannot be used for role names"),
        ("CREATE KEYSPACE ks WITH replication = {'class': ?}", "line 1:48 Invalid property value: ? for property: class (bind variables are not supported in DDL queries)"),
        ("CREATE KEYSPACE ks WITH a = 1 AND a = 2", "line 1:34 Multiple definition for property a"),
        ("CREATE TYPE byte (a int)", "line 1:12 Invalid (reserved) user type name byte"),
        ("SELECT * FROM ?", "line 1:14 Bind variables cannot be used for keyspace names"),
        ("BEGIN BATCH SELECT * FROM t APPLY BATCH", "line 1:12 mismatched input 'SELECT' expecting K_APPLY (BEGIN BATCH [SELECT] *...)"),
        ("CREATE TABLE t (a int) WITH CLUSTERING ORDER BY (a)", "line 1:50 no viable alternative at input ')'"),
    ] {
        let actual = parse_error(text);
        if actual != expected {
            mismatches.push(format!("{text}\n  expected {expected}\n  actual   {actual}"));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn error_fields_carry_the_position() {
    let error = parse_statement("SELECT *\nFROM t\nWHERE a == 1").err();
    assert_eq!(error.as_ref().map(|e| (e.line, e.column)), Some((3, 9)));
    let eof = parse_statement("SELECT").err();
    assert_eq!(
        eof.map(|e: ParseError| e.line),
        Some(0),
        "EOF errors are at line 0 like Cassandra's"
    );
}

#[test]
fn semantically_odd_but_syntactically_valid_statements_parse() {
    // Syntax only: duplicates, mismatched counts and unknown options are the planner's job.
    for text in [
        "INSERT INTO t (a, b) VALUES (1)",
        "CREATE TABLE t (a int, a text)",
        "CREATE TABLE t (a int PRIMARY KEY, b int, PRIMARY KEY (b))",
        "SELECT * FROM t WHERE a = 1 AND a = 2",
        "CREATE KEYSPACE ks WITH whatever = 'x'",
        "SELECT * FROM t LIMIT -1",
        "UPDATE t USING TTL 1 AND TTL 2 SET a = 1 WHERE k = 1",
        "UPDATE t SET m['a'] = 1, m['b'] = 2, m = m + {'c': 3}, u.f = 1, u.g = 2 WHERE k = 1",
        "CREATE TABLE t (a int PRIMARY KEY) WITH COMPACT STORAGE",
    ] {
        parse_statement(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    }
}

#[test]
fn invalid_statements_are_rejected() {
    for text in [
        "SELECT",
        "SELECT * FROM t WHERE a",
        "SELECT * FROM t WHERE a = ",
        "SELECT * FROM t LIMIT 'x'",
        "SELECT * FROM t LIMIT 1.5",
        "SELECT count(*, a) FROM t",
        "SELECT * FROM t WHERE a LIKE",
        "SELECT a AS FROM t",
        "SELECT * FROM t ALLOW",
        "SELECT * FROM t PER PARTITION 3",
        "SELECT * FROM t GROUP a",
        "SELECT * FROM ks.",
        "SELECT * FROM t WHERE a = b",
        "SELECT * FROM t WHERE a IN (1, 2",
        "SELECT * FROM t AT SNAPSHOT TAG",
        "INSERT INTO t VALUES (1)",
        "INSERT INTO t (a) VALUES (1) USING TTL",
        "INSERT INTO t (a) VALUES (1) USING TTL 1 AND",
        "INSERT INTO t (a) VALUES (1) USING TTL 'x'",
        "INSERT INTO t (a) VALUES (1) USING TIMESTAMP 1 IF NOT EXISTS",
        "INSERT INTO t JSON",
        "INSERT INTO t JSON '{}' DEFAULT",
        "UPDATE t SET a = 1",
        "UPDATE t SET WHERE k = 1",
        "UPDATE t SET a WHERE k = 1",
        "UPDATE t SET a = 1 WHERE k = 1 IF NOT EXISTS",
        "UPDATE t SET a = 1 WHERE k = 1 IF a LIKE 'x'",
        "DELETE FROM t",
        "DELETE a, FROM t WHERE k = 1",
        "DELETE FROM t USING TTL 1 WHERE k = 1",
        "BEGIN BATCH INSERT INTO t (a) VALUES (1)",
        "BEGIN LOGGED BATCH APPLY BATCH",
        "CREATE",
        "CREATE TABLE t",
        "CREATE TABLE t ()",
        "CREATE TABLE t (a)",
        "CREATE TABLE t (a int, PRIMARY KEY ())",
        "CREATE TABLE t (a int PRIMARY KEY, PRIMARY KEY (a), PRIMARY KEY (a))",
        "CREATE TABLE t (a map<int>)",
        "CREATE TABLE t (a vector<float>)",
        "CREATE TABLE t (a vector<float, x>)",
        "CREATE TABLE t (a int PRIMARY KEY) WITH",
        "CREATE TABLE t (a int PRIMARY KEY) WITH x = foo",
        "CREATE TABLE t (a int PRIMARY KEY) WITH x = {'a': now()}",
        "CREATE TABLE t (a int PRIMARY KEY) WITH x = NULL",
        "CREATE KEYSPACE ks",
        "CREATE KEYSPACE ks WITH replication = {'class': 'x', 'class': 'y'}",
        "CREATE TYPE int (a int)",
        "CREATE TYPE t ()",
        "CREATE INDEX ON t",
        "CREATE INDEX ON t (keys(m)",
        "CREATE MATERIALIZED VIEW mv AS SELECT * FROM t",
        "CREATE FUNCTION f() RETURNS int LANGUAGE java AS 'x'",
        "CREATE AGGREGATE a(int) STYPE int",
        "ALTER TABLE t",
        "ALTER TABLE t ADD",
        "ALTER TABLE t DROP (a",
        "ALTER TABLE t DROP a USING TIMESTAMP x",
        "ALTER TABLE t RENAME a",
        "ALTER TYPE t DROP a",
        "DROP",
        "DROP SOMETHING x",
        "DESCRIBE",
        "DESCRIBE TABLE",
        "DESCRIBE KEYSPACE ks WITH",
        "RESTORE TABLE t",
        "RESTORE TABLE t FROM SNAPSHOT",
        "RESTORE t FROM SNAPSHOT 'x'",
        "USE",
        "USE ks.t",
        "TRUNCATE",
        "SELECT * FROM t WHERE a = \"quoted\"",
        "SELECT * FROM t WHERE a = ''' ",
        "SELECT * FROM \"\"",
        "SELECT * FROM t WHERE token(a) IN (1)",
    ] {
        assert!(parse_statement(text).is_err(), "should fail: {text}");
    }
}

#[test]
fn nesting_depth_is_bounded() {
    let deep_list = format!(
        "SELECT * FROM t WHERE a = {}1{}",
        "[".repeat(200),
        "]".repeat(200)
    );
    let message = parse_error(&deep_list);
    assert!(
        message.contains(&format!("maximum nesting depth of {MAX_DEPTH} exceeded")),
        "{message}"
    );
    let deep_type = format!(
        "CREATE TABLE t (a {}int{} PRIMARY KEY)",
        "frozen<".repeat(200),
        ">".repeat(200)
    );
    assert!(parse_error(&deep_type).contains("maximum nesting depth"));
    let deep_selector = format!("SELECT {}a{} FROM t", "(".repeat(500), ")".repeat(500));
    assert!(parse_error(&deep_selector).contains("maximum nesting depth"));
    let deep_negation = format!("SELECT {}a FROM t", "-".repeat(1000).replace("--", "- -"));
    assert!(parse_statement(&deep_negation).is_err());
    let deep_relation = format!(
        "SELECT * FROM t WHERE {}a = 1{}",
        "(".repeat(300),
        ")".repeat(300)
    );
    assert!(parse_error(&deep_relation).contains("maximum nesting depth"));
    // Moderate nesting is fine.
    verified_stmt(&format!(
        "SELECT * FROM t WHERE a = {}1{}",
        "[".repeat(20),
        "]".repeat(20)
    ));
}

#[test]
fn oversized_statements_are_rejected() {
    let huge = format!(
        "SELECT * FROM t WHERE a = '{}'",
        "x".repeat(super::MAX_STATEMENT_BYTES)
    );
    assert!(parse_error(&huge).contains("exceeds the maximum"));
}

#[test]
fn token_count_is_bounded() {
    let many = format!(
        "SELECT * FROM t WHERE a IN ({}1)",
        "1,".repeat(super::lexer::MAX_TOKENS)
    );
    assert!(parse_error(&many).contains("tokens"));
}

#[test]
fn long_flat_statements_parse() {
    let values: Vec<String> = (0..5000).map(|i| i.to_string()).collect();
    let text = format!("SELECT * FROM t WHERE a IN ({})", values.join(", "));
    assert!(parse_statement(&text).is_ok());
    let inserts = "INSERT INTO t (a) VALUES (?);".repeat(2000);
    let batch = parse_statement(&format!("BEGIN BATCH {inserts} APPLY BATCH"));
    assert_eq!(batch.map(|b| b.bind_marker_count()), Ok(2000));
}

// ---------------------------------------------------------------------------------------------
// Fuzzing: random and mutated input never panics; whatever parses round-trips
// ---------------------------------------------------------------------------------------------

/// The fuzz seed: `STRATA_CQL_SEED` (decimal or 0x-hex) when set, to replay or explore, else
/// the fixed default.
pub(super) fn seed_from_env(default: u64) -> u64 {
    crate::test_rng::seed_from_env("STRATA_CQL_SEED", default)
}

pub(super) use crate::test_rng::Rng;

/// Statements to mutate: one of each family.
const SEEDS: &[&str] = &[
    "SELECT JSON DISTINCT a, b AS x, count(*), writetime(c), m['k'][1..2], (int) ?, -a * (b + 1) FROM ks.t AT SNAPSHOT 'x' WHERE a = 1 AND (b, c) > (1, 2) AND token(a) > ? AND d IN (1, 2) AND m CONTAINS KEY 'k' GROUP BY a ORDER BY b DESC PER PARTITION LIMIT 1 LIMIT ? ALLOW FILTERING",
    "INSERT INTO t (a, b, c) VALUES (1, [1, {2: 3}], {f: (1, 'x')}) IF NOT EXISTS USING TTL 1 AND TIMESTAMP :ts",
    "UPDATE t USING TTL 5 SET a = a + 1, l = [1] + l, m['k'] = 0xCAFE, u.f = 12h30m WHERE k = 123e4567-e89b-12d3-a456-426614174000 IF a = 1 AND m['x'] IN (1, 2)",
    "DELETE a, m[1], u.f FROM t USING TIMESTAMP 1 WHERE k = 1 IF EXISTS",
    "BEGIN UNLOGGED BATCH INSERT INTO t (a) VALUES (?); UPDATE t SET a = -1.5e3 WHERE k = NaN; APPLY BATCH",
    "CREATE TABLE IF NOT EXISTS ks.t (a int, b frozen<map<text, list<int>>>, c vector<float, 3> STATIC, PRIMARY KEY ((a, b), c)) WITH CLUSTERING ORDER BY (c DESC) AND compaction = {'class': 'x'} AND COMPACT STORAGE",
    "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1} AND durable_writes = false",
    "ALTER TABLE t RENAME IF EXISTS a TO b AND c TO d",
    "CREATE CUSTOM INDEX IF NOT EXISTS i ON t (KEYS(m)) USING 'sai' WITH OPTIONS = {'a': 'b'}",
    "CREATE MATERIALIZED VIEW mv AS SELECT a FROM t WHERE a IS NOT NULL PRIMARY KEY ((a), b) WITH comment = 'x'",
    "CREATE OR REPLACE FUNCTION f(a int) CALLED ON NULL INPUT RETURNS int LANGUAGE java AS $$ return a; $$",
    "CREATE AGGREGATE a(int) SFUNC s STYPE int FINALFUNC f INITCOND [1, 2]",
    "DESCRIBE KEYSPACE ks WITH INTERNALS",
    "CREATE TABLE ks.new CLONE ks.src AT SNAPSHOT 'TAG'",
    "RESTORE KEYSPACE ks FROM SNAPSHOT 'TAG'",
    "ALTER TYPE ks.u ADD IF NOT EXISTS f frozen<tuple<int, text>>",
];

/// Fragments inserted by the mutator: keywords, punctuation and literal shapes.
const FRAGMENTS: &[&str] = &[
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ";",
    ":",
    ".",
    "..",
    "=",
    "<",
    ">=",
    "!=",
    "+",
    "-",
    "*",
    "/",
    "%",
    "?",
    "+=",
    "'s'",
    "$$",
    "\"",
    "'",
    "1",
    "-1",
    "1.5",
    "0x",
    "NaN",
    "null",
    "true",
    "SELECT",
    "FROM",
    "WHERE",
    "AND",
    "IN",
    "IF",
    "NOT",
    "EXISTS",
    "KEY",
    "PRIMARY",
    "TOKEN",
    "(int)",
    "frozen<",
    "map<",
    ">",
    "--",
    "/*",
    "*/",
    "\n",
    " ",
    "AT SNAPSHOT",
    "CLONE",
    "é",
    "\u{0}",
    "1h",
    "P1D",
    "a",
    "\"Q\"",
];

/// Parses `text`; on success the printed form must parse back to the same tree.
fn check_no_panic_and_round_trip(text: &str, seed: u64) {
    if let Ok(statement) = parse_statement(text) {
        let printed = statement.to_string();
        let reparsed = parse_statement(&printed);
        assert_eq!(
            reparsed.as_ref(),
            Ok(&statement),
            "seed {seed}: {text}\n  printed as {printed}"
        );
    }
}

#[test]
fn fuzz_mutated_statements() {
    let seed = seed_from_env(0x5EED_CAFE);
    println!("fuzz_mutated_statements seed = {seed:#x}");
    let mut rng = Rng(seed);
    for _ in 0..10_000 {
        let base = SEEDS[rng.below(SEEDS.len())];
        let mut tokens: Vec<String> = base.split(' ').map(str::to_string).collect();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(tokens.len() + 1);
            match rng.below(4) {
                0 if at < tokens.len() => {
                    tokens.remove(at);
                }
                1 => tokens.insert(at, FRAGMENTS[rng.below(FRAGMENTS.len())].to_string()),
                2 if at < tokens.len() => {
                    tokens[at] = FRAGMENTS[rng.below(FRAGMENTS.len())].to_string()
                }
                _ if at < tokens.len() => {
                    let other = rng.below(tokens.len());
                    tokens.swap(at, other);
                }
                _ => {}
            }
        }
        check_no_panic_and_round_trip(&tokens.join(" "), seed);
    }
}

#[test]
fn fuzz_random_characters() {
    let seed = seed_from_env(0xF00D);
    println!("fuzz_random_characters seed = {seed:#x}");
    let mut rng = Rng(seed);
    let alphabet: Vec<char> = "abcXYZ019 _-+*/%=<>!?:;.,()[]{}'\"$\n\té\u{0}µ"
        .chars()
        .collect();
    for _ in 0..10_000 {
        let len = rng.below(40);
        let text: String = (0..len)
            .map(|_| alphabet[rng.below(alphabet.len())])
            .collect();
        check_no_panic_and_round_trip(&text, seed);
        let prefixed = format!("SELECT * FROM t WHERE a = {text}");
        check_no_panic_and_round_trip(&prefixed, seed);
    }
}

#[test]
fn every_prefix_of_valid_statements_is_handled() {
    for seed_statement in SEEDS {
        for (end, _) in seed_statement.char_indices() {
            check_no_panic_and_round_trip(&seed_statement[..end], 0);
        }
        verified_as(
            seed_statement,
            &parse_statement(seed_statement)
                .map(|s| s.to_string())
                .unwrap_or_default(),
        );
    }
}
