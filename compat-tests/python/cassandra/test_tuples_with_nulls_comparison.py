"""Frozen UDT clustering keys compared across added (null) fields, after Cassandra's
cql3/validation/operations/TuplesWithNullsComparisonTest."""


def test_add_udt_field(t):
    typ = t.create_type("create type %s (foo text)")
    t.create_table(f"create table %s (pk int, ck frozen<{typ}>, v int, primary key(pk, ck))")
    t.execute("""insert into %s (pk, ck, v) values (0, system.fromjson('{"foo": "foo"}'), 0)""")
    t.session.execute(f"ALTER TYPE {typ} ADD bar text")
    t.execute("""insert into %s (pk, ck, v) values (0, system.fromjson('{"foo": "foo"}'), 1)""")
    t.execute("""insert into %s (pk, ck, v) values (0, system.fromjson('{"foo": "foo", "bar": null}'), 2)""")
    assert t.rows("""select v from %s where pk = 0 and ck=system.fromjson('{"foo": "foo"}')""") == [(2,)]
    assert t.rows("select v from %s where pk = 0") == [(2,)]


def test_field_with_data(t):
    typ = t.create_type("create type %s (foo text)")
    t.create_table(f"create table %s (pk int, ck frozen<{typ}>, v int, primary key(pk, ck))")
    t.execute("""insert into %s (pk, ck, v) values (0, system.fromjson('{"foo": "foo"}'), 1)""")
    t.session.execute(f"ALTER TYPE {typ} ADD bar text")
    t.execute("""insert into %s (pk, ck, v) values (0, system.fromjson('{"foo": "foo", "bar": "bar"}'), 2)""")
    assert t.rows("select v from %s where pk = 0") == [(1,), (2,)]


def test_add_udt_fields(t):
    typ = t.create_type("create type %s (foo text)")
    t.create_table(f"create table %s (pk int, ck frozen<{typ}>, v int, primary key(pk, ck))")
    t.execute("""insert into %s (pk, ck, v) values (0, system.fromjson('{"foo": "foo"}'), 0)""")
    for field in ("bar", "bar2", "bar3"):
        t.session.execute(f"ALTER TYPE {typ} ADD {field} text")
    t.execute("""insert into %s (pk, ck, v) values (0, system.fromjson('{"foo": "foo"}'), 1)""")
    t.execute("""insert into %s (pk, ck, v) values (0, system.fromjson('{"foo": "foo", "bar": null, "bar2": null, "bar3": null}'), 2)""")
    assert t.rows("""select v from %s where pk = 0 and ck=system.fromjson('{"foo": "foo"}')""") == [(2,)]
    assert t.rows("select v from %s where pk = 0") == [(2,)]
