"""Indexes on map entries (`ENTRIES(m)`, `m[k] = v`), after Cassandra's
cql3/validation/entities/SecondaryIndexOnMapEntriesTest (that test runs under the byte-ordered
partitioner; rows are compared in key order here)."""

import pytest
from cassandra import InvalidRequest


def simple_table(t):
    t.create_table("CREATE TABLE %s (k TEXT PRIMARY KEY, v MAP<TEXT, INT>)")
    t.create_index("CREATE INDEX ON %s(ENTRIES(v))")


def insert(t, key, value):
    t.execute("INSERT INTO %s (k, v) VALUES (?, ?)", key, value)
    return (key, value)


def where(entries=(), keys=(), values=()):
    preds, params = [], []
    for key, value in entries:
        preds.append("v[?] = ?")
        params += [key, value]
    for key in keys:
        preds.append("v CONTAINS KEY ?")
        params.append(key)
    for value in values:
        preds.append("v CONTAINS ?")
        params.append(value)
    text = " AND ".join(preds) + (" ALLOW FILTERING" if len(preds) > 1 else "")
    return text, params


def rows_for(t, *rows, **conditions):
    text, params = where(**conditions)
    assert t.sorted_rows("SELECT * FROM %s WHERE " + text, *params) == sorted(rows), conditions


def test_should_not_create_index_on_frozen_maps(t):
    t.create_table("CREATE TABLE %s (k TEXT PRIMARY KEY, v FROZEN<MAP<TEXT, TEXT>>)")
    t.invalid_any("CREATE INDEX ON %s(ENTRIES(v))")


def test_should_not_create_index_on_non_map_types(t):
    t.create_table("CREATE TABLE %s (k TEXT PRIMARY KEY, i INT, t TEXT, b BLOB, s SET<TEXT>, l LIST<TEXT>, "
                   "tu TUPLE<TEXT>)")
    for column in ("i", "t", "b", "s", "l", "tu"):
        t.invalid_any(f"CREATE INDEX ON %s(ENTRIES({column}))")


def test_should_validate_map_key_and_value_types(t):
    simple_table(t)
    for key, value in [(31415, "invalid value"), ("valid key", "invalid value")]:
        # Rejected by the driver's serializer or by the server, as in Cassandra's assertInvalid.
        with pytest.raises((InvalidRequest, TypeError, AttributeError)):
            t.execute("SELECT * FROM %s WHERE v[?] = ?", key, value)
    t.invalid_any("SELECT * FROM %s WHERE v[31415] = 31415")
    assert t.rows("SELECT * FROM %s WHERE v[?] = ?", "valid key", 31415) == []


def test_should_find_rows_matching_single_equality_restriction(t):
    simple_table(t)
    foo = insert(t, "foo", {"a": 1, "c": 3})
    bar = insert(t, "bar", {"a": 1, "b": 2})
    baz = insert(t, "baz", {"b": 2, "c": 5, "d": 4})
    qux = insert(t, "qux", {"b": 2, "d": 4})
    rows_for(t, bar, foo, entries=[("a", 1)])
    rows_for(t, bar, baz, qux, entries=[("b", 2)])
    rows_for(t, foo, entries=[("c", 3)])
    rows_for(t, baz, entries=[("c", 5)])
    rows_for(t, baz, qux, entries=[("d", 4)])


def test_require_filtering_directive_if_multiple_restrictions_specified(t):
    simple_table(t)
    base = "SELECT * FROM %s WHERE v['foo'] = 31415 AND v['baz'] = 31416"
    t.filtering_required(base)
    assert t.rows(base + " ALLOW FILTERING") == []


