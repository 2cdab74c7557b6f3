"""BATCH across tables and partitions: logged and unlogged batches apply atomically on one
node, member timestamps, prepared members, and the errors Cassandra gives."""

import pytest
from cassandra.query import BatchStatement, BatchType

from driver_helpers import create_keyspace, expect_invalid


@pytest.fixture(scope="module")
def ks(session):
    create_keyspace(session, "dm_batch")
    session.execute("CREATE TABLE dm_batch.a (k int PRIMARY KEY, v int)")
    session.execute("CREATE TABLE dm_batch.b (k int, c int, v text, PRIMARY KEY (k, c))")
    yield "dm_batch"
    session.execute("DROP KEYSPACE IF EXISTS dm_batch")


@pytest.mark.parametrize("kind", ["", "UNLOGGED "])
def test_batch_across_tables_and_partitions(session, ks, kind):
    base = 0 if kind == "" else 100
    session.execute(f"BEGIN {kind}BATCH "
                    f"INSERT INTO dm_batch.a (k, v) VALUES ({base + 1}, 1); "
                    f"INSERT INTO dm_batch.a (k, v) VALUES ({base + 2}, 2); "
                    f"INSERT INTO dm_batch.b (k, c, v) VALUES ({base + 1}, 1, 'x'); "
                    f"UPDATE dm_batch.b SET v = 'y' WHERE k = {base + 3} AND c = 1; "
                    f"DELETE FROM dm_batch.a WHERE k = {base + 2}; "
                    "APPLY BATCH")
    assert session.execute("SELECT v FROM dm_batch.a WHERE k = %s", (base + 1,)).one().v == 1
    assert session.execute("SELECT v FROM dm_batch.a WHERE k = %s", (base + 2,)).one() is None, \
        "the DELETE shares the batch timestamp and wins the tie with the INSERT"
    assert session.execute("SELECT v FROM dm_batch.b WHERE k = %s AND c = 1", (base + 3,)).one().v == "y"


def test_batch_timestamps(session, ks):
    # The batch's timestamp applies to its members; a member may name its own only when the
    # batch does not (Cassandra's BatchStatement.validate refuses both).
    session.execute("BEGIN BATCH USING TIMESTAMP 1000 "
                    "INSERT INTO dm_batch.a (k, v) VALUES (10, 1); "
                    "INSERT INTO dm_batch.a (k, v) VALUES (11, 1); "
                    "APPLY BATCH")
    session.execute("BEGIN BATCH "
                    "INSERT INTO dm_batch.a (k, v) VALUES (12, 1) USING TIMESTAMP 2000; "
                    "INSERT INTO dm_batch.a (k, v) VALUES (13, 1); "
                    "APPLY BATCH")
    got = {r.k: r.wt for r in session.execute(
        "SELECT k, writetime(v) AS wt FROM dm_batch.a WHERE k IN (10, 11, 12)")}
    assert got == {10: 1000, 11: 1000, 12: 2000}
    expect_invalid(session, "BEGIN BATCH USING TIMESTAMP 1000 "
                            "INSERT INTO dm_batch.a (k, v) VALUES (14, 1) USING TIMESTAMP 2000; "
                            "APPLY BATCH",
                   "Timestamp must be set either on BATCH or individual statements")


def test_prepared_members_and_driver_batch_types(session, ks):
    insert = session.prepare("INSERT INTO dm_batch.b (k, c, v) VALUES (?, ?, ?)")
    for base, batch_type in ((20, BatchType.LOGGED), (21, BatchType.UNLOGGED)):
        batch = BatchStatement(batch_type=batch_type)
        for c in range(20):
            batch.add(insert, (base, c, str(c)))
        session.execute(batch)
        count = session.execute("SELECT count(*) FROM dm_batch.b WHERE k = %s", (base,)).one()[0]
        assert count == 20


def test_batch_errors(session, ks):
    expect_invalid(session, "BEGIN BATCH USING TTL 5 INSERT INTO dm_batch.a (k, v) VALUES (1, 1); APPLY BATCH",
                   "Global TTL on the BATCH statement is not supported.")
    expect_invalid(session, "BEGIN BATCH INSERT INTO dm_batch.a (k, v) VALUES (1, 1) IF NOT EXISTS; "
                            "INSERT INTO dm_batch.b (k, c, v) VALUES (1, 1, 'x'); APPLY BATCH",
                   "Batch with conditions cannot span multiple tables")
