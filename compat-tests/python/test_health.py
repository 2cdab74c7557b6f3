"""`strata health` (the Docker image's HEALTHCHECK), `nodetool` as the binary's other name, and
a clean exit on SIGTERM (what `docker stop` sends PID 1)."""

import os
import socket
import subprocess

import pytest


@pytest.fixture
def node(strata_factory):
    return strata_factory.start()


def health(server, native_port=None):
    """Runs `strata health` configured like `server` (its flags), as the image runs it."""
    return subprocess.run(
        [
            server.binary,
            "--rpc-address", server.host,
            "--native-port", str(native_port or server.native_port),
            "--admin-port", str(server.admin_port),
            "health", "--timeout", "3",
        ],
        capture_output=True, text=True, timeout=30, check=False,
    )


def test_a_serving_node_is_healthy(node):
    run = health(node)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "healthy"


def test_no_cql_answer_is_unhealthy(node):
    with socket.socket() as sock:
        sock.bind((node.host, 0))
        closed_port = sock.getsockname()[1]
    run = health(node, native_port=closed_port)
    assert run.returncode == 1
    assert "CQL on" in run.stderr, run.stderr


def test_no_node_is_unhealthy(node):
    node.stop()
    run = health(node)
    assert run.returncode == 1
    assert "admin endpoint" in run.stderr, run.stderr


def test_nodetool_is_the_binary_under_another_name(node, tmp_path):
    link = tmp_path / "nodetool"
    os.symlink(node.binary, link)
    run = subprocess.run(
        [str(link), "-h", node.host, "-p", str(node.admin_port), "status"],
        capture_output=True, text=True, timeout=30, check=False,
    )
    assert run.returncode == 0, run.stderr
    assert any(line.startswith("UN") and node.host in line for line in run.stdout.splitlines())


def test_sigterm_drains_and_exits_zero(node):
    assert node.stop() == 0
    with open(node.log_path, encoding="utf-8", errors="replace") as log:
        assert "Drained; exiting" in log.read()


def test_a_drained_node_is_unhealthy_until_restarted(node):
    """`nodetool drain` leaves the process up, DRAINED and serving no clients, as Cassandra's
    does, until it is stopped: the health check (the image's HEALTHCHECK) fails meanwhile, and
    the restarted node is healthy again."""
    run = node.nodetool("drain")
    assert run.returncode == 0, run.stderr
    assert node.process.poll() is None, f"the process exited on nodetool drain\n{node.log_tail()}"
    run = health(node)
    assert run.returncode == 1
    assert "operation mode is DRAINED, not NORMAL" in run.stderr, run.stderr
    with socket.socket() as sock:
        sock.settimeout(3)
        assert sock.connect_ex((node.host, node.native_port)) != 0, "a drained node still accepts CQL connections"
    assert node.stop() == 0
    with open(node.log_path, encoding="utf-8", errors="replace") as log:
        text = log.read()
    assert "Drained; serving no clients until the process is stopped" in text
    assert "Drained; exiting" in text
    node.start()
    run = health(node)
    assert run.returncode == 0, run.stderr
