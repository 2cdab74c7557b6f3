#!/usr/bin/env python3
"""A fixed CQL workload for per-request cost counts (syscalls, instructions), not for op/s.

    python3 bench/cqlburst.py HOST PORT {schema|write|read} [--requests N] [--depth P]
        [--user U --password P] [--role R] [--start-after PATH] [--seconds S]

Speaks protocol v4 over a raw socket (no driver, so the client's own cost and timing stay
small and fixed): latte's `basic` workloads (table `latte.basic(id bigint PRIMARY KEY)`,
prepared INSERT of a key, prepared SELECT of one key). Requests go in bursts of P
(default 64) EXECUTEs in one socket write; the next burst is sent once all P replies have
arrived. The server therefore sees the same input, one burst per read, whatever the machine
load: a server that answers a burst with one write makes 2 reads (data, then EAGAIN) and
one write per burst, one that writes each reply makes P writes. Exit status 1 on any ERROR.

--seconds S runs a continuous load instead, as latte does: P requests always in flight, a
reply's stream reused at once (the requests for one read's replies in one write), for S
seconds; it prints the number of replies. Its input to the server depends on timing, so it
is for per-write costs under latte-like pipelining (e.g. writes per fsync in batch mode).

With a PasswordAuthenticator server: --user/--password log in (SASL PLAIN); --role R in
the schema phase also creates the login role R (password R) with SELECT and MODIFY on the
keyspace, so that the loads can run as a role whose statements are checked. --start-after
PATH creates PATH.ready after the login and PREPARE, then sends the load once PATH exists,
so that a caller can leave the login's bcrypt check out of what it counts.
"""

import argparse
import os
import socket
import struct
import sys
import time

HEADER = struct.Struct(">BBhBi")
KEYSPACE_CQL = (
    "CREATE KEYSPACE IF NOT EXISTS latte WITH REPLICATION = "
    "{ 'class' : 'SimpleStrategy', 'replication_factor' : 1 }"
)
TABLE_CQL = "CREATE TABLE IF NOT EXISTS latte.basic(id bigint PRIMARY KEY)"
INSERT_CQL = "INSERT INTO latte.basic(id) VALUES (?)"
SELECT_CQL = "SELECT * FROM latte.basic WHERE id = ?"
ONE = 0x0001


def frame(stream, opcode, body):
    return HEADER.pack(4, 0, stream, opcode, len(body)) + body


def long_string(text):
    data = text.encode()
    return struct.pack(">i", len(data)) + data


