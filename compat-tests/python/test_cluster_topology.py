"""Token ownership in the metadata log, on a real 3-node cluster on 127.0.13.1/.2/.3
(loopback): every node builds the same ring (token -> owner, from system.local and
system.peers, `nodetool ring` and `getendpoints`) from the log; gossip carries no tokens; a node
that is down keeps its tokens in every ring, also in the ring of a node restarted while it
is down (which cannot have learned them from gossip); the down node comes back with the
tokens it had.

A second cluster, on 127.0.13.4/.5/.6 with the first two as seeds, checks the safety of the
metadata group at start: the first seed, its data wiped, does not initialize a second group
(it asks its other seed, finds the group, and is refused as Cassandra refuses a new host at
the address of a ring member; once the old host is removed it joins the one group and sees
its schema), and a node removed by `nodetool removenode` that restarts with its old data
refuses to start with Cassandra's message, exiting non-zero.

Every wait is bounded and prints how long it took."""

import os
import shutil
import subprocess

import pytest

from cluster_harness import (ClusterNode, execute_on, harness, running_cluster, session_on,
                             shared_port, start_cluster, wait_for)
import test_cluster_membership as membership

ADDRESSES = ["127.0.13.1", "127.0.13.2", "127.0.13.3"]
FORM_TIMEOUT_S = 30.0
DOWN_TIMEOUT_S = 15.0
TOKENS = 16 * len(ADDRESSES)
KEYSPACE = "topology_ks"
SEEDED = ["127.0.13.4", "127.0.13.5", "127.0.13.6"]
DECOMMISSIONED = ("This node was decommissioned and will not rejoin the ring unless "
                  "cassandra.override_decommission=true has been set, or all existing data "
                  "is removed and the node is bootstrapped again")


def ring_of(node):
    """{token: host id} as `node` reports it in system.local and system.peers."""
    session = session_on(node)
    try:
        rows = list(session.execute("SELECT host_id, tokens FROM system.local"))
        rows += list(session.execute("SELECT host_id, tokens FROM system.peers"))
    finally:
        session.cluster.shutdown()
    ring = {}
    for row in rows:
        for token in row.tokens or ():
            assert int(token) not in ring, f"token {token} owned twice on {node.host}"
            ring[int(token)] = row.host_id
    return ring


def endpoints(node, key):
    run = node.nodetool("getendpoints", KEYSPACE, "t", str(key))
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


def ring_tokens(node):
    """(address, token) of every line of `nodetool ring` on `node`."""
    run = node.nodetool("ring")
    assert run.returncode == 0, run.stdout + run.stderr
    return sorted((line.split()[0], line.split()[-1]) for line in run.stdout.splitlines()
                  if line.startswith("127.0.13."))


def status_of(node):
    return {line.split()[1]: line[:2] for line in membership.status_lines(node)}


@pytest.fixture(scope="module")
def cluster():
    with running_cluster(ADDRESSES) as nodes:
        yield nodes


def test_every_node_builds_the_same_ring_from_the_log(cluster):
    rings = [wait_for(f"{n.host} knows {TOKENS} tokens",
                      lambda n=n: (lambda r: r if len(r) == TOKENS else None)(ring_of(n)),
                      FORM_TIMEOUT_S)[0] for n in cluster]
    assert rings[0] == rings[1] == rings[2]
    assert len(set(rings[0].values())) == 3
    execute_on(cluster[0], f"CREATE KEYSPACE {KEYSPACE} WITH replication = "
                           "{'class': 'SimpleStrategy', 'replication_factor': 2}",
               f"CREATE TABLE {KEYSPACE}.t (k int PRIMARY KEY)")
    rings = [ring_tokens(n) for n in cluster]
    assert rings[0] == rings[1] == rings[2] and len(rings[0]) == TOKENS
    for key in range(20):
        found = [endpoints(n, key) for n in cluster]
        assert found[0] == found[1] == found[2] and found[0].count("127.0.13.") == 2, found
    # Tokens are not gossiped: only the log holds them.
    gossip = cluster[0].nodetool("gossipinfo").stdout
    assert "TOKENS" not in gossip and "HOST_ID" in gossip, gossip


