"""Multi-column relations on clustering columns, after Cassandra's
cql3/validation/operations/SelectMultiColumnRelationTest (one test per Cassandra method)."""

from cql3_tester import REQUIRES_ALLOW_FILTERING, UNSET

ABCD = "CREATE TABLE %s (a int, b int, c int, d int, PRIMARY KEY (a, b, c, d))"
INSERT4 = "INSERT INTO %s (a, b, c, d) VALUES (?, ?, ?, ?)"


def fill_abcd(t, rows=((0, 0, 0, 0), (0, 0, 1, 0), (0, 0, 1, 1),
                       (0, 1, 0, 0), (0, 1, 1, 0), (0, 1, 1, 1))):
    for row in rows:
        t.execute(INSERT4, *row)


def test_single_clustering_invalid_queries(t):
    t.create_table("CREATE TABLE %s (a int, b int, c int, PRIMARY KEY (a, b))")
    t.syntax_error("SELECT * FROM %s WHERE () = (?, ?)")
    t.invalid("b cannot be restricted by more than one relation if it includes an Equal",
              "SELECT * FROM %s WHERE a = 0 AND (b) = (?) AND (b) > (?)", 0, 0)
    t.invalid("More than one restriction was found for the start bound on b",
              "SELECT * FROM %s WHERE a = 0 AND (b) > (?) AND (b) > (?)", 0, 1)
    t.invalid("Multi-column relations can only be applied to clustering columns but was applied to: a",
              "SELECT * FROM %s WHERE (a, b) = (?, ?)", 0, 0)


def test_multi_clustering_invalid_queries(t):
    t.create_table(ABCD)
    t.syntax_error("SELECT * FROM %s WHERE a = 0 AND (b, c) > ()")
    t.invalid("Expected 2 elements in value tuple, but got 3: (?, ?, ?)",
              "SELECT * FROM %s WHERE a = 0 AND (b, c) > (?, ?, ?)", 1, 2, 3)
    t.invalid("Invalid null value in condition for column c",
              "SELECT * FROM %s WHERE a = 0 AND (b, c) > (?, ?)", 1, None)
    t.invalid("Clustering columns must appear in the PRIMARY KEY order in multi-column relations: "
              "(d, c, b) = (?, ?, ?)",
              "SELECT * FROM %s WHERE a = 0 AND (d, c, b) = (?, ?, ?)", 0, 0, 0)
    t.invalid("Clustering columns must appear in the PRIMARY KEY order in multi-column relations: "
              "(d, c, b) > (?, ?, ?)",
              "SELECT * FROM %s WHERE a = 0 AND (d, c, b) > (?, ?, ?)", 0, 0, 0)
    t.invalid("Expected 3 elements in value tuple, but got 2: (?, ?)",
              "SELECT * FROM %s WHERE a=0 AND (b, c, d) IN ((?, ?))", 0, 1)
    t.invalid("Expected 3 elements in value tuple, but got 5: (?, ?, ?, ?, ?)",
              "SELECT * FROM %s WHERE a=0 AND (b, c, d) IN ((?, ?, ?, ?, ?))", 0, 1, 2, 3, 4)
    t.invalid('PRIMARY KEY column "c" cannot be restricted as preceding column "b" is not restricted',
              "SELECT * FROM %s WHERE a = 0 AND (c, d) = (?, ?)", 0, 0)
    t.invalid('PRIMARY KEY column "c" cannot be restricted as preceding column "b" is not restricted',
              "SELECT * FROM %s WHERE a = 0 AND (c, d) > (?, ?)", 0, 0)
    t.invalid("Invalid null value in condition for columns: [b, c, d]",
              "SELECT * FROM %s WHERE a = 0 AND (b, c, d) IN ((?, ?, ?))", 1, 2, None)
    t.invalid_any("SELECT * FROM %s WHERE a = 0 AND (b, c, d) = (1, 2, 'foobar')")
    t.invalid_any("SELECT * FROM %s WHERE a = 0 AND b = (1, 2, 3)")
    mixing = "Mixing single column relations and multi column relations on clustering columns is not allowed"
    t.invalid(mixing, "SELECT * FROM %s WHERE a = 0 AND (b, c, d) > (?, ?, ?) AND b < ?", 0, 1, 0, 1)
    t.invalid(mixing, "SELECT * FROM %s WHERE a = 0 AND (b, c, d) > (?, ?, ?) AND c < ?", 0, 1, 0, 1)
    t.invalid(mixing, "SELECT * FROM %s WHERE a = 0 AND b > ? AND (b, c, d) < (?, ?, ?)", 1, 1, 1, 0)
    t.invalid(mixing, "SELECT * FROM %s WHERE a = 0 AND c > ? AND (b, c, d) < (?, ?, ?)", 1, 1, 1, 0)
    t.invalid("Multi-column relations can only be applied to clustering columns but was applied to: a",
              "SELECT * FROM %s WHERE (a, b, c, d) IN ((?, ?, ?, ?))", 0, 1, 2, 3)
    t.invalid('PRIMARY KEY column "c" cannot be restricted as preceding column "b" is not restricted',
              "SELECT * FROM %s WHERE (c, d) IN ((?, ?))", 0, 1)
    t.invalid('Clustering column "c" cannot be restricted (preceding column "b" is restricted by a non-EQ relation)',
              "SELECT * FROM %s WHERE a = ? AND b > ?  AND (c, d) IN ((?, ?))", 0, 0, 0, 0)
    t.invalid('Clustering column "c" cannot be restricted (preceding column "b" is restricted by a non-EQ relation)',
              "SELECT * FROM %s WHERE a = ? AND b > ?  AND (c, d) > (?, ?)", 0, 0, 0, 0)
    t.invalid('PRIMARY KEY column "c" cannot be restricted (preceding column "b" is restricted by a non-EQ relation)',
              "SELECT * FROM %s WHERE a = ? AND (c, d) > (?, ?) AND b > ?  ", 0, 0, 0, 0)
    two_tuples = 'Column "c" cannot be restricted by two tuple-notation inequalities not starting with the same column'
    t.invalid(two_tuples,
              "SELECT * FROM %s WHERE a = ? AND (b, c) > (?, ?) AND (b) < (?) AND (c) < (?)", 0, 0, 0, 0, 0)
    t.invalid(two_tuples,
              "SELECT * FROM %s WHERE a = ? AND (c) < (?) AND (b, c) > (?, ?) AND (b) < (?)", 0, 0, 0, 0, 0)
    t.invalid('Clustering column "c" cannot be restricted (preceding column "b" is restricted by a non-EQ relation)',
              "SELECT * FROM %s WHERE a = ? AND (b) < (?) AND (c) < (?) AND (b, c) > (?, ?)", 0, 0, 0, 0, 0)
    t.invalid(two_tuples, "SELECT * FROM %s WHERE a = ? AND (b, c) > (?, ?) AND (c) < (?)", 0, 0, 0, 0)


