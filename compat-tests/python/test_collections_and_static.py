"""Collections and static columns: common in driver workloads though not native types."""

import pytest

from driver_helpers import create_keyspace


@pytest.fixture(scope="module")
def coll_ks(session):
    create_keyspace(session, "compat_coll")
    session.execute(
        "CREATE TABLE compat_coll.c (k int PRIMARY KEY, l list<int>, s set<text>, "
        "m map<text, int>, f frozen<list<text>>)")
    session.execute(
        "CREATE TABLE compat_coll.st (p int, c int, shared text static, v int, "
        "PRIMARY KEY (p, c))")
    yield "compat_coll"
    session.execute("DROP KEYSPACE IF EXISTS compat_coll")


def fetch(session, k):
    return session.execute("SELECT l, s, m, f FROM compat_coll.c WHERE k = %s", (k,)).one()


def test_collection_literals(session, coll_ks):
    session.execute("INSERT INTO compat_coll.c (k, l, s, m, f) VALUES "
                    "(1, [3, 1, 3], {'b', 'a'}, {'x': 1, 'y': 2}, ['p', 'q'])")
    row = fetch(session, 1)
    assert row.l == [3, 1, 3]
    assert row.s == {"a", "b"}
    assert sorted(row.s) == list(row.s), "set elements come back sorted"
    assert dict(row.m) == {"x": 1, "y": 2}
    assert row.f == ["p", "q"]


def test_collections_bound_in_prepared_statement(session, coll_ks):
    insert = session.prepare("INSERT INTO compat_coll.c (k, l, s, m, f) VALUES (?, ?, ?, ?, ?)")
    session.execute(insert, (2, [5, 6], {"z"}, {"k": 9}, ["only"]))
    row = fetch(session, 2)
    assert (row.l, row.s, dict(row.m), row.f) == ([5, 6], {"z"}, {"k": 9}, ["only"])


def test_collection_updates(session, coll_ks):
    session.execute("INSERT INTO compat_coll.c (k, l, s, m) VALUES (3, [1], {'a'}, {'a': 1})")
    session.execute("UPDATE compat_coll.c SET l = l + [2] WHERE k = 3")
    session.execute("UPDATE compat_coll.c SET l = [0] + l WHERE k = 3")
    session.execute("UPDATE compat_coll.c SET s = s + {'b', 'c'}, m['b'] = 2 WHERE k = 3")
    session.execute("UPDATE compat_coll.c SET s = s - {'a'} WHERE k = 3")
    session.execute("DELETE m['a'] FROM compat_coll.c WHERE k = 3")
    row = fetch(session, 3)
    assert row.l == [0, 1, 2]
    assert row.s == {"b", "c"}
    assert dict(row.m) == {"b": 2}


def test_empty_collection_reads_as_null(session, coll_ks):
    session.execute("INSERT INTO compat_coll.c (k, l, s) VALUES (4, [], {})")
    row = fetch(session, 4)
    assert (row.l, row.s, row.m) == (None, None, None)


def test_static_column_shared_by_partition(session, coll_ks):
    session.execute("INSERT INTO compat_coll.st (p, c, shared, v) VALUES (1, 1, 'first', 10)")
    session.execute("INSERT INTO compat_coll.st (p, c, v) VALUES (1, 2, 20)")
    session.execute("UPDATE compat_coll.st SET shared = 'updated' WHERE p = 1")
    rows = list(session.execute("SELECT c, shared, v FROM compat_coll.st WHERE p = 1"))
    assert [(r.c, r.shared, r.v) for r in rows] == [(1, "updated", 10), (2, "updated", 20)]
