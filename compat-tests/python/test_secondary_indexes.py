"""Secondary indexes: CREATE/DROP INDEX on regular, static and collection columns (keys,
values, entries, full), system_schema.indexes, DESCRIBE, schema change events, SELECT
through an index without ALLOW FILTERING, and index maintenance on every write."""

import pytest

from driver_helpers import create_keyspace, expect_invalid

KS = "compat_idx"
FILTERING = ("Cannot execute this query as it might involve data filtering and thus may have unpredictable "
             "performance. If you want to execute this query despite the performance unpredictability, "
             "use ALLOW FILTERING")


@pytest.fixture(scope="module")
def idx_ks(session):
    create_keyspace(session, KS)
    session.execute(f"CREATE TABLE {KS}.t (k int, c int, v int, w int, s int static, m map<text, int>, "
                    "l list<int>, st set<text>, f frozen<list<int>>, PRIMARY KEY (k, c))")
    # Rows written before the index exists are indexed when it is created.
    session.execute(f"INSERT INTO {KS}.t (k, c, v, s) VALUES (1, 1, 10, 100)")
    session.execute(f"INSERT INTO {KS}.t (k, c, v) VALUES (1, 2, 20)")
    session.execute(f"INSERT INTO {KS}.t (k, c, v) VALUES (2, 1, 10)")
    for target in ["v", "s", "keys(m)", "values(l)", "st", "full(f)"]:
        session.execute(f"CREATE INDEX ON {KS}.t ({target})")
    session.execute(f"CREATE INDEX m_entries ON {KS}.t (entries(m))")
    session.execute(f"CREATE INDEX m_values ON {KS}.t (values(m))")
    yield KS
    session.execute(f"DROP KEYSPACE IF EXISTS {KS}")


def keys(session, where):
    return sorted((r.k, r.c) for r in session.execute(f"SELECT k, c FROM {KS}.t WHERE {where}"))


def test_system_schema_indexes(session, idx_ks):
    rows = session.execute("SELECT index_name, kind, options FROM system_schema.indexes "
                           f"WHERE keyspace_name = '{KS}' AND table_name = 't'")
    targets = {r.index_name: (r.kind, r.options["target"]) for r in rows}
    assert targets["t_v_idx"] == ("COMPOSITES", "v")
    assert targets["t_m_idx"] == ("COMPOSITES", "keys(m)")
    assert targets["t_st_idx"] == ("COMPOSITES", "values(st)")
    assert targets["t_f_idx"] == ("COMPOSITES", "full(f)")
    assert targets["m_entries"] == ("COMPOSITES", "entries(m)")


def test_driver_metadata_sees_indexes(session, idx_ks):
    session.cluster.refresh_table_metadata(KS, "t")
    table = session.cluster.metadata.keyspaces[KS].tables["t"]
    assert "t_v_idx" in table.indexes
    assert "CREATE INDEX t_v_idx ON compat_idx.t (v)" in table.export_as_string()


def test_equality_on_indexed_column_needs_no_allow_filtering(session, idx_ks):
    assert keys(session, "v = 10") == [(1, 1), (2, 1)]
    assert keys(session, "s = 100") == [(1, 1), (1, 2)]


def test_index_follows_updates_and_deletes(session, idx_ks):
    session.execute(f"INSERT INTO {KS}.t (k, c, v) VALUES (3, 1, 7)")
    assert keys(session, "v = 7") == [(3, 1)]
    session.execute(f"UPDATE {KS}.t SET v = 8 WHERE k = 3 AND c = 1")
    assert keys(session, "v = 7") == []
    assert keys(session, "v = 8") == [(3, 1)]
    session.execute(f"DELETE v FROM {KS}.t WHERE k = 3 AND c = 1")
    assert keys(session, "v = 8") == []
    session.execute(f"INSERT INTO {KS}.t (k, c, v) VALUES (3, 2, 9)")
    session.execute(f"DELETE FROM {KS}.t WHERE k = 3")
    assert keys(session, "v = 9") == []


def test_collection_indexes(session, idx_ks):
    session.execute(f"INSERT INTO {KS}.t (k, c, m, l, st, f) VALUES (4, 1, {{'a': 1}}, [5], {{'x'}}, [1, 2])")
    assert keys(session, "m CONTAINS KEY 'a'") == [(4, 1)]
    assert keys(session, "m CONTAINS 1") == [(4, 1)]
    assert keys(session, "l CONTAINS 5") == [(4, 1)]
    assert keys(session, "st CONTAINS 'x'") == [(4, 1)]
    assert keys(session, "f = [1, 2]") == [(4, 1)]
    session.execute(f"UPDATE {KS}.t SET m['b'] = 2, st = st + {{'y'}}, l = l + [6] WHERE k = 4 AND c = 1")
    session.execute(f"UPDATE {KS}.t SET m = m - {{'a'}}, st = st - {{'x'}} WHERE k = 4 AND c = 1")
    assert keys(session, "m CONTAINS KEY 'a'") == []
    assert keys(session, "m CONTAINS KEY 'b'") == [(4, 1)]
    assert keys(session, "st CONTAINS 'x'") == []
    assert keys(session, "st CONTAINS 'y'") == [(4, 1)]
    assert keys(session, "l CONTAINS 6") == [(4, 1)]
    session.execute(f"UPDATE {KS}.t SET m = {{'c': 3}} WHERE k = 4 AND c = 1")
    assert keys(session, "m CONTAINS KEY 'b'") == []
    assert keys(session, "m CONTAINS 3") == [(4, 1)]


