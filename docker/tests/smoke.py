"""Single-container test of the image (strata:latest, or $STRATA_IMAGE), built by docker/build.sh:

- the image: non-root user 10001, ports 7000 and 9042, a volume on /var/lib/cassandra, an
  exec-form HEALTHCHECK running the binary;
- a container started with the official image's CASSANDRA_* variables becomes healthy and
  shows them in system.local; `strata nodetool status`, `nodetool status` (the image's link)
  and `strata health` work through `docker exec`; cqlsh and the Python driver connect on the
  container's address, which system.local reports as its rpc_address;
- the single-node fault scenarios of faults.py on that container (docker kill + start: every
  acknowledged write is replayed from the commit log; docker stop: exit 0 within 10 s; pause;
  network disconnect), with their counts;
- `nodetool drain` leaves the container running, DRAINED: its HEALTHCHECK fails and Docker
  reports it unhealthy, until `docker restart` makes it healthy again;
- the data outlives the container: a new container on the same volume reads it.

    python docker/tests/smoke.py
"""

import os
import subprocess
import sys
import time

import dockerctl
import faults
from dockerctl import docker
from workload import QUORUM, Outcomes, check, create_table

SINGLE_SCENARIOS = ["kill", "stop", "pause", "disconnect"]


class Checks:
    def __init__(self):
        self.results = {}

    def __call__(self, name, fn):
        """Runs one check; an exception or a false result fails it (and only it)."""
        started = time.monotonic()
        try:
            detail = fn()
            ok = detail is not False
        except Exception as e:  # noqa: BLE001 - reported as this check's failure
            ok, detail = False, f"{type(e).__name__}: {e}"
        self.results[name] = ok
        note = f" ({detail})" if isinstance(detail, str) and detail else ""
        print(f"{'ok    ' if ok else 'FAILED'} {name}{note} [{time.monotonic() - started:.1f} s]")
        return ok


def image_config():
    config = dockerctl.inspect(dockerctl.IMAGE)["Config"]
    assert config["User"] == "10001:10001", config["User"]
    assert set(config["ExposedPorts"]) == {"7000/tcp", "9042/tcp"}, config["ExposedPorts"]
    assert "/var/lib/cassandra" in config["Volumes"], config["Volumes"]
    test = config["Healthcheck"]["Test"]
    assert test[:3] == ["CMD", "/usr/bin/strata", "health"], test
    return f"user {config['User']}, healthcheck {' '.join(test[1:])}"


def nodetool_status(node, ip, *argv):
    out = dockerctl.exec_(node, *argv, "status")
    assert f"UN  {ip}" in out, out
    return out.splitlines()[-1].strip() if out.strip() else ""


