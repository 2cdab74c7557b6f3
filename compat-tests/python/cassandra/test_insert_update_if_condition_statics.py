"""LWT conditions on static columns, alone and in batches, after Cassandra's
cql3/validation/operations/InsertUpdateIfConditionStaticsTest."""

from cql3_tester import UNSET


def batch(t, *statements):
    return "BEGIN BATCH " + " ".join(s.replace("%s", t.table) + ";" for s in statements) + " APPLY BATCH"


def test_static_columns_cas(t):
    t.create_table("CREATE TABLE %s (id int, k text, version int static, v text, PRIMARY KEY (id, k))")
    t.execute("INSERT INTO %s (id, k, v) VALUES (1, 'foo', 'foo')")
    assert t.rows("INSERT INTO %s (id, k, version) VALUES (1, 'foo', 1) IF NOT EXISTS") == [(False, 1, "foo", None, "foo")]
    assert t.rows("INSERT INTO %s (id, version) VALUES (1, 1) IF NOT EXISTS") == [(True,)]
    assert t.rows("SELECT * FROM %s") == [(1, "foo", 1, "foo")]
    t.execute("DELETE FROM %s WHERE id = 1")
    t.execute("INSERT INTO %s(id, version) VALUES (0, 0)")
    assert t.rows("UPDATE %s SET v='foo', version=1 WHERE id=0 AND k='k1' IF version = ?", 0) == [(True,)]
    assert t.rows("SELECT * FROM %s") == [(0, "k1", 1, "foo")]
    assert t.rows("UPDATE %s SET v='bar', version=1 WHERE id=0 AND k='k2' IF version = ?", 0) == [(False, 1)]
    assert t.rows("SELECT * FROM %s") == [(0, "k1", 1, "foo")]
    assert t.rows("UPDATE %s SET v='bar', version=2 WHERE id=0 AND k='k2' IF version = ?", 1) == [(True,)]
    assert t.rows("SELECT * FROM %s") == [(0, "k1", 2, "foo"), (0, "k2", 2, "bar")]
    assert t.rows("UPDATE %s SET version=3 WHERE id=0 IF version=1") == [(False, 2)]
    assert t.rows(batch(t, "UPDATE %s SET v='foobar' WHERE id=0 AND k='k1'",
                        "UPDATE %s SET v='barfoo' WHERE id=0 AND k='k2'",
                        "UPDATE %s SET version=3 WHERE id=0 IF version=1")) == [(False, 0, "k1", 2)]
    assert t.rows(batch(t, "UPDATE %s SET v = 'foobar' WHERE id = 0 AND k = 'k1'",
                        "UPDATE %s SET v = 'barfoo' WHERE id = 0 AND k = 'k2'",
                        "UPDATE %s SET version = 3 WHERE id = 0 IF version = 2")) == [(True,)]
    assert t.rows("SELECT * FROM %s") == [(0, "k1", 3, "foobar"), (0, "k2", 3, "barfoo")]
    assert t.rows(batch(t, "UPDATE %s SET version = 4 WHERE id = 0 IF version = 3",
                        "UPDATE %s SET v='row1' WHERE id=0 AND k='k1' IF v='foo'",
                        "UPDATE %s SET v='row2' WHERE id=0 AND k='k2' IF v='bar'")) == [
        (False, 0, "k1", 3, "foobar"), (False, 0, "k2", 3, "barfoo")]
    assert t.rows(batch(t, "UPDATE %s SET version = 4 WHERE id = 0 IF version = 3",
                        "UPDATE %s SET v='row1' WHERE id = 0 AND k='k1' IF v='foobar'",
                        "UPDATE %s SET v='row2' WHERE id = 0 AND k='k2' IF v='barfoo'")) == [(True,)]
    assert t.rows("SELECT * FROM %s") == [(0, "k1", 4, "row1"), (0, "k2", 4, "row2")]
    t.invalid("Batch with conditions cannot span multiple partitions",
              batch(t, "UPDATE %s SET version=5 WHERE id=0 IF version=4",
                    "UPDATE %s SET v='row1' WHERE id=0 AND k='k1'",
                    "UPDATE %s SET v='row2' WHERE id=1 AND k='k2'"))
    assert t.rows(batch(t, "INSERT INTO %s (id, k, v) VALUES (1, 'k1', 'val1') IF NOT EXISTS",
                        "INSERT INTO %s (id, k, v) VALUES (1, 'k2', 'val2') IF NOT EXISTS")) == [(True,)]
    assert t.rows("SELECT * FROM %s WHERE id=1") == [(1, "k1", None, "val1"), (1, "k2", None, "val2")]
    assert t.rows("INSERT INTO %s (id, k, v) VALUES (1, 'k2', 'val2') IF NOT EXISTS") == [
        (False, 1, "k2", None, "val2")]
    assert t.rows(batch(t, "INSERT INTO %s (id, k, v) VALUES (1, 'k2', 'val2') IF NOT EXISTS",
                        "INSERT INTO %s (id, k, v) VALUES (1, 'k3', 'val3') IF NOT EXISTS")) == [
        (False, 1, "k2", None, "val2")]
    assert t.rows(batch(t, "UPDATE %s SET v = 'newVal' WHERE id = 1 AND k = 'k2' IF v = 'val0'",
                        "INSERT INTO %s (id, k, v) VALUES (1, 'k3', 'val3') IF NOT EXISTS")) == [
        (False, 1, "k2", None, "val2")]
    assert t.rows(batch(t, "UPDATE %s SET v = 'newVal' WHERE id = 1 AND k = 'k2' IF v = 'val2'",
                        "INSERT INTO %s (id, k, v, version) VALUES(1, 'k3', 'val3', 1) IF NOT EXISTS")) == [(True,)]
    assert t.rows("SELECT * FROM %s WHERE id=1") == [(1, "k1", 1, "val1"), (1, "k2", 1, "newVal"),
                                                      (1, "k3", 1, "val3")]
    assert t.rows(batch(t, "UPDATE %s SET v = 'newVal1' WHERE id = 1 AND k = 'k2' IF v = 'val2'",
                        "UPDATE %s SET v = 'newVal2' WHERE id = 1 AND k = 'k2' IF v = 'val3'")) == [
        (False, 1, "k2", "newVal")]


