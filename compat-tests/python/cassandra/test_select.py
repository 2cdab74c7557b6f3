"""SELECT filtering rules, CONTAINS / CONTAINS KEY / map entries, DISTINCT and token order,
after Cassandra's cql3/validation/operations/SelectTest."""

from cql3_tester import UNSET


def test_set_contains(t):
    t.create_table("CREATE TABLE %s (account text, id int, categories set<text>, PRIMARY KEY (account, id))")
    t.create_index("CREATE INDEX ON %s(categories)")
    t.execute("INSERT INTO %s (account, id , categories) VALUES (?, ?, ?)", "test", 5, {"lmn"})
    row = ("test", 5, {"lmn"})
    assert t.rows("SELECT * FROM %s WHERE account = ? AND categories CONTAINS ?", "xyz", "lmn") == []
    assert t.rows("SELECT * FROM %s WHERE categories CONTAINS ?", "lmn") == [row]
    assert t.rows("SELECT * FROM %s WHERE account = ? AND categories CONTAINS ?", "test", "lmn") == [row]
    assert t.rows("SELECT * FROM %s WHERE account = ? AND id = ? AND categories CONTAINS ?",
                  "test", 5, "lmn") == [row]
    t.invalid("Unsupported null value for column categories",
              "SELECT * FROM %s WHERE account = ? AND id = ? AND categories CONTAINS ?", "test", 5, None)
    t.invalid("Unsupported unset value for column categories",
              "SELECT * FROM %s WHERE account = ? AND id = ? AND categories CONTAINS ?", "test", 5, UNSET)
    t.filtering_required("SELECT * FROM %s WHERE account = ? AND categories CONTAINS ? AND "
                         "categories CONTAINS ?", "xyz", "lmn", "notPresent")
    assert t.rows("SELECT * FROM %s WHERE account = ? AND categories CONTAINS ? AND categories CONTAINS ? "
                  "ALLOW FILTERING", "xyz", "lmn", "notPresent") == []


def test_map_key_contains(t):
    t.create_table("CREATE TABLE %s (account text, id int, categories map<text,text>, PRIMARY KEY (account, id))")
    t.create_index("CREATE INDEX ON %s(keys(categories))")
    t.execute("INSERT INTO %s (account, id , categories) VALUES (?, ?, ?)", "test", 5, {"lmn": "foo"})
    row = ("test", 5, {"lmn": "foo"})
    assert t.rows("SELECT * FROM %s WHERE account = ? AND categories CONTAINS KEY ?", "xyz", "lmn") == []
    assert t.rows("SELECT * FROM %s WHERE account = ? AND categories CONTAINS KEY ?", "test", "lmn") == [row]
    assert t.rows("SELECT * FROM %s WHERE categories CONTAINS KEY ?", "lmn") == [row]
    assert t.rows("SELECT * FROM %s WHERE account = ? AND id = ? AND categories CONTAINS KEY ?",
                  "test", 5, "lmn") == [row]
    t.invalid("Unsupported null value for column categories",
              "SELECT * FROM %s WHERE account = ? AND id = ? AND categories CONTAINS KEY ?", "test", 5, None)
    t.invalid("Unsupported unset value for column categories",
              "SELECT * FROM %s WHERE account = ? AND id = ? AND categories CONTAINS KEY ?", "test", 5, UNSET)
    t.filtering_required("SELECT * FROM %s WHERE account = ? AND id = ? AND categories CONTAINS KEY ? "
                         "AND categories CONTAINS KEY ?", "test", 5, "lmn", "notPresent")
    assert t.rows("SELECT * FROM %s WHERE account = ? AND id = ? AND categories CONTAINS KEY ? AND "
                  "categories CONTAINS KEY ? ALLOW FILTERING", "test", 5, "lmn", "notPresent") == []
    t.filtering_required("SELECT * FROM %s WHERE account = ? AND id = ? AND categories CONTAINS KEY ? "
                         "AND categories CONTAINS ?", "test", 5, "lmn", "foo")


