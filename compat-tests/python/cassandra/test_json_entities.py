"""fromJson / toJson and INSERT JSON, after Cassandra's cql3/validation/entities/JsonTest
(module named apart from the project's own test_json.py)."""

import datetime
import decimal
import ipaddress
import uuid

import pytest

from cql3_tester import UNSET

TYPES_TABLE = ("CREATE TABLE %s (k int PRIMARY KEY, asciival ascii, bigintval bigint, blobval blob, "
               "booleanval boolean, dateval date, decimalval decimal, doubleval double, floatval float, "
               "inetval inet, intval int, textval text, timeval time, timestampval timestamp, "
               "timeuuidval timeuuid, uuidval uuid, varcharval varchar, varintval varint, listval list<int>, "
               "frozenlistval frozen<list<int>>, setval set<uuid>, mapval map<ascii, int>, "
               "tupleval frozen<tuple<int, ascii, uuid>>, smallintval smallint, tinyintval tinyint, "
               "durationval duration)")


# fromJson() failing on its argument is a FunctionExecutionException in Cassandra 5.0
# (FromJsonFct.execute): error 0x1400, the type's message behind this prefix. Cassandra's own
# test matches only a part of the message, whatever the error class.
FROM_JSON = "execution of 'system.fromjson[text]' failed: "


def from_json(t, column, json_text):
    t.execute(f"INSERT INTO %s (k, {column}) VALUES (?, fromJson(?))", 0, json_text)
    return t.one(f"SELECT {column} FROM %s WHERE k = ?", 0)[0]


