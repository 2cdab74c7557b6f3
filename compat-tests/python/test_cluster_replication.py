"""RF=3 replication on a real 3-node cluster on 127.0.2.1/.2/.3 (loopback), admin ports
17201-17203: the Python driver discovers every node and routes token-aware; a write that
reached one replica only is repaired by a QUORUM read, so that a read at ONE from another
replica sees it; QUORUM writes and reads succeed with one node `kill -9`ed and return every
acknowledged write; with two nodes down QUORUM is Unavailable and writes nothing.

The schema is created through node 1 (the metadata log replicates it), with fixed table ids
(`WITH ID`, as in Cassandra). Every wait is bounded."""

import time
import urllib.request
import uuid

import pytest
from cassandra import ConsistencyLevel, Unavailable
from cassandra.protocol import ConfigurationException
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
from cassandra.policies import (FallthroughRetryPolicy, RetryPolicy, RoundRobinPolicy,
                                TokenAwarePolicy, WhiteListRoundRobinPolicy)
from cassandra.query import SimpleStatement

import test_cluster_membership as membership
from cluster_harness import driver_through, running_cluster, up_normal, wait_for

ADDRESSES = ["127.0.2.1", "127.0.2.2", "127.0.2.3"]
ADMIN_PORTS = [17201, 17202, 17203]
FORM_TIMEOUT_S = 30.0
DOWN_TIMEOUT_S = 15.0
TABLE_ID = str(uuid.uuid4())
RF1_TABLE_ID = str(uuid.uuid4())


def session(nodes, consistency=ConsistencyLevel.QUORUM, retry_policy=None):
    """A driver session that talks only to `nodes`. It does not wait for schema agreement
    after DDL: each node creates the schema itself until DDL replicates."""
    profile = ExecutionProfile(
        load_balancing_policy=WhiteListRoundRobinPolicy([n.host for n in nodes]),
        consistency_level=consistency, request_timeout=15,
        retry_policy=retry_policy or RetryPolicy())
    cluster = Cluster([nodes[0].host], port=nodes[0].native_port, compression=False,
                      execution_profiles={EXEC_PROFILE_DEFAULT: profile}, connect_timeout=10,
                      max_schema_agreement_wait=0)
    return cluster.connect()


def writes_coordinated(node):
    """The node's count of coordinated client writes (its Prometheus metrics)."""
    url = f"http://{node.host}:{node.admin_port}/metrics"
    with urllib.request.urlopen(url, timeout=10) as reply:
        text = reply.read().decode()
    for line in text.splitlines():
        if line.startswith('strata_client_request_latency_seconds_count{scope="Write"}'):
            return int(float(line.split()[-1]))
    return 0


@pytest.fixture(scope="module")
def cluster():
    with running_cluster(ADDRESSES, ADMIN_PORTS) as nodes:
        for node in nodes:
            wait_for(f"{node.host} sees 3 UN", lambda: up_normal(node, 3), FORM_TIMEOUT_S)
        # DDL through node 1 replicates through the metadata log; the ids are fixed anyway.
        s = session([nodes[0]], ConsistencyLevel.ONE)
        try:
            s.execute("CREATE KEYSPACE ks WITH replication = "
                      "{'class': 'SimpleStrategy', 'replication_factor': 3}")
            s.execute(f"CREATE TABLE ks.t (k int PRIMARY KEY, v int) WITH ID = '{TABLE_ID}'")
            s.execute("CREATE KEYSPACE one WITH replication = "
                      "{'class': 'SimpleStrategy', 'replication_factor': 1}")
            s.execute(f"CREATE TABLE one.t (k int PRIMARY KEY, v int) WITH ID = '{RF1_TABLE_ID}'")
        finally:
            s.cluster.shutdown()
        for node in nodes:
            def has_tables(node=node):
                t = session([node], ConsistencyLevel.ONE)
                try:
                    return len(list(t.execute(
                        "SELECT table_name FROM system_schema.tables "
                        "WHERE keyspace_name IN ('ks', 'one')"))) == 2
                finally:
                    t.cluster.shutdown()
            wait_for(f"{node.host} has the tables", has_tables, FORM_TIMEOUT_S)
        yield nodes


def test_with_id_fixes_the_table_id_on_every_node(cluster):
    for node in cluster:
        s = session([node], ConsistencyLevel.ONE)
        try:
            row = s.execute("SELECT id FROM system_schema.tables "
                            "WHERE keyspace_name = 'ks' AND table_name = 't'").one()
            assert str(row.id) == TABLE_ID
            with pytest.raises(ConfigurationException, match="Invalid table id"):
                s.execute("CREATE TABLE ks.bad (k int PRIMARY KEY) WITH ID = 'nope'")
            with pytest.raises(ConfigurationException, match="Cannot alter table id."):
                s.execute(f"ALTER TABLE ks.t WITH ID = '{uuid.uuid4()}'")
        finally:
            s.cluster.shutdown()


