"""A real 3-node cluster on 127.0.0.1/.2/.3 (all loopback on Linux), every node on the same
ports: it forms from one seed, every node lists the others in system.peers, the Python
driver discovers all three, `nodetool status` shows them UN, a `kill -9`ed node is marked DN
and announced DOWN (STATUS_CHANGE) within 10 s, and announced UP again after a restart; a
SIGTERMed node is announced DOWN at once, and a quick restart as DOWN then UP.

Every wait is bounded and prints how long it took."""

import signal
import socket
import time

import pytest
from cassandra.cluster import Cluster

import rawcql
from cluster_harness import running_cluster, session_on, status_lines, wait_for

ADDRESSES = ["127.0.0.1", "127.0.0.2", "127.0.0.3"]
FORM_TIMEOUT_S = 20.0
DOWN_TIMEOUT_S = 10.0
UP_TIMEOUT_S = 30.0
# Well inside the failure detector's ~6 s: the drain itself announces it.
DRAIN_DOWN_TIMEOUT_S = 3.0


def peers_of(node):
    session = session_on(node)
    try:
        rows = list(session.execute("SELECT peer, rpc_address, host_id, tokens, data_center, rack "
                                    "FROM system.peers"))
        v2 = list(session.execute("SELECT peer, native_address, native_port FROM system.peers_v2"))
        return rows, v2
    finally:
        session.cluster.shutdown()


def state_of(node, address):
    return {line.split()[1]: line[:2] for line in status_lines(node)}.get(address)


class EventListener:
    """A raw connection REGISTERed for node events."""

    def __init__(self, node):
        self.conn = rawcql.RawConnection(node.host, node.native_port)
        self.conn.startup()
        self.conn.register(["STATUS_CHANGE", "TOPOLOGY_CHANGE"])
        self.events = []

    def wait(self, wanted, timeout_s):
        """Reads events until `wanted` (type, change, address) arrives; returns seconds."""
        started = time.monotonic()
        while time.monotonic() - started < timeout_s:
            self.conn.sock.settimeout(max(0.05, timeout_s - (time.monotonic() - started)))
            try:
                frame = self.conn.read_frame()
            except socket.timeout:
                break
            if frame.opcode != rawcql.OPCODE_EVENT:
                continue
            event = rawcql.node_event(frame)
            self.events.append(event)
            if event == wanted:
                elapsed = time.monotonic() - started
                print(f"event {wanted}: {elapsed:.2f} s")
                return elapsed
        raise AssertionError(f"no {wanted} within {timeout_s:.0f} s; events: {self.events}")

    def close(self):
        self.conn.close()


@pytest.fixture(scope="module")
def cluster():
    with running_cluster(ADDRESSES) as nodes:
        # Each node announces a peer (NEW_NODE) once gossip says it serves CQL, up to a gossip
        # round and a membership refresh after it started serving: wait until every node has
        # heard every other's RPC_READY, then for two refreshes (500 ms each), so that those
        # first announcements are not taken for events of the tests' own faults.
        for node in nodes:
            wait_for(f"{node.host} hears RPC_READY from both peers",
                     lambda node=node: node.nodetool("gossipinfo").stdout.count(
                         "RPC_READY:true") == len(nodes), FORM_TIMEOUT_S)
        time.sleep(1.0)
        yield nodes


def test_every_node_lists_the_others_in_peers(cluster):
    for node in cluster:
        others = {n.host for n in cluster} - {node.host}

        def listed():
            rows, v2 = peers_of(node)
            complete = {str(r.peer) for r in rows} == others and all(r.tokens for r in rows)
            return (rows, v2) if complete else None

        (rows, v2), _ = wait_for(f"system.peers of {node.host} lists {sorted(others)}", listed,
                                 FORM_TIMEOUT_S)
        for row in rows:
            assert str(row.rpc_address) == str(row.peer)
            assert row.host_id is not None and row.data_center == "datacenter1"
            assert len(row.tokens) == 16
        assert {(str(r.native_address), r.native_port) for r in v2} == {
            (host, node.native_port) for host in others}


