"""Helpers shared by the python-driver tests (imported by conftest.py and the tests)."""

import importlib.util
import pathlib
import re

import pytest
from cassandra import InvalidRequest
from cassandra.cluster import Cluster, ExecutionProfile, EXEC_PROFILE_DEFAULT
from cassandra.policies import ConstantReconnectionPolicy, RoundRobinPolicy

# The connection modes of the core workload. Compression must be switched off explicitly:
# the driver's default (compression=True) picks lz4 whenever the lz4 module is installed.
CONNECTION_MODES = {
    # No protocol_version: the driver starts at DSE_V2 and steps down until the server accepts.
    "negotiated": {"compression": False},
    "v4": {"protocol_version": 4, "compression": False},
    "v5": {"protocol_version": 5, "compression": False},
    # A named compression makes the driver fail if the server does not offer it.
    "lz4": {"compression": "lz4"},
    "v4-snappy": {"protocol_version": 4, "compression": "snappy"},
}

EXPECTED_PROTOCOL = {"negotiated": 5, "v4": 4, "v5": 5, "lz4": 5, "v4-snappy": 4}


def connect(server, keyspace=None, **cluster_args):
    """A connected Session on `server`; the caller shuts down session.cluster."""
    profile = ExecutionProfile(load_balancing_policy=RoundRobinPolicy(), request_timeout=20)
    cluster_args.setdefault("compression", False)
    cluster = Cluster(
        [server.host], port=server.native_port,
        execution_profiles={EXEC_PROFILE_DEFAULT: profile},
        reconnection_policy=ConstantReconnectionPolicy(0.5, max_attempts=None),
        connect_timeout=10, control_connection_timeout=10,
        **cluster_args)
    try:
        return cluster.connect(keyspace)
    except Exception:
        cluster.shutdown()
        raise


def create_keyspace(session, name):
    session.execute(
        f"CREATE KEYSPACE {name} WITH replication = "
        "{'class': 'SimpleStrategy', 'replication_factor': 1}")


def expect_invalid(session, cql, message):
    """Runs `cql`, which must fail with InvalidRequest carrying exactly `message`."""
    with pytest.raises(InvalidRequest) as error:
        session.execute(cql)
    actual = server_message(error.value)
    assert actual == message, f"expected {message!r}, got {actual!r}"


def server_message(error):
    """The server's message text inside a driver exception."""
    message = getattr(error, "message", None)
    if isinstance(message, str):
        return message
    match = re.search(r'message="(.*)"$', str(error), re.DOTALL)
    return match.group(1) if match else str(error)


def process_harness():
    """The process harness of compat-tests/conftest.py (`conftest` here names the driver one)."""
    path = pathlib.Path(__file__).resolve().parent.parent / "conftest.py"
    spec = importlib.util.spec_from_file_location("strata_process_harness", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