def test_a_down_node_keeps_its_tokens_in_every_ring(cluster):
    before = ring_of(cluster[0])
    victim, survivors = cluster[2], cluster[:2]
    victim.kill9()
    for node in survivors:
        wait_for(f"{node.host} marks {victim.host} DN",
                 lambda n=node: status_of(n).get(victim.host) == "DN", DOWN_TIMEOUT_S)
        assert ring_of(node) == before
    # Restarted while the victim is down, a survivor never hears of it from gossip: its
    # ring still holds the victim's tokens, from the log.
    survivors[1].stop()
    survivors[1].start()
    assert ring_of(survivors[1]) == before
    wait_for(f"{survivors[1].host} sees {survivors[0].host} UN",
             lambda: status_of(survivors[1]).get(survivors[0].host) == "UN", FORM_TIMEOUT_S)
    assert status_of(survivors[1]).get(victim.host) == "DN"
    ring = survivors[1].nodetool("ring")
    assert ring.returncode == 0 and ring.stdout.count("Down") == 16, ring.stdout
    # The victim comes back owning what it owned, on every node.
    victim.start()
    for node in cluster:
        wait_for(f"{node.host} sees 3 UN",
                 lambda n=node: sorted(status_of(n).values()) == ["UN"] * 3, FORM_TIMEOUT_S)
        assert ring_of(node) == before
    log = open(victim.log_path, encoding="utf-8", errors="replace").read()
    last_start = log.rsplit("===== start #", 1)[-1]
    assert "joined the token ring" not in last_start, "a restart commits no new record"


@pytest.fixture(scope="module")
def two_seeds():
    """A cluster whose nodes all list the first two as seeds."""
    native_port, storage_port = shared_port(SEEDED), shared_port(SEEDED)
    pool = harness.ServerPool()
    nodes = [ClusterNode(address, ",".join(SEEDED[:2]), native_port, storage_port)
             for address in SEEDED]
    pool.servers.extend(nodes)
    harness._LIVE_SERVERS.extend(nodes)
    try:
        start_cluster(nodes)
        for node in nodes:
            wait_for(f"{node.host} sees 3 UN",
                     lambda n=node: sorted(status_of(n).values()) == ["UN"] * 3, FORM_TIMEOUT_S)
        yield nodes
    finally:
        complaints = pool.close()
        if complaints:
            pytest.fail("\n".join(complaints))


def host_ids(node):
    return {line.split()[1]: line.split()[-2] for line in membership.status_lines(node)}


def refused_start(node):
    """Runs `node` in the foreground, expecting it to refuse to start: (exit code, output)."""
    run = subprocess.run(node.command(), capture_output=True, text=True, timeout=60,
                         cwd=node.data_dir, check=False)
    return run.returncode, run.stdout + run.stderr


def wipe(node):
    shutil.rmtree(os.path.join(node.data_dir, "data"))


def test_a_wiped_first_seed_joins_the_group_instead_of_starting_one(two_seeds):
    first, second, third = two_seeds
    execute_on(second, "CREATE KEYSPACE wiped_ks WITH replication = "
                       "{'class': 'SimpleStrategy', 'replication_factor': 1}")
    old_id = host_ids(second)[first.host]
    first.kill9()
    wait_for(f"{second.host} marks {first.host} DN",
             lambda: status_of(second).get(first.host) == "DN", DOWN_TIMEOUT_S)
    wipe(first)
    code, output = refused_start(first)
    assert code != 0, output
    assert (f"A node with address /{first.host}:{first.storage_port} already exists, "
            "cancelling join. Use cassandra.replace_address if you want to replace this "
            "node.") in output, output
    assert "initializing the metadata group" not in output, output
    # Once the old host is removed, the wiped node joins the one group as a new host.
    run = second.nodetool("removenode", old_id)
    assert run.returncode == 0, run.stdout + run.stderr
    wipe(first)
    first.start()
    for node in two_seeds:
        wait_for(f"{node.host} sees 3 UN",
                 lambda n=node: sorted(status_of(n).values()) == ["UN"] * 3, FORM_TIMEOUT_S)
    new_id = host_ids(second)[first.host]
    assert new_id != old_id
    log = open(first.log_path, encoding="utf-8", errors="replace").read()
    last_start = log.rsplit("===== start #", 1)[-1]
    assert "initializing the metadata group" not in last_start
    assert "the seeds have a metadata group: joining it" in last_start
    # One group: the schema made before the wipe is there, DDL through it reaches the others.
    execute_on(first, "CREATE TABLE wiped_ks.t (k int PRIMARY KEY)")
    session = session_on(third)
    try:
        tables = [r.table_name for r in session.execute(
            "SELECT table_name FROM system_schema.tables WHERE keyspace_name = 'wiped_ks'")]
    finally:
        session.cluster.shutdown()
    assert tables == ["t"]
    rings = [ring_of(n) for n in two_seeds]
    assert rings[0] == rings[1] == rings[2] and len(rings[0]) == TOKENS
    assert old_id not in {str(h) for h in rings[0].values()}


def test_a_removed_node_restarted_with_its_data_refuses_to_start(two_seeds):
    first, second, third = two_seeds
    removed_id = host_ids(first)[third.host]
    third.kill9()
    wait_for(f"{first.host} marks {third.host} DN",
             lambda: status_of(first).get(third.host) == "DN", DOWN_TIMEOUT_S)
    run = first.nodetool("removenode", removed_id)
    assert run.returncode == 0, run.stdout + run.stderr
    code, output = refused_start(third)
    assert code != 0, output
    assert DECOMMISSIONED in output, output
    assert set(status_of(first)) == {first.host, second.host}