def test_driver_discovers_every_host_and_token(cluster):
    driver = Cluster([cluster[0].host], port=cluster[0].native_port, compression=False,
                     connect_timeout=10)
    try:
        driver.connect()
        hosts, _ = wait_for("the driver sees 3 hosts up",
                            lambda: [h for h in driver.metadata.all_hosts() if h.is_up]
                            if len([h for h in driver.metadata.all_hosts() if h.is_up]) == 3
                            else None, FORM_TIMEOUT_S)
        assert {h.address for h in hosts} == set(ADDRESSES)
        ring = driver.metadata.token_map.ring
        assert len(ring) == 48, f"{len(ring)} tokens"
    finally:
        driver.shutdown()


def test_nodetool_status_shows_three_up_normal(cluster):
    for node in cluster:
        lines, _ = wait_for(f"nodetool status on {node.host} shows 3 UN",
                            lambda: (lambda ls: ls if len(ls) == 3 and all(
                                line.startswith("UN") for line in ls) else None)(
                                status_lines(node)), FORM_TIMEOUT_S)
        assert {line.split()[1] for line in lines} == set(ADDRESSES)
    run = cluster[0].nodetool("ring")
    assert run.returncode == 0 and run.stdout.count("Normal") == 48, run.stdout


def test_kill9_is_down_within_10s_and_up_after_restart(cluster):
    victim = cluster[2]
    listener = EventListener(cluster[0])
    try:
        victim.kill9()
        killed = time.monotonic()
        listener.wait(("STATUS_CHANGE", "DOWN", victim.host), DOWN_TIMEOUT_S)
        for node in cluster[:2]:
            remaining = max(0.5, DOWN_TIMEOUT_S - (time.monotonic() - killed))
            wait_for(f"{node.host} marks {victim.host} DN",
                     lambda: state_of(node, victim.host) == "DN", remaining)
        print(f"kill -9 to DN on both survivors: {time.monotonic() - killed:.2f} s")
        # A down node stays in the ring and in system.peers.
        rows, _ = peers_of(cluster[0])
        assert victim.host in {str(r.peer) for r in rows}

        victim.start()
        restarted = time.monotonic()
        listener.wait(("STATUS_CHANGE", "UP", victim.host), UP_TIMEOUT_S)
        for node in cluster[:2]:
            wait_for(f"{node.host} marks {victim.host} UN again",
                     lambda: state_of(node, victim.host) == "UN", UP_TIMEOUT_S)
        print(f"restart to UN on both survivors: {time.monotonic() - restarted:.2f} s")
        downs = [e for e in listener.events if e == ("STATUS_CHANGE", "DOWN", victim.host)]
        assert len(downs) == 1, f"DOWN is sent once: {listener.events}"
        assert not [e for e in listener.events if e[0] == "TOPOLOGY_CHANGE"], (
            f"a restart is not a new node: {listener.events}")
    finally:
        listener.close()


def test_sigterm_is_down_at_once_and_a_quick_restart_is_down_then_up(cluster):
    """A drain (SIGTERM) stops advertising CQL first, so peers push DOWN without waiting for
    their failure detectors; a node killed and restarted before it is convicted is a new
    incarnation, which peers push as DOWN then UP (Cassandra's onRestart), never UP alone."""
    victim = cluster[1]
    listener = EventListener(cluster[0])
    try:
        victim.process.send_signal(signal.SIGTERM)
        listener.wait(("STATUS_CHANGE", "DOWN", victim.host), DRAIN_DOWN_TIMEOUT_S)
        victim.process.wait(timeout=30)
        victim.start()
        listener.wait(("STATUS_CHANGE", "UP", victim.host), UP_TIMEOUT_S)
        wait_for(f"{cluster[0].host} marks {victim.host} UN again",
                 lambda: state_of(cluster[0], victim.host) == "UN", UP_TIMEOUT_S)

        listener.events.clear()
        victim.kill9()
        victim.start()
        listener.wait(("STATUS_CHANGE", "UP", victim.host), UP_TIMEOUT_S)
        about_victim = [e for e in listener.events if e[2] == victim.host]
        assert about_victim == [("STATUS_CHANGE", "DOWN", victim.host),
                                ("STATUS_CHANGE", "UP", victim.host)], listener.events
    finally:
        listener.close()
