"""USING TIMESTAMP and the reconciliation of cells written at equal timestamps, after
Cassandra's cql3/validation/entities/TimestampTest (the tie rules are those of
Cassandra's Cells.reconcile: tombstone first, then expiring over live, then the greater value)."""

from cql3_tester import UNSET


def test_negative_timestamps(t):
    t.create_table("CREATE TABLE %s (k int PRIMARY KEY, v int)")
    t.execute("INSERT INTO %s (k, v) VALUES (?, ?) USING TIMESTAMP ?", 1, 1, -42)
    assert t.rows("SELECT writetime(v) FROM %s WHERE k = ?", 1) == [(-42,)]
    t.invalid_any("INSERT INTO %s (k, v) VALUES (?, ?) USING TIMESTAMP ?", 2, 2, -2**63)


def test_timestamp_ttl(t):
    t.create_table("CREATE TABLE %s (k int PRIMARY KEY, c text, d text)")
    t.execute("INSERT INTO %s (k, c) VALUES (1, 'test')")
    t.execute("INSERT INTO %s (k, c) VALUES (2, 'test') USING TTL 400")
    for query in ["SELECT k, c, writetime(c), ttl(c) FROM %s",
                  "SELECT k, c, blobAsBigint(bigintAsBlob(writetime(c))), ttl(c) FROM %s",
                  "SELECT k, c, writetime(c), blobAsInt(intAsBlob(ttl(c))) FROM %s"]:
        rows = {row[0]: row for row in t.rows(query)}
        assert len(rows) == 2
        assert isinstance(rows[1][2], int) and rows[1][3] is None
        assert 390 <= rows[2][3] <= 400
    t.invalid("Cannot use selection function writetime on PRIMARY KEY part k",
              "SELECT k, c, writetime(k) FROM %s")
    assert t.rows("SELECT k, d, writetime(d) FROM %s WHERE k = 1") == [(1, None, None)]


def test_invalid_custom_timestamp(t):
    t.create_table("CREATE TABLE %s (k int, v int, PRIMARY KEY (k, v))")
    t.execute("BEGIN BATCH INSERT INTO %s (k, v) VALUES(0, 0) IF NOT EXISTS; "
              "INSERT INTO %s (k, v) VALUES(0, 1) IF NOT EXISTS; APPLY BATCH".replace("%s", t.table))
    t.invalid("Cannot provide custom timestamp for conditional updates",
              "BEGIN BATCH INSERT INTO {0} (k, v) VALUES(0, 2) IF NOT EXISTS USING TIMESTAMP 1; "
              "INSERT INTO {0} (k, v) VALUES(0, 3) IF NOT EXISTS; APPLY BATCH".format(t.table))
    t.invalid("Cannot provide custom timestamp for conditional BATCH",
              "BEGIN BATCH USING TIMESTAMP 1 INSERT INTO {0} (k, v) VALUES(0, 4) IF NOT EXISTS; "
              "INSERT INTO {0} (k, v) VALUES(0, 1) IF NOT EXISTS; APPLY BATCH".format(t.table))
    t.execute("INSERT INTO %s (k, v) VALUES(1, 0) IF NOT EXISTS")
    t.invalid("Cannot provide custom timestamp for conditional updates",
              "INSERT INTO %s (k, v) VALUES(1, 1) IF NOT EXISTS USING TIMESTAMP 5")
    t.create_table("CREATE TABLE %s (k int PRIMARY KEY, c counter)")
    t.execute("UPDATE %s SET c = c + 1 WHERE k = 0")
    t.invalid("Cannot provide custom timestamp for counter updates",
              "UPDATE %s USING TIMESTAMP 10 SET c = c + 1 WHERE k = 0")
    t.invalid("Cannot provide custom timestamp for counter BATCH",
              "BEGIN COUNTER BATCH USING TIMESTAMP 3 UPDATE {0} SET c = c + 1 WHERE k = 0; "
              "UPDATE {0} SET c = c + 1 WHERE k = 0; APPLY BATCH".format(t.table))


def test_insert_timestamp_with_unset(t):
    t.create_table("CREATE TABLE %s (k int PRIMARY KEY, i int)")
    t.execute("INSERT INTO %s (k, i) VALUES (1, 1) USING TIMESTAMP ?", UNSET)
    assert t.one("SELECT writetime(i) FROM %s WHERE k = 1")[0] > 1_600_000_000_000_000


def test_equal_timestamps_greater_value_wins(t):
    t.create_table("CREATE TABLE %s (k int PRIMARY KEY, v text, n int)")
    t.execute("INSERT INTO %s (k, v, n) VALUES (1, 'b', 2) USING TIMESTAMP 10")
    t.execute("INSERT INTO %s (k, v, n) VALUES (1, 'a', 1) USING TIMESTAMP 10")
    t.execute("INSERT INTO %s (k, v, n) VALUES (2, 'a', 1) USING TIMESTAMP 10")
    t.execute("INSERT INTO %s (k, v, n) VALUES (2, 'b', 2) USING TIMESTAMP 10")
    assert t.rows("SELECT v, n FROM %s WHERE k = 1") == [("b", 2)]
    assert t.rows("SELECT v, n FROM %s WHERE k = 2") == [("b", 2)]


def test_equal_timestamps_tombstone_wins(t):
    t.create_table("CREATE TABLE %s (k int, c int, v int, PRIMARY KEY (k, c))")
    t.execute("INSERT INTO %s (k, c, v) VALUES (1, 1, 1) USING TIMESTAMP 10")
    t.execute("DELETE v FROM %s USING TIMESTAMP 10 WHERE k = 1 AND c = 1")
    assert t.rows("SELECT v FROM %s WHERE k = 1 AND c = 1") == [(None,)]
    t.execute("DELETE FROM %s USING TIMESTAMP 20 WHERE k = 2")
    t.execute("INSERT INTO %s (k, c, v) VALUES (2, 1, 1) USING TIMESTAMP 20")
    assert t.rows("SELECT * FROM %s WHERE k = 2") == []
    t.execute("INSERT INTO %s (k, c, v) VALUES (3, 1, 1) USING TIMESTAMP 30")
    t.execute("DELETE FROM %s USING TIMESTAMP 30 WHERE k = 3 AND c = 1")
    assert t.rows("SELECT * FROM %s WHERE k = 3") == []


def test_equal_timestamps_expiring_beats_live(t):
    t.create_table("CREATE TABLE %s (k int PRIMARY KEY, v int)")
    t.execute("INSERT INTO %s (k, v) VALUES (1, 9) USING TIMESTAMP 10")
    t.execute("INSERT INTO %s (k, v) VALUES (1, 1) USING TIMESTAMP 10 AND TTL 1000")
    value, ttl = t.one("SELECT v, ttl(v) FROM %s WHERE k = 1")
    assert value == 1 and ttl is not None


def test_older_timestamp_loses(t):
    t.create_table("CREATE TABLE %s (k int PRIMARY KEY, v int)")
    t.execute("INSERT INTO %s (k, v) VALUES (1, 2) USING TIMESTAMP 20")
    t.execute("INSERT INTO %s (k, v) VALUES (1, 1) USING TIMESTAMP 10")
    t.execute("DELETE v FROM %s USING TIMESTAMP 15 WHERE k = 1")
    assert t.rows("SELECT v, writetime(v) FROM %s WHERE k = 1") == [(2, 20)]
