"""A minimal raw CQL native-protocol client (v4 framing only) for tests that must send bytes no
driver would send (malformed frames, unsupported versions, unknown prepared ids) or see what
the server pushes as it is (EVENT frames, which drivers filter)."""

import socket
import struct
import time

HEADER = struct.Struct(">BBhBi")  # version, flags, stream, opcode, body length
OPCODE_ERROR = 0x00
OPCODE_STARTUP = 0x01
OPCODE_READY = 0x02
OPCODE_OPTIONS = 0x05
OPCODE_QUERY = 0x07
OPCODE_EXECUTE = 0x0A
OPCODE_REGISTER = 0x0B
OPCODE_EVENT = 0x0C
RESPONSE_BIT = 0x80
MAX_BODY = 16 * 1024 * 1024
READ_TIMEOUT_S = 10.0


class ConnectionClosed(Exception):
    pass


class Frame:
    def __init__(self, version, flags, stream, opcode, body):
        self.version, self.flags, self.stream, self.opcode, self.body = (
            version, flags, stream, opcode, body)

    def error(self):
        """(code, message, rest of body) of an ERROR frame."""
        assert self.opcode == OPCODE_ERROR, f"expected ERROR, got opcode {self.opcode:#x}"
        code = struct.unpack_from(">i", self.body, 0)[0]
        message, offset = read_string(self.body, 4)
        return code, message, self.body[offset:]

    def __repr__(self):
        return (f"Frame(version={self.version:#x}, stream={self.stream}, "
                f"opcode={self.opcode:#x}, body={self.body[:80]!r})")


def string(text):
    data = text.encode("utf-8")
    return struct.pack(">H", len(data)) + data


def long_string(text):
    data = text.encode("utf-8")
    return struct.pack(">i", len(data)) + data


def short_bytes(data):
    return struct.pack(">H", len(data)) + data


def string_map(mapping):
    return struct.pack(">H", len(mapping)) + b"".join(
        string(k) + string(v) for k, v in mapping.items())


def read_string(buffer, offset):
    (length,) = struct.unpack_from(">H", buffer, offset)
    start = offset + 2
    return buffer[start:start + length].decode("utf-8", errors="replace"), start + length


def read_short_bytes(buffer, offset):
    (length,) = struct.unpack_from(">H", buffer, offset)
    start = offset + 2
    return buffer[start:start + length], start + length


def read_inet(buffer, offset):
    """The address of an [inet] (address bytes, then a port); returns (address, next offset)."""
    size = buffer[offset]
    start = offset + 1
    address = socket.inet_ntop(socket.AF_INET if size == 4 else socket.AF_INET6, buffer[start:start + size])
    return address, start + size + 4


def node_event(event):
    """(type, change, address) of a STATUS_CHANGE or TOPOLOGY_CHANGE EVENT frame."""
    assert event.opcode == OPCODE_EVENT, f"expected EVENT, got opcode {event.opcode:#x}"
    kind, offset = read_string(event.body, 0)
    change, offset = read_string(event.body, offset)
    address, _ = read_inet(event.body, offset)
    return kind, change, address


def frame(opcode, body=b"", version=4, stream=1, flags=0):
    return HEADER.pack(version, flags, stream, opcode, len(body)) + body


class RawConnection:
    def __init__(self, host, port):
        self.sock = socket.create_connection((host, port), timeout=READ_TIMEOUT_S)
        self.sock.settimeout(READ_TIMEOUT_S)

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        self.sock.sendall(data)

    def _read_exact(self, count):
        chunks, remaining = [], count
        while remaining:
            chunk = self.sock.recv(remaining)
            if not chunk:
                raise ConnectionClosed(f"closed after {count - remaining}/{count} bytes")
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)

    def read_frame(self):
        version, flags, stream, opcode, length = HEADER.unpack(self._read_exact(HEADER.size))
        assert 0 <= length <= MAX_BODY, f"bad response length {length}"
        assert version & RESPONSE_BIT, f"response without the response bit: {version:#x}"
        return Frame(version, flags, stream, opcode, self._read_exact(length))

    def request(self, opcode, body=b"", stream=1):
        self.send(frame(opcode, body, stream=stream))
        return self.read_frame()

    def startup(self):
        reply = self.request(OPCODE_STARTUP, string_map({"CQL_VERSION": "3.0.0"}))
        assert reply.opcode == OPCODE_READY, reply
        return reply

    def register(self, event_types):
        """REGISTERs this connection for `event_types` (e.g. STATUS_CHANGE)."""
        body = struct.pack(">H", len(event_types)) + b"".join(string(t) for t in event_types)
        reply = self.request(OPCODE_REGISTER, body)
        assert reply.opcode == OPCODE_READY, reply
        return reply

    def query(self, cql, consistency=1, stream=1):
        body = long_string(cql) + struct.pack(">HB", consistency, 0)
        return self.request(OPCODE_QUERY, body, stream=stream)

    def read_until_closed(self, timeout_s):
        """Reads frames until the server closes the socket; returns them (fails on timeout)."""
        frames = []
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                frames.append(self.read_frame())
            except (ConnectionClosed, ConnectionResetError):
                return frames
            except socket.timeout:
                break
        raise AssertionError(f"connection still open after {timeout_s} s; frames: {frames}")
