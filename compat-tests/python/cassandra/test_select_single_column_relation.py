"""Single-column relations and when they need ALLOW FILTERING, after Cassandra's
cql3/validation/operations/SelectSingleColumnRelationTest."""

from cql3_tester import UNSET


def test_invalid_collection_equality_relation(t):
    t.create_table("CREATE TABLE %s (a int PRIMARY KEY, b set<int>, c list<int>, d map<int, int>)")
    t.create_index("CREATE INDEX ON %s (b)")
    t.create_index("CREATE INDEX ON %s (c)")
    t.create_index("CREATE INDEX ON %s (d)")
    t.invalid("Collection column 'b' (set<int>) cannot be restricted by a '=' relation",
              "SELECT * FROM %s WHERE a = 0 AND b=?", {0})
    t.invalid("Collection column 'c' (list<int>) cannot be restricted by a '=' relation",
              "SELECT * FROM %s WHERE a = 0 AND c=?", [0])
    t.invalid("Collection column 'd' (map<int, int>) cannot be restricted by a '=' relation",
              "SELECT * FROM %s WHERE a = 0 AND d=?", {0: 0})


def test_invalid_collection_non_eq_relation(t):
    t.create_table("CREATE TABLE %s (a int PRIMARY KEY, b set<int>, c int)")
    t.create_index("CREATE INDEX ON %s (c)")
    t.execute("INSERT INTO %s (a, b, c) VALUES (0, {0}, 0)")
    for op in (">", ">=", "<", "<="):
        t.invalid(f"Collection column 'b' (set<int>) cannot be restricted by a '{op}' relation",
                  f"SELECT * FROM %s WHERE c = 0 AND b {op} ?", {0})
    t.invalid("Collection column 'b' (set<int>) cannot be restricted by a 'IN' relation",
              "SELECT * FROM %s WHERE c = 0 AND b IN (?)", {0})


def clustering_relations(t):
    for row in [("first", 1, 5, 1), ("first", 2, 6, 2), ("first", 3, 7, 3), ("second", 4, 8, 4)]:
        t.execute("insert into %s (a, b, c, d) values (?, ?, ?, ?)", *row)
    r1, r2, r3, r4 = ("first", 1, 5, 1), ("first", 2, 6, 2), ("first", 3, 7, 3), ("second", 4, 8, 4)
    assert t.rows("select * from %s where a in (?, ?)", "first", "second") == [r1, r2, r3, r4]
    assert t.rows("select * from %s where a = ? and b = ? and c in (?, ?)", "first", 2, 6, 7) == [r2]
    assert t.rows("select * from %s where a = ? and b in (?, ?) and c in (?, ?)",
                  "first", 2, 3, 6, 7) == [r2, r3]
    assert t.rows("select * from %s where a = ? and b in (?, ?) and c in (?, ?)",
                  "first", 3, 2, 7, 6) == [r2, r3]
    assert t.rows("select * from %s where a = ? and c in (?, ?) and b in (?, ?)",
                  "first", 7, 6, 3, 2) == [r2, r3]
    assert t.rows("select c, d from %s where a = ? and c in (?, ?) and b in (?, ?)",
                  "first", 7, 6, 3, 2) == [(6, 2), (7, 3)]
    assert t.rows("select c, d from %s where a = ? and c in (?, ?) and b in (?, ?, ?)",
                  "first", 7, 6, 3, 2, 3) == [(6, 2), (7, 3)]
    assert t.rows("select * from %s where a = ? and b in (?, ?) and c = ?", "first", 3, 2, 7) == [r3]
    assert t.rows("select * from %s where a = ? and b in ? and c in ?", "first", [3, 2], [7, 6]) == [
        r2, r3]
    t.invalid("Invalid null value for column b",
              "select * from %s where a = ? and b in ? and c in ?", "first", None, [7, 6])
    assert t.rows("select * from %s where a = ? and c >= ? and b in (?, ?)", "first", 6, 3, 2) == [
        r2, r3]
    assert t.rows("select * from %s where a = ? and c > ? and b in (?, ?)", "first", 6, 3, 2) == [r3]
    assert t.rows("select * from %s where a = ? and c <= ? and b in (?, ?)", "first", 6, 3, 2) == [r2]
    assert t.rows("select * from %s where a = ? and c < ? and b in (?, ?)", "first", 7, 3, 2) == [r2]
    assert t.rows("select * from %s where a = ? and c >= ? and c <= ? and b in (?, ?)",
                  "first", 6, 7, 3, 2) == [r2, r3]
    assert t.rows("select * from %s where a = ? and c > ? and c <= ? and b in (?, ?)",
                  "first", 6, 7, 3, 2) == [r3]
    assert t.rows("select * from %s where a = ? and c > ? and c < ? and b in (?, ?)",
                  "first", 6, 7, 3, 2) == []
    t.invalid('Column "c" cannot be restricted by both an equality and an inequality relation',
              "select * from %s where a = ? and c > ? and c = ? and b in (?, ?)", "first", 6, 7, 3, 2)
    t.invalid("c cannot be restricted by more than one relation if it includes an Equal",
              "select * from %s where a = ? and c = ? and c > ?  and b in (?, ?)", "first", 6, 7, 3, 2)
    assert t.rows("select * from %s where a = ? and c in (?, ?) and b in (?, ?) order by b DESC",
                  "first", 7, 6, 3, 2) == [r3, r2]
    t.invalid("More than one restriction was found for the start bound on b",
              "select * from %s where a = ? and b > ? and b > ?", "first", 6, 3)
    t.invalid("More than one restriction was found for the end bound on b",
              "select * from %s where a = ? and b < ? and b <= ?", "first", 6, 3)


