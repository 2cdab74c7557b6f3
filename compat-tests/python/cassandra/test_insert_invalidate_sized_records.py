"""Key size limits, after Cassandra's cql3/validation/operations/InsertInvalidateSizedRecordsTest
and SelectTest.testPKQueryWithValueOver64K / testCKQueryWithValueOver64K."""

LARGE = bytes(65535 + 1)
MEDIUM = bytes(65535 // 2 + 10)
EMPTY = b""


def too_long(length):
    return f"Key length of {length} is longer than maximum of 65535"


def test_single_value_pk(t):
    t.create_table("CREATE TABLE %s (a blob PRIMARY KEY)")
    t.invalid(too_long(len(LARGE)), "INSERT INTO %s (a) VALUES (?)", LARGE)
    t.invalid("Invalid null value in condition for column a", "INSERT INTO %s (a) VALUES (?)", None)
    t.invalid("Key may not be empty", "INSERT INTO %s (a) VALUES (?)", EMPTY)


def test_composite_value_pk(t):
    t.create_table("CREATE TABLE %s (a blob, b blob, PRIMARY KEY ((a, b)))")
    insert = "INSERT INTO %s (a, b) VALUES (?, ?)"
    t.invalid(too_long((len(MEDIUM) + 3) * 2), insert, MEDIUM, MEDIUM)
    t.invalid(too_long(len(LARGE)), insert, MEDIUM, LARGE)
    t.invalid("Invalid null value in condition for column a", insert, None, None)
    t.invalid("Invalid null value in condition for column b", insert, MEDIUM, None)
    t.invalid("Invalid null value in condition for column a", insert, None, MEDIUM)
    t.invalid("Key may not be empty", insert, EMPTY, EMPTY)
    t.invalid("Key may not be empty", insert, MEDIUM, EMPTY)
    t.invalid("Key may not be empty", insert, EMPTY, MEDIUM)


def test_single_value_clustering(t):
    t.create_table("CREATE TABLE %s (a blob, b blob, PRIMARY KEY (a, b))")
    insert = "INSERT INTO %s (a, b) VALUES (?, ?)"
    t.invalid(too_long(len(LARGE)), insert, MEDIUM, LARGE)
    t.invalid("Invalid null value in condition for column b", insert, MEDIUM, None)
    t.execute(insert, MEDIUM, EMPTY)
    assert t.rows("SELECT b FROM %s WHERE a = ?", MEDIUM) == [(EMPTY,)]


def test_composite_value_clustering(t):
    t.create_table("CREATE TABLE %s (a blob, b blob, c blob, PRIMARY KEY (a, b, c))")
    insert = "INSERT INTO %s (a, b, c) VALUES (?, ?, ?)"
    t.invalid(too_long(len(MEDIUM) * 2), insert, MEDIUM, MEDIUM, MEDIUM)
    t.invalid(too_long(len(MEDIUM) + len(LARGE)), insert, MEDIUM, MEDIUM, LARGE)


def test_single_value_index(t):
    table = t.create_table("CREATE TABLE %s (a blob, b blob, PRIMARY KEY (a))")
    t.create_index("CREATE INDEX single_value_index ON %s (b)")
    t.invalid(f"Cannot index value of size {len(LARGE)} for index single_value_index on {table}(b) "
              "(maximum allowed size=65535)", "INSERT INTO %s (a, b) VALUES (?, ?)", MEDIUM, LARGE)


def test_pk_query_with_value_over_64k(t):
    t.create_table("CREATE TABLE %s (a text, b text, PRIMARY KEY (a, b))")
    t.invalid(too_long(len(LARGE)), "SELECT * FROM %s WHERE a = ?", "x" * len(LARGE))


def test_ck_query_with_value_over_64k(t):
    t.create_table("CREATE TABLE %s (a text, b text, PRIMARY KEY (a, b))")
    assert t.rows("SELECT * FROM %s WHERE a = 'foo' AND b = ?", "x" * len(LARGE)) == []
