"""The statement-level helpers of the Cassandra-derived suite, in the spirit of Cassandra's
CQLTester: statements name the table under test as `%s`, values given to `execute` are bound
through a prepared statement, and rejections are checked by error class and exact message."""

import itertools

import pytest
from cassandra import FunctionFailure, InvalidRequest
from cassandra.protocol import SyntaxException
from cassandra.query import UNSET_VALUE

from driver_helpers import server_message

UNSET = UNSET_VALUE

# Cassandra 5.0's full texts (StatementRestrictions.REQUIRES_ALLOW_FILTERING_MESSAGE and kin).
REQUIRES_ALLOW_FILTERING = (
    "Cannot execute this query as it might involve data filtering and thus may have "
    "unpredictable performance. If you want to execute this query despite the performance "
    "unpredictability, use ALLOW FILTERING")

_names = itertools.count()


class CQLTester:
    def __init__(self, session, keyspace):
        self.session = session
        self.keyspace = keyspace
        self.table = None
        self.type = None
        self._prepared = {}

    # -- schema -----------------------------------------------------------------------------

    def create_table(self, ddl):
        self.table = f"{self.keyspace}.t{next(_names)}"
        self.session.execute(ddl % self.table)
        return self.table

    def create_type(self, ddl):
        name = f"ty{next(_names)}"
        self.session.execute(ddl % f"{self.keyspace}.{name}")
        self.type = name
        return f"{self.keyspace}.{name}"

    def create_index(self, ddl):
        self.session.execute(ddl % self.table)

    def format(self, query):
        return query % self.table if "%s" in query else query

    # -- statements ------------------------------------------------------------------------

    def execute(self, query, *values):
        """Runs the statement (prepared and bound when values are given); returns row tuples."""
        query = self.format(query)
        if values:
            prepared = self._prepared.get(query)
            if prepared is None:
                prepared = self._prepared[query] = self.session.prepare(query)
                # Routing is irrelevant on one node, and the driver refuses UNSET in key
                # positions before the server could answer.
                prepared.routing_key_indexes = None
            result = self.session.execute(prepared, values)
        else:
            result = self.session.execute(query)
        return [tuple(row) for row in result]

    rows = execute

    def one(self, query, *values):
        rows = self.execute(query, *values)
        assert len(rows) == 1, rows
        return rows[0]

    def sorted_rows(self, query, *values):
        return sorted(self.execute(query, *values))

    # -- rejections ------------------------------------------------------------------------

    def invalid(self, message, query, *values):
        """The statement fails with Invalid (0x2200) and exactly `message` (at prepare or
        execute time, whichever Cassandra uses)."""
        self.error(InvalidRequest, message, query, *values)

    def error(self, error_class, message, query, *values):
        with pytest.raises(error_class) as raised:
            self.execute(query, *values)
        actual = server_message(raised.value)
        assert actual == message, f"expected {message!r}, got {actual!r}"

    def invalid_prefix(self, prefix, query, *values):
        """Invalid, with a message starting with `prefix` (where Cassandra's own test only pins
        the start of a message that goes on with the offending value's Java rendering)."""
        with pytest.raises(InvalidRequest) as raised:
            self.execute(query, *values)
        actual = server_message(raised.value)
        assert actual.startswith(prefix), f"expected {prefix!r}..., got {actual!r}"

    def function_failure(self, message, query, *values):
        """A function failed while it ran (FunctionFailure, 0x1400) with exactly `message`."""
        self.error(FunctionFailure, message, query, *values)

    def function_failure_prefix(self, prefix, query, *values):
        """FunctionFailure, with a message starting with `prefix`."""
        with pytest.raises(FunctionFailure) as raised:
            self.execute(query, *values)
        actual = server_message(raised.value)
        assert actual.startswith(prefix), f"expected {prefix!r}..., got {actual!r}"

    def invalid_any(self, query, *values):
        """The statement is rejected as Invalid; the message is not part of the contract."""
        with pytest.raises(InvalidRequest):
            self.execute(query, *values)

    def syntax_error(self, query, *values):
        with pytest.raises(SyntaxException):
            self.execute(query, *values)

    def filtering_required(self, query, *values):
        self.invalid(REQUIRES_ALLOW_FILTERING, query, *values)