def test_clustering_column_relations(t):
    t.create_table("CREATE TABLE %s (a text, b int, c int, d int, primary key(a, b, c))")
    clustering_relations(t)


def test_partition_key_column_relations(t):
    t.create_table("CREATE TABLE %s (a text, b int, c int, d int, primary key((a, b), c))")
    for row in [("first", 1, 1, 1), ("first", 2, 2, 2), ("first", 3, 3, 3), ("first", 4, 4, 4),
                ("second", 1, 1, 1), ("second", 4, 4, 4)]:
        t.execute("insert into %s (a, b, c, d) values (?, ?, ?, ?)", *row)
    assert t.rows("select * from %s where a = ? and b = ?", "first", 2) == [("first", 2, 2, 2)]
    assert t.sorted_rows("select * from %s where a in (?, ?) and b in (?, ?)",
                         "first", "second", 2, 3) == [("first", 2, 2, 2), ("first", 3, 3, 3)]
    assert t.sorted_rows("select * from %s where a in (?, ?) and b = ?", "first", "second", 4) == [
        ("first", 4, 4, 4), ("second", 4, 4, 4)]
    assert t.sorted_rows("select * from %s where a = ? and b in (?, ?)", "first", 3, 4) == [
        ("first", 3, 3, 3), ("first", 4, 4, 4)]
    assert t.sorted_rows("select * from %s where a in (?, ?) and b in (?, ?)",
                         "first", "second", 1, 4) == [
        ("first", 1, 1, 1), ("first", 4, 4, 4), ("second", 1, 1, 1), ("second", 4, 4, 4)]
    # Since Cassandra 3.10 (CASSANDRA-11031) a partial partition key is a filtering question.
    t.filtering_required("select * from %s where a in (?, ?)", "first", "second")
    t.filtering_required("select * from %s where a = ?", "first")
    assert t.rows("select * from %s where a = ? ALLOW FILTERING", "second") == [("second", 1, 1, 1), ("second", 4, 4, 4)]
    t.invalid("b cannot be restricted by more than one relation if it includes a IN",
              "select * from %s where a = ? AND b IN (?, ?) AND b = ?", "first", 2, 2, 3)
    t.invalid("b cannot be restricted by more than one relation if it includes an Equal",
              "select * from %s where a = ? AND b = ? AND b IN (?, ?)", "first", 2, 2, 3)
    t.invalid("a cannot be restricted by more than one relation if it includes a IN",
              "select * from %s where a IN (?, ?) AND a = ? AND b = ?", "first", "second", "first", 3)
    t.invalid("a cannot be restricted by more than one relation if it includes an Equal",
              "select * from %s where a = ? AND a IN (?, ?) AND b IN (?, ?)", "first", "second", "first", 2, 3)


