"""Functions and aggregates in SELECT: native aggregates with Cassandra's result types and
overflow behaviour, GROUP BY and its restrictions, CAST, arithmetic operators, time and
blob conversion functions, and the result column names Cassandra 5.0 gives them."""

import datetime
import decimal
import uuid

import pytest
from cassandra import InvalidRequest
from cassandra.query import SimpleStatement

from driver_helpers import create_keyspace, expect_invalid

KS = "compat_fn"
INT_MAX = 2**31 - 1


@pytest.fixture(scope="module")
def fn_ks(session):
    create_keyspace(session, KS)
    session.execute(f"CREATE TABLE {KS}.t (k int, c int, v int, d double, dec decimal, vi varint, "
                    "ts timestamp, b blob, tu timeuuid, PRIMARY KEY (k, c))")
    rows = [(1, 1, 10, 1.5, "1.1", 5), (1, 2, INT_MAX, 2.5, "2.2", 6), (1, 3, 7, None, None, None),
            (2, 1, 5, 4.0, "0.5", 1)]
    for k, c, v, d, dec, vi in rows:
        session.execute(f"INSERT INTO {KS}.t (k, c, v, d, dec, vi) VALUES (%s, %s, %s, %s, %s, %s)",
                        (k, c, v, d, decimal.Decimal(dec) if dec else None, vi))
    session.execute(f"UPDATE {KS}.t SET ts = '2024-01-31 10:00:00+0000', b = 0x6869, tu = now() "
                    "WHERE k = 1 AND c = 1")
    yield KS
    session.execute(f"DROP KEYSPACE IF EXISTS {KS}")


def columns(result):
    return list(result.column_names)


def test_aggregates_types_names_and_int_overflow(session, fn_ks):
    result = session.execute(f"SELECT count(*), count(d), min(v), max(v), sum(v), avg(v), sum(d), avg(d), "
                             f"sum(dec), avg(vi) FROM {KS}.t")
    assert columns(result) == ["count", "system.count(d)", "system.min(v)", "system.max(v)", "system.sum(v)",
                               "system.avg(v)", "system.sum(d)", "system.avg(d)", "system.sum(dec)",
                               "system.avg(vi)"]
    row = result.one()
    total = 10 + INT_MAX + 7 + 5
    # sum of int is an int and wraps like Java's; avg of int does not overflow.
    assert row[0] == 4 and row[1] == 3
    assert (row[2], row[3]) == (5, INT_MAX)
    assert row[4] == total - 2**32
    assert row[5] == total // 4
    assert row[6] == 8.0 and row[7] == pytest.approx(8.0 / 3)
    assert row[8] == decimal.Decimal("3.8")
    assert row[9] == 4


def test_aggregates_over_no_rows(session, fn_ks):
    row = session.execute(f"SELECT count(*), max(v), sum(v), avg(d) FROM {KS}.t WHERE k = 99").one()
    assert tuple(row) == (0, None, 0, 0.0)


def test_aggregate_ignores_paging_and_returns_one_page(session, fn_ks):
    statement = SimpleStatement(f"SELECT count(*), sum(c) FROM {KS}.t", fetch_size=1)
    result = session.execute(statement)
    assert result.has_more_pages is False
    assert tuple(result.one()) == (4, 7)


def test_count_with_alias_and_count_one(session, fn_ks):
    assert columns(session.execute(f"SELECT count(*) AS n FROM {KS}.t")) == ["n"]
    assert session.execute(f"SELECT count(1) FROM {KS}.t").one()[0] == 4


def test_group_by_partition_and_clustering(session, fn_ks):
    rows = session.execute(f"SELECT k, count(*), max(c) FROM {KS}.t GROUP BY k").all()
    assert [tuple(r) for r in rows] == [(1, 3, 3), (2, 1, 1)]
    rows = session.execute(f"SELECT k, c, count(*) FROM {KS}.t WHERE k = 1 GROUP BY k, c").all()
    assert [tuple(r) for r in rows] == [(1, 1, 1), (1, 2, 1), (1, 3, 1)]
    # Without aggregates a group returns its first row; LIMIT counts groups.
    rows = session.execute(f"SELECT k, c FROM {KS}.t GROUP BY k LIMIT 1").all()
    assert [tuple(r) for r in rows] == [(1, 1)]


@pytest.mark.parametrize("cql,message", [
    (f"SELECT count(*) FROM {KS}.t GROUP BY v",
     "Group by is currently only supported on the columns of the PRIMARY KEY, got v"),
    (f"SELECT count(*) FROM {KS}.t GROUP BY c",
     "Group by currently only support groups of columns following their declared order in the PRIMARY KEY"),
    (f"SELECT count(*) FROM {KS}.t WHERE k = 1 GROUP BY c, k",
     "Group by currently only support groups of columns following their declared order in the PRIMARY KEY"),
])
def test_group_by_restrictions(session, fn_ks, cql, message):
    expect_invalid(session, cql, message)


