"""LWT conditions on whole collections, collection elements and UDTs, after Cassandra's
cql3/validation/operations/InsertUpdateIfConditionCollectionsTest."""

import pytest
from cassandra import InvalidRequest
from cassandra.protocol import SyntaxException

from cql3_tester import UNSET

FROZEN = [False, True]


class Conditions:
    """Runs `UPDATE ... SET <column> = <value> WHERE k = 0 IF <condition>` and checks the
    [applied] row and that the stored value is unchanged (Cassandra's check_applies_*)."""

    def __init__(self, t, assignment, stored):
        self.t, self.assignment, self.stored = t, assignment, stored

    def statement(self, condition):
        return f"UPDATE %s SET {self.assignment} WHERE k=0 IF {condition}"

    def applies(self, condition):
        assert self.t.rows(self.statement(condition)) == [(True,)], condition
        assert self.t.rows("SELECT * FROM %s") == [(0, self.stored)], condition

    def does_not_apply(self, condition):
        assert self.t.rows(self.statement(condition)) == [(False, self.stored)], condition
        assert self.t.rows("SELECT * FROM %s") == [(0, self.stored)], condition

    def invalid(self, condition, error=InvalidRequest):
        with pytest.raises(error):
            self.t.execute(self.statement(condition))
        assert self.t.rows("SELECT * FROM %s") == [(0, self.stored)], condition


def frozen_type(frozen, text):
    return f"frozen<{text}>" if frozen else text


def test_insert_set_if_not_exists(t):
    t.create_table("CREATE TABLE %s (k int PRIMARY KEY, s set<int>)")
    assert t.rows("INSERT INTO %s (k, s) VALUES (0, {1, 2, 3}) IF NOT EXISTS") == [(True,)]
    assert t.rows("SELECT * FROM %s ") == [(0, {1, 2, 3})]


@pytest.mark.parametrize("frozen", FROZEN)
def test_whole_list(t, frozen):
    t.create_table(f"CREATE TABLE %s (k int PRIMARY KEY, l {frozen_type(frozen, 'list<text>')})")
    t.execute("INSERT INTO %s(k, l) VALUES (0, ['foo', 'bar', 'foobar'])")
    c = Conditions(t, "l = ['foo', 'bar', 'foobar']", ["foo", "bar", "foobar"])
    for condition in ["l = ['foo', 'bar', 'foobar']", "l != ['baz']", "l > ['a']", "l >= ['a']", "l < ['z']",
                      "l <= ['z']", "l IN (null, ['foo', 'bar', 'foobar'], ['a'])", "l CONTAINS 'bar'",
                      "l > ['aaa', 'bbb'] AND l > ['aaa']", "l != null AND l IN (['foo', 'bar', 'foobar'])",
                      "l CONTAINS 'foo' AND l CONTAINS 'foobar'"]:
        c.applies(condition)
    for condition in ["l = ['baz']", "l != ['foo', 'bar', 'foobar']", "l > ['z']", "l >= ['z']", "l < ['a']",
                      "l <= ['a']", "l IN (['a'], null)", "l IN ()", "l CONTAINS 'baz'",
                      "l IN () AND l IN (['foo', 'bar', 'foobar'])", "l > ['zzz'] AND l < ['zzz']",
                      "l CONTAINS 'bar' AND l CONTAINS 'baz'"]:
        c.does_not_apply(condition)
    for condition in ["l = [null]", "l < null", "l <= null", "l > null", "l >= null", "l CONTAINS KEY 123",
                      "l CONTAINS null"]:
        c.invalid(condition)
    for condition in ["l IN null", "l IN 367"]:
        c.invalid(condition, SyntaxException)


@pytest.mark.parametrize("frozen", FROZEN)
def test_list_item(t, frozen):
    t.create_table(f"CREATE TABLE %s (k int PRIMARY KEY, l {frozen_type(frozen, 'list<text>')})")
    t.execute("INSERT INTO %s(k, l) VALUES (0, ['foo', 'bar', 'foobar'])")
    t.invalid("Invalid null value for list element access", "DELETE FROM %s WHERE k=0 IF l[?] = ?", None, "foobar")
    t.invalid("Invalid negative list index -2", "DELETE FROM %s WHERE k=0 IF l[?] = ?", -2, "foobar")
    stored = ["foo", "bar", "foobar"]
    assert t.rows("DELETE FROM %s WHERE k=0 IF l[?] = ?", 1, None) == [(False, stored)]
    assert t.rows("DELETE FROM %s WHERE k=0 IF l[?] = ?", 1, "foobar") == [(False, stored)]
    assert t.rows("SELECT * FROM %s") == [(0, stored)]
    assert t.rows("DELETE FROM %s WHERE k=0 IF l[?] = ?", 1, "bar") == [(True,)]
    assert t.rows("SELECT * FROM %s") == []