def test_multi_and_single_column_relation_mix(t):
    t.create_table(ABCD)
    fill_abcd(t)
    q = "SELECT * FROM %s WHERE "
    assert t.rows(q + "a = ? and b = ? and (c, d) = (?, ?)", 0, 1, 0, 0) == [(0, 1, 0, 0)]
    assert t.rows(q + "a = ? and b IN (?, ?) and (c, d) = (?, ?)", 0, 0, 1, 0, 0) == [
        (0, 0, 0, 0), (0, 1, 0, 0)]
    assert t.rows(q + "a = ? and b = ? and (c) IN ((?))", 0, 1, 0) == [(0, 1, 0, 0)]
    assert t.rows(q + "a = ? and b IN (?, ?) and (c) IN ((?))", 0, 0, 1, 0) == [
        (0, 0, 0, 0), (0, 1, 0, 0)]
    assert t.rows(q + "a = ? and b = ? and (c) IN ((?), (?))", 0, 1, 0, 1) == [
        (0, 1, 0, 0), (0, 1, 1, 0), (0, 1, 1, 1)]
    assert t.rows(q + "a = ? and b = ? and (c, d) IN ((?, ?))", 0, 1, 0, 0) == [(0, 1, 0, 0)]
    assert t.rows(q + "a = ? and b = ? and (c, d) IN ((?, ?), (?, ?))", 0, 1, 0, 0, 1, 1) == [
        (0, 1, 0, 0), (0, 1, 1, 1)]
    assert t.rows(q + "a = ? and b IN (?, ?) and (c, d) IN ((?, ?), (?, ?))",
                  0, 0, 1, 0, 0, 1, 1) == [(0, 0, 0, 0), (0, 0, 1, 1), (0, 1, 0, 0), (0, 1, 1, 1)]
    assert t.rows(q + "a = ? and b = ? and (c, d) > (?, ?)", 0, 1, 0, 0) == [
        (0, 1, 1, 0), (0, 1, 1, 1)]
    assert t.rows(q + "a = ? and b IN (?, ?) and (c, d) > (?, ?)", 0, 0, 1, 0, 0) == [
        (0, 0, 1, 0), (0, 0, 1, 1), (0, 1, 1, 0), (0, 1, 1, 1)]
    assert t.rows(q + "a = ? and b = ? and (c, d) > (?, ?) and (c) <= (?) ", 0, 1, 0, 0, 1) == [
        (0, 1, 1, 0), (0, 1, 1, 1)]
    assert t.rows(q + "a = ? and b = ? and (c, d) >= (?, ?) and (c, d) < (?, ?)",
                  0, 1, 0, 0, 1, 1) == [(0, 1, 0, 0), (0, 1, 1, 0)]
    assert t.rows(q + "a = ? and (b, c) = (?, ?) and d = ?", 0, 0, 1, 0) == [(0, 0, 1, 0)]
    assert t.rows(q + "a = ? and (b, c) IN ((?, ?), (?, ?)) and d = ?", 0, 0, 1, 0, 0, 0) == [
        (0, 0, 0, 0), (0, 0, 1, 0)]
    assert t.rows(q + "a = ? and b = ? and (c) = (?) and d = ?", 0, 0, 1, 0) == [(0, 0, 1, 0)]
    assert t.rows(q + "a = ? and (b, c) = (?, ?) and d IN (?, ?)", 0, 0, 1, 0, 2) == [(0, 0, 1, 0)]
    assert t.rows(q + "a = ? and b = ? and (c) = (?) and d IN (?, ?)", 0, 0, 1, 0, 2) == [
        (0, 0, 1, 0)]
    assert t.rows(q + "a = ? and (b, c) = (?, ?) and d >= ?", 0, 0, 1, 0) == [
        (0, 0, 1, 0), (0, 0, 1, 1)]
    assert t.rows(q + "a = ? and d < 1 and (b, c) = (?, ?) and d >= ?", 0, 0, 1, 0) == [
        (0, 0, 1, 0)]
    assert t.rows(q + "a = ? and d < 1 and (b, c) IN ((?, ?), (?, ?)) and d >= ?",
                  0, 0, 1, 0, 0, 0) == [(0, 0, 0, 0), (0, 0, 1, 0)]


