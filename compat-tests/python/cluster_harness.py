"""Launching several strata processes as one cluster on loopback addresses (Linux routes all
of 127.0.0.0/8 to lo), shared by the multi-node tests."""

import contextlib
import socket
import tempfile
import time

import pytest

from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
from cassandra.policies import WhiteListRoundRobinPolicy

from driver_helpers import process_harness


harness = process_harness()


def shared_port(addresses):
    """A TCP and UDP port free on every address (a small race is accepted)."""
    for _ in range(50):
        port = harness.free_port()
        try:
            for address in addresses:
                for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                    with socket.socket(socket.AF_INET, kind) as sock:
                        sock.bind((address, port))
            return port
        except OSError:
            continue
    raise RuntimeError(f"no port free on {addresses}")


class ClusterNode(harness.StrataServer):
    """One node on its own loopback address; every node uses the same ports."""

    def __init__(self, address, seed, native_port, storage_port, admin_port=None,
                 extra_args=()):
        super().__init__(harness.strata_binary(), tempfile.mkdtemp(prefix="strata-cluster-"),
                         ["--seeds", seed, "--admin-address", address, *extra_args])
        self.host = address
        self.native_port = native_port
        self.storage_port = storage_port
        if admin_port is not None:
            self.admin_port = admin_port
        self.cluster_name = harness.CLUSTER_NAME


def wait_for(what, condition, timeout_s):
    """Polls `condition` until it returns a truthy value; returns (value, seconds)."""
    started = time.monotonic()
    last = None
    while time.monotonic() - started < timeout_s:
        last = condition()
        if last:
            elapsed = time.monotonic() - started
            print(f"{what}: {elapsed:.2f} s")
            return last, elapsed
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {timeout_s:.0f} s (last: {last!r})")


def session_on(node, **cluster_options):
    """A driver session that only talks to `node` (to read that node's system tables)."""
    profile = ExecutionProfile(load_balancing_policy=WhiteListRoundRobinPolicy([node.host]),
                               request_timeout=20)
    cluster = Cluster([node.host], port=node.native_port, compression=False,
                      execution_profiles={EXEC_PROFILE_DEFAULT: profile}, connect_timeout=10,
                      **cluster_options)
    return cluster.connect()


def execute_on(node, *statements):
    """Runs `statements` in order through `node` alone, in a driver opened for them."""
    session = session_on(node)
    try:
        for statement in statements:
            session.execute(statement)
    finally:
        session.cluster.shutdown()


def driver_through(node, policy, **profile_options):
    """A driver (not yet connected) whose only contact point is `node`, balancing with
    `policy`: it learns the other nodes from system.peers."""
    profile = ExecutionProfile(load_balancing_policy=policy, request_timeout=15,
                               **profile_options)
    return Cluster([node.host], port=node.native_port, compression=False,
                   execution_profiles={EXEC_PROFILE_DEFAULT: profile}, connect_timeout=10)


def start_cluster(nodes):
    """Starts the first node (the seed), then the others at once; returns seconds taken."""
    started = time.monotonic()
    nodes[0].start()
    for node in nodes[1:]:
        node.launch()
    for node in nodes[1:]:
        node.wait_until_listening()
    elapsed = time.monotonic() - started
    print(f"{len(nodes)} nodes serve CQL after {elapsed:.2f} s")
    return elapsed


def status_lines(node):
    """`nodetool status` on `node`: one line per node it knows (UN, DN, UJ or DJ first)."""
    run = node.nodetool("status")
    assert run.returncode == 0, run.stdout + run.stderr
    return [line for line in run.stdout.splitlines() if line[:2] in ("UN", "DN", "UJ", "DJ")]


def up_normal(node, count):
    """Whether `node` sees `count` nodes, all up and normal."""
    lines = status_lines(node)
    return len(lines) == count and all(line.startswith("UN") for line in lines)


@contextlib.contextmanager
def running_cluster(addresses, admin_ports=None, node_args=None):
    """A started cluster on `addresses` (the first is the seed), stopped and removed after;
    fails the test if a node died by itself. `node_args[i]` are extra flags of node i (its
    `--dc` and `--rack`, say)."""
    native_port, storage_port = shared_port(addresses), shared_port(addresses)
    pool = harness.ServerPool()
    nodes = [ClusterNode(address, addresses[0], native_port, storage_port, admin, args)
             for address, admin, args in zip(addresses, admin_ports or [None] * len(addresses),
                                              node_args or [()] * len(addresses))]
    pool.servers.extend(nodes)
    harness._LIVE_SERVERS.extend(nodes)
    try:
        # The others join at once, as a seed's peers do when a cluster is started.
        start_cluster(nodes)
        yield nodes
    finally:
        complaints = pool.close()
        if complaints:
            pytest.fail("\n".join(complaints))


@contextlib.contextmanager
def cluster_with_table(addresses, columns, table_id, admin_ports=None, form_timeout_s=30.0):
    """`running_cluster` once every node sees every other up and normal, with the keyspace
    `ks` replicated to all of them (SimpleStrategy) and the table `ks.t (columns)` created
    through the first node with the fixed id `table_id`."""
    with running_cluster(addresses, admin_ports) as nodes:
        for node in nodes:
            wait_for(f"{node.host} sees {len(nodes)} UN",
                     lambda node=node: up_normal(node, len(nodes)), form_timeout_s)
        execute_on(nodes[0],
                   "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', "
                   f"'replication_factor': {len(nodes)}}}",
                   f"CREATE TABLE ks.t ({columns}) WITH ID = '{table_id}'")
        yield nodes
