"""SCHEMA_CHANGE events on a node that catches up on the metadata log by installing a Raft
snapshot instead of replaying entries, on a real 3-node cluster on 127.0.13.7/.8/.9
(loopback). Node 3 is killed while node 1 creates a table and a type, drops a table and
alters another more than 500 times (the log is snapshotted every 500 entries and purged up to
100 before the snapshot, `metadata::raft_config`); node 3 restarts while the other two are
paused (SIGSTOP), a raw connection REGISTERs for SCHEMA_CHANGE on it, the others resume: node
3 installs the leader's snapshot and its client gets every change as it would from replayed
entries.

Every wait is bounded and prints how long it took."""

import os
import signal
import socket
import time

import pytest

import rawcql
from cluster_harness import execute_on, running_cluster, session_on, wait_for
import test_cluster_membership as membership

ADDRESSES = ["127.0.13.7", "127.0.13.8", "127.0.13.9"]
DOWN_TIMEOUT_S = 15.0
EVENTS_TIMEOUT_S = 60.0
# Past the 500-entry snapshot threshold with the 100 entries kept after it.
ALTERS = 620


def schema_event(frame):
    """(change, target, keyspace, name) of a SCHEMA_CHANGE event frame, else None."""
    kind, offset = rawcql.read_string(frame.body, 0)
    if kind != "SCHEMA_CHANGE":
        return None
    change, offset = rawcql.read_string(frame.body, offset)
    target, offset = rawcql.read_string(frame.body, offset)
    keyspace, offset = rawcql.read_string(frame.body, offset)
    name = rawcql.read_string(frame.body, offset)[0] if target != "KEYSPACE" else None
    return change, target, keyspace, name


@pytest.fixture(scope="module")
def cluster():
    with running_cluster(ADDRESSES) as nodes:
        for node in nodes:
            wait_for(f"{node.host} sees 3 UN",
                     lambda n=node: [line[:2] for line in membership.status_lines(n)]
                     == ["UN"] * 3, 30.0)
        yield nodes


def test_a_node_that_installs_a_snapshot_announces_the_changes(cluster):
    leader_side, lagging = cluster[0], cluster[2]
    execute_on(leader_side,
               "CREATE KEYSPACE snap_ks WITH replication = "
               "{'class': 'SimpleStrategy', 'replication_factor': 1}",
               "CREATE TABLE snap_ks.altered (k int PRIMARY KEY)",
               "CREATE TABLE snap_ks.dropped (k int PRIMARY KEY)")
    lagging.kill9()
    wait_for(f"{leader_side.host} marks {lagging.host} DN",
             lambda: membership.state_of(leader_side, lagging.host) == "DN", DOWN_TIMEOUT_S)
    # The driver's own schema-agreement wait is off: it knows node 3 only from system.peers
    # and never marks it down, so it would wait 10 s after each statement.
    session = session_on(leader_side, max_schema_agreement_wait=0)
    try:
        session.execute("CREATE TABLE snap_ks.created (k int PRIMARY KEY)")
        session.execute("CREATE TYPE snap_ks.address (street text)")
        session.execute("DROP TABLE snap_ks.dropped")
        started = time.monotonic()
        for i in range(ALTERS):
            session.execute(f"ALTER TABLE snap_ks.altered WITH comment = 'c{i}'")
        print(f"{ALTERS} ALTER TABLE: {time.monotonic() - started:.1f} s")
    finally:
        session.cluster.shutdown()
    # The lagging node must serve a registered client before it catches up: it restarts
    # while the other two are paused, and they resume once the client is registered.
    others = [n for n in cluster if n is not lagging]
    for node in others:
        os.kill(node.process.pid, signal.SIGSTOP)
    try:
        lagging.start()
        conn = rawcql.RawConnection(lagging.host, lagging.native_port)
        conn.startup()
        conn.register(["SCHEMA_CHANGE"])
    finally:
        for node in others:
            os.kill(node.process.pid, signal.SIGCONT)
    try:
        wanted = {("CREATED", "TABLE", "snap_ks", "created"),
                  ("CREATED", "TYPE", "snap_ks", "address"),
                  ("DROPPED", "TABLE", "snap_ks", "dropped"),
                  ("UPDATED", "TABLE", "snap_ks", "altered")}
        seen = set()
        started = time.monotonic()
        while not wanted <= seen and time.monotonic() - started < EVENTS_TIMEOUT_S:
            conn.sock.settimeout(max(0.05, EVENTS_TIMEOUT_S - (time.monotonic() - started)))
            try:
                frame = conn.read_frame()
            except socket.timeout:
                break
            if frame.opcode == rawcql.OPCODE_EVENT:
                event = schema_event(frame)
                if event:
                    seen.add(event)
        assert wanted <= seen, f"missing {wanted - seen}; seen {seen}"
        print(f"every change announced {time.monotonic() - started:.2f} s after SIGCONT")
    finally:
        conn.close()
    log = open(lagging.log_path, encoding="utf-8", errors="replace").read()
    assert "installed a metadata snapshot" in log, "caught up by replaying entries instead"
    session = session_on(lagging)
    try:
        tables = sorted(r.table_name for r in session.execute(
            "SELECT table_name FROM system_schema.tables WHERE keyspace_name = 'snap_ks'"))
    finally:
        session.cluster.shutdown()
    assert tables == ["altered", "created"]
