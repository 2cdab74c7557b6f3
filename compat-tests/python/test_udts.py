"""User-defined types: CREATE/ALTER/DROP TYPE, frozen and non-frozen UDT columns, UDTs in
collections, tuples, system_schema.types, DESCRIBE, schema events and Cassandra's errors."""

import pytest
from cassandra import InvalidRequest

from driver_helpers import create_keyspace, expect_invalid


@pytest.fixture(scope="module")
def ks(session):
    create_keyspace(session, "dm_udt")
    session.execute("CREATE TYPE dm_udt.address (street text, zip int)")
    session.execute("CREATE TYPE dm_udt.person (name text, home frozen<address>)")
    session.execute("CREATE TABLE dm_udt.t (k int PRIMARY KEY, a address, fa frozen<address>, "
                    "people list<frozen<person>>, pair tuple<int, text>)")
    yield "dm_udt"
    session.execute("DROP KEYSPACE IF EXISTS dm_udt")


def row(session, k):
    return session.execute("SELECT * FROM dm_udt.t WHERE k = %s", (k,)).one()


def test_frozen_and_non_frozen_values(session, ks):
    session.execute("INSERT INTO dm_udt.t (k, a, fa, pair) VALUES "
                    "(1, {street: 'Main', zip: 1}, {street: 'Side', zip: 2}, (7, 'x'))")
    r = row(session, 1)
    assert (r.a.street, r.a.zip) == ("Main", 1)
    assert (r.fa.street, r.fa.zip) == ("Side", 2)
    assert r.pair == (7, "x")


def test_field_update_and_delete_on_non_frozen(session, ks):
    session.execute("INSERT INTO dm_udt.t (k, a) VALUES (2, {street: 'Main', zip: 1})")
    session.execute("UPDATE dm_udt.t SET a.zip = 99 WHERE k = 2")
    r = row(session, 2)
    assert (r.a.street, r.a.zip) == ("Main", 99)
    session.execute("DELETE a.street FROM dm_udt.t WHERE k = 2")
    r = row(session, 2)
    assert (r.a.street, r.a.zip) == (None, 99)
    expect_invalid(session, "UPDATE dm_udt.t SET fa.zip = 1 WHERE k = 2",
                   "Invalid operation (fa.zip = 1) for frozen UDT column fa")


def test_udts_in_collections(session, ks):
    session.execute("INSERT INTO dm_udt.t (k, people) VALUES "
                    "(3, [{name: 'ann', home: {street: 'A', zip: 1}}])")
    session.execute("UPDATE dm_udt.t SET people = people + [{name: 'bob'}] WHERE k = 3")
    people = row(session, 3).people
    assert [p.name for p in people] == ["ann", "bob"]
    assert people[0].home.street == "A" and people[1].home is None


def test_prepared_udt_binding(session, ks):
    insert = session.prepare("INSERT INTO dm_udt.t (k, fa) VALUES (?, ?)")
    address = session.cluster.metadata.keyspaces["dm_udt"].user_types["address"]
    # The driver binds a UDT from a tuple (or an object with the field attributes).
    session.execute(insert, (4, ("Bound", 4)))
    assert row(session, 4).fa.street == "Bound"
    assert address.field_names == ["street", "zip"]


def test_system_schema_types_and_describe(session, ks):
    rows = list(session.execute("SELECT type_name, field_names, field_types FROM system_schema.types "
                                "WHERE keyspace_name = 'dm_udt'"))
    assert [(r.type_name, r.field_names, r.field_types) for r in rows] == [
        ("address", ["street", "zip"], ["text", "int"]),
        ("person", ["name", "home"], ["text", "frozen<address>"]),
    ]
    described = session.execute("DESCRIBE TYPE dm_udt.address").one()
    assert described.create_statement == "CREATE TYPE dm_udt.address (\n    street text,\n    zip int\n);"


def test_alter_type(session, ks):
    session.execute("CREATE TYPE dm_udt.point (x int)")
    session.execute("CREATE TABLE dm_udt.p (k int PRIMARY KEY, pt frozen<point>)")
    session.execute("INSERT INTO dm_udt.p (k, pt) VALUES (1, {x: 1})")
    session.execute("ALTER TYPE dm_udt.point ADD y int")
    session.execute("ALTER TYPE dm_udt.point RENAME x TO x0")
    session.execute("INSERT INTO dm_udt.p (k, pt) VALUES (2, {x0: 2, y: 3})")
    old = session.execute("SELECT pt FROM dm_udt.p WHERE k = 1").one().pt
    new = session.execute("SELECT pt FROM dm_udt.p WHERE k = 2").one().pt
    assert (old.x0, old.y) == (1, None)
    assert (new.x0, new.y) == (2, 3)


