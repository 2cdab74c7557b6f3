"""Snapshots, point-in-time reads and writable clones (issue 5), through the python driver and
`strata nodetool`: `nodetool snapshot|listsnapshots|clearsnapshot|tablestats`,
`SELECT ... AT SNAPSHOT`, `CREATE TABLE|KEYSPACE ... CLONE`, `RESTORE ... FROM SNAPSHOT`.

Tests on the shared node use their own keyspace and always name it in nodetool verbs, so they
never touch other suites' tables. Tests that restart or kill -9 a node get a private one."""

import os
import threading
import time

import pytest
from cassandra import AlreadyExists, InvalidRequest
from cassandra.cluster import NoHostAvailable
from cassandra.concurrent import execute_concurrent_with_args
from cassandra.protocol import SyntaxException
from cassandra.query import SimpleStatement

from driver_helpers import connect, create_keyspace, expect_invalid, server_message

RESTART_QUERY_TIMEOUT_S = 30


def nodetool_ok(server, *verb):
    run = server.nodetool(*verb)
    assert run.returncode == 0, f"nodetool {' '.join(verb)}: {run.stdout}\n{run.stderr}"
    return run.stdout


def nodetool_fails(server, *verb):
    """Runs a verb that must fail; returns what it printed (stdout + stderr)."""
    run = server.nodetool(*verb)
    assert run.returncode != 0, f"nodetool {' '.join(verb)} succeeded: {run.stdout}"
    return run.stdout + run.stderr


def values(session, table, snapshot=None):
    """{k: v} of a (k int, v text) table, optionally as of a snapshot."""
    at = f" AT SNAPSHOT '{snapshot}'" if snapshot else ""
    return {r.k: r.v for r in session.execute(f"SELECT k, v FROM {table}{at}")}


def write(session, table, rows):
    insert = session.prepare(f"INSERT INTO {table} (k, v) VALUES (?, ?)")
    results = execute_concurrent_with_args(session, insert, list(rows.items()), concurrency=32,
                                           raise_on_first_error=True)
    assert all(ok for ok, _ in results)


@pytest.fixture
def keyspace(session, request):
    """A fresh keyspace named after the test, with table t (k int PRIMARY KEY, v text)."""
    name = "snap_" + request.node.name.split("[")[0].removeprefix("test_")[:40]
    session.execute(f"DROP KEYSPACE IF EXISTS {name}")
    create_keyspace(session, name)
    session.execute(f"CREATE TABLE {name}.t (k int PRIMARY KEY, v text)")
    yield name
    session.execute(f"DROP KEYSPACE IF EXISTS {name}")