def test_clustering_column_relations_with_clustering_order(t):
    t.create_table("CREATE TABLE %s (a text, b int, c int, d int, primary key(a, b, c)) "
                   "WITH CLUSTERING ORDER BY (b DESC)")
    for row in [("first", 1, 5, 1), ("first", 2, 6, 2), ("first", 3, 7, 3), ("second", 4, 8, 4)]:
        t.execute("insert into %s (a, b, c, d) values (?, ?, ?, ?)", *row)
    assert t.rows("select * from %s where a = ? and c in (?, ?) and b in (?, ?) order by b DESC",
                  "first", 7, 6, 3, 2) == [("first", 3, 7, 3), ("first", 2, 6, 2)]
    assert t.rows("select * from %s where a = ? and c in (?, ?) and b in (?, ?) order by b ASC",
                  "first", 7, 6, 3, 2) == [("first", 2, 6, 2), ("first", 3, 7, 3)]


def test_allow_filtering_with_clustering_column(t):
    t.create_table("CREATE TABLE %s (k int, c int, v int, PRIMARY KEY (k, c))")
    for row in [(1, 2, 1), (1, 3, 2), (2, 2, 3)]:
        t.execute("INSERT INTO %s (k, c, v) VALUES(?, ?, ?)", *row)
    for suffix in ("", " ALLOW FILTERING"):
        assert t.rows("SELECT * FROM %s WHERE k = ?" + suffix, 1) == [(1, 2, 1), (1, 3, 2)]
        assert t.rows("SELECT * FROM %s WHERE k = ? AND c > ?" + suffix, 1, 2) == [(1, 3, 2)]
        assert t.rows("SELECT * FROM %s WHERE k = ? AND c = ?" + suffix, 1, 2) == [(1, 2, 1)]
    t.filtering_required("SELECT * FROM %s WHERE c = ?", 2)
    t.filtering_required("SELECT * FROM %s WHERE c > ? AND c <= ?", 2, 4)
    assert t.sorted_rows("SELECT * FROM %s WHERE c = ? ALLOW FILTERING", 2) == [(1, 2, 1), (2, 2, 3)]
    assert t.rows("SELECT * FROM %s WHERE c > ? AND c <= ? ALLOW FILTERING", 2, 4) == [(1, 3, 2)]


def test_allow_filtering_with_indexed_column(t):
    t.create_table("CREATE TABLE %s (k int PRIMARY KEY, a int, b int)")
    t.create_index("CREATE INDEX ON %s(a)")
    for k in range(1, 5):
        t.execute("INSERT INTO %s(k, a, b) VALUES(?, ?, ?)", k, k * 10, k * 100)
    assert t.rows("SELECT * FROM %s WHERE k = ?", 1) == [(1, 10, 100)]
    assert t.rows("SELECT * FROM %s WHERE a = ?", 20) == [(2, 20, 200)]
    assert t.rows("SELECT * FROM %s WHERE k = ? ALLOW FILTERING", 1) == [(1, 10, 100)]
    assert t.rows("SELECT * FROM %s WHERE a = ? ALLOW FILTERING", 20) == [(2, 20, 200)]
    t.filtering_required("SELECT * FROM %s WHERE a = ? AND b = ?", 20, 200)
    assert t.rows("SELECT * FROM %s WHERE a = ? AND b = ? ALLOW FILTERING", 20, 200) == [(2, 20, 200)]