def test_several_multi_column_relation(t):
    t.create_table(ABCD)
    fill_abcd(t)
    q = "SELECT * FROM %s WHERE "
    assert t.rows(q + "a = ? and (b) = (?) and (c, d) = (?, ?)", 0, 1, 0, 0) == [(0, 1, 0, 0)]
    assert t.rows(q + "a = ? and (b) IN ((?), (?)) and (c, d) = (?, ?)", 0, 0, 1, 0, 0) == [
        (0, 0, 0, 0), (0, 1, 0, 0)]
    assert t.rows(q + "a = ? and (b) = (?) and (c) IN ((?))", 0, 1, 0) == [(0, 1, 0, 0)]
    assert t.rows(q + "a = ? and (b) IN ((?),(?)) and (c) IN ((?))", 0, 0, 1, 0) == [
        (0, 0, 0, 0), (0, 1, 0, 0)]
    assert t.rows(q + "a = ? and (b) = (?) and (c) IN ((?), (?))", 0, 1, 0, 1) == [
        (0, 1, 0, 0), (0, 1, 1, 0), (0, 1, 1, 1)]
    assert t.rows(q + "a = ? and (b) = (?) and (c, d) IN ((?, ?), (?, ?))", 0, 1, 0, 0, 1, 1) == [
        (0, 1, 0, 0), (0, 1, 1, 1)]
    assert t.rows(q + "a = ? and (b) IN ((?), (?)) and (c, d) IN ((?, ?), (?, ?))",
                  0, 0, 1, 0, 0, 1, 1) == [(0, 0, 0, 0), (0, 0, 1, 1), (0, 1, 0, 0), (0, 1, 1, 1)]
    assert t.rows(q + "a = ? and (b) IN ((?),(?)) and (c, d) > (?, ?)", 0, 0, 1, 0, 0) == [
        (0, 0, 1, 0), (0, 0, 1, 1), (0, 1, 1, 0), (0, 1, 1, 1)]
    assert t.rows(q + "a = ? and (b) = (?) and (c, d) > (?, ?) and (c) <= (?) ", 0, 1, 0, 0, 1) == [
        (0, 1, 1, 0), (0, 1, 1, 1)]
    assert t.rows(q + "a = ? and (b) = (?) and (c, d) >= (?, ?) and (c, d) < (?, ?)",
                  0, 1, 0, 0, 1, 1) == [(0, 1, 0, 0), (0, 1, 1, 0)]
    assert t.rows(q + "a = ? and (d) < (1) and (b, c) = (?, ?) and (d) >= (?)", 0, 0, 1, 0) == [
        (0, 0, 1, 0)]
    assert t.rows(q + "a = ? and (d) < (1) and (b, c) IN ((?, ?), (?, ?)) and (d) >= (?)",
                  0, 0, 1, 0, 0, 0) == [(0, 0, 0, 0), (0, 0, 1, 0)]


def test_single_partition_invalid_queries(t):
    t.create_table("CREATE TABLE %s (a int PRIMARY KEY, b int)")
    t.invalid("Multi-column relations can only be applied to clustering columns but was applied to: a",
              "SELECT * FROM %s WHERE (a) > (?)", 0)
    t.invalid("Multi-column relations can only be applied to clustering columns but was applied to: a",
              "SELECT * FROM %s WHERE (a) = (?)", 0)
    t.invalid("Multi-column relations can only be applied to clustering columns but was applied to: b",
              "SELECT * FROM %s WHERE (b) = (?)", 0)


