"""`nodetool removenode` streams (Cassandra's `restoreReplicaCount`), on a real 3-node cluster
on 127.0.24.1/.2/.3 (loopback): rows written at ALL to an RF=2 keyspace, with every kind of
deletion (partition, row, range, cell) and a TTL, and a partition wider than a streaming
page on nodes 1 and 3 with a range tombstone across the page boundary, then node 3 is `kill -9`ed and removed
from node 1. Once `removenode` returns, every range has the replicas {1, 2}, so node 2 alone
must hold everything: node 1 is killed too and every key is read at ONE through node 2,
which must return exactly what was written (write times and TTLs kept) and none of the
deleted data. Without streaming, node 2 lacks the ranges node 3 replicated with node 1
and the reads come back empty.

Every wait is bounded and prints how long it took; the removal's duration is printed."""

import itertools
import time
import urllib.request

import pytest
from cassandra import ConsistencyLevel
from cassandra.query import SimpleStatement

from cluster_harness import execute_on, running_cluster, session_on, wait_for
from test_cluster_removenode import status_by_address, wait_until_all_up

ADDRESSES = ["127.0.24.1", "127.0.24.2", "127.0.24.3"]
DOWN_TIMEOUT_S = 15.0
KEYSPACE = "streaming_ks"
PARTITIONS = 300
ROWS_PER_PARTITION = 3
TTL_S = 3600
# A partition wider than a streaming page (512 rows), with a range tombstone across the
# page boundary: the gaining node resumes inside the partition.
WIDE_ROWS = 1200
WIDE_DELETED = range(300, 700)


@pytest.fixture(scope="module")
def cluster():
    with running_cluster(ADDRESSES) as nodes:
        wait_until_all_up(nodes)
        yield nodes


def write_everything(node):
    """Writes the rows and deletions at ALL through `node`; returns the expected content:
    {k: {c: (v, writetime)}} (partitions with nothing left are absent)."""
    session = session_on(node)
    expected = {}
    try:
        def run(statement, args):
            session.execute(SimpleStatement(statement, consistency_level=ConsistencyLevel.ALL),
                            args)

        for k in range(PARTITIONS):
            expected[k] = {}
            for c in range(ROWS_PER_PARTITION):
                stamp = 1_000_000 + k * 10 + c
                ttl = f" AND TTL {TTL_S}" if k % 10 == 5 else ""
                run(f"INSERT INTO {KEYSPACE}.t (k, c, v) VALUES (%s, %s, %s) "
                    f"USING TIMESTAMP {stamp}{ttl}", (k, c, f"v{k}-{c}"))
                expected[k][c] = (f"v{k}-{c}", stamp)
        later = 2_000_000
        for k in range(PARTITIONS):
            kind = k % 10
            if kind == 0:
                run(f"DELETE FROM {KEYSPACE}.t USING TIMESTAMP {later} WHERE k = %s", (k,))
                expected[k] = {}
            elif kind == 1:
                run(f"DELETE FROM {KEYSPACE}.t USING TIMESTAMP {later} WHERE k = %s AND c = 1",
                    (k,))
                del expected[k][1]
            elif kind == 2:
                run(f"DELETE FROM {KEYSPACE}.t USING TIMESTAMP {later} WHERE k = %s AND c > 0",
                    (k,))
                expected[k] = {0: expected[k][0]}
            elif kind == 3:
                run(f"DELETE v FROM {KEYSPACE}.t USING TIMESTAMP {later} WHERE k = %s AND c = 0",
                    (k,))
                expected[k][0] = (None, None)
    finally:
        session.cluster.shutdown()
    return {k: rows for k, rows in expected.items() if rows}


def replicas_of(node, key):
    run = node.nodetool("getendpoints", KEYSPACE, "t", str(key))
    assert run.returncode == 0, run.stdout + run.stderr
    return set(run.stdout.split())


