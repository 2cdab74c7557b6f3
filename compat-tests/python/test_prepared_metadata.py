"""Result metadata of prepared statements, as Cassandra 5.0's EXECUTE decides it.

v5: PREPARED carries a result_metadata_id, EXECUTE sends it back; the server answers rows
without column specs (No_metadata, the column count stays) when the client asks to skip them
and the id still matches, and with Metadata_changed, the new id and the new specs once the
result columns changed (ALTER TABLE). v4: the server skips metadata only while the result
still matches what PREPARE returned. Conditional writes always carry their metadata and never
flag a change (CASSANDRA-13992).

The python driver never sets the skip-metadata flag (gocql and the Rust driver do); the
`skipping` fixture makes its EXECUTEs ask for it, and `metadata_flags` reads the rows-metadata
flags off the wire.
"""

import io
import struct

import cassandra.cluster
import pytest
from cassandra.protocol import ExecuteMessage, ResultMessage

from driver_helpers import connect, create_keyspace

NO_METADATA = 0x0004
METADATA_CHANGED = 0x0008
SKIP_METADATA_REQUEST_FLAG = 0x02


@pytest.fixture
def metadata_flags(versioned_session):
    """The rows-metadata flags of every rows result the test's session decodes, in order: its
    protocol handler decodes RESULT messages with a recording subclass (other sessions of the
    test process, refreshing schema in the background, are not recorded)."""
    seen = []
    handler = versioned_session.client_protocol_handler
    result_class = handler.message_types_by_opcode[ResultMessage.opcode]

    class RecordingResult(result_class):
        def recv_results_rows(self, f, *args):
            position = f.tell()
            seen.append(struct.unpack(">i", f.read(4))[0])
            f.seek(position)
            return result_class.recv_results_rows(self, f, *args)

    class RecordingHandler(handler):
        message_types_by_opcode = {**handler.message_types_by_opcode,
                                   ResultMessage.opcode: RecordingResult}

    versioned_session.client_protocol_handler = RecordingHandler
    yield seen
    versioned_session.client_protocol_handler = handler


class SkipMetadataExecute(ExecuteMessage):
    """An EXECUTE with the skip-metadata flag, as gocql sends it."""

    def _write_query_params(self, f, protocol_version):
        params = io.BytesIO()
        super()._write_query_params(params, protocol_version)
        data = bytearray(params.getvalue())
        # <consistency:short><flags>: an int from v5 on, a byte before; the flag is in the last byte.
        data[5 if protocol_version >= 5 else 2] |= SKIP_METADATA_REQUEST_FLAG
        f.write(bytes(data))


@pytest.fixture
def skipping(monkeypatch):
    monkeypatch.setattr(cassandra.cluster, "ExecuteMessage", SkipMetadataExecute)


@pytest.fixture(params=[4, 5])
def versioned_session(strata, request):
    # No schema or token refreshes on this cluster: less background work while flags are read.
    session = connect(strata, protocol_version=request.param, schema_metadata_enabled=False,
                      token_metadata_enabled=False)
    keyspace = f"prepared_meta_v{request.param}"
    session.execute(f"DROP KEYSPACE IF EXISTS {keyspace}")
    create_keyspace(session, keyspace)
    session.set_keyspace(keyspace)
    session.execute("CREATE TABLE t (k int PRIMARY KEY, a int, b text)")
    session.execute("INSERT INTO t (k, a, b) VALUES (1, 10, 'x')")
    yield session
    session.execute(f"DROP KEYSPACE IF EXISTS {keyspace}")
    session.cluster.shutdown()


def last_rows_flags(flags):
    assert flags, "no rows result was decoded"
    return flags[-1]


def test_unchanged_metadata_is_skipped(versioned_session, skipping, metadata_flags):
    session = versioned_session
    prepared = session.prepare("SELECT * FROM t WHERE k = ?")
    if session.cluster.protocol_version >= 5:
        assert len(prepared.result_metadata_id) == 16
    else:
        assert prepared.result_metadata_id is None
    for _ in range(2):
        rows = session.execute(prepared, [1]).all()
        assert [tuple(r) for r in rows] == [(1, 10, "x")]
        assert last_rows_flags(metadata_flags) & (NO_METADATA | METADATA_CHANGED) == NO_METADATA


