"""REGISTER / SCHEMA_CHANGE events: a second, idle client learns about schema changes made by
another client through its control connection, without refreshing by hand."""

import time

import pytest

from driver_helpers import connect, create_keyspace

EVENT_WAIT_S = 15.0


@pytest.fixture(scope="module")
def observer(strata):
    """A second cluster object that never runs DDL itself."""
    session = connect(strata)
    yield session
    session.cluster.shutdown()


def wait_for(condition, what):
    deadline = time.monotonic() + EVENT_WAIT_S
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"after {EVENT_WAIT_S:.0f} s the observer still has not seen {what}")


def observed_tables(observer, keyspace):
    ks = observer.cluster.metadata.keyspaces.get(keyspace)
    return ks.tables if ks else {}


def test_schema_change_result_reports_agreement(session):
    result = session.execute("CREATE KEYSPACE compat_agree WITH replication = "
                             "{'class': 'SimpleStrategy', 'replication_factor': 1}")
    try:
        assert result.response_future.is_schema_agreed
    finally:
        session.execute("DROP KEYSPACE compat_agree")


def test_observer_sees_keyspace_and_table_lifecycle(session, observer):
    create_keyspace(session, "compat_events")
    try:
        wait_for(lambda: "compat_events" in observer.cluster.metadata.keyspaces,
                 "the new keyspace")
        session.execute("CREATE TABLE compat_events.t (k int PRIMARY KEY, v text)")
        wait_for(lambda: "t" in observed_tables(observer, "compat_events"), "the new table")
        # The observer can use the table at once.
        session.execute("INSERT INTO compat_events.t (k, v) VALUES (1, 'seen')")
        assert observer.execute("SELECT v FROM compat_events.t WHERE k = 1").one().v == "seen"

        session.execute("ALTER TABLE compat_events.t ADD extra int")
        wait_for(lambda: "extra" in observed_tables(observer, "compat_events")["t"].columns,
                 "the added column")

        session.execute("DROP TABLE compat_events.t")
        wait_for(lambda: "t" not in observed_tables(observer, "compat_events"),
                 "the table drop")
    finally:
        session.execute("DROP KEYSPACE IF EXISTS compat_events")
    wait_for(lambda: "compat_events" not in observer.cluster.metadata.keyspaces,
             "the keyspace drop")

