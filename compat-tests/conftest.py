"""Shared pytest harness: runs a real `strata` node that the suites talk to over CQL.

The node is a black box. The suite starts it itself (fresh temp data dir, free ports on
127.0.0.1), waits for the CQL port, and stops it at the end. Tests that must kill or restart
a node get their own through `strata_factory`, so the shared node stays up for everyone else.

Environment:
  STRATA_BIN        path of the server binary (default: <repo>/target/release/strata)
  STRATA_KEEP_DATA  if set, keep the temp data dirs (their paths are printed on failure)
"""

import contextlib
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

COMPAT_ROOT = pathlib.Path(__file__).resolve().parent
REPO_ROOT = COMPAT_ROOT.parent
KNOWN_GAPS_FILE = COMPAT_ROOT / "known_gaps.txt"
LOOPBACK = "127.0.0.1"
CLUSTER_NAME = "Strata Compat Cluster"
STARTUP_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0
LOG_TAIL_LINES = 60

# Servers started and not yet cleaned up; a failing test gets their log tails in its report.
_LIVE_SERVERS = []


def strata_binary():
    return os.environ.get("STRATA_BIN", str(REPO_ROOT / "target" / "release" / "strata"))


def free_port(host=LOOPBACK):
    """A port nothing listens on right now (the OS picks it; a small race is accepted)."""
    return free_ports(1, host)[0]


def free_ports(count, host=LOOPBACK):
    """`count` distinct ports nothing listens on right now. The sockets stay open until all are
    chosen: released one by one, the OS may hand the same port out twice in a row (seen in CI:
    a node given one port for storage and admin exited with 'Address already in use')."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
                 for _ in range(count)]
        for sock in socks:
            sock.bind((host, 0))
        return [sock.getsockname()[1] for sock in socks]


class StrataServerError(RuntimeError):
    pass


class StrataServer:
    """One strata node process. Restarts keep the data dir and the ports."""

    def __init__(self, binary, data_dir, extra_args=()):
        self.binary = binary
        self.data_dir = data_dir
        self.host = LOOPBACK
        self.native_port, self.admin_port, self.storage_port = free_ports(3)
        self.cluster_name = CLUSTER_NAME
        self.extra_args = list(extra_args)
        self.log_path = os.path.join(data_dir, "strata-stderr.log")
        self.process = None
        self.starts = 0

    def command(self):
        return [
            self.binary,
            "--data-dir", os.path.join(self.data_dir, "data"),
            "--rpc-address", self.host,
            "--native-port", str(self.native_port),
            "--listen-address", self.host,
            "--storage-port", str(self.storage_port),
            "--admin-port", str(self.admin_port),
            "--cluster-name", self.cluster_name,
            *self.extra_args,
        ]

    def start(self):
        self.launch()
        self.wait_until_listening()

    def launch(self):
        """Starts the process without waiting for it to listen."""
        if not os.path.isfile(self.binary):
            raise StrataServerError(
                f"strata binary not found at {self.binary} (build it with "
                "`cargo build --release --bin strata` or set STRATA_BIN)")
        self.starts += 1
        with open(self.log_path, "ab") as log:
            log.write(f"\n===== start #{self.starts}: {' '.join(self.command())}\n".encode())
            log.flush()
            # The child keeps its own copy of the log descriptor; stderr never blocks on a pipe.
            self.process = subprocess.Popen(
                self.command(), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                cwd=self.data_dir)

    def wait_until_listening(self):
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                raise StrataServerError(
                    f"strata exited with code {code} before listening on "
                    f"{self.host}:{self.native_port}\n{self.log_tail()}")
            try:
                with socket.create_connection((self.host, self.native_port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        self.kill9()
        raise StrataServerError(
            f"strata did not listen on {self.host}:{self.native_port} within "
            f"{STARTUP_TIMEOUT_S:.0f} s\n{self.log_tail()}")

    def is_running(self):
        return self.process is not None and self.process.poll() is None

    def stop(self):
        """Graceful stop (SIGTERM), escalating to SIGKILL. Returns the exit code or None."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def kill9(self):
        """Crash the node: no shutdown hooks, no flush."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def restart(self):
        self.stop()
        self.start()

    def crash_and_restart(self):
        self.kill9()
        self.start()

    def nodetool(self, *verb, timeout=60):
        """Runs `strata nodetool` against this node's admin port; returns CompletedProcess."""
        return subprocess.run(
            [self.binary, "nodetool", "--host", self.host, "--port", str(self.admin_port), *verb],
            capture_output=True, text=True, timeout=timeout, check=False)

    def log_tail(self, lines=LOG_TAIL_LINES):
        try:
            with open(self.log_path, "rb") as log:
                text = log.read().decode("utf-8", errors="replace")
        except OSError as err:
            return f"(no strata log: {err})"
        tail = "\n".join(text.splitlines()[-lines:])
        return f"--- last {lines} lines of {self.log_path} ---\n{tail}"


