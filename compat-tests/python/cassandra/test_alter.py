"""ALTER TABLE / ALTER KEYSPACE: dropping and re-adding columns, option validation, after
Cassandra's cql3/validation/operations/AlterTest."""

import pytest
from cassandra.protocol import ConfigurationException

from cql3_tester import CQLTester


def test_non_frozen_collections_are_incompatible_with_blob(t):
    for collection in ("map<int, int>", "set<int>", "list<int>"):
        t.create_table(f"CREATE TABLE %s (a int, b {collection}, PRIMARY KEY (a))")
        t.execute("ALTER TABLE %s DROP b")
        t.invalid(f"Cannot re-add previously dropped column 'b' of type blob, incompatible with "
                  f"previous type {collection}", "ALTER TABLE %s ADD b blob")
    for collection in ("map<int, int>", "set<int>", "list<int>"):
        t.create_table("CREATE TABLE %s (a int, b blob, PRIMARY KEY (a))")
        t.execute("ALTER TABLE %s DROP b")
        t.invalid(f"Cannot re-add previously dropped column 'b' of type {collection}, incompatible "
                  f"with previous type blob", f"ALTER TABLE %s ADD b {collection}")


def test_frozen_collections_are_compatible_with_blob(t):
    for collection in ("frozen<map<int, int>>", "frozen<set<int>>", "frozen<list<int>>"):
        t.create_table(f"CREATE TABLE %s (a int, b {collection}, PRIMARY KEY (a))")
        t.execute("ALTER TABLE %s DROP b")
        t.execute("ALTER TABLE %s ADD b blob")


def test_add_and_drop_collections(t):
    t.create_table("CREATE TABLE %s (id text PRIMARY KEY, content text)")
    t.execute("ALTER TABLE %s ADD myCollection list<text>")
    t.execute("INSERT INTO %s (id, content , myCollection) VALUES ('test', 'first test', ['first element'])")
    assert t.rows("SELECT * FROM %s") == [("test", "first test", ["first element"])]
    t.execute("ALTER TABLE %s DROP myCollection")
    assert t.rows("SELECT * FROM %s") == [("test", "first test")]
    t.execute("ALTER TABLE %s ADD m map<text, text>")
    t.execute("INSERT INTO %s (id, content , m) VALUES ('test', 'first test', { '1' : 'first element'})")
    assert t.rows("SELECT * FROM %s") == [("test", "first test", {"1": "first element"})]


def test_drop_list_and_add_list_with_same_name(t):
    t.create_table("CREATE TABLE %s (id text PRIMARY KEY, content text, myCollection list<text>)")
    t.execute("INSERT INTO %s (id, content , myCollection) VALUES ('test', 'first test', ['first element'])")
    t.execute("ALTER TABLE %s DROP myCollection")
    t.execute("ALTER TABLE %s ADD myCollection list<text>")
    assert t.rows("SELECT * FROM %s") == [("test", "first test", None)]
    t.execute("UPDATE %s set myCollection = ['second element'] WHERE id = 'test'")
    assert t.rows("SELECT * FROM %s") == [("test", "first test", ["second element"])]


def test_drop_list_and_add_map_with_same_name(t):
    t.create_table("CREATE TABLE %s (id text PRIMARY KEY, content text, myCollection list<text>)")
    t.execute("ALTER TABLE %s DROP myCollection")
    t.invalid("Cannot re-add previously dropped column 'mycollection' of type map<int, int>, "
              "incompatible with previous type list<text>", "ALTER TABLE %s ADD myCollection map<int, int>")


def test_drop_with_timestamp(t):
    t.create_table("CREATE TABLE %s (id int, c1 int, v1 int, todrop int, PRIMARY KEY (id, c1))")
    for i in range(5):
        t.execute("INSERT INTO %s (id, c1, v1, todrop) VALUES (?, ?, ?, ?) USING TIMESTAMP ?", 1, i, i, i, 10000 * i)
    t.execute("ALTER TABLE %s DROP todrop USING TIMESTAMP 20000")
    t.execute("ALTER TABLE %s ADD todrop int")
    t.execute("INSERT INTO %s (id, c1, v1, todrop) VALUES (?, ?, ?, ?) USING TIMESTAMP ?", 1, 100, 100, 100, 30000)
    assert t.rows("SELECT id, c1, v1, todrop FROM %s") == [
        (1, 0, 0, None), (1, 1, 1, None), (1, 2, 2, None), (1, 3, 3, 3), (1, 4, 4, 4), (1, 100, 100, 100)]


