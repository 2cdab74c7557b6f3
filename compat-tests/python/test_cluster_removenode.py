"""`nodetool removenode` on a real 3-node cluster on 127.0.23.1/.2/.3 (loopback): a live node,
the local node, an unknown and a malformed host id are refused with Cassandra 5.0's messages;
a `kill -9`ed node is removed from another node through the metadata log: it leaves
system.peers/peers_v2 and `nodetool status` on every node, drivers get TOPOLOGY_CHANGE
REMOVED_NODE (the Python driver's metadata drops the host), its token ranges move to the
next replicas (QUORUM reads and writes of an RF=2 keyspace keep working on the two nodes
left, every row written before is still read), DDL still commits, and a restarted survivor
does not learn the removed node back from gossip.

Every wait is bounded and prints how long it took; the removal's latency is printed."""

import re
import time

import pytest
from cassandra import ConsistencyLevel
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
from cassandra.policies import RoundRobinPolicy, TokenAwarePolicy
from cassandra.query import SimpleStatement

import test_cluster_membership as membership
from cluster_harness import execute_on, running_cluster, wait_for

ADDRESSES = ["127.0.23.1", "127.0.23.2", "127.0.23.3"]
FORM_TIMEOUT_S = 30.0
DOWN_TIMEOUT_S = 15.0
REMOVED_TIMEOUT_S = 10.0
KEYSPACE = "removal_ks"
ROWS = 200


def status_by_address(node):
    """{address: (state, host id)} of `nodetool status` on `node`."""
    return {line.split()[1]: (line[:2], line.split()[-2])
            for line in membership.status_lines(node)}


def quorum_session(node):
    profile = ExecutionProfile(load_balancing_policy=TokenAwarePolicy(RoundRobinPolicy()),
                               consistency_level=ConsistencyLevel.QUORUM, request_timeout=15)
    driver = Cluster([node.host], port=node.native_port, compression=False,
                     execution_profiles={EXEC_PROFILE_DEFAULT: profile}, connect_timeout=10)
    return driver, driver.connect()


def nodetool_error(node, *args):
    """The message of a failed nodetool command, printed as Cassandra's: `error: MESSAGE`."""
    run = node.nodetool(*args)
    assert run.returncode != 0, f"nodetool {args} succeeded: {run.stdout}"
    text = (run.stdout + run.stderr).strip()
    assert text.startswith("error: "), text
    return text.removeprefix("error: ")


def wait_until_all_up(nodes):
    """Waits until `nodetool status` on every node shows every node UN."""
    for node in nodes:
        wait_for(f"nodetool status on {node.host} shows {len(nodes)} UN",
                 lambda n=node: len(status_by_address(n)) == len(nodes) and all(
                     state == "UN" for state, _ in status_by_address(n).values()),
                 FORM_TIMEOUT_S)


@pytest.fixture(scope="module")
def cluster():
    with running_cluster(ADDRESSES) as nodes:
        wait_until_all_up(nodes)
        yield nodes


def test_removenode_refusals(cluster):
    ids = {address: host_id for address, (_, host_id) in status_by_address(cluster[0]).items()}
    live = cluster[1]
    assert nodetool_error(cluster[0], "removenode", ids[live.host]) == (
        f"Node /{live.host}:{live.storage_port} is alive and owns this ID. "
        "Use decommission command to remove it from the ring")
    assert nodetool_error(cluster[0], "removenode", ids[cluster[0].host]) == "Cannot remove self"
    assert nodetool_error(cluster[0], "removenode",
                          "6d1f1c4e-0000-4000-8000-000000000000") == "Host ID not found."
    assert nodetool_error(cluster[0], "removenode", "not-a-uuid") == (
        "Invalid UUID string: not-a-uuid")
    run = cluster[0].nodetool("removenode", "status")
    assert run.returncode == 0 and run.stdout == "RemovalStatus: No removals in process.\n", (
        run.stdout + run.stderr)
    assert len(status_by_address(cluster[0])) == 3, "nothing was removed"