def test_paging_through_an_index(session, idx_ks):
    for k in range(10, 20):
        session.execute(f"INSERT INTO {KS}.t (k, c, v) VALUES ({k}, 1, 55)")
    from cassandra.query import SimpleStatement
    rows = list(session.execute(SimpleStatement(f"SELECT k FROM {KS}.t WHERE v = 55", fetch_size=3)))
    assert sorted(r.k for r in rows) == list(range(10, 20))


def test_other_restrictions_still_need_allow_filtering(session, idx_ks):
    expect_invalid(session, f"SELECT * FROM {KS}.t WHERE v = 10 AND w = 1", FILTERING)
    expect_invalid(session, f"SELECT * FROM {KS}.t WHERE w = 1", FILTERING)
    assert keys(session, "v = 10 AND w = 1 ALLOW FILTERING") == []


@pytest.mark.parametrize("cql,message", [
    (f"CREATE INDEX ON {KS}.t (k)", "Cannot create secondary index on the only partition key column k"),
    (f"CREATE INDEX ON {KS}.t (f)", "Cannot create values() index on frozen column f. Frozen collections are "
                                    "immutable and must be fully indexed by using the 'full(f)' modifier"),
    (f"CREATE INDEX ON {KS}.t (keys(l))", "Cannot create index on keys of column l with non-map type"),
    (f"CREATE INDEX ON {KS}.t (full(m))", "full() indexes can only be created on frozen collections"),
    (f"CREATE INDEX t_v_idx ON {KS}.t (w)", "Index 't_v_idx' already exists"),
    (f"CREATE INDEX other ON {KS}.t (v)", "Index other is a duplicate of existing index t_v_idx"),
    (f"DROP INDEX {KS}.nope", f"Index '{KS}.nope' doesn't exist"),
])
def test_create_index_errors(session, idx_ks, cql, message):
    expect_invalid(session, cql, message)


def test_create_if_not_exists_and_drop(session, idx_ks):
    session.execute(f"CREATE INDEX IF NOT EXISTS t_v_idx ON {KS}.t (w)")
    session.execute(f"CREATE INDEX w_idx ON {KS}.t (w)")
    assert keys(session, "w = 1") == []
    session.execute(f"DROP INDEX {KS}.w_idx")
    session.execute(f"DROP INDEX IF EXISTS {KS}.w_idx")
    expect_invalid(session, f"SELECT * FROM {KS}.t WHERE w = 1", FILTERING)


def test_describe_index(session, idx_ks):
    rows = session.execute(f"DESCRIBE INDEX {KS}.t_v_idx").all()
    assert rows[0].create_statement == "CREATE INDEX t_v_idx ON compat_idx.t (v);"
    table_rows = session.execute(f"DESCRIBE TABLE {KS}.t").all()
    assert [r.type for r in table_rows][0] == "table"
    assert any(r.create_statement == "CREATE INDEX t_v_idx ON compat_idx.t (v);" for r in table_rows)


def test_conditional_writes_maintain_the_index(session, idx_ks):
    assert session.execute(f"INSERT INTO {KS}.t (k, c, v) VALUES (30, 1, 300) IF NOT EXISTS").one()[0] is True
    assert keys(session, "v = 300") == [(30, 1)]
    assert session.execute(f"UPDATE {KS}.t SET v = 301 WHERE k = 30 AND c = 1 IF v = 300").one()[0] is True
    assert keys(session, "v = 300") == []
    assert keys(session, "v = 301") == [(30, 1)]


def test_indexes_on_key_columns(session, idx_ks):
    session.execute(f"CREATE TABLE {KS}.kc (a int, b int, c int, v int, PRIMARY KEY ((a, b), c))")
    session.execute(f"INSERT INTO {KS}.kc (a, b, c, v) VALUES (1, 1, 5, 0)")
    session.execute(f"CREATE INDEX ON {KS}.kc (b)")
    session.execute(f"CREATE INDEX ON {KS}.kc (c)")
    session.execute(f"INSERT INTO {KS}.kc (a, b, c, v) VALUES (2, 1, 6, 0)")
    session.execute(f"UPDATE {KS}.kc SET v = 1 WHERE a = 3 AND b = 2 AND c = 5")

    def rows(where):
        return sorted(tuple(r) for r in session.execute(f"SELECT a, b, c FROM {KS}.kc WHERE {where}"))
    assert rows("b = 1") == [(1, 1, 5), (2, 1, 6)]
    assert rows("c = 5") == [(1, 1, 5), (3, 2, 5)]
    session.execute(f"DELETE FROM {KS}.kc WHERE a = 1 AND b = 1")
    assert rows("b = 1") == [(2, 1, 6)]
    assert rows("c = 5") == [(3, 2, 5)]