def write_wide_partition(node, key):
    """WIDE_ROWS rows in partition `key` at ALL, then WIDE_DELETED deleted by one range
    tombstone; returns the rows left {c: v}."""
    session = session_on(node)
    try:
        insert = session.prepare(f"INSERT INTO {KEYSPACE}.t (k, c, v) VALUES (?, ?, ?)")
        insert.consistency_level = ConsistencyLevel.ALL
        for c in range(WIDE_ROWS):
            session.execute(insert, (key, c, f"wide-{c}"))
        session.execute(SimpleStatement(
            f"DELETE FROM {KEYSPACE}.t WHERE k = %s AND c >= %s AND c < %s",
            consistency_level=ConsistencyLevel.ALL),
            (key, WIDE_DELETED.start, WIDE_DELETED.stop))
    finally:
        session.cluster.shutdown()
    return {c: f"wide-{c}" for c in range(WIDE_ROWS) if c not in WIDE_DELETED}


def streamed_partitions(node):
    with urllib.request.urlopen(f"http://{node.host}:{node.admin_port}/metrics",
                                timeout=10) as response:
        text = response.read().decode()
    for line in text.splitlines():
        if line.startswith("strata_streaming_incoming_partitions_total "):
            return float(line.split()[1])
    raise AssertionError("no strata_streaming_incoming_partitions_total in /metrics")


def test_removenode_streams_the_ranges_a_node_gains(cluster):
    first, second, victim = cluster
    victim_id = status_by_address(first)[victim.host][1]
    execute_on(first, f"CREATE KEYSPACE {KEYSPACE} WITH replication = "
                      "{'class': 'SimpleStrategy', 'replication_factor': 2}",
               f"CREATE TABLE {KEYSPACE}.t (k int, c int, v text, PRIMARY KEY (k, c))")
    expected = write_everything(first)
    # A key node 2 does not replicate yet: it must come to node 2 by streaming.
    wide_key = next(k for k in itertools.count(PARTITIONS)
                    if replicas_of(first, k) == {first.host, victim.host})
    wide_expected = write_wide_partition(first, wide_key)

    victim.kill9()
    for node in (first, second):
        wait_for(f"{node.host} marks {victim.host} DN",
                 lambda n=node: status_by_address(n).get(victim.host, ("",))[0] == "DN",
                 DOWN_TIMEOUT_S)
    started = time.monotonic()
    run = first.nodetool("removenode", victim_id)
    print(f"removenode with streaming: {(time.monotonic() - started) * 1000:.0f} ms")
    assert run.returncode == 0, run.stdout + run.stderr
    run = first.nodetool("removenode", "status")
    assert run.stdout == "RemovalStatus: No removals in process.\n", run.stdout

    # Every range's replicas are now {1, 2}: node 2 alone must hold everything.
    first.kill9()
    session = session_on(second)
    try:
        select = SimpleStatement(
            f"SELECT c, v, writetime(v) AS wt, ttl(v) AS ttl FROM {KEYSPACE}.t WHERE k = %s",
            consistency_level=ConsistencyLevel.ONE)
        for k in range(PARTITIONS):
            rows = list(session.execute(select, (k,)))
            got = {r.c: (r.v, r.wt) for r in rows}
            assert got == expected.get(k, {}), (k, got, expected.get(k))
            for r in rows:
                if k % 10 == 5:
                    assert r.ttl is not None and 0 < r.ttl <= TTL_S, (k, r)
                else:
                    assert r.ttl is None, (k, r)
        rows = session.execute(SimpleStatement(
            f"SELECT c, v FROM {KEYSPACE}.t WHERE k = %s",
            consistency_level=ConsistencyLevel.ONE), (wide_key,))
        assert {r.c: r.v for r in rows} == wide_expected
    finally:
        session.cluster.shutdown()
    assert streamed_partitions(second) > 0
    log = open(first.log_path, encoding="utf-8", errors="replace").read()
    assert "replication confirmed" in log, "the coordinator waited for the gaining nodes"
