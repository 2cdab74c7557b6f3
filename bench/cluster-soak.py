#!/usr/bin/env python3
"""No false DOWN under full CPU load (issue 12, BENCHMARKS.md "Cluster"): a 3-node cluster on
loopback runs for a fixed time while a busy loop runs on every CPU and a driver keeps QUORUM
writes in flight against an RF=3 table. Every node has a raw connection REGISTERed for
STATUS_CHANGE, and `nodetool status` is polled on every node: any DOWN event or DN line
while no node was stopped is a false DOWN. At the end every acknowledged write is read back
at QUORUM.

Usage: .venv/bin/python bench/cluster-soak.py [--seconds 600] [--burners N] [--prefix 127.0.24]
(from the repository root; STRATA_BIN or target/release/strata). The run stops by itself
after --seconds; it prints the counts (acknowledged, timed out, found, lost, DOWN events,
DN observations) and the load average, and exits non-zero on a false DOWN or a lost write.
"""

import argparse
import multiprocessing
import os
import socket
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "compat-tests", "python"))

import rawcql  # noqa: E402
from cassandra import ConsistencyLevel, OperationTimedOut, WriteTimeout  # noqa: E402
from cassandra.policies import RoundRobinPolicy, TokenAwarePolicy  # noqa: E402
from cassandra.query import SimpleStatement  # noqa: E402
from cluster_harness import (ClusterNode, driver_through, shared_port,  # noqa: E402
                             start_cluster, wait_for)


def burn(deadline):
    """A busy loop until `deadline` (time.time()), so every CPU is saturated."""
    x = 0
    while time.time() < deadline:
        for _ in range(100_000):
            x += 1


class EventLog(threading.Thread):
    """Records every STATUS_CHANGE DOWN a node pushes until `stop` is set."""

    def __init__(self, node, stop):
        super().__init__(daemon=True)
        self.node, self.stop, self.downs = node, stop, []
        self.conn = rawcql.RawConnection(node.host, node.native_port)
        self.conn.startup()
        self.conn.register(["STATUS_CHANGE"])

    def run(self):
        self.conn.sock.settimeout(0.5)
        while not self.stop.is_set():
            try:
                frame = self.conn.read_frame()
            except (socket.timeout, TimeoutError):
                continue
            if frame.opcode == rawcql.OPCODE_EVENT:
                event = rawcql.node_event(frame)
                if event[1] == "DOWN":
                    self.downs.append((time.strftime("%H:%M:%S"), event))
                    print(f"  {self.node.host} pushed {event}", flush=True)
        self.conn.close()


def down_lines(node):
    run = node.nodetool("status")
    return [line for line in run.stdout.splitlines() if line[:2] == "DN"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=600)
    parser.add_argument("--burners", type=int, default=os.cpu_count())
    parser.add_argument("--in-flight", type=int, default=32)
    parser.add_argument("--prefix", default="127.0.24")
    args = parser.parse_args()
    addresses = [f"{args.prefix}.{i}" for i in range(11, 14)]
    native, storage = shared_port(addresses), shared_port(addresses)
    nodes = [ClusterNode(a, addresses[0], native, storage) for a in addresses]
    print(f"load average before: {os.getloadavg()}, {os.cpu_count()} CPUs, "
          f"{args.burners} burners, {args.seconds} s", flush=True)
    stop = threading.Event()
    burners, logs, cluster = [], [], None
    try:
        start_cluster(nodes)
        for node in nodes:
            wait_for("no DN", lambda n=node: len(n.nodetool("status").stdout.split("UN")) == 4, 60)
        cluster = driver_through(nodes[0], TokenAwarePolicy(RoundRobinPolicy()))
        session = cluster.connect()
        session.execute("CREATE KEYSPACE soak WITH replication = "
                        "{'class': 'SimpleStrategy', 'replication_factor': 3}")
        session.execute("CREATE TABLE soak.t (k int PRIMARY KEY, v int)")
        insert = session.prepare("INSERT INTO soak.t (k, v) VALUES (?, ?)")
        insert.consistency_level = ConsistencyLevel.QUORUM
        logs = [EventLog(node, stop) for node in nodes]
        for log in logs:
            log.start()
        deadline = time.time() + args.seconds
        burners = [multiprocessing.Process(target=burn, args=(deadline,), daemon=True)
                   for _ in range(args.burners)]
        for burner in burners:
            burner.start()

        acked, timed_out, dn_seen = set(), 0, []
        slots = threading.Semaphore(args.in_flight)
        lock = threading.Lock()

        def done(_, key):
            with lock:
                acked.add(key)
            slots.release()

        def failed(error, key):
            nonlocal timed_out
            with lock:
                if isinstance(error, (WriteTimeout, OperationTimedOut)):
                    timed_out += 1
                else:
                    print(f"  write {key} failed: {error!r}", flush=True)
            slots.release()

        key, next_poll, next_report = 0, time.time() + 10, time.time() + 60
        while time.time() < deadline:
            slots.acquire()
            future = session.execute_async(insert, (key, key))
            future.add_callbacks(done, failed, callback_args=(key,), errback_args=(key,))
            key += 1
            if time.time() >= next_poll:
                next_poll = time.time() + 10
                for node in nodes:
                    dn_seen.extend((node.host, line) for line in down_lines(node))
            if time.time() >= next_report:
                next_report = time.time() + 60
                print(f"  {time.strftime('%H:%M:%S')} sent {key}, acknowledged {len(acked)}, "
                      f"timed out {timed_out}, load {os.getloadavg()[0]:.1f}", flush=True)
        for _ in range(args.in_flight):
            slots.acquire()
        stop.set()
        for log in logs:
            log.join(5)

        check = SimpleStatement("SELECT k FROM soak.t", consistency_level=ConsistencyLevel.QUORUM,
                                fetch_size=5000)
        found = {row.k for row in session.execute(check)}
        lost = acked - found
        downs = [d for log in logs for d in log.downs]
        print(f"writes: sent {key}, acknowledged {len(acked)}, timed out {timed_out}, "
              f"found {len(acked & found)}, lost {len(lost)}")
        print(f"false DOWN: {len(downs)} STATUS_CHANGE DOWN events, "
              f"{len(dn_seen)} DN lines in nodetool status ({args.seconds} s, "
              f"{args.burners} busy loops)")
        for entry in downs + dn_seen:
            print(f"  {entry}")
        return 1 if downs or dn_seen or lost else 0
    finally:
        stop.set()
        for burner in burners:
            burner.terminate()
        if cluster is not None:
            cluster.shutdown()
        for node in nodes:
            node.stop()
        print(f"load average after: {os.getloadavg()}")
        if not os.environ.get("STRATA_KEEP_DATA"):
            import shutil
            for node in nodes:
                shutil.rmtree(node.data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
