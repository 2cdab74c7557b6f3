"""Static columns: writes of only statics, partitions with statics but no rows, DISTINCT,
deletion of a static, statics with row deletions."""

import pytest

from driver_helpers import create_keyspace, expect_invalid


@pytest.fixture(scope="module")
def ks(session):
    create_keyspace(session, "dm_static")
    session.execute("CREATE TABLE dm_static.t (p int, c int, s text static, s2 int static, v int, "
                    "PRIMARY KEY (p, c))")
    yield "dm_static"
    session.execute("DROP KEYSPACE IF EXISTS dm_static")


def rows(session, cql, params=None):
    return [tuple(r) for r in session.execute(cql, params)]


def test_static_only_partition_reads_as_one_row_with_nulls(session, ks):
    session.execute("INSERT INTO dm_static.t (p, s) VALUES (1, 'only')")
    assert rows(session, "SELECT * FROM dm_static.t WHERE p = 1") == [(1, None, "only", None, None)]
    assert rows(session, "SELECT p, s, v FROM dm_static.t WHERE p = 1") == [(1, "only", None)]
    session.execute("UPDATE dm_static.t SET s2 = 5 WHERE p = 1")
    assert rows(session, "SELECT s, s2 FROM dm_static.t WHERE p = 1") == [("only", 5)]


def test_rows_share_the_static(session, ks):
    session.execute("INSERT INTO dm_static.t (p, c, v, s) VALUES (2, 1, 10, 'a')")
    session.execute("INSERT INTO dm_static.t (p, c, v) VALUES (2, 2, 20)")
    session.execute("UPDATE dm_static.t SET s = 'b' WHERE p = 2")
    assert rows(session, "SELECT c, s, v FROM dm_static.t WHERE p = 2") == [(1, "b", 10), (2, "b", 20)]
    assert rows(session, "SELECT c, s FROM dm_static.t WHERE p = 2 AND c = 2") == [(2, "b")]


def test_distinct_with_statics(session, ks):
    session.execute("INSERT INTO dm_static.t (p, c, v, s) VALUES (3, 1, 1, 'x')")
    session.execute("INSERT INTO dm_static.t (p, c, v) VALUES (3, 2, 2)")
    got = dict(rows(session, "SELECT DISTINCT p, s FROM dm_static.t WHERE p IN (1, 3)"))
    assert got == {1: "only", 3: "x"}


def test_delete_static_and_rows(session, ks):
    session.execute("INSERT INTO dm_static.t (p, c, v, s) VALUES (4, 1, 1, 'gone')")
    session.execute("DELETE s FROM dm_static.t WHERE p = 4")
    assert rows(session, "SELECT c, s, v FROM dm_static.t WHERE p = 4") == [(1, None, 1)]
    session.execute("UPDATE dm_static.t SET s = 'back' WHERE p = 4")
    session.execute("DELETE FROM dm_static.t WHERE p = 4 AND c = 1")
    assert rows(session, "SELECT p, c, s, v FROM dm_static.t WHERE p = 4") == [(4, None, "back", None)]
    session.execute("DELETE FROM dm_static.t WHERE p = 4")
    assert rows(session, "SELECT * FROM dm_static.t WHERE p = 4") == []


def test_static_errors(session, ks):
    expect_invalid(session, "UPDATE dm_static.t SET v = 1 WHERE p = 5",
                   "Some clustering keys are missing: c")
    expect_invalid(session, "CREATE TABLE dm_static.bad (p int PRIMARY KEY, s int static)",
                   "Static columns are only useful (and thus allowed) if the table has at least one clustering column")


def test_select_star_lists_statics_before_regular_columns(session, ks):
    session.execute("CREATE TABLE dm_static.order_t (p int, c int, a int, z int static, PRIMARY KEY (p, c))")
    session.execute("INSERT INTO dm_static.order_t (p, c, a, z) VALUES (1, 2, 3, 4)")
    rs = session.execute("SELECT * FROM dm_static.order_t")
    assert rs.column_names == ["p", "c", "z", "a"]
    assert tuple(rs.one()) == (1, 2, 4, 3)
