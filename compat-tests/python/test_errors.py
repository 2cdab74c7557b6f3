"""Every error class a client can meet, with Cassandra 5.0's exact messages where drivers or
users depend on them."""

import random
import re
import struct
import time

import pytest
from cassandra import AlreadyExists, InvalidRequest
from cassandra.cluster import NoHostAvailable
from cassandra.protocol import SyntaxException

import rawcql
from driver_helpers import connect, create_keyspace, expect_invalid, server_message

PROTOCOL_ERROR = 0x000A
SERVER_ERROR = 0x0000
UNPREPARED = 0x2500
CLOSE_TIMEOUT_S = 5.0


@pytest.fixture(scope="module")
def errors_ks(session):
    create_keyspace(session, "compat_errors")
    session.execute(
        "CREATE TABLE compat_errors.typed (k int PRIMARY KEY, c_int int, c_smallint smallint, "
        "c_bigint bigint, c_boolean boolean, c_timestamp timestamp, c_date date, c_inet inet, "
        "c_uuid uuid, c_blob blob)")
    yield "compat_errors"
    session.execute("DROP KEYSPACE IF EXISTS compat_errors")


def assert_server_still_serves(session):
    row = session.execute("SELECT release_version FROM system.local WHERE key = 'local'").one()
    assert row.release_version == "5.0.0"


# ---------------------------------------------------------------------------------------------
# Syntax_error (0x2000)


@pytest.mark.parametrize("cql", [
    "SELEC * FROM system.local",
    "SELECT * FROM system.local WHERE AND key = 1",
    "CREATE TABLE compat_errors.x (k int PRIMARY KEY,,)",
    "INSERT INTO compat_errors.typed (k) VALUE (1)",
])
def test_syntax_error_at_a_token_has_line_and_position(session, errors_ks, cql):
    with pytest.raises(SyntaxException) as error:
        session.execute(cql)
    assert error.value.code == 0x2000
    assert re.match(r"line 1:\d+ ", error.value.message), error.value.message


# ANTLR 3 (Cassandra's parser) reports errors at end of input as line 0, position -1.
@pytest.mark.parametrize("cql,message", [
    ("SELECT * FROM", "line 0:-1 no viable alternative at input '<EOF>'"),
    ("INSERT INTO compat_errors.typed (k) VALUES (1",
     "line 0:-1 mismatched input '<EOF>' expecting ')'"),
])
def test_syntax_error_at_end_of_input(session, errors_ks, cql, message):
    with pytest.raises(SyntaxException) as error:
        session.execute(cql)
    assert error.value.message == message


# ---------------------------------------------------------------------------------------------
# Invalid (0x2200): unknown keyspaces, tables, columns


def test_use_unknown_keyspace(session):
    expect_invalid(session, "USE nope", "Keyspace 'nope' does not exist")


def test_select_from_unknown_keyspace(session):
    expect_invalid(session, "SELECT * FROM nope.t", "keyspace nope does not exist")


def test_select_from_unknown_table(session, errors_ks):
    expect_invalid(session, f"SELECT * FROM {errors_ks}.nope", "table nope does not exist")


def test_insert_into_unknown_table(session, errors_ks):
    expect_invalid(session, f"INSERT INTO {errors_ks}.nope (k) VALUES (1)",
                   "table nope does not exist")


def test_prepare_against_unknown_table(session, errors_ks):
    with pytest.raises(InvalidRequest) as error:
        session.prepare(f"SELECT * FROM {errors_ks}.nope WHERE k = ?")
    assert server_message(error.value) == "table nope does not exist"


def test_drop_unknown_table_and_keyspace(session, errors_ks):
    expect_invalid(session, f"DROP TABLE {errors_ks}.nope", f"Table '{errors_ks}.nope' doesn't exist")
    expect_invalid(session, "DROP KEYSPACE nope", "Keyspace 'nope' doesn't exist")


def test_create_table_in_unknown_keyspace(session):
    expect_invalid(session, "CREATE TABLE nope.t (k int PRIMARY KEY)",
                   "Keyspace 'nope' doesn't exist")