def statics_table(t):
    t.create_table("CREATE TABLE %s (pk int, ck int, static_col int static, value int, PRIMARY KEY (pk, ck))")
    for pk, ck, value in [(1, 1, 2), (1, 3, 4), (1, 5, 6), (1, 7, 8), (2, 1, 2)]:
        t.execute("INSERT INTO %s (pk, ck, value) VALUES (?, ?, ?)", pk, ck, value)
    t.execute("INSERT INTO %s (pk, static_col) VALUES (?, ?)", 1, 1)


def test_static_columns_cas_delete(t):
    statics_table(t)
    assert t.rows("DELETE static_col FROM %s WHERE pk = ? IF static_col = ?", 1, 2) == [(False, 1)]
    assert t.rows("DELETE static_col FROM %s WHERE pk = ? IF static_col = ?", 1, 1) == [(True,)]
    select = "SELECT pk, ck, static_col, value FROM %s WHERE pk = 1"
    assert t.rows(select) == [(1, 1, None, 2), (1, 3, None, 4), (1, 5, None, 6), (1, 7, None, 8)]
    t.execute("INSERT INTO %s (pk, static_col) VALUES (?, ?)", 1, 1)
    t.invalid("Some partition key parts are missing: pk",
              "DELETE static_col FROM %s WHERE ck = ? IF static_col = ?", 1, 1)
    t.invalid("Invalid restrictions on clustering columns since the DELETE statement modifies only static columns",
              "DELETE static_col FROM %s WHERE pk = ? AND ck = ? IF static_col = ?", 1, 1, 1)
    t.invalid("DELETE statements must restrict all PRIMARY KEY columns with equality relations in order to delete "
              "non static columns", "DELETE static_col, value FROM %s WHERE pk = ? IF static_col = ?", 1, 1)
    t.invalid("DELETE statements must restrict all PRIMARY KEY columns with equality relations in order to use IF "
              "condition on non static columns",
              "DELETE static_col FROM %s WHERE pk = ? IF value = ? AND static_col = ?", 1, 2, 1)
    assert t.rows("DELETE value FROM %s WHERE pk = ? AND ck = ? IF value = ? AND static_col = ?", 1, 1, 2, 2) == [
        (False, 2, 1)]
    assert t.rows("DELETE value FROM %s WHERE pk = ? AND ck = ? IF value = ? AND static_col = ?", 1, 1, 2, 1) == [
        (True,)]
    assert t.rows(select) == [(1, 1, 1, None), (1, 3, 1, 4), (1, 5, 1, 6), (1, 7, 1, 8)]
    assert t.rows("DELETE static_col FROM %s WHERE pk = ? AND ck = ? IF value = ?", 1, 5, 10) == [(False, 6)]
    assert t.rows("DELETE static_col FROM %s WHERE pk = ? AND ck = ? IF value = ?", 1, 5, 6) == [(True,)]
    assert t.rows(select) == [(1, 1, None, None), (1, 3, None, 4), (1, 5, None, 6), (1, 7, None, 8)]