def test_snapshot_read_clone_diverge_restore_clear(strata, session, keyspace):
    t = f"{keyspace}.t"
    write(session, t, {k: f"old{k}" for k in range(10)})
    assert "s1" in nodetool_ok(strata, "snapshot", "-t", "s1", t)

    # Writes after the snapshot: an update, a delete and a new row.
    session.execute(f"UPDATE {t} SET v = 'new0' WHERE k = 0")
    session.execute(f"DELETE FROM {t} WHERE k = 1")
    session.execute(f"INSERT INTO {t} (k, v) VALUES (100, 'new100')")
    old = {k: f"old{k}" for k in range(10)}
    now = {**old, 0: "new0", 100: "new100"}
    del now[1]
    assert values(session, t) == now
    assert values(session, t, "s1") == old
    assert session.execute(f"SELECT v FROM {t} AT SNAPSHOT 's1' WHERE k = 0").one().v == "old0"

    # Clones of the snapshot and of the current state, then writes on every side.
    session.execute(f"CREATE TABLE {keyspace}.at_s1 CLONE {t} AT SNAPSHOT 's1'")
    session.execute(f"CREATE TABLE {keyspace}.current CLONE {t}")
    assert values(session, f"{keyspace}.at_s1") == old
    assert values(session, f"{keyspace}.current") == now
    session.execute(f"INSERT INTO {keyspace}.at_s1 (k, v) VALUES (200, 'clone-only')")
    session.execute(f"UPDATE {keyspace}.at_s1 SET v = 'clone2' WHERE k = 2")
    session.execute(f"INSERT INTO {t} (k, v) VALUES (300, 'source-only')")
    session.execute(f"DELETE FROM {keyspace}.current WHERE k = 0")
    assert values(session, f"{keyspace}.at_s1") == {**old, 200: "clone-only", 2: "clone2"}
    assert values(session, t) == {**now, 300: "source-only"}
    current = dict(now)
    del current[0]
    assert values(session, f"{keyspace}.current") == current
    assert values(session, t, "s1") == old, "writes to clones must not reach the snapshot"

    # Restore: back to the snapshot, and writable again, also through statements prepared
    # before the restore (the table keeps its id).
    read_one = session.prepare(f"SELECT v FROM {t} WHERE k = ?")
    write_one = session.prepare(f"INSERT INTO {t} (k, v) VALUES (?, ?)")
    session.execute(f"RESTORE TABLE {t} FROM SNAPSHOT 's1'")
    assert values(session, t) == old
    assert session.execute(read_one, [0]).one().v == "old0"
    session.execute(write_one, [400, "after-restore"])
    assert values(session, t) == {**old, 400: "after-restore"}
    assert values(session, t, "s1") == old
    assert values(session, f"{keyspace}.at_s1") == {**old, 200: "clone-only", 2: "clone2"}

    # Clear: the tag is gone, the tables and clones are not.
    assert "s1" in nodetool_ok(strata, "listsnapshots")
    nodetool_ok(strata, "clearsnapshot", "-t", "s1", keyspace)
    assert f" {keyspace} " not in nodetool_ok(strata, "listsnapshots")
    expect_invalid(session, f"SELECT k, v FROM {t} AT SNAPSHOT 's1'",
                   f"Snapshot 's1' does not exist for table {t}")
    assert values(session, t) == {**old, 400: "after-restore"}
    assert values(session, f"{keyspace}.at_s1") == {**old, 200: "clone-only", 2: "clone2"}


def test_default_tag_is_creation_time_and_listsnapshots_names_each_table(strata, session, keyspace):
    session.execute(f"CREATE TABLE {keyspace}.u (k int PRIMARY KEY, v text)")
    before_ms = int(time.time() * 1000)
    out = nodetool_ok(strata, "snapshot", keyspace)
    tag = out.split("snapshot name [", 1)[1].split("]", 1)[0]
    assert tag.isdigit() and before_ms - 5000 <= int(tag) <= time.time() * 1000 + 5000, out
    listed = [line.split() for line in nodetool_ok(strata, "listsnapshots").splitlines()]
    assert [tag, keyspace, "t"] in [line[:3] for line in listed]
    assert [tag, keyspace, "u"] in [line[:3] for line in listed]
    assert values(session, f"{keyspace}.u", tag) == {}
    nodetool_ok(strata, "clearsnapshot", "-t", tag, keyspace)


def test_keyspace_clone_and_restore(strata, session, keyspace):
    session.execute(f"CREATE TABLE {keyspace}.events (p int, c int, v text, PRIMARY KEY (p, c))")
    write(session, f"{keyspace}.t", {1: "one", 2: "two"})
    session.execute(f"INSERT INTO {keyspace}.events (p, c, v) VALUES (1, 1, 'e1')")
    nodetool_ok(strata, "snapshot", "-t", "ks1", keyspace)
    session.execute(f"INSERT INTO {keyspace}.t (k, v) VALUES (3, 'three')")
    session.execute(f"DELETE FROM {keyspace}.events WHERE p = 1")

    clone = keyspace + "_c"
    session.execute(f"DROP KEYSPACE IF EXISTS {clone}")
    try:
        session.execute(f"CREATE KEYSPACE {clone} CLONE {keyspace} AT SNAPSHOT 'ks1'")
        assert values(session, f"{clone}.t") == {1: "one", 2: "two"}
        assert [tuple(r) for r in session.execute(f"SELECT p, c, v FROM {clone}.events")] == [(1, 1, "e1")]
        session.execute(f"INSERT INTO {clone}.events (p, c, v) VALUES (1, 2, 'clone')")
        assert list(session.execute(f"SELECT * FROM {keyspace}.events")) == []

        session.execute(f"RESTORE KEYSPACE {keyspace} FROM SNAPSHOT 'ks1'")
        assert values(session, f"{keyspace}.t") == {1: "one", 2: "two"}
        assert [tuple(r) for r in session.execute(f"SELECT p, c, v FROM {keyspace}.events")] == [(1, 1, "e1")]
        assert len(list(session.execute(f"SELECT * FROM {clone}.events"))) == 2
    finally:
        session.execute(f"DROP KEYSPACE IF EXISTS {clone}")
        nodetool_ok(strata, "clearsnapshot", "-t", "ks1", keyspace)


