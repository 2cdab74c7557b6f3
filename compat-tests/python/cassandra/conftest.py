"""Fixtures of the Cassandra-derived suite: one keyspace per module, a fresh table per test."""

import re

import pytest

from cql3_tester import CQLTester
from driver_helpers import connect, create_keyspace


@pytest.fixture(scope="module")
def cql3_session(strata):
    session = connect(strata)
    yield session
    session.cluster.shutdown()


@pytest.fixture(scope="module")
def cql3_keyspace(cql3_session, request):
    keyspace = "cql3_" + re.sub(r"\W", "_", request.module.__name__.removeprefix("test_"))
    cql3_session.execute(f"DROP KEYSPACE IF EXISTS {keyspace}")
    create_keyspace(cql3_session, keyspace)
    yield keyspace
    cql3_session.execute(f"DROP KEYSPACE IF EXISTS {keyspace}")


@pytest.fixture
def t(cql3_session, cql3_keyspace):
    """A CQLTester in the module's keyspace; `%s` in its statements names the current table."""
    return CQLTester(cql3_session, cql3_keyspace)