def test_drop_add_with_different_kind(t):
    t.create_table("CREATE TABLE %s (a int, b int, c int, d int static, PRIMARY KEY (a, b))")
    t.execute("ALTER TABLE %s DROP c")
    t.execute("ALTER TABLE %s DROP d")
    t.invalid("Cannot re-add previously dropped column 'c' of kind STATIC, incompatible with previous kind REGULAR",
              "ALTER TABLE %s ADD c int static")
    t.invalid("Cannot re-add previously dropped column 'd' of kind REGULAR, incompatible with previous kind STATIC",
              "ALTER TABLE %s ADD d int")


def test_drop_static_with_timestamp(t):
    t.create_table("CREATE TABLE %s (id int, c1 int, v1 int, todrop int static, PRIMARY KEY (id, c1))")
    for i in range(5):
        t.execute("INSERT INTO %s (id, c1, v1, todrop) VALUES (?, ?, ?, ?) USING TIMESTAMP ?", 1, i, i, i, 10000 * i)
    t.execute("ALTER TABLE %s DROP todrop USING TIMESTAMP 20000")
    t.execute("ALTER TABLE %s ADD todrop int static")
    t.execute("INSERT INTO %s (id, c1, v1, todrop) VALUES (?, ?, ?, ?) USING TIMESTAMP ?", 1, 100, 100, 100, 30000)
    assert t.rows("SELECT id, c1, v1, todrop FROM %s") == [
        (1, 0, 0, 4), (1, 1, 1, 4), (1, 2, 2, 4), (1, 3, 3, 4), (1, 4, 4, 4), (1, 100, 100, 4)]


def test_drop_multiple_with_timestamp(t):
    t.create_table("CREATE TABLE %s (id int, c1 int, v1 int, todrop1 int, todrop2 int, PRIMARY KEY (id, c1))")
    for i in range(5):
        t.execute("INSERT INTO %s (id, c1, v1, todrop1, todrop2) VALUES (?, ?, ?, ?, ?) USING TIMESTAMP ?",
                  1, i, i, i, i, 10000 * i)
    t.execute("ALTER TABLE %s DROP (todrop1, todrop2) USING TIMESTAMP 20000")
    t.execute("ALTER TABLE %s ADD todrop1 int")
    t.execute("ALTER TABLE %s ADD todrop2 int")
    t.execute("INSERT INTO %s (id, c1, v1, todrop1, todrop2) VALUES (?, ?, ?, ?, ?) USING TIMESTAMP ?",
              1, 100, 100, 100, 100, 40000)
    assert t.rows("SELECT id, c1, v1, todrop1, todrop2 FROM %s") == [
        (1, 0, 0, None, None), (1, 1, 1, None, None), (1, 2, 2, None, None), (1, 3, 3, 3, 3),
        (1, 4, 4, 4, 4), (1, 100, 100, 100, 100)]


def test_dropped_data_stays_dropped_after_restart_and_compaction(strata_factory):
    """Cassandra's testAlterDropEmptySSTable / testAlterOnlyColumnBehaviorWithFlush: the dropped
    column's cells never come back, through flushes, compaction and a restart."""
    from driver_helpers import connect, create_keyspace
    server = strata_factory.start()
    session = connect(server)
    try:
        create_keyspace(session, "cql3_alter_restart")
        t = CQLTester(session, "cql3_alter_restart")
        t.create_table("CREATE TABLE %s (k int PRIMARY KEY, x int, y int)")
        t.execute("UPDATE %s SET x = 1 WHERE k = 0")
        assert server.nodetool("flush").returncode == 0
        t.execute("UPDATE %s SET x = 1, y = 1 WHERE k = 0")
        t.execute("UPDATE %s SET x = 5 WHERE k = 1")
        assert server.nodetool("flush").returncode == 0
        t.execute("ALTER TABLE %s DROP x")
        assert server.nodetool("compact").returncode == 0
        assert t.rows("SELECT * FROM %s") == [(0, 1)]
        t.execute("ALTER TABLE %s ADD x int")
        assert t.rows("SELECT * FROM %s") == [(0, None, 1)]
    finally:
        session.cluster.shutdown()
    server.restart()
    session = connect(server)
    try:
        t.session = session
        t._prepared.clear()
        assert t.rows("SELECT * FROM %s") == [(0, None, 1)]
    finally:
        session.cluster.shutdown()