def test_from_json_fct(t):
    t.create_table(TYPES_TABLE)
    t.invalid("fromJson() cannot be used in the selection clause", "SELECT fromJson(asciival) FROM %s")
    t.execute("INSERT INTO %s (k, asciival) VALUES (?, fromJson(?))", 0, None)
    assert from_json(t, "asciival", '"ascii text"') == "ascii text"
    assert from_json(t, "asciival", '"ascii \\" text"') == 'ascii " text'
    t.function_failure_prefix(FROM_JSON + "Invalid ASCII character in string literal",
                              "INSERT INTO %s (k, asciival) VALUES (?, fromJson(?))", 0,
                              '"\\u1fff\\u2013\\u33B4\\u2014"')
    t.function_failure(FROM_JSON + "Expected an ascii string, but got a Integer: 123",
                       "INSERT INTO %s (k, asciival) VALUES (?, fromJson(?))", 0, "123")
    assert t.rows("SELECT asciival FROM %s WHERE k = fromJson(?)", "0") == [('ascii " text',)]
    assert from_json(t, "bigintval", "123123123123") == 123123123123
    assert from_json(t, "bigintval", '"123123123123"') == 123123123123
    t.function_failure_prefix(FROM_JSON + "Expected a bigint value, but got a",
                              "INSERT INTO %s (k, bigintval) VALUES (?, fromJson(?))", 0, "123.456")
    t.function_failure_prefix(FROM_JSON + "Unable to make long from",
                              "INSERT INTO %s (k, bigintval) VALUES (?, fromJson(?))", 0, '"abc"')
    assert from_json(t, "blobval", '"0x00000001"') == b"\x00\x00\x00\x01"
    t.function_failure(FROM_JSON + "Value 'xyzz' is not a valid blob representation: String representation of "
                       "blob is missing 0x prefix: xyzz",
                       "INSERT INTO %s (k, blobval) VALUES (?, fromJson(?))", 0, '"xyzz"')
    t.function_failure(FROM_JSON + "Value '123' is not a valid blob representation: String representation of "
                       "blob is missing 0x prefix: 123",
                       "INSERT INTO %s (k, blobval) VALUES (?, fromJson(?))", 0, '"123"')
    assert from_json(t, "booleanval", "true") is True
    assert from_json(t, "booleanval", '"false"') is False
    t.function_failure(FROM_JSON + "Expected a boolean value, but got a Integer: 123",
                       "INSERT INTO %s (k, booleanval) VALUES (?, fromJson(?))", 0, "123")
    assert str(from_json(t, "dateval", '"1987-03-23"')) == "1987-03-23"
    t.function_failure_prefix(FROM_JSON + "Expected a string representation of a date",
                              "INSERT INTO %s (k, dateval) VALUES (?, fromJson(?))", 0, "123")
    t.function_failure_prefix(FROM_JSON + "Unable to coerce 'xyz' to a formatted date",
                              "INSERT INTO %s (k, dateval) VALUES (?, fromJson(?))", 0, '"xyz"')
    assert from_json(t, "decimalval", "123123.123123") == decimal.Decimal("123123.123123")
    assert from_json(t, "decimalval", '"-1.23E-12"') == decimal.Decimal("-1.23E-12")
    t.function_failure(FROM_JSON + "Value 'xyzz' is not a valid representation of a decimal value",
                       "INSERT INTO %s (k, decimalval) VALUES (?, fromJson(?))", 0, '"xyzz"')
    assert from_json(t, "doubleval", "123123") == 123123.0
    assert from_json(t, "floatval", '"123123.0"') == 123123.0
    assert from_json(t, "inetval", '"::1"') == "::1"
    t.function_failure(FROM_JSON + "Unable to make inet address from 'xyzz'",
                       "INSERT INTO %s (k, inetval) VALUES (?, fromJson(?))", 0, '"xyzz"')
    assert from_json(t, "intval", '"123123"') == 123123
    t.function_failure_prefix(FROM_JSON + "Expected an int value, but got a",
                              "INSERT INTO %s (k, intval) VALUES (?, fromJson(?))", 0, "2147483648")
    t.function_failure_prefix(FROM_JSON + "Unable to make int from",
                              "INSERT INTO %s (k, intval) VALUES (?, fromJson(?))", 0, '"xyzz"')
    assert from_json(t, "textval", '"\\u2013"') == "\u2013"
    t.function_failure(FROM_JSON + "Expected a UTF-8 string, but got a Integer: 123",
                       "INSERT INTO %s (k, textval) VALUES (?, fromJson(?))", 0, "123")
    assert str(from_json(t, "timeval", '"07:35:07.000111222"')) == "07:35:07.000111222"
    assert from_json(t, "timestampval", "123123123123") == datetime.datetime(1973, 11, 26, 0, 52, 3, 123000)
    u = "6bddc89a-5644-11e4-97fc-56847afe9799"
    assert from_json(t, "uuidval", f'"{u}"') == uuid.UUID(u)
    t.function_failure_prefix(FROM_JSON + "Unable to make UUID from",
                              "INSERT INTO %s (k, uuidval) VALUES (?, fromJson(?))", 0, '"xyzz"')
    assert from_json(t, "varintval", "123123123123123123123") == 123123123123123123123
    assert from_json(t, "varintval", '"1234567890123456789012345678901234567890"') == \
        1234567890123456789012345678901234567890
    t.function_failure(FROM_JSON + "Value '123123.123' is not a valid representation of a varint value",
                       "INSERT INTO %s (k, varintval) VALUES (?, fromJson(?))", 0, "123123.123")
    t.function_failure(FROM_JSON + "Value 'true' is not a valid representation of a varint value",
                       "INSERT INTO %s (k, varintval) VALUES (?, fromJson(?))", 0, "true")
    assert from_json(t, "listval", "[1, 2, 3]") == [1, 2, 3]
    assert from_json(t, "listval", "[]") is None
    t.function_failure(FROM_JSON + "Invalid null element in list",
                       "INSERT INTO %s (k, listval) VALUES (?, fromJson(?))", 0, "[1, null]")
    assert from_json(t, "mapval", '{"a": 1, "b": 2}') == {"a": 1, "b": 2}
    assert from_json(t, "tupleval", f'[1, "foobar", "{u}"]') == (1, "foobar", uuid.UUID(u))
    assert from_json(t, "smallintval", "32767") == 32767
    assert from_json(t, "tinyintval", '"-128"') == -128
    t.function_failure_prefix(FROM_JSON + "Could not decode JSON string",
                              "INSERT INTO %s (k, intval) VALUES (?, fromJson(?))", 0, "{")