class Client:
    def __init__(self, host, port):
        self.sock = socket.create_connection((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def recv_frame(self):
        while True:
            if len(self.buf) >= HEADER.size:
                _, _, stream, opcode, length = HEADER.unpack_from(self.buf)
                end = HEADER.size + length
                if len(self.buf) >= end:
                    body = self.buf[HEADER.size:end]
                    self.buf = self.buf[end:]
                    if opcode == 0x00:
                        code, = struct.unpack_from(">i", body)
                        sys.exit(f"ERROR 0x{code:04x} on stream {stream}: {body[6:]!r}")
                    return stream, opcode, body
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                sys.exit("connection closed")
            self.buf += chunk

    def call(self, opcode, body):
        self.sock.sendall(frame(0, opcode, body))
        return self.recv_frame()

    def startup(self, user=None, password=None):
        options = b"\x00\x01" + b"\x00\x0bCQL_VERSION" + b"\x00\x053.0.0"
        _, opcode, _ = self.call(0x01, options)
        if opcode == 0x03:  # AUTHENTICATE: SASL PLAIN in one AUTH_RESPONSE
            if user is None:
                sys.exit("the server asks for a login: pass --user and --password")
            token = b"\x00" + user.encode() + b"\x00" + password.encode()
            _, opcode, _ = self.call(0x0F, struct.pack(">i", len(token)) + token)
            assert opcode == 0x10, opcode  # AUTH_SUCCESS

    def query(self, cql):
        self.call(0x07, long_string(cql) + struct.pack(">HB", ONE, 0))

    def prepare(self, cql):
        _, _, body = self.call(0x09, long_string(cql))
        kind, id_len = struct.unpack_from(">iH", body)
        assert kind == 4, kind
        return body[6:6 + id_len]

    def bursts(self, statement_id, requests, depth, key_of):
        prefix = struct.pack(">H", len(statement_id)) + statement_id
        # Values, skip_metadata (as drivers do for prepared statements).
        params = struct.pack(">HBH", ONE, 0x01 | 0x02, 1)
        done = 0
        while done < requests:
            n = min(depth, requests - done)
            out = b"".join(
                frame(s, 0x0A, prefix + params + struct.pack(">iq", 8, key_of(done + s)))
                for s in range(n)
            )
            self.sock.sendall(out)
            for _ in range(n):
                self.recv_frame()
            done += n

    def continuous(self, statement_id, seconds, depth, key_of):
        """Keeps `depth` requests in flight for `seconds`, as latte does: each reply's stream
        is reused at once, and the requests for the replies of one read go out in one write.
        Returns the number of replies."""
        prefix = struct.pack(">H", len(statement_id)) + statement_id
        params = struct.pack(">HBH", ONE, 0x01 | 0x02, 1)

        def request(stream, i):
            return frame(stream, 0x0A, prefix + params + struct.pack(">iq", 8, key_of(i)))

        sent = depth
        self.sock.sendall(b"".join(request(s, s) for s in range(depth)))
        done = 0
        deadline = time.monotonic() + seconds
        while True:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                sys.exit("connection closed")
            self.buf += chunk
            streams = []
            pos = 0
            while len(self.buf) - pos >= HEADER.size:
                _, _, stream, opcode, length = HEADER.unpack_from(self.buf, pos)
                if len(self.buf) - pos < HEADER.size + length:
                    break
                if opcode == 0x00:
                    sys.exit(f"ERROR on stream {stream}: {self.buf[pos + 9:pos + 9 + length]!r}")
                streams.append(stream)
                pos += HEADER.size + length
            self.buf = self.buf[pos:]
            done += len(streams)
            if time.monotonic() >= deadline:
                # Drain what is still in flight, sending nothing more.
                outstanding = sent - done
                for _ in range(outstanding):
                    self.recv_frame()
                return done + outstanding
            if streams:
                self.sock.sendall(b"".join(request(s, sent + j) for j, s in enumerate(streams)))
                sent += len(streams)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("phase", choices=["schema", "write", "read"])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--depth", type=int, default=64)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument("--role")
    parser.add_argument("--start-after")
    parser.add_argument("--seconds", type=float,
                        help="continuous load for this long instead of bursts (prints the replies)")
    args = parser.parse_args()
    client = Client(args.host, args.port)
    client.startup(args.user, args.password)
    if args.phase == "schema":
        client.query(KEYSPACE_CQL)
        client.query(TABLE_CQL)
        if args.role:
            role = args.role.replace("'", "''")
            client.query(
                f"CREATE ROLE IF NOT EXISTS {args.role} WITH PASSWORD = '{role}' AND LOGIN = true"
            )
            client.query(f"GRANT SELECT ON KEYSPACE latte TO {args.role}")
            client.query(f"GRANT MODIFY ON KEYSPACE latte TO {args.role}")
        insert = client.prepare(INSERT_CQL)
        client.bursts(insert, args.rows, args.depth, lambda i: i)
        return
    statement = client.prepare(INSERT_CQL if args.phase == "write" else SELECT_CQL)
    if args.start_after:
        open(args.start_after + ".ready", "w").close()
        for _ in range(6000):
            if os.path.exists(args.start_after):
                break
            time.sleep(0.01)
        else:
            sys.exit(f"{args.start_after} did not appear within 60 s")
    if args.seconds and args.phase == "write":
        print(client.continuous(statement, args.seconds, args.depth, lambda i: args.rows + i))
    elif args.seconds:
        print(client.continuous(statement, args.seconds, args.depth, lambda i: (i * 7919) % args.rows))
    elif args.phase == "write":
        client.bursts(statement, args.requests, args.depth, lambda i: args.rows + i)
    else:
        client.bursts(statement, args.requests, args.depth, lambda i: (i * 7919) % args.rows)


if __name__ == "__main__":
    main()