def test_errors(session, ks):
    expect_invalid(session, "CREATE TYPE dm_udt.address (a int)", "A user type with name 'address' already exists")
    expect_invalid(session, "DROP TYPE dm_udt.address",
                   "Cannot drop user type 'dm_udt.address' as it is still used by tables t")
    expect_invalid(session, "CREATE TABLE dm_udt.bad (a address PRIMARY KEY)",
                   "Invalid non-frozen user-defined type for PRIMARY KEY component a")
    expect_invalid(session, "CREATE TABLE dm_udt.bad2 (k int PRIMARY KEY, l list<dm_udt.address>)",
                   "Non-frozen UDTs are not allowed inside collections: list<dm_udt.address>")
    expect_invalid(session, "CREATE TABLE dm_udt.bad3 (l list<int> PRIMARY KEY)",
                   "Invalid non-frozen collection type for PRIMARY KEY component l")
    expect_invalid(session, "DROP TYPE dm_udt.nope", "User type 'dm_udt.nope' doesn't exist")
    session.execute("DROP TYPE IF EXISTS dm_udt.nope")


def test_drop_unused_type(session, ks):
    session.execute("CREATE TYPE dm_udt.unused (a int)")
    session.execute("DROP TYPE dm_udt.unused")
    assert "unused" not in [r.type_name for r in session.execute(
        "SELECT type_name FROM system_schema.types WHERE keyspace_name = 'dm_udt'")]


def test_field_selection(session, ks):
    session.execute("INSERT INTO dm_udt.t (k, a, fa) VALUES (6, {street: 'S', zip: 6}, {street: 'F', zip: 7})")
    rs = session.execute("SELECT a.zip, fa.street FROM dm_udt.t WHERE k = 6")
    assert rs.column_names == ["a.zip", "fa.street"]
    assert list(rs.one()) == [6, "F"]
    expect_invalid(session, "SELECT pair.x FROM dm_udt.t WHERE k = 6",
                   "Invalid field selection: pair of type frozen<tuple<int, text>> is not a user type")


def test_writetime_of_non_frozen_udt_lists_fields(session, ks):
    session.execute("INSERT INTO dm_udt.t (k, a) VALUES (7, {street: 'x', zip: 7}) USING TIMESTAMP 50")
    session.execute("UPDATE dm_udt.t USING TIMESTAMP 60 SET a.zip = 8 WHERE k = 7")
    assert session.execute("SELECT writetime(a) FROM dm_udt.t WHERE k = 7").one()[0] == [50, 60]


def test_non_frozen_udt_with_non_frozen_collection_field(session, ks):
    session.execute("CREATE TYPE dm_udt.bag (items list<int>)")
    expect_invalid(session, "CREATE TABLE dm_udt.bags (k int PRIMARY KEY, b bag)",
                   "Non-frozen UDTs with nested non-frozen collections are not supported")
    session.execute("CREATE TABLE dm_udt.bags (k int PRIMARY KEY, b frozen<bag>)")
    session.execute("INSERT INTO dm_udt.bags (k, b) VALUES (1, {items: [1, 2]})")
    assert session.execute("SELECT b FROM dm_udt.bags WHERE k = 1").one().b.items == [1, 2]
    expect_invalid(session, "ALTER TABLE dm_udt.bags ADD b2 bag",
                   "Non-frozen UDTs with nested non-frozen collections are not supported")


def test_clones_and_user_types(session, ks):
    create_keyspace(session, "dm_udt_other")
    try:
        expect_invalid(session, "CREATE TABLE dm_udt_other.t CLONE dm_udt.t", "Unknown type address")
        session.execute("CREATE KEYSPACE dm_udt_copy CLONE dm_udt")
        rows = session.execute("SELECT type_name FROM system_schema.types WHERE keyspace_name = 'dm_udt_copy'")
        assert "address" in [r.type_name for r in rows]
        assert session.execute("SELECT fa FROM dm_udt_copy.t WHERE k = 1").one().fa.street == "Side"
    finally:
        session.execute("DROP KEYSPACE IF EXISTS dm_udt_other")
        session.execute("DROP KEYSPACE IF EXISTS dm_udt_copy")