@pytest.mark.parametrize("frozen", FROZEN)
def test_expanded_list_item(t, frozen):
    t.create_table(f"CREATE TABLE %s (k int PRIMARY KEY, l {frozen_type(frozen, 'list<text>')})")
    t.execute("INSERT INTO %s (k, l) VALUES (0, ['foo', 'bar', 'foobar'])")
    c = Conditions(t, "l = ['foo', 'bar', 'foobar']", ["foo", "bar", "foobar"])
    for condition in ["l[1] < 'zzz'", "l[1] <= 'bar'", "l[1] > 'aaa'", "l[1] >= 'bar'", "l[1] != 'xxx'",
                      "l[1] != null", "l[1] IN (null, 'xxx', 'bar')", "l[1] > 'aaa' AND l[1] < 'zzz'",
                      "l[3] = null", "l[3] IN (null, 'xxx', 'bar')"]:
        c.applies(condition)
    for condition in ["l[1] < 'aaa'", "l[1] <= 'aaa'", "l[1] > 'zzz'", "l[1] >= 'zzz'", "l[1] != 'bar'",
                      "l[1] IN (null, 'xxx')", "l[1] IN ()", "l[1] != null AND l[1] IN ()", "l[3] != null",
                      "l[3] = 'xxx'"]:
        c.does_not_apply(condition)
    for condition in ["l[1] < null", "l[1] <= null", "l[1] > null", "l[1] >= null", "l[1] IN (1, 2, 3)",
                      "l[null] = null"]:
        c.invalid(condition)
    for condition in ["l[1] IN null", "l[1] IN 367", "l[1] CONTAINS 367", "l[1] CONTAINS KEY 367"]:
        c.invalid(condition, SyntaxException)


@pytest.mark.parametrize("frozen", FROZEN)
def test_whole_set(t, frozen):
    t.create_table(f"CREATE TABLE %s (k int PRIMARY KEY, s {frozen_type(frozen, 'set<text>')})")
    t.execute("INSERT INTO %s (k, s) VALUES (0, {'bar', 'foo'})")
    c = Conditions(t, "s = {'bar', 'foo'}", {"bar", "foo"})
    for condition in ["s = {'bar', 'foo'}", "s = {'foo', 'bar'}", "s != {'baz'}", "s > {'a'}", "s >= {'a'}",
                      "s < {'z'}", "s <= {'z'}", "s IN (null, {'bar', 'foo'}, {'a'})", "s CONTAINS 'foo'",
                      "s > {'a'} AND s < {'z'}",
                      "s IN (null, {'bar', 'foo'}, {'a'}) AND s IN ({'a'}, {'bar', 'foo'}, null)",
                      "s CONTAINS 'foo' AND s CONTAINS 'bar'"]:
        c.applies(condition)
    for condition in ["s = {'baz'}", "s != {'bar', 'foo'}", "s > {'z'}", "s >= {'z'}", "s < {'a'}",
                      "s <= {'a'}", "s IN ({'a'}, null)", "s IN ()", "s != null AND s IN ()", "s CONTAINS 'baz'"]:
        c.does_not_apply(condition)
    for condition in ["s = {null}", "s < null", "s <= null", "s > null", "s >= null", "s CONTAINS null",
                      "s CONTAINS KEY 123", "s['foo'] = 'foobar'"]:
        c.invalid(condition)
    for condition in ["s IN null", "s IN 367"]:
        c.invalid(condition, SyntaxException)


