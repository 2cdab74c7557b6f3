"""Two datacenters on a real 5-node cluster on 127.0.13.1-5 (loopback): dc1 holds .1-.3 (racks
r1, r1, r2), dc2 holds .4-.5 (racks r1, r2), each node's DC and rack set as
GossipingPropertyFileSnitch takes them (`--dc`/`--rack`). A keyspace with
NetworkTopologyStrategy {'dc1': 3, 'dc2': 2} has its replicas in both DCs (nodetool getendpoints
and the Python driver's own token map agree, replica for replica, also for {'dc1': 2, 'dc2': 1},
where dc1's two replicas are on distinct racks); LOCAL_QUORUM, EACH_QUORUM and LOCAL_ONE writes
and reads succeed from either DC; DCAwareRoundRobinPolicy(local_dc) inside TokenAwarePolicy
sends every request to a replica in the local DC; with dc2 stopped LOCAL_QUORUM in dc1 still
works while EACH_QUORUM, and the DC-local levels of a DC without replicas, are Unavailable
with Cassandra 5.0's counts and messages.

Every wait is bounded and prints how long it took."""

import struct

import pytest
from cassandra import ConsistencyLevel, Unavailable
from cassandra.policies import (DCAwareRoundRobinPolicy, FallthroughRetryPolicy,
                                RoundRobinPolicy, TokenAwarePolicy, WhiteListRoundRobinPolicy)
from cassandra.query import SimpleStatement

import test_cluster_membership as membership
from cluster_harness import driver_through, running_cluster, session_on, wait_for
from test_cluster_replication import up_normal, writes_coordinated

ADDRESSES = ["127.0.13.1", "127.0.13.2", "127.0.13.3", "127.0.13.4", "127.0.13.5"]
TOPOLOGY = [("dc1", "r1"), ("dc1", "r1"), ("dc1", "r2"), ("dc2", "r1"), ("dc2", "r2")]
DC_OF = {address: dc for address, (dc, _) in zip(ADDRESSES, TOPOLOGY)}
FORM_TIMEOUT_S = 40.0
DOWN_TIMEOUT_S = 15.0
KEYS = range(40)


def session(node, consistency):
    """A session whose requests all go to `node` as coordinator, at `consistency`, whose
    errors come back as the server sent them."""
    return driver_through(node, WhiteListRoundRobinPolicy([node.host]),
                          consistency_level=consistency,
                          retry_policy=FallthroughRetryPolicy()).connect()


def endpoints(node, keyspace, key):
    run = node.nodetool("getendpoints", keyspace, "t", str(key))
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout.split()


@pytest.fixture(scope="module")
def cluster():
    args = [("--dc", dc, "--rack", rack) for dc, rack in TOPOLOGY]
    with running_cluster(ADDRESSES, node_args=args) as nodes:
        for node in nodes:
            wait_for(f"{node.host} sees 5 UN", lambda node=node: up_normal(node, 5),
                     FORM_TIMEOUT_S)
        s = session_on(nodes[0])
        try:
            s.execute("CREATE KEYSPACE both_dcs WITH replication = {'class': "
                      "'NetworkTopologyStrategy', 'dc1': 3, 'dc2': 2}")
            s.execute("CREATE TABLE both_dcs.t (k int PRIMARY KEY, v int)")
            s.execute("CREATE KEYSPACE sparse WITH replication = {'class': "
                      "'NetworkTopologyStrategy', 'dc1': 2, 'dc2': 1}")
            s.execute("CREATE TABLE sparse.t (k int PRIMARY KEY, v int)")
            s.execute("CREATE KEYSPACE dc1_only WITH replication = {'class': "
                      "'NetworkTopologyStrategy', 'dc1': 3}")
            s.execute("CREATE TABLE dc1_only.t (k int PRIMARY KEY, v int)")
        finally:
            s.cluster.shutdown()
        yield nodes


def test_each_node_reports_its_dc_and_rack(cluster):
    expected = dict(zip(ADDRESSES, TOPOLOGY))
    for node in cluster:
        s = session_on(node)
        try:
            local = s.execute("SELECT data_center, rack FROM system.local").one()
            assert (local.data_center, local.rack) == expected[node.host]
            peers = {str(r.peer): (r.data_center, r.rack) for r in s.execute(
                "SELECT peer, data_center, rack FROM system.peers")}
            assert peers == {a: t for a, t in expected.items() if a != node.host}
            peers_v2 = {str(r.peer): (r.data_center, r.rack) for r in s.execute(
                "SELECT peer, data_center, rack FROM system.peers_v2")}
            assert peers_v2 == peers
        finally:
            s.cluster.shutdown()
    run = cluster[0].nodetool("status")
    assert run.returncode == 0, run.stderr
    assert "Datacenter: dc1" in run.stdout and "Datacenter: dc2" in run.stdout, run.stdout