def test_keyspace_clone_at_snapshot_skips_tables_created_after_it(strata, session, keyspace):
    """A keyspace snapshot holds the tables that existed when it was taken; RESTORE KEYSPACE
    already ignores later tables, CLONE ... AT SNAPSHOT must do the same."""
    write(session, f"{keyspace}.t", {1: "one"})
    nodetool_ok(strata, "snapshot", "-t", "early", keyspace)
    session.execute(f"CREATE TABLE {keyspace}.later (k int PRIMARY KEY)")
    clone = keyspace + "_c"
    session.execute(f"DROP KEYSPACE IF EXISTS {clone}")
    try:
        session.execute(f"CREATE KEYSPACE {clone} CLONE {keyspace} AT SNAPSHOT 'early'")
        assert values(session, f"{clone}.t") == {1: "one"}
        tables = {r.table_name for r in session.execute(
            "SELECT table_name FROM system_schema.tables WHERE keyspace_name = %s", [clone])}
        assert tables == {"t"}
    finally:
        session.execute(f"DROP KEYSPACE IF EXISTS {clone}")
        nodetool_ok(strata, "clearsnapshot", "-t", "early", keyspace)


def test_clone_is_an_ordinary_table(strata, session, keyspace):
    src = f"{keyspace}.wide"
    session.execute(f"CREATE TABLE {src} (p text, c int, v double, tags set<text>, PRIMARY KEY (p, c)) "
                    "WITH CLUSTERING ORDER BY (c DESC) AND comment = 'source'")
    session.execute(f"INSERT INTO {src} (p, c, v, tags) VALUES ('a', 1, 1.5, {{'x'}})")
    session.execute(f"CREATE TABLE {keyspace}.copy CLONE {src}")

    # system_schema rows: same columns, same options, its own id.
    def columns(table):
        return sorted((r.column_name, r.kind, r.position, r.type, r.clustering_order) for r in session.execute(
            "SELECT * FROM system_schema.columns WHERE keyspace_name = %s AND table_name = %s", [keyspace, table]))
    assert columns("copy") == columns("wide")
    rows = {r.table_name: r for r in session.execute(
        "SELECT * FROM system_schema.tables WHERE keyspace_name = %s", [keyspace])}
    assert rows["copy"].comment == "source"
    assert rows["copy"].id != rows["wide"].id

    # The driver's metadata and server-side DESCRIBE see a normal table.
    session.cluster.refresh_schema_metadata()
    meta = session.cluster.metadata.keyspaces[keyspace].tables["copy"]
    assert [c.name for c in meta.partition_key] == ["p"]
    assert [c.name for c in meta.clustering_key] == ["c"]
    assert meta.columns["tags"].cql_type == "set<text>"
    described = session.execute(f"DESCRIBE TABLE {keyspace}.copy").one().create_statement
    source = session.execute(f"DESCRIBE TABLE {src}").one().create_statement
    assert described == source.replace(f"{keyspace}.wide", f"{keyspace}.copy")

    # Prepared statements on the clone, including a write, an LWT and a clustering slice.
    insert = session.prepare(f"INSERT INTO {keyspace}.copy (p, c, v, tags) VALUES (?, ?, ?, ?)")
    select = session.prepare(f"SELECT c, v FROM {keyspace}.copy WHERE p = ? AND c >= ?")
    for c in range(2, 6):
        session.execute(insert, ["a", c, c * 1.5, {"y"}])
    assert [tuple(r) for r in session.execute(select, ["a", 4])] == [(5, 7.5), (4, 6.0)]
    assert not session.execute(f"INSERT INTO {keyspace}.copy (p, c) VALUES ('a', 1) IF NOT EXISTS").one()[0]
    assert len(list(session.execute(f"SELECT * FROM {src}"))) == 1

    # And it can be altered and dropped like any table, leaving the source alone.
    session.execute(f"ALTER TABLE {keyspace}.copy ADD extra int")
    session.execute(f"DROP TABLE {keyspace}.copy")
    assert [tuple(r) for r in session.execute(f"SELECT p, c, v FROM {src}")] == [("a", 1, 1.5)]


