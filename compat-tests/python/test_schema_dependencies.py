"""Schema changes that must respect a table's secondary indexes and materialized views, with
Cassandra's messages: TRUNCATE empties them too, DROP TABLE refuses while views depend on the
table, ALTER TABLE DROP refuses an indexed column."""

import pytest

from driver_helpers import create_keyspace, expect_invalid

KS = "compat_deps"


@pytest.fixture
def ks(session):
    create_keyspace(session, KS)
    session.execute(f"CREATE TABLE {KS}.t (k int PRIMARY KEY, v int, w int)")
    session.execute(f"CREATE INDEX t_v_idx ON {KS}.t (v)")
    session.execute(f"CREATE MATERIALIZED VIEW {KS}.mv AS SELECT * FROM {KS}.t "
                    f"WHERE k IS NOT NULL AND w IS NOT NULL PRIMARY KEY (w, k)")
    session.execute(f"INSERT INTO {KS}.t (k, v, w) VALUES (1, 2, 3)")
    yield KS
    session.execute(f"DROP KEYSPACE IF EXISTS {KS}")


def test_truncate_empties_the_indexes_and_views_too(session, ks):
    session.execute(f"TRUNCATE {ks}.t")
    assert list(session.execute(f"SELECT k FROM {ks}.t WHERE v = 2")) == []
    assert list(session.execute(f"SELECT k FROM {ks}.mv")) == []
    session.execute(f"INSERT INTO {ks}.t (k, v, w) VALUES (5, 2, 7)")
    assert [r.k for r in session.execute(f"SELECT k FROM {ks}.t WHERE v = 2")] == [5]
    assert [(r.w, r.k) for r in session.execute(f"SELECT w, k FROM {ks}.mv")] == [(7, 5)]


def test_drop_table_refuses_while_views_depend_on_it(session, ks):
    expect_invalid(session, f"DROP TABLE {ks}.t",
                   f"Cannot drop table when materialized views still depend on it ({ks}.mv)")
    expect_invalid(session, f"DROP TABLE {ks}.mv",
                   "Cannot use DROP TABLE on a materialized view. "
                   "Please use DROP MATERIALIZED VIEW instead.")
    session.execute(f"DROP MATERIALIZED VIEW {ks}.mv")
    session.execute(f"DROP TABLE {ks}.t")
    assert session.execute(
        f"SELECT index_name FROM system_schema.indexes WHERE keyspace_name = '{ks}'").one() is None


def test_an_indexed_column_cannot_be_dropped(session, ks):
    expect_invalid(session, f"ALTER TABLE {ks}.t DROP v",
                   "Cannot drop column v because it has dependent secondary indexes (t_v_idx)")
