#!/usr/bin/env python3
"""Cluster figures of issue 12 (BENCHMARKS.md, "Cluster"), measured in one run on loopback:

  1. time from `kill -9` of a node to DOWN on every surviving node (each survivor's
     STATUS_CHANGE DOWN event, pushed when its failure detector convicts), several trials,
     every node killed in turn and restarted;
  2. time for a new node to serve CQL after start (process start to a query answered
     through it), joining a running 3-node cluster, several trials (each new node is then
     killed and removed with `nodetool removenode`);
  3. DDL latency (CREATE TABLE) with 3 nodes vs 1 node;
  4. DDL right after a `kill -9` of the metadata leader: time from the kill to the next
     CREATE TABLE succeeding through a surviving node.

Usage: .venv/bin/python bench/cluster-figures.py [--trials N] [--ddl N] [--prefix 127.0.23]
(from the repository root; STRATA_BIN or target/release/strata). Prints one line per figure
with median and max, and the load average before and after, since the figures depend on it.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "compat-tests", "python"))

import rawcql  # noqa: E402
from test_cluster_leader_loss import leads  # noqa: E402
from cluster_harness import (ClusterNode, session_on, shared_port, start_cluster,  # noqa: E402
                             wait_for)


def summary(values, unit="s", scale=1.0):
    values = sorted(v * scale for v in values)
    return (f"median {statistics.median(values):.2f} {unit}, max {values[-1]:.2f} {unit} "
            f"(n={len(values)}: {', '.join(f'{v:.2f}' for v in values)})")


def status(node):
    run = node.nodetool("status")
    return {line.split()[1]: (line[:2], line.split()[-2]) for line in run.stdout.splitlines()
            if line[:2] in ("UN", "DN", "UJ", "DJ")}


def wait(what, condition, timeout_s=60.0):
    wait_for(what, condition, timeout_s)


class Listener:
    """A raw connection REGISTERed for STATUS_CHANGE events on one node."""

    def __init__(self, node):
        self.conn = rawcql.RawConnection(node.host, node.native_port)
        self.conn.startup()
        self.conn.register(["STATUS_CHANGE", "TOPOLOGY_CHANGE"])

    def wait_for(self, wanted, since, timeout_s):
        """Seconds from `since` (monotonic) to the `wanted` event."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.conn.sock.settimeout(max(0.05, deadline - time.monotonic()))
            frame = self.conn.read_frame()
            if frame.opcode == rawcql.OPCODE_EVENT and rawcql.node_event(frame) == wanted:
                return time.monotonic() - since
        raise RuntimeError(f"no {wanted} within {timeout_s:.0f} s")

    def close(self):
        self.conn.close()


