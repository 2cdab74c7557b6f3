"""Lightweight transactions on one node: IF NOT EXISTS, IF EXISTS, IF conditions, the
[applied] result columns as Cassandra returns them, conditional batches, SERIAL reads."""

import threading

import pytest
from cassandra import ConsistencyLevel
from cassandra.query import SimpleStatement

from driver_helpers import create_keyspace, expect_invalid


@pytest.fixture(scope="module")
def ks(session):
    create_keyspace(session, "dm_lwt")
    session.execute("CREATE TABLE dm_lwt.t (k int, c int, v int, w text, s int static, m map<text, int>, "
                    "PRIMARY KEY (k, c))")
    session.execute("CREATE TABLE dm_lwt.kv (k int PRIMARY KEY, v int)")
    yield "dm_lwt"
    session.execute("DROP KEYSPACE IF EXISTS dm_lwt")


def result(session, cql, params=None):
    rs = session.execute(cql, params)
    return rs.column_names, list(rs.current_rows[0]) if rs.current_rows else None, rs


def test_insert_if_not_exists(session, ks):
    names, values, _ = result(session, "INSERT INTO dm_lwt.t (k, c, v, w) VALUES (1, 1, 10, 'a') IF NOT EXISTS")
    assert (names, values) == (["[applied]"], [True])
    names, values, rs = result(session, "INSERT INTO dm_lwt.t (k, c, v, w) VALUES (1, 1, 11, 'b') IF NOT EXISTS")
    assert names == ["[applied]", "k", "c", "s", "m", "v", "w"], "statics come before regular columns"
    assert values == [False, 1, 1, None, None, 10, "a"]
    assert rs.was_applied is False


def test_update_if_conditions(session, ks):
    session.execute("INSERT INTO dm_lwt.t (k, c, v, w) VALUES (2, 1, 5, 'x')")
    names, values, _ = result(session, "UPDATE dm_lwt.t SET v = 6 WHERE k = 2 AND c = 1 IF v = 5 AND w = 'x'")
    assert (names, values) == (["[applied]"], [True])
    names, values, _ = result(session, "UPDATE dm_lwt.t SET v = 7 WHERE k = 2 AND c = 1 IF w = 'y' AND v > 1")
    assert (names, values) == (["[applied]", "w", "v"], [False, "x", 6])
    names, values, _ = result(session, "UPDATE dm_lwt.t SET v = 7 WHERE k = 2 AND c = 1 IF v IN (1, 6)")
    assert values == [True]
    assert session.execute("SELECT v FROM dm_lwt.t WHERE k = 2 AND c = 1").one().v == 7


def test_condition_on_missing_row_shows_only_applied(session, ks):
    names, values, _ = result(session, "UPDATE dm_lwt.t SET v = 1 WHERE k = 3 AND c = 1 IF v = 1")
    assert (names, values) == (["[applied]"], [False])
    names, values, _ = result(session, "UPDATE dm_lwt.t SET v = 1 WHERE k = 3 AND c = 1 IF EXISTS")
    assert (names, values) == (["[applied]"], [False])
    names, values, _ = result(session, "UPDATE dm_lwt.t SET v = 1 WHERE k = 3 AND c = 1 IF v = null")
    assert values == [True]


def test_delete_if_exists_and_collection_and_static_conditions(session, ks):
    session.execute("INSERT INTO dm_lwt.t (k, c, v, s, m) VALUES (4, 1, 1, 9, {'a': 1})")
    names, values, _ = result(session, "UPDATE dm_lwt.t SET s = 10 WHERE k = 4 IF s = 9")
    assert values == [True]
    names, values, _ = result(session, "UPDATE dm_lwt.t SET v = 2 WHERE k = 4 AND c = 1 IF m['a'] = 2")
    assert (names, values) == (["[applied]", "m"], [False, {"a": 1}])
    names, values, _ = result(session, "UPDATE dm_lwt.t SET v = 2 WHERE k = 4 AND c = 1 IF m = {'a': 1}")
    assert values == [True]
    names, values, _ = result(session, "DELETE FROM dm_lwt.t WHERE k = 4 AND c = 1 IF EXISTS")
    assert values == [True]
    assert session.execute("SELECT * FROM dm_lwt.t WHERE k = 4 AND c = 1").one() is None