def test_driver_metadata_sees_the_tables_of_a_keyspace_clone(session, keyspace):
    """A keyspace clone creates tables in one statement; the driver learns of them only
    through schema change events (a KEYSPACE CREATED event makes it load the keyspace row
    alone), so each cloned table must be announced too."""
    clone = keyspace + "_c"
    session.execute(f"DROP KEYSPACE IF EXISTS {clone}")
    try:
        session.execute(f"CREATE KEYSPACE {clone} CLONE {keyspace}")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            known = session.cluster.metadata.keyspaces.get(clone)
            if known is not None and "t" in known.tables:
                break
            time.sleep(0.2)
        known = session.cluster.metadata.keyspaces.get(clone)
        assert known is not None and set(known.tables) == {"t"}, known and set(known.tables)
    finally:
        session.execute(f"DROP KEYSPACE IF EXISTS {clone}")


def test_paged_and_filtered_reads_at_a_snapshot(strata, session, keyspace):
    table = f"{keyspace}.clustered"
    session.execute(f"CREATE TABLE {table} (p int, c int, v int, PRIMARY KEY (p, c))")
    rows = [(p, c, p * 1000 + c) for p in range(5) for c in range(60)]
    insert = session.prepare(f"INSERT INTO {table} (p, c, v) VALUES (?, ?, ?)")
    execute_concurrent_with_args(session, insert, rows, concurrency=32, raise_on_first_error=True)
    expected = [tuple(r) for r in session.execute(f"SELECT p, c, v FROM {table}")]
    nodetool_ok(strata, "snapshot", "-t", "paged", table)
    try:
        session.execute(f"TRUNCATE {table}")
        session.execute(f"INSERT INTO {table} (p, c, v) VALUES (9, 9, 9)")

        paged = SimpleStatement(f"SELECT p, c, v FROM {table} AT SNAPSHOT 'paged'", fetch_size=7)
        result = session.execute(paged)
        assert [tuple(r) for r in result] == expected
        assert result.response_future.has_more_pages is False

        prepared = session.prepare(f"SELECT c, v FROM {table} AT SNAPSHOT 'paged' WHERE p = ? AND c > ? LIMIT 5")
        assert [tuple(r) for r in session.execute(prepared, [3, 50])] == [(c, 3000 + c) for c in range(51, 56)]
        filtered = session.execute(
            f"SELECT count(*) FROM {table} AT SNAPSHOT 'paged' WHERE v > 2000 ALLOW FILTERING").one()[0]
        assert filtered == sum(1 for r in rows if r[2] > 2000)
        assert [tuple(r) for r in session.execute(f"SELECT p, c, v FROM {table}")] == [(9, 9, 9)]
    finally:
        nodetool_ok(strata, "clearsnapshot", "-t", "paged", keyspace)