def test_alter_only_column_behavior(t):
    t.create_table("CREATE TABLE %s(k int PRIMARY KEY, x int, y int)")
    t.execute("UPDATE %s SET x = 1 WHERE k = 0")
    assert t.rows("SELECT * FROM %s") == [(0, 1, None)]
    t.execute("ALTER TABLE %s DROP x")
    assert t.rows("SELECT * FROM %s") == []


def test_change_strategy_with_unquoted_argument(t):
    t.create_table("CREATE TABLE %s (id text PRIMARY KEY)")
    t.syntax_error("ALTER TABLE %s WITH caching = {'keys' : 'all', 'rows_per_partition' : ALL}")


def test_create_alter_keyspaces(t):
    t.syntax_error("CREATE KEYSPACE ks1")
    with pytest.raises(ConfigurationException):
        t.execute("CREATE KEYSPACE ks1 WITH replication= { 'replication_factor' : 1 }")
    ks1, ks2 = t.keyspace + "_a", t.keyspace + "_b"
    try:
        t.execute(f"CREATE KEYSPACE {ks1} WITH replication={{ 'class' : 'SimpleStrategy', 'replication_factor' : 1 }}")
        t.execute(f"CREATE KEYSPACE {ks2} WITH replication={{ 'class' : 'SimpleStrategy', 'replication_factor' : 1 }} "
                  "AND durable_writes=false")
        query = "SELECT durable_writes, replication FROM system_schema.keyspaces WHERE keyspace_name = ?"
        assert t.rows(query, ks2) == [(False, {"class": "org.apache.cassandra.locator.SimpleStrategy",
                                               "replication_factor": "1"})]
        dc = t.one("SELECT data_center FROM system.local")[0]
        t.execute(f"ALTER KEYSPACE {ks1} WITH replication = {{ 'class' : 'NetworkTopologyStrategy', '{dc}' : 1 }} "
                  "AND durable_writes=False")
        t.execute(f"ALTER KEYSPACE {ks2} WITH durable_writes=true")
        assert t.rows(query, ks1) == [(False, {"class": "org.apache.cassandra.locator.NetworkTopologyStrategy",
                                               dc: "1"})]
        assert t.rows(query, ks2) == [(True, {"class": "org.apache.cassandra.locator.SimpleStrategy",
                                              "replication_factor": "1"})]
        with pytest.raises(ConfigurationException):
            t.execute(f"CREATE TABLE {ks1}.cf1 (a int PRIMARY KEY, b int) WITH compaction = {{ 'min_threshold' : 4 }}")
        t.execute(f"CREATE TABLE {ks1}.cf1 (a int PRIMARY KEY, b int) WITH compaction = "
                  "{ 'class' : 'SizeTieredCompactionStrategy', 'min_threshold' : 7 }")
        assert t.rows("SELECT table_name, compaction FROM system_schema.tables WHERE keyspace_name = ?", ks1) == [
            ("cf1", {"class": "org.apache.cassandra.db.compaction.SizeTieredCompactionStrategy",
                     "min_threshold": "7", "max_threshold": "32"})]
    finally:
        t.execute(f"DROP KEYSPACE IF EXISTS {ks1}")
        t.execute(f"DROP KEYSPACE IF EXISTS {ks2}")


def test_alter_keyspace_with_nts_only_accepts_configured_data_center_names(t):
    ks = t.keyspace + "_nts"
    dc = t.one("SELECT data_center FROM system.local")[0]
    try:
        t.execute(f"CREATE KEYSPACE {ks} WITH replication = {{'class' : 'NetworkTopologyStrategy', '{dc}' : 2 }}")
        t.error(ConfigurationException,
                f"Unrecognized strategy option {{INVALID_DC}} passed to NetworkTopologyStrategy for keyspace {ks}",
                f"ALTER KEYSPACE {ks} WITH replication = {{ 'class' : 'NetworkTopologyStrategy', 'INVALID_DC' : 2 }}")
        t.execute(f"ALTER KEYSPACE {ks} WITH replication = {{'class' : 'NetworkTopologyStrategy', '{dc}' : 3 }}")
        t.error(ConfigurationException,
                f"Unrecognized strategy option {{INVALID_DC}} passed to NetworkTopologyStrategy for keyspace {ks}",
                f"ALTER KEYSPACE {ks} WITH replication={{ 'class' : 'NetworkTopologyStrategy', '{dc}' : 2 , "
                "'INVALID_DC': 1}")
        t.syntax_error(f"ALTER KEYSPACE {ks} WITH replication = {{'class' : 'NetworkTopologyStrategy', "
                       f"'{dc}' : 2, '{dc}' : 3 }}")
    finally:
        t.execute(f"DROP KEYSPACE IF EXISTS {ks}")


