"""Secondary indexes and materialized views at RF=3 on a real 3-node cluster on
127.0.12.1/.2/.3, and Unavailable when a ring holds fewer replicas than a level needs (a
1-node cluster on 127.0.12.4 with an RF=3 keyspace, as Cassandra answers it).

Index and view tables must have the same id on every node (they come from the replicated
schema), so that a write coordinated by any node reaches their replicas and a QUORUM read
through any node finds the rows. Rows written before CREATE INDEX / VIEW are built into it
as well. Every wait is bounded."""

import uuid

import pytest
from cassandra import ConsistencyLevel, Unavailable
from cassandra.policies import FallthroughRetryPolicy
from cassandra.query import SimpleStatement

from cluster_harness import cluster_with_table, running_cluster
from test_cluster_replication import session

ADDRESSES = ["127.0.12.1", "127.0.12.2", "127.0.12.3"]
SINGLE = ["127.0.12.4"]
TABLE_ID = str(uuid.uuid4())
EARLY = range(0, 20)
LATE = range(20, 40)


def quorum(cql):
    return SimpleStatement(cql, consistency_level=ConsistencyLevel.QUORUM)


@pytest.fixture(scope="module")
def cluster():
    with cluster_with_table(ADDRESSES, "k int PRIMARY KEY, v int, w text", TABLE_ID) as nodes:
        yield nodes


def sessions(nodes):
    return [session([node]) for node in nodes]


def close(all_sessions):
    for s in all_sessions:
        s.cluster.shutdown()


def test_indexes_and_views_at_rf3_answer_quorum_reads_on_every_node(cluster):
    every = sessions(cluster)
    try:
        # Rows written before the index and the view exist (each through another node)
        # must be built into them.
        for k in EARLY:
            every[k % 3].execute(quorum(f"INSERT INTO ks.t (k, v, w) VALUES ({k}, {k % 4}, "
                                        f"'w{k % 5}')"))
        every[0].execute("CREATE INDEX t_v ON ks.t (v)")
        every[1].execute("CREATE MATERIALIZED VIEW ks.by_w AS SELECT * FROM ks.t "
                         "WHERE w IS NOT NULL AND k IS NOT NULL PRIMARY KEY (w, k)")
        # Rows written afterwards, through every node, update the index and the view on
        # their replicas, whichever node coordinates.
        for k in LATE:
            every[k % 3].execute(quorum(f"INSERT INTO ks.t (k, v, w) VALUES ({k}, {k % 4}, "
                                        f"'w{k % 5}')"))
        # A change moves a row out of its old index entry and view partition.
        every[2].execute(quorum("UPDATE ks.t SET v = 9, w = 'moved' WHERE k = 0"))
        every[0].execute(quorum("DELETE FROM ks.t WHERE k = 1"))
        rows = {k: (k % 4, f"w{k % 5}") for k in list(EARLY) + list(LATE)}
        rows[0] = (9, "moved")
        del rows[1]
        for node, s in zip(cluster, every):
            for v in (0, 1, 2, 3, 9):
                got = sorted(r.k for r in s.execute(quorum(
                    f"SELECT k FROM ks.t WHERE v = {v}")))
                assert got == sorted(k for k, (rv, _) in rows.items() if rv == v), \
                    (node.host, v)
            for w in ("w0", "w1", "w2", "w3", "w4", "moved"):
                got = sorted((r.k, r.v) for r in s.execute(quorum(
                    f"SELECT k, v FROM ks.by_w WHERE w = '{w}'")))
                assert got == sorted((k, rv) for k, (rv, rw) in rows.items() if rw == w), \
                    (node.host, w)
    finally:
        close(every)


def test_rf3_on_one_node_is_unavailable_at_quorum_and_serves_one():
    with running_cluster(SINGLE) as [node]:
        s = session([node], retry_policy=FallthroughRetryPolicy())
        try:
            s.execute("CREATE KEYSPACE ks3 WITH replication = "
                      "{'class': 'SimpleStrategy', 'replication_factor': 3}")
            s.execute("CREATE TABLE ks3.t (k int PRIMARY KEY, v int)")
            for cql in ("INSERT INTO ks3.t (k, v) VALUES (1, 1)",
                        "SELECT * FROM ks3.t WHERE k = 1"):
                with pytest.raises(Unavailable) as error:
                    s.execute(quorum(cql))
                assert "Cannot achieve consistency level QUORUM" in str(error.value)
                assert (error.value.required_replicas, error.value.alive_replicas) == (2, 1)
            with pytest.raises(Unavailable) as error:
                s.execute(SimpleStatement("INSERT INTO ks3.t (k, v) VALUES (1, 1)",
                                          consistency_level=ConsistencyLevel.ALL))
            assert (error.value.required_replicas, error.value.alive_replicas) == (3, 1)
            one = ConsistencyLevel.ONE
            s.execute(SimpleStatement("INSERT INTO ks3.t (k, v) VALUES (1, 1)",
                                      consistency_level=one))
            row = s.execute(SimpleStatement("SELECT v FROM ks3.t WHERE k = 1",
                                            consistency_level=one)).one()
            assert row.v == 1
        finally:
            s.cluster.shutdown()


def test_rf5_on_three_nodes_is_unavailable_at_all(cluster):
    s = session([cluster[0]], retry_policy=FallthroughRetryPolicy())
    try:
        s.execute("CREATE KEYSPACE ks5 WITH replication = "
                  "{'class': 'SimpleStrategy', 'replication_factor': 5}")
        s.execute("CREATE TABLE ks5.t (k int PRIMARY KEY, v int)")
        with pytest.raises(Unavailable) as error:
            s.execute(SimpleStatement("INSERT INTO ks5.t (k, v) VALUES (1, 1)",
                                      consistency_level=ConsistencyLevel.ALL))
        assert "Cannot achieve consistency level ALL" in str(error.value)
        assert (error.value.required_replicas, error.value.alive_replicas) == (5, 3)
        # QUORUM of 5 is 3: the three nodes are enough.
        s.execute(quorum("INSERT INTO ks5.t (k, v) VALUES (1, 1)"))
        assert s.execute(quorum("SELECT v FROM ks5.t WHERE k = 1")).one().v == 1
    finally:
        s.cluster.shutdown()