def test_snapshots_are_consistent_under_concurrent_writes(strata, session, keyspace):
    """A writer inserts k = 0, 1, 2, ... one acknowledged write at a time while other writers
    load a second table at full speed; every snapshot taken meanwhile must hold a prefix 0..m
    of the first (plus at most the one write in flight), and no write may fail because a
    snapshot froze the version it was about to write to."""
    t, busy = f"{keyspace}.t", f"{keyspace}.busy"
    session.execute(f"CREATE TABLE {busy} (k int PRIMARY KEY, v text)")
    stop = threading.Event()
    written, errors = [], []

    def sequential_writer():
        insert = session.prepare(f"INSERT INTO {t} (k, v) VALUES (?, 'x')")
        k = 0
        while not stop.is_set() and k < 100_000:
            session.execute(insert, [k])
            written.append(k)
            k += 1

    def bulk_writer():
        insert = session.prepare(f"INSERT INTO {busy} (k, v) VALUES (?, 'y')")
        for start in range(0, 1_000_000, 500):
            if stop.is_set():
                return
            execute_concurrent_with_args(session, insert, [(k,) for k in range(start, start + 500)],
                                         concurrency=32, raise_on_first_error=True)

    def recording(work):
        def run():
            try:
                work()
            except Exception as error:  # reported by the assertion below
                errors.append(error)
        return threading.Thread(target=run)

    threads = [recording(sequential_writer), recording(bulk_writer)]
    for thread in threads:
        thread.start()
    tags = []
    try:
        for i in range(20):
            time.sleep(0.1)
            acked_before = len(written)
            nodetool_ok(strata, "snapshot", "-t", f"c{i}", t, busy)
            tags.append((f"c{i}", acked_before))
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    try:
        assert not errors, f"writes failed while snapshots were taken: {errors}"
        for tag, acked_before in tags:
            keys = sorted(values(session, t, tag))
            assert len(keys) >= acked_before, f"snapshot {tag} lost acknowledged writes"
            assert keys == list(range(len(keys))) or keys[:-1] == list(range(len(keys) - 1)), (
                f"snapshot {tag} is not a prefix: {len(keys)} keys, max {keys[-1] if keys else None}")
    finally:
        nodetool_ok(strata, "clearsnapshot", "--all", keyspace)


def test_drop_source_keeps_clone_and_drop_clone_keeps_source(strata, session, keyspace):
    write(session, f"{keyspace}.t", {k: str(k) for k in range(50)})
    session.execute(f"CREATE TABLE {keyspace}.a CLONE {keyspace}.t")
    session.execute(f"CREATE TABLE {keyspace}.b CLONE {keyspace}.t")
    session.execute(f"DROP TABLE {keyspace}.t")
    nodetool_ok(strata, "flush")
    nodetool_ok(strata, "compact")
    assert values(session, f"{keyspace}.a") == {k: str(k) for k in range(50)}
    session.execute(f"DROP TABLE {keyspace}.a")
    nodetool_ok(strata, "compact")
    assert values(session, f"{keyspace}.b") == {k: str(k) for k in range(50)}


def test_snapshot_of_a_dropped_then_recreated_table_is_not_read_through_the_new_table(
        strata, session, keyspace):
    """The tag names ks.t as it was; a new table of that name (other columns) must not decode
    the old table's data with its own schema."""
    write(session, f"{keyspace}.t", {1: "text value"})
    nodetool_ok(strata, "snapshot", "-t", "gone", f"{keyspace}.t")
    try:
        session.execute(f"DROP TABLE {keyspace}.t")
        session.execute(f"CREATE TABLE {keyspace}.t (k int PRIMARY KEY, v bigint)")
        try:
            rows = list(session.execute(f"SELECT k, v FROM {keyspace}.t AT SNAPSHOT 'gone'"))
        except InvalidRequest:
            return  # refusing the read is fine
        assert rows == [], f"old data decoded with the new schema: {rows}"
    finally:
        nodetool_ok(strata, "clearsnapshot", "-t", "gone", keyspace)


# ----- errors -----

@pytest.mark.parametrize("cql", [
    "INSERT INTO {t} AT SNAPSHOT 's' (k, v) VALUES (1, 'x')",
    "UPDATE {t} AT SNAPSHOT 's' SET v = 'x' WHERE k = 1",
    "DELETE FROM {t} AT SNAPSHOT 's' WHERE k = 1",
    "TRUNCATE {t} AT SNAPSHOT 's'",
    "BEGIN BATCH INSERT INTO {t} AT SNAPSHOT 's' (k, v) VALUES (1, 'x') APPLY BATCH",
])
def test_writes_to_a_snapshot_are_syntax_errors(strata, session, keyspace, cql):
    t = f"{keyspace}.t"
    session.execute(f"INSERT INTO {t} (k, v) VALUES (1, 'before')")
    nodetool_ok(strata, "snapshot", "-t", "s", t)
    try:
        with pytest.raises(SyntaxException):
            session.execute(cql.format(t=t))
        assert values(session, t, "s") == {1: "before"}
        assert values(session, t) == {1: "before"}
    finally:
        nodetool_ok(strata, "clearsnapshot", "-t", "s", keyspace)


