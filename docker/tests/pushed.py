"""The node events each server pushes, as it pushes them: one raw CQL connection per node,
REGISTERed for STATUS_CHANGE and TOPOLOGY_CHANGE, logging every EVENT frame it receives.

The driver's own view (workload.Events) is not enough to judge the server: the Python driver
discounts a DOWN event for a host it still holds connections to (a paused or cut-off node's
connections stay open), and marks hosts down by itself when their connections drop. Here
nothing is filtered: "node2 pushed STATUS_CHANGE DOWN 172.29.42.13 at +6.2 s".

A listener whose node goes away (stopped, killed, restarted) reconnects every half second; a
connection that answers nothing for `SILENT_SECONDS` (a paused or cut-off node) is replaced.
"""

import os
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../compat-tests/python"))
import rawcql  # noqa: E402 - found through the path above

NATIVE_PORT = 9042
EVENT_TYPES = ["STATUS_CHANGE", "TOPOLOGY_CHANGE"]
# An idle connection sends OPTIONS after this long, and is replaced when nothing at all
# arrived for SILENT_SECONDS.
PROBE_SECONDS = 3
SILENT_SECONDS = 10
RECONNECT_SECONDS = 0.5


class PushedEvents:
    """Events pushed by the nodes at `addresses`: (monotonic time, pushing node, type, change,
    address the event is about)."""

    def __init__(self, addresses, port=NATIVE_PORT):
        self.port = port
        self.events = []
        self.lock = threading.Lock()
        self.stop_flag = threading.Event()
        self.threads = [threading.Thread(target=self._listen, args=(a,), daemon=True) for a in addresses]

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop_flag.set()
        for t in self.threads:
            t.join(timeout=SILENT_SECONDS + 5)

    def since(self, start):
        with self.lock:
            return [e for e in self.events if e[0] >= start]

    def _listen(self, address):
        while not self.stop_flag.is_set():
            try:
                with rawcql.RawConnection(address, self.port) as conn:
                    conn.startup()
                    conn.register(EVENT_TYPES)
                    self._read(address, conn)
            except (OSError, rawcql.ConnectionClosed, AssertionError, struct.error):
                pass  # the node is down, paused or cut off: try again
            self.stop_flag.wait(RECONNECT_SECONDS)

    def _read(self, address, conn):
        conn.sock.settimeout(1)
        heard = time.monotonic()
        probed = False
        while not self.stop_flag.is_set():
            try:
                frame = conn.read_frame()
            except socket.timeout:
                idle = time.monotonic() - heard
                if idle > SILENT_SECONDS:
                    return
                if idle > PROBE_SECONDS and not probed:
                    conn.send(rawcql.frame(rawcql.OPCODE_OPTIONS, stream=2))
                    probed = True
                continue
            heard, probed = time.monotonic(), False
            if frame.opcode == rawcql.OPCODE_EVENT:
                kind, change, about = rawcql.node_event(frame)
                with self.lock:
                    self.events.append((heard, address, kind, change, about))


def down_then_up(events, node, start):
    """The first (pushing node, seconds to DOWN, seconds to UP) among the other nodes' events
    about `node` where a DOWN is followed by an UP from the same node, else None."""
    by_pusher = {}
    for t, pusher, kind, change, about in events:
        if about != node or pusher == node or kind != "STATUS_CHANGE":
            continue
        down, up = by_pusher.get(pusher, (None, None))
        if change == "DOWN" and down is None:
            down = t
        elif change == "UP" and down is not None and up is None:
            up = t
        by_pusher[pusher] = (down, up)
    for pusher, (down, up) in sorted(by_pusher.items()):
        if up is not None:
            return pusher, down - start, up - start
    return None


def describe(events, start, names):
    """One line per event: `+6.2 s node2 pushed STATUS_CHANGE DOWN node3 (172.29.42.13)`."""
    return [
        f"+{t - start:.1f} s {names.get(pusher, pusher)} pushed {kind} {change} {names.get(about, about)} ({about})"
        for t, pusher, kind, change, about in events
    ]
