"""The core CQL workload, run once per connection mode (see driver_helpers.CONNECTION_MODES).

Every test here runs against the module's `mode_session`, inside keyspace `compat_<mode>`.
Expected results follow Cassandra 5.0's behaviour.
"""

import random
import time

import pytest
from cassandra.concurrent import execute_concurrent_with_args
from cassandra.connection import segment_codec_lz4
from cassandra.query import BatchStatement, BatchType, SimpleStatement

from cql_types import SAMPLES, all_types_table_ddl
from driver_helpers import CONNECTION_MODES, EXPECTED_PROTOCOL, expect_invalid

SENSORS = ("a", "b")
DAYS = (1, 2)
SEQS = range(1, 7)

ALLOW_FILTERING_MESSAGE = (
    "Cannot execute this query as it might involve data filtering and thus may have "
    "unpredictable performance. If you want to execute this query despite the performance "
    "unpredictability, use ALLOW FILTERING")


@pytest.fixture(scope="module")
def ks(mode_session):
    return mode_session.compat_keyspace


_table_counter = 0


@pytest.fixture
def new_table(mode_session, ks):
    """Creates a uniquely named table from a column spec; returns its qualified name."""

    def create(spec, options=""):
        global _table_counter
        _table_counter += 1
        name = f"{ks}.t{_table_counter}"
        mode_session.execute(f"CREATE TABLE {name} ({spec}){options}")
        return name

    return create


def reading_value(day, seq):
    return seq + day / 10


@pytest.fixture(scope="module")
def readings(mode_session, ks):
    """A composite-partition-key table with DESC clustering, filled with 24 known rows."""
    table = f"{ks}.readings"
    mode_session.execute(
        f"CREATE TABLE {table} (sensor text, day int, seq int, value double, note text, "
        "PRIMARY KEY ((sensor, day), seq)) WITH CLUSTERING ORDER BY (seq DESC)")
    insert = mode_session.prepare(
        f"INSERT INTO {table} (sensor, day, seq, value, note) VALUES (?, ?, ?, ?, ?)")
    for sensor in SENSORS:
        for day in DAYS:
            for seq in SEQS:
                mode_session.execute(
                    insert, (sensor, day, seq, reading_value(day, seq), f"{sensor}-{day}-{seq}"))
    return table


def rows(session, query, params=None):
    return list(session.execute(query, params))


def pool_connections(session):
    return [pool._connection for pool in session._pools.values() if pool._connection]


# ---------------------------------------------------------------------------------------------
# Connection: protocol version and compression


def test_negotiated_protocol_version(mode_session, mode):
    assert mode_session.cluster.protocol_version == EXPECTED_PROTOCOL[mode]
    connections = pool_connections(mode_session)
    assert connections, "the session has no pooled connection"
    for connection in connections:
        assert connection.protocol_version == EXPECTED_PROTOCOL[mode]


def test_compression_in_use(mode_session, mode):
    wanted = CONNECTION_MODES[mode]["compression"]
    for connection in pool_connections(mode_session):
        if wanted:
            assert connection.compressor is not None, f"{wanted} was not enabled"
            assert connection._compression_type == wanted
        else:
            assert connection.compressor is None
        if wanted == "lz4" and connection.protocol_version >= 5:
            assert connection._segment_codec is segment_codec_lz4


def test_system_local_release_version(mode_session):
    row = mode_session.execute("SELECT release_version FROM system.local WHERE key = 'local'").one()
    assert row.release_version == "5.0.0"


def test_large_values_cross_frame_boundaries(mode_session, new_table):
    """300 kB values need several v5 segments (128 KiB max each) in both directions."""
    table = new_table("k int PRIMARY KEY, compressible text, random blob")
    seed = 20261125
    print(f"random seed {seed}")
    payload = random.Random(seed).randbytes(300_000)
    text = "strata " * 45_000
    mode_session.execute(f"INSERT INTO {table} (k, compressible, random) VALUES (%s, %s, %s)",
                         (1, text, payload))
    row = mode_session.execute(f"SELECT compressible, random FROM {table} WHERE k = 1").one()
    assert row.compressible == text
    assert row.random == payload