def test_unknown_snapshot_tag(strata, session, keyspace):
    t = f"{keyspace}.t"
    message = f"Snapshot 'nope' does not exist for table {t}"
    expect_invalid(session, f"SELECT * FROM {t} AT SNAPSHOT 'nope'", message)
    expect_invalid(session, f"CREATE TABLE {keyspace}.c CLONE {t} AT SNAPSHOT 'nope'", message)
    expect_invalid(session, f"RESTORE TABLE {t} FROM SNAPSHOT 'nope'", message)
    with pytest.raises(InvalidRequest) as error:
        session.execute(f"RESTORE KEYSPACE {keyspace} FROM SNAPSHOT 'nope'")
    assert "'nope'" in server_message(error.value)
    with pytest.raises(InvalidRequest):
        session.execute(f"CREATE KEYSPACE {keyspace}_c CLONE {keyspace} AT SNAPSHOT 'nope'")
    with pytest.raises(InvalidRequest):
        session.execute(f"SELECT * FROM {keyspace}.c")  # the failed clone left no table behind


def test_clone_onto_an_existing_name(session, keyspace):
    session.execute(f"CREATE TABLE {keyspace}.other (k int PRIMARY KEY, v text)")
    session.execute(f"INSERT INTO {keyspace}.other (k, v) VALUES (1, 'mine')")
    with pytest.raises(AlreadyExists) as error:
        session.execute(f"CREATE TABLE {keyspace}.other CLONE {keyspace}.t")
    assert (error.value.keyspace, error.value.table) == (keyspace, "other")
    session.execute(f"CREATE TABLE IF NOT EXISTS {keyspace}.other CLONE {keyspace}.t")
    assert values(session, f"{keyspace}.other") == {1: "mine"}

    with pytest.raises(AlreadyExists) as error:
        session.execute(f"CREATE KEYSPACE {keyspace} CLONE {keyspace}")
    assert error.value.keyspace == keyspace
    session.execute(f"CREATE KEYSPACE IF NOT EXISTS {keyspace} CLONE {keyspace}")
    expect_invalid(session, f"CREATE TABLE {keyspace}.x CLONE {keyspace}.missing",
                   "table missing does not exist")


def test_nodetool_snapshot_errors(strata, session, keyspace):
    out = nodetool_fails(strata, "clearsnapshot")
    assert "Specify snapshot name or --all" in out
    nodetool_ok(strata, "snapshot", "-t", "dup", keyspace)
    try:
        assert "Snapshot dup already exists." in nodetool_fails(strata, "snapshot", "-t", "dup", keyspace)
        assert "does not exist" in nodetool_fails(strata, "snapshot", "-t", "x", keyspace + "_missing")
        assert "does not exist" in nodetool_fails(strata, "snapshot", "-t", "x", keyspace + ".missing")
    finally:
        nodetool_ok(strata, "clearsnapshot", "-t", "dup", keyspace)


# ----- restart and crash -----

def session_on(server):
    """A session on a node that may still be starting."""
    deadline = time.monotonic() + RESTART_QUERY_TIMEOUT_S
    while True:
        try:
            return connect(server)
        except NoHostAvailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.mark.parametrize("stop", ["restart", "kill9"])