def test_conditional_batch(session, ks):
    session.execute("INSERT INTO dm_lwt.t (k, c, v) VALUES (5, 1, 1)")
    names, values, _ = result(session, "BEGIN BATCH "
                              "UPDATE dm_lwt.t SET v = 2 WHERE k = 5 AND c = 1 IF v = 1; "
                              "INSERT INTO dm_lwt.t (k, c, v) VALUES (5, 2, 20); "
                              "APPLY BATCH")
    assert (names, values) == (["[applied]"], [True])
    names, values, _ = result(session, "BEGIN BATCH "
                              "UPDATE dm_lwt.t SET v = 3 WHERE k = 5 AND c = 1 IF v = 1; "
                              "INSERT INTO dm_lwt.t (k, c, v) VALUES (5, 3, 30); "
                              "APPLY BATCH")
    assert (names, values) == (["[applied]", "k", "c", "v"], [False, 5, 1, 2])
    assert session.execute("SELECT count(*) FROM dm_lwt.t WHERE k = 5").one()[0] == 2
    expect_invalid(session, "BEGIN BATCH UPDATE dm_lwt.t SET v = 3 WHERE k = 5 AND c = 1 IF v = 1; "
                            "INSERT INTO dm_lwt.t (k, c, v) VALUES (6, 3, 30); APPLY BATCH",
                   "Batch with conditions cannot span multiple partitions")


def test_serial_read_and_linearizable_increments(session, ks):
    session.execute("INSERT INTO dm_lwt.kv (k, v) VALUES (1, 0)")
    read = SimpleStatement("SELECT v FROM dm_lwt.kv WHERE k = 1", consistency_level=ConsistencyLevel.SERIAL)
    cas = session.prepare("UPDATE dm_lwt.kv SET v = ? WHERE k = 1 IF v = ?")
    successes = []

    def worker():
        done = 0
        while done < 10:
            current = session.execute(read).one().v
            if session.execute(cas, (current + 1, current)).was_applied:
                done += 1
        successes.append(done)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(successes) == 40
    assert session.execute(read).one().v == 40


def test_errors(session, ks):
    expect_invalid(session, "INSERT INTO dm_lwt.kv (k, v) VALUES (1, 1) IF NOT EXISTS USING TIMESTAMP 5",
                   "Cannot provide custom timestamp for conditional updates")
    expect_invalid(session, "UPDATE dm_lwt.kv SET v = 1 WHERE k IN (1, 2) IF v = 1",
                   "IN on the partition key is not supported with conditional updates")
    expect_invalid(session, "UPDATE dm_lwt.kv SET v = 1 WHERE k = 1 IF v > null",
                   'Invalid comparison with null for operator ">"')


def test_conditions_on_elements_fields_and_statics(session, ks):
    session.execute("CREATE TYPE IF NOT EXISTS dm_lwt.pt (x int, y int)")
    session.execute("CREATE TABLE IF NOT EXISTS dm_lwt.e (k int PRIMARY KEY, l list<int>, p frozen<pt>)")
    session.execute("INSERT INTO dm_lwt.e (k, l, p) VALUES (1, [5, 6], {x: 1, y: 2})")
    assert session.execute("UPDATE dm_lwt.e SET l[1] = 7 WHERE k = 1 IF l[0] = 5 AND p.y = 2").one()[0] is True
    names, values, _ = result(session, "UPDATE dm_lwt.e SET l[1] = 8 WHERE k = 1 IF l[1] = 6")
    assert (names, values) == (["[applied]", "l"], [False, [5, 7]])
    session.execute("INSERT INTO dm_lwt.t (k, s) VALUES (7, 1)")
    names, values, _ = result(session, "UPDATE dm_lwt.t SET s = 2 WHERE k = 7 IF EXISTS")
    assert values == [True]
    expect_invalid(session, "DELETE FROM dm_lwt.t WHERE k = 7 IF EXISTS",
                   "DELETE statements must restrict all PRIMARY KEY columns with equality relations in order to delete non static columns")
