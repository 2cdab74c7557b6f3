"""5.0's collection functions (map_keys, map_values, collection_count/min/max/sum/avg), after
Cassandra's cql3/functions/CollectionFctsTest."""

import decimal

import pytest


def test_not_numeric_collection(t):
    t.create_table("CREATE TABLE %s (k int PRIMARY KEY, v uuid, l list<text>, s set<boolean>, "
                   "fl frozen<list<text>>, fs frozen<set<boolean>>)")
    for function in ("collection_sum", "collection_avg"):
        for column, typ in [("v", "uuid"), ("l", "list<text>"), ("s", "set<boolean>"),
                            ("fl", "frozen<list<text>>"), ("fs", "frozen<set<boolean>>")]:
            t.invalid(f"Function system.{function} requires a numeric set/list argument, but found argument "
                      f"{column} of type {typ}", f"SELECT {function}({column}) FROM %s")


NUMERIC = {
    "tinyint": ([1, 2], {1: 2, 3: 4}, 3, 1),
    "smallint": ([1, 2], {1: 2, 3: 4}, 3, 1),
    "int": ([1, 2], {1: 2, 3: 4}, 3, 1),
    "bigint": ([1, 2], {1: 2, 3: 4}, 3, 1),
    "varint": ([12345678901234567890, 23456789012345678901], {1: 2, 3: 4},
               35802467913580246791, 17901233956790123395),
    "float": ([1.5, 2.5], {1.5: 2.5, 3.5: 4.5}, 4.0, 2.0),
    "double": ([1.5, 2.5], {1.5: 2.5, 3.5: 4.5}, 4.0, 2.0),
    "decimal": ([decimal.Decimal("1234567890.1234567890"), decimal.Decimal("2345678901.2345678901")],
                {decimal.Decimal(1): decimal.Decimal(2)},
                decimal.Decimal("3580246791.3580246791"), decimal.Decimal("1790123395.6790123396")),
}


@pytest.mark.parametrize("cql_type", list(NUMERIC))
def test_numeric_collections(t, cql_type):
    values, mapping, total, average = NUMERIC[cql_type]
    t.create_table(f"CREATE TABLE %s (k int PRIMARY KEY, l list<{cql_type}>, s set<{cql_type}>, "
                   f"m map<{cql_type}, {cql_type}>, fl frozen<list<{cql_type}>>, fs frozen<set<{cql_type}>>, "
                   f"fm frozen<map<{cql_type}, {cql_type}>>)")
    t.execute("INSERT INTO %s (k) VALUES (1)")
    t.execute("UPDATE %s SET fl = [], fs = {}, fm = {} WHERE k = 1")
    assert t.one("SELECT map_keys(m), map_values(m), map_keys(fm), map_values(fm) FROM %s") == (None, None, set(), [])
    assert t.one("SELECT collection_count(l), collection_count(s), collection_count(m), collection_count(fl), "
                 "collection_count(fs), collection_count(fm) FROM %s") == (None, None, None, 0, 0, 0)
    for function in ("collection_min", "collection_max"):
        assert t.one(f"SELECT {function}(l), {function}(s), {function}(fl), {function}(fs) FROM %s") == (
            None, None, None, None)
    for function in ("collection_sum", "collection_avg"):
        assert t.one(f"SELECT {function}(l), {function}(s), {function}(fl), {function}(fs) FROM %s") == (
            None, None, 0, 0)
    t.execute("INSERT INTO %s (k, l, fl, s, fs, m, fm) VALUES (1, ?, ?, ?, ?, ?, ?)",
              values, values, set(values), set(values), mapping, mapping)
    assert t.one("SELECT map_keys(m), map_keys(fm) FROM %s") == (set(mapping), set(mapping))
    assert t.one("SELECT map_values(m), map_values(fm) FROM %s") == (list(mapping.values()), list(mapping.values()))
    assert t.one("SELECT collection_count(l), collection_count(s), collection_count(m), collection_count(fl), "
                 "collection_count(fs), collection_count(fm) FROM %s") == (2, 2, len(mapping), 2, 2, len(mapping))
    assert t.one("SELECT collection_min(l), collection_min(s), collection_min(fl), collection_min(fs) FROM %s") == (
        (min(values),) * 4)
    assert t.one("SELECT collection_max(l), collection_max(s), collection_max(fl), collection_max(fs) FROM %s") == (
        (max(values),) * 4)
    assert t.one("SELECT collection_sum(l), collection_sum(s), collection_sum(fl), collection_sum(fs) FROM %s") == (
        (total,) * 4)
    assert t.one("SELECT collection_avg(l), collection_avg(s), collection_avg(fl), collection_avg(fs) FROM %s") == (
        (average,) * 4)


def test_text_collections(t):
    t.create_table("CREATE TABLE %s (k int PRIMARY KEY, l list<text>, s set<text>, m map<text, text>)")
    t.execute("INSERT INTO %s (k, l, s, m) VALUES (1, ['b', 'a', 'c'], {'b', 'a'}, {'y': 'b', 'x': 'a'})")
    assert t.one("SELECT collection_min(l), collection_max(l), collection_min(s), collection_max(s), "
                 "map_keys(m), map_values(m), collection_count(m) FROM %s") == (
        "a", "c", "a", "b", {"x", "y"}, ["a", "b"], 2)