def test_snapshots_clones_and_restores_survive_restart(strata_factory, stop):
    node = strata_factory.start()
    bounce = node.restart if stop == "restart" else node.crash_and_restart
    session = session_on(node)
    try:
        create_keyspace(session, "dur")
        session.execute("CREATE TABLE dur.t (k int PRIMARY KEY, v text)")
        write(session, "dur.t", {k: f"v{k}" for k in range(200)})
        nodetool_ok(node, "snapshot", "-t", "before", "dur")
        write(session, "dur.t", {k: "changed" for k in range(100)})
        session.execute("CREATE TABLE dur.c CLONE dur.t AT SNAPSHOT 'before'")
        session.execute("INSERT INTO dur.c (k, v) VALUES (999, 'clone')")
    finally:
        session.cluster.shutdown()

    original = {k: f"v{k}" for k in range(200)}
    changed = {**original, **{k: "changed" for k in range(100)}}
    bounce()
    session = session_on(node)
    try:
        assert values(session, "dur.t", "before") == original
        assert values(session, "dur.t") == changed
        assert values(session, "dur.c") == {**original, 999: "clone"}
        assert "before" in nodetool_ok(node, "listsnapshots")
        session.execute("RESTORE TABLE dur.t FROM SNAPSHOT 'before'")
        session.execute("INSERT INTO dur.t (k, v) VALUES (500, 'after-restore')")
    finally:
        session.cluster.shutdown()

    bounce()
    session = session_on(node)
    try:
        assert values(session, "dur.t") == {**original, 500: "after-restore"}
        nodetool_ok(node, "clearsnapshot", "-t", "before")
    finally:
        session.cluster.shutdown()

    bounce()
    session = session_on(node)
    try:
        assert "There are no snapshots" in nodetool_ok(node, "listsnapshots")
        expect_invalid(session, "SELECT * FROM dur.t AT SNAPSHOT 'before'",
                       "Snapshot 'before' does not exist for table dur.t")
        assert values(session, "dur.c") == {**original, 999: "clone"}
        assert values(session, "dur.t") == {**original, 500: "after-restore"}
    finally:
        session.cluster.shutdown()


def test_keyspace_clone_with_a_user_type_survives_restart(strata_factory):
    """A keyspace clone must bring the source keyspace's user types along: its tables'
    columns refer to them, and the node reloads the schema at startup."""
    node = strata_factory.start()
    session = session_on(node)
    try:
        create_keyspace(session, "typed")
        session.execute("CREATE TYPE typed.addr (street text, zip int)")
        session.execute("CREATE TABLE typed.t (k int PRIMARY KEY, a frozen<addr>)")
        session.execute("INSERT INTO typed.t (k, a) VALUES (1, {street: 'Main', zip: 42})")
        session.execute("CREATE KEYSPACE typed_c CLONE typed")
        assert session.execute("SELECT a FROM typed_c.t WHERE k = 1").one().a.zip == 42
        session.execute("CREATE TABLE typed.after (k int PRIMARY KEY)")  # DDL still works
    finally:
        session.cluster.shutdown()
    node.restart()
    session = session_on(node)
    try:
        assert session.execute("SELECT a FROM typed_c.t WHERE k = 1").one().a.street == "Main"
    finally:
        session.cluster.shutdown()


# ----- space -----

def dir_bytes(path):
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(root, name))
            except OSError:
                pass  # a merge removed it meanwhile
    return total


def snapshot_bytes(node, table, tag):
    """Bytes tablestats reports as held exclusively by `tag`, or None if it lists no such line."""
    for line in nodetool_ok(node, "tablestats", table).splitlines():
        if f"exclusively by snapshot {tag}:" in line:
            return int(line.rsplit(":", 1)[1])
    return None


ROWS = 4000  # of about 1 KB each, so a few MB change hands


@pytest.fixture
def space_node(strata_factory):
    """A private node with an empty table space.t (k int PRIMARY KEY, v text); yields (node, session)."""
    node = strata_factory.start()
    session = session_on(node)
    try:
        create_keyspace(session, "space")
        session.execute("CREATE TABLE space.t (k int PRIMARY KEY, v text)")
        yield node, session
    finally:
        session.cluster.shutdown()


def data_dir_bytes(node):
    return dir_bytes(os.path.join(node.data_dir, "data"))


def data_dir_bytes_once_below(node, limit, timeout_s=10):
    """The data dir's size once it is at most `limit` bytes, or after timeout_s: a replaced
    array file is removed when the last reader lets go of it, maybe just after compact."""
    deadline = time.monotonic() + timeout_s
    while (size := data_dir_bytes(node)) > limit and time.monotonic() < deadline:
        time.sleep(0.2)
    return size