@pytest.mark.parametrize("frozen", FROZEN)
def test_whole_map(t, frozen):
    t.create_table(f"CREATE TABLE %s (k int PRIMARY KEY, m {frozen_type(frozen, 'map<text, text>')})")
    t.execute("INSERT INTO %s (k, m) VALUES (0, {'foo' : 'bar'})")
    c = Conditions(t, "m = {'foo': 'bar'}", {"foo": "bar"})
    for condition in ["m = {'foo': 'bar'}", "m > {'a': 'a'}", "m >= {'a': 'a'}", "m < {'z': 'z'}",
                      "m <= {'z': 'z'}", "m != {'a': 'a'}", "m IN (null, {'a': 'a'}, {'foo': 'bar'})",
                      "m CONTAINS 'bar'", "m CONTAINS KEY 'foo'", "m > {'a': 'a'} AND m < {'z': 'z'}",
                      "m != null AND m IN (null, {'a': 'a'}, {'foo': 'bar'})",
                      "m CONTAINS 'bar' AND m CONTAINS KEY 'foo'"]:
        c.applies(condition)
    for condition in ["m = {'a': 'a'}", "m > {'z': 'z'}", "m >= {'z': 'z'}", "m < {'a': 'a'}",
                      "m <= {'a': 'a'}", "m != {'foo': 'bar'}", "m IN ({'a': 'a'}, null)", "m IN ()",
                      "m = null AND m != null", "m CONTAINS 'foo'", "m CONTAINS KEY 'bar'"]:
        c.does_not_apply(condition)
    for condition in ["m = {null: null}", "m = {'a': null}", "m = {null: 'a'}", "m CONTAINS null",
                      "m CONTAINS KEY null", "m < null"]:
        c.invalid(condition)
    c.invalid("m IN null", SyntaxException)


@pytest.mark.parametrize("frozen", FROZEN)
def test_map_item(t, frozen):
    t.create_table(f"CREATE TABLE %s (k int PRIMARY KEY, m {frozen_type(frozen, 'map<text, text>')})")
    t.execute("INSERT INTO %s (k, m) VALUES (0, {'foo' : 'bar'})")
    t.invalid("Invalid null value for map element access", "DELETE FROM %s WHERE k=0 IF m[?] = ?", None, "foo")
    assert t.rows("DELETE FROM %s WHERE k=0 IF m[?] = ?", "foo", "foo") == [(False, {"foo": "bar"})]
    assert t.rows("DELETE FROM %s WHERE k=0 IF m[?] = ?", "foo", None) == [(False, {"foo": "bar"})]
    assert t.rows("SELECT * FROM %s") == [(0, {"foo": "bar"})]
    assert t.rows("DELETE FROM %s WHERE k=0 IF m[?] = ?", "foo", "bar") == [(True,)]
    assert t.rows("SELECT * FROM %s") == []
    t.execute("INSERT INTO %s(k, m) VALUES (1, null)")
    statement = "UPDATE %s set m['foo'] = 'bar', m['bar'] = 'foo' WHERE k = 1 IF m[?] IN (?, ?)"
    if frozen:
        t.invalid("Invalid operation (m['foo'] = 'bar') for frozen collection column m", statement, "foo", "blah", None)
    else:
        assert t.rows(statement, "foo", "blah", None) == [(True,)]


def test_frozen_with_null_values(t):
    for collection, new, compared in [("list<text>", ["test"], ["comparison"]),
                                      ("map<text,int>", {"test": 3}, {"comparison": 2}),
                                      ("set<text>", {"test"}, {"comparison"})]:
        t.create_table(f"CREATE TABLE %s (k int PRIMARY KEY, m frozen<{collection}>)")
        t.execute("INSERT INTO %s (k, m) VALUES (0, null)")
        assert t.rows("UPDATE %s SET m = ? WHERE k = 0 IF m = ?", new, compared) == [(False, None)]