# ---------------------------------------------------------------------------------------------
# DDL


def test_create_keyspace_and_table_show_in_schema(mode_session, ks, readings):
    keyspace = mode_session.execute(
        "SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = %s", (ks,)).one()
    assert keyspace.replication == {
        "class": "org.apache.cassandra.locator.SimpleStrategy", "replication_factor": "1"}
    table = mode_session.cluster.metadata.keyspaces[ks].tables["readings"]
    assert [c.name for c in table.partition_key] == ["sensor", "day"]
    assert [c.name for c in table.clustering_key] == ["seq"]
    assert table.clustering_key[0].is_reversed


def test_ddl_if_not_exists_and_if_exists(mode_session, ks, new_table):
    table = new_table("k int PRIMARY KEY, v text")
    mode_session.execute(
        f"CREATE KEYSPACE IF NOT EXISTS {ks} WITH replication = "
        "{'class': 'SimpleStrategy', 'replication_factor': 3}")
    replication = mode_session.execute(
        "SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = %s", (ks,)).one()
    assert replication.replication["replication_factor"] == "1", "IF NOT EXISTS must not alter"
    mode_session.execute(f"CREATE TABLE IF NOT EXISTS {table} (k int PRIMARY KEY, other int)")
    columns = {r.column_name for r in mode_session.execute(
        "SELECT column_name FROM system_schema.columns WHERE keyspace_name = %s "
        "AND table_name = %s", tuple(table.split(".")))}
    assert columns == {"k", "v"}
    mode_session.execute(f"DROP TABLE IF EXISTS {ks}.no_such_table")
    mode_session.execute("DROP KEYSPACE IF EXISTS no_such_keyspace")
    mode_session.execute(f"DROP TABLE IF EXISTS {table}")
    expect_invalid(mode_session, f"SELECT * FROM {table}",
                   f"table {table.split('.')[1]} does not exist")


def test_alter_table_add_and_drop_column(mode_session, new_table):
    table = new_table("k int PRIMARY KEY, v text")
    mode_session.execute(f"INSERT INTO {table} (k, v) VALUES (1, 'one')")
    mode_session.execute(f"ALTER TABLE {table} ADD extra int")
    mode_session.execute(f"INSERT INTO {table} (k, v, extra) VALUES (2, 'two', 22)")
    got = {r.k: r.extra for r in mode_session.execute(f"SELECT k, extra FROM {table}")}
    assert got == {1: None, 2: 22}
    expect_invalid(mode_session, f"ALTER TABLE {table} ADD extra int",
                   "Column with name 'extra' already exists")
    mode_session.execute(f"ALTER TABLE {table} DROP extra")
    result = mode_session.execute(f"SELECT * FROM {table} WHERE k = 2")
    assert result.column_names == ["k", "v"]
    assert result.one().v == "two"
    expect_invalid(mode_session, f"SELECT extra FROM {table}",
                   f"Undefined column name extra in table {table}")


# ---------------------------------------------------------------------------------------------
# Inserts and selects


def test_simple_and_prepared_inserts(mode_session, new_table):
    table = new_table("k int, c int, v text, PRIMARY KEY (k, c)")
    mode_session.execute(f"INSERT INTO {table} (k, c, v) VALUES (1, 1, 'literal')")
    mode_session.execute(f"INSERT INTO {table} (k, c, v) VALUES (%s, %s, %s)", (1, 2, "params"))
    prepared = mode_session.prepare(f"INSERT INTO {table} (k, c, v) VALUES (?, ?, ?)")
    mode_session.execute(prepared, (1, 3, "prepared"))
    named = mode_session.prepare(f"INSERT INTO {table} (k, c, v) VALUES (:k, :c, :v)")
    mode_session.execute(named, {"k": 1, "c": 4, "v": "named"})
    got = [(r.c, r.v) for r in mode_session.execute(f"SELECT c, v FROM {table} WHERE k = 1")]
    assert got == [(1, "literal"), (2, "params"), (3, "prepared"), (4, "named")]