def test_driver_discovers_every_node_and_routes_token_aware(cluster):
    driver = driver_through(cluster[0], TokenAwarePolicy(RoundRobinPolicy()),
                            consistency_level=ConsistencyLevel.ONE)
    try:
        s = driver.connect()
        wait_for("the driver sees 3 hosts up",
                 lambda: len([h for h in driver.metadata.all_hosts() if h.is_up]) == 3,
                 FORM_TIMEOUT_S)
        assert {h.address for h in driver.metadata.all_hosts()} == set(ADDRESSES)
        # RF=1: each key has one replica, which token-aware routing must pick as coordinator.
        insert = s.prepare("INSERT INTO one.t (k, v) VALUES (?, ?)")
        before = {n.host: writes_coordinated(n) for n in cluster}
        owners = {}
        for k in range(30):
            s.execute(insert, (k, k))
            run = cluster[0].nodetool("getendpoints", "one", "t", str(k))
            assert run.returncode == 0, run.stdout + run.stderr
            owners[k] = run.stdout.split()[0]
        expected = {n.host: sum(1 for o in owners.values() if o == n.host) for n in cluster}
        coordinated = {n.host: writes_coordinated(n) - before[n.host] for n in cluster}
        print(f"writes per node {coordinated}, owners {expected}")
        assert coordinated == expected
        # The rows are on their owners: a read at ONE through any node finds each.
        for k in range(30):
            row = s.execute(SimpleStatement("SELECT v FROM one.t WHERE k = %s",
                                            consistency_level=ConsistencyLevel.ONE), (k,)).one()
            assert row is not None and row.v == k, k
    finally:
        driver.shutdown()


def test_a_quorum_read_repairs_a_write_that_reached_one_replica(cluster):
    first, second, third = cluster
    # Only node 1 is up: a write at ONE reaches it alone (no hints).
    for node in (second, third):
        node.kill9()
    wait_for("node 1 sees nodes 2 and 3 DN",
             lambda: membership.state_of(first, second.host) == "DN"
             and membership.state_of(first, third.host) == "DN", DOWN_TIMEOUT_S)
    s = session([first], ConsistencyLevel.ONE)
    try:
        s.execute("INSERT INTO ks.t (k, v) VALUES (1000, 1)")
    finally:
        s.cluster.shutdown()
    # Node 2 returns; node 3 stays down, so node 1's QUORUM read contacts nodes 1 and 2.
    second.start()
    wait_for("node 1 sees node 2 UN", lambda: membership.state_of(first, second.host) == "UN",
             FORM_TIMEOUT_S)
    local_two = session([second], ConsistencyLevel.ONE)
    try:
        before = local_two.execute("SELECT v FROM ks.t WHERE k = 1000").one()
        assert before is None, "node 2 missed the write"
        s = session([first], ConsistencyLevel.QUORUM)
        try:
            row = s.execute("SELECT v FROM ks.t WHERE k = 1000").one()
            assert row is not None and row.v == 1
        finally:
            s.cluster.shutdown()
        after = local_two.execute("SELECT v FROM ks.t WHERE k = 1000").one()
        assert after is not None and after.v == 1, "read repair reached node 2 before the answer"
    finally:
        local_two.cluster.shutdown()
    third.start()
    for node in cluster:
        wait_for(f"{node.host} sees 3 UN", lambda: up_normal(node, 3), FORM_TIMEOUT_S)


def test_quorum_survives_one_kill9_and_loses_no_acknowledged_write(cluster):
    first, second, third = cluster
    s = session([first, second])
    acknowledged = {}
    try:
        insert = s.prepare("INSERT INTO ks.t (k, v) VALUES (?, ?)")
        for k in range(100):
            s.execute(insert, (k, k))
            acknowledged[k] = k
        third.kill9()
        killed = time.monotonic()
        # Right after the crash (before and after the failure detector notices).
        for k in range(100, 200):
            s.execute(insert, (k, k))
            acknowledged[k] = k
        print(f"100 QUORUM writes after kill -9 in {time.monotonic() - killed:.2f} s")
        select = s.prepare("SELECT v FROM ks.t WHERE k = ?")
        missing = [k for k, v in acknowledged.items()
                   if (row := s.execute(select, (k,)).one()) is None or row.v != v]
        assert not missing, f"acknowledged writes lost: {missing[:20]}"
        rows = list(s.execute(SimpleStatement("SELECT k FROM ks.t", fetch_size=37)))
        assert {r.k for r in rows} >= set(acknowledged), "a paged QUORUM scan returns them all"
    finally:
        s.cluster.shutdown()


def test_with_two_nodes_down_quorum_is_unavailable_and_writes_nothing(cluster):
    first, second, third = cluster
    if third.is_running():
        third.kill9()
    second.kill9()
    wait_for("node 1 sees nodes 2 and 3 DN",
             lambda: membership.state_of(first, second.host) == "DN"
             and membership.state_of(first, third.host) == "DN", DOWN_TIMEOUT_S)
    # The server's answer as is (the default policy would retry it on the next host).
    s = session([first], retry_policy=FallthroughRetryPolicy())
    try:
        with pytest.raises(Unavailable) as failure:
            s.execute("INSERT INTO ks.t (k, v) VALUES (5000, 1)")
        print(failure.value)
        assert failure.value.required_replicas == 2 and failure.value.alive_replicas == 1
        with pytest.raises(Unavailable):
            s.execute("SELECT v FROM ks.t WHERE k = 5000")
        row = s.execute(SimpleStatement("SELECT v FROM ks.t WHERE k = 5000",
                                        consistency_level=ConsistencyLevel.ONE)).one()
        assert row is None, "an unavailable write applies nowhere"
    finally:
        s.cluster.shutdown()