def test_map_value_contains(t):
    t.create_table("CREATE TABLE %s (account text, id int, categories map<text,text>, PRIMARY KEY (account, id))")
    t.create_index("CREATE INDEX ON %s(categories)")
    t.execute("INSERT INTO %s (account, id , categories) VALUES (?, ?, ?)", "test", 5, {"lmn": "foo"})
    row = ("test", 5, {"lmn": "foo"})
    assert t.rows("SELECT * FROM %s WHERE account = ? AND categories CONTAINS ?", "xyz", "foo") == []
    assert t.rows("SELECT * FROM %s WHERE account = ? AND categories CONTAINS ?", "test", "foo") == [row]
    assert t.rows("SELECT * FROM %s WHERE categories CONTAINS ?", "foo") == [row]
    assert t.rows("SELECT * FROM %s WHERE account = ? AND id = ? AND categories CONTAINS ?",
                  "test", 5, "foo") == [row]
    t.filtering_required("SELECT * FROM %s WHERE account = ? AND id = ? AND categories CONTAINS ? AND "
                         "categories CONTAINS ?", "test", 5, "foo", "notPresent")


def test_filter_for_contains(t):
    t.create_table("CREATE TABLE %s (k1 int, k2 int, v set<int>, PRIMARY KEY ((k1, k2)))")
    t.create_index("CREATE INDEX ON %s(k2)")
    for row in [(0, 0, {1, 2, 3}), (0, 1, {2, 3, 4}), (1, 0, {3, 4, 5}), (1, 1, {4, 5, 6})]:
        t.execute("INSERT INTO %s (k1, k2, v) VALUES (?, ?, ?)", *row)
    assert t.sorted_rows("SELECT * FROM %s WHERE k2 = ?", 1) == [(0, 1, {2, 3, 4}), (1, 1, {4, 5, 6})]
    assert t.rows("SELECT * FROM %s WHERE k2 = ? AND v CONTAINS ? ALLOW FILTERING", 1, 6) == [
        (1, 1, {4, 5, 6})]
    assert t.rows("SELECT * FROM %s WHERE k2 = ? AND v CONTAINS ? ALLOW FILTERING", 1, 7) == []


def test_contains_key_and_contains_with_index_on_map_key(t):
    t.create_table("CREATE TABLE %s (account text, id int, categories map<text,text>, PRIMARY KEY (account, id))")
    t.create_index("CREATE INDEX ON %s(keys(categories))")
    t.execute("INSERT INTO %s (account, id , categories) VALUES (?, ?, ?)", "test", 5, {"lmn": "foo"})
    t.execute("INSERT INTO %s (account, id , categories) VALUES (?, ?, ?)", "test", 6, {"lmn": "foo2"})
    t.filtering_required("SELECT * FROM %s WHERE account = ? AND categories CONTAINS ?", "test", "foo")
    assert t.rows("SELECT * FROM %s WHERE account = ? AND categories CONTAINS KEY ?", "test", "lmn") == [
        ("test", 5, {"lmn": "foo"}), ("test", 6, {"lmn": "foo2"})]
    assert t.rows("SELECT * FROM %s WHERE account = ? AND categories CONTAINS KEY ? AND categories "
                  "CONTAINS ? ALLOW FILTERING", "test", "lmn", "foo") == [("test", 5, {"lmn": "foo"})]


def test_token_range(t):
    t.create_table("CREATE TABLE %s (k int PRIMARY KEY, c int, v int)")
    for i in range(100):
        t.execute("INSERT INTO %s (k, c, v) VALUES (?, ?, ?)", i, i, i)
    in_order = [row[0] for row in t.rows("SELECT k FROM %s")]
    assert len(in_order) == 100
    assert len(t.rows(f"SELECT k FROM %s WHERE token(k) >= {-2**63}")) == 100
    rows = t.rows(f"SELECT k FROM %s WHERE token(k) >= token({in_order[32]}) AND "
                  f"token(k) < token({in_order[65]})")
    assert [row[0] for row in rows] == in_order[32:65]
    tokens = [row[0] for row in t.rows("SELECT token(k) FROM %s")]
    assert tokens == sorted(tokens)


