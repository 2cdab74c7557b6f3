"""What the python driver builds from the system tables: schema metadata and the token map."""

import pytest
from cassandra.metadata import Murmur3Token, SimpleStrategy

from cql_types import SAMPLES, all_types_table_ddl


@pytest.fixture(scope="module")
def meta_ks(session):
    session.execute(
        "CREATE KEYSPACE compat_meta WITH replication = "
        "{'class': 'SimpleStrategy', 'replication_factor': 1}")
    session.execute(
        "CREATE TABLE compat_meta.events (tenant text, day int, at timestamp, id text, "
        "tags set<text>, counts map<text, int>, samples list<double>, "
        "frozen_names frozen<list<text>>, owner text static, body text, "
        "PRIMARY KEY ((tenant, day), at, id)) WITH CLUSTERING ORDER BY (at DESC, id ASC)")
    session.execute(all_types_table_ddl("compat_meta.all_types"))
    session.execute("CREATE TABLE compat_meta.by_int (k int PRIMARY KEY, v int)")
    session.execute("CREATE TABLE compat_meta.by_text (k text PRIMARY KEY, v int)")
    session.execute("CREATE TABLE compat_meta.by_pair (a int, b text, c int, v int, "
                    "PRIMARY KEY ((a, b), c))")
    yield "compat_meta"
    session.execute("DROP KEYSPACE IF EXISTS compat_meta")


def test_keyspace_metadata(session, meta_ks):
    keyspace = session.cluster.metadata.keyspaces[meta_ks]
    assert keyspace.durable_writes is True
    assert isinstance(keyspace.replication_strategy, SimpleStrategy)
    assert keyspace.replication_strategy.replication_factor == 1
    assert set(keyspace.tables) == {"events", "all_types", "by_int", "by_text", "by_pair"}


def test_table_columns_and_types(session, meta_ks):
    table = session.cluster.metadata.keyspaces[meta_ks].tables["events"]
    assert {name: column.cql_type for name, column in table.columns.items()} == {
        "tenant": "text", "day": "int", "at": "timestamp", "id": "text",
        "tags": "set<text>", "counts": "map<text, int>", "samples": "list<double>",
        "frozen_names": "frozen<list<text>>", "owner": "text", "body": "text",
    }
    assert list(table.columns)[:4] == ["tenant", "day", "at", "id"], "primary key comes first"
    assert table.columns["owner"].is_static
    assert not table.columns["body"].is_static


def test_partition_and_clustering_keys(session, meta_ks):
    table = session.cluster.metadata.keyspaces[meta_ks].tables["events"]
    assert [c.name for c in table.partition_key] == ["tenant", "day"]
    assert [c.name for c in table.clustering_key] == ["at", "id"]
    assert [c.is_reversed for c in table.clustering_key] == [True, False]
    assert "CLUSTERING ORDER BY (at DESC, id ASC)" in table.export_as_string()


def test_every_native_type_in_metadata(session, meta_ks):
    table = session.cluster.metadata.keyspaces[meta_ks].tables["all_types"]
    for sample in SAMPLES:
        assert table.columns[sample.column].cql_type == sample.cql_type


def test_token_map_exists_and_matches_system_local(session, meta_ks):
    metadata = session.cluster.metadata
    token_map = metadata.token_map
    assert token_map is not None, "no token map: is system.local.partitioner Murmur3Partitioner?"
    assert token_map.token_class is Murmur3Token
    local = session.execute("SELECT tokens FROM system.local WHERE key = 'local'").one()
    assert sorted(t.value for t in token_map.ring) == sorted(int(t) for t in local.tokens)
    host = next(iter(metadata.all_hosts()))
    some_token = Murmur3Token.from_key(b"anything")
    assert token_map.get_replicas(meta_ks, some_token) == [host]


def driver_token(session, prepared, values):
    """The token the driver routes by: Murmur3 over the bound statement's routing key."""
    routing_key = prepared.bind(values).routing_key
    return session.cluster.metadata.token_map.token_class.from_key(routing_key).value


def server_token(session, table, key_columns, values):
    where = " AND ".join(f"{c} = %s" for c in key_columns)
    row = session.execute(
        f"SELECT token({', '.join(key_columns)}) AS t FROM {table} WHERE {where}", values).one()
    assert row is not None, f"no row for {values}"
    return row.t


KEY_CASES = {
    "by_int": (["k"], [(1,), (2,), (42,), (-7,), (2147483647,)]),
    "by_text": (["k"], [("123",), ("test",), ("kremówki",), ("château",)]),
    # No empty component: Cassandra 5.0 refuses one in a composite key ("Key may not be
    # empty", InsertInvalidateSizedRecordsTest.compositeValuePk).
    "by_pair": (["a", "b"], [(1, "a"), (0, " "), (-1, "ümlaut"), (99, "x" * 40)]),
}


@pytest.mark.parametrize("table_name", list(KEY_CASES))
def test_driver_token_equals_server_token(session, meta_ks, table_name):
    key_columns, keys = KEY_CASES[table_name]
    table = f"{meta_ks}.{table_name}"
    columns = key_columns + (["c"] if table_name == "by_pair" else [])
    placeholders = ", ".join("?" for _ in columns + ["v"])
    insert = session.prepare(
        f"INSERT INTO {table} ({', '.join(columns)}, v) VALUES ({placeholders})")
    for key in keys:
        clustering = (0,) if table_name == "by_pair" else ()
        session.execute(insert, key + clustering + (1,))
        assert driver_token(session, insert, key + clustering + (1,)) == \
            server_token(session, table, key_columns, key), key


@pytest.mark.parametrize("table_name,key,expected", [
    ("by_int", (1,), -4069959284402364209),
    ("by_int", (42,), -7160136740246525330),
    ("by_text", ("kremówki",), 4354931215268080151),
    ("by_pair", (1, "a"), 6516349416904725244),
])
def test_known_murmur3_vectors(session, meta_ks, table_name, key, expected):
    key_columns = KEY_CASES[table_name][0]
    table = f"{meta_ks}.{table_name}"
    columns = key_columns + (["c"] if table_name == "by_pair" else [])
    values = key + ((0,) if table_name == "by_pair" else ())
    session.execute(
        f"INSERT INTO {table} ({', '.join(columns)}, v) VALUES "
        f"({', '.join('%s' for _ in columns)}, 1)", values)
    assert server_token(session, table, key_columns, key) == expected


def test_system_tables_are_in_the_driver_metadata(session):
    """cqlsh refuses `SELECT ... FROM system.local` ("'local' not found in keyspace
    'system'") unless system_schema.tables lists the system keyspaces' tables, as Cassandra
    does; the virtual keyspaces stay out of it."""
    metadata = session.cluster.metadata
    assert {"local", "peers", "peers_v2"} <= set(metadata.keyspaces["system"].tables)
    assert {"sessions", "events"} <= set(metadata.keyspaces["system_traces"].tables)
    assert "release_version" in metadata.keyspaces["system"].tables["local"].columns
    rows = session.execute("SELECT table_name FROM system_schema.tables WHERE keyspace_name = 'system_virtual_schema'")
    assert list(rows) == []
