"""INSERT: UNSET values and TTLs, missing or duplicate key columns, after Cassandra's
cql3/validation/operations/InsertTest."""

from cql3_tester import UNSET


def test_insert_with_unset(t):
    t.create_table("CREATE TABLE %s (k int PRIMARY KEY, s text, i int)")
    t.execute("INSERT INTO %s (k, s, i) VALUES (10, ?, ?)", "text", 10)
    t.execute("INSERT INTO %s (k, s, i) VALUES (10, ?, ?)", None, None)
    assert t.rows("SELECT s, i FROM %s WHERE k = 10") == [(None, None)]
    t.execute("INSERT INTO %s (k, s, i) VALUES (11, ?, ?)", "text", 10)
    t.execute("INSERT INTO %s (k, s, i) VALUES (11, ?, ?)", UNSET, UNSET)
    assert t.rows("SELECT s, i FROM %s WHERE k=11") == [("text", 10)]
    t.invalid("Invalid unset value for column k", "UPDATE %s SET i = 0 WHERE k = ?", UNSET)
    t.invalid("Invalid unset value for column k", "DELETE FROM %s WHERE k = ?", UNSET)
    t.invalid("Invalid unset value for argument in call to function blobasint",
              "SELECT * FROM %s WHERE k = blobAsInt(?)", UNSET)


def test_insert_ttl_with_unset(t):
    t.create_table("CREATE TABLE %s (k int PRIMARY KEY, i int)")
    t.execute("INSERT INTO %s (k, i) VALUES (1, 1) USING TTL ?", UNSET)
    assert t.rows("SELECT ttl(i) FROM %s") == [(None,)]


def test_insert(t):
    t.create_table("CREATE TABLE %s (partitionKey int, clustering int, value int, "
                   "PRIMARY KEY (partitionKey, clustering))")
    t.execute("INSERT INTO %s (partitionKey, clustering) VALUES (0, 0)")
    t.execute("INSERT INTO %s (partitionKey, clustering, value) VALUES (0, 1, 1)")
    assert t.rows("SELECT * FROM %s") == [(0, 0, None), (0, 1, 1)]
    t.invalid("Some partition key parts are missing: partitionkey",
              "INSERT INTO %s (clustering, value) VALUES (0, 1)")
    t.invalid("Some clustering keys are missing: clustering",
              "INSERT INTO %s (partitionKey, value) VALUES (0, 2)")
    t.invalid("The column names contains duplicates",
              "INSERT INTO %s (partitionKey, clustering, value, value) VALUES (0, 0, 2, 2)")
    t.invalid("The column names contains duplicates",
              "INSERT INTO %s (partitionKey, clustering, clustering, value) VALUES (0, 0, 0, 2)")
    # 5.0's InsertTest matches "Undefined column name clusteringx" as a part of
    # TableMetadata.getExistingColumn's message ("Unknown identifier" was 3.x's).
    t.invalid(f"Undefined column name clusteringx in table {t.table}",
              "INSERT INTO %s (partitionKey, clusteringx, value) VALUES (0, 0, 2)")
    t.invalid(f"Undefined column name valuex in table {t.table}",
              "INSERT INTO %s (partitionKey, clustering, valuex) VALUES (0, 0, 2)")


def test_insert_with_two_clustering_columns(t):
    t.create_table("CREATE TABLE %s (partitionKey int, clustering_1 int, clustering_2 int, value int, "
                   "PRIMARY KEY (partitionKey, clustering_1, clustering_2))")
    t.execute("INSERT INTO %s (partitionKey, clustering_1, clustering_2) VALUES (0, 0, 0)")
    t.execute("INSERT INTO %s (partitionKey, clustering_1, clustering_2, value) VALUES (0, 0, 1, 1)")
    assert t.rows("SELECT * FROM %s") == [(0, 0, 0, None), (0, 0, 1, 1)]
    t.invalid("Some partition key parts are missing: partitionkey",
              "INSERT INTO %s (clustering_1, clustering_2, value) VALUES (0, 0, 1)")
    t.invalid("Some clustering keys are missing: clustering_1",
              "INSERT INTO %s (partitionKey, clustering_2, value) VALUES (0, 0, 2)")
    t.invalid("The column names contains duplicates",
              "INSERT INTO %s (partitionKey, clustering_1, value, clustering_2, value) VALUES (0, 0, 2, 0, 2)")
    t.invalid(f"Undefined column name clustering_1x in table {t.table}",
              "INSERT INTO %s (partitionKey, clustering_1x, clustering_2, value) VALUES (0, 0, 0, 2)")