def test_composite_row_key(t):
    t.create_table("CREATE TABLE %s (k1 int, k2 int, c int, v int, PRIMARY KEY ((k1, k2), c))")
    for i in range(4):
        t.execute("INSERT INTO %s (k1, k2, c, v) VALUES (?, ?, ?, ?)", 0, i, i, i)
    assert t.rows("SELECT * FROM %s") == [(0, 2, 2, 2), (0, 3, 3, 3), (0, 0, 0, 0), (0, 1, 1, 1)]
    assert t.rows("SELECT * FROM %s WHERE k1 = 0 and k2 IN (1, 3)") == [(0, 1, 1, 1), (0, 3, 3, 3)]
    t.filtering_required("SELECT * FROM %s WHERE k2 = 3")
    assert t.rows("SELECT * FROM %s WHERE token(k1, k2) = token(0, 1)") == [(0, 1, 1, 1)]
    assert t.rows(f"SELECT * FROM %s WHERE token(k1, k2) > {-2**63}") == [
        (0, 2, 2, 2), (0, 3, 3, 3), (0, 0, 0, 0), (0, 1, 1, 1)]


def test_select_distinct(t):
    t.create_table("CREATE TABLE %s (pk0 int, pk1 int, ck0 int, val int, PRIMARY KEY((pk0, pk1), ck0))")
    for i in range(3):
        t.execute("INSERT INTO %s (pk0, pk1, ck0, val) VALUES (?, ?, 0, 0)", i, i)
        t.execute("INSERT INTO %s (pk0, pk1, ck0, val) VALUES (?, ?, 1, 1)", i, i)
    assert t.rows("SELECT DISTINCT pk0, pk1 FROM %s LIMIT 1") == [(0, 0)]
    assert t.rows("SELECT DISTINCT pk0, pk1 FROM %s LIMIT 3") == [(0, 0), (2, 2), (1, 1)]
    # Cassandra's assertInvalidMessage matches a part; these are 5.0's full texts.
    t.invalid("SELECT DISTINCT queries must request all the partition key columns (missing pk1)",
              "SELECT DISTINCT pk0 FROM %s")
    t.invalid("SELECT DISTINCT queries must only request partition key columns and/or static columns (not ck0)",
              "SELECT DISTINCT pk0, pk1, ck0 FROM %s")


def test_select_distinct_with_where_clause(t):
    t.create_table("CREATE TABLE %s (k int, a int, b int, PRIMARY KEY (k, a))")
    t.create_index("CREATE INDEX ON %s (b)")
    for i in range(10):
        t.execute("INSERT INTO %s (k, a, b) VALUES (?, ?, ?)", i, i, i)
        t.execute("INSERT INTO %s (k, a, b) VALUES (?, ?, ?)", i, i * 10, i * 10)
    message = ("SELECT DISTINCT with WHERE clause only supports restriction by partition key "
               "and/or static columns.")
    t.invalid(message, "SELECT DISTINCT k FROM %s WHERE a >= 80 ALLOW FILTERING")
    t.invalid(message, "SELECT DISTINCT k FROM %s WHERE k IN (1, 2, 3) AND a = 10")
    t.invalid(message, "SELECT DISTINCT k FROM %s WHERE b = 5")
    assert t.rows("SELECT DISTINCT k FROM %s WHERE k = 1") == [(1,)]
    assert t.rows("SELECT DISTINCT k FROM %s WHERE k IN (5, 6, 7)") == [(5,), (6,), (7,)]
    t.create_table("CREATE TABLE %s (k int, a int, s int static, b int, PRIMARY KEY (k, a))")
    for i in range(10):
        t.execute("INSERT INTO %s (k, a, b, s) VALUES (?, ?, ?, ?)", i, i, i, i)
        t.execute("INSERT INTO %s (k, a, b, s) VALUES (?, ?, ?, ?)", i, i * 10, i * 10, i * 10)
    assert t.rows("SELECT DISTINCT s FROM %s WHERE k = 5") == [(50,)]
    assert t.rows("SELECT DISTINCT s FROM %s WHERE k IN (5, 6, 7)") == [(50,), (60,), (70,)]