@pytest.mark.parametrize("keyspace,per_dc", [("both_dcs", {"dc1": 3, "dc2": 2}),
                                             ("sparse", {"dc1": 2, "dc2": 1})])
def test_placement_per_dc_agrees_with_the_driver(cluster, keyspace, per_dc):
    # Round robin over every host: the default policy ignores the contact point's remote DC.
    driver = driver_through(cluster[0], RoundRobinPolicy())
    try:
        driver.connect()
        wait_for("the driver sees 5 hosts up",
                 lambda: len([h for h in driver.metadata.all_hosts() if h.is_up]) == 5,
                 FORM_TIMEOUT_S)
        rack_of = dict(zip(ADDRESSES, (rack for _, rack in TOPOLOGY)))
        for k in KEYS:
            replicas = endpoints(cluster[k % 5], keyspace, k)
            counts = {dc: sum(1 for r in replicas if DC_OF[r] == dc) for dc in per_dc}
            assert counts == per_dc, (k, replicas)
            assert len(set(replicas)) == len(replicas), (k, replicas)
            dc1_racks = {rack_of[r] for r in replicas if DC_OF[r] == "dc1"}
            assert len(dc1_racks) == 2, f"dc1's replicas span both racks: {k} {replicas}"
            # The driver computes NTS placement itself from the peers' DC, rack and tokens.
            drivers = driver.metadata.get_replicas(keyspace, struct.pack(">i", k))
            assert {h.address for h in drivers} == set(replicas), (k, replicas, drivers)
    finally:
        driver.shutdown()


@pytest.mark.parametrize("coordinator", [0, 3], ids=["from_dc1", "from_dc2"])
def test_local_and_each_quorum_writes_and_reads(cluster, coordinator):
    node = cluster[coordinator]
    base = 1000 * (coordinator + 1)
    for level in (ConsistencyLevel.LOCAL_QUORUM, ConsistencyLevel.EACH_QUORUM,
                  ConsistencyLevel.LOCAL_ONE):
        s = session(node, level)
        try:
            insert = s.prepare("INSERT INTO both_dcs.t (k, v) VALUES (?, ?)")
            select = s.prepare("SELECT v FROM both_dcs.t WHERE k = ?")
            for k in range(base, base + 20):
                s.execute(insert, (k, level))
            for k in range(base, base + 20):
                row = s.execute(select, (k,)).one()
                assert row is not None and row.v == level, (level, k, row)
        finally:
            s.cluster.shutdown()
        base += 100
    # A LOCAL_QUORUM write is on a quorum of both DCs once every replica applied it: a
    # LOCAL_ONE read on every node finds it (all five are replicas).
    s = session(node, ConsistencyLevel.LOCAL_QUORUM)
    try:
        s.execute("INSERT INTO both_dcs.t (k, v) VALUES (%s, 7)", (base,))
    finally:
        s.cluster.shutdown()
    for other in cluster:
        t = session(other, ConsistencyLevel.LOCAL_ONE)
        try:
            wait_for(f"{other.host} holds the row", lambda: t.execute(
                "SELECT v FROM both_dcs.t WHERE k = %s", (base,)).one(), 5)
        finally:
            t.cluster.shutdown()