def test_clearsnapshot_and_compact_give_the_space_back(space_node):
    node, session = space_node
    write(session, "space.t", {k: "a" * 1000 + str(k) for k in range(ROWS)})
    nodetool_ok(node, "flush")
    nodetool_ok(node, "snapshot", "-t", "big", "space.t")
    # Overwrite every row: the snapshot alone now holds the old values.
    write(session, "space.t", {k: "b" * 1000 + str(k) for k in range(ROWS)})
    nodetool_ok(node, "flush")
    nodetool_ok(node, "compact")
    held = snapshot_bytes(node, "space.t", "big")
    assert held is not None and held >= ROWS * 1000, nodetool_ok(node, "tablestats", "space.t")
    before = data_dir_bytes(node)

    nodetool_ok(node, "clearsnapshot", "-t", "big")
    nodetool_ok(node, "compact")
    assert snapshot_bytes(node, "space.t", "big") is None
    after = data_dir_bytes_once_below(node, before - ROWS * 1000 * 0.8)
    assert after <= before - ROWS * 1000 * 0.8, f"data dir {before} -> {after} bytes"
    assert values(session, "space.t") == {k: "b" * 1000 + str(k) for k in range(ROWS)}


def test_a_fresh_snapshot_holds_no_bytes_exclusively(space_node):
    """Right after `nodetool snapshot` the live table still sees every byte the snapshot
    sees, so tablestats must report nothing held exclusively by the snapshot; only data the
    table overwrites or deletes afterwards becomes the snapshot's alone."""
    node, session = space_node
    write(session, "space.t", {k: "a" * 1000 for k in range(500)})
    nodetool_ok(node, "flush")
    nodetool_ok(node, "snapshot", "-t", "fresh", "space.t")
    assert snapshot_bytes(node, "space.t", "fresh") == 0, nodetool_ok(node, "tablestats", "space.t")


def test_dropping_a_clone_gives_its_space_back(space_node):
    node, session = space_node
    write(session, "space.t", {k: str(k) for k in range(10)})
    session.execute("CREATE TABLE space.c CLONE space.t")
    write(session, "space.c", {k: "c" * 1000 + str(k) for k in range(ROWS)})
    nodetool_ok(node, "flush")
    nodetool_ok(node, "compact")
    live = next(int(line.rsplit(":", 1)[1]) for line in nodetool_ok(node, "tablestats", "space.c").splitlines()
                if "exclusively (live)" in line)
    assert live >= ROWS * 1000
    before = data_dir_bytes(node)
    session.execute("DROP TABLE space.c")
    nodetool_ok(node, "compact")
    after = data_dir_bytes_once_below(node, before - ROWS * 1000 * 0.8)
    assert after <= before - ROWS * 1000 * 0.8, f"data dir {before} -> {after} bytes"
    assert values(session, "space.t") == {k: str(k) for k in range(10)}


def test_a_dropped_clone_of_the_current_state_pins_nothing(space_node):
    """`CREATE TABLE .. CLONE` without AT SNAPSHOT freezes the source's current state for the
    clone; once the clone is dropped, nothing may keep that frozen state's overwritten rows."""
    node, session = space_node
    write(session, "space.t", {k: "a" * 1000 + str(k) for k in range(ROWS)})
    session.execute("CREATE TABLE space.c CLONE space.t")
    session.execute("DROP TABLE space.c")
    nodetool_ok(node, "flush")
    nodetool_ok(node, "compact")
    before = data_dir_bytes(node)
    write(session, "space.t", {k: "b" * 1000 + str(k) for k in range(ROWS)})
    nodetool_ok(node, "flush")
    nodetool_ok(node, "compact")
    after = data_dir_bytes_once_below(node, before + ROWS * 1000 * 0.2)
    assert after <= before + ROWS * 1000 * 0.2, f"data dir {before} -> {after} bytes after overwriting every row"
    assert values(session, "space.t") == {k: "b" * 1000 + str(k) for k in range(ROWS)}
