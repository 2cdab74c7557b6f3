"""The fault tests' workload: writers of unique values and the checker that accounts for them.

Every write inserts a value never written before (id = value), so last-write-wins can not hide
a lost write, and the checker can tell each row it reads apart:
- acknowledged: the driver returned success. Each must be read back: else it is *lost*.
- rejected: the coordinator answered Unavailable, which promises nothing was written; one read
  back is *unavailable_but_found* (a broken promise, as bad as a loss).
- timed out: any other failure (timeout, connection lost mid-request); the write may or may not
  have happened, so it is never counted as lost *or* required.
- phantom: a row read back that no writer ever attempted, or whose value is not its id.

Consistency levels are the caller's: the cluster tests write and read at QUORUM with RF=3.
"""

import threading
import time
from dataclasses import dataclass, field

from cassandra import ConsistencyLevel, Unavailable
from cassandra.concurrent import execute_concurrent_with_args
from cassandra.policies import HostStateListener
from cassandra.query import SimpleStatement

# Pace of each writer thread: enough writes to cover every fault window, few enough that the
# checker reads them all back in seconds.
WRITES_PER_SECOND_PER_THREAD = 50


class Events(HostStateListener):
    """Host UP/DOWN events as the driver saw them: (monotonic time, event, address); and, in
    `received`, the STATUS_CHANGE events its control connection received, before the driver
    judged them: (monotonic time, change, address)."""

    def __init__(self):
        self.seen = []
        self.received = []
        self.lock = threading.Lock()

    def record_received(self, cluster):
        """Records the STATUS_CHANGE events `cluster`'s control connection receives. The driver
        looks its handler up by name on each event (`_watch_callback`), so wrapping the
        instance's attribute sees every one, whichever node the control connection is on."""
        control = cluster.control_connection
        handle = control._handle_status_change

        def recording(event):
            with self.lock:
                self.received.append((time.monotonic(), event.get("change_type"), event.get("address", ("",))[0]))
            return handle(event)

        control._handle_status_change = recording

    def first(self, event, address, since):
        """Monotonic time of the first `event` (UP, DOWN) the driver saw for `address` since `since`."""
        with self.lock:
            return next((t for t, e, a in self.seen if t >= since and e == event and a == address), None)

    def first_received(self, change, address, since):
        """Monotonic time the control connection first received STATUS_CHANGE `change` for `address`."""
        with self.lock:
            return next((t for t, c, a in self.received if t >= since and c == change and a == address), None)

    def _record(self, event, host):
        with self.lock:
            self.seen.append((time.monotonic(), event, host.address))

    def on_up(self, host):
        self._record("UP", host)

    def on_down(self, host):
        self._record("DOWN", host)

    def on_add(self, host):
        self._record("ADD", host)

    def on_remove(self, host):
        self._record("REMOVE", host)

    def since(self, start):
        with self.lock:
            return [(event, address) for t, event, address in self.seen if t >= start]


@dataclass
class Outcomes:
    acknowledged: set = field(default_factory=set)
    rejected: set = field(default_factory=set)
    timed_out: set = field(default_factory=set)
    # Monotonic time of each acknowledgement, to show the cluster took writes after a fault.
    ack_times: list = field(default_factory=list)
    errors: dict = field(default_factory=dict)

    def attempted(self):
        return self.acknowledged | self.rejected | self.timed_out


def create_table(session, keyspace, table, replication_factor):
    session.execute(
        f"CREATE KEYSPACE IF NOT EXISTS {keyspace} WITH replication = "
        f"{{'class': 'SimpleStrategy', 'replication_factor': {replication_factor}}}"
    )
    session.execute(f"CREATE TABLE IF NOT EXISTS {keyspace}.{table} (id text PRIMARY KEY, v text)")