def test_select_distinct_with_where_clause_on_static_column(t):
    t.create_table("CREATE TABLE %s (k int, a int, s int static, s1 int static, b int, PRIMARY KEY (k, a))")
    for i in range(10):
        t.execute("INSERT INTO %s (k, a, b, s, s1) VALUES (?, ?, ?, ?, ?)", i, i, i, i, i)
        t.execute("INSERT INTO %s (k, a, b, s, s1) VALUES (?, ?, ?, ?, ?)", i, i * 10, i * 10, i * 10, i * 10)
    t.execute("INSERT INTO %s (k, a, b, s, s1) VALUES (?, ?, ?, ?, ?)", 2, 10, 10, 10, 10)
    assert t.rows("SELECT DISTINCT k, s, s1 FROM %s WHERE s = 90 AND s1 = 90 ALLOW FILTERING") == [(9, 90, 90)]
    assert t.rows("SELECT DISTINCT k, s, s1 FROM %s WHERE s = 10 AND s1 = 10 ALLOW FILTERING") == [
        (1, 10, 10), (2, 10, 10)]
    assert t.rows("SELECT DISTINCT k, s, s1 FROM %s WHERE k = 1 AND s = 10 AND s1 = 10 ALLOW FILTERING") == [
        (1, 10, 10)]


def test_alias(t):
    t.create_table("CREATE TABLE %s (id int PRIMARY KEY, name text)")
    for i in range(5):
        t.execute("INSERT INTO %s (id, name) VALUES (?, ?) USING TTL 10 AND TIMESTAMP 0", i, str(i))
    # TableMetadata.getExistingColumn: "Undefined column name %s in table %s".
    t.invalid(f"Undefined column name user_id in table {t.table}",
              "SELECT id AS user_id, name AS user_name FROM %s WHERE user_id = 0")
    t.invalid(f"Undefined column name user_name in table {t.table}",
              "SELECT id AS user_id, name AS user_name FROM %s WHERE id IN (0) ORDER BY user_name")


def test_filtering_on_static_columns_with_rows_with_only_static_values(t):
    t.create_table("CREATE TABLE %s (a int, b int, s int static, c int, d int, primary key (a, b))")
    for i in range(5):
        t.execute("INSERT INTO %s (a, s) VALUES (?, ?)", i, i)
        if i != 2:
            for j in range(4):
                t.execute("INSERT INTO %s (a, b, c, d) VALUES (?, ?, ?, ?)", i, j, j, i + j)
    assert t.rows("SELECT * FROM %s WHERE c = 2 AND s >= 1 LIMIT 2 ALLOW FILTERING") == [
        (1, 2, 1, 2, 3), (4, 2, 4, 2, 6)]
    assert t.sorted_rows("SELECT * FROM %s WHERE a >= 1 AND c = 2 AND s >= 1 ALLOW FILTERING") == [
        (1, 2, 1, 2, 3), (3, 2, 3, 2, 5), (4, 2, 4, 2, 6)]


def test_filtering_without_indices(t):
    t.create_table("CREATE TABLE %s (a int, b int, c int, d int, s int static, PRIMARY KEY (a, b))")
    for values in ["1, 2, 4, 8", "1, 3, 6, 12", "1, 4, 4, 8", "2, 3, 7, 12"]:
        t.execute(f"INSERT INTO %s (a, b, c, d) VALUES ({values})")
    for a in (1, 2, 3):
        t.execute(f"UPDATE %s SET s = {a} WHERE a = {a}")
    t.execute("INSERT INTO %s (a, b, c, d) VALUES (1, 1, 4, 8)")
    t.execute("INSERT INTO %s (a, b, c, d) VALUES (2, 2, 7, 12)")
    t.execute("DELETE FROM %s WHERE a = 1 AND b = 1")
    t.execute("DELETE FROM %s WHERE a = 2 AND b = 2")
    cases = [
        ("c = 4 AND d = 8", [(1, 2, 1, 4, 8), (1, 4, 1, 4, 8)]),
        ("a = 1 AND b = 4 AND d = 8", [(1, 4, 1, 4, 8)]),
        ("s = 1 AND d = 12", [(1, 3, 1, 6, 12)]),
        ("a IN (1, 2) AND c IN (6, 7)", [(1, 3, 1, 6, 12), (2, 3, 2, 7, 12)]),
        ("c > 4", [(1, 3, 1, 6, 12), (2, 3, 2, 7, 12)]),
        ("s > 1", [(2, 3, 2, 7, 12), (3, None, 3, None, None)]),
        ("b < 3 AND c <= 4", [(1, 2, 1, 4, 8)]),
    ]
    for where, expected in cases:
        t.filtering_required("SELECT * FROM %s WHERE " + where)
        assert t.rows("SELECT * FROM %s WHERE " + where + " ALLOW FILTERING") == expected, where


