"""docker/compose.yml as a user runs it, with one Compose command: `up -d`, every node healthy,
queries through node 1's CQL port published on the host (127.0.0.1), `down -v`, nothing left.

    python docker/tests/compose_check.py                      # docker compose (v2)
    python docker/tests/compose_check.py --compose docker-compose   # v1

The queries: system.local through the published port is node 1 (cluster strata, dc1, its pinned
address), system.peers lists nodes 2 and 3, and a row written at QUORUM into an RF=3 table
reads back at QUORUM. Each phase is timed; the whole check takes well under two minutes.
"""

import argparse
import socket
import sys
import time

from cassandra import ConsistencyLevel
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
from cassandra.policies import WhiteListRoundRobinPolicy
from cassandra.query import SimpleStatement

import dockerctl
import faults

SERVICES = faults.ComposeCluster.ips_by_service


def free_host_port():
    """A TCP port free on every host interface (Docker publishes on 0.0.0.0)."""
    with socket.socket() as sock:
        sock.bind(("0.0.0.0", 0))
        return sock.getsockname()[1]


def query_through(port):
    """What a user's client sees through 127.0.0.1:port; returns a description."""
    profile = ExecutionProfile(
        load_balancing_policy=WhiteListRoundRobinPolicy(["127.0.0.1"]), request_timeout=20,
        consistency_level=ConsistencyLevel.QUORUM,
    )
    cluster = Cluster(["127.0.0.1"], port=port, execution_profiles={EXEC_PROFILE_DEFAULT: profile},
                      connect_timeout=10, control_connection_timeout=10)
    session = cluster.connect()
    try:
        local = session.execute("SELECT cluster_name, data_center, rpc_address FROM system.local").one()
        got = (local.cluster_name, local.data_center, str(local.rpc_address))
        assert got == ("strata", "dc1", SERVICES["node1"]), f"system.local through 127.0.0.1:{port}: {got}"
        peers = sorted(str(row.peer) for row in session.execute("SELECT peer FROM system.peers"))
        assert peers == [SERVICES["node2"], SERVICES["node3"]], f"system.peers: {peers}"
        session.execute("CREATE KEYSPACE IF NOT EXISTS compose_check WITH replication = "
                        "{'class': 'SimpleStrategy', 'replication_factor': 3}")
        session.execute("CREATE TABLE IF NOT EXISTS compose_check.t (k text PRIMARY KEY, v text)")
        session.execute("INSERT INTO compose_check.t (k, v) VALUES ('k', 'v')")
        read = SimpleStatement("SELECT v FROM compose_check.t WHERE k = 'k'",
                               consistency_level=ConsistencyLevel.QUORUM)
        row = session.execute(read).one()
        assert row is not None and row.v == "v", f"RF=3 row read back at QUORUM: {row}"
        return f"system.local {'/'.join(got)}, peers {', '.join(peers)}, an RF=3 row written and read at QUORUM"
    finally:
        cluster.shutdown()


def leftovers(project):
    """Containers, networks and volumes of the Compose project still present."""
    label = f"label=com.docker.compose.project={project}"
    left = []
    for kind, listing in (("container", ["ps", "-aq"]), ("network", ["network", "ls", "-q"]),
                          ("volume", ["volume", "ls", "-q"])):
        ids = dockerctl.docker(*listing, "--filter", label, check=False).split()
        left += [f"{kind} {i}" for i in ids]
    return left


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--compose", default="docker compose", help="the Compose command (default: docker compose)")
    args = parser.parse_args()
    faults.exit_on_sigterm()
    command = args.compose.split()
    version = dockerctl.run([*command, "version"], timeout=20).stdout.strip().splitlines()[0]
    port = free_host_port()
    compose = dockerctl.Compose(host_cql_port=port, command=command)
    print(f"== {' '.join(command)} -f docker/compose.yml ({version}), project {compose.project}, "
          f"node 1's CQL on host port {port}")
    ok = False
    started = time.monotonic()
    try:
        compose("up", "-d", timeout=300)
        up = time.monotonic() - started
        print(f"up -d returned after {up:.1f} s")
        for service in SERVICES:
            container = compose.container(service)
            dockerctl.wait_healthy(container, timeout=120)
            print(f"{service} healthy at +{time.monotonic() - started:.1f} s")
        phase = time.monotonic()
        print(f"query through 127.0.0.1:{port}: {query_through(port)} ({time.monotonic() - phase:.1f} s)")
        ok = True
    except Exception as e:  # noqa: BLE001 - reported as the check's failure, after the cleanup below
        print(f"FAILED: {type(e).__name__}: {e}")
    finally:
        phase = time.monotonic()
        argv = [*compose.command, "-f", dockerctl.COMPOSE_FILE, "-p", compose.project, "down", "-v", "-t", "5"]
        down = dockerctl.run(argv, timeout=120, check=False, env=compose.env)
        left = leftovers(compose.project)
        print(f"down -v: exit {down.returncode} after {time.monotonic() - phase:.1f} s, "
              f"left behind: {', '.join(left) or 'nothing'}")
        if down.returncode != 0 or left:
            ok = False
            print(down.stderr.strip())
            dockerctl.cleanup(compose)
    print(f"== {' '.join(command)} check in {time.monotonic() - started:.0f} s: "
          f"{1 if ok else 0} passed, {0 if ok else 1} failed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
