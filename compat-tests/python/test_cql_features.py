"""CQL features applications use every day beyond the core workload: quoted identifiers, unset
values, bound IN lists, client timestamps, table TTLs, aggregates, functions, JSON,
lightweight transactions, tuples and UDTs, counters, secondary indexes."""

import datetime
import uuid

import pytest
from cassandra.query import UNSET_VALUE

from driver_helpers import connect, create_keyspace


@pytest.fixture(scope="module")
def ks(session):
    create_keyspace(session, "compat_feat")
    session.execute("CREATE TABLE compat_feat.kv (k int PRIMARY KEY, a text, b text)")
    session.execute("CREATE TABLE compat_feat.nums (p int, c int, v int, PRIMARY KEY (p, c))")
    insert = session.prepare("INSERT INTO compat_feat.nums (p, c, v) VALUES (?, ?, ?)")
    for p, c, v in [(1, 1, 1), (1, 2, 2), (1, 3, 4), (2, 1, 10), (2, 2, 20)]:
        session.execute(insert, (p, c, v))
    yield "compat_feat"
    session.execute("DROP KEYSPACE IF EXISTS compat_feat")


def test_quoted_identifiers_keep_their_case(session, ks):
    session.execute(f'CREATE TABLE {ks}."MixedCase" ("Key" int PRIMARY KEY, "Value" text, '
                    'plain text)')
    session.execute(f'INSERT INTO {ks}."MixedCase" ("Key", "Value", plain) VALUES (1, \'v\', \'p\')')
    result = session.execute(f'SELECT "Value", plain FROM {ks}."MixedCase" WHERE "Key" = 1')
    assert result.column_names == ["Value", "plain"]
    assert tuple(result.one()) == ("v", "p")
    assert "MixedCase" in session.cluster.metadata.keyspaces[ks].tables


def test_unset_values_leave_columns_untouched(session, ks):
    insert = session.prepare(f"INSERT INTO {ks}.kv (k, a, b) VALUES (?, ?, ?)")
    session.execute(insert, (1, "a1", "b1"))
    session.execute(insert, (1, "a2", UNSET_VALUE))
    row = session.execute(f"SELECT a, b FROM {ks}.kv WHERE k = 1").one()
    assert (row.a, row.b) == ("a2", "b1")


def test_bound_in_list(session, ks):
    select = session.prepare(f"SELECT c, v FROM {ks}.nums WHERE p = ? AND c IN ?")
    got = [(r.c, r.v) for r in session.execute(select, (1, [3, 1]))]
    assert got == [(1, 1), (3, 4)]


def test_client_side_timestamps_are_honoured(strata, ks):
    session = connect(strata)
    try:
        session.cluster.timestamp_generator = lambda: 1_111_111_111
        session.execute(f"INSERT INTO {ks}.kv (k, a) VALUES (2, 'client ts')")
        writetime = session.execute(f"SELECT writetime(a) FROM {ks}.kv WHERE k = 2").one()[0]
        assert writetime == 1_111_111_111
    finally:
        session.cluster.shutdown()


def test_table_default_time_to_live(session, ks):
    session.execute(f"CREATE TABLE {ks}.ttl_default (k int PRIMARY KEY, v text) "
                    "WITH default_time_to_live = 1000")
    session.execute(f"INSERT INTO {ks}.ttl_default (k, v) VALUES (1, 'x')")
    ttl = session.execute(f"SELECT ttl(v) FROM {ks}.ttl_default WHERE k = 1").one()[0]
    assert 990 <= ttl <= 1000


def test_native_aggregates(session, ks):
    row = session.execute(
        f"SELECT min(v), max(v), sum(v), avg(v), count(v) FROM {ks}.nums WHERE p = 1").one()
    # avg over an int column is an int in Cassandra: (1 + 2 + 4) / 3 == 2
    assert tuple(row) == (1, 4, 7, 2, 3)


def test_group_by_partition_key(session, ks):
    got = {(r.p, r.total) for r in session.execute(
        f"SELECT p, sum(v) AS total FROM {ks}.nums GROUP BY p")}
    assert got == {(1, 7), (2, 30)}