def test_filtering_without_indices_with_null_and_unset(t):
    t.create_table("CREATE TABLE %s (a int primary key, b int, c int)")
    t.filtering_required("SELECT * FROM %s WHERE c = null")
    t.filtering_required("SELECT * FROM %s WHERE c > null")
    t.invalid("Unsupported null value for column c", "SELECT * FROM %s WHERE c = null ALLOW FILTERING")
    t.invalid("Unsupported null value for column c", "SELECT * FROM %s WHERE c > null ALLOW FILTERING")
    t.filtering_required("SELECT * FROM %s WHERE c = ?", UNSET)
    t.invalid("Unsupported unset value for column c", "SELECT * FROM %s WHERE c = ? ALLOW FILTERING", UNSET)
    t.invalid("Unsupported unset value for column c", "SELECT * FROM %s WHERE c > ? ALLOW FILTERING", UNSET)


def test_filtering_without_indices_with_collections(t):
    t.create_table("CREATE TABLE %s (a int, b int, c list<int>, d set<int>, e map<int, int>, PRIMARY KEY (a, b))")
    for values in ["1, 2, [1, 6], {2, 12}, {1: 6}", "1, 3, [3, 2], {6, 4}, {3: 2}",
                   "1, 4, [1, 2], {2, 4}, {1: 2}", "2, 3, [3, 6], {6, 12}, {3: 6}"]:
        t.execute(f"INSERT INTO %s (a, b, c, d, e) VALUES ({values})")
    r12 = (1, 2, [1, 6], {2, 12}, {1: 6})
    r13 = (1, 3, [3, 2], {6, 4}, {3: 2})
    r14 = (1, 4, [1, 2], {2, 4}, {1: 2})
    t.filtering_required("SELECT * FROM %s WHERE c CONTAINS 2")
    assert t.rows("SELECT * FROM %s WHERE c CONTAINS 2 ALLOW FILTERING") == [r13, r14]
    assert t.rows("SELECT * FROM %s WHERE c CONTAINS 2 AND c CONTAINS 3 ALLOW FILTERING") == [r13]
    t.filtering_required("SELECT * FROM %s WHERE d CONTAINS 4")
    assert t.rows("SELECT * FROM %s WHERE d CONTAINS 4 ALLOW FILTERING") == [r13, r14]
    assert t.rows("SELECT * FROM %s WHERE d CONTAINS 4 AND d CONTAINS 6 ALLOW FILTERING") == [r13]
    t.filtering_required("SELECT * FROM %s WHERE e CONTAINS 2")
    assert t.rows("SELECT * FROM %s WHERE e CONTAINS 2 ALLOW FILTERING") == [r13, r14]
    assert t.rows("SELECT * FROM %s WHERE e CONTAINS KEY 1 ALLOW FILTERING") == [r12, r14]
    assert t.rows("SELECT * FROM %s WHERE e[1] = 6 ALLOW FILTERING") == [r12]
    assert t.rows("SELECT * FROM %s WHERE e CONTAINS KEY 1 AND e CONTAINS 2 ALLOW FILTERING") == [r14]
    assert t.rows("SELECT * FROM %s WHERE c CONTAINS 2 AND d CONTAINS 4 AND e CONTAINS KEY 3 "
                  "ALLOW FILTERING") == [r13]
    t.invalid("Unsupported null value for column c", "SELECT * FROM %s WHERE c CONTAINS null ALLOW FILTERING")
    t.invalid("Unsupported null value for column d", "SELECT * FROM %s WHERE d CONTAINS null ALLOW FILTERING")
    t.invalid("Unsupported null value for column e", "SELECT * FROM %s WHERE e CONTAINS null ALLOW FILTERING")
    t.invalid("Unsupported null value for column e",
              "SELECT * FROM %s WHERE e CONTAINS KEY null ALLOW FILTERING")
    t.invalid("Unsupported null map key for column e", "SELECT * FROM %s WHERE e[null] = 2 ALLOW FILTERING")
    t.invalid("Unsupported null map value for column e", "SELECT * FROM %s WHERE e[1] = null ALLOW FILTERING")
    t.invalid("Unsupported unset value for column c",
              "SELECT * FROM %s WHERE c CONTAINS ? ALLOW FILTERING", UNSET)
    t.invalid("Unsupported unset value for column e",
              "SELECT * FROM %s WHERE e CONTAINS KEY ? ALLOW FILTERING", UNSET)
    t.invalid("Unsupported unset map key for column e", "SELECT * FROM %s WHERE e[?] = 2 ALLOW FILTERING", UNSET)
    t.invalid("Unsupported unset map value for column e",
              "SELECT * FROM %s WHERE e[1] = ? ALLOW FILTERING", UNSET)