def test_single_clustering(t):
    t.create_table("CREATE TABLE %s (a int, b int, c int, PRIMARY KEY (a, b))")
    for b in range(3):
        t.execute("INSERT INTO %s (a, b, c) VALUES (?, ?, ?)", 0, b, 0)
    q = "SELECT * FROM %s WHERE a = ? AND "
    assert t.rows(q + "(b) = (?)", 0, 1) == [(0, 1, 0)]
    assert t.rows(q + "(b) = ?", 0, (1,)) == [(0, 1, 0)]
    assert t.rows(q + "(b) = (?)", 0, 3) == []
    assert t.rows(q + "(b) > (?)", 0, 0) == [(0, 1, 0), (0, 2, 0)]
    assert t.rows(q + "(b) >= (?)", 0, 1) == [(0, 1, 0), (0, 2, 0)]
    assert t.rows(q + "(b) < (?)", 0, 2) == [(0, 0, 0), (0, 1, 0)]
    assert t.rows(q + "(b) <= (?)", 0, 1) == [(0, 0, 0), (0, 1, 0)]
    assert t.rows(q + "(b) > (?) AND (b) < (?)", 0, 0, 2) == [(0, 1, 0)]


def test_non_equals_relation(t):
    t.create_table("CREATE TABLE %s (a int PRIMARY KEY, b int)")
    t.invalid('Unsupported "!=" relation: (b) != (0)', "SELECT * FROM %s WHERE a = 0 AND (b) != (0)")