def test_double_with(t):
    t.syntax_error("ALTER KEYSPACE WITH WITH DURABLE_WRITES = true")
    t.syntax_error("ALTER KEYSPACE ks WITH WITH DURABLE_WRITES = true")


def test_alter_statement_with_add(t):
    t.create_table("CREATE TABLE %s (id int PRIMARY KEY, t text)")
    t.execute("UPDATE %s SET t = '111' WHERE id = 1")
    t.execute("ALTER TABLE %s ADD l list<text>")
    assert t.rows("SELECT * FROM %s") == [(1, None, "111")]
    t.execute("ALTER TABLE %s ADD m map<int, text>")
    assert t.rows("SELECT * FROM %s") == [(1, None, None, "111")]


def test_rename_to_empty(t):
    t.create_table("CREATE TABLE %s (k int, c1 int, v int, PRIMARY KEY (k, c1))")
    t.syntax_error('ALTER TABLE %s RENAME c1 TO ""')


def test_alter_table_with_compression(t):
    t.create_table("CREATE TABLE %s (a text, b int, c int, primary key (a, b))")
    query = "SELECT compression FROM system_schema.tables WHERE keyspace_name = ? and table_name = ?"
    name = t.table.split(".")[1]
    t.execute("ALTER TABLE %s WITH compression = { 'class' : 'SnappyCompressor', 'chunk_length_in_kb' : 32 }")
    assert t.rows(query, t.keyspace, name) == [
        ({"chunk_length_in_kb": "32", "class": "org.apache.cassandra.io.compress.SnappyCompressor"},)]
    t.execute("ALTER TABLE %s WITH compression = { 'sstable_compression' : 'LZ4Compressor', 'chunk_length_kb' : 64 }")
    assert t.rows(query, t.keyspace, name) == [
        ({"chunk_length_in_kb": "64", "class": "org.apache.cassandra.io.compress.LZ4Compressor"},)]
    t.execute("ALTER TABLE %s WITH compression = { 'sstable_compression' : '', 'chunk_length_kb' : 32 }")
    assert t.rows(query, t.keyspace, name) == [({"enabled": "false"},)]
    t.execute("ALTER TABLE %s WITH compression = { 'class' : 'SnappyCompressor', 'chunk_length_in_kb' : 32 }")
    t.execute("ALTER TABLE %s WITH compression = { 'enabled' : 'false'}")
    assert t.rows(query, t.keyspace, name) == [({"enabled": "false"},)]
    for message, statement in [
        ("Missing sub-option 'class' for the 'compression' option.",
         "ALTER TABLE %s WITH  compression = {'chunk_length_in_kb' : 32}"),
        ("The 'class' option must not be empty. To disable compression use 'enabled' : false",
         "ALTER TABLE %s WITH  compression = { 'class' : ''}"),
        ("If the 'enabled' option is set to false no other options must be specified",
         "ALTER TABLE %s WITH compression = { 'enabled' : 'false', 'class' : 'SnappyCompressor'}"),
        ("The 'sstable_compression' option must not be used if the compression algorithm is already specified "
         "by the 'class' option",
         "ALTER TABLE %s WITH compression = { 'sstable_compression' : 'SnappyCompressor', 'class' : 'SnappyCompressor'}"),
        ("The 'chunk_length_kb' option must not be used if the chunk length is already specified by the "
         "'chunk_length_in_kb' option",
         "ALTER TABLE %s WITH compression = { 'class' : 'SnappyCompressor', 'chunk_length_kb' : 32 , "
         "'chunk_length_in_kb' : 32 }"),
    ]:
        t.error(ConfigurationException, message, statement)


def test_unknown_table_option(t):
    t.create_table("CREATE TABLE %s (k int PRIMARY KEY, v int)")
    t.syntax_error("ALTER TABLE %s WITH nope = 1")