def test_arithmetic_promotion_and_names(session, fn_ks):
    result = session.execute(f"SELECT v + 1, v * 2, v - 1.5, -v, v % 3, vi + 1, d / 2 FROM {KS}.t WHERE k = 1 AND c = 1")
    assert columns(result) == ["v + 1", "v * 2", "v - 1.5", "-v", "v % 3", "vi + 1", "d / 2"]
    assert tuple(result.one()) == (11, 20, 8.5, -10, 1, 6, 0.75)
    wrapped = session.execute(f"SELECT v + 1 FROM {KS}.t WHERE k = 1 AND c = 2").one()[0]
    assert wrapped == -(2**31)


def test_division_by_zero_fails(session, fn_ks):
    with pytest.raises(InvalidRequest, match=r"the operation 'int / int' failed: / by zero"):
        session.execute(f"SELECT v / 0 FROM {KS}.t WHERE k = 1 AND c = 1")


def test_arithmetic_in_insert_and_where_terms(session, fn_ks):
    session.execute(f"INSERT INTO {KS}.t (k, c, v) VALUES (3, 1 + 1, 2 * 21)")
    assert session.execute(f"SELECT v FROM {KS}.t WHERE k = 3 AND c = 4 - 2").one().v == 42
    session.execute(f"DELETE FROM {KS}.t WHERE k = 3")


def test_cast(session, fn_ks):
    result = session.execute(f"SELECT CAST(v AS double), CAST(d AS int), CAST(v AS text), CAST(ts AS date), "
                             f"CAST(dec AS float) FROM {KS}.t WHERE k = 1 AND c = 1")
    assert columns(result) == ["cast(v as double)", "cast(d as int)", "cast(v as text)", "cast(ts as date)",
                               "cast(dec as float)"]
    row = result.one()
    assert row[0] == 10.0 and row[1] == 1 and row[2] == "10"
    assert str(row[3]) == "2024-01-31"
    assert row[4] == pytest.approx(1.1)


def test_invalid_cast(session, fn_ks):
    expect_invalid(session, f"SELECT CAST(b AS int) FROM {KS}.t", "b cannot be cast to int")


def test_time_functions(session, fn_ks):
    result = session.execute(f"SELECT toDate(ts), toUnixTimestamp(ts), toTimestamp(tu), "
                             f"minTimeuuid('2013-01-01 00:00+0000'), ts + 1mo FROM {KS}.t WHERE k = 1 AND c = 1")
    assert columns(result)[:2] == ["system.todate(ts)", "system.tounixtimestamp(ts)"]
    row = result.one()
    assert str(row[0]) == "2024-01-31"
    assert row[1] == 1706695200000
    assert abs(row[2] - datetime.datetime.utcnow()) < datetime.timedelta(minutes=10)
    assert row[3] == uuid.UUID("2f6ec000-53a6-11e2-8080-808080808080")
    assert row[4] == datetime.datetime(2024, 2, 29, 10, 0)


def test_current_functions(session, fn_ks):
    row = session.execute("SELECT now(), uuid(), currentTimestamp(), currentDate(), currentTimeUUID() "
                          "FROM system.local").one()
    assert row[0].version == 1 and row[1].version == 4 and row[4].version == 1
    assert abs(row[2] - datetime.datetime.utcnow()) < datetime.timedelta(minutes=10)


def test_blob_conversions(session, fn_ks):
    result = session.execute(f"SELECT blobAsText(b), textAsBlob('hi'), intAsBlob(v), blobAsInt(intAsBlob(v)) "
                             f"FROM {KS}.t WHERE k = 1 AND c = 1")
    assert columns(result)[0] == "system.blobastext(b)"
    assert tuple(result.one()) == ("hi", b"hi", b"\x00\x00\x00\x0a", 10)


def test_blob_as_type_rejects_bad_length(session, fn_ks):
    expect_invalid(session, f"SELECT blobAsInt(b) FROM {KS}.t WHERE k = 1 AND c = 1",
                   "In call to function system.blobasint, value 0x6869 is not a valid binary representation "
                   "for type int")


def test_token_function(session, fn_ks):
    result = session.execute(f"SELECT token(k) FROM {KS}.t WHERE k = 2")
    assert columns(result) == ["system.token(k)"]
    assert isinstance(result.one()[0], int)


def test_writetime_and_ttl_in_functions(session, fn_ks):
    row = session.execute(f"SELECT writetime(v), ttl(v), max(writetime(v)) FROM {KS}.t WHERE k = 2").one()
    assert row[0] > 0 and row[1] is None and row[2] == row[0]


def test_decimal_average_is_a_running_average(session, fn_ks):
    # Cassandra keeps avg + (x - avg) / n rounded half-even at the values' scale:
    # 1.1, then 1.1 + 0.6 = 1.7, then 1.7 - 0.4 = 1.3 (the exact mean would be 1.2666...).
    assert session.execute(f"SELECT avg(dec) FROM {KS}.t").one()[0] == decimal.Decimal("1.3")
