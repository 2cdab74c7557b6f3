"""Collections: bind markers inside collection, tuple and UDT literals and in function
arguments, element updates and their errors, after Cassandra's
cql3/validation/entities/CollectionsTest, TupleTypeTest and UserTypesTest."""

from cql3_tester import UNSET


def test_bind_markers_inside_collection_literals(t):
    t.create_table("CREATE TABLE %s (k int PRIMARY KEY, l list<int>, s set<text>, m map<text, int>, "
                   "fl frozen<list<int>>)")
    t.execute("INSERT INTO %s (k, l, s, m, fl) VALUES (0, [?, ?], {?, ?}, {?: ?, 'c': ?}, [?])",
              1, 2, "a", "b", "a", 1, 3, 9)
    assert t.rows("SELECT l, s, m, fl FROM %s WHERE k = 0") == [([1, 2], {"a", "b"}, {"a": 1, "c": 3}, [9])]
    t.execute("UPDATE %s SET l = l + [?], s = s - {?}, m = m + {?: ?} WHERE k = ?", 3, "a", "d", 4, 0)
    assert t.rows("SELECT l, s, m FROM %s WHERE k = 0") == [([1, 2, 3], {"b"}, {"a": 1, "c": 3, "d": 4})]
    t.execute("UPDATE %s SET l[?] = ?, m[?] = ? WHERE k = ?", 0, 10, "a", 11, 0)
    assert t.rows("SELECT l, m FROM %s WHERE k = 0") == [([10, 2, 3], {"a": 11, "c": 3, "d": 4})]


def test_null_inside_collection_literals(t):
    t.create_table("CREATE TABLE %s (k int PRIMARY KEY, l list<int>, s set<text>, m map<text, int>)")
    t.invalid("null is not supported inside collections", "INSERT INTO %s (k, l) VALUES (0, [?, ?])", 1, None)
    t.invalid("null is not supported inside collections", "INSERT INTO %s (k, s) VALUES (0, {?})", None)
    t.invalid("null is not supported inside collections", "INSERT INTO %s (k, m) VALUES (0, {?: 1})", None)
    t.invalid("null is not supported inside collections", "INSERT INTO %s (k, m) VALUES (0, {'a': ?})", None)
    t.invalid("null is not supported inside collections", "INSERT INTO %s (k, l) VALUES (0, [1, null])")


def test_bind_markers_inside_tuple_and_udt_literals(t):
    typ = t.create_type("CREATE TYPE %s (a int, b text)")
    t.create_table(f"CREATE TABLE %s (k int PRIMARY KEY, tu frozen<tuple<int, text>>, u frozen<{typ}>, "
                   f"lu list<frozen<{typ}>>)")
    t.execute("INSERT INTO %s (k, tu, u, lu) VALUES (0, (?, ?), {a: ?, b: ?}, [{a: ?}])", 1, "x", 2, "y", 3)
    row = t.one("SELECT tu, u, lu FROM %s WHERE k = 0")
    assert row[0] == (1, "x")
    assert (row[1].a, row[1].b) == (2, "y")
    assert [(v.a, v.b) for v in row[2]] == [(3, None)]
    t.execute("INSERT INTO %s (k, tu, u) VALUES (1, (?, ?), {a: ?, b: ?})", None, None, None, None)
    row = t.one("SELECT tu, u FROM %s WHERE k = 1")
    assert row[0] == (None, None) and (row[1].a, row[1].b) == (None, None)


def test_bind_markers_in_function_arguments(t):
    t.create_table("CREATE TABLE %s (k int PRIMARY KEY, b blob, ts timestamp, v int)")
    t.execute("INSERT INTO %s (k, b, ts) VALUES (?, intAsBlob(?), toTimestamp(now()))", 0, 7)
    assert t.rows("SELECT blobAsInt(b) FROM %s WHERE k = blobAsInt(?)", b"\0\0\0\0") == [(7,)]
    assert t.rows("SELECT k FROM %s WHERE k = blobAsInt(intAsBlob(?))", 0) == [(0,)]
    t.invalid("Invalid unset value for argument in call to function intasblob",
              "INSERT INTO %s (k, b) VALUES (1, intAsBlob(?))", UNSET)


