"""Native-protocol behaviour drivers rely on without saying so: the SUPPORTED map, stream-id
multiplexing, and v5 result-metadata ids after a schema change."""

import re
import struct

import pytest
from cassandra.query import SimpleStatement

import rawcql
from driver_helpers import connect, create_keyspace

OPCODE_SUPPORTED = 0x06
OPCODE_RESULT = 0x08


def read_string_multimap(body):
    (count,) = struct.unpack_from(">H", body, 0)
    offset, result = 2, {}
    for _ in range(count):
        key, offset = rawcql.read_string(body, offset)
        (values_count,) = struct.unpack_from(">H", body, offset)
        offset += 2
        values = []
        for _ in range(values_count):
            value, offset = rawcql.read_string(body, offset)
            values.append(value)
        result[key] = values
    return result


@pytest.fixture(scope="module")
def supported(strata):
    with rawcql.RawConnection(strata.host, strata.native_port) as conn:
        reply = conn.request(rawcql.OPCODE_OPTIONS)
    assert reply.opcode == OPCODE_SUPPORTED, reply
    return read_string_multimap(reply.body)


def test_supported_cql_version(supported):
    # The python driver indexes CQL_VERSION without a default and uses the first entry.
    assert supported["CQL_VERSION"], supported
    assert re.fullmatch(r"3\.\d+\.\d+", supported["CQL_VERSION"][0]), supported


def test_supported_compression(supported):
    # The python driver indexes COMPRESSION without a default.
    assert {"lz4", "snappy"} <= set(supported["COMPRESSION"]), supported


def test_supported_protocol_versions(supported):
    assert {"4/v4", "5/v5"} <= set(supported["PROTOCOL_VERSIONS"]), supported


def test_responses_carry_their_request_stream_ids(strata):
    streams = [10, 11, 12, 300, 32767]
    with rawcql.RawConnection(strata.host, strata.native_port) as conn:
        conn.startup()
        requests = b"".join(
            rawcql.frame(rawcql.OPCODE_QUERY,
                         rawcql.long_string("SELECT key FROM system.local")
                         + struct.pack(">HB", 1, 0),
                         stream=stream)
            for stream in streams)
        conn.send(requests)  # pipelined in one write, as drivers do
        replies = [conn.read_frame() for _ in streams]
    assert sorted(r.stream for r in replies) == streams
    assert all(r.opcode == OPCODE_RESULT for r in replies), replies


def test_options_after_startup_is_a_heartbeat(strata):
    with rawcql.RawConnection(strata.host, strata.native_port) as conn:
        conn.startup()
        assert conn.request(rawcql.OPCODE_OPTIONS, stream=42).opcode == OPCODE_SUPPORTED


def test_v5_prepared_select_sees_new_columns_after_alter(strata):
    """In v5 the client sends the result metadata id; after ALTER TABLE the server must answer
    with Metadata_changed and the new columns instead of rows the client would misread."""
    session = connect(strata, protocol_version=5)
    try:
        create_keyspace(session, "compat_v5meta")
        session.execute("CREATE TABLE compat_v5meta.t (k int PRIMARY KEY, v text)")
        session.execute("INSERT INTO compat_v5meta.t (k, v) VALUES (1, 'one')")
        select = session.prepare("SELECT * FROM compat_v5meta.t WHERE k = ?")
        before = session.execute(select, (1,))
        assert before.column_names == ["k", "v"]
        session.execute("ALTER TABLE compat_v5meta.t ADD extra int")
        session.execute("UPDATE compat_v5meta.t SET extra = 7 WHERE k = 1")
        after = session.execute(select, (1,))
        assert after.column_names == ["k", "extra", "v"]
        assert tuple(after.one()) == (1, 7, "one")
    finally:
        session.execute("DROP KEYSPACE IF EXISTS compat_v5meta")
        session.cluster.shutdown()


def test_v5_per_request_keyspace(strata):
    """v5 lets QUERY and PREPARE name their keyspace (flag 0x80 / PREPARE flag 0x01) instead of
    relying on USE; the python driver does so for statements that carry a keyspace."""
    session = connect(strata, protocol_version=5)
    try:
        create_keyspace(session, "compat_v5ks")
        session.execute("CREATE TABLE compat_v5ks.t (k int PRIMARY KEY, v text)")
        session.execute(SimpleStatement("INSERT INTO t (k, v) VALUES (1, 'flagged')",
                                        keyspace="compat_v5ks"))
        select = session.prepare("SELECT v FROM t WHERE k = ?", keyspace="compat_v5ks")
        assert session.execute(select, (1,)).one().v == "flagged"
        assert session.keyspace is None, "no USE happened"
    finally:
        session.execute("DROP KEYSPACE IF EXISTS compat_v5ks")
        session.cluster.shutdown()


def test_traced_query_returns_a_trace(session):
    result = session.execute("SELECT release_version FROM system.local", trace=True)
    assert result.one().release_version == "5.0.0"
    trace = result.get_query_trace(max_wait_sec=10)
    assert trace.trace_id is not None
    assert trace.duration is not None
    assert trace.events, "a trace without events"
    assert trace.parameters["query"] == "SELECT release_version FROM system.local"
    assert trace.parameters["consistency_level"] == "LOCAL_ONE"
    assert [e.description for e in trace.events][-1] == "Request complete"
    assert all(e.source_elapsed is not None and e.source_elapsed <= trace.duration for e in trace.events)
