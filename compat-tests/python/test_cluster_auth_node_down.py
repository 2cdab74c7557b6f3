"""Logins with a node down, as in Cassandra: with system_auth at its default factor of 1 on
a real 3-node cluster (127.0.21.1/.2/.3, PasswordAuthenticator and CassandraAuthorizer),
each role's row lives on one node. With that node killed, the roles stored on the live
nodes still log in through node 1 and read what they were granted (a login reads only its
own role and the roles granted to it, by key, never every role), while the roles stored
on the dead node are refused with Cassandra's 'Unable to perform authentication: Cannot
achieve consistency level LOCAL_QUORUM'. nodetool netstats counts the internode messages.
Every wait is bounded."""

import pathlib
import tempfile

from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import NoHostAvailable

import test_cluster_membership as membership
from cluster_harness import running_cluster, session_on, wait_for
from test_cluster_replication import up_normal

ADDRESSES = ["127.0.21.1", "127.0.21.2", "127.0.21.3"]
FORM_TIMEOUT_S = 30.0
DOWN_TIMEOUT_S = 15.0
ROLES = [f"user{i}" for i in range(12)]
YAML = "authenticator: PasswordAuthenticator\nauthorizer: CassandraAuthorizer\n"
SELECT = "SELECT v FROM app.t WHERE k = 1"


def login(node, user, password):
    return session_on(node, auth_provider=PlainTextAuthProvider(username=user,
                                                                password=password))


def owner(node, role):
    run = node.nodetool("getendpoints", "system_auth", "roles", role)
    assert run.returncode == 0, run.stdout + run.stderr
    owners = run.stdout.split()
    assert len(owners) == 1, owners
    return owners[0]


def test_roles_on_live_replicas_log_in_while_a_node_is_down():
    config = pathlib.Path(tempfile.mkdtemp(prefix="strata-auth-down-"), "cassandra.yaml")
    config.write_text(YAML, encoding="utf-8")
    node_args = [["--config", str(config)]] * len(ADDRESSES)
    with running_cluster(ADDRESSES, node_args=node_args) as nodes:
        first = nodes[0]
        for node in nodes:
            wait_for(f"{node.host} sees 3 UN", lambda node=node: up_normal(node, 3),
                     FORM_TIMEOUT_S)

        def admin_session():
            try:
                return login(first, "cassandra", "cassandra")
            except NoHostAvailable:
                return None

        admin, _ = wait_for("cassandra logs in through node 1", admin_session,
                            FORM_TIMEOUT_S)
        try:
            admin.execute("CREATE KEYSPACE app WITH replication = "
                          "{'class': 'SimpleStrategy', 'replication_factor': 3}")
            admin.execute("CREATE TABLE app.t (k int PRIMARY KEY, v int)")
            admin.execute("INSERT INTO app.t (k, v) VALUES (1, 7)")
            for role in ROLES:
                admin.execute(f"CREATE ROLE {role} WITH PASSWORD = 'pw_{role}' "
                              "AND LOGIN = true")
                admin.execute(f"GRANT SELECT ON app.t TO {role}")
        finally:
            admin.cluster.shutdown()

        # nodetool netstats counts node 1's internode messages (the writes above went to
        # the other replicas on its small-message links).
        run = first.nodetool("netstats")
        assert run.returncode == 0, run.stdout + run.stderr
        assert run.stdout.startswith("Mode: NORMAL\n"), run.stdout
        assert "Read Repair Statistics:\nAttempted: " in run.stdout, run.stdout
        pools = {line[:25].strip(): line[25:].split() for line in run.stdout.splitlines()
                 if line.endswith(tuple("0123456789")) and " messages" in line}
        assert set(pools) == {"Large messages", "Small messages", "Gossip messages"}, run.stdout
        active, pending, completed, dropped = pools["Small messages"]
        assert active == "n/a" and int(completed) > 0 and int(pending) >= 0, run.stdout
        print(run.stdout)

        owners = {role: owner(first, role) for role in ROLES}
        print(f"system_auth replicas: {owners}")
        # The node to stop: not node 1 (the clients' coordinator), holding some roles
        # while others live elsewhere.
        candidates = [n for n in nodes[1:] if 0 < list(owners.values()).count(n.host)
                      < len(ROLES)]
        assert candidates, f"the roles' replicas are not spread: {owners}"
        victim = candidates[0]
        victim.kill9()
        wait_for(f"node 1 sees {victim.host} DN",
                 lambda: membership.state_of(first, victim.host) == "DN", DOWN_TIMEOUT_S)

        alive = [r for r in ROLES if owners[r] != victim.host]
        dead = [r for r in ROLES if owners[r] == victim.host]
        for role in alive:
            s = login(first, role, f"pw_{role}")
            try:
                assert s.execute(SELECT).one().v == 7, role
            finally:
                s.cluster.shutdown()
        for role in dead:
            try:
                s = login(first, role, f"pw_{role}")
            except NoHostAvailable as e:
                message = str(e)
                assert "Bad credentials" in message or "AuthenticationFailed" in message, \
                    message
                assert ("Unable to perform authentication: Cannot achieve consistency "
                        "level LOCAL_QUORUM") in message, message
            else:
                s.cluster.shutdown()
                raise AssertionError(f"{role}, stored on the dead node, logged in")
        print(f"{len(alive)} roles logged in, {len(dead)} refused")