def test_limit_bind_markers(t):
    t.create_table("CREATE TABLE %s (k int, c int, v int, PRIMARY KEY (k, c))")
    for k in range(2):
        for c in range(3):
            t.execute("INSERT INTO %s (k, c, v) VALUES (?, ?, ?)", k, c, c)
    assert len(t.rows("SELECT * FROM %s LIMIT ?", 4)) == 4
    assert len(t.rows("SELECT * FROM %s PER PARTITION LIMIT ?", 1)) == 2
    assert len(t.rows("SELECT * FROM %s PER PARTITION LIMIT ? LIMIT ?", 2, 3)) == 3
    assert len(t.rows("SELECT * FROM %s LIMIT ?", UNSET)) == 6
    assert len(t.rows("SELECT * FROM %s PER PARTITION LIMIT ?", UNSET)) == 6
    t.invalid("LIMIT must be strictly positive", "SELECT * FROM %s LIMIT ?", 0)
    t.invalid("LIMIT must be strictly positive", "SELECT * FROM %s LIMIT ?", -1)
    t.invalid("Invalid null value of limit", "SELECT * FROM %s LIMIT ?", None)
    t.invalid("PER PARTITION LIMIT must be strictly positive", "SELECT * FROM %s PER PARTITION LIMIT ?", 0)
    t.invalid("Invalid null value of per partition limit", "SELECT * FROM %s PER PARTITION LIMIT ?", None)


def test_list_element_errors(t):
    t.create_table("CREATE TABLE %s (k int PRIMARY KEY, l list<int>, fl frozen<list<int>>)")
    t.execute("INSERT INTO %s (k, l, fl) VALUES (0, [1, 2], [1])")
    t.invalid("List index 5 out of bound, list has size 2", "UPDATE %s SET l[5] = 3 WHERE k = 0")
    t.invalid("Attempted to set an element on a list which is null", "UPDATE %s SET l[0] = 3 WHERE k = 1")
    t.invalid("Invalid operation (fl[0] = 3) for frozen collection column fl", "UPDATE %s SET fl[0] = 3 WHERE k = 0")
    t.invalid("Invalid null value for list index", "UPDATE %s SET l[?] = 3 WHERE k = 0", None)
    t.execute("DELETE l[0] FROM %s WHERE k = 0")
    assert t.rows("SELECT l FROM %s WHERE k = 0") == [([2],)]


def test_unset_in_collection_operations(t):
    t.create_table("CREATE TABLE %s (k int PRIMARY KEY, l list<int>, m map<text, int>)")
    t.execute("INSERT INTO %s (k, l, m) VALUES (0, [1], {'a': 1})")
    t.execute("UPDATE %s SET l = ?, m = ? WHERE k = 0", UNSET, UNSET)
    t.execute("UPDATE %s SET l = l + ?, m = m + ? WHERE k = 0", UNSET, UNSET)
    assert t.rows("SELECT l, m FROM %s WHERE k = 0") == [([1], {"a": 1})]
    t.invalid("Invalid unset map key", "UPDATE %s SET m[?] = 2 WHERE k = 0", UNSET)
    t.execute("UPDATE %s SET m['a'] = ? WHERE k = 0", UNSET)
    assert t.rows("SELECT m FROM %s WHERE k = 0") == [({"a": 1},)]


def test_non_frozen_collection_in_primary_key(t):
    t.invalid_prefix("Invalid non-frozen collection type", "CREATE TABLE %s (k list<int> PRIMARY KEY, v int)"
                     % f"{t.keyspace}.nope1")
    t.invalid_prefix("Invalid non-frozen collection type",
                     "CREATE TABLE %s (k int, c set<int>, v int, PRIMARY KEY (k, c))" % f"{t.keyspace}.nope2")
