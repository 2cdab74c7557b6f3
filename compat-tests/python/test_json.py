"""JSON: SELECT JSON (one `[json]` column, case-sensitive names quoted as keys), toJson(),
fromJson(), and INSERT JSON with DEFAULT NULL and DEFAULT UNSET."""

import json

import pytest

from driver_helpers import create_keyspace, expect_invalid

KS = "compat_json"


@pytest.fixture(scope="module")
def json_ks(session):
    create_keyspace(session, KS)
    session.execute(f'CREATE TABLE {KS}.t (k int, c text, v int, "Mixed" text, m map<text, int>, '
                    "ts timestamp, PRIMARY KEY (k, c))")
    yield KS
    session.execute(f"DROP KEYSPACE IF EXISTS {KS}")


def select_json(session, where):
    result = session.execute(f"SELECT JSON * FROM {KS}.t WHERE {where}")
    assert list(result.column_names) == ["[json]"]
    return [json.loads(row[0]) for row in result]


def test_insert_json_and_select_json_round_trip(session, json_ks):
    session.execute(f"""INSERT INTO {KS}.t JSON '{{"k": 1, "c": "a", "v": 5, "\\"Mixed\\"": "x", "m": {{"p": 1}}, "ts": "2024-01-02 03:04:05.000Z"}}'""")
    [doc] = select_json(session, "k = 1")
    assert doc == {"k": 1, "c": "a", "\"Mixed\"": "x", "m": {"p": 1}, "ts": "2024-01-02 03:04:05.000Z", "v": 5}


def test_select_json_text_and_spacing(session, json_ks):
    session.execute(f"INSERT INTO {KS}.t (k, c, v) VALUES (2, 'b', 7)")
    raw = session.execute(f"SELECT JSON k, v FROM {KS}.t WHERE k = 2").one()[0]
    assert raw == '{"k": 2, "v": 7}'


def test_default_null_overwrites_and_default_unset_keeps(session, json_ks):
    session.execute(f"""INSERT INTO {KS}.t JSON '{{"k": 3, "c": "a", "v": 1, "\\"Mixed\\"": "keep"}}'""")
    session.execute(f"""INSERT INTO {KS}.t JSON '{{"k": 3, "c": "a", "v": 2}}' DEFAULT UNSET""")
    row = session.execute(f'SELECT v, "Mixed" FROM {KS}.t WHERE k = 3').one()
    assert (row.v, row.Mixed) == (2, "keep")
    session.execute(f"""INSERT INTO {KS}.t JSON '{{"k": 3, "c": "a", "v": 3}}' DEFAULT NULL""")
    row = session.execute(f'SELECT v, "Mixed" FROM {KS}.t WHERE k = 3').one()
    assert (row.v, row.Mixed) == (3, None)


def test_insert_json_bound_value(session, json_ks):
    insert = session.prepare(f"INSERT INTO {KS}.t JSON ?")
    session.execute(insert, ['{"k": 4, "c": "z", "v": 9}'])
    assert session.execute(f"SELECT v FROM {KS}.t WHERE k = 4").one().v == 9


def test_to_json_and_from_json(session, json_ks):
    session.execute(f"INSERT INTO {KS}.t (k, c, m) VALUES (5, 'a', fromJson('{{\"q\": 2}}'))")
    result = session.execute(f"SELECT toJson(m), toJson(v) FROM {KS}.t WHERE k = 5")
    assert list(result.column_names) == ["system.tojson(m)", "system.tojson(v)"]
    assert tuple(result.one()) == ('{"q": 2}', "null")


def test_insert_json_errors(session, json_ks):
    expect_invalid(session, f"""INSERT INTO {KS}.t JSON '{{"k": 6, "c": "a", "nope": 1}}'""",
                   "JSON values map contains unrecognized column: nope")
    with pytest.raises(Exception, match="Could not decode JSON string as a map"):
        session.execute(f"INSERT INTO {KS}.t JSON 'not json'")