@pytest.mark.parametrize("frozen", FROZEN)
def test_expanded_map_item(t, frozen):
    t.create_table(f"CREATE TABLE %s (k int PRIMARY KEY, m {frozen_type(frozen, 'map<text, text>')})")
    t.execute("INSERT INTO %s (k, m) VALUES (0, {'foo' : 'bar'})")
    c = Conditions(t, "m = {'foo': 'bar'}", {"foo": "bar"})
    for condition in ["m['xxx'] = null", "m['foo'] < 'zzz'", "m['foo'] <= 'bar'", "m['foo'] > 'aaa'",
                      "m['foo'] >= 'bar'", "m['foo'] != 'xxx'", "m['foo'] != null",
                      "m['foo'] IN (null, 'xxx', 'bar')", "m['xxx'] IN (null, 'xxx', 'bar')",
                      "m['foo'] < 'zzz' AND m['foo'] > 'aaa'"]:
        c.applies(condition)
    for condition in ["m['foo'] < 'aaa'", "m['foo'] <= 'aaa'", "m['foo'] > 'zzz'", "m['foo'] >= 'zzz'",
                      "m['foo'] != 'bar'", "m['xxx'] != null", "m['foo'] IN (null, 'xxx')", "m['foo'] IN ()",
                      "m['foo'] != null AND m['foo'] = null"]:
        c.does_not_apply(condition)
    for condition in ["m['foo'] < null", "m['foo'] <= null", "m['foo'] > null", "m['foo'] >= null",
                      "m['foo'] IN (1, 2, 3)", "m[null] = null"]:
        c.invalid(condition)
    for condition in ["m['foo'] IN null", "m['foo'] IN 367", "m['foo'] CONTAINS 367", "m['foo'] CONTAINS KEY 367"]:
        c.invalid(condition, SyntaxException)


@pytest.mark.parametrize("frozen", FROZEN)
def test_in_marker_with_udts(t, frozen):
    typ = t.create_type("CREATE TYPE %s (a int, b text)")
    t.create_table(f"CREATE TABLE %s (k int PRIMARY KEY, v {frozen_type(frozen, typ)})")
    t.execute("INSERT INTO %s (k, v) VALUES (0, {a: 0, b: 'abc'})")
    v = t.one("SELECT v FROM %s WHERE k = 0")[0]
    udt = type(v)
    update = "UPDATE %s SET v = {a: 0, b: 'bc'} WHERE k = 0 IF "
    for condition, values in [
        ("v IN (?, ?)", (udt(1, "abc"), udt(0, "ac"))),
        ("v IN (?, ?)", (udt(1, "abc"), None)),
        ("v IN (?, ?)", (None, None)),
        ("v IN (?, ?)", (udt(1, "abc"), UNSET)),
        ("v IN (?, ?)", (UNSET, UNSET)),
        ("v IN ?", ([udt(1, "abc"), udt(0, "ac")],)),
        ("v.a IN (?, ?)", (1, 2)),
        ("v.a IN (?, ?)", (1, None)),
        ("v.a IN ?", ([1, 2],)),
        ("v.a IN (?, ?)", (1, UNSET)),
    ]:
        assert t.rows(update + condition, *values) == [(False, v)], condition
    assert t.rows(update + "v IN (?, ?)", udt(0, "abc"), udt(0, "ac")) == [(True,)]
    assert t.rows("UPDATE %s SET v = {a: 1, b: 'bc'} WHERE k = 0 IF v IN (?, ?)", udt(0, "bc"), None) == [(True,)]
    assert t.rows("UPDATE %s SET v = {a: 0, b: 'abc'} WHERE k = 0 IF v IN ?", [udt(1, "bc"), udt(0, "ac")]) == [(True,)]
    assert t.rows("UPDATE %s SET v = {a: 0, b: 'bc'} WHERE k = 0 IF v.a IN (?, ?)", 1, 0) == [(True,)]
    t.invalid("Invalid null list in IN condition", update + "v IN ?", None)
    t.invalid("Invalid 'unset' value in condition", update + "v IN ?", UNSET)
    t.invalid("Invalid 'unset' value in condition", update + "v.a IN ?", UNSET)


def test_non_frozen_empty_collection(t):
    t.create_table("CREATE TABLE %s (k int PRIMARY KEY, l list<text>)")
    t.execute("INSERT INTO %s (k, l) VALUES (0, null)")
    update = "UPDATE %s SET l = null WHERE k = 0 IF "
    for condition, values in [("l = ?", (None,)), ("l = ?", ([],)), ("l != ?", (["bar"],)), ("l < ?", (["a"],)),
                              ("l <= ?", (["a"],)), ("l IN (?, ?)", (None, ["bar"]))]:
        assert t.rows(update + condition, *values) == [(True,)], condition
    for condition, values in [("l = ?", (["bar"],)), ("l > ?", (["a"],)), ("l >= ?", (["a"],)),
                              ("l CONTAINS ?", ("bar",)), ("l CONTAINS ?", (UNSET,))]:
        assert t.rows(update + condition, *values) == [(False, None)], condition
    t.invalid('Invalid comparison with null for operator "CONTAINS"', update + "l CONTAINS ?", None)