def test_should_find_rows_matching_multiple_equality_restrictions(t):
    simple_table(t)
    foo = insert(t, "foo", {"k1": 1})
    bar = insert(t, "bar", {"k1": 1, "k2": 2})
    baz = insert(t, "baz", {"k2": 2, "k3": 3})
    qux = insert(t, "qux", {"k2": 2, "k3": 3, "k4": 4})
    rows_for(t, bar, foo, entries=[("k1", 1)])
    rows_for(t, bar, entries=[("k1", 1), ("k2", 2)])
    rows_for(t, entries=[("k1", 1), ("k2", 2), ("k3", 3)])
    rows_for(t, baz, qux, entries=[("k2", 2), ("k3", 3)])
    rows_for(t, qux, entries=[("k2", 2), ("k3", 3), ("k4", 4)])
    rows_for(t, qux, entries=[("k3", 3), ("k4", 4)])
    rows_for(t, entries=[("k3", 3), ("k4", 4), ("k5", 5)])


def test_should_find_rows_matching_equality_and_contains_restrictions(t):
    simple_table(t)
    foo = insert(t, "foo", {"common": 31415, "k1": 1, "k2": 2, "k3": 3})
    bar = insert(t, "bar", {"common": 31415, "k3": 3, "k4": 4, "k5": 5})
    baz = insert(t, "baz", {"common": 31415, "k5": 5, "k6": 6, "k7": 7})
    common = [("common", 31415)]
    rows_for(t, bar, baz, foo, entries=common)
    rows_for(t, foo, entries=common, keys=["k1"])
    rows_for(t, foo, entries=common, keys=["k2"])
    rows_for(t, bar, foo, entries=common, keys=["k3"])
    rows_for(t, foo, entries=common, keys=["k3"], values=[2])
    rows_for(t, bar, foo, entries=common, keys=["k3"], values=[3])
    rows_for(t, bar, entries=common, keys=["k3"], values=[4])
    rows_for(t, bar, entries=common, keys=["k3", "k5"])
    rows_for(t, bar, baz, entries=common, keys=["k5"])
    rows_for(t, bar, entries=common, keys=["k5"], values=[4])
    rows_for(t, bar, baz, entries=common, keys=["k5"], values=[5])
    rows_for(t, baz, entries=common, keys=["k5"], values=[6])
    rows_for(t, entries=common, keys=["k5"], values=[8])


def test_should_not_accept_unsupported_relations_on_entries(t):
    simple_table(t)
    for relation in ["< 31415", "<= 31415", "> 31415", ">= 31415", "IN (31415, 31416, 31417)", "CONTAINS 31415",
                     "CONTAINS KEY 'foo'"]:
        t.invalid_any("SELECT * FROM %s WHERE v " + relation)


def test_should_recognize_altered_or_deleted_map_entries(t):
    simple_table(t)
    foo = insert(t, "foo", {"common": 31415, "target": 8192})
    bar = insert(t, "bar", {"common": 31415, "target": 8192})
    baz = insert(t, "baz", {"common": 31415, "target": 8192})
    rows_for(t, bar, baz, foo, entries=[("target", 8192)])
    t.execute("UPDATE %s SET v[?] = ? WHERE k = ?", "target", 4096, "baz")
    baz = ("baz", {"common": 31415, "target": 4096})
    rows_for(t, bar, foo, entries=[("target", 8192)])
    t.execute("UPDATE %s SET v[?] = ? WHERE k = ?", "target", None, "bar")
    bar = ("bar", {"common": 31415})
    rows_for(t, foo, entries=[("target", 8192)])
    t.execute("DELETE FROM %s WHERE k = 'foo'")
    rows_for(t, entries=[("target", 8192)])
    rows_for(t, bar, baz, entries=[("common", 31415)])
    rows_for(t, baz, entries=[("target", 4096)])


def test_should_reject_queries_for_null_entries(t):
    simple_table(t)
    t.invalid_any("SELECT * FROM %s WHERE v['somekey'] = null")


def test_should_treat_queries_against_frozen_map_indexes_as_invalid(t):
    t.create_table("CREATE TABLE %s (k TEXT PRIMARY KEY, v FROZEN<MAP<TEXT, TEXT>>)")
    t.create_index("CREATE INDEX ON %s(FULL(V))")
    t.invalid("Map-entry equality predicates on frozen map column v are not supported",
              "SELECT * FROM %s WHERE v['somekey'] = 'somevalue'")