def test_filtering_without_indices_with_frozen_collections(t):
    t.create_table("CREATE TABLE %s (a int, b int, c frozen<list<int>>, d frozen<set<int>>, "
                   "e frozen<map<int, int>>, PRIMARY KEY (a, b))")
    for values in ["1, 2, [1, 6], {2, 12}, {1: 6}", "1, 3, [3, 2], {6, 4}, {3: 2}",
                   "1, 4, [1, 2], {2, 4}, {1: 2}", "2, 3, [3, 6], {6, 12}, {3: 6}"]:
        t.execute(f"INSERT INTO %s (a, b, c, d, e) VALUES ({values})")
    r12 = (1, 2, [1, 6], {2, 12}, {1: 6})
    r13 = (1, 3, [3, 2], {6, 4}, {3: 2})
    r14 = (1, 4, [1, 2], {2, 4}, {1: 2})
    cases = [
        ("c = [3, 2]", [r13]),
        ("c > [1, 5] AND c < [3, 6]", [r12, r13]),
        ("c CONTAINS 2", [r13, r14]),
        ("d = {6, 4}", [r13]),
        ("d > {4, 5} AND d < {6}", [r13]),
        ("d CONTAINS 4", [r13, r14]),
        ("e = {1 : 2}", [r14]),
        ("e > {1 : 4} AND e < {3 : 6}", [r12, r13]),
        ("e CONTAINS 2", [r13, r14]),
    ]
    for where, expected in cases:
        t.filtering_required("SELECT * FROM %s WHERE " + where)
        assert t.rows("SELECT * FROM %s WHERE " + where + " ALLOW FILTERING") == expected, where
    assert t.rows("SELECT * FROM %s WHERE c >= [1, 6] AND c < [3, 3] ALLOW FILTERING") == [r12, r13]
    assert t.rows("SELECT * FROM %s WHERE d >= {2, 12} AND d <= {4, 6} ALLOW FILTERING") == [r12, r13]
    assert t.rows("SELECT * FROM %s WHERE e >= {1 : 6} AND e <= {3 : 2} ALLOW FILTERING") == [r12, r13]
    assert t.rows("SELECT * FROM %s WHERE e CONTAINS KEY 1 ALLOW FILTERING") == [r12, r14]
    t.invalid("Map-entry equality predicates on frozen map column e are not supported",
              "SELECT * FROM %s WHERE e[1] = 6 ALLOW FILTERING")
    t.invalid("Unsupported null value for column c", "SELECT * FROM %s WHERE c = null ALLOW FILTERING")
    t.invalid("Unsupported null value for column d", "SELECT * FROM %s WHERE d = null ALLOW FILTERING")
    t.invalid("Unsupported unset value for column e", "SELECT * FROM %s WHERE e = ? ALLOW FILTERING", UNSET)