def test_from_json_numbers_beyond_64_bits(t):
    """Jackson reads a JSON integer of any size exactly (a BigInteger), so a varint or a decimal
    given as a JSON number keeps every digit, through fromJson() and INSERT JSON alike; a number
    with a fraction or an exponent is a Double, and a decimal then reads Double.toString's text."""
    t.create_table(TYPES_TABLE)
    big = 123456789012345678901234567890
    assert from_json(t, "varintval", str(big)) == big
    assert from_json(t, "varintval", str(-big * 10**9)) == -big * 10**9
    assert from_json(t, "decimalval", str(big)) == decimal.Decimal(str(big))
    assert from_json(t, "decimalval", '"1234567890.12345678901234567890"') == \
        decimal.Decimal("1234567890.12345678901234567890")
    assert from_json(t, "decimalval", "1e10") == decimal.Decimal("1.0E+10")
    assert from_json(t, "bigintval", "-0") == 0
    t.function_failure(FROM_JSON + "Expected a bigint value, but got a BigInteger: 9223372036854775808",
                       "INSERT INTO %s (k, bigintval) VALUES (?, fromJson(?))", 0, "9223372036854775808")
    t.function_failure(FROM_JSON + "Expected an int value, but got a Double: 1.0E20",
                       "INSERT INTO %s (k, intval) VALUES (?, fromJson(?))", 0, "1e20")
    t.execute("INSERT INTO %s JSON ?", f'{{"k": 1, "varintval": {big}, "decimalval": {big}, '
              f'"listval": [1], "mapval": {{"a": 1}}}}')
    assert t.one("SELECT varintval, decimalval, toJson(varintval), toJson(decimalval) FROM %s WHERE k = 1") == \
        (big, decimal.Decimal(str(big)), str(big), str(big))
    assert t.one("SELECT JSON k, varintval FROM %s WHERE k = 1") == (f'{{"k": 1, "varintval": {big}}}',)
    t.execute("INSERT INTO %s (k, doubleval, floatval) VALUES (2, 0.1, 1e-5)")
    assert t.one("SELECT toJson(doubleval), toJson(floatval) FROM %s WHERE k = 2") == ("0.1", "1.0E-5")


def test_to_json_fct(t):
    t.create_table(TYPES_TABLE)
    t.invalid("toJson() may only be used within the selection clause",
              "INSERT INTO %s (k, asciival) VALUES (?, toJson(?))", 0, 0)
    cases = [
        ("asciival", "'ascii text'", '"ascii text"'),
        ("bigintval", "123123123123", "123123123123"),
        ("blobval", "0x00000001", '"0x00000001"'),
        ("booleanval", "true", "true"),
        ("dateval", "'1987-03-23'", '"1987-03-23"'),
        ("decimalval", "123123.123123", "123123.123123"),
        ("doubleval", "123123.123123", "123123.123123"),
        ("doubleval", "123123", "123123.0"),
        ("floatval", "123.5", "123.5"),
        ("inetval", "'127.0.0.1'", '"127.0.0.1"'),
        ("intval", "-123123", "-123123"),
        ("textval", "'some \" text'", '"some \\" text"'),
        ("timeval", "'07:35:07.000111222'", '"07:35:07.000111222"'),
        ("timestampval", "'2014-01-01 00:00:00+0000'", '"2014-01-01 00:00:00.000Z"'),
        ("uuidval", "6bddc89a-5644-11e4-97fc-56847afe9799", '"6bddc89a-5644-11e4-97fc-56847afe9799"'),
        ("varintval", "123123123123123123123", "123123123123123123123"),
        ("listval", "[1, 2, 3]", "[1, 2, 3]"),
        ("setval", "{6bddc89a-5644-11e4-97fc-56847afe9799}", '["6bddc89a-5644-11e4-97fc-56847afe9799"]'),
        ("mapval", "{'a': 1, 'b': 2}", '{"a": 1, "b": 2}'),
        ("tupleval", "(1, 'foobar', 6bddc89a-5644-11e4-97fc-56847afe9799)",
         '[1, "foobar", "6bddc89a-5644-11e4-97fc-56847afe9799"]'),
        ("durationval", "12h30m", '"12h30m"'),
        ("smallintval", "-1", "-1"),
    ]
    for column, literal, expected in cases:
        t.execute(f"INSERT INTO %s (k, {column}) VALUES (0, {literal})")
        assert t.rows(f"SELECT k, toJson({column}) FROM %s WHERE k = 0") == [(0, expected)], column
    t.execute("INSERT INTO %s (k, intval) VALUES (1, null)")
    assert t.rows("SELECT toJson(intval) FROM %s WHERE k = 1") == [("null",)]


def test_json_map_keys_of_non_text_types(t):
    """Map keys become JSON strings, whatever their CQL type (both directions)."""
    t.create_table("CREATE TABLE %s (k int PRIMARY KEY, mi map<int, text>, mt map<timestamp, int>, "
                   "md map<date, int>, mtime map<time, int>, mu map<timeuuid, int>, mb map<blob, int>, "
                   "mn map<inet, int>, mf frozen<map<frozen<list<int>>, int>>)")
    t.execute("INSERT INTO %s JSON ?", '{"k": 0, "mi": {"1": "a", "2": "b"}, '
              '"mt": {"2014-01-01 00:00:00.000Z": 1}, "md": {"2014-01-01": 2}, '
              '"mtime": {"00:00:01.000000000": 3}, "mu": {"6bddc89a-5644-11e4-97fc-56847afe9799": 4}, '
              '"mb": {"0x0102": 5}, "mn": {"127.0.0.1": 6}, "mf": {"[1, 2]": 7}}')
    row = t.one("SELECT mi, mb, mn FROM %s WHERE k = 0")
    assert row == ({1: "a", 2: "b"}, {b"\x01\x02": 5}, {"127.0.0.1": 6})
    assert t.rows("SELECT toJson(mi), toJson(mt), toJson(md), toJson(mtime), toJson(mu), toJson(mb), toJson(mn), "
                  "toJson(mf) FROM %s WHERE k = 0") == [(
                      '{"1": "a", "2": "b"}', '{"2014-01-01 00:00:00.000Z": 1}', '{"2014-01-01": 2}',
                      '{"00:00:01.000000000": 3}', '{"6bddc89a-5644-11e4-97fc-56847afe9799": 4}',
                      '{"0x0102": 5}', '{"127.0.0.1": 6}', '{"[1, 2]": 7}')]


