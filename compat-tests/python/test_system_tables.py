"""The system tables drivers read on connect and for schema metadata (Cassandra 5.0 layout)."""

import re
import uuid

import pytest
from cassandra.query import ValueSequence

from driver_helpers import connect

MURMUR3 = "org.apache.cassandra.dht.Murmur3Partitioner"
SCHEMA_TABLES = ["keyspaces", "tables", "columns", "types", "functions", "aggregates",
                 "triggers", "indexes", "views"]


@pytest.fixture(scope="module")
def local(session):
    return session.execute("SELECT * FROM system.local WHERE key = 'local'").one()


@pytest.fixture(scope="module")
def schema_ks(session):
    session.execute(
        "CREATE KEYSPACE compat_sys WITH replication = "
        "{'class': 'SimpleStrategy', 'replication_factor': 1}")
    session.execute(
        "CREATE TABLE compat_sys.t (p text, q int, c int, v double, s text static, "
        "PRIMARY KEY ((p, q), c)) WITH CLUSTERING ORDER BY (c DESC)")
    yield "compat_sys"
    session.execute("DROP KEYSPACE IF EXISTS compat_sys")


def test_system_local_identity(strata, local):
    assert local.key == "local"
    assert local.cluster_name == strata.cluster_name
    assert local.release_version == "5.0.0"
    assert re.fullmatch(r"3\.\d+\.\d+", local.cql_version), local.cql_version
    assert local.partitioner == MURMUR3
    assert local.bootstrapped == "COMPLETED"


def test_system_local_addresses(strata, local):
    assert local.rpc_address == strata.host
    assert local.rpc_port == strata.native_port
    assert local.listen_address == strata.host
    assert local.broadcast_address == strata.host
    assert local.data_center and local.rack
    assert isinstance(local.host_id, uuid.UUID)
    assert isinstance(local.schema_version, uuid.UUID)


def test_system_local_tokens(local):
    assert local.tokens, "no tokens: drivers cannot build a token map"
    for token in local.tokens:
        assert re.fullmatch(r"-?\d+", token), token
        assert -2**63 <= int(token) < 2**63


def test_driver_host_matches_system_local(session, local):
    hosts = session.cluster.metadata.all_hosts()
    assert len(hosts) == 1
    host = hosts[0]
    assert host.host_id == local.host_id
    assert host.release_version == "5.0.0"
    assert (host.datacenter, host.rack) == (local.data_center, local.rack)


def test_single_select_of_cluster_name(session, strata):
    """The Java driver checks every new connection with exactly this query."""
    row = session.execute("SELECT cluster_name FROM system.local").one()
    assert row.cluster_name == strata.cluster_name


@pytest.mark.parametrize("table", ["peers", "peers_v2"])
def test_peers_tables_exist_and_are_empty(session, table):
    assert list(session.execute(f"SELECT * FROM system.{table}")) == []


def test_peers_v2_columns(session):
    result = session.execute("SELECT * FROM system.peers_v2")
    assert {"peer", "peer_port", "native_address", "native_port", "host_id", "data_center",
            "rack", "release_version", "schema_version", "tokens"} <= set(result.column_names)


@pytest.mark.parametrize("table", SCHEMA_TABLES)
def test_system_schema_tables_are_readable(session, table):
    session.execute(f"SELECT * FROM system_schema.{table}")


def test_system_schema_keyspaces(session, schema_ks):
    rows = {r.keyspace_name: r for r in session.execute("SELECT * FROM system_schema.keyspaces")}
    assert {"system", "system_schema", schema_ks} <= set(rows)
    assert rows[schema_ks].durable_writes is True
    assert rows[schema_ks].replication == {
        "class": "org.apache.cassandra.locator.SimpleStrategy", "replication_factor": "1"}


def test_system_schema_tables_row(session, schema_ks):
    row = session.execute(
        "SELECT * FROM system_schema.tables WHERE keyspace_name = %s AND table_name = 't'",
        (schema_ks,)).one()
    assert row is not None
    assert row.flags == {"compound"}, "python treats a table without 'compound' as COMPACT"
    assert isinstance(row.id, uuid.UUID)
    assert row.default_time_to_live == 0
    assert row.gc_grace_seconds == 864000
    assert row.bloom_filter_fp_chance == 0.01
    assert row.caching == {"keys": "ALL", "rows_per_partition": "NONE"}
    assert row.comment == ""
    assert row.compaction["class"] == (
        "org.apache.cassandra.db.compaction.SizeTieredCompactionStrategy")
    assert row.speculative_retry == "99p"


def test_system_schema_columns_rows(session, schema_ks):
    rows = session.execute(
        "SELECT column_name, kind, position, clustering_order, type FROM system_schema.columns "
        "WHERE keyspace_name = %s AND table_name = 't'", (schema_ks,))
    got = {r.column_name: (r.kind, r.position, r.clustering_order, r.type) for r in rows}
    assert got == {
        "p": ("partition_key", 0, "none", "text"),
        "q": ("partition_key", 1, "none", "int"),
        "c": ("clustering", 0, "desc", "int"),
        "v": ("regular", -1, "none", "double"),
        "s": ("static", -1, "none", "text"),
    }


def test_system_schema_keyspace_filter_with_in(session, schema_ks):
    rows = session.execute(
        "SELECT keyspace_name, table_name FROM system_schema.tables "
        "WHERE keyspace_name IN %s", (ValueSequence([schema_ks, "no_such_keyspace"]),))
    assert [(r.keyspace_name, r.table_name) for r in rows] == [(schema_ks, "t")]


def test_schema_version_changes_on_ddl(session):
    def version():
        return session.execute(
            "SELECT schema_version FROM system.local WHERE key = 'local'").one().schema_version

    before = version()
    session.execute("CREATE KEYSPACE compat_sys_version WITH replication = "
                    "{'class': 'SimpleStrategy', 'replication_factor': 1}")
    try:
        assert version() != before
    finally:
        session.execute("DROP KEYSPACE compat_sys_version")


def test_describe_cluster_names_partitioner_and_snitch_as_cassandra_does(session):
    """Cassandra's DescribeStatement trims the `org.apache.cassandra.dht.` and
    `org.apache.cassandra.locator.` packages; the default snitch is wrapped by the dynamic one."""
    row = session.execute("DESCRIBE CLUSTER").one()
    assert row.cluster == session.execute("SELECT cluster_name FROM system.local").one().cluster_name
    assert row.partitioner == "Murmur3Partitioner"
    assert row.snitch == "DynamicEndpointSnitch"
    assert not hasattr(row, "range_ownership"), "no keyspace in use: no range_ownership column"


def test_describe_cluster_lists_range_ownership_for_the_keyspace_in_use(strata, local, schema_ks):
    """With a non-system keyspace in use Cassandra adds `range_ownership`, a map<text,
    list<text>> from each range's end token to its replicas' endpoints (`/addr:port`), keys
    sorted as text; with a system keyspace in use it does not."""
    session = connect(strata)
    try:
        session.execute(f"USE {schema_ks}")
        ownership = session.execute("DESCRIBE CLUSTER").one().range_ownership
        tokens = sorted((str(t) for t in local.tokens), key=lambda t: t.encode())
        assert list(ownership.keys()) == tokens
        endpoint = f"/{local.listen_address}:{local.listen_port}"
        assert all(replicas == [endpoint] for replicas in ownership.values()), dict(ownership)
        session.execute("USE system")
        assert not hasattr(session.execute("DESCRIBE CLUSTER").one(), "range_ownership")
    finally:
        session.cluster.shutdown()