def test_index_queries_on_complex_primary_key(t):
    t.create_table("CREATE TABLE %s (pk0 int, pk1 int, ck0 int, ck1 int, ck2 int, value int, "
                   "PRIMARY KEY ((pk0, pk1), ck0, ck1, ck2))")
    for column in ("ck1", "ck2", "pk0", "ck0"):
        t.create_index(f"CREATE INDEX ON %s ({column})")
    for row in [(0, 1, 2, 3, 4, 5), (1, 2, 3, 4, 5, 0), (2, 3, 4, 5, 0, 1), (3, 4, 5, 0, 1, 2),
                (4, 5, 0, 1, 2, 3), (5, 0, 1, 2, 3, 4)]:
        t.execute("INSERT INTO %s (pk0, pk1, ck0, ck1, ck2, value) VALUES (?, ?, ?, ?, ?, ?)", *row)
    assert t.rows("SELECT value FROM %s WHERE pk0 = 2") == [(1,)]
    assert t.rows("SELECT value FROM %s WHERE ck0 = 0") == [(3,)]
    assert t.rows("SELECT value FROM %s WHERE pk0 = 3 AND pk1 = 4 AND ck1 = 0") == [(2,)]
    assert t.rows("SELECT value FROM %s WHERE pk0 = 5 AND pk1 = 0 AND ck0 = 1 AND ck2 = 3 "
                  "ALLOW FILTERING") == [(4,)]


def test_index_on_clustering_columns(t):
    t.create_table("CREATE TABLE %s (id1 int, id2 int, author text, time bigint, v1 text, v2 text, "
                   "PRIMARY KEY ((id1, id2), author, time))")
    t.create_index("CREATE INDEX ON %s(time)")
    t.create_index("CREATE INDEX ON %s(id2)")
    for values in ["0, 0, 'bob', 0, 'A', 'A'", "0, 0, 'bob', 1, 'B', 'B'", "0, 1, 'bob', 2, 'C', 'C'",
                   "0, 0, 'tom', 0, 'D', 'D'", "0, 1, 'tom', 1, 'E', 'E'"]:
        t.execute(f"INSERT INTO %s(id1, id2, author, time, v1, v2) VALUES({values})")
    assert t.sorted_rows("SELECT v1 FROM %s WHERE time = 1") == [("B",), ("E",)]
    assert t.sorted_rows("SELECT v1 FROM %s WHERE id2 = 1") == [("C",), ("E",)]
    assert t.rows("SELECT v1 FROM %s WHERE id1 = 0 AND id2 = 0 AND author = 'bob' AND time = 0") == [
        ("A",)]
    t.execute("UPDATE %s SET v2 = null WHERE id1 = 0 AND id2 = 0 AND author = 'bob' AND time = 1")
    assert t.sorted_rows("SELECT v1 FROM %s WHERE id2 = 0") == [("A",), ("B",), ("D",)]
    assert t.sorted_rows("SELECT v1 FROM %s WHERE time = 1") == [("B",), ("E",)]
    t.invalid("IN restrictions are not supported on indexed columns",
              "SELECT v1 FROM %s WHERE id2 = 0 and time IN (1, 2) ALLOW FILTERING")