def test_multiple_clustering(t):
    t.create_table(ABCD)
    fill_abcd(t)
    q = "SELECT * FROM %s WHERE a = ? AND "
    desc = " ORDER BY b DESC, c DESC, d DESC"
    all_rows = [(0, 0, 0, 0), (0, 0, 1, 0), (0, 0, 1, 1), (0, 1, 0, 0), (0, 1, 1, 0), (0, 1, 1, 1)]
    assert t.rows("SELECT * FROM %s WHERE a = 0 AND (b, c, d) IN ()") == []
    assert t.rows(q + "(b) = (?)", 0, 1) == all_rows[3:]
    assert t.rows(q + "(b) = ?", 0, (1,)) == all_rows[3:]
    assert t.rows(q + "(b, c) = (?, ?)", 0, 1, 1) == all_rows[4:]
    assert t.rows(q + "(b, c) = ?", 0, (1, 1)) == all_rows[4:]
    assert t.rows(q + "(b, c, d) = (?, ?, ?)", 0, 1, 1, 1) == all_rows[5:]
    assert t.rows(q + "(b, c, d) = ?", 0, (1, 1, 1)) == all_rows[5:]
    assert t.rows(q + "(b) > (?)", 0, 0) == all_rows[3:]
    assert t.rows(q + "(b) >= (?)", 0, 0) == all_rows
    assert t.rows(q + "(b, c) > (?, ?)", 0, 1, 0) == all_rows[4:]
    assert t.rows(q + "(b, c) >= (?, ?)", 0, 1, 0) == all_rows[3:]
    assert t.rows(q + "(b, c, d) > (?, ?, ?)", 0, 1, 1, 0) == all_rows[5:]
    assert t.rows(q + "(b, c, d) >= (?, ?, ?)", 0, 1, 1, 0) == all_rows[4:]
    assert t.rows(q + "(b) < (?)", 0, 1) == all_rows[:3]
    assert t.rows(q + "(b) <= (?)", 0, 1) == all_rows
    assert t.rows(q + "(b, c) < (?, ?)", 0, 0, 1) == all_rows[:1]
    assert t.rows(q + "(b, c) <= (?, ?)", 0, 0, 1) == all_rows[:3]
    assert t.rows(q + "(b, c, d) < (?, ?, ?)", 0, 0, 1, 1) == all_rows[:2]
    assert t.rows(q + "(b, c, d) <= (?, ?, ?)", 0, 0, 1, 1) == all_rows[:3]
    assert t.rows(q + "(b, c, d) > (?, ?, ?) AND (b) < (?)", 0, 0, 1, 0, 1) == [(0, 0, 1, 1)]
    assert t.rows(q + "(b, c, d) > (?, ?, ?) AND (b, c) < (?, ?)", 0, 0, 1, 1, 1, 1) == [
        (0, 1, 0, 0)]
    assert t.rows(q + "(b, c, d) > (?, ?, ?) AND (b, c, d) < (?, ?, ?)",
                  0, 0, 1, 1, 1, 1, 0) == [(0, 1, 0, 0)]
    assert t.rows(q + "(b, c, d) > ? AND (b, c, d) < ?", 0, (0, 1, 1), (1, 1, 0)) == [(0, 1, 0, 0)]
    # reversed
    rev = all_rows[::-1]
    assert t.rows(q + "(b) > (?)" + desc, 0, 0) == rev[:3]
    assert t.rows(q + "(b) >= (?)" + desc, 0, 0) == rev
    assert t.rows(q + "(b, c) > (?, ?)" + desc, 0, 1, 0) == rev[:2]
    assert t.rows(q + "(b, c) >= (?, ?)" + desc, 0, 1, 0) == rev[:3]
    assert t.rows(q + "(b, c, d) > (?, ?, ?)" + desc, 0, 1, 1, 0) == rev[:1]
    assert t.rows(q + "(b, c, d) >= (?, ?, ?)" + desc, 0, 1, 1, 0) == rev[:2]
    assert t.rows(q + "(b) < (?)" + desc, 0, 1) == rev[3:]
    assert t.rows(q + "(b) <= (?)" + desc, 0, 1) == rev
    assert t.rows(q + "(b, c) < (?, ?)" + desc, 0, 0, 1) == rev[5:]
    assert t.rows(q + "(b, c) <= (?, ?)" + desc, 0, 0, 1) == rev[3:]
    assert t.rows(q + "(b, c, d) < (?, ?, ?)" + desc, 0, 0, 1, 1) == rev[4:]
    assert t.rows(q + "(b, c, d) <= (?, ?, ?)" + desc, 0, 0, 1, 1) == rev[3:]
    assert t.rows(q + "(b, c, d) > (?, ?, ?) AND (b) < (?)" + desc, 0, 0, 1, 0, 1) == [
        (0, 0, 1, 1)]
    assert t.rows(q + "(b, c, d) > (?, ?, ?) AND (b, c) < (?, ?)" + desc,
                  0, 0, 1, 1, 1, 1) == [(0, 1, 0, 0)]
    # IN
    in_rows = [(0, 0, 1, 0), (0, 0, 1, 1)]
    assert t.rows(q + "(b, c, d) IN ((?, ?, ?), (?, ?, ?))", 0, 0, 1, 0, 0, 1, 1) == in_rows
    assert t.rows(q + "(b, c, d) IN (?, ?)", 0, (0, 1, 0), (0, 1, 1)) == in_rows
    assert t.rows(q + "(b, c, d) IN ?", 0, [(0, 1, 0), (0, 1, 1)]) == in_rows
    assert t.rows(q + "(b, c, d) IN (?, ?)", 0, (0, 1, 1), (0, 1, 0)) == in_rows
    assert t.rows("SELECT * FROM %s WHERE a = ? and (b, c) IN ((?, ?))", 0, 0, 1) == in_rows
    assert t.rows("SELECT * FROM %s WHERE a = ? and (b) IN ((?))", 0, 0) == all_rows[:3]
    assert t.rows("SELECT * FROM %s WHERE a = ? and (b) IN ()", 0) == []
    assert t.rows(q + "(b, c) IN ((?, ?))" + desc, 0, 0, 1) == in_rows[::-1]
    assert t.rows(q + "(b, c) IN ()" + desc, 0) == []
    # IN on both partition key and clustering key
    fill_abcd(t, [(1, 0, 0, 0), (1, 0, 1, 0), (1, 0, 1, 1)])
    both = [(0, 0, 1, 0), (0, 0, 1, 1), (1, 0, 1, 0), (1, 0, 1, 1)]
    assert t.rows("SELECT * FROM %s WHERE a IN (?, ?) AND (b, c, d) IN (?, ?)",
                  0, 1, (0, 1, 0), (0, 1, 1)) == both
    assert t.rows("SELECT * FROM %s WHERE a IN ? AND (b, c, d) IN ?",
                  [0, 1], [(0, 1, 0), (0, 1, 1)]) == both
    assert t.rows("SELECT * FROM %s WHERE a IN (?, ?) AND (b, c, d) IN (?, ?)",
                  1, 0, (0, 1, 1), (0, 1, 0)) == both
    assert t.rows("SELECT * FROM %s WHERE a IN (?, ?) and (b, c) IN ((?, ?))", 0, 1, 0, 1) == both
    assert t.rows("SELECT * FROM %s WHERE a IN (?, ?) and (b) IN ((?))", 0, 1, 0) == [
        (0, 0, 0, 0), (0, 0, 1, 0), (0, 0, 1, 1), (1, 0, 0, 0), (1, 0, 1, 0), (1, 0, 1, 1)]


