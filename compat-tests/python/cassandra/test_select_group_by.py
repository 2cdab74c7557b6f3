"""GROUP BY with aggregates, LIMIT, PER PARTITION LIMIT, DISTINCT and ORDER BY, after Cassandra's
cql3/validation/operations/SelectGroupByTest (testGroupByWithoutPaging / testGroupByWithPaging)."""

import pytest
from cassandra import InvalidRequest
from cassandra.query import SimpleStatement

from driver_helpers import server_message

ROWS = ["1, 2, 1, 3, 6", "1, 2, 2, 6, 12", "1, 3, 2, 12, 24", "1, 4, 2, 12, 24", "1, 4, 2, 6, 12",
        "2, 2, 3, 3, 6", "2, 4, 3, 6, 12", "3, 3, 2, 12, 24", "4, 8, 2, 12, 24"]

CASES = [
    ("SELECT a, b, e, count(b), max(e) FROM %s GROUP BY a", [(1, 2, 6, 4, 24), (2, 2, 6, 2, 12), (4, 8, 24, 1, 24)]),
    ("SELECT a, b, e, count(b), max(e) FROM %s GROUP BY a, b",
     [(1, 2, 6, 2, 12), (1, 4, 12, 2, 24), (2, 2, 6, 1, 6), (2, 4, 12, 1, 12), (4, 8, 24, 1, 24)]),
    ("SELECT a, b, e, count(b), max(e) FROM %s WHERE b = 2 GROUP BY a, b ALLOW FILTERING",
     [(1, 2, 6, 2, 12), (2, 2, 6, 1, 6)]),
    ("SELECT a, b, e, count(b), max(e) FROM %s WHERE b IN () GROUP BY a, b ALLOW FILTERING", []),
    ("SELECT a, b, c, d FROM %s GROUP BY a, b, c",
     [(1, 2, 1, 3), (1, 2, 2, 6), (1, 4, 2, 6), (2, 2, 3, 3), (2, 4, 3, 6), (4, 8, 2, 12)]),
    ("SELECT a, b, c, d FROM %s GROUP BY a, b", [(1, 2, 1, 3), (1, 4, 2, 6), (2, 2, 3, 3), (2, 4, 3, 6), (4, 8, 2, 12)]),
    ("SELECT a, b, e, count(b), max(e) FROM %s GROUP BY a, b LIMIT 2", [(1, 2, 6, 2, 12), (1, 4, 12, 2, 24)]),
    ("SELECT a, b, e, count(b), max(e) FROM %s GROUP BY a, b PER PARTITION LIMIT 1",
     [(1, 2, 6, 2, 12), (2, 2, 6, 1, 6), (4, 8, 24, 1, 24)]),
    ("SELECT a, b, e, count(b), max(e) FROM %s GROUP BY a PER PARTITION LIMIT 2",
     [(1, 2, 6, 4, 24), (2, 2, 6, 2, 12), (4, 8, 24, 1, 24)]),
    ("SELECT a, b, e, count(b), max(e) FROM %s GROUP BY a, b PER PARTITION LIMIT 1 LIMIT 2",
     [(1, 2, 6, 2, 12), (2, 2, 6, 1, 6)]),
    ("SELECT a, b, c, d FROM %s GROUP BY a, b, c LIMIT 3", [(1, 2, 1, 3), (1, 2, 2, 6), (1, 4, 2, 6)]),
    ("SELECT a, b, c, d FROM %s GROUP BY a, b LIMIT 3", [(1, 2, 1, 3), (1, 4, 2, 6), (2, 2, 3, 3)]),
    ("SELECT a, b, c, d FROM %s GROUP BY a, b, c PER PARTITION LIMIT 2",
     [(1, 2, 1, 3), (1, 2, 2, 6), (2, 2, 3, 3), (2, 4, 3, 6), (4, 8, 2, 12)]),
    ("SELECT a, b, c, d FROM %s GROUP BY a, b PER PARTITION LIMIT 1", [(1, 2, 1, 3), (2, 2, 3, 3), (4, 8, 2, 12)]),
    ("SELECT a, b, c, d FROM %s GROUP BY a, b, c PER PARTITION LIMIT 2 LIMIT 3",
     [(1, 2, 1, 3), (1, 2, 2, 6), (2, 2, 3, 3)]),
    ("SELECT DISTINCT a, count(a)FROM %s GROUP BY a", [(1, 1), (2, 1), (4, 1)]),
    ("SELECT DISTINCT a, count(a)FROM %s GROUP BY a LIMIT 2", [(1, 1), (2, 1)]),
    ("SELECT a, b, e, count(b), max(e) FROM %s WHERE a = 1 GROUP BY a, b, c",
     [(1, 2, 6, 1, 6), (1, 2, 12, 1, 12), (1, 4, 12, 2, 24)]),
    ("SELECT a, b, e, count(b), max(e) FROM %s WHERE a = 1 GROUP BY b, c",
     [(1, 2, 6, 1, 6), (1, 2, 12, 1, 12), (1, 4, 12, 2, 24)]),
    ("SELECT a, b, e, count(b), max(e) FROM %s WHERE a = 1 AND b = 2 GROUP BY a, c",
     [(1, 2, 6, 1, 6), (1, 2, 12, 1, 12)]),
    ("SELECT a, b, e, count(b), max(e) FROM %s WHERE a = 1 AND b = 2 GROUP BY c", [(1, 2, 6, 1, 6), (1, 2, 12, 1, 12)]),
    ("SELECT a, b, c, d FROM %s WHERE a = 1 GROUP BY a, b", [(1, 2, 1, 3), (1, 4, 2, 6)]),
    ("SELECT a, b, c, d FROM %s WHERE a = 1 and token(a) = token(1) GROUP BY b, c",
     [(1, 2, 1, 3), (1, 2, 2, 6), (1, 4, 2, 6)]),
    ("SELECT DISTINCT a, count(a)FROM %s WHERE a = 1 GROUP BY a", [(1, 1)]),
    ("SELECT count(b), max(e) FROM %s WHERE a = 1 GROUP BY a, b, c LIMIT 1", [(1, 6)]),
    ("SELECT a, b, e, count(b), max(e) FROM %s WHERE a = 1 GROUP BY a, b, c PER PARTITION LIMIT 2",
     [(1, 2, 6, 1, 6), (1, 2, 12, 1, 12)]),
    ("SELECT a, b, c, d FROM %s WHERE a = 1 GROUP BY a, b PER PARTITION LIMIT 1", [(1, 2, 1, 3)]),
    ("SELECT a, b, e, count(b), max(e) FROM %s WHERE a = 1 GROUP BY a, b, c ORDER BY b DESC, c DESC",
     [(1, 4, 24, 2, 24), (1, 2, 12, 1, 12), (1, 2, 6, 1, 6)]),
    ("SELECT a, b, e, count(b), max(e) FROM %s WHERE a = 1 GROUP BY a, b, c ORDER BY b DESC, c DESC "
     "PER PARTITION LIMIT 1", [(1, 4, 24, 2, 24)]),
    ("SELECT a, b, e, count(b), max(e) FROM %s WHERE a IN (1, 2, 4) GROUP BY a, b, c",
     [(1, 2, 6, 1, 6), (1, 2, 12, 1, 12), (1, 4, 12, 2, 24), (2, 2, 6, 1, 6), (2, 4, 12, 1, 12), (4, 8, 24, 1, 24)]),
    ("SELECT a, b, c, d FROM %s WHERE a IN (1, 2, 4) GROUP BY a, b",
     [(1, 2, 1, 3), (1, 4, 2, 6), (2, 2, 3, 3), (2, 4, 3, 6), (4, 8, 2, 12)]),
    ("SELECT DISTINCT a, count(a)FROM %s WHERE a IN (1, 2, 4) GROUP BY a LIMIT 2", [(1, 1), (2, 1)]),
    ("SELECT a, b, e, count(b), max(e) FROM %s WHERE a IN (1, 2, 4) GROUP BY a, b, c PER PARTITION LIMIT 1",
     [(1, 2, 6, 1, 6), (2, 2, 6, 1, 6), (4, 8, 24, 1, 24)]),
    ("SELECT a, b, c, count(b), max(e) FROM %s WHERE a IN (1, 2, 4) GROUP BY a, b ORDER BY b DESC, c DESC",
     [(4, 8, 2, 1, 24), (2, 4, 3, 1, 12), (1, 4, 2, 2, 24), (2, 2, 3, 1, 6), (1, 2, 2, 2, 12)]),
    ("SELECT a, b, c, d FROM %s WHERE a IN (1, 2, 4) GROUP BY a, b, c ORDER BY b DESC, c DESC",
     [(4, 8, 2, 12), (2, 4, 3, 6), (1, 4, 2, 12), (2, 2, 3, 3), (1, 2, 2, 6), (1, 2, 1, 3)]),
    ("SELECT a, b, c, d FROM %s WHERE a IN (1, 2, 4) GROUP BY a, b, c ORDER BY b DESC, c DESC LIMIT 3",
     [(4, 8, 2, 12), (2, 4, 3, 6), (1, 4, 2, 12)]),
    ("SELECT a, d FROM %s WHERE a IN (1, 2, 4) GROUP BY a, b, c ORDER BY b DESC, c DESC LIMIT 3",
     [(4, 12), (2, 6), (1, 12)]),
]


