"""Paging and write-resolution corner cases that drivers and tools (cqlsh COPY, Spark) hit."""

import pytest
from cassandra import InvalidRequest
from cassandra.concurrent import execute_concurrent_with_args
from cassandra.query import BatchStatement, BatchType, SimpleStatement

from driver_helpers import create_keyspace, expect_invalid

ROWS_PER_PARTITION = 1000


@pytest.fixture(scope="module")
def ks(session):
    create_keyspace(session, "compat_edge")
    session.execute("CREATE TABLE compat_edge.paged (p int, c int, v text, PRIMARY KEY (p, c))")
    insert = session.prepare("INSERT INTO compat_edge.paged (p, c, v) VALUES (?, ?, ?)")
    args = [(p, c, f"{p}:{c}") for p in range(3) for c in range(ROWS_PER_PARTITION)]
    results = execute_concurrent_with_args(session, insert, args, concurrency=64,
                                           raise_on_first_error=True)
    assert all(ok for ok, _ in results)
    yield "compat_edge"
    session.execute("DROP KEYSPACE IF EXISTS compat_edge")


def test_paging_in_reverse_clustering_order(session, ks):
    statement = SimpleStatement(f"SELECT c FROM {ks}.paged WHERE p = 1 ORDER BY c DESC",
                                fetch_size=100)
    assert [r.c for r in session.execute(statement)] == list(range(ROWS_PER_PARTITION))[::-1]


def test_limit_larger_than_a_page(session, ks):
    statement = SimpleStatement(f"SELECT p, c FROM {ks}.paged LIMIT 250", fetch_size=100)
    assert len(list(session.execute(statement))) == 250


def test_per_partition_limit_across_pages(session, ks):
    statement = SimpleStatement(f"SELECT p, c FROM {ks}.paged PER PARTITION LIMIT 150",
                                fetch_size=100)
    got = list(session.execute(statement))
    assert sorted((r.p, r.c) for r in got) == [(p, c) for p in range(3) for c in range(150)]


def test_resume_from_saved_paging_state(session, ks):
    statement = SimpleStatement(f"SELECT c FROM {ks}.paged WHERE p = 2", fetch_size=100)
    first = session.execute(statement)
    assert [r.c for r in first.current_rows] == list(range(100))
    assert first.paging_state, "a full first page must come with a paging state"
    resumed = session.execute(statement, paging_state=first.paging_state)
    assert [r.c for r in resumed.current_rows] == list(range(100, 200))


def test_token_range_scan_covers_everything_once(session, ks):
    """What cqlsh COPY TO and Spark do: split the ring and scan each range."""
    bounds = [-2**63, -2**62, 0, 2**62, 2**63 - 1]
    seen = []
    for low, high in zip(bounds, bounds[1:]):
        low_op = ">=" if low == -2**63 else ">"
        seen.extend((r.p, r.c) for r in session.execute(SimpleStatement(
            f"SELECT p, c FROM {ks}.paged WHERE token(p) {low_op} %s AND token(p) <= %s",
            fetch_size=500), (low, high)))
    assert sorted(seen) == [(p, c) for p in range(3) for c in range(ROWS_PER_PARTITION)]


def test_multi_column_clustering_slice(session, ks):
    session.execute(f"CREATE TABLE {ks}.grid (p int, c1 int, c2 int, PRIMARY KEY (p, c1, c2))")
    for c1 in range(3):
        for c2 in range(3):
            session.execute(f"INSERT INTO {ks}.grid (p, c1, c2) VALUES (0, %s, %s)", (c1, c2))
    got = [(r.c1, r.c2) for r in session.execute(
        f"SELECT c1, c2 FROM {ks}.grid WHERE p = 0 AND (c1, c2) > (1, 1)")]
    assert got == [(1, 2), (2, 0), (2, 1), (2, 2)]


def test_large_logged_batch_in_one_partition(session, ks):
    session.execute(f"CREATE TABLE {ks}.batched (p int, c int, PRIMARY KEY (p, c))")
    insert = session.prepare(f"INSERT INTO {ks}.batched (p, c) VALUES (?, ?)")
    batch = BatchStatement(batch_type=BatchType.LOGGED)
    for c in range(300):
        batch.add(insert, (1, c))
    session.execute(batch)
    assert session.execute(f"SELECT COUNT(*) FROM {ks}.batched WHERE p = 1").one().count == 300


def test_delete_with_older_timestamp_keeps_newer_data(session, ks):
    session.execute(f"CREATE TABLE {ks}.ts (p int, c int, v text, PRIMARY KEY (p, c))")
    session.execute(f"INSERT INTO {ks}.ts (p, c, v) VALUES (1, 1, 'new') USING TIMESTAMP 2000")
    session.execute(f"DELETE FROM {ks}.ts USING TIMESTAMP 1000 WHERE p = 1 AND c = 1")
    assert session.execute(f"SELECT v FROM {ks}.ts WHERE p = 1 AND c = 1").one().v == "new"
    session.execute(f"DELETE FROM {ks}.ts USING TIMESTAMP 3000 WHERE p = 1 AND c >= 0")
    session.execute(f"INSERT INTO {ks}.ts (p, c, v) VALUES (1, 2, 'after') USING TIMESTAMP 4000")
    got = [(r.c, r.v) for r in session.execute(f"SELECT c, v FROM {ks}.ts WHERE p = 1")]
    assert got == [(2, "after")], "a newer write inside a range tombstone must be visible"


def test_partition_with_only_static_columns(session, ks):
    session.execute(f"CREATE TABLE {ks}.st (p int, c int, s text static, v int, "
                    "PRIMARY KEY (p, c))")
    session.execute(f"INSERT INTO {ks}.st (p, s) VALUES (5, 'static only')")
    rows = list(session.execute(f"SELECT p, c, s, v FROM {ks}.st WHERE p = 5"))
    assert [tuple(r) for r in rows] == [(5, None, "static only", None)]


def test_empty_values_are_not_null(session, ks):
    session.execute(f"CREATE TABLE {ks}.empties (k int PRIMARY KEY, t text, b blob)")
    session.execute(f"INSERT INTO {ks}.empties (k, t, b) VALUES (1, '', 0x)")
    row = session.execute(f"SELECT t, b FROM {ks}.empties WHERE k = 1").one()
    assert (row.t, row.b) == ("", b"")


def test_partition_key_limits(session, ks):
    session.execute(f"CREATE TABLE {ks}.keys (k text PRIMARY KEY, v int)")
    expect_invalid(session, f"INSERT INTO {ks}.keys (k, v) VALUES ('', 1)",
                   "Key may not be empty")
    long_key = "k" * 65536
    expect_invalid(session, f"INSERT INTO {ks}.keys (k, v) VALUES ('{long_key}', 1)",
                   "Key length of 65536 is longer than maximum of 65535")


def test_null_clustering_value_is_rejected(session, ks):
    with pytest.raises(InvalidRequest):
        session.execute(f"INSERT INTO {ks}.paged (p, c, v) VALUES (9, null, 'x')")