def test_static_columns_cas_update(t):
    statics_table(t)
    assert t.rows("UPDATE %s SET static_col = ? WHERE pk = ? IF static_col = ?", 3, 1, 2) == [(False, 1)]
    assert t.rows("UPDATE %s SET static_col = ? WHERE pk = ? IF static_col = ?", 2, 1, 1) == [(True,)]
    select = "SELECT pk, ck, static_col, value FROM %s WHERE pk = 1"
    assert t.rows(select) == [(1, 1, 2, 2), (1, 3, 2, 4), (1, 5, 2, 6), (1, 7, 2, 8)]
    t.invalid("Some partition key parts are missing: pk",
              "UPDATE %s SET static_col = ? WHERE ck = ? IF static_col = ?", 3, 1, 1)
    t.invalid("Invalid restrictions on clustering columns since the UPDATE statement modifies only static columns",
              "UPDATE %s SET static_col = ? WHERE pk = ? AND ck = ? IF static_col = ?", 3, 1, 1, 1)
    t.invalid("Some clustering keys are missing: ck",
              "UPDATE %s SET static_col = ?, value = ? WHERE pk = ? IF static_col = ?", 3, 1, 1, 2)
    t.invalid("Some clustering keys are missing: ck",
              "UPDATE %s SET static_col = ? WHERE pk = ? IF value = ? AND static_col = ?", 3, 1, 4, 2)
    assert t.rows("UPDATE %s SET value = ? WHERE pk = ? AND ck = ? IF value = ? AND static_col = ?",
                  3, 1, 1, 3, 2) == [(False, 2, 2)]
    assert t.rows("UPDATE %s SET value = ? WHERE pk = ? AND ck = ? IF value = ? AND static_col = ?",
                  1, 1, 1, 2, 2) == [(True,)]
    assert t.rows(select) == [(1, 1, 2, 1), (1, 3, 2, 4), (1, 5, 2, 6), (1, 7, 2, 8)]
    assert t.rows("UPDATE %s SET static_col = ? WHERE pk = ? AND ck = ? IF value = ?", 3, 1, 1, 2) == [(False, 1)]
    assert t.rows("UPDATE %s SET static_col = ? WHERE pk = ? AND ck = ? IF value = ?", 1, 1, 1, 1) == [(True,)]
    assert t.rows(select) == [(1, 1, 1, 1), (1, 3, 1, 4), (1, 5, 1, 6), (1, 7, 1, 8)]


def test_conditional_updates_on_static_columns(t):
    t.create_table("CREATE TABLE %s (a int, b int, s int static, d text, PRIMARY KEY (a, b))")
    t.invalid("Invalid 'unset' value in condition", "UPDATE %s SET s = 6 WHERE a = 6 IF s = ?", UNSET)
    t.execute("INSERT INTO %s (a, b, s, d) values (6, 6, 100, 'a')")
    assert t.rows("UPDATE %s SET s = 6 WHERE a = 6 IF s = 100") == [(True,)]
    assert t.rows("SELECT * FROM %s WHERE a = 6") == [(6, 6, 6, "a")]
    assert t.rows("UPDATE %s SET s = 7 WHERE a = 6 IF s IN (1, 6)") == [(True,)]
    assert t.rows("UPDATE %s SET s = 8 WHERE a = 6 IF s IN (1, 2)") == [(False, 7)]