# Cassandra sorts the rows of an IN on the partition key for ORDER BY only when it reads them
# all at once: a paged request is refused (SelectStatement.execute, needsPostQueryOrdering).
PAGING_REFUSED = ("Cannot page queries with both ORDER BY and a IN restriction on the partition key; you must "
                  "either remove the ORDER BY or the IN and sort client side, or disable paging for this query")


def post_ordered(query):
    return " IN (" in query and "ORDER BY" in query


def group_by_table(t):
    t.create_table("CREATE TABLE %s (a int, b int, c int, d int, e int, primary key (a, b, c, d))")
    for values in ROWS:
        t.execute(f"INSERT INTO %s (a, b, c, d, e) VALUES ({values})")
    t.execute("DELETE FROM %s WHERE a = 1 AND b = 3 AND c = 2 AND d = 12")
    t.execute("DELETE FROM %s WHERE a = 3")


def test_group_by_without_paging(t):
    group_by_table(t)
    for query, expected in CASES:
        # Unpaged, as CQLTester.execute runs the Java test's statements.
        statement = SimpleStatement(t.format(query), fetch_size=None)
        assert [tuple(row) for row in t.session.execute(statement)] == expected, query
    for query in ["SELECT DISTINCT a, count(a)FROM %s GROUP BY a, b",
                  "SELECT DISTINCT a, count(a)FROM %s WHERE a = 1 GROUP BY a, b",
                  "SELECT DISTINCT a, count(a)FROM %s WHERE a IN (1, 2, 4) GROUP BY a, b"]:
        t.invalid("Grouping on clustering columns is not allowed for SELECT DISTINCT queries", query)
    t.invalid("ORDER BY is only supported when the partition key is restricted by an EQ or an IN.",
              "SELECT a, b, c, count(b), max(e) FROM %s GROUP BY a, b ORDER BY b DESC, c DESC")