class ServerPool:
    """Starts nodes with fresh data dirs and cleans all of them up."""

    def __init__(self):
        self.servers = []

    def start(self, extra_args=()):
        data_dir = tempfile.mkdtemp(prefix="strata-compat-")
        server = StrataServer(strata_binary(), data_dir, extra_args)
        self.servers.append(server)
        _LIVE_SERVERS.append(server)
        server.start()
        return server

    def close(self):
        """Stops every node; returns complaints about nodes that had died on their own."""
        complaints = []
        for server in self.servers:
            if server.process is not None and not server.is_running():
                code = server.process.returncode
                if code not in (0, -signal.SIGKILL):
                    complaints.append(
                        f"strata on port {server.native_port} died by itself (exit code "
                        f"{code})\n{server.log_tail()}")
            server.stop()
            _LIVE_SERVERS.remove(server)
            if not os.environ.get("STRATA_KEEP_DATA"):
                shutil.rmtree(server.data_dir, ignore_errors=True)
        self.servers.clear()
        return complaints


@pytest.fixture(scope="session")
def strata():
    """The shared node, up for the whole session. Tests must not stop or kill it."""
    pool = ServerPool()
    try:
        yield pool.start()
    finally:
        complaints = pool.close()
    if complaints:
        pytest.fail("\n".join(complaints))


@pytest.fixture
def strata_factory():
    """Starts private nodes for one test (those that restart or kill -9 a node)."""
    pool = ServerPool()
    try:
        yield pool
    finally:
        complaints = pool.close()
    if complaints:
        pytest.fail("\n".join(complaints))


def read_known_gaps():
    """{test id relative to compat-tests/: reason} from known_gaps.txt."""
    gaps = {}
    for line in KNOWN_GAPS_FILE.read_text(encoding="utf-8").splitlines():
        entry, _, reason = line.partition("#")
        if entry.strip():
            gaps[entry.strip()] = reason.strip() or "known server gap"
    return gaps


def pytest_collection_modifyitems(config, items):
    """Known server gaps run as strict xfail: the test and its assertions are unchanged, a
    failure is reported as xfailed, and a pass fails the run until the entry is deleted."""
    gaps = read_known_gaps()
    collected_files, seen = set(), set()
    for item in items:
        test_file = pathlib.Path(item.path).relative_to(COMPAT_ROOT).as_posix()
        test_id = test_file + "::" + item.nodeid.split("::", 1)[1]
        collected_files.add(test_file)
        if test_id in gaps:
            seen.add(test_id)
            item.add_marker(pytest.mark.xfail(strict=True, reason="known gap: " + gaps[test_id]))
    # A typo would silently turn a gap into a hard failure. Only whole collected files are
    # checked, so running a single test or a -k selection stays possible.
    selective = (config.getoption("keyword") or config.getoption("markexpr")
                 or any("::" in arg for arg in config.args))
    stale = sorted(gap for gap in set(gaps) - seen if gap.split("::")[0] in collected_files)
    if stale and not selective:
        raise pytest.UsageError(f"known_gaps.txt names tests that do not exist: {stale}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for server in _LIVE_SERVERS:
            report.sections.append(
                (f"strata log (port {server.native_port}, data {server.data_dir})",
                 server.log_tail()))
