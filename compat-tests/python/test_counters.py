"""Counter tables: increments, decrements, counter batches and Cassandra's restrictions."""

import pytest
from cassandra import InvalidRequest
from cassandra.query import BatchStatement, BatchType

from driver_helpers import create_keyspace, expect_invalid, server_message


@pytest.fixture(scope="module")
def ks(session):
    create_keyspace(session, "dm_counters")
    session.execute("CREATE TABLE dm_counters.c (k int, r int, hits counter, misses counter, PRIMARY KEY (k, r))")
    session.execute("CREATE TABLE dm_counters.plain (k int PRIMARY KEY, v int)")
    yield "dm_counters"
    session.execute("DROP KEYSPACE IF EXISTS dm_counters")


def counts(session, k, r=0):
    row = session.execute("SELECT hits, misses FROM dm_counters.c WHERE k = %s AND r = %s", (k, r)).one()
    return None if row is None else (row.hits, row.misses)


def test_increment_and_decrement(session, ks):
    for _ in range(3):
        session.execute("UPDATE dm_counters.c SET hits = hits + 2 WHERE k = 1 AND r = 0")
    session.execute("UPDATE dm_counters.c SET hits = hits - 1, misses = misses + 5 WHERE k = 1 AND r = 0")
    assert counts(session, 1) == (5, 5)
    prepared = session.prepare("UPDATE dm_counters.c SET misses = misses + ? WHERE k = ? AND r = ?")
    session.execute(prepared, (-7, 1, 0))
    assert counts(session, 1) == (5, -2)


def test_untouched_counter_is_null(session, ks):
    session.execute("UPDATE dm_counters.c SET hits = hits + 1 WHERE k = 2 AND r = 0")
    assert counts(session, 2) == (1, None)


def test_delete_then_increment_starts_from_zero(session, ks):
    session.execute("UPDATE dm_counters.c SET hits = hits + 10 WHERE k = 3 AND r = 0")
    session.execute("DELETE hits FROM dm_counters.c WHERE k = 3 AND r = 0")
    assert counts(session, 3) is None
    session.execute("UPDATE dm_counters.c SET hits = hits + 1 WHERE k = 3 AND r = 0")
    assert counts(session, 3) == (1, None)


def test_counter_batch(session, ks):
    session.execute("BEGIN COUNTER BATCH "
                    "UPDATE dm_counters.c SET hits = hits + 1 WHERE k = 4 AND r = 0; "
                    "UPDATE dm_counters.c SET hits = hits + 1 WHERE k = 4 AND r = 1; "
                    "UPDATE dm_counters.c SET hits = hits + 1 WHERE k = 4 AND r = 0 "
                    "APPLY BATCH")
    assert counts(session, 4, 0) == (2, None) and counts(session, 4, 1) == (1, None)
    prepared = session.prepare("UPDATE dm_counters.c SET misses = misses + ? WHERE k = 4 AND r = ?")
    batch = BatchStatement(batch_type=BatchType.COUNTER)
    batch.add(prepared, (3, 0))
    batch.add(prepared, (4, 0))
    session.execute(batch)
    assert counts(session, 4, 0) == (2, 7)


def test_concurrent_increments_are_not_lost(session, ks):
    prepared = session.prepare("UPDATE dm_counters.c SET hits = hits + 1 WHERE k = 5 AND r = 0")
    futures = [session.execute_async(prepared) for _ in range(200)]
    for f in futures:
        f.result()
    assert counts(session, 5) == (200, None)


def test_restrictions(session, ks):
    expect_invalid(session, "INSERT INTO dm_counters.c (k, r, hits) VALUES (1, 0, 1)",
                   "INSERT statements are not allowed on counter tables, use UPDATE instead")
    expect_invalid(session, "UPDATE dm_counters.c USING TTL 10 SET hits = hits + 1 WHERE k = 1 AND r = 0",
                   "Cannot provide custom TTL for counter updates")
    expect_invalid(session, "UPDATE dm_counters.c USING TIMESTAMP 10 SET hits = hits + 1 WHERE k = 1 AND r = 0",
                   "Cannot provide custom timestamp for counter updates")
    expect_invalid(session, "UPDATE dm_counters.c SET hits = 3 WHERE k = 1 AND r = 0",
                   "Cannot set the value of counter column hits (counters can only be incremented/decremented, not set)")
    expect_invalid(session, "UPDATE dm_counters.plain SET v = v + 1 WHERE k = 1",
                   "Invalid operation (v = v + 1) for non counter column v")
    expect_invalid(session, "UPDATE dm_counters.c SET hits = hits + 1 WHERE k = 1 AND r = 0 IF EXISTS",
                   "Conditional updates are not supported on counter tables")
    expect_invalid(session, "BEGIN BATCH UPDATE dm_counters.c SET hits = hits + 1 WHERE k = 1 AND r = 0; APPLY BATCH",
                   "Cannot include a counter statement in a logged batch")
    expect_invalid(session, "BEGIN COUNTER BATCH UPDATE dm_counters.plain SET v = 1 WHERE k = 1; APPLY BATCH",
                   "Cannot include non-counter statement in a counter batch")
    expect_invalid(session, "BEGIN UNLOGGED BATCH UPDATE dm_counters.plain SET v = 1 WHERE k = 1; "
                            "UPDATE dm_counters.c SET hits = hits + 1 WHERE k = 1 AND r = 0; APPLY BATCH",
                   "Counter and non-counter mutations cannot exist in the same batch")


def test_mixed_table_is_rejected(session, ks):
    with pytest.raises(InvalidRequest) as error:
        session.execute("CREATE TABLE dm_counters.mixed (k int PRIMARY KEY, c counter, v int)")
    assert server_message(error.value) == "Cannot mix counter and non counter columns in the same table"


def test_counter_batch_with_timestamp_is_rejected(session, ks):
    expect_invalid(session, "BEGIN COUNTER BATCH USING TIMESTAMP 5 "
                            "UPDATE dm_counters.c SET hits = hits + 1 WHERE k = 9 AND r = 0; APPLY BATCH",
                   "Cannot provide custom timestamp for counter BATCH")
