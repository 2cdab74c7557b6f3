"""The tables operators and tools read, in Cassandra 5.0's layout: `system_views.*`
(clients, settings, thread_pools, caches, disk_usage, local latencies, sstable_tasks),
their `system_virtual_schema` rows, and `system.size_estimates`/`table_estimates` (Spark's
connector splits scans by them). Read with the Python driver and cqlsh from a private node
on 127.0.8.1."""

import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

import pytest

from driver_helpers import connect, process_harness

VIEWS = {"caches", "clients", "disk_usage", "local_read_latency", "local_scan_latency",
         "local_write_latency", "settings", "sstable_tasks", "thread_pools"}
PARTITIONS = 2000
VALUE = "v" * 100


harness = process_harness()


class Node(harness.StrataServer):
    """A node on 127.0.8.1 with two tokens, so size estimates extrapolate their samples."""

    def __init__(self):
        super().__init__(harness.strata_binary(), tempfile.mkdtemp(prefix="strata-views-"),
                         ["--admin-address", "127.0.8.1", "--num-tokens", "2"])
        self.host = "127.0.8.1"


@pytest.fixture(scope="module")
def node():
    server = Node()
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.data_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def session(node):
    session = connect(node)
    session.execute("CREATE KEYSPACE views WITH replication = "
                    "{'class': 'SimpleStrategy', 'replication_factor': 1}")
    session.execute("CREATE TABLE views.t (k int PRIMARY KEY, v text)")
    insert = session.prepare("INSERT INTO views.t (k, v) VALUES (?, ?)")
    for k in range(PARTITIONS):
        session.execute(insert, (k, VALUE))
    select = session.prepare("SELECT v FROM views.t WHERE k = ?")
    for k in range(50):
        session.execute(select, (k,)).one()
    flush = node.nodetool("flush")
    assert flush.returncode == 0, flush.stderr
    session.set_keyspace("views")
    yield session
    session.cluster.shutdown()


def test_virtual_schema_describes_every_view(session):
    tables = {r.table_name: r.comment for r in session.execute(
        "SELECT table_name, comment FROM system_virtual_schema.tables "
        "WHERE keyspace_name = 'system_views'")}
    assert VIEWS <= set(tables), tables
    assert tables["clients"] == "currently connected clients"
    columns = {(r.column_name, r.kind, r.type) for r in session.execute(
        "SELECT column_name, kind, type FROM system_virtual_schema.columns "
        "WHERE keyspace_name = 'system_views' AND table_name = 'clients'")}
    for expected in [("address", "partition_key", "inet"), ("port", "clustering", "int"),
                     ("driver_name", "regular", "text"), ("request_count", "regular", "bigint"),
                     ("client_options", "regular", "frozen<map<text, text>>")]:
        assert expected in columns, columns
    keyspace = session.cluster.metadata.keyspaces["system_views"]
    assert VIEWS <= set(keyspace.tables), sorted(keyspace.tables)
    assert keyspace.tables["local_read_latency"].partition_key[1].name == "table_name"


def test_clients_lists_this_driver(node, session):
    rows = list(session.execute("SELECT * FROM system_views.clients"))
    mine = [r for r in rows if r.driver_name]
    assert mine, rows
    assert all(r.connection_stage == "ready" for r in mine), mine
    assert {r.driver_name for r in mine} == {"DataStax Python Driver"}, mine
    assert all(r.protocol_version in (4, 5) and r.request_count >= 1 for r in mine), mine
    assert any(r.keyspace_name == "views" for r in mine), mine
    assert all(r.client_options.get("CQL_VERSION") for r in mine), mine
    assert all(r.ssl_enabled is False and r.username == "anonymous" for r in mine), mine


def test_settings_are_the_effective_configuration(node, session):
    settings = {r.name: r.value for r in session.execute("SELECT * FROM system_views.settings")}
    assert settings["cluster_name"] == node.cluster_name
    assert settings["native_transport_port"] == str(node.native_port)
    assert settings["num_tokens"] == "2"
    assert settings["partitioner"] == "org.apache.cassandra.dht.Murmur3Partitioner"
    assert settings["commitlog_sync"] in ("periodic", "batch")
    assert settings["memtable_heap_space"].endswith("MiB")
    one = session.execute("SELECT value FROM system_views.settings WHERE name = 'listen_address'")
    assert one.one().value == node.host


