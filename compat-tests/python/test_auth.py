"""Authentication and authorization as Cassandra 5.0 runs them: a node started with a
cassandra.yaml naming PasswordAuthenticator and CassandraAuthorizer, the default superuser
`cassandra`/`cassandra`, roles and permissions in system_auth, Cassandra's error codes and
messages, the python driver's PlainTextAuthProvider, `cqlsh -u -p`, nodetool's `-u/-pw`, and
roles that survive a restart."""

import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest
from cassandra import InvalidRequest, Unauthorized
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import NoHostAvailable

from driver_helpers import connect, process_harness

# Loopback addresses of this suite's nodes (others use 127.0.0.1).
HOST = "127.0.3.1"
START_TIMEOUT_S = 30
free_ports = process_harness().free_ports
YAML = "authenticator: PasswordAuthenticator\nauthorizer: CassandraAuthorizer\n"


class AuthNode:
    """One strata process with authentication on; restarts keep its data and ports."""

    def __init__(self, binary):
        self.binary = binary
        self.dir = tempfile.mkdtemp(prefix="strata-auth-")
        self.host = HOST
        self.native_port, self.admin_port, self.storage_port = free_ports(3, HOST)
        self.process = None
        config = pathlib.Path(self.dir, "cassandra.yaml")
        config.write_text(YAML, encoding="utf-8")
        self.command = [
            binary, "--config", str(config), "--data-dir", os.path.join(self.dir, "data"),
            "--rpc-address", HOST, "--listen-address", HOST, "--admin-address", HOST,
            "--native-port", str(self.native_port), "--storage-port", str(self.storage_port),
            "--admin-port", str(self.admin_port), "--cluster-name", "auth"]

    def start(self):
        with open(os.path.join(self.dir, "stderr.log"), "ab") as log:
            self.process = subprocess.Popen(self.command, stdin=subprocess.DEVNULL,
                                            stdout=log, stderr=log)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log()
            try:
                with socket.create_connection((HOST, self.native_port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        pytest.fail(f"node did not listen in {START_TIMEOUT_S} s\n{self.log()}")

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self):
        return pathlib.Path(self.dir, "stderr.log").read_text(errors="replace")[-4000:]

    def nodetool(self, *args):
        return subprocess.run(
            [self.binary, "nodetool", "-h", HOST, "-p", str(self.admin_port), *args],
            capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture(scope="module")
def node():
    binary = os.environ.get("STRATA_BIN", str(pathlib.Path(__file__).resolve().parents[2]
                                                / "target" / "release" / "strata"))
    server = AuthNode(binary)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.dir, ignore_errors=True)


def login(node, user, password):
    return connect(node, auth_provider=PlainTextAuthProvider(username=user, password=password))


@pytest.fixture(scope="module")
def admin(node):
    session = login(node, "cassandra", "cassandra")
    yield session
    session.cluster.shutdown()


def auth_error(node, user, password):
    with pytest.raises(NoHostAvailable) as failure:
        login(node, user, password).cluster.shutdown()
    return str(failure.value)


def test_wrong_password_or_unknown_role_is_bad_credentials(node):
    for user, password in (("cassandra", "wrong"), ("nobody", "cassandra")):
        message = auth_error(node, user, password)
        assert "AuthenticationFailed" in message, message
        assert "Bad credentials" in message, message
        assert f"Provided username {user} and/or password are incorrect" in message, message


def test_default_superuser_is_stored_as_cassandra_stores_it(admin):
    row = admin.execute(
        "SELECT role, is_superuser, can_login, salted_hash FROM system_auth.roles "
        "WHERE role = 'cassandra'").one()
    assert (row.role, row.is_superuser, row.can_login) == ("cassandra", True, True)
    assert row.salted_hash.startswith("$2a$10$"), row.salted_hash
    tables = {r.table_name for r in admin.execute(
        "SELECT table_name FROM system_schema.tables WHERE keyspace_name = 'system_auth'")}
    assert {"roles", "role_members", "role_permissions"} <= tables, tables
    roles = admin.execute("LIST ROLES")
    assert roles.column_names == ["role", "super", "login", "options", "datacenters"]
    assert [(r.role, r.super, r.login) for r in roles] == [("cassandra", True, True)]


def test_select_needs_permission_and_grant_gives_it(node, admin):
    admin.execute("CREATE KEYSPACE authks WITH replication = "
                  "{'class': 'SimpleStrategy', 'replication_factor': 1}")
    admin.execute("CREATE TABLE authks.t (k int PRIMARY KEY, v text)")
    admin.execute("INSERT INTO authks.t (k, v) VALUES (1, 'one')")
    admin.execute("CREATE ROLE reader WITH PASSWORD = 'pw' AND LOGIN = true")
    reader = login(node, "reader", "pw")
    try:
        with pytest.raises(Unauthorized) as denied:
            reader.execute("SELECT v FROM authks.t WHERE k = 1")
        assert ("User reader has no SELECT permission on <table authks.t> or any of its "
                "parents") in str(denied.value)
        admin.execute("GRANT SELECT ON authks.t TO reader")
        assert reader.execute("SELECT v FROM authks.t WHERE k = 1").one().v == "one"
        # Prepared statements are checked when executed.
        insert = reader.prepare("INSERT INTO authks.t (k, v) VALUES (?, ?)")
        with pytest.raises(Unauthorized) as denied:
            reader.execute(insert, (2, "two"))
        assert ("User reader has no MODIFY permission on <table authks.t> or any of its "
                "parents") in str(denied.value)
        admin.execute("GRANT MODIFY ON KEYSPACE authks TO reader")
        reader.execute(insert, (2, "two"))
        listed = [(r.role, r.resource, r.permission)
                  for r in admin.execute("LIST ALL PERMISSIONS OF reader")]
        assert listed == [("reader", "<keyspace authks>", "MODIFY"),
                          ("reader", "<table authks.t>", "SELECT")]
        admin.execute("REVOKE SELECT ON authks.t FROM reader")
        with pytest.raises(Unauthorized):
            reader.execute("SELECT v FROM authks.t WHERE k = 1")
    finally:
        reader.cluster.shutdown()


def test_roles_inherit_and_statements_use_cassandras_messages(node, admin):
    admin.execute("CREATE KEYSPACE inheritks WITH replication = "
                  "{'class': 'SimpleStrategy', 'replication_factor': 1}")
    admin.execute("CREATE TABLE inheritks.t (k int PRIMARY KEY)")
    admin.execute("CREATE ROLE analysts")
    admin.execute("GRANT SELECT ON KEYSPACE inheritks TO analysts")
    admin.execute("CREATE USER alice WITH PASSWORD 'secret' NOSUPERUSER")
    admin.execute("GRANT analysts TO alice")
    with pytest.raises(InvalidRequest, match="alice is a member of analysts"):
        admin.execute("GRANT analysts TO alice")
    with pytest.raises(InvalidRequest, match="analysts already exists"):
        admin.execute("CREATE ROLE analysts")
    with pytest.raises(InvalidRequest, match="ghost doesn't exist"):
        admin.execute("DROP ROLE ghost")
    admin.execute("DROP ROLE IF EXISTS ghost")
    alice = login(node, "alice", "secret")
    try:
        assert list(alice.execute("SELECT k FROM inheritks.t")) == []
        assert [r.role for r in alice.execute("LIST ROLES")] == ["alice", "analysts"]
        with pytest.raises(Unauthorized, match="User alice has no CREATE permission on "
                                               "<all roles> or any of its parents"):
            alice.execute("CREATE ROLE other")
        alice.execute("ALTER ROLE alice WITH PASSWORD = 'changed'")
    finally:
        alice.cluster.shutdown()
    assert "Provided username alice" in auth_error(node, "alice", "secret")
    login(node, "alice", "changed").cluster.shutdown()
    users = {(r.name, r.super) for r in admin.execute("LIST USERS")}
    assert {("cassandra", True), ("alice", False)} <= users, users
    with pytest.raises(InvalidRequest, match="Cannot DROP primary role for current login"):
        admin.execute("DROP ROLE cassandra")


def test_creator_gets_all_permissions_on_what_it_creates(node, admin):
    admin.execute("CREATE ROLE builder WITH PASSWORD = 'b' AND LOGIN = true")
    admin.execute("GRANT CREATE ON ALL KEYSPACES TO builder")
    builder = login(node, "builder", "b")
    try:
        builder.execute("CREATE KEYSPACE builtks WITH replication = "
                        "{'class': 'SimpleStrategy', 'replication_factor': 1}")
        builder.execute("CREATE TABLE builtks.t (k int PRIMARY KEY, v int)")
        builder.execute("INSERT INTO builtks.t (k, v) VALUES (1, 1)")
        assert builder.execute("SELECT v FROM builtks.t").one().v == 1
        with pytest.raises(Unauthorized, match="User builder has no DROP permission on "
                                               "<keyspace authks>"):
            builder.execute("DROP KEYSPACE authks")
    finally:
        builder.cluster.shutdown()


def test_cqlsh_logs_in_with_u_and_p(node, tmp_path):
    cqlsh = pathlib.Path(sys.executable).parent / "cqlsh"
    command = [str(cqlsh)] if cqlsh.exists() else [sys.executable, "-m", "cqlshlib"]
    env = dict(os.environ, HOME=str(tmp_path))
    run = subprocess.run(
        command + ["-u", "cassandra", "-p", "cassandra", "-e", "LIST ROLES", HOST,
                   str(node.native_port)],
        capture_output=True, text=True, timeout=60, env=env, check=False)
    assert run.returncode == 0, run.stderr
    assert "cassandra" in run.stdout and "super" in run.stdout, run.stdout
    run = subprocess.run(
        command + ["-u", "cassandra", "-p", "nope", "-e", "LIST ROLES", HOST,
                   str(node.native_port)],
        capture_output=True, text=True, timeout=60, env=env, check=False)
    assert run.returncode != 0
    assert "Provided username cassandra and/or password are incorrect" in run.stderr, run.stderr


def test_admin_actions_need_superuser_credentials(node):
    refused = node.nodetool("flush")
    assert refused.returncode != 0
    assert "Authentication failed! Credentials required" in refused.stderr, refused.stderr
    wrong = node.nodetool("-u", "cassandra", "-pw", "nope", "flush")
    assert wrong.returncode != 0, wrong
    done = node.nodetool("-u", "cassandra", "-pw", "cassandra", "flush")
    assert done.returncode == 0, done.stderr
    assert node.nodetool("info").returncode == 0


def test_roles_and_permissions_survive_a_restart(node, admin):
    admin.execute("CREATE ROLE durable WITH PASSWORD = 'd' AND LOGIN = true")
    admin.execute("GRANT SELECT ON KEYSPACE authks TO durable")
    admin.cluster.shutdown()
    node.stop()
    node.start()
    session = login(node, "durable", "d")
    try:
        assert session.execute("SELECT v FROM authks.t WHERE k = 1").one().v == "one"
    finally:
        session.cluster.shutdown()
    assert "Provided username cassandra" in auth_error(node, "cassandra", "d")
