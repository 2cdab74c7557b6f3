"""Crash safety: every write the node acknowledged survives `kill -9` and a restart on the same
data dir. Each test runs on its own node (strata_factory)."""

import time

import pytest
from cassandra.cluster import NoHostAvailable
from cassandra.concurrent import execute_concurrent_with_args

from driver_helpers import connect, create_keyspace

ROWS = 2000
RESTART_QUERY_TIMEOUT_S = 30


def value_for(k):
    return f"value-{k}-" + "x" * (k % 50)


TABLE = "compat_durable.t"


def write_acknowledged(session, keys):
    insert = session.prepare(f"INSERT INTO {TABLE} (k, v) VALUES (?, ?)")
    results = execute_concurrent_with_args(
        session, insert, [(k, value_for(k)) for k in keys], concurrency=32,
        raise_on_first_error=True)
    assert all(ok for ok, _ in results)


def run_with_session(server, action):
    """Runs action(session) on a fresh connection, closed afterwards whatever happens."""
    session = connect(server)
    try:
        return action(session)
    finally:
        session.cluster.shutdown()


def create_table(session):
    create_keyspace(session, "compat_durable")
    session.execute(f"CREATE TABLE {TABLE} (k int PRIMARY KEY, v text)")


def node_with_table(strata_factory, extra_args=()):
    server = strata_factory.start(extra_args)
    run_with_session(server, create_table)
    return server


def read_all_after_restart(server):
    """{k: v} of the table, read once the restarted node accepts clients again."""
    deadline = time.monotonic() + RESTART_QUERY_TIMEOUT_S
    while True:
        try:
            return run_with_session(
                server, lambda s: {r.k: r.v for r in s.execute(f"SELECT k, v FROM {TABLE}")})
        except NoHostAvailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def assert_all_present(found, keys):
    missing = [k for k in keys if k not in found]
    assert not missing, f"{len(missing)} acknowledged rows lost, e.g. {missing[:10]}"
    wrong = [k for k in keys if found[k] != value_for(k)]
    assert not wrong, f"{len(wrong)} rows with wrong values, e.g. {wrong[:10]}"


def assert_all_but_deleted(found, total, deleted):
    assert deleted not in found, f"deleted row {deleted} came back after the restart"
    assert_all_present(found, [k for k in range(total) if k != deleted])


@pytest.mark.parametrize("commitlog_args", [[], ["--commitlog-sync", "batch"]],
                         ids=["default-sync", "batch-sync"])
def test_acknowledged_writes_survive_kill_9(strata_factory, commitlog_args):
    server = node_with_table(strata_factory, commitlog_args)
    run_with_session(server, lambda s: write_acknowledged(s, range(ROWS)))
    server.crash_and_restart()
    assert_all_present(read_all_after_restart(server), range(ROWS))


def test_flushed_and_unflushed_writes_survive_kill_9(strata_factory):
    server = node_with_table(strata_factory)

    def write_flush_write(session):
        write_acknowledged(session, range(ROWS // 2))
        flush = server.nodetool("flush")
        assert flush.returncode == 0, flush.stderr
        write_acknowledged(session, range(ROWS // 2, ROWS))

    run_with_session(server, write_flush_write)
    server.crash_and_restart()
    assert_all_present(read_all_after_restart(server), range(ROWS))


def test_data_and_deletes_survive_clean_restart(strata_factory):
    server = node_with_table(strata_factory)

    def write_then_delete(session):
        write_acknowledged(session, range(100))
        session.execute(f"DELETE FROM {TABLE} WHERE k = 5")

    run_with_session(server, write_then_delete)
    server.restart()
    assert_all_but_deleted(read_all_after_restart(server), 100, deleted=5)


def test_repeated_crashes(strata_factory):
    server = node_with_table(strata_factory)
    written = []
    for round_number in range(3):
        keys = range(round_number * 300, (round_number + 1) * 300)
        run_with_session(server, lambda s, keys=keys: write_acknowledged(s, keys))
        written.extend(keys)
        server.crash_and_restart()
    assert_all_present(read_all_after_restart(server), written)


def test_schema_changes_deletes_and_truncates_survive_kill_9(strata_factory):
    """Replaying the commit log after a crash must not resurrect deleted or truncated data,
    and must keep the schema as the last acknowledged DDL left it."""
    server = node_with_table(strata_factory)

    def change_everything(session):
        write_acknowledged(session, range(200))
        session.execute(f"DELETE FROM {TABLE} WHERE k = 7")
        session.execute(f"ALTER TABLE {TABLE} ADD extra int")
        session.execute(f"UPDATE {TABLE} SET extra = 42 WHERE k = 8")
        session.execute("CREATE TABLE compat_durable.gone (k int PRIMARY KEY)")
        session.execute("INSERT INTO compat_durable.gone (k) VALUES (1)")
        session.execute("DROP TABLE compat_durable.gone")
        session.execute("CREATE TABLE compat_durable.emptied (k int PRIMARY KEY)")
        session.execute("INSERT INTO compat_durable.emptied (k) VALUES (1)")
        session.execute("TRUNCATE compat_durable.emptied")
        session.execute("INSERT INTO compat_durable.emptied (k) VALUES (2)")

    run_with_session(server, change_everything)
    server.crash_and_restart()
    assert_all_but_deleted(read_all_after_restart(server), 200, deleted=7)

    def check_schema_and_truncate(session):
        assert session.execute(f"SELECT extra FROM {TABLE} WHERE k = 8").one().extra == 42
        tables = session.cluster.metadata.keyspaces["compat_durable"].tables
        assert "gone" not in tables, "a dropped table came back after the crash"
        emptied = [r.k for r in session.execute("SELECT k FROM compat_durable.emptied")]
        assert emptied == [2], "truncated rows came back after the crash"

    run_with_session(server, check_schema_and_truncate)