def test_insert_with_a_static_column(t):
    t.create_table("CREATE TABLE %s (partitionKey int, clustering_1 int, clustering_2 int, value int, "
                   "staticValue text static, PRIMARY KEY (partitionKey, clustering_1, clustering_2))")
    t.execute("INSERT INTO %s (partitionKey, clustering_1, clustering_2, staticValue) VALUES (0, 0, 0, 'A')")
    t.execute("INSERT INTO %s (partitionKey, staticValue) VALUES (1, 'B')")
    assert t.rows("SELECT * FROM %s") == [(1, None, None, "B", None), (0, 0, 0, "A", None)]
    t.execute("INSERT INTO %s (partitionKey, clustering_1, clustering_2, value) VALUES (1, 0, 0, 0)")
    assert t.rows("SELECT * FROM %s") == [(1, 0, 0, "B", 0), (0, 0, 0, "A", None)]
    t.invalid("Some partition key parts are missing: partitionkey",
              "INSERT INTO %s (clustering_1, clustering_2, staticValue) VALUES (0, 0, 'A')")
    t.invalid("Some clustering keys are missing: clustering_1",
              "INSERT INTO %s (partitionKey, clustering_2, staticValue) VALUES (0, 0, 'A')")


def test_insert_with_default_ttl(t):
    t.create_table("CREATE TABLE %s (a int PRIMARY KEY, b int) WITH default_time_to_live = 600")
    t.execute("INSERT INTO %s (a, b) VALUES (1, 1)")
    assert t.one("SELECT ttl(b) FROM %s WHERE a = 1")[0] >= 540
    t.execute("INSERT INTO %s (a, b) VALUES (2, 2) USING TTL ?", 300)
    assert t.one("SELECT ttl(b) FROM %s WHERE a = 2")[0] <= 300
    t.execute("INSERT INTO %s (a, b) VALUES (3, 3) USING TTL ?", 0)
    assert t.rows("SELECT ttl(b) FROM %s WHERE a = 3") == [(None,)]
    t.execute("INSERT INTO %s (a, b) VALUES (4, 4) USING TTL ?", UNSET)
    assert t.one("SELECT ttl(b) FROM %s WHERE a = 4")[0] >= 540


def test_ttl_and_timestamp_bind_markers(t):
    """`USING TTL ? AND TIMESTAMP ?` (Attributes): null TTL = none, unset timestamp = now,
    negative and oversized TTLs rejected with Cassandra's texts."""
    t.create_table("CREATE TABLE %s (k int PRIMARY KEY, v int)")
    t.execute("INSERT INTO %s (k, v) VALUES (1, 1) USING TTL ? AND TIMESTAMP ?", 1000, 42)
    ttl, writetime = t.one("SELECT ttl(v), writetime(v) FROM %s WHERE k = 1")
    assert 990 <= ttl <= 1000 and writetime == 42
    t.execute("INSERT INTO %s (k, v) VALUES (2, 2) USING TTL ? AND TIMESTAMP ?", None, UNSET)
    ttl, writetime = t.one("SELECT ttl(v), writetime(v) FROM %s WHERE k = 2")
    assert ttl is None and writetime > 1_600_000_000_000_000
    t.execute("UPDATE %s USING TIMESTAMP ? AND TTL ? SET v = ? WHERE k = ?", 7, UNSET, 3, 3)
    assert t.rows("SELECT ttl(v), writetime(v) FROM %s WHERE k = 3") == [(None, 7)]
    t.invalid("A TTL must be greater or equal to 0, but was -1",
              "INSERT INTO %s (k, v) VALUES (1, 1) USING TTL ?", -1)
    t.invalid("ttl is too large. requested (630720001) maximum (630720000)",
              "INSERT INTO %s (k, v) VALUES (1, 1) USING TTL ?", 630720001)
    t.invalid("Invalid null value of timestamp",
              "INSERT INTO %s (k, v) VALUES (1, 1) USING TIMESTAMP ?", None)
    t.invalid("A TTL must be greater or equal to 0, but was -5",
              "INSERT INTO %s (k, v) VALUES (1, 1) USING TTL -5")