@pytest.mark.parametrize("page_size", [1, 2, 3])
def test_group_by_with_paging(t, page_size):
    group_by_table(t)
    for query, expected in CASES:
        statement = SimpleStatement(t.format(query), fetch_size=page_size)
        if post_ordered(query):
            with pytest.raises(InvalidRequest) as raised:
                t.session.execute(statement)
            assert server_message(raised.value) == PAGING_REFUSED
            continue
        assert [tuple(row) for row in t.session.execute(statement)] == expected, (query, page_size)


def test_group_by_invalid_queries(t):
    t.create_table("CREATE TABLE %s (a int, b int, c int, d int, e int, primary key (a, b, c, d))")
    t.invalid("Group by is currently only supported on the columns of the PRIMARY KEY, got e",
              "SELECT a, b, d, count(b), max(c) FROM %s WHERE a = 1 GROUP BY a, e")
    t.invalid("Group by currently only support groups of columns following their declared order in the PRIMARY KEY",
              "SELECT a, b, d, count(b), max(c) FROM %s WHERE a = 1 GROUP BY c")
    t.invalid("Group by currently only support groups of columns following their declared order in the PRIMARY KEY",
              "SELECT a, b, d, count(b), max(c) FROM %s WHERE a = 1 GROUP BY a, c, b")
    t.invalid("Group by currently only support groups of columns following their declared order in the PRIMARY KEY",
              "SELECT a, b, d, count(b), max(c) FROM %s WHERE a = 1 GROUP BY a, a")