def test_allow_filtering_on_partition_key_with_distinct(t):
    t.create_table("CREATE TABLE %s (pk0 int, pk1 int, ck0 int, val int, PRIMARY KEY((pk0, pk1), ck0))")
    for i in range(3):
        t.execute("INSERT INTO %s (pk0, pk1, ck0, val) VALUES (?, ?, 0, 0)", i, i)
        t.execute("INSERT INTO %s (pk0, pk1, ck0, val) VALUES (?, ?, 1, 1)", i, i)
    t.filtering_required("SELECT DISTINCT pk0, pk1 FROM %s WHERE pk1 = 1 LIMIT 3")
    t.filtering_required("SELECT DISTINCT pk0, pk1 FROM %s WHERE pk0 > 0 AND pk1 = 1 LIMIT 3")
    assert t.rows("SELECT DISTINCT pk0, pk1 FROM %s WHERE pk0 = 1 LIMIT 1 ALLOW FILTERING") == [(1, 1)]
    assert t.rows("SELECT DISTINCT pk0, pk1 FROM %s WHERE pk1 = 1 LIMIT 3 ALLOW FILTERING") == [(1, 1)]
    assert t.rows("SELECT DISTINCT pk0, pk1 FROM %s WHERE pk0 < 0 AND pk1 = 1 LIMIT 3 ALLOW FILTERING") == []
    t.invalid("SELECT DISTINCT queries must request all the partition key columns (missing pk1)",
              "SELECT DISTINCT pk0 FROM %s ALLOW FILTERING")
    t.invalid("SELECT DISTINCT queries must only request partition key columns and/or static columns (not ck0)",
              "SELECT DISTINCT pk0, pk1, ck0 FROM %s ALLOW FILTERING")


def test_allow_filtering_on_partition_key(t):
    t.create_table("CREATE TABLE %s (a int, b int, c int, d int, PRIMARY KEY ((a, b), c))")
    for values in ["11, 12, 13, 14", "11, 15, 16, 17", "21, 22, 23, 24", "31, 32, 33, 34"]:
        t.execute(f"INSERT INTO %s (a,b,c,d) VALUES ({values})")
    for where in ["b in (11,12)", "a = 11", "a > 11", "a > 11 and b = 1", "b in (12,15,22)"]:
        t.filtering_required("SELECT * FROM %s WHERE " + where)
    r1, r2, r3, r4 = (11, 12, 13, 14), (11, 15, 16, 17), (21, 22, 23, 24), (31, 32, 33, 34)
    assert t.rows("SELECT * FROM %s WHERE a = 11 ALLOW FILTERING") == [r1, r2]
    assert t.rows("SELECT * FROM %s WHERE a in (11) and b in (12,15,22)") == [r1, r2]
    assert t.rows("SELECT * FROM %s WHERE a in (11) ALLOW FILTERING") == [r1, r2]
    assert t.rows("SELECT * FROM %s WHERE b = 15 ALLOW FILTERING") == [r2]
    assert t.rows("SELECT * FROM %s WHERE b >= 15 ALLOW FILTERING") == [r2, r4, r3]
    assert t.rows("SELECT * FROM %s WHERE a >= 11 ALLOW FILTERING") == [r1, r2, r4, r3]
    assert t.rows("SELECT * FROM %s WHERE a >= 11 AND b <= 15 ALLOW FILTERING") == [r1, r2]
    assert t.rows("SELECT * FROM %s WHERE a <= 11 AND b >= 14 ALLOW FILTERING") == [r2]
    assert t.rows("SELECT * FROM %s WHERE a < 11 ALLOW FILTERING") == []
    assert t.rows("SELECT * FROM %s WHERE b > 32 ALLOW FILTERING") == []
    t.invalid("Unsupported unset value for column a", "SELECT * FROM %s WHERE a = ? ALLOW FILTERING", UNSET)
    t.invalid("Unsupported unset value for column a", "SELECT * FROM %s WHERE a > ? ALLOW FILTERING", UNSET)