def test_native_functions(session):
    row = session.execute(
        "SELECT now() AS n, uuid() AS u, toTimestamp(now()) AS t, "
        "blobAsText(textAsBlob('round')) AS b FROM system.local").one()
    assert isinstance(row.n, uuid.UUID) and row.n.version == 1
    assert isinstance(row.u, uuid.UUID) and row.u.version == 4
    assert abs(row.t - datetime.datetime.utcnow()) < datetime.timedelta(minutes=5)
    assert row.b == "round"


def test_cast(session, ks):
    row = session.execute(
        f"SELECT CAST(v AS text) AS t, CAST(v AS double) AS d FROM {ks}.nums "
        "WHERE p = 2 AND c = 1").one()
    assert (row.t, row.d) == ("10", 10.0)


def test_insert_json_and_select_json(session, ks):
    session.execute(f"INSERT INTO {ks}.kv JSON '{{\"k\": 5, \"a\": \"json\"}}'")
    result = session.execute(f"SELECT JSON k, a, b FROM {ks}.kv WHERE k = 5")
    assert result.column_names == ["[json]"]
    assert result.one()[0] == '{"k": 5, "a": "json", "b": null}'


def test_lightweight_transactions(session, ks):
    insert = f"INSERT INTO {ks}.kv (k, a) VALUES (10, 'first') IF NOT EXISTS"
    assert session.execute(insert).was_applied
    second = session.execute(f"INSERT INTO {ks}.kv (k, a) VALUES (10, 'second') IF NOT EXISTS")
    assert not second.was_applied
    assert second.one().a == "first"
    assert not session.execute(
        f"UPDATE {ks}.kv SET a = 'x' WHERE k = 10 IF a = 'wrong'").was_applied
    assert session.execute(f"UPDATE {ks}.kv SET a = 'third' WHERE k = 10 IF a = 'first'").was_applied
    assert session.execute(f"SELECT a FROM {ks}.kv WHERE k = 10").one().a == "third"


def test_tuples_and_user_defined_types(session, ks):
    session.execute(f"CREATE TYPE {ks}.address (street text, zip int)")
    session.execute(f"CREATE TABLE {ks}.people (k int PRIMARY KEY, home frozen<address>, "
                    "pair tuple<int, text>)")
    session.execute(f"INSERT INTO {ks}.people (k, home, pair) VALUES "
                    "(1, {street: 'Main St', zip: 12345}, (7, 'seven'))")
    row = session.execute(f"SELECT home, pair FROM {ks}.people WHERE k = 1").one()
    assert (row.home.street, row.home.zip) == ("Main St", 12345)
    assert row.pair == (7, "seven")
    user_type = session.cluster.metadata.keyspaces[ks].user_types["address"]
    assert (user_type.field_names, user_type.field_types) == (["street", "zip"], ["text", "int"])


def test_counters(session, ks):
    session.execute(f"CREATE TABLE {ks}.hits (page text PRIMARY KEY, n counter)")
    for _ in range(3):
        session.execute(f"UPDATE {ks}.hits SET n = n + 1 WHERE page = 'home'")
    session.execute(f"UPDATE {ks}.hits SET n = n - 5 WHERE page = 'home'")
    assert session.execute(f"SELECT n FROM {ks}.hits WHERE page = 'home'").one().n == -2


def test_secondary_index(session, ks):
    session.execute(f"CREATE TABLE {ks}.indexed (k int PRIMARY KEY, colour text)")
    session.execute(f"CREATE INDEX colour_idx ON {ks}.indexed (colour)")
    for k, colour in [(1, "red"), (2, "blue"), (3, "red")]:
        session.execute(f"INSERT INTO {ks}.indexed (k, colour) VALUES (%s, %s)", (k, colour))
    got = sorted(r.k for r in session.execute(
        f"SELECT k FROM {ks}.indexed WHERE colour = 'red'"))
    assert got == [1, 3]
