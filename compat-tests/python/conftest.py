"""Driver-side fixtures: python cassandra-driver sessions against the harness' strata node."""

import re

import pytest

from driver_helpers import CONNECTION_MODES, connect, create_keyspace


@pytest.fixture(scope="module", params=list(CONNECTION_MODES))
def mode(request):
    return request.param


@pytest.fixture(scope="module")
def mode_session(strata, mode):
    """A session in one connection mode, with its own keyspace `compat_<mode>` (not USEd)."""
    session = connect(strata, **CONNECTION_MODES[mode])
    keyspace = "compat_" + re.sub(r"\W", "_", mode)
    create_keyspace(session, keyspace)
    session.compat_keyspace = keyspace
    yield session
    session.execute(f"DROP KEYSPACE IF EXISTS {keyspace}")
    session.cluster.shutdown()


@pytest.fixture(scope="module")
def session(strata):
    """A session with default settings (negotiated protocol, no compression)."""
    session = connect(strata)
    yield session
    session.cluster.shutdown()