def test_dc_aware_token_aware_routing_stays_in_the_local_dc(cluster):
    # The contact point is in dc1: the driver learns dc2's hosts from system.peers.
    driver = driver_through(cluster[0], TokenAwarePolicy(DCAwareRoundRobinPolicy(local_dc="dc2")),
                            consistency_level=ConsistencyLevel.LOCAL_ONE)
    try:
        s = driver.connect()
        # dc1's hosts are known but ignored (no remote hosts are used): only dc2's get pools.
        wait_for("the driver knows 5 hosts and has dc2's 2 up",
                 lambda: len(driver.metadata.all_hosts()) == 5 and len(
                     [h for h in driver.metadata.all_hosts() if h.is_up
                      and h.datacenter == "dc2"]) == 2, FORM_TIMEOUT_S)
        assert {h.address: h.datacenter for h in driver.metadata.all_hosts()} == DC_OF
        insert = s.prepare("INSERT INTO sparse.t (k, v) VALUES (?, ?)")
        before = {n.host: writes_coordinated(n) for n in cluster}
        expected = {n.host: 0 for n in cluster}
        for k in KEYS:
            s.execute(insert, (k, k))
            # dc2 holds one replica of each key: token-aware routing must pick it.
            (local_replica,) = [r for r in endpoints(cluster[0], "sparse", k)
                                if DC_OF[r] == "dc2"]
            expected[local_replica] += 1
        coordinated = {n.host: writes_coordinated(n) - before[n.host] for n in cluster}
        print(f"writes per node {coordinated}, dc2 replicas {expected}")
        assert coordinated == expected
        select = s.prepare("SELECT v FROM sparse.t WHERE k = ?")
        for k in KEYS:
            row = s.execute(select, (k,)).one()
            assert row is not None and row.v == k, k
    finally:
        driver.shutdown()


def test_a_dc_without_replicas_is_unavailable_at_its_local_levels(cluster):
    s = session(cluster[3], ConsistencyLevel.LOCAL_ONE)
    try:
        for level, required in ((ConsistencyLevel.LOCAL_ONE, 1),
                                (ConsistencyLevel.LOCAL_QUORUM, 1)):
            for statement in ("INSERT INTO dc1_only.t (k, v) VALUES (1, 1)",
                              "SELECT v FROM dc1_only.t WHERE k = 1"):
                with pytest.raises(Unavailable) as failure:
                    s.execute(SimpleStatement(statement, consistency_level=level))
                print(failure.value)
                assert (failure.value.required_replicas, failure.value.alive_replicas) == (
                    required, 0), statement
                name = ConsistencyLevel.value_to_name[level]
                assert f"Cannot achieve consistency level {name}" in str(failure.value)
        # Levels that are not DC-local reach dc1's replicas from dc2.
        s.execute(SimpleStatement("INSERT INTO dc1_only.t (k, v) VALUES (1, 1)",
                                  consistency_level=ConsistencyLevel.QUORUM))
        row = s.execute(SimpleStatement("SELECT v FROM dc1_only.t WHERE k = 1",
                                        consistency_level=ConsistencyLevel.QUORUM)).one()
        assert row.v == 1
    finally:
        s.cluster.shutdown()


def test_with_dc2_stopped_local_quorum_works_and_each_quorum_is_unavailable(cluster):
    """Last: it stops dc2's nodes."""
    for node in cluster[3:]:
        node.stop()
    for node in cluster[:3]:
        wait_for(f"{node.host} sees dc2 DN", lambda node=node: all(
            membership.state_of(node, other.host) == "DN" for other in cluster[3:]),
            DOWN_TIMEOUT_S)
    s = session(cluster[1], ConsistencyLevel.LOCAL_QUORUM)
    try:
        s.execute("INSERT INTO both_dcs.t (k, v) VALUES (9000, 1)")
        assert s.execute("SELECT v FROM both_dcs.t WHERE k = 9000").one().v == 1
        for statement in ("INSERT INTO both_dcs.t (k, v) VALUES (9001, 1)",
                          "SELECT v FROM both_dcs.t WHERE k = 9001"):
            with pytest.raises(Unavailable) as failure:
                s.execute(SimpleStatement(statement,
                                          consistency_level=ConsistencyLevel.EACH_QUORUM))
            print(failure.value)
            assert (failure.value.required_replicas, failure.value.alive_replicas) == (2, 0)
            assert "Cannot achieve consistency level EACH_QUORUM in DC dc2" in str(
                failure.value)
        # QUORUM of five replicas needs three: dc1's three are up.
        s.execute(SimpleStatement("INSERT INTO both_dcs.t (k, v) VALUES (9002, 1)",
                                  consistency_level=ConsistencyLevel.QUORUM))
        with pytest.raises(Unavailable) as failure:
            s.execute(SimpleStatement("INSERT INTO both_dcs.t (k, v) VALUES (9003, 1)",
                                      consistency_level=ConsistencyLevel.ALL))
        assert (failure.value.required_replicas, failure.value.alive_replicas) == (5, 3)
        row = s.execute(SimpleStatement("SELECT v FROM both_dcs.t WHERE k = 9003",
                                        consistency_level=ConsistencyLevel.LOCAL_ONE)).one()
        assert row is None, "an unavailable write applies nowhere"
    finally:
        s.cluster.shutdown()