def test_multiple_clustering_reversed_components(t):
    t.create_table(ABCD + " WITH CLUSTERING ORDER BY (b DESC, c ASC, d DESC)")
    fill_abcd(t, [(0, 1, 0, 0), (0, 1, 1, 1), (0, 1, 1, 0), (0, 0, 0, 0), (0, 0, 1, 1), (0, 0, 1, 0)])
    stored = [(0, 1, 0, 0), (0, 1, 1, 1), (0, 1, 1, 0), (0, 0, 0, 0), (0, 0, 1, 1), (0, 0, 1, 0)]
    q = "SELECT * FROM %s WHERE a = ? AND "
    assert t.rows(q + "(b) > (?)", 0, 0) == stored[:3]
    assert t.rows(q + "(b) >= (?)", 0, 0) == stored
    assert t.rows(q + "(b) < (?)", 0, 1) == stored[3:]
    assert t.rows(q + "(b) <= (?)", 0, 1) == stored
    assert t.rows("SELECT * FROM %s WHERE a=? AND (b, c, d) IN ((?, ?, ?), (?, ?, ?))",
                  0, 1, 1, 1, 0, 1, 1) == [(0, 1, 1, 1), (0, 0, 1, 1)]
    assert t.rows("SELECT * FROM %s WHERE a=? AND (b, c, d) IN ((?, ?, ?), (?, ?, ?))",
                  0, 0, 1, 1, 1, 1, 1) == [(0, 1, 1, 1), (0, 0, 1, 1)]
    assert t.rows(q + "(b, c, d) IN (?, ?, ?, ?, ?, ?)", 0,
                  (1, 0, 0), (1, 1, 1), (1, 1, 0), (0, 0, 0), (0, 1, 1), (0, 1, 0)) == stored
    assert t.rows(q + "(b, c) IN (?)", 0, (0, 1)) == [(0, 0, 1, 1), (0, 0, 1, 0)]
    assert t.rows(q + "(b, c) IN (?)", 0, (0, 0)) == [(0, 0, 0, 0)]
    assert t.rows(q + "(b) IN ((?))", 0, 0) == stored[3:]
    # Tuple slices over clustering columns of mixed orders compare as tuples (CASSANDRA-7281).
    assert t.rows(q + "(b, c) > (?, ?)", 0, 1, 0) == [(0, 1, 1, 1), (0, 1, 1, 0)]


def test_multiple_clustering_with_index(t):
    t.create_table("CREATE TABLE %s (a int, b int, c int, d int, e int, PRIMARY KEY (a, b, c, d))")
    t.create_index("CREATE INDEX ON %s (b)")
    t.create_index("CREATE INDEX ON %s (e)")
    for row in [(0, 0, 0, 0, 0), (0, 0, 1, 0, 1), (0, 0, 1, 1, 2), (0, 1, 0, 0, 0),
                (0, 1, 1, 0, 1), (0, 1, 1, 1, 2), (0, 2, 0, 0, 0)]:
        t.execute("INSERT INTO %s (a, b, c, d, e) VALUES (?, ?, ?, ?, ?)", *row)
    assert t.rows("SELECT * FROM %s WHERE (b) = (?)", 1) == [
        (0, 1, 0, 0, 0), (0, 1, 1, 0, 1), (0, 1, 1, 1, 2)]
    cases = [
        ("(b, c) = (?, ?)", (1, 1), [(0, 1, 1, 0, 1), (0, 1, 1, 1, 2)]),
        ("(b, c) = (?, ?) AND e = ?", (1, 1, 2), [(0, 1, 1, 1, 2)]),
        ("(b) IN ((?)) AND e = ?", (1, 2), [(0, 1, 1, 1, 2)]),
        ("(b) IN ((?), (?)) AND e = ?", (0, 1, 2), [(0, 0, 1, 1, 2), (0, 1, 1, 1, 2)]),
        ("(b, c) IN ((?, ?)) AND e = ?", (0, 1, 2), [(0, 0, 1, 1, 2)]),
        ("(b, c) IN ((?, ?), (?, ?)) AND e = ?", (0, 1, 1, 1, 2), [(0, 0, 1, 1, 2), (0, 1, 1, 1, 2)]),
        ("(b) >= (?) AND e = ?", (1, 2), [(0, 1, 1, 1, 2)]),
        ("(b, c) >= (?, ?) AND e = ?", (1, 1, 2), [(0, 1, 1, 1, 2)]),
    ]
    for where, values, expected in cases:
        t.filtering_required("SELECT * FROM %s WHERE " + where, *values)
        assert t.rows("SELECT * FROM %s WHERE " + where + " ALLOW FILTERING", *values) == expected, where


