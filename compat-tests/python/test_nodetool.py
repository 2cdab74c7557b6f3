"""`strata nodetool VERB` against a private node's admin port."""

import pytest

from driver_helpers import connect


@pytest.fixture
def node(strata_factory):
    return strata_factory.start()


def nodetool_ok(server, *verb):
    run = server.nodetool(*verb)
    assert run.returncode == 0, f"nodetool {' '.join(verb)}: {run.stdout}\n{run.stderr}"
    return run.stdout


def test_status_shows_the_node_up_and_normal(node):
    lines = nodetool_ok(node, "status").splitlines()
    assert any(line.startswith("UN") and node.host in line for line in lines), lines


def test_info_flush_compact(node):
    assert nodetool_ok(node, "info").strip()
    nodetool_ok(node, "flush")
    nodetool_ok(node, "compact")


def test_snapshots(node):
    nodetool_ok(node, "snapshot")
    assert nodetool_ok(node, "listsnapshots").strip()
    nodetool_ok(node, "clearsnapshot", "--all")


def test_unknown_verb_fails(node):
    run = node.nodetool("no-such-verb")
    assert run.returncode != 0


def test_drain_then_restart_keeps_data(node):
    session = connect(node)
    try:
        session.execute("CREATE KEYSPACE compat_drain WITH replication = "
                        "{'class': 'SimpleStrategy', 'replication_factor': 1}")
        session.execute("CREATE TABLE compat_drain.t (k int PRIMARY KEY)")
        session.execute("INSERT INTO compat_drain.t (k) VALUES (1)")
    finally:
        session.cluster.shutdown()
    nodetool_ok(node, "drain")
    node.restart()
    session = connect(node)
    try:
        assert session.execute("SELECT k FROM compat_drain.t").one().k == 1
    finally:
        session.cluster.shutdown()
