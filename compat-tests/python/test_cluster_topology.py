"""Token ownership in the metadata log, on a real 3-node cluster on 127.0.13.1/.2/.3
(loopback): every node builds the same ring (token -> owner, from system.local and
system.peers, `nodetool ring` and `getendpoints`) from the log; gossip carries no tokens; a node
that is down keeps its tokens in every ring, also in the ring of a node restarted while it
is down (which cannot have learned them from gossip); the down node comes back with the
tokens it had.

Every wait is bounded and prints how long it took."""

import pytest

from cluster_harness import execute_on, running_cluster, session_on, wait_for
import test_cluster_membership as membership

ADDRESSES = ["127.0.13.1", "127.0.13.2", "127.0.13.3"]
FORM_TIMEOUT_S = 30.0
DOWN_TIMEOUT_S = 15.0
TOKENS = 16 * len(ADDRESSES)
KEYSPACE = "topology_ks"


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