def test_multiple_partition_key_and_multi_clustering_with_index(t):
    t.create_table("CREATE TABLE %s (a int, b int, c int, d int, e int, f int, "
                   "PRIMARY KEY ((a, b), c, d, e))")
    t.create_index("CREATE INDEX ON %s (c)")
    t.create_index("CREATE INDEX ON %s (f)")
    for row in [(0, 0, 0, 0, 0, 0), (0, 0, 0, 1, 0, 1), (0, 0, 0, 1, 1, 2), (0, 0, 1, 0, 0, 3),
                (0, 0, 1, 1, 0, 4), (0, 0, 1, 1, 1, 5), (0, 0, 2, 0, 0, 5)]:
        t.execute("INSERT INTO %s (a, b, c, d, e, f) VALUES (?, ?, ?, ?, ?, ?)", *row)
    t.filtering_required("SELECT * FROM %s WHERE a = 0 AND (c) = (1)")
    assert t.rows("SELECT * FROM %s WHERE a = ? AND (c) = (?) ALLOW FILTERING", 0, 1) == [
        (0, 0, 1, 0, 0, 3), (0, 0, 1, 1, 0, 4), (0, 0, 1, 1, 1, 5)]
    t.filtering_required("SELECT * FROM %s WHERE a = ? AND (c, d) = (?, ?)", 0, 1, 1)
    assert t.rows("SELECT * FROM %s WHERE a = ? AND (c, d) = (?, ?) ALLOW FILTERING", 0, 1, 1) == [
        (0, 0, 1, 1, 0, 4), (0, 0, 1, 1, 1, 5)]
    assert t.rows("SELECT * FROM %s WHERE a = ? AND (c, d) IN ((?, ?)) ALLOW FILTERING", 0, 1, 1) == [
        (0, 0, 1, 1, 0, 4), (0, 0, 1, 1, 1, 5)]
    assert t.rows("SELECT * FROM %s WHERE a = ? AND (c, d) >= (?, ?) ALLOW FILTERING", 0, 1, 1) == [
        (0, 0, 1, 1, 0, 4), (0, 0, 1, 1, 1, 5), (0, 0, 2, 0, 0, 5)]
    cases = [
        ("(c) IN ((?)) AND f = ?", (0, 1, 5), [(0, 0, 1, 1, 1, 5)]),
        ("(c) IN ((?), (?)) AND f = ?", (0, 1, 2, 5), [(0, 0, 1, 1, 1, 5), (0, 0, 2, 0, 0, 5)]),
        ("(c, d) IN ((?, ?)) AND f = ?", (0, 1, 0, 3), [(0, 0, 1, 0, 0, 3)]),
        ("(c) >= (?) AND f = ?", (0, 1, 5), [(0, 0, 1, 1, 1, 5), (0, 0, 2, 0, 0, 5)]),
        ("(c, d) >= (?, ?) AND f = ?", (0, 1, 1, 5), [(0, 0, 1, 1, 1, 5), (0, 0, 2, 0, 0, 5)]),
    ]
    for where, values, expected in cases:
        query = "SELECT * FROM %s WHERE a = ? AND " + where
        t.filtering_required(query, *values)
        assert t.rows(query + " ALLOW FILTERING", *values) == expected, where


def test_in_with_duplicate_value(t):
    t.create_table("CREATE TABLE %s (k1 int, k2 int, v int, PRIMARY KEY (k1, k2))")
    t.execute("INSERT INTO %s (k1,  k2, v) VALUES (?, ?, ?)", 1, 1, 1)
    assert t.rows("SELECT * FROM %s WHERE k1 IN (?, ?) AND (k2) IN ((?), (?))", 1, 1, 1, 2) == [
        (1, 1, 1)]
    assert t.rows("SELECT * FROM %s WHERE k1 = ? AND (k2) IN ((?), (?))", 1, 1, 1) == [(1, 1, 1)]


def test_with_unset_values(t):
    t.create_table("CREATE TABLE %s (k int, i int, j int, s text, PRIMARY KEY(k,i,j))")
    t.create_index("CREATE INDEX ON %s (s)")
    t.invalid("Invalid unset value for tuple field number 0",
              "SELECT * from %s WHERE (i, j) = (?,?) ALLOW FILTERING", UNSET, 1)
    t.invalid("Invalid unset value for tuple field number 0",
              "SELECT * from %s WHERE (i, j) IN ((?,?)) ALLOW FILTERING", UNSET, 1)
    t.invalid("Invalid unset value for tuple field number 1",
              "SELECT * from %s WHERE (i, j) > (1,?) ALLOW FILTERING", UNSET)
    t.invalid("Invalid unset value for tuple (i,j)",
              "SELECT * from %s WHERE (i, j) = ? ALLOW FILTERING", UNSET)
    t.invalid("Invalid unset value for tuple (j)",
              "SELECT * from %s WHERE i = ? AND (j) > ? ALLOW FILTERING", 1, UNSET)
    t.invalid("Invalid unset value for tuple (i,j)",
              "SELECT * from %s WHERE (i, j) IN (?, ?) ALLOW FILTERING", UNSET, (1, 1))
    t.invalid("Invalid unset value for in(i,j)",
              "SELECT * from %s WHERE (i, j) IN ? ALLOW FILTERING", UNSET)


def test_simple_tuple_query(t):
    t.create_table("create table %s (a int, b int, c int, d int , e int, PRIMARY KEY (a, b, c, d, e))")
    for row in ["0, 2, 0, 0, 0", "0, 1, 0, 0, 0", "0, 0, 0, 0, 0", "0, 0, 1, 1, 1", "0, 0, 2, 2, 2",
                "0, 0, 3, 3, 3", "0, 0, 1, 1, 1"]:
        t.execute(f"INSERT INTO %s (a, b, c, d, e) VALUES ({row})")
    assert t.rows("SELECT * FROM %s WHERE b=0 AND (c, d, e) > (1, 1, 1) ALLOW FILTERING") == [
        (0, 0, 2, 2, 2), (0, 0, 3, 3, 3)]