def test_composite_index_with_primary_key(t):
    t.create_table("CREATE TABLE %s (blog_id int, time1 int, time2 int, author text, content text, "
                   "PRIMARY KEY (blog_id, time1, time2))")
    t.create_index("CREATE INDEX ON %s(author)")
    insert = "INSERT INTO %s (blog_id, time1, time2, author, content) VALUES (?, ?, ?, ?, ?)"
    for row in [(1, 0, 0, "foo", "bar1"), (1, 0, 1, "foo", "bar2"), (2, 1, 0, "foo", "baz"),
                (3, 0, 1, "gux", "qux")]:
        t.execute(insert, *row)
    assert t.sorted_rows("SELECT blog_id, content FROM %s WHERE author='foo'") == [
        (1, "bar1"), (1, "bar2"), (2, "baz")]
    assert t.rows("SELECT blog_id, content FROM %s WHERE time1 > 0 AND author='foo' ALLOW FILTERING") == [
        (2, "baz")]
    assert t.rows("SELECT blog_id, content FROM %s WHERE time1 = 1 AND author='foo' ALLOW FILTERING") == [
        (2, "baz")]
    assert t.rows("SELECT blog_id, content FROM %s WHERE time1 = 1 AND time2 = 0 AND author='foo' "
                  "ALLOW FILTERING") == [(2, "baz")]
    assert t.rows("SELECT content FROM %s WHERE time1 = 1 AND time2 = 1 AND author='foo' ALLOW FILTERING") == []
    assert t.rows("SELECT content FROM %s WHERE time1 = 1 AND time2 > 0 AND author='foo' ALLOW FILTERING") == []
    t.filtering_required("SELECT content FROM %s WHERE time2 >= 0 AND author='foo'")


def test_range_query_on_index(t):
    t.create_table("CREATE TABLE %s (id int primary key, row int, setid int)")
    t.create_index("CREATE INDEX ON %s (setid)")
    for i in range(4):
        t.execute("INSERT INTO %s (id, row, setid) VALUES (?, ?, ?)", i, i, 0)
    t.filtering_required("SELECT * FROM %s WHERE setid = 0 AND row < 1")
    assert t.rows("SELECT * FROM %s WHERE setid = 0 AND row < 1 ALLOW FILTERING") == [(0, 0, 0)]


def test_empty_in(t):
    t.create_table("CREATE TABLE %s (k1 int, k2 int, v int, PRIMARY KEY (k1, k2))")
    for i in range(3):
        for j in range(3):
            t.execute("INSERT INTO %s (k1, k2, v) VALUES (?, ?, ?)", i, j, i + j)
    assert t.rows("SELECT v FROM %s WHERE k1 IN ()") == []
    assert t.rows("SELECT v FROM %s WHERE k1 = 0 AND k2 IN ()") == []


def test_in_with_duplicate_value(t):
    t.create_table("CREATE TABLE %s (k1 int, k2 int, v int, PRIMARY KEY (k1, k2))")
    t.execute("INSERT INTO %s (k1,  k2, v) VALUES (?, ?, ?)", 1, 1, 1)
    assert t.rows("SELECT * FROM %s WHERE k1 IN (?, ?)", 1, 1) == [(1, 1, 1)]
    assert t.rows("SELECT * FROM %s WHERE k1 IN (?, ?) AND k2 IN (?, ?)", 1, 1, 1, 1) == [(1, 1, 1)]
    assert t.rows("SELECT * FROM %s WHERE k1 = ? AND k2 IN (?, ?)", 1, 1, 1) == [(1, 1, 1)]


def test_large_clustering_in_values(t):
    t.create_table("CREATE TABLE %s (k int, c int, v int, PRIMARY KEY (k, c))")
    t.execute("INSERT INTO %s (k, c, v) VALUES (0, 0, 0)")
    assert t.rows("SELECT * FROM %s WHERE k=? AND c IN ?", 0, list(range(10000))) == [(0, 0, 0)]