def test_unknown_column(session, errors_ks):
    expect_invalid(session, f"SELECT nope FROM {errors_ks}.typed",
                   f"Undefined column name nope in table {errors_ks}.typed")


def test_cannot_drop_primary_key_column(session, errors_ks):
    expect_invalid(session, f"ALTER TABLE {errors_ks}.typed DROP k",
                   "Cannot drop PRIMARY KEY column k")


INVALID_LITERALS = [
    ("c_int", "'abc'", 'Invalid STRING constant (abc) for "c_int" of type int'),
    ("c_int", "99999999999", "Unable to make int from '99999999999'"),
    ("c_smallint", "40000", "Unable to make short from '40000'"),
    ("c_bigint", "'x'", 'Invalid STRING constant (x) for "c_bigint" of type bigint'),
    ("c_boolean", "1", 'Invalid INTEGER constant (1) for "c_boolean" of type boolean'),
    ("c_timestamp", "'not a date'", "Unable to parse a date/time from 'not a date'"),
    ("c_date", "'2024-13-45'", "Unable to coerce '2024-13-45' to a formatted date (long)"),
    ("c_inet", "'not-an-ip'", "Unable to make inet address from 'not-an-ip'"),
    ("c_uuid", "'abc'", 'Invalid STRING constant (abc) for "c_uuid" of type uuid'),
    ("c_blob", "'abc'", 'Invalid STRING constant (abc) for "c_blob" of type blob'),
]


@pytest.mark.parametrize("column,literal,message", INVALID_LITERALS,
                         ids=[f"{c}={lit}" for c, lit, _ in INVALID_LITERALS])
def test_invalid_literal(session, errors_ks, column, literal, message):
    expect_invalid(session, f"INSERT INTO {errors_ks}.typed (k, {column}) VALUES (1, {literal})",
                   message)


# ---------------------------------------------------------------------------------------------
# Already_exists (0x2400)


def test_create_existing_keyspace(session, errors_ks):
    with pytest.raises(AlreadyExists) as error:
        create_keyspace(session, errors_ks)
    assert error.value.keyspace == errors_ks
    assert not error.value.table


def test_create_existing_table(session, errors_ks):
    with pytest.raises(AlreadyExists) as error:
        session.execute(f"CREATE TABLE {errors_ks}.typed (k int PRIMARY KEY)")
    assert (error.value.keyspace, error.value.table) == (errors_ks, "typed")


# ---------------------------------------------------------------------------------------------
# Unprepared (0x2500)


def test_execute_unknown_prepared_id_is_unprepared(strata):
    unknown_id = bytes(range(16))
    with rawcql.RawConnection(strata.host, strata.native_port) as conn:
        conn.startup()
        body = rawcql.short_bytes(unknown_id) + struct.pack(">HB", 1, 0)
        code, _message, rest = conn.request(rawcql.OPCODE_EXECUTE, body).error()
        assert code == UNPREPARED
        echoed, _ = rawcql.read_short_bytes(rest, 0)
        assert echoed == unknown_id


def wait_until_queryable(session, timeout_s=30):
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return session.execute("SELECT key FROM system.local WHERE key = 'local'").one()
        except NoHostAvailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def test_driver_reprepares_after_server_restart(strata_factory):
    """Prepared ids die with the node: after a restart the driver must get Unprepared,
    re-prepare and succeed, without the application noticing."""
    server = strata_factory.start()
    # reprepare_on_up=False: the driver must not re-prepare on reconnect, so an EXECUTE of a
    # statement the node forgot reaches the node and must come back as Unprepared.
    session = connect(server, reprepare_on_up=False)
    try:
        create_keyspace(session, "compat_reprepare")
        session.execute("CREATE TABLE compat_reprepare.t (k int PRIMARY KEY, v text)")
        insert = session.prepare("INSERT INTO compat_reprepare.t (k, v) VALUES (?, ?)")
        select = session.prepare("SELECT v FROM compat_reprepare.t WHERE k = ?")
        session.execute(insert, (1, "before restart"))
        server.restart()
        wait_until_queryable(session)
        session.execute(insert, (2, "after restart"))
        assert session.execute(select, (1,)).one().v == "before restart"
        assert session.execute(select, (2,)).one().v == "after restart"
    finally:
        session.cluster.shutdown()