def test_prepared_select_with_bound_partition_key(mode_session, readings):
    select = mode_session.prepare(f"SELECT seq, note FROM {readings} WHERE sensor = ? AND day = ?")
    got = [(r.seq, r.note) for r in mode_session.execute(select, ("b", 2))]
    assert got == [(seq, f"b-2-{seq}") for seq in reversed(SEQS)]


def test_select_partition_in_desc_clustering_order(mode_session, readings):
    got = [r.seq for r in mode_session.execute(
        f"SELECT seq FROM {readings} WHERE sensor = 'a' AND day = 1")]
    assert got == [6, 5, 4, 3, 2, 1]


def test_select_in_on_clustering_column(mode_session, readings):
    got = [r.seq for r in mode_session.execute(
        f"SELECT seq FROM {readings} WHERE sensor = 'a' AND day = 1 AND seq IN (2, 5)")]
    assert got == [5, 2]


def test_select_in_on_partition_key(mode_session, readings):
    got = sorted((r.day, r.seq) for r in mode_session.execute(
        f"SELECT day, seq FROM {readings} WHERE sensor = 'a' AND day IN (1, 2)"))
    assert got == sorted((day, seq) for day in DAYS for seq in SEQS)


def test_clustering_slice(mode_session, readings):
    query = f"SELECT seq FROM {readings} WHERE sensor = 'b' AND day = 2 AND seq > 2 AND seq <= 5"
    assert [r.seq for r in mode_session.execute(query)] == [5, 4, 3]


def test_order_by(mode_session, readings):
    base = f"SELECT seq FROM {readings} WHERE sensor = 'b' AND day = 1"
    assert [r.seq for r in mode_session.execute(base + " ORDER BY seq ASC")] == [1, 2, 3, 4, 5, 6]
    assert [r.seq for r in mode_session.execute(base + " ORDER BY seq DESC")] == [6, 5, 4, 3, 2, 1]
    ascending_slice = base + " AND seq >= 3 ORDER BY seq ASC"
    assert [r.seq for r in mode_session.execute(ascending_slice)] == [3, 4, 5, 6]


def test_limit(mode_session, readings):
    got = [r.seq for r in mode_session.execute(
        f"SELECT seq FROM {readings} WHERE sensor = 'a' AND day = 2 LIMIT 2")]
    assert got == [6, 5]
    assert len(rows(mode_session, f"SELECT * FROM {readings} LIMIT 7")) == 7


def test_per_partition_limit(mode_session, readings):
    got = rows(mode_session, f"SELECT sensor, day, seq FROM {readings} PER PARTITION LIMIT 2")
    assert len(got) == 8
    by_partition = {}
    for row in got:
        by_partition.setdefault((row.sensor, row.day), []).append(row.seq)
    assert by_partition == {(s, d): [6, 5] for s in SENSORS for d in DAYS}


def test_distinct_partition_keys(mode_session, readings):
    got = {(r.sensor, r.day) for r in mode_session.execute(
        f"SELECT DISTINCT sensor, day FROM {readings}")}
    assert got == {(s, d) for s in SENSORS for d in DAYS}
    assert len(rows(mode_session, f"SELECT DISTINCT sensor, day FROM {readings}")) == 4


def test_token_function_and_token_ranges(mode_session, readings):
    partitions = rows(
        mode_session,
        f"SELECT token(sensor, day) AS t, sensor, day FROM {readings} PER PARTITION LIMIT 1")
    tokens = [r.t for r in partitions]
    assert len(tokens) == 4
    assert tokens == sorted(tokens), "a full scan returns partitions in token order"
    lower, upper = tokens[0], tokens[2]
    ranged = rows(
        mode_session,
        f"SELECT token(sensor, day) AS t FROM {readings} "
        "WHERE token(sensor, day) > %s AND token(sensor, day) <= %s", (lower, upper))
    assert sorted({r.t for r in ranged}) == tokens[1:3]
    assert len(ranged) == 2 * len(SEQS)