def test_multiple_partition_key_with_index(t):
    t.create_table("CREATE TABLE %s (a int, b int, c int, d int, e int, f int, "
                   "PRIMARY KEY ((a, b), c, d, e))")
    t.create_index("CREATE INDEX ON %s (c)")
    t.create_index("CREATE INDEX ON %s (f)")
    for row in [(0, 0, 0, 0, 0, 0), (0, 0, 0, 1, 0, 1), (0, 0, 0, 1, 1, 2), (0, 0, 1, 0, 0, 3),
                (0, 0, 1, 1, 0, 4), (0, 0, 1, 1, 1, 5), (0, 0, 2, 0, 0, 5)]:
        t.execute("INSERT INTO %s (a, b, c, d, e, f) VALUES (?, ?, ?, ?, ?, ?)", *row)
    cases = [
        ("c = ?", (0, 1), [(0, 0, 1, 0, 0, 3), (0, 0, 1, 1, 0, 4), (0, 0, 1, 1, 1, 5)]),
        ("c = ? AND d = ?", (0, 1, 1), [(0, 0, 1, 1, 0, 4), (0, 0, 1, 1, 1, 5)]),
        ("c IN (?) AND f = ?", (0, 1, 5), [(0, 0, 1, 1, 1, 5)]),
        ("c IN (?, ?) AND f = ?", (0, 1, 2, 5), [(0, 0, 1, 1, 1, 5), (0, 0, 2, 0, 0, 5)]),
        ("c IN (?) AND d IN (?) AND f = ?", (0, 1, 0, 3), [(0, 0, 1, 0, 0, 3)]),
        ("c >= ? AND f = ?", (0, 1, 5), [(0, 0, 1, 1, 1, 5), (0, 0, 2, 0, 0, 5)]),
        ("c = ? AND d >= ? AND f = ?", (0, 1, 1, 5), [(0, 0, 1, 1, 1, 5)]),
    ]
    for where, values, expected in cases:
        query = "SELECT * FROM %s WHERE a = ? AND " + where
        t.filtering_required(query, *values)
        assert t.rows(query + " ALLOW FILTERING", *values) == expected, where
    assert t.rows("SELECT * FROM %s WHERE a = ? AND (c, d) >= (?, ?) ALLOW FILTERING", 0, 1, 1) == [
        (0, 0, 1, 1, 0, 4), (0, 0, 1, 1, 1, 5), (0, 0, 2, 0, 0, 5)]
    assert t.rows("SELECT * FROM %s WHERE a = ? AND c >= ? ALLOW FILTERING", 0, 1) == [
        (0, 0, 1, 0, 0, 3), (0, 0, 1, 1, 0, 4), (0, 0, 1, 1, 1, 5), (0, 0, 2, 0, 0, 5)]


def test_function_call_with_unset(t):
    t.create_table("CREATE TABLE %s (k int PRIMARY KEY, s text, i int)")
    t.invalid("Invalid unset value for argument in call to function token",
              "SELECT * FROM %s WHERE token(k) >= token(?)", UNSET)
    t.invalid("Invalid unset value for argument in call to function blobasint",
              "SELECT * FROM %s WHERE k = blobAsInt(?)", UNSET)


def test_limit_with_unset(t):
    t.create_table("CREATE TABLE %s (k int PRIMARY KEY, i int)")
    t.execute("INSERT INTO %s (k, i) VALUES (1, 1)")
    t.execute("INSERT INTO %s (k, i) VALUES (2, 1)")
    assert sorted(t.rows("SELECT k FROM %s LIMIT ?", UNSET)) == [(1,), (2,)]


def test_with_unset_values(t):
    t.create_table("CREATE TABLE %s (k int, i int, j int, s text, PRIMARY KEY(k,i,j))")
    t.create_index("CREATE INDEX s_index ON %s (s)")
    for query, values in [("k = ?", (UNSET,)), ("k IN ?", (UNSET,)), ("k IN(?)", (UNSET,)),
                          ("k IN(?,?)", (1, UNSET))]:
        t.invalid("Invalid unset value for column k", "SELECT * from %s WHERE " + query, *values)
    for query, values in [("k = 1 AND i = ?", (UNSET,)), ("k = 1 AND i IN ?", (UNSET,)),
                          ("k = 1 AND i IN(?)", (UNSET,)), ("k = 1 AND i IN(?,?)", (1, UNSET)),
                          ("i = ? ALLOW FILTERING", (UNSET,)), ("k = 1 AND i > ?", (UNSET,))]:
        t.invalid("Invalid unset value for column i", "SELECT * from %s WHERE " + query, *values)
    t.invalid("Unsupported unset value for indexed column s", "SELECT * from %s WHERE s = ?", UNSET)
