"""Non-frozen collections are multi-cell: element operations, overwrite tombstones,
read-before-write list operations and TTL per element, with Cassandra's errors."""

import time

import pytest

from driver_helpers import create_keyspace, expect_invalid


@pytest.fixture(scope="module")
def ks(session):
    create_keyspace(session, "dm_coll")
    session.execute(
        "CREATE TABLE dm_coll.t (k int, c int, l list<int>, s set<text>, m map<text, int>, "
        "fl frozen<list<int>>, nested map<int, frozen<list<text>>>, st set<int> static, "
        "PRIMARY KEY (k, c))")
    yield "dm_coll"
    session.execute("DROP KEYSPACE IF EXISTS dm_coll")


def row(session, k, c=0):
    return session.execute("SELECT * FROM dm_coll.t WHERE k = %s AND c = %s", (k, c)).one()


def test_append_prepend_and_overwrite(session, ks):
    session.execute("INSERT INTO dm_coll.t (k, c, l) VALUES (1, 0, [1, 2])")
    session.execute("UPDATE dm_coll.t SET l = l + [3, 4] WHERE k = 1 AND c = 0")
    session.execute("UPDATE dm_coll.t SET l = [-1, 0] + l WHERE k = 1 AND c = 0")
    assert row(session, 1).l == [-1, 0, 1, 2, 3, 4]
    session.execute("UPDATE dm_coll.t SET l = [9] WHERE k = 1 AND c = 0")
    assert row(session, 1).l == [9]
    session.execute("UPDATE dm_coll.t SET l = l - [9] WHERE k = 1 AND c = 0")
    assert row(session, 1) is not None and row(session, 1).l is None


def test_list_index_operations(session, ks):
    session.execute("INSERT INTO dm_coll.t (k, c, l) VALUES (2, 0, [10, 20, 30, 20])")
    session.execute("UPDATE dm_coll.t SET l[1] = 21 WHERE k = 2 AND c = 0")
    session.execute("DELETE l[0] FROM dm_coll.t WHERE k = 2 AND c = 0")
    assert row(session, 2).l == [21, 30, 20]
    session.execute("UPDATE dm_coll.t SET l = l - [20] WHERE k = 2 AND c = 0")
    assert row(session, 2).l == [21, 30]
    expect_invalid(session, "UPDATE dm_coll.t SET l[5] = 1 WHERE k = 2 AND c = 0",
                   "List index 5 out of bound, list has size 2")
    expect_invalid(session, "UPDATE dm_coll.t SET l[0] = 1 WHERE k = 99 AND c = 0",
                   "Attempted to set an element on a list which is null")


def test_set_and_map_operations(session, ks):
    session.execute("INSERT INTO dm_coll.t (k, c, s, m) VALUES (3, 0, {'b'}, {'x': 1})")
    session.execute("UPDATE dm_coll.t SET s = s + {'a', 'c'}, m = m + {'y': 2}, m['z'] = 3 WHERE k = 3 AND c = 0")
    session.execute("UPDATE dm_coll.t SET s = s - {'b'}, m = m - {'x'} WHERE k = 3 AND c = 0")
    r = row(session, 3)
    assert r.s == {"a", "c"} and list(r.s) == ["a", "c"]
    assert dict(r.m) == {"y": 2, "z": 3}
    session.execute("DELETE m['y'], s['a'] FROM dm_coll.t WHERE k = 3 AND c = 0")
    r = row(session, 3)
    assert (r.s, dict(r.m)) == ({"c"}, {"z": 3})
    session.execute("UPDATE dm_coll.t SET m['z'] = null WHERE k = 3 AND c = 0")
    assert row(session, 3).m is None


def test_whole_collection_delete_and_timestamps(session, ks):
    session.execute("INSERT INTO dm_coll.t (k, c, s) VALUES (4, 0, {'a'}) USING TIMESTAMP 100")
    session.execute("UPDATE dm_coll.t USING TIMESTAMP 300 SET s = s + {'b'} WHERE k = 4 AND c = 0")
    session.execute("DELETE s FROM dm_coll.t USING TIMESTAMP 200 WHERE k = 4 AND c = 0")
    assert row(session, 4).s == {"b"}, "a deletion only shadows older elements"
    session.execute("UPDATE dm_coll.t USING TIMESTAMP 150 SET s = {'old'} WHERE k = 4 AND c = 0")
    assert row(session, 4).s == {"b"}


