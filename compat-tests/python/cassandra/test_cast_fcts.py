"""CAST between native types, after Cassandra's cql3/functions/CastFctsTest."""

import datetime
import decimal
import struct
import uuid

from cassandra.util import Date



def f32(value):
    return struct.unpack(">f", struct.pack(">f", value))[0]


def test_invalid_queries(t):
    t.create_table("CREATE TABLE %s (a int primary key, b text, c double)")
    t.syntax_error("INSERT INTO %s (a, b, c) VALUES (CAST(1.6 AS int), 'test', 6.3)")
    t.syntax_error("UPDATE %s SET c = cast(1 as double) WHERE a = 1")
    t.syntax_error("UPDATE %s SET c = 1 WHERE a = CAST (2.0 AS INT)")
    t.syntax_error("DELETE FROM %s WHERE a = CAST (2.0 AS INT)")
    t.syntax_error("SELECT * FROM %s WHERE a = CAST (2.0 AS INT)")
    t.invalid("a cannot be cast to boolean", "SELECT CAST(a AS boolean) FROM %s")


def test_numeric_casts_in_selection_clause(t):
    t.create_table("CREATE TABLE %s (a tinyint primary key, b smallint, c int, d bigint, e float, f double, "
                   "g decimal, h varint, i int)")
    t.execute("INSERT INTO %s (a, b, c, d, e, f, g, h) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
              1, 2, 3, 4, 5.2, 6.3, decimal.Decimal("6.3"), 4)
    result = t.session.execute(f"SELECT CAST(b AS int), CAST(c AS int), CAST(d AS double) FROM {t.table}")
    assert result.column_names == ["cast(b as int)", "c", "cast(d as double)"]
    columns = "abcdefghi"

    def cast_all(target):
        return t.one("SELECT " + ", ".join(f"CAST({c} AS {target})" for c in columns) + " FROM %s")

    for target in ("tinyint", "smallint", "int", "bigint", "varint"):
        assert cast_all(target) == (1, 2, 3, 4, 5, 6, 6, 4, None), target
    assert cast_all("float") == (1.0, 2.0, 3.0, 4.0, f32(5.2), f32(6.3), f32(6.3), 4.0, None)
    assert cast_all("double") == (1.0, 2.0, 3.0, 4.0, f32(5.2), 6.3, 6.3, 4.0, None)
    decimals = cast_all("decimal")
    assert decimals[:4] == (1, 2, 3, 4) and decimals[5:] == (decimal.Decimal("6.3"), decimal.Decimal("6.3"), 4, None)
    for target in ("ascii", "text"):
        assert cast_all(target) == ("1", "2", "3", "4", "5.2", "6.3", "6.3", "4", None), target


def test_time_casts_in_selection_clause(t):
    t.create_table("CREATE TABLE %s (a timeuuid primary key, b timestamp, c date, d time)")
    moment = datetime.datetime(2015, 5, 21, 11, 3, 2)
    # A version-1 UUID at that instant (100 ns intervals since 1582-10-15).
    ticks = int((moment - datetime.datetime(1582, 10, 15)).total_seconds() * 10_000_000)
    timeuuid = uuid.UUID(fields=(ticks & 0xFFFFFFFF, (ticks >> 32) & 0xFFFF, ((ticks >> 48) & 0x0FFF) | 0x1000,
                                 0x80, 0x01, 0x0123456789AB))
    t.execute("INSERT INTO %s (a, b, c, d) VALUES (?, '2015-05-21 11:03:02+00', '2015-05-21', '11:03:02')", timeuuid)
    assert t.one("SELECT CAST(a AS timestamp), CAST(b AS timestamp), CAST(c AS timestamp) FROM %s") == (
        moment, moment, datetime.datetime(2015, 5, 21))
    day = Date(datetime.date(2015, 5, 21))
    assert t.one("SELECT CAST(a AS date), CAST(b AS date), CAST(c AS date) FROM %s") == (day, day, day)
    assert t.one("SELECT CAST(b AS text), CAST(c AS text), CAST(d AS text) FROM %s") == (
        "2015-05-21T11:03:02.000Z", "2015-05-21", "11:03:02.000000000")


def test_other_type_casts_in_selection_clause(t):
    t.create_table("CREATE TABLE %s (a ascii primary key, b inet, c boolean)")
    t.execute("INSERT INTO %s (a, b, c) VALUES (?, '127.0.0.1', ?)", "test", True)
    assert t.one("SELECT CAST(a AS text), CAST(b AS text), CAST(c AS text) FROM %s") == ("test", "127.0.0.1", "true")


def test_casts_with_reverse_order(t):
    t.create_table("CREATE TABLE %s (a int, b smallint, c double, primary key (a, b)) "
                   "WITH CLUSTERING ORDER BY (b DESC)")
    t.execute("INSERT INTO %s (a, b, c) VALUES (?, ?, ?)", 1, 2, 6.3)
    assert t.one("SELECT CAST(a AS tinyint), CAST(b AS tinyint), CAST(c AS tinyint) FROM %s") == (1, 2, 6)
    assert t.one("SELECT CAST(CAST(a AS tinyint) AS smallint), CAST(CAST(b AS tinyint) AS smallint), "
                 "CAST(CAST(c AS tinyint) AS smallint) FROM %s") == (1, 2, 6)
    assert t.one("SELECT CAST(CAST(CAST(a AS tinyint) AS double) AS text), "
                 "CAST(CAST(CAST(b AS tinyint) AS double) AS text), "
                 "CAST(CAST(CAST(c AS tinyint) AS double) AS text) FROM %s") == ("1.0", "2.0", "6.0")


def test_counter_casts_in_selection_clause(t):
    t.create_table("CREATE TABLE %s (a int primary key, b counter)")
    t.execute("UPDATE %s SET b = b + 2 WHERE a = 1")
    assert t.one("SELECT CAST(b AS tinyint), CAST(b AS smallint), CAST(b AS int), CAST(b AS bigint), "
                 "CAST(b AS float), CAST(b AS double), CAST(b AS decimal), CAST(b AS ascii), "
                 "CAST(b AS text) FROM %s") == (2, 2, 2, 2, 2.0, 2.0, decimal.Decimal(2), "2", "2")