def test_select_json(t):
    t.create_table("CREATE TABLE %s (k int, c int, v text, s int static, PRIMARY KEY (k, c))")
    t.execute("INSERT INTO %s (k, c, v, s) VALUES (0, 1, 'a', 9)")
    assert t.rows("SELECT JSON * FROM %s") == [('{"k": 0, "c": 1, "s": 9, "v": "a"}',)]
    assert t.rows("SELECT JSON k, v AS \"Value\", ttl(v) FROM %s") == [('{"k": 0, "\\"Value\\"": "a", "ttl(v)": null}',)]
    assert t.rows("SELECT JSON count(*) FROM %s") == [('{"count": 1}',)]


def test_insert_json_syntax_and_errors(t):
    t.create_table("CREATE TABLE %s (k int primary key, v int)")
    t.execute("INSERT INTO %s JSON ?", '{"k": 0, "v": 0}')
    assert t.rows("SELECT * FROM %s") == [(0, 0)]
    t.execute("""INSERT INTO %s JSON '{"k": 0, "v": null}'""")
    assert t.rows("SELECT * FROM %s") == [(0, None)]
    t.invalid("JSON values map contains unrecognized column: foo",
              """INSERT INTO %s JSON '{"k": 0, "foo": 0}'""")
    t.invalid_prefix("Could not decode JSON string as a map", """INSERT INTO %s JSON '{"k": 0, "v": 0'""")
    t.invalid("Got null for INSERT JSON values", "INSERT INTO %s JSON ?", None)
    # Cassandra's test pins only a part ("Unable to make int from"; CQLTester matches messages
    # by containment); Json.parseJson wraps the type's MarshalException with the column name.
    t.invalid("Error decoding JSON value for v: Unable to make int from 'abc'",
              """INSERT INTO %s JSON '{"k": 0, "v": "abc"}'""")
    t.invalid("Invalid null value in condition for column k", """INSERT INTO %s JSON '{"v": 0}'""")


def test_insert_json_default_unset_and_null(t):
    t.create_table("CREATE TABLE %s (k int primary key, v1 int, v2 int)")
    t.execute("""INSERT INTO %s JSON '{"k": 0, "v1": 0, "v2": 0}'""")
    t.execute("""INSERT INTO %s JSON '{"k": 0, "v1": 1}' DEFAULT UNSET""")
    assert t.rows("SELECT * FROM %s") == [(0, 1, 0)]
    t.execute("""INSERT INTO %s JSON '{"k": 0, "v1": 2}' DEFAULT NULL""")
    assert t.rows("SELECT * FROM %s") == [(0, 2, None)]
    t.execute("""INSERT INTO %s JSON '{"k": 0, "v2": 3}'""")
    assert t.rows("SELECT * FROM %s") == [(0, None, 3)]


def test_insert_json_with_ttl_and_timestamp(t):
    t.create_table("CREATE TABLE %s (k int primary key, v int)")
    t.execute("""INSERT INTO %s JSON '{"k": 0, "v": 5}' USING TTL 1000 AND TIMESTAMP 42""")
    ttl, writetime = t.one("SELECT ttl(v), writetime(v) FROM %s WHERE k = 0")
    assert 990 <= ttl <= 1000 and writetime == 42


def test_case_sensitive_json_keys(t):
    t.create_table('CREATE TABLE %s (k int primary key, "Foo" int, bar int)')
    t.execute("""INSERT INTO %s JSON '{"k": 0, "\\"Foo\\"": 1, "BAR": 2}'""")
    assert t.rows('SELECT k, "Foo", bar FROM %s') == [(0, 1, 2)]
    assert t.rows("SELECT JSON * FROM %s") == [('{"k": 0, "\\"Foo\\"": 1, "bar": 2}',)]