def test_allow_filtering_on_partition_and_clustering_key(t):
    t.create_table("CREATE TABLE %s (a int, b int, c int, d int, e int, PRIMARY KEY ((a, b), c, d))")
    for values in ["11, 12, 13, 14, 15", "11, 15, 16, 17, 18", "21, 22, 23, 24, 25", "31, 32, 33, 34, 35"]:
        t.execute(f"INSERT INTO %s (a,b,c,d,e) VALUES ({values})")
    r2, r3, r4 = (11, 15, 16, 17, 18), (21, 22, 23, 24, 25), (31, 32, 33, 34, 35)
    assert t.rows("SELECT * FROM %s WHERE a = 11 AND b = 15 AND c = 16") == [r2]
    message = 'Clustering column "d" cannot be restricted (preceding column "c" is restricted by a non-EQ relation)'
    t.invalid(message, "SELECT * FROM %s WHERE a = 11 AND b = 12 AND c > 13 AND d = 14")
    assert t.rows("SELECT * FROM %s WHERE a = 11 AND b = 15 AND c = 16 AND d > 16") == [r2]
    assert t.rows("SELECT * FROM %s WHERE a = 11 AND b = 15 AND c > 13 AND d >= 17 ALLOW FILTERING") == [r2]
    t.invalid(message, "SELECT * FROM %s WHERE a = 11 AND b = 12 AND c > 13 AND d > 17")
    assert t.rows("SELECT * FROM %s WHERE c > 30 AND d >= 34 ALLOW FILTERING") == [r4]
    assert t.rows("SELECT * FROM %s WHERE a <= 11 AND c > 15 AND d >= 16 ALLOW FILTERING") == [r2]
    assert t.rows("SELECT * FROM %s WHERE a <= 100 AND b >= 15 AND c > 0 AND d <= 100 ALLOW FILTERING") == [
        r2, r4, r3]
    t.invalid(message, "SELECT * FROM %s WHERE a <= 11 AND c > 15 AND d >= 16")


def test_allow_filtering_on_partition_key_without_indices_with_collections(t):
    t.create_table("CREATE TABLE %s (a int, b int, c list<int>, d set<int>, e map<int, int>, PRIMARY KEY ((a, b)))")
    for values in ["1, 2, [1, 6], {2, 12}, {1: 6}", "1, 3, [3, 2], {6, 4}, {3: 2}",
                   "1, 4, [1, 2], {2, 4}, {1: 2}", "2, 3, [3, 6], {6, 12}, {3: 6}"]:
        t.execute(f"INSERT INTO %s (a, b, c, d, e) VALUES ({values})")
    r12 = (1, 2, [1, 6], {2, 12}, {1: 6})
    r13 = (1, 3, [3, 2], {6, 4}, {3: 2})
    r14 = (1, 4, [1, 2], {2, 4}, {1: 2})
    t.filtering_required("SELECT * FROM %s WHERE b < 0 AND c CONTAINS 2")
    assert t.rows("SELECT * FROM %s WHERE b >= 4 AND c CONTAINS 2 ALLOW FILTERING") == [r14]
    assert t.rows("SELECT * FROM %s WHERE a > 0 AND b <= 3 AND c CONTAINS 2 AND c CONTAINS 3 "
                  "ALLOW FILTERING") == [r13]
    t.filtering_required("SELECT * FROM %s WHERE a = 1 AND d CONTAINS 4")
    assert t.rows("SELECT * FROM %s WHERE d CONTAINS 4 ALLOW FILTERING") == [r13, r14]
    assert t.rows("SELECT * FROM %s WHERE a < 2 AND b >= 3 AND e CONTAINS 2 ALLOW FILTERING") == [r13, r14]
    assert t.rows("SELECT * FROM %s WHERE a = 1 AND e CONTAINS KEY 1 ALLOW FILTERING") == [r14, r12]
    assert t.rows("SELECT * FROM %s WHERE a in (1) AND b in (2) AND e[1] = 6 ALLOW FILTERING") == [r12]
    assert t.rows("SELECT * FROM %s WHERE a >= 1 AND b in (3) AND c CONTAINS 2 AND d CONTAINS 4 AND "
                  "e CONTAINS KEY 3 ALLOW FILTERING") == [r13]
    t.invalid("Unsupported null map key for column e",
              "SELECT * FROM %s WHERE a >= 1 AND b < 1 AND e[null] = 2 ALLOW FILTERING")
    t.invalid("Unsupported null map value for column e",
              "SELECT * FROM %s WHERE a >= 1 AND b < 1 AND e[1] = null ALLOW FILTERING")


def test_not_equal_and_not_in_are_rejected(t):
    """5.0 has no != / NOT IN / NOT CONTAINS in WHERE (they arrived after 5.0): the parser
    or the restriction code rejects them."""
    t.create_table("CREATE TABLE %s (k int, c int, v int, PRIMARY KEY (k, c))")
    t.invalid('Unsupported "!=" relation: v != 1', "SELECT * FROM %s WHERE k = 0 AND v != 1 ALLOW FILTERING")
    t.syntax_error("SELECT * FROM %s WHERE k = 0 AND v NOT IN (1, 2) ALLOW FILTERING")