def test_count_star(mode_session, readings):
    result = mode_session.execute(f"SELECT COUNT(*) FROM {readings}")
    assert result.column_names == ["count"]
    assert result.one().count == len(SENSORS) * len(DAYS) * len(SEQS)
    one_partition = mode_session.execute(
        f"SELECT COUNT(*) FROM {readings} WHERE sensor = 'a' AND day = 1").one()
    assert one_partition.count == len(SEQS)


def test_column_aliases(mode_session, readings):
    result = mode_session.execute(
        f"SELECT seq AS s, value AS v, note FROM {readings} WHERE sensor = 'a' AND day = 1 "
        "AND seq = 3")
    assert result.column_names == ["s", "v", "note"]
    row = result.one()
    assert (row.s, row.v, row.note) == (3, reading_value(1, 3), "a-1-3")


def test_writetime_and_ttl_functions(mode_session, new_table):
    table = new_table("k int PRIMARY KEY, v text, w text")
    mode_session.execute(
        f"INSERT INTO {table} (k, v) VALUES (1, 'x') USING TIMESTAMP 1234567890 AND TTL 1000")
    mode_session.execute(f"INSERT INTO {table} (k, w) VALUES (1, 'no ttl')")
    result = mode_session.execute(f"SELECT writetime(v), ttl(v), ttl(w) FROM {table} WHERE k = 1")
    assert result.column_names == ["writetime(v)", "ttl(v)", "ttl(w)"]
    writetime, ttl_v, ttl_w = result.one()
    assert writetime == 1234567890
    assert 990 <= ttl_v <= 1000
    assert ttl_w is None


def test_allow_filtering(mode_session, readings):
    query = f"SELECT sensor, day, seq FROM {readings} WHERE value > 6.15"
    expect_invalid(mode_session, query, ALLOW_FILTERING_MESSAGE)
    got = {(r.sensor, r.day, r.seq) for r in mode_session.execute(query + " ALLOW FILTERING")}
    assert got == {(s, 2, 6) for s in SENSORS}


# ---------------------------------------------------------------------------------------------
# Paging


PAGED_PARTITIONS = 10
PAGED_ROWS_PER_PARTITION = 1000
PAGE_SIZE = 100


@pytest.fixture(scope="module")
def paged_table(mode_session, ks):
    table = f"{ks}.paged"
    mode_session.execute(f"CREATE TABLE {table} (p int, c int, v text, PRIMARY KEY (p, c))")
    insert = mode_session.prepare(f"INSERT INTO {table} (p, c, v) VALUES (?, ?, ?)")
    args = [(p, c, f"v{p}-{c}") for p in range(PAGED_PARTITIONS)
            for c in range(PAGED_ROWS_PER_PARTITION)]
    results = execute_concurrent_with_args(mode_session, insert, args, concurrency=64,
                                           raise_on_first_error=True)
    assert all(ok for ok, _ in results)
    return table


def fetch_all_pages(session, statement, params=None):
    """Walks the result page by page; returns (rows, sizes of every page fetched)."""
    result = session.execute(statement, params)
    all_rows, page_sizes = list(result.current_rows), [len(result.current_rows)]
    while result.has_more_pages:
        assert len(page_sizes) < 1000, "paging does not terminate"
        result.fetch_next_page()
        all_rows.extend(result.current_rows)
        page_sizes.append(len(result.current_rows))
    return all_rows, page_sizes


