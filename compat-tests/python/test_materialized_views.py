"""Materialized views: CREATE/DROP MATERIALIZED VIEW with Cassandra's restrictions and
messages, system_schema.views, DESCRIBE, reads from the view, and the view kept in sync
with every insert, update and delete of the base table."""

import pytest
from cassandra import InvalidRequest

from driver_helpers import create_keyspace, expect_invalid

KS = "compat_mv"


@pytest.fixture(scope="module")
def mv_ks(session):
    create_keyspace(session, KS)
    session.execute(f"CREATE TABLE {KS}.t (k int, c int, v int, w text, PRIMARY KEY (k, c))")
    session.execute(f"INSERT INTO {KS}.t (k, c, v, w) VALUES (0, 0, 100, 'old')")
    session.execute(f"CREATE MATERIALIZED VIEW {KS}.by_v AS SELECT * FROM {KS}.t "
                    "WHERE v IS NOT NULL AND k IS NOT NULL AND c IS NOT NULL PRIMARY KEY (v, k, c)")
    yield KS
    session.execute(f"DROP KEYSPACE IF EXISTS {KS}")


def view_rows(session):
    return sorted(tuple(r) for r in session.execute(f"SELECT v, k, c, w FROM {KS}.by_v"))


def test_existing_rows_are_in_the_view(session, mv_ks):
    assert session.execute(f"SELECT k, c, w FROM {KS}.by_v WHERE v = 100").one() == (0, 0, "old")


def test_view_follows_inserts_updates_and_deletes(session, mv_ks):
    session.execute(f"INSERT INTO {KS}.t (k, c, v, w) VALUES (1, 1, 10, 'a')")
    assert (10, 1, 1, "a") in view_rows(session)
    session.execute(f"UPDATE {KS}.t SET w = 'b' WHERE k = 1 AND c = 1")
    assert (10, 1, 1, "b") in view_rows(session)
    # Changing the view key column moves the view row.
    session.execute(f"UPDATE {KS}.t SET v = 11 WHERE k = 1 AND c = 1")
    rows = view_rows(session)
    assert (11, 1, 1, "b") in rows and not any(r[0] == 10 for r in rows)
    # A null view key column removes the view row.
    session.execute(f"DELETE v FROM {KS}.t WHERE k = 1 AND c = 1")
    assert not any(r[1] == 1 for r in view_rows(session))
    session.execute(f"UPDATE {KS}.t SET v = 12 WHERE k = 1 AND c = 1")
    assert (12, 1, 1, "b") in view_rows(session)
    session.execute(f"DELETE FROM {KS}.t WHERE k = 1 AND c = 1")
    assert not any(r[1] == 1 for r in view_rows(session))


def test_partition_and_range_deletes(session, mv_ks):
    for c in range(3):
        session.execute(f"INSERT INTO {KS}.t (k, c, v) VALUES (2, {c}, {20 + c})")
    session.execute(f"DELETE FROM {KS}.t WHERE k = 2 AND c >= 1")
    assert [r[2] for r in view_rows(session) if r[1] == 2] == [0]
    session.execute(f"DELETE FROM {KS}.t WHERE k = 2")
    assert not any(r[1] == 2 for r in view_rows(session))


def test_system_schema_views(session, mv_ks):
    row = session.execute("SELECT base_table_name, include_all_columns, where_clause FROM system_schema.views "
                          f"WHERE keyspace_name = '{KS}' AND view_name = 'by_v'").one()
    assert row.base_table_name == "t" and row.include_all_columns is True
    assert row.where_clause == "v IS NOT NULL AND k IS NOT NULL AND c IS NOT NULL"
    tables = [r.table_name for r in session.execute(
        f"SELECT table_name FROM system_schema.tables WHERE keyspace_name = '{KS}'")]
    assert tables == ["t"]
    columns = {r.column_name: r.kind for r in session.execute(
        f"SELECT column_name, kind FROM system_schema.columns WHERE keyspace_name = '{KS}' AND table_name = 'by_v'")}
    assert columns == {"v": "partition_key", "k": "clustering", "c": "clustering", "w": "regular"}


def test_describe_materialized_view(session, mv_ks):
    row = session.execute(f"DESCRIBE MATERIALIZED VIEW {KS}.by_v").one()
    assert row.type == "materialized_view"
    assert row.create_statement.startswith(f"CREATE MATERIALIZED VIEW {KS}.by_v AS\n    SELECT *\n    FROM {KS}.t\n")


def test_direct_writes_to_a_view_are_rejected(session, mv_ks):
    expect_invalid(session, f"INSERT INTO {KS}.by_v (v, k, c) VALUES (1, 2, 3)", "Cannot directly modify a materialized view")


BASE = f"FROM {KS}.t WHERE v IS NOT NULL AND k IS NOT NULL AND c IS NOT NULL"


@pytest.mark.parametrize("cql,message", [
    (f"CREATE MATERIALIZED VIEW {KS}.bad AS SELECT * {BASE} AND w IS NOT NULL PRIMARY KEY ((v, w), k, c)",
     "Cannot include more than one non-primary key column 'w' in materialized view primary key"),
    (f"CREATE MATERIALIZED VIEW {KS}.bad AS SELECT * FROM {KS}.t WHERE k IS NOT NULL AND c IS NOT NULL "
     "PRIMARY KEY (v, k, c)",
     "Primary key column 'v' is required to be filtered by 'IS NOT NULL'"),
    (f"CREATE MATERIALIZED VIEW {KS}.bad AS SELECT * {BASE} PRIMARY KEY (v, k)",
     "Cannot create Materialized View bad without primary key columns from base t (c)"),
    (f"CREATE MATERIALIZED VIEW {KS}.bad AS SELECT v AS x {BASE} PRIMARY KEY (v, k, c)",
     "Cannot use alias when defining a materialized view"),
])
def test_invalid_view_definitions(session, mv_ks, cql, message):
    expect_invalid(session, cql, message)


def test_create_if_not_exists_and_drop(session, mv_ks):
    session.execute(f"CREATE MATERIALIZED VIEW {KS}.by_w AS SELECT k, c, w FROM {KS}.t "
                    "WHERE w IS NOT NULL AND k IS NOT NULL AND c IS NOT NULL PRIMARY KEY (w, k, c)")
    session.execute(f"CREATE MATERIALIZED VIEW IF NOT EXISTS {KS}.by_w AS SELECT k, c, w FROM {KS}.t "
                    "WHERE w IS NOT NULL AND k IS NOT NULL AND c IS NOT NULL PRIMARY KEY (w, k, c)")
    session.execute(f"INSERT INTO {KS}.t (k, c, w) VALUES (5, 5, 'five')")
    assert session.execute(f"SELECT k FROM {KS}.by_w WHERE w = 'five'").one().k == 5
    session.execute(f"DROP MATERIALIZED VIEW {KS}.by_w")
    with pytest.raises(InvalidRequest):
        session.execute(f"SELECT * FROM {KS}.by_w")
    session.execute(f"DROP MATERIALIZED VIEW IF EXISTS {KS}.by_w")


def test_conditional_writes_maintain_the_view(session, mv_ks):
    assert session.execute(f"INSERT INTO {KS}.t (k, c, v) VALUES (7, 7, 70) IF NOT EXISTS").one()[0] is True
    assert session.execute(f"UPDATE {KS}.t SET v = 71 WHERE k = 7 AND c = 7 IF v = 70").one()[0] is True
    assert [r[0] for r in view_rows(session) if r[1] == 7] == [71]