def test_removenode_of_a_killed_node(cluster):
    survivors, victim = cluster[:2], cluster[2]
    victim_id = status_by_address(cluster[0])[victim.host][1]
    execute_on(cluster[0], f"CREATE KEYSPACE {KEYSPACE} WITH replication = "
                           "{'class': 'SimpleStrategy', 'replication_factor': 2}",
               f"CREATE TABLE {KEYSPACE}.t (k int PRIMARY KEY, v text)")
    driver, quorum = quorum_session(cluster[0])
    listener = membership.EventListener(cluster[1])
    try:
        wait_for("the driver sees 3 hosts up",
                 lambda: len([h for h in driver.metadata.all_hosts() if h.is_up]) == 3,
                 FORM_TIMEOUT_S)
        insert = quorum.prepare(f"INSERT INTO {KEYSPACE}.t (k, v) VALUES (?, ?)")
        for k in range(ROWS):
            quorum.execute(insert, (k, f"before-{k}"))

        victim.kill9()
        for node in survivors:
            wait_for(f"{node.host} marks {victim.host} DN",
                     lambda n=node: status_by_address(n).get(victim.host, ("",))[0] == "DN",
                     DOWN_TIMEOUT_S)
        # Down, not yet removed: still listed, still refused as a live one would not be.
        started = time.monotonic()
        run = cluster[0].nodetool("removenode", victim_id)
        removal = time.monotonic() - started
        assert run.returncode == 0, run.stdout + run.stderr
        print(f"removenode of a down node: {removal * 1000:.0f} ms")

        listener.wait(("TOPOLOGY_CHANGE", "REMOVED_NODE", victim.host), REMOVED_TIMEOUT_S)
        for node in survivors:
            wait_for(f"{node.host} no longer lists {victim.host} in nodetool status",
                     lambda n=node: set(status_by_address(n)) == {s.host for s in survivors},
                     REMOVED_TIMEOUT_S)
            rows, v2 = membership.peers_of(node)
            others = {s.host for s in survivors} - {node.host}
            assert {str(r.peer) for r in rows} == others, rows
            assert {str(r.native_address) for r in v2} == others, v2
            ring = node.nodetool("ring")
            assert ring.returncode == 0 and ring.stdout.count("Normal") == 32, ring.stdout
            assert victim.host not in node.nodetool("describecluster").stdout
        wait_for("the driver's metadata drops the removed host",
                 lambda: {h.address for h in driver.metadata.all_hosts()} == {
                     s.host for s in survivors}, REMOVED_TIMEOUT_S)
        assert len(driver.metadata.token_map.ring) == 32

        run = cluster[1].nodetool("removenode", "status")
        assert run.stdout == "RemovalStatus: No removals in process.\n", run.stdout
        run = cluster[1].nodetool("removenode", "force")
        assert run.returncode == 0, run.stdout + run.stderr
        assert run.stdout == "RemovalStatus: No removals in process.\n", run.stdout
        assert nodetool_error(cluster[1], "removenode", victim_id) == "Host ID not found."

        # The two nodes left are every range's replicas: QUORUM (2 of 2) reads every row
        # written before the removal (the new replicas streamed their ranges,
        # test_cluster_removenode_streaming.py) and writes go on.
        select = SimpleStatement(f"SELECT v FROM {KEYSPACE}.t WHERE k = %s",
                                 consistency_level=ConsistencyLevel.QUORUM)
        for k in range(ROWS):
            assert quorum.execute(select, (k,)).one().v == f"before-{k}", k
            quorum.execute(insert, (k, f"after-{k}"))
        rows = quorum.execute(SimpleStatement(f"SELECT k, v FROM {KEYSPACE}.t",
                                              consistency_level=ConsistencyLevel.QUORUM))
        assert sorted((r.k, r.v) for r in rows) == [(k, f"after-{k}") for k in range(ROWS)]
        # The metadata group has the two survivors as its voters: DDL commits.
        quorum.execute(f"CREATE TABLE {KEYSPACE}.after_removal (k int PRIMARY KEY)")
        describe = cluster[0].nodetool("describecluster").stdout
        versions = re.findall(r"^\t\t(\S+): \[(.*)\]$", describe, re.MULTILINE)
        assert len(versions) == 1 and versions[0][1] == ", ".join(s.host for s in survivors), (
            describe)
    finally:
        listener.close()
        driver.shutdown()


def test_a_restarted_survivor_does_not_learn_the_removed_node_back(cluster):
    """The other survivor's gossip still carries the removed node's state (chitchat keeps a
    dead node an hour); the restarted node knows from the log it was removed."""
    survivors = cluster[:2]
    survivors[0].stop()
    survivors[0].start()
    wait_for(f"{survivors[0].host} sees {survivors[1].host} UN again",
             lambda: status_by_address(survivors[0]).get(survivors[1].host, ("",))[0] == "UN",
             FORM_TIMEOUT_S)
    time.sleep(2)  # a few gossip rounds with the node that still gossips the removed one
    assert set(status_by_address(survivors[0])) == {s.host for s in survivors}
    rows, _ = membership.peers_of(survivors[0])
    assert {str(r.peer) for r in rows} == {survivors[1].host}
