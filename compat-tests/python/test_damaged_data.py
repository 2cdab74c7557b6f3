"""Damaged data (Cassandra's disk_failure_policy and nodetool scrub): after one flipped byte
in a data file the node starts, names the damaged file and range, serves every other
partition, fails only the reads that touch the damage (best_effort), never returns wrong
data; `nodetool scrub` rewrites the table without the damaged block, reports the loss, and
the table reads cleanly again. stop_paranoid stops the native transport (the process stays
up for inspection); die ends the process."""

import pathlib
import shutil
import socket
import tempfile
import time

import pytest
from cassandra import InvalidRequest
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile, NoHostAvailable
from cassandra.policies import WhiteListRoundRobinPolicy
from cassandra.protocol import ServerError

from driver_helpers import process_harness

harness = process_harness()

ROWS = 2000
VALUE = "v" * 100


def value_of(k):
    return f"{k}:{VALUE}"


@pytest.fixture
def damaged_node():
    """start(policy) -> (node, session): a node on the loopback address whose table ks.t held ROWS rows
    when one byte of its largest data file was flipped, restarted with `policy`."""
    started = []

    def start(policy):
        data_dir = tempfile.mkdtemp(prefix="strata-damage-")
        config = pathlib.Path(data_dir) / "cassandra.yaml"
        config.write_text(f"disk_failure_policy: {policy}\n")
        node = harness.StrataServer(harness.strata_binary(), data_dir, ["--config", str(config)])
        started.append(node)
        node.start()
        cluster, session = connect(node)
        session.execute("CREATE KEYSPACE ks WITH replication = "
                        "{'class': 'SimpleStrategy', 'replication_factor': 1}")
        session.execute("CREATE TABLE ks.t (k int PRIMARY KEY, v text)")
        insert = session.prepare("INSERT INTO ks.t (k, v) VALUES (?, ?)")
        for k in range(ROWS):
            session.execute(insert, (k, value_of(k)))
        cluster.shutdown()
        assert node.stop() == 0, node.log_tail()
        flip_one_byte(pathlib.Path(node.data_dir) / "data" / "engine")
        node.start()
        return node

    yield start
    for node in started:
        node.stop()
        shutil.rmtree(node.data_dir, ignore_errors=True)


def flip_one_byte(engine_dir):
    """Flips a byte near the start of the largest array file: its first data block, which
    holds the partitions of the lowest tokens."""
    largest = max(engine_dir.glob("*.arr"), key=lambda p: p.stat().st_size)
    with open(largest, "r+b") as f:
        f.seek(100)
        byte = f.read(1)
        f.seek(100)
        f.write(bytes([byte[0] ^ 0xFF]))
    return largest.name


def connect(node):
    profile = ExecutionProfile(load_balancing_policy=WhiteListRoundRobinPolicy([node.host]))
    cluster = Cluster([node.host], port=node.native_port, connect_timeout=10,
                      control_connection_timeout=10, protocol_version=5,
                      execution_profiles={EXEC_PROFILE_DEFAULT: profile})
    return cluster, cluster.connect()


def read_all(session):
    """({k: value read}, {k: error}) over every partition."""
    select = session.prepare("SELECT v FROM ks.t WHERE k = ?")
    values, errors = {}, {}
    for k in range(ROWS):
        try:
            row = session.execute(select, (k,)).one()
            values[k] = row.v if row else None
        except (ServerError, NoHostAvailable) as err:
            # The driver tries the next host on a ServerError, then reports every host's.
            errors[k] = str(err)
    return values, errors


def test_best_effort_serves_the_rest_then_scrub_drops_the_damage(damaged_node):
    node = damaged_node("best_effort")
    log = node.log_tail(400)
    assert "Damaged data in" in log and ".arr block 0" in log, log

    cluster, session = connect(node)
    try:
        values, errors = read_all(session)
        assert 0 < len(errors) < ROWS // 4, f"{len(errors)} partitions failed"
        for k, message in errors.items():
            assert "corruption in" in message and "block 0" in message, (k, message)
        # Never wrong data: every partition read is exactly what was written.
        assert all(values[k] == value_of(k) for k in values), "a read returned wrong data"
        with pytest.raises((ServerError, NoHostAvailable), match="corruption"):
            list(session.execute("SELECT k FROM ks.t"))

        scrub = node.nodetool("scrub", "ks", "t")
        assert scrub.returncode == 0, scrub.stderr
        assert "dropped 1 damaged block(s)" in scrub.stdout, scrub.stdout
        assert "dropped " in scrub.stdout and "block 0" in scrub.stdout, scrub.stdout
        assert "Scrubbed" in node.log_tail(400)

        values, errors = read_all(session)
        assert not errors, errors
        lost = [k for k, v in values.items() if v is None]
        assert 0 < len(lost) < ROWS // 4
        assert all(values[k] == value_of(k) for k in values if values[k] is not None)
        count = session.execute("SELECT count(*) FROM ks.t").one()[0]
        assert count == ROWS - len(lost)
        again = node.nodetool("scrub", "ks", "t")
        assert "Scrub found no damaged data" in again.stdout, again.stdout
        with pytest.raises(InvalidRequest):
            session.execute("SELECT * FROM ks.missing")
    finally:
        cluster.shutdown()
    assert node.is_running()


def test_stop_paranoid_stops_the_native_transport_and_keeps_the_process(damaged_node):
    node = damaged_node("stop_paranoid")
    cluster, session = connect(node)
    try:
        with pytest.raises(Exception):
            list(session.execute("SELECT k FROM ks.t"))
    finally:
        cluster.shutdown()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            socket.create_connection((node.host, node.native_port), timeout=1).close()
            time.sleep(0.2)
        except OSError:
            break
    else:
        pytest.fail("the native transport still accepts connections")
    assert node.is_running()
    info = node.nodetool("info")
    assert info.returncode == 0, info.stderr
    assert "Stopping native transport as disk_failure_policy is stop_paranoid" in node.log_tail(400)


def test_die_ends_the_process(damaged_node):
    node = damaged_node("die")
    cluster, session = connect(node)
    try:
        with pytest.raises((ServerError, NoHostAvailable, Exception)):
            list(session.execute("SELECT k FROM ks.t"))
    finally:
        cluster.shutdown()
    assert node.process.wait(timeout=15) == 100, node.log_tail()