def test_nested_frozen_and_frozen_columns(session, ks):
    session.execute("INSERT INTO dm_coll.t (k, c, fl, nested) VALUES (5, 0, [3, 1], {1: ['a', 'b']})")
    session.execute("UPDATE dm_coll.t SET nested[2] = ['c'] WHERE k = 5 AND c = 0")
    r = row(session, 5)
    assert r.fl == [3, 1]
    assert dict(r.nested) == {1: ["a", "b"], 2: ["c"]}
    expect_invalid(session, "UPDATE dm_coll.t SET fl = fl + [1] WHERE k = 5 AND c = 0",
                   "Invalid operation (fl = fl + [1]) for frozen collection column fl")
    expect_invalid(session, "UPDATE dm_coll.t SET c = c + 1 WHERE k = 5 AND c = 0",
                   "PRIMARY KEY part c found in SET part")


def test_static_collection(session, ks):
    session.execute("UPDATE dm_coll.t SET st = st + {1, 2} WHERE k = 6")
    session.execute("INSERT INTO dm_coll.t (k, c) VALUES (6, 1)")
    session.execute("UPDATE dm_coll.t SET st = st - {1} WHERE k = 6")
    rows = list(session.execute("SELECT c, st FROM dm_coll.t WHERE k = 6"))
    assert [(r.c, r.st) for r in rows] == [(1, {2})]


def test_element_ttl(session, ks):
    session.execute("INSERT INTO dm_coll.t (k, c, s) VALUES (7, 0, {'keep'})")
    session.execute("UPDATE dm_coll.t USING TTL 1 SET s = s + {'gone'} WHERE k = 7 AND c = 0")
    assert row(session, 7).s == {"keep", "gone"}
    time.sleep(2.2)
    assert row(session, 7).s == {"keep"}


def test_prepared_element_operations(session, ks):
    add = session.prepare("UPDATE dm_coll.t SET m[?] = ?, l = l + ? WHERE k = ? AND c = 0")
    session.execute(add, ("p", 5, [7], 8))
    session.execute(add, ("q", 6, [8], 8))
    r = row(session, 8)
    assert (dict(r.m), r.l) == ({"p": 5, "q": 6}, [7, 8])


def test_errors(session, ks):
    expect_invalid(session, "UPDATE dm_coll.t SET m = m + 1 WHERE k = 1 AND c = 0",
                   'Invalid INTEGER constant (1) for "m" of type map<text, int>')
    expect_invalid(session, "DELETE fl[0] FROM dm_coll.t WHERE k = 1 AND c = 0",
                   "Invalid deletion operation for frozen collection column fl")
    expect_invalid(session, "UPDATE dm_coll.t SET s = [1] + s WHERE k = 1 AND c = 0",
                   "Invalid operation (s = [1] + s) for non list column s")


def test_element_and_slice_selection(session, ks):
    session.execute("INSERT INTO dm_coll.t (k, c, s, m) VALUES (9, 0, {'a', 'b', 'c', 'd'}, {'x': 1, 'y': 2, 'z': 3})")
    r = session.execute("SELECT m['y'], m['nope'], s['b'], s['b'..'c'], m['y'..] FROM dm_coll.t "
                        "WHERE k = 9 AND c = 0").one()
    assert list(r) == [2, None, "b", {"b", "c"}, {"y": 2, "z": 3}]
    rs = session.execute("SELECT m['y'] FROM dm_coll.t WHERE k = 9 AND c = 0")
    assert rs.column_names == ["m['y']"]
    prepared = session.prepare("SELECT m[?] FROM dm_coll.t WHERE k = 9 AND c = 0")
    assert session.execute(prepared, ("z",)).one()[0] == 3
    expect_invalid(session, "SELECT l[0] FROM dm_coll.t WHERE k = 9 AND c = 0",
                   "Element selection is only allowed on sets and maps, but l is a list")


def test_writetime_and_ttl_of_multi_cell_columns(session, ks):
    # Cassandra 5.0 lists one writetime/ttl per element. (Elements without a TTL are
    # null entries, which the python driver cannot decode, so every element has one.)
    session.execute("INSERT INTO dm_coll.t (k, c, s) VALUES (10, 0, {'a'}) USING TIMESTAMP 100 AND TTL 2000")
    session.execute("UPDATE dm_coll.t USING TIMESTAMP 200 AND TTL 1000 SET s = s + {'b'} WHERE k = 10 AND c = 0")
    r = session.execute("SELECT writetime(s), maxwritetime(s), ttl(s), writetime(fl) FROM dm_coll.t "
                        "WHERE k = 10 AND c = 0").one()
    assert r[0] == [100, 200]
    assert r[1] == 200
    assert 1990 <= r[2][0] <= 2000 and 990 <= r[2][1] <= 1000
    assert r[3] is None