def test_metadata_is_sent_unless_skipping_is_asked(versioned_session, metadata_flags):
    session = versioned_session
    prepared = session.prepare("SELECT * FROM t WHERE k = ?")
    assert [tuple(r) for r in session.execute(prepared, [1]).all()] == [(1, 10, "x")]
    assert not last_rows_flags(metadata_flags) & (NO_METADATA | METADATA_CHANGED)


def test_metadata_id_is_stable_and_depends_on_columns(versioned_session):
    session = versioned_session
    if session.cluster.protocol_version < 5:
        pytest.skip("result metadata ids exist from protocol v5 on")
    first = session.prepare("SELECT a, b FROM t WHERE k = ?")
    again = session.prepare("SELECT a, b FROM t WHERE k = ?")
    other = session.prepare("SELECT b, a FROM t WHERE k = ?")
    write = session.prepare("INSERT INTO t (k, a) VALUES (?, ?)")
    write_other = session.prepare("UPDATE t SET b = ? WHERE k = ?")
    assert first.result_metadata_id == again.result_metadata_id
    assert first.result_metadata_id != other.result_metadata_id
    # Statements without rows share the id of empty metadata.
    assert write.result_metadata_id == write_other.result_metadata_id
    assert write.result_metadata_id != first.result_metadata_id


def test_alter_table_changes_the_result_metadata(versioned_session, skipping, metadata_flags):
    session = versioned_session
    prepared = session.prepare("SELECT * FROM t WHERE k = ?")
    old_id = prepared.result_metadata_id
    session.execute("ALTER TABLE t ADD c int")
    session.execute("UPDATE t SET c = 5 WHERE k = 1")

    result = session.execute(prepared, [1])
    # The answer carries the new columns, so the row decodes with them.
    assert result.column_names == ["k", "a", "b", "c"]
    assert [tuple(r) for r in result.all()] == [(1, 10, "x", 5)]
    flags = last_rows_flags(metadata_flags)
    assert not flags & NO_METADATA
    if session.cluster.protocol_version >= 5:
        assert flags & METADATA_CHANGED
        reprepared = session.prepare("SELECT * FROM t WHERE k = ?")
        assert reprepared.result_metadata_id != old_id
        # With the new id the server skips the metadata again.
        assert [tuple(r) for r in session.execute(reprepared, [1]).all()] == [(1, 10, "x", 5)]
        assert last_rows_flags(metadata_flags) & (NO_METADATA | METADATA_CHANGED) == NO_METADATA
    else:
        assert not flags & METADATA_CHANGED

    session.execute("ALTER TABLE t DROP a")
    result = session.execute(prepared, [1])
    assert result.column_names == ["k", "b", "c"]
    assert [tuple(r) for r in result.all()] == [(1, "x", 5)]


def test_conditional_writes_always_carry_metadata(versioned_session, skipping, metadata_flags):
    session = versioned_session
    prepared = session.prepare("UPDATE t SET a = ? WHERE k = ? IF b = ?")
    applied = session.execute(prepared, [11, 1, "x"]).one()
    assert applied[0] is True
    assert not last_rows_flags(metadata_flags) & (NO_METADATA | METADATA_CHANGED)
    rejected = session.execute(prepared, [12, 1, "nope"])
    assert rejected.column_names == ["[applied]", "b"]
    assert [tuple(r) for r in rejected.all()] == [(False, "x")]
    assert not last_rows_flags(metadata_flags) & (NO_METADATA | METADATA_CHANGED)


def test_paged_executes_skip_metadata_on_every_page(versioned_session, skipping, metadata_flags):
    session = versioned_session
    insert = session.prepare("INSERT INTO t (k, a, b) VALUES (?, ?, ?)")
    for k in range(2, 40):
        session.execute(insert, [k, k, str(k)])
    prepared = session.prepare("SELECT k FROM t")
    prepared.fetch_size = 7
    metadata_flags.clear()
    keys = sorted(row.k for row in session.execute(prepared))
    assert keys == list(range(1, 40))
    assert len(metadata_flags) == 6  # 39 rows in pages of 7
    assert all(flags & NO_METADATA for flags in metadata_flags)
