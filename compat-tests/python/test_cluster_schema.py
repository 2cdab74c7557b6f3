"""Schema in the metadata log (Raft), on a real 3-node cluster on 127.0.1.1/.2/.3: DDL on any
node is applied on every node before it returns (visible on another node at once, the Python
driver's schema agreement succeeds at once, one schema version in system.local/peers and in
`nodetool describecluster`), a node that was stopped catches up on the schema it missed, and
of two concurrent CREATE TABLEs of one name on two nodes one succeeds and the other gets
AlreadyExists, with one table id everywhere.

Every wait is bounded and prints how long it took; DDL latencies are printed."""

import threading
import time

import pytest
from cassandra import AlreadyExists
from cassandra.cluster import Cluster

from cluster_harness import execute_on, running_cluster, session_on, wait_for

ADDRESSES = ["127.0.1.1", "127.0.1.2", "127.0.1.3"]
ADMIN_PORTS = [17101, 17102, 17103]
FORM_TIMEOUT_S = 30.0
CATCH_UP_TIMEOUT_S = 30.0
KEYSPACE = "raft_ks"
# A DDL commits with a majority and waits only for the nodes up; a graceful stop is announced,
# so a stopped node is not waited for (its requests would wait out the 5 s agreement bound).
DDL_WITH_A_NODE_STOPPED_S = 2.0
# Without the leader an election comes first (openraft's 1-2 s timeout, then a vote; 3.4 s
# measured on a loaded machine), still well inside the 10 s the proposal used to wait out.
DDL_WITHOUT_THE_LEADER_S = 6.0


@pytest.fixture(scope="module")
def cluster():
    with running_cluster(ADDRESSES, ADMIN_PORTS) as nodes:
        wait_for("describecluster on the seed lists 3 nodes under one schema version",
                 lambda: one_version(nodes[0], ADDRESSES), FORM_TIMEOUT_S)
        execute_on(nodes[0], f"CREATE KEYSPACE {KEYSPACE} WITH replication = "
                             "{'class': 'SimpleStrategy', 'replication_factor': 3}")
        yield nodes


def describecluster(node):
    run = node.nodetool("describecluster")
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


def one_version(node, addresses):
    """The one schema version `describecluster` shows for exactly `addresses`, else None."""
    out = describecluster(node)
    lines = [line.strip() for line in out.splitlines() if line.startswith("\t\t")]
    expected = "[" + ", ".join(sorted(addresses)) + "]"
    if len(lines) == 1 and lines[0].endswith(": " + expected):
        return lines[0].split(":")[0]
    return None


def tables_on(node, keyspace):
    session = session_on(node)
    try:
        rows = session.execute("SELECT table_name, id FROM system_schema.tables "
                               "WHERE keyspace_name = %s", [keyspace])
        return {row.table_name: row.id for row in rows}
    finally:
        session.cluster.shutdown()


def schema_versions(node):
    """(system.local's schema_version, {peer: schema_version}) as `node` reports them."""
    session = session_on(node)
    try:
        local = session.execute("SELECT schema_version FROM system.local").one().schema_version
        peers = {str(row.peer): row.schema_version
                 for row in session.execute("SELECT peer, schema_version FROM system.peers")}
        return local, peers
    finally:
        session.cluster.shutdown()


def timed(node, statement, what):
    """Runs `statement` through `node`; prints and returns the server's latency in seconds
    (the driver's own schema-agreement wait is off: a fresh driver does not know a stopped
    peer is down and would wait its 10 s for it, against Cassandra too)."""
    session = session_on(node, max_schema_agreement_wait=0)
    try:
        started = time.monotonic()
        session.execute(statement)
        latency = time.monotonic() - started
    finally:
        session.cluster.shutdown()
    print(f"{what}: {latency * 1000:.1f} ms")
    return latency


def test_ddl_on_node2_is_visible_on_node3_at_once(cluster):
    timed(cluster[1], f"CREATE TABLE {KEYSPACE}.from_node2 (k int PRIMARY KEY, v text)",
          "CREATE TABLE on node 2 of 3")
    # No wait: the statement returned only after every live node applied it.
    ids = [tables_on(node, KEYSPACE).get("from_node2") for node in cluster]
    assert ids[0] is not None and ids == [ids[0]] * 3, ids
    local, peers = schema_versions(cluster[2])
    assert set(peers) == set(ADDRESSES) - {cluster[2].host}
    assert all(version == local for version in peers.values()), (local, peers)


