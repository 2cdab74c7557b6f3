"""5.0's math functions abs, exp, log, log10 and round on every numeric type: results keep the
argument's type (Java's narrowing for integers, HALF_UP for decimals), after Cassandra's
cql3/functions/MathFctsTest."""

import decimal
import math
import struct

import pytest

INTEGERS = ["tinyint", "smallint", "int", "bigint", "varint"]


def f32(value):
    return struct.unpack(">f", struct.pack(">f", value))[0]


def java_int(value):
    """Java's (int) cast of a double: NaN -> 0, truncation toward zero."""
    return 0 if math.isnan(value) else int(value)


def table(t):
    t.create_table("CREATE TABLE %s (k int PRIMARY KEY, ti tinyint, si smallint, i int, bi bigint, vi varint, "
                   "f float, d double, dc decimal, c counter)".replace(", c counter", ""))


def select_one(t, function, column, value):
    t.execute(f"INSERT INTO %s (k, {column}) VALUES (0, ?)", value)
    return t.one(f"SELECT {function}({column}) FROM %s WHERE k = 0")[0]


INTEGER_COLUMNS = {"tinyint": "ti", "smallint": "si", "int": "i", "bigint": "bi", "varint": "vi"}


@pytest.mark.parametrize("cql_type", INTEGERS)
def test_abs_exp_log_round_integers(t, cql_type):
    table(t)
    column = INTEGER_COLUMNS[cql_type]
    assert [select_one(t, "abs", column, v) for v in (1, 0, -3)] == [1, 0, 3]
    # (byte) Math.pow(Math.E, 5) is (byte) 148 = -108 in Cassandra's MathFctsTest.testExp.
    exp5 = -108 if cql_type == "tinyint" else 148
    assert [select_one(t, "exp", column, v) for v in (5, 1, 0, -1)] == [exp5, 2, 1, 0]
    assert [select_one(t, "log", column, v) for v in (5, 2, 1)] == [1, 0, 0]
    assert [select_one(t, "log10", column, v) for v in (5, 2, 1)] == [0, 0, 0]
    assert [select_one(t, "round", column, v) for v in (5, 0, -1)] == [5, 0, -1]
    if cql_type != "varint":
        assert select_one(t, "log", column, -1) == java_int(float("nan"))
        assert select_one(t, "log10", column, -1) == 0


def test_abs_exp_log_round_floating_point(t):
    table(t)
    assert [select_one(t, "abs", "f", v) for v in (1.5, 0.0, -3.7)] == [1.5, 0.0, f32(3.7)]
    assert [select_one(t, "abs", "d", v) for v in (1.5, 0.0, -3.7)] == [1.5, 0.0, 3.7]
    assert select_one(t, "exp", "f", -2.5) == pytest.approx(math.exp(-2.5), rel=1e-6)
    assert select_one(t, "exp", "d", 5.0) == math.exp(5.0)
    assert select_one(t, "log", "d", math.e) == 1.0
    assert math.isnan(select_one(t, "log", "d", -1.0))
    assert select_one(t, "log10", "f", 10.0) == 1.0
    assert [select_one(t, "round", "f", v) for v in (5.5, 1.0, -1.5)] == [6.0, 1.0, -1.0]
    assert [select_one(t, "round", "d", v) for v in (5.5, 2.4, -1.5)] == [6.0, 2.0, -1.0]


def test_abs_exp_log_round_decimal(t):
    table(t)
    D = decimal.Decimal
    assert [select_one(t, "abs", "dc", D(v)) for v in ("1.5", "0", "-3.7")] == [D("1.5"), D(0), D("3.7")]
    assert select_one(t, "exp", "dc", D(1)) == D("2.7182818284590452353602874713527")
    assert select_one(t, "exp", "dc", D(0)) == D(1)
    assert select_one(t, "log", "dc", D(5)) == D("1.6094379124341003746007593332262")
    assert select_one(t, "log10", "dc", D(5)) == D("0.69897000433601880478626110527551")
    assert [select_one(t, "round", "dc", D(v)) for v in ("5.5", "1", "0", "-1.5")] == [D(6), D(1), D(0), D(-2)]


def test_math_functions_on_counters(t):
    t.create_table("CREATE TABLE %s (k int PRIMARY KEY, c counter)")
    t.execute("UPDATE %s SET c = c - 3 WHERE k = 0")
    assert t.one("SELECT abs(c), exp(c), round(c), log(c) FROM %s WHERE k = 0") == (3, 0, -3, 0)


def test_math_functions_reject_non_numeric(t):
    t.create_table("CREATE TABLE %s (k int PRIMARY KEY, v text)")
    t.invalid_prefix("Invalid call to function abs, none of its type signatures match", "SELECT abs(v) FROM %s")