def test_literal_tuples_without_bind_markers(t):
    """The same relations written as literals (CQLTester binds; drivers often inline)."""
    t.create_table(ABCD)
    fill_abcd(t)
    assert t.rows("SELECT * FROM %s WHERE a = 0 AND (b, c) > (0, 1)") == [
        (0, 1, 0, 0), (0, 1, 1, 0), (0, 1, 1, 1)]
    assert t.rows("SELECT * FROM %s WHERE a = 0 AND (b, c, d) IN ((0, 1, 1), (1, 0, 0))") == [
        (0, 0, 1, 1), (0, 1, 0, 0)]
    assert t.rows("SELECT * FROM %s WHERE a = 0 AND (b, c) >= (0, 1) AND (b, c) < (1, 1)") == [
        (0, 0, 1, 0), (0, 0, 1, 1), (0, 1, 0, 0)]
    assert t.rows("SELECT * FROM %s WHERE a = 0 AND b = 1 AND (c, d) <= (1, 0)") == [
        (0, 1, 0, 0), (0, 1, 1, 0)]


def test_mixed_order_columns(t):
    """Cassandra's testMixedOrderColumns1 (first queries): tuple slices over DESC/ASC columns."""
    t.create_table("CREATE TABLE %s (a int, b int, c int, d int, e int, PRIMARY KEY (a, b, c, d, e)) WITH "
                   "CLUSTERING ORDER BY (b DESC, c ASC, d DESC, e ASC)")
    rows = [(0, 2, 0, -1, 0), (0, 2, 0, -1, 1), (0, 2, 0, 1, 1), (0, 1, -1, 0, 0), (0, 1, -1, 1, 1),
            (0, 1, -1, 1, 0), (0, 1, 0, 1, -1), (0, 1, 0, 1, 1), (0, 1, 0, 0, -1), (0, 1, 0, 0, 0),
            (0, 1, 0, 0, 1), (0, 1, 0, -1, -1), (0, 1, 1, 0, -1), (0, 1, 1, 0, 0), (0, 1, 1, 0, 1),
            (0, 1, 1, -1, 0), (0, 0, 0, 0, 0), (0, -1, 0, -1, 0), (0, -1, 0, 0, 0)]
    for row in rows:
        t.execute("INSERT INTO %s (a, b, c, d, e) VALUES (?, ?, ?, ?, ?)", *row)
    from_b1 = [(0, 1, -1, 1, 0), (0, 1, -1, 1, 1), (0, 1, -1, 0, 0), (0, 1, 0, 1, -1), (0, 1, 0, 1, 1),
               (0, 1, 0, 0, -1), (0, 1, 0, 0, 0), (0, 1, 0, 0, 1), (0, 1, 0, -1, -1), (0, 1, 1, 0, -1),
               (0, 1, 1, 0, 0), (0, 1, 1, 0, 1), (0, 1, 1, -1, 0)]
    top = [(0, 2, 0, 1, 1), (0, 2, 0, -1, 0), (0, 2, 0, -1, 1)]
    q = "SELECT * FROM %s WHERE a = ? AND "
    assert t.rows(q + "(b,c,d,e)<=(?,?,?,?) AND (b)>(?)", 0, 2, 0, 1, 1, -1) == top + from_b1 + [(0, 0, 0, 0, 0)]
    assert t.rows(q + "(b,c,d,e)<=(?,?,?,?) AND (b)>=(?)", 0, 2, 0, 1, 1, -1) == (
        top + from_b1 + [(0, 0, 0, 0, 0), (0, -1, 0, 0, 0), (0, -1, 0, -1, 0)])
    assert t.rows(q + "(b,c,d)>=(?,?,?) AND (b,c,d,e)<(?,?,?,?)", 0, 1, 1, 0, 1, 1, 0, 1) == [
        (0, 1, 1, 0, -1), (0, 1, 1, 0, 0)]
    assert t.rows(q + "(b,c,d,e) < (?,?,?,?) AND (b,c,d,e)>(?,?,?,?)", 0, 1, 0, 0, 0, 1, 0, -1, -1) == [
        (0, 1, 0, 0, -1)]
    assert t.rows(q + "(b)<(?) AND (b,c,d,e)>(?,?,?,?)", 0, 2, -1, 0, -1, -1) == (
        from_b1 + [(0, 0, 0, 0, 0), (0, -1, 0, 0, 0), (0, -1, 0, -1, 0)])
    assert t.rows(q + "(b)<(?) AND (b)>(?)", 0, 2, -1) == from_b1 + [(0, 0, 0, 0, 0)]