def test_thread_pools_and_caches(session):
    pools = {r.name: r for r in session.execute("SELECT * FROM system_views.thread_pools")}
    assert {"CompactionExecutor", "MemtableFlushWriter", "MutationStage", "ReadStage",
            "Native-Transport-Requests"} <= set(pools), pools
    assert pools["MutationStage"].completed_tasks >= PARTITIONS
    assert pools["ReadStage"].completed_tasks >= 50
    assert pools["MemtableFlushWriter"].completed_tasks >= 1
    assert all(p.active_tasks_limit >= 1 and p.pending_tasks >= 0 for p in pools.values())
    caches = {r.name: r for r in session.execute("SELECT * FROM system_views.caches")}
    assert {"chunks", "keys", "rows", "counters"} <= set(caches), caches
    chunks = caches["chunks"]
    assert chunks.capacity_bytes > 0 and 0 <= chunks.size_bytes <= chunks.capacity_bytes
    assert chunks.hit_count <= chunks.request_count


def test_disk_usage_and_latency_tables(session):
    usage = session.execute("SELECT mebibytes FROM system_views.disk_usage "
                            "WHERE keyspace_name = 'views' AND table_name = 't'").one()
    # 2,000 rows of a 100-byte value: under a MiB or two, rounded up as Cassandra does.
    assert 1 <= usage.mebibytes <= 2, usage
    read = session.execute("SELECT * FROM system_views.local_read_latency "
                           "WHERE keyspace_name = 'views' AND table_name = 't'").one()
    assert read.count >= 50, read
    # Columns by Cassandra's order: keys, then 50th_ms, 99th_ms, count, max_ms, per_second.
    assert 0 < read[2] <= read[3] <= read.max_ms, read
    write = session.execute("SELECT count, per_second FROM system_views.local_write_latency "
                            "WHERE keyspace_name = 'views' AND table_name = 't'").one()
    assert write.count >= PARTITIONS and write.per_second > 0, write


def test_no_merge_running_when_idle(node, session):
    assert list(session.execute("SELECT * FROM system_views.sstable_tasks")) == []
    stats = node.nodetool("compactionstats")
    assert stats.returncode == 0 and stats.stdout.startswith("pending tasks: "), stats


def test_size_estimates_cover_the_ring_and_count_partitions(session):
    rows = list(session.execute("SELECT * FROM system.size_estimates "
                                "WHERE keyspace_name = 'views' AND table_name = 't'"))
    # Two tokens: two ranges, and the one wrapping past the maximum token is cut in two.
    assert len(rows) == 3, rows
    assert {int(r.range_start) for r in rows} >= {-2**63}
    assert {int(r.range_end) for r in rows} >= {-2**63}
    total = sum(r.partitions_count for r in rows)
    print(f"estimated partitions: {total} of {PARTITIONS}")
    assert abs(total - PARTITIONS) <= PARTITIONS * 0.25, rows
    for r in rows:
        assert 100 <= r.mean_partition_size <= 1000, r
    kinds = {}
    for r in session.execute("SELECT * FROM system.table_estimates "
                             "WHERE keyspace_name = 'views' AND table_name = 't'"):
        kinds.setdefault(r.range_type, []).append((r.range_start, r.range_end))
    assert set(kinds) == {"primary", "local_primary"}, kinds
    assert sorted(kinds["local_primary"]) == sorted((r.range_start, r.range_end) for r in rows)


def cqlsh(node, statement):
    beside_python = pathlib.Path(sys.executable).parent / "cqlsh"
    command = [str(beside_python)] if beside_python.is_file() else [sys.executable, "-m",
                                                                    "cqlshlib"]
    env = dict(os.environ, HOME=tempfile.mkdtemp(prefix="strata-cqlsh-home-"))
    run = subprocess.run(command + [node.host, str(node.native_port), "-e", statement],
                         capture_output=True, text=True, timeout=120, check=False, env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


def test_cqlsh_reads_and_describes_the_views(node, session):
    out = cqlsh(node, "SELECT name, value FROM system_views.settings WHERE name = 'cluster_name'")
    assert node.cluster_name in out, out
    out = cqlsh(node, "DESCRIBE TABLE system_views.clients")
    assert "system_views.clients" in out and "address inet" in out, out
    out = cqlsh(node, "SELECT keyspace_name, partitions_count FROM system.size_estimates")
    assert "views" in out, out