class Writer:
    """`threads` threads inserting unique values into keyspace.table at `consistency`."""

    def __init__(self, session, keyspace, table, consistency, threads=4, tag="w"):
        self.session = session
        self.insert = session.prepare(f"INSERT INTO {keyspace}.{table} (id, v) VALUES (?, ?)")
        self.insert.consistency_level = consistency
        self.threads = [threading.Thread(target=self._run, args=(f"{tag}{n}",), daemon=True) for n in range(threads)]
        self.stop_flag = threading.Event()
        self.outcomes = Outcomes()
        self.lock = threading.Lock()

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        self.stop_flag.set()
        for t in self.threads:
            # A request in flight ends within the driver's request timeout.
            t.join(timeout=60)
        return self.outcomes

    def _run(self, name):
        seq = 0
        period = 1.0 / WRITES_PER_SECOND_PER_THREAD
        while not self.stop_flag.is_set():
            started = time.monotonic()
            value = f"{name}-{seq}"
            seq += 1
            try:
                self.session.execute(self.insert, (value, value), timeout=5)
                outcome, error = "acknowledged", None
            except Unavailable as e:
                outcome, error = "rejected", e
            except Exception as e:  # noqa: BLE001 - any other failure leaves the write undecided
                outcome, error = "timed_out", e
            with self.lock:
                getattr(self.outcomes, outcome).add(value)
                if outcome == "acknowledged":
                    self.outcomes.ack_times.append(time.monotonic())
                else:
                    kind = type(error).__name__
                    self.outcomes.errors[kind] = self.outcomes.errors.get(kind, 0) + 1
            time.sleep(max(0.0, period - (time.monotonic() - started)))


@dataclass
class Counts:
    acknowledged: int
    timed_out: int
    rejected: int
    found: int
    lost: int
    phantom: int
    unavailable_but_found: int
    timed_out_found: int
    unreadable: int

    def ok(self):
        return self.lost == 0 and self.phantom == 0 and self.unavailable_but_found == 0 and self.unreadable == 0

    def line(self):
        return ", ".join(f"{name} {value}" for name, value in self.__dict__.items())


def check(session, keyspace, table, outcomes, consistency, attempts=10):
    """Reads everything back at `consistency`: every acknowledged id by key, then the whole table
    (phantoms). Reads that fail are retried for a while (a cluster may still be converging); ids
    still unreadable after that are counted as such, never as found."""
    select = session.prepare(f"SELECT v FROM {keyspace}.{table} WHERE id = ?")
    select.consistency_level = consistency
    pending = sorted(outcomes.acknowledged)
    found = set()
    for attempt in range(attempts):
        results = execute_concurrent_with_args(
            session, select, [(i,) for i in pending], concurrency=64, raise_on_first_error=False
        )
        retry = []
        for key, (success, result) in zip(pending, results):
            if not success:
                retry.append(key)
            elif list(result):
                found.add(key)
        pending = retry
        if not pending:
            break
        time.sleep(min(2 ** attempt, 5))
    unreadable = len(pending)
    scanned = {}
    scan = SimpleStatement(f"SELECT id, v FROM {keyspace}.{table}", fetch_size=1000, consistency_level=consistency)
    for attempt in range(attempts):
        try:
            scanned = {row.id: row.v for row in session.execute(scan, timeout=30)}
            break
        except Exception:  # noqa: BLE001 - retried, then reported
            if attempt == attempts - 1:
                raise
            time.sleep(min(2 ** attempt, 5))
    attempted = outcomes.attempted()
    phantom = sum(1 for key, value in scanned.items() if key not in attempted or value != key)
    acked = outcomes.acknowledged
    return Counts(
        acknowledged=len(acked),
        timed_out=len(outcomes.timed_out),
        rejected=len(outcomes.rejected),
        found=len(found),
        # Missing from the key reads, or from the full scan.
        lost=len(acked - found - set(pending)) + len((acked & found) - scanned.keys()),
        phantom=phantom,
        unavailable_but_found=len(outcomes.rejected & scanned.keys()),
        timed_out_found=len(outcomes.timed_out & scanned.keys()),
        unreadable=unreadable,
    )


QUORUM = ConsistencyLevel.QUORUM