def cqlsh(ip):
    out = subprocess.run(
        ["cqlsh", ip, "9042", "--connect-timeout", "10", "-e", "SELECT cluster_name, rpc_address FROM system.local"],
        capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert ip in out.stdout, f"rpc_address is not the container's address: {out.stdout}"
    return " ".join(out.stdout.split()[-5:])


def official_environment(session, topology):
    """system.local as the official image's CASSANDRA_* variables set them."""
    row = session.execute(
        "SELECT cluster_name, listen_address, broadcast_address, rpc_address FROM system.local"
    ).one()
    got = {"cluster_name": row.cluster_name, **{k: str(getattr(row, k)) for k in row._fields[1:]}}
    want = {"cluster_name": "smoke", "listen_address": topology.ip, "broadcast_address": topology.ip,
            "rpc_address": topology.ip}
    assert got == want, f"system.local {got}, expected {want} from {topology.environment}"
    return ", ".join(f"{k} {v}" for k, v in got.items())


def insert_select(session):
    create_table(session, "smoke", "kv", replication_factor=1)
    insert = session.prepare("INSERT INTO smoke.kv (id, v) VALUES (?, ?)")
    for i in range(100):
        session.execute(insert, (f"k{i}", f"k{i}"))
    rows = {r.id: r.v for r in session.execute("SELECT id, v FROM smoke.kv")}
    assert rows == {f"k{i}": f"k{i}" for i in range(100)}, f"{len(rows)} rows"
    return "100 rows written and read"


def drained_is_unhealthy(topology):
    """`nodetool drain` leaves the container running but DRAINED: the HEALTHCHECK command exits
    non-zero and Docker reports the container unhealthy; `docker restart` makes it healthy again."""
    node = topology.nodes[0]
    dockerctl.exec_(node, "nodetool", "drain", timeout=120)
    drained = time.monotonic()
    check = dockerctl.run(["docker", "exec", node, "strata", "health"], timeout=30, check=False)
    assert check.returncode != 0, f"strata health exits 0 on a drained node: {check.stdout}"
    assert "DRAINED" in check.stderr, check.stderr
    while (status := dockerctl.health(node)) != "unhealthy":
        assert status in ("healthy", "starting"), f"a drained container is {status}, not running unhealthy"
        assert time.monotonic() - drained < 60, "Docker does not report the drained container unhealthy after 60 s"
        time.sleep(0.5)
    unhealthy = time.monotonic() - drained
    started = time.monotonic()
    docker("restart", "-t", "10", node, timeout=60)
    dockerctl.wait_healthy(node)
    return (f"strata health exit {check.returncode} ({check.stderr.strip()}), Docker unhealthy "
            f"{unhealthy:.1f} s after the drain; healthy {time.monotonic() - started:.1f} s after docker restart")


def survives_replacement(topology):
    """Removes the container and runs a new one on the same volume: the rows are still there."""
    node = topology.nodes[0]
    docker("rm", "-f", node)
    topology.start_container()
    dockerctl.wait_healthy(node)
    session, _ = faults.connect(topology)
    try:
        outcomes = Outcomes(acknowledged={f"k{i}" for i in range(100)})
        counts = check(session, "smoke", "kv", outcomes, QUORUM)
        assert counts.ok() and counts.found == 100, counts.line()
        return counts.line()
    finally:
        session.cluster.shutdown()


def main():
    faults.exit_on_sigterm()
    topology = faults.Single()
    checks = Checks()
    ip = topology.ip
    scenarios = {}
    try:
        print(f"== smoke test of {dockerctl.IMAGE}")
        checks("image: user, ports, volume, healthcheck", image_config)
        if not checks("container healthy", lambda: f"{topology.start():.1f} s to healthy"):
            print(dockerctl.logs(topology.nodes[0]))
            return 1
        node = topology.nodes[0]
        checks("docker exec NODE strata nodetool status", lambda: nodetool_status(node, ip, "strata", "nodetool"))
        checks("docker exec NODE nodetool status", lambda: nodetool_status(node, ip, "nodetool"))
        checks("docker exec NODE strata health", lambda: dockerctl.exec_(node, "strata", "health") == "healthy")
        checks("cqlsh on the container address", lambda: cqlsh(ip))
        session, events = faults.connect(topology)
        try:
            checks("CASSANDRA_* environment in system.local", lambda: official_environment(session, topology))
            checks("driver insert/select", lambda: insert_select(session))
            scenarios = faults.run_scenarios(topology, SINGLE_SCENARIOS, session, events)
        finally:
            session.cluster.shutdown()
        checks("drained: unhealthy, then healthy after docker restart", lambda: drained_is_unhealthy(topology))
        checks("data survives a new container on the volume", lambda: survives_replacement(topology))
    finally:
        topology.cleanup()
    passed = sum(checks.results.values())
    print(f"== smoke checks: {passed} passed, {len(checks.results) - passed} failed")
    ok = faults.summary("single-node fault scenarios", SINGLE_SCENARIOS, scenarios)
    return 0 if ok and passed == len(checks.results) else 1


if __name__ == "__main__":
    os.chdir(os.path.dirname(os.path.abspath(__file__)))
    sys.exit(main())