def test_python_driver_schema_agreement_succeeds_at_once(cluster):
    driver = Cluster([cluster[0].host], port=cluster[0].native_port, compression=False,
                     connect_timeout=10, max_schema_agreement_wait=10)
    try:
        session = driver.connect()
        wait_for("the driver sees 3 hosts up",
                 lambda: len([h for h in driver.metadata.all_hosts() if h.is_up]) == 3,
                 FORM_TIMEOUT_S)
        latencies = []
        for i in range(5):
            started = time.monotonic()
            result = session.execute(
                f"CREATE TABLE {KEYSPACE}.agreed_{i} (k int PRIMARY KEY, v int)")
            latencies.append(time.monotonic() - started)
            assert result.response_future.is_schema_agreed, f"no agreement for agreed_{i}"
        started = time.monotonic()
        result = session.execute(f"ALTER TABLE {KEYSPACE}.agreed_0 ADD w text")
        alter = time.monotonic() - started
        assert result.response_future.is_schema_agreed
        latencies.sort()
        print(f"DDL latency with 3 nodes, driver schema agreement included: CREATE TABLE "
              f"median {latencies[2] * 1000:.1f} ms, max {latencies[-1] * 1000:.1f} ms; "
              f"ALTER TABLE {alter * 1000:.1f} ms")
        # Far below the driver's 10 s agreement timeout: nodes agreed when the DDL returned.
        assert latencies[-1] < 5, latencies
        table = driver.metadata.keyspaces[KEYSPACE].tables["agreed_0"]
        assert "w" in table.columns
    finally:
        driver.shutdown()
    assert one_version(cluster[2], ADDRESSES)


def test_a_restarted_node_catches_up_on_schema_it_missed(cluster):
    victim = cluster[2]
    victim.stop()
    latency = timed(cluster[0], f"CREATE TABLE {KEYSPACE}.while_down (k int PRIMARY KEY, v int)",
                    "CREATE TABLE right after a graceful stop of one node")
    # The stopped node announced its shutdown: nobody waits for it to apply the change.
    assert latency < DDL_WITH_A_NODE_STOPPED_S, latency
    timed(cluster[0], f"INSERT INTO {KEYSPACE}.while_down (k, v) VALUES (1, 1)", "INSERT")
    expected = tables_on(cluster[0], KEYSPACE)["while_down"]
    victim.start()
    restarted = time.monotonic()
    wait_for("the restarted node has the table created while it was down",
             lambda: tables_on(victim, KEYSPACE).get("while_down") == expected,
             CATCH_UP_TIMEOUT_S)
    print(f"restart to caught-up schema: {time.monotonic() - restarted:.2f} s")
    wait_for("describecluster shows one schema version again",
             lambda: one_version(cluster[0], ADDRESSES), CATCH_UP_TIMEOUT_S)


def test_ddl_right_after_the_first_seed_stops(cluster):
    """The first seed formed the metadata group and leads it unless an election moved the
    lead: a DDL on node 2 right after its graceful stop waits for a new leader (elected
    within openraft's 2 s election timeout), not for the stopped one's requests to expire."""
    victim = cluster[0]
    victim.stop()
    latency = timed(cluster[1], f"CREATE TABLE {KEYSPACE}.seed_down (k int PRIMARY KEY, v int)",
                    "CREATE TABLE right after a graceful stop of the first seed")
    assert latency < DDL_WITHOUT_THE_LEADER_S, latency
    victim.start()
    wait_for("the first seed has the table created while it was down",
             lambda: tables_on(victim, KEYSPACE).get("seed_down") is not None,
             CATCH_UP_TIMEOUT_S)
    wait_for("describecluster shows one schema version again",
             lambda: one_version(cluster[0], ADDRESSES), CATCH_UP_TIMEOUT_S)


def test_concurrent_create_of_one_table_on_two_nodes(cluster):
    for attempt in range(3):
        name = f"race_{attempt}"
        sessions = [session_on(cluster[0]), session_on(cluster[1])]
        barrier = threading.Barrier(2)
        outcomes = [None, None]

        def create(i):
            barrier.wait()
            try:
                sessions[i].execute(f"CREATE TABLE {KEYSPACE}.{name} (k int PRIMARY KEY, v int)")
                outcomes[i] = "created"
            except AlreadyExists as e:
                outcomes[i] = "exists"
                assert e.keyspace == KEYSPACE and e.table == name
            except Exception as e:  # noqa: BLE001 - reported in the assertion below
                outcomes[i] = repr(e)

        threads = [threading.Thread(target=create, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        for session in sessions:
            session.cluster.shutdown()
        assert sorted(outcomes) == ["created", "exists"], outcomes
        ids = {node.host: tables_on(node, KEYSPACE).get(name) for node in cluster}
        assert None not in ids.values() and len(set(ids.values())) == 1, ids
        print(f"{name}: {outcomes}, one id everywhere")