def assert_full_pages(page_sizes, total):
    assert sum(page_sizes) == total
    non_empty = [size for size in page_sizes if size]
    # Cassandra fills every page but the last; it may add one empty page at the end.
    assert non_empty == [PAGE_SIZE] * (total // PAGE_SIZE), page_sizes
    assert page_sizes[-1] in (0, PAGE_SIZE) and 0 not in page_sizes[:-1], page_sizes


def test_paging_full_scan_10000_rows(mode_session, paged_table):
    statement = SimpleStatement(f"SELECT p, c, v FROM {paged_table}", fetch_size=PAGE_SIZE)
    got, page_sizes = fetch_all_pages(mode_session, statement)
    total = PAGED_PARTITIONS * PAGED_ROWS_PER_PARTITION
    assert_full_pages(page_sizes, total)
    assert len({(r.p, r.c) for r in got}) == total, "rows repeated across pages"
    assert all(r.v == f"v{r.p}-{r.c}" for r in got)
    partition_order = [r.p for r in got]
    runs = [p for i, p in enumerate(partition_order) if i == 0 or partition_order[i - 1] != p]
    assert sorted(runs) == list(range(PAGED_PARTITIONS)), "a partition was split across the scan"
    for p in range(PAGED_PARTITIONS):
        assert [r.c for r in got if r.p == p] == list(range(PAGED_ROWS_PER_PARTITION))


def test_paging_single_partition_prepared(mode_session, paged_table):
    prepared = mode_session.prepare(f"SELECT c FROM {paged_table} WHERE p = ?")
    prepared.fetch_size = PAGE_SIZE
    got, page_sizes = fetch_all_pages(mode_session, prepared, (7,))
    assert_full_pages(page_sizes, PAGED_ROWS_PER_PARTITION)
    assert [r.c for r in got] == list(range(PAGED_ROWS_PER_PARTITION))


def test_paging_through_driver_iterator(mode_session, paged_table):
    statement = SimpleStatement(f"SELECT p, c FROM {paged_table} WHERE p IN (3, 4)",
                                fetch_size=PAGE_SIZE)
    got = [(r.p, r.c) for r in mode_session.execute(statement)]
    assert sorted(got) == [(p, c) for p in (3, 4) for c in range(PAGED_ROWS_PER_PARTITION)]


# ---------------------------------------------------------------------------------------------
# Batches


def test_logged_batch_mixing_prepared_and_simple(mode_session, new_table):
    table = new_table("k int, c int, v text, PRIMARY KEY (k, c)")
    prepared = mode_session.prepare(f"INSERT INTO {table} (k, c, v) VALUES (?, ?, ?)")
    batch = BatchStatement(batch_type=BatchType.LOGGED)
    batch.add(prepared, (1, 1, "prepared"))
    batch.add(SimpleStatement(f"INSERT INTO {table} (k, c, v) VALUES (%s, %s, %s)"),
              (2, 1, "simple"))
    batch.add(f"UPDATE {table} SET v = 'updated' WHERE k = 1 AND c = 2")
    mode_session.execute(batch)
    got = sorted((r.k, r.c, r.v) for r in mode_session.execute(f"SELECT * FROM {table}"))
    assert got == [(1, 1, "prepared"), (1, 2, "updated"), (2, 1, "simple")]


def test_unlogged_batch_in_cql_text(mode_session, new_table):
    table = new_table("k int, c int, v text, PRIMARY KEY (k, c)")
    mode_session.execute(
        f"BEGIN UNLOGGED BATCH "
        f"INSERT INTO {table} (k, c, v) VALUES (1, 1, 'a'); "
        f"INSERT INTO {table} (k, c, v) VALUES (1, 2, 'b'); "
        f"DELETE FROM {table} WHERE k = 1 AND c = 1; "
        f"APPLY BATCH")
    got = [(r.c, r.v) for r in mode_session.execute(f"SELECT c, v FROM {table} WHERE k = 1")]
    assert got == [(2, "b")]


def test_batch_level_timestamp(mode_session, new_table):
    table = new_table("k int PRIMARY KEY, v text")
    mode_session.execute(
        f"BEGIN BATCH USING TIMESTAMP 4242 "
        f"INSERT INTO {table} (k, v) VALUES (1, 'a'); INSERT INTO {table} (k, v) VALUES (2, 'b'); "
        f"APPLY BATCH")
    assert {r.w for r in mode_session.execute(f"SELECT writetime(v) AS w FROM {table}")} == {4242}


def test_empty_batch(mode_session):
    mode_session.execute("BEGIN BATCH APPLY BATCH")
    mode_session.execute("BEGIN UNLOGGED BATCH APPLY BATCH;")


# ---------------------------------------------------------------------------------------------
# TTL, timestamps, deletes, truncate


def start_of_a_second():
    """Sleeps until just after a wall-clock second starts. TTLs count whole seconds, so a
    1-second TTL written late in a second can expire a few milliseconds later."""
    time.sleep(1.0 - time.time() % 1.0 + 0.01)


def test_ttl_expiry(mode_session, new_table):
    table = new_table("k int PRIMARY KEY, v text")
    prepared = mode_session.prepare(f"INSERT INTO {table} (k, v) VALUES (?, ?) USING TTL ?")
    start_of_a_second()
    mode_session.execute(f"INSERT INTO {table} (k, v) VALUES (1, 'short') USING TTL 1")
    mode_session.execute(prepared, (2, "short prepared", 1))
    mode_session.execute(f"INSERT INTO {table} (k, v) VALUES (3, 'stays')")
    assert {r.k for r in mode_session.execute(f"SELECT k FROM {table}")} == {1, 2, 3}
    time.sleep(2.2)
    assert [(r.k, r.v) for r in mode_session.execute(f"SELECT k, v FROM {table}")] == [
        (3, "stays")]
    assert mode_session.execute(f"SELECT * FROM {table} WHERE k = 1").one() is None


def test_using_timestamp_last_write_wins(mode_session, new_table):
    table = new_table("k int PRIMARY KEY, v text")
    write = f"INSERT INTO {table} (k, v) VALUES (1, %s) USING TIMESTAMP %s"

    def current():
        return mode_session.execute(f"SELECT v FROM {table} WHERE k = 1").one().v

    mode_session.execute(write, ("first", 1000))
    mode_session.execute(write, ("older", 999))
    assert current() == "first", "an older timestamp must lose"
    mode_session.execute(write, ("newer", 1001))
    assert current() == "newer"


def test_using_timestamp_ties(mode_session, new_table):
    """Equal timestamps: the greater value wins, and a tombstone beats a live cell."""
    table = new_table("k int PRIMARY KEY, v text")
    write = f"INSERT INTO {table} (k, v) VALUES (1, %s) USING TIMESTAMP 5000"
    mode_session.execute(write, ("bbb",))
    mode_session.execute(write, ("aaa",))
    assert mode_session.execute(f"SELECT v FROM {table} WHERE k = 1").one().v == "bbb"
    mode_session.execute(write, ("ccc",))
    assert mode_session.execute(f"SELECT v FROM {table} WHERE k = 1").one().v == "ccc"
    mode_session.execute(f"DELETE FROM {table} USING TIMESTAMP 6000 WHERE k = 1")
    mode_session.execute(f"INSERT INTO {table} (k, v) VALUES (1, 'zzz') USING TIMESTAMP 6000")
    assert mode_session.execute(f"SELECT v FROM {table} WHERE k = 1").one() is None


@pytest.fixture
def deletable(mode_session, new_table):
    table = new_table("k int, c int, a text, b text, PRIMARY KEY (k, c)")
    insert = mode_session.prepare(f"INSERT INTO {table} (k, c, a, b) VALUES (?, ?, ?, ?)")
    for k in (1, 2, 3):
        for c in range(1, 7):
            mode_session.execute(insert, (k, c, f"a{k}{c}", f"b{k}{c}"))
    return table


def clusterings(session, table, k):
    return [r.c for r in session.execute(f"SELECT c FROM {table} WHERE k = %s", (k,))]


def test_delete_cell(mode_session, deletable):
    mode_session.execute(f"DELETE a FROM {deletable} WHERE k = 1 AND c = 1")
    row = mode_session.execute(f"SELECT a, b FROM {deletable} WHERE k = 1 AND c = 1").one()
    assert (row.a, row.b) == (None, "b11")


def test_delete_row(mode_session, deletable):
    mode_session.execute(f"DELETE FROM {deletable} WHERE k = 1 AND c = 2")
    assert clusterings(mode_session, deletable, 1) == [1, 3, 4, 5, 6]


def test_delete_partition(mode_session, deletable):
    mode_session.execute(f"DELETE FROM {deletable} WHERE k = 2")
    assert clusterings(mode_session, deletable, 2) == []
    assert {r.k for r in mode_session.execute(f"SELECT DISTINCT k FROM {deletable}")} == {1, 3}


def test_delete_clustering_ranges(mode_session, deletable):
    mode_session.execute(f"DELETE FROM {deletable} WHERE k = 3 AND c > 2 AND c < 5")
    assert clusterings(mode_session, deletable, 3) == [1, 2, 5, 6]
    mode_session.execute(f"DELETE FROM {deletable} WHERE k = 3 AND c >= 6")
    assert clusterings(mode_session, deletable, 3) == [1, 2, 5]
    assert clusterings(mode_session, deletable, 1) == [1, 2, 3, 4, 5, 6], "other partitions kept"


def test_truncate(mode_session, new_table):
    table = new_table("k int PRIMARY KEY, v text")
    for k in range(20):
        mode_session.execute(f"INSERT INTO {table} (k, v) VALUES (%s, 'x')", (k,))
    mode_session.execute(f"TRUNCATE {table}")
    assert mode_session.execute(f"SELECT COUNT(*) FROM {table}").one().count == 0
    mode_session.execute(f"INSERT INTO {table} (k, v) VALUES (1, 'after')")
    mode_session.execute(f"TRUNCATE TABLE {table}")
    assert rows(mode_session, f"SELECT * FROM {table}") == []


def test_use_keyspace(mode_session, ks, readings):
    result = mode_session.execute(f"USE {ks}")
    assert mode_session.keyspace == ks
    assert not result.current_rows
    got = [r.seq for r in mode_session.execute(
        "SELECT seq FROM readings WHERE sensor = 'a' AND day = 1 LIMIT 1")]
    assert got == [6]


# ---------------------------------------------------------------------------------------------
# Native types


@pytest.fixture(scope="module")
def all_types(mode_session, ks):
    table = f"{ks}.all_types"
    mode_session.execute(all_types_table_ddl(table))
    return table


def read_back(session, table, sample, key):
    return session.execute(f"SELECT {sample.column} FROM {table} WHERE k = %s", (key,)).one()[0]


@pytest.mark.parametrize("sample", SAMPLES, ids=repr)
def test_type_roundtrip_cql_literal(mode_session, all_types, sample):
    key = 1000 + SAMPLES.index(sample)
    mode_session.execute(
        f"INSERT INTO {all_types} (k, {sample.column}) VALUES ({key}, {sample.literal})")
    assert read_back(mode_session, all_types, sample, key) == sample.read_value


@pytest.mark.parametrize("sample", SAMPLES, ids=repr)
def test_type_roundtrip_simple_statement_params(mode_session, all_types, sample):
    key = 2000 + SAMPLES.index(sample)
    mode_session.execute(f"INSERT INTO {all_types} (k, {sample.column}) VALUES (%s, %s)",
                         (key, sample.bind_value))
    assert read_back(mode_session, all_types, sample, key) == sample.formatted_read_value


@pytest.mark.parametrize("sample", SAMPLES, ids=repr)
def test_type_roundtrip_prepared(mode_session, all_types, sample):
    key = 3000 + SAMPLES.index(sample)
    insert = mode_session.prepare(f"INSERT INTO {all_types} (k, {sample.column}) VALUES (?, ?)")
    mode_session.execute(insert, (key, sample.bind_value))
    select = mode_session.prepare(f"SELECT {sample.column} FROM {all_types} WHERE k = ?")
    assert mode_session.execute(select, (key,)).one()[0] == sample.read_value


def test_type_null_and_unset_values(mode_session, all_types):
    insert = mode_session.prepare(f"INSERT INTO {all_types} (k, c_text, c_int) VALUES (?, ?, ?)")
    mode_session.execute(insert, (4000, "kept", 7))
    mode_session.execute(insert, (4000, None, 8))
    row = mode_session.execute(f"SELECT c_text, c_int FROM {all_types} WHERE k = 4000").one()
    assert (row.c_text, row.c_int) == (None, 8)