def timed_ddl(session, statements):
    latencies = []
    for statement in statements:
        started = time.monotonic()
        session.execute(statement)
        latencies.append(time.monotonic() - started)
    return latencies


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=6)
    parser.add_argument("--ddl", type=int, default=20)
    parser.add_argument("--prefix", default="127.0.23")
    args = parser.parse_args()
    addresses = [f"{args.prefix}.{i}" for i in range(11, 15)]
    single = f"{args.prefix}.15"
    native, storage = shared_port(addresses + [single]), shared_port(addresses + [single])
    nodes = [ClusterNode(a, addresses[0], native, storage) for a in addresses[:3]]
    extra = []
    print(f"load average before: {os.getloadavg()}, {os.cpu_count()} CPUs")
    try:
        started = time.monotonic()
        start_cluster(nodes)
        for node in nodes:
            wait("3 UN", lambda n=node: [s for s, _ in status(n).values()] == ["UN"] * 3)
        print(f"3-node cluster formed (all UN everywhere) in {time.monotonic() - started:.2f} s")

        # 1. kill -9 to DOWN on every survivor.
        downs, worst = [], []
        for trial in range(args.trials):
            victim = nodes[trial % 3]
            survivors = [n for n in nodes if n is not victim]
            listeners = [Listener(n) for n in survivors]
            try:
                victim.kill9()
                killed = time.monotonic()
                seen = [l.wait_for(("STATUS_CHANGE", "DOWN", victim.host), killed, 30)
                        for l in listeners]
            finally:
                for listener in listeners:
                    listener.close()
            downs.extend(seen)
            worst.append(max(seen))
            victim.start()
            for node in nodes:
                wait("3 UN again", lambda n=node: [s for s, _ in status(n).values()] == ["UN"] * 3)
        print(f"kill -9 to DOWN, each survivor: {summary(downs)}")
        print(f"kill -9 to DOWN on every survivor (per trial): {summary(worst)}")

        # 2. A new node serving CQL after its start.
        joins = []
        for trial in range(max(2, args.trials // 2)):
            node = ClusterNode(addresses[3], addresses[0], native, storage)
            extra.append(node)
            started = time.monotonic()
            node.launch()
            node.wait_until_listening()
            session = session_on(node)
            session.execute("SELECT release_version FROM system.local")
            joins.append(time.monotonic() - started)
            session.cluster.shutdown()
            wait("4 UN", lambda: [s for s, _ in status(nodes[0]).values()] == ["UN"] * 4)
            host_id = status(nodes[0])[node.host][1]
            node.kill9()
            wait("DN", lambda: status(nodes[0])[node.host][0] == "DN")
            run = nodes[0].nodetool("removenode", host_id)
            assert run.returncode == 0, run.stdout + run.stderr
        print(f"new node: start to first query answered: {summary(joins)}")

        # 3. DDL latency, 3 nodes vs 1.
        session = session_on(nodes[1], max_schema_agreement_wait=0)
        session.execute("CREATE KEYSPACE IF NOT EXISTS bench WITH replication = "
                        "{'class': 'SimpleStrategy', 'replication_factor': 3}")
        three = timed_ddl(session, [f"CREATE TABLE bench.t{i} (k int PRIMARY KEY, v int)"
                                    for i in range(args.ddl)])
        session.cluster.shutdown()
        lone = ClusterNode(single, single, native, storage)
        extra.append(lone)
        lone.start()
        session = session_on(lone, max_schema_agreement_wait=0)
        session.execute("CREATE KEYSPACE bench WITH replication = "
                        "{'class': 'SimpleStrategy', 'replication_factor': 1}")
        one = timed_ddl(session, [f"CREATE TABLE bench.t{i} (k int PRIMARY KEY, v int)"
                                  for i in range(args.ddl)])
        session.cluster.shutdown()
        lone.stop()
        print(f"CREATE TABLE, 3 nodes (through a follower): {summary(three, 'ms', 1000)}")
        print(f"CREATE TABLE, 1 node: {summary(one, 'ms', 1000)}")

        # 4. DDL right after a kill -9 of the metadata leader.
        stalls = []
        for trial in range(max(2, args.trials // 2)):
            wait("a leader", lambda: any(leads(n) for n in nodes))
            leader = next(n for n in nodes if leads(n))
            other = next(n for n in nodes if n is not leader)
            session = session_on(other, max_schema_agreement_wait=0)
            leader.kill9()
            killed = time.monotonic()
            session.execute(f"CREATE TABLE bench.after_kill_{trial} (k int PRIMARY KEY)")
            stalls.append(time.monotonic() - killed)
            session.cluster.shutdown()
            leader.start()
            for node in nodes:
                wait("3 UN again", lambda n=node: [s for s, _ in status(n).values()] == ["UN"] * 3)
        print(f"kill -9 of the metadata leader to the next CREATE TABLE done: {summary(stalls)}")
    finally:
        for node in nodes + extra:
            node.stop()
        print(f"load average after: {os.getloadavg()}")
        if not os.environ.get("STRATA_KEEP_DATA"):
            import shutil
            for node in nodes + extra:
                shutil.rmtree(node.data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