# ---------------------------------------------------------------------------------------------
# Protocol errors (0x000A): only the offending connection suffers


@pytest.mark.parametrize("version", [0x06, 0x07, 0x41, 0x42], ids=hex)
def test_unsupported_protocol_version(strata, session, version):
    with rawcql.RawConnection(strata.host, strata.native_port) as conn:
        conn.send(rawcql.frame(rawcql.OPCODE_OPTIONS, version=version))
        code, message, _ = conn.read_frame().error()
        assert code == PROTOCOL_ERROR
        assert "Invalid or unsupported protocol version" in message, message
        conn.read_until_closed(CLOSE_TIMEOUT_S)
    assert_server_still_serves(session)


def assert_refused(conn, codes=(PROTOCOL_ERROR,), stream=None):
    """The next thing the server does is an ERROR with one of `codes` (on `stream`, if given),
    or closing the connection; it must not sit waiting."""
    conn.sock.settimeout(CLOSE_TIMEOUT_S)
    try:
        reply = conn.read_frame()
    except rawcql.ConnectionClosed:
        return
    code, message, _ = reply.error()
    assert code in codes, (hex(code), message)
    if stream is not None:
        assert reply.stream == stream, reply


def assert_only_protocol_errors_then_closed(conn):
    for frame in conn.read_until_closed(CLOSE_TIMEOUT_S):
        assert frame.error()[0] == PROTOCOL_ERROR, frame


def assert_fresh_connection_works(server):
    with rawcql.RawConnection(server.host, server.native_port) as conn:
        conn.startup()
        reply = conn.query("SELECT release_version FROM system.local")
        assert reply.opcode == 0x08, reply  # RESULT


def test_negative_body_length_closes_only_that_connection(strata, session):
    with rawcql.RawConnection(strata.host, strata.native_port) as bystander:
        bystander.startup()
        with rawcql.RawConnection(strata.host, strata.native_port) as conn:
            conn.startup()
            conn.send(rawcql.HEADER.pack(4, 0, 2, rawcql.OPCODE_QUERY, -1))
            assert_only_protocol_errors_then_closed(conn)
        assert bystander.query("SELECT key FROM system.local").opcode == 0x08
    assert_server_still_serves(session)
    assert_fresh_connection_works(strata)


def test_oversized_body_length_is_refused_at_once(strata, session):
    """2 GiB announced: the server must say no (or hang up) before reading any of it."""
    with rawcql.RawConnection(strata.host, strata.native_port) as conn:
        conn.startup()
        conn.send(rawcql.HEADER.pack(4, 0, 3, rawcql.OPCODE_QUERY, 0x7FFFFFFF))
        assert_refused(conn)
    assert_server_still_serves(session)


def test_truncated_message_body(strata, session):
    """A well-framed QUERY whose long string claims more bytes than the body holds."""
    with rawcql.RawConnection(strata.host, strata.native_port) as conn:
        conn.startup()
        body = struct.pack(">i", 1000) + b"SELECT"
        conn.send(rawcql.frame(rawcql.OPCODE_QUERY, body, stream=5))
        assert_refused(conn, codes=(PROTOCOL_ERROR, SERVER_ERROR), stream=5)
    assert_server_still_serves(session)
    assert_fresh_connection_works(strata)


def test_unknown_opcode_with_random_body(strata, session):
    seed = 7031
    print(f"random seed {seed}")
    body = random.Random(seed).randbytes(200)
    with rawcql.RawConnection(strata.host, strata.native_port) as conn:
        conn.startup()
        conn.send(rawcql.frame(0xFF, body, stream=9))
        assert_refused(conn, stream=9)
    assert_server_still_serves(session)
    assert_fresh_connection_works(strata)


def test_query_before_startup_is_refused(strata, session):
    with rawcql.RawConnection(strata.host, strata.native_port) as conn:
        reply = conn.query("SELECT key FROM system.local")
        code, message, _ = reply.error()
        assert code == PROTOCOL_ERROR, message
    assert_server_still_serves(session)
