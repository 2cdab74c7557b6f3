#!/usr/bin/env bash
# Snapshot and clone benchmark (issue 5): bash scripts/bench-snapshots.sh
#
# Starts the release server on a fresh temp data dir and, with the python cassandra-driver:
#   1. loads bench.t (k bigint PRIMARY KEY, v text, ~100-byte rows) with UNLOGGED BATCHes of
#      100 rows, many in flight; at each size in BENCH_SIZES it measures
#      - `nodetool snapshot` round trip (process start + HTTP + server work), beside a
#        `nodetool status` round trip (the same fixed cost, no snapshot work);
#      - `CREATE TABLE .. CLONE` (current state) and `.. CLONE .. AT SNAPSHOT` round trips
#        through the driver, beside a trivial CQL round trip (SELECT from system.local);
#   2. write and read throughput on bench.t with 0, 10 and 100 clones alive (clones of the
#      current state, each taken while the table keeps changing), then 0 again after dropping
#      them; plus reads through the last clone;
#   3. disk: data dir bytes after load + compact, after a snapshot and an overwrite of
#      BENCH_OVERWRITE rows + compact, after clearsnapshot + compact.
# Server peak RSS (VmHWM) is printed beside each figure. Output: a markdown report on stdout
# (also saved as report.md in the output dir).
#
# Knobs (environment):
#   BENCH_SIZES="100000 1000000"  table sizes to measure at (ascending; 10000000 possible)
#   BENCH_REPEAT=15                latency samples per operation and size
#   BENCH_DURATION=10              seconds per throughput run
#   BENCH_CONCURRENCY=64           requests in flight (load and throughput)
#   BENCH_OVERWRITE=100000         rows overwritten for the disk test
#   BENCH_PORT=29142 (CQL; admin = +1, storage = +2)   BENCH_OUT=dir (default: new temp dir)
#   BENCH_SKIP_BUILD=1             use the binary already in $CARGO_TARGET_DIR/release
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$REPO_ROOT/target-snap}"
SERVER_BIN="$CARGO_TARGET_DIR/release/strata"
NATIVE_PORT="${BENCH_PORT:-29142}"
OUT="${BENCH_OUT:-$(mktemp -d /tmp/strata-snapbench.XXXXXX)}"
mkdir -p "$OUT"
DATA="$OUT/data"
SERVER_PID=""

log() { echo "[bench $(date -u +%H:%M:%S)] $*" >&2; }

stop_server() {
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID"
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    SERVER_PID=""
}
trap stop_server EXIT

if [[ -z "${BENCH_SKIP_BUILD:-}" ]]; then
    log "building the release server"
    cargo build --release --bin strata >&2
fi

rm -rf "$DATA"
"$SERVER_BIN" --data-dir "$DATA" --rpc-address 127.0.0.1 --listen-address 127.0.0.1 \
    --native-port "$NATIVE_PORT" --admin-port $((NATIVE_PORT + 1)) \
    --storage-port $((NATIVE_PORT + 2)) >"$OUT/server.log" 2>&1 &
SERVER_PID=$!
log "server pid $SERVER_PID, data $DATA, log $OUT/server.log"

SERVER_BIN="$SERVER_BIN" SERVER_PID="$SERVER_PID" DATA="$DATA" NATIVE_PORT="$NATIVE_PORT" \
    python3 - <<'PY' | tee "$OUT/report.md"
import os
import platform
import random
import statistics
import subprocess
import sys
import time
import urllib.request

from cassandra.cluster import Cluster, ExecutionProfile, EXEC_PROFILE_DEFAULT
from cassandra.concurrent import execute_concurrent, execute_concurrent_with_args
from cassandra.policies import RoundRobinPolicy
from cassandra.query import BatchStatement, BatchType

BIN, PID, DATA = os.environ["SERVER_BIN"], int(os.environ["SERVER_PID"]), os.environ["DATA"]
PORT = int(os.environ["NATIVE_PORT"])
SIZES = [int(s) for s in os.environ.get("BENCH_SIZES", "100000 1000000").split()]
REPEAT = int(os.environ.get("BENCH_REPEAT", "15"))
DURATION = float(os.environ.get("BENCH_DURATION", "10"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "64"))
OVERWRITE = int(os.environ.get("BENCH_OVERWRITE", "100000"))
BATCH = 100
SEED = int(os.environ.get("BENCH_SEED", "5"))
VALUE = "v" * 80


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S', time.gmtime())}] {msg}", file=sys.stderr, flush=True)


def peak_rss_mib():
    with open(f"/proc/{PID}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def data_bytes():
    total = 0
    for root, _, files in os.walk(DATA):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(root, name))
            except OSError:
                pass
    return total


def nodetool(*verb):
    run = subprocess.run([BIN, "nodetool", "-h", "127.0.0.1", "-p", str(PORT + 1), *verb],
                         capture_output=True, text=True, timeout=3600)
    if run.returncode != 0:
        raise RuntimeError(f"nodetool {verb}: {run.stdout}{run.stderr}")
    return run.stdout


def merges_done():
    with urllib.request.urlopen(f"http://127.0.0.1:{PORT + 1}/metrics", timeout=30) as answer:
        for line in answer.read().decode().splitlines():
            if line.startswith("strata_engine_merges_total"):
                return float(line.split()[-1])
    return 0.0


def settle(quiet_s=3, bound_s=120):
    """Flushes, then waits (bounded) until no merge finished for quiet_s seconds, so the
    latencies measure the operation and not a merge of the load running beside it."""
    nodetool("flush")
    deadline, last, since = time.monotonic() + bound_s, merges_done(), time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - since < quiet_s:
        time.sleep(0.5)
        now = merges_done()
        if now != last:
            last, since = now, time.monotonic()


def timed_ms(action):
    start = time.perf_counter()
    action()
    return (time.perf_counter() - start) * 1000


def summary(samples):
    return f"{statistics.median(samples):.1f} / {max(samples):.1f}"


def connect():
    deadline = time.monotonic() + 30
    while True:
        try:
            profile = ExecutionProfile(load_balancing_policy=RoundRobinPolicy(), request_timeout=120)
            # No schema-agreement wait after DDL: the round trip measured is the server's.
            cluster = Cluster(["127.0.0.1"], port=PORT, compression=False, max_schema_agreement_wait=0,
                              execution_profiles={EXEC_PROFILE_DEFAULT: profile})
            return cluster.connect()
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


session = connect()
session.execute("CREATE KEYSPACE bench WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
session.execute("CREATE TABLE bench.t (k bigint PRIMARY KEY, v text)")
insert = session.prepare("INSERT INTO bench.t (k, v) VALUES (?, ?)")
select = session.prepare("SELECT v FROM bench.t WHERE k = ?")


def batches(start, end):
    for first in range(start, end, BATCH):
        batch = BatchStatement(batch_type=BatchType.UNLOGGED)
        for k in range(first, min(first + BATCH, end)):
            batch.add(insert, (k, VALUE))
        yield batch, ()


def load(start, end):
    """Loads rows [start, end); returns rows per second."""
    began = time.perf_counter()
    step = 200_000
    for chunk in range(start, end, step):
        results = execute_concurrent(session, batches(chunk, min(chunk + step, end)),
                                     concurrency=CONCURRENCY, raise_on_first_error=True)
        assert all(ok for ok, _ in results)
        done = min(chunk + step, end)
        rate = (done - start) / (time.perf_counter() - began)
        log(f"loaded {done} rows ({rate:.0f} rows/s)")
    return (end - start) / (time.perf_counter() - began)


def latencies(size):
    """Median / max round trips (ms) of snapshot and clone operations at this size."""
    status = [timed_ms(lambda: nodetool("status")) for _ in range(REPEAT)]
    snap = [timed_ms(lambda i=i: nodetool("snapshot", "-t", f"s{size}_{i}", "bench.t")) for i in range(REPEAT)]
    trivial = [timed_ms(lambda: session.execute("SELECT release_version FROM system.local")) for _ in range(REPEAT)]
    clone = [timed_ms(lambda i=i: session.execute(f"CREATE TABLE bench.c{size}_{i} CLONE bench.t"))
             for i in range(REPEAT)]
    clone_at = [timed_ms(lambda i=i: session.execute(
        f"CREATE TABLE bench.a{size}_{i} CLONE bench.t AT SNAPSHOT 's{size}_{i}'")) for i in range(REPEAT)]
    assert session.execute(f"SELECT count(*) FROM bench.c{size}_0 WHERE k = 0").one()[0] == 1
    for i in range(REPEAT):
        session.execute(f"DROP TABLE bench.c{size}_{i}")
        session.execute(f"DROP TABLE bench.a{size}_{i}")
    nodetool("clearsnapshot", "--all", "bench")
    return status, snap, trivial, clone, clone_at


def server_cpu_seconds():
    """User + system CPU time the server has used (fields 14 and 15 of /proc/PID/stat)."""
    with open(f"/proc/{PID}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def throughput(statement, args_for, seconds):
    """(operations per second, server CPU µs per operation) of `statement` with arguments
    args_for(i), CONCURRENCY in flight. CPU per operation is steadier than the rate on a
    machine shared with other work."""
    done, began, cpu = 0, time.perf_counter(), server_cpu_seconds()
    while time.perf_counter() - began < seconds:
        chunk = [args_for(done + j) for j in range(2000)]
        results = execute_concurrent_with_args(session, statement, chunk, concurrency=CONCURRENCY,
                                               raise_on_first_error=True)
        assert all(ok for ok, _ in results)
        done += len(chunk)
    return done / (time.perf_counter() - began), (server_cpu_seconds() - cpu) * 1e6 / done


print(f"## Snapshots and clones (issue 5)\n")
print(f"Machine: {os.cpu_count()} CPUs ({platform.processor() or 'unknown'}; "
      f"{open('/proc/cpuinfo').read().split('model name')[1].split(':')[1].splitlines()[0].strip()}), "
      f"load average at start {os.getloadavg()[0]:.1f}; server and python client share it. "
      f"Release build, one node, commitlog defaults. Seed {SEED}.\n")
print("Round trips in ms as `median / max` of", REPEAT, "samples, taken after a flush once "
      "background merges are quiet. `nodetool` times include "
      "starting the `strata nodetool` process; the `status` column is that fixed cost alone. "
      "CQL times are driver round trips (no schema-agreement wait); the trivial column is "
      "`SELECT release_version FROM system.local`.\n")
print("| rows | load rate (rows/s) | nodetool status | nodetool snapshot | trivial CQL | CLONE | CLONE AT SNAPSHOT | "
      "nodetool snapshot right after the load, before any flush (3 samples) | peak RSS (MiB) |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
loaded = 0
for size in SIZES:
    rate = load(loaded, size)
    loaded = size
    # Right after the load the memtable is full and the WAL holds unsynced writes
    # (periodic commitlog): a snapshot's version record syncs the WAL first.
    unsettled = [timed_ms(lambda i=i: nodetool("snapshot", "-t", f"u{size}_{i}", "bench.t")) for i in range(3)]
    settle()
    log(f"measuring latencies at {size} rows")
    status, snap, trivial, clone, clone_at = latencies(size)
    print(f"| {size:,} | {rate:,.0f} | {summary(status)} | {summary(snap)} | {summary(trivial)} | "
          f"{summary(clone)} | {summary(clone_at)} | {summary(unsettled)} | {peak_rss_mib():.0f} |", flush=True)

rng = random.Random(SEED)
print(f"\nThroughput on bench.t ({loaded:,} rows), {DURATION:.0f} s per run, {CONCURRENCY} in flight, "
      "single-row prepared INSERT (new keys above the loaded range) and point SELECT (random loaded keys), "
      "each run after a flush once merges are quiet. "
      "Clones are of the current state, each taken after more writes.\n")
print("| clones alive | writes/s | vs 0 | server CPU µs/write | reads/s | vs 0 | server CPU µs/read | peak RSS (MiB) |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|")
next_key = [loaded + 10_000_000]


def write_args(_):
    next_key[0] += 1
    return (next_key[0], VALUE)


def measure(label, base=None):
    settle()
    (writes, write_cpu) = throughput(insert, write_args, DURATION)
    (reads, read_cpu) = throughput(select, lambda _: (rng.randrange(loaded),), DURATION)
    base = base or (writes, reads)
    print(f"| {label} | {writes:,.0f} | {writes / base[0]:.2f}x | {write_cpu:.0f} | {reads:,.0f} | "
          f"{reads / base[1]:.2f}x | {read_cpu:.0f} | {peak_rss_mib():.0f} |", flush=True)
    return writes, reads


base = measure("0")
alive = 0
for target in (10, 100):
    while alive < target:
        session.execute(f"CREATE TABLE bench.clone{alive} CLONE bench.t")
        # Some divergence between consecutive clones.
        execute_concurrent_with_args(session, insert, [write_args(j) for j in range(100)],
                                     concurrency=CONCURRENCY, raise_on_first_error=True)
        alive += 1
    log(f"{alive} clones alive")
    measure(str(alive), base)
clone_reads, clone_read_cpu = throughput(session.prepare(f"SELECT v FROM bench.clone{alive - 1} WHERE k = ?"),
                         lambda _: (rng.randrange(loaded),), DURATION)
for i in range(alive):
    session.execute(f"DROP TABLE bench.clone{i}")
measure("0 (after dropping them)", base)
print(f"\nPoint reads through the last clone (100 alive): {clone_reads:,.0f} reads/s "
      f"({clone_reads / base[1]:.2f}x of reads on the source with 0 clones), "
      f"server CPU {clone_read_cpu:.0f} µs/read.\n")

log("disk test")
nodetool("flush")
nodetool("compact")
rows = []
rows.append(("after load + compact", data_bytes(), peak_rss_mib()))
nodetool("snapshot", "-t", "disk", "bench.t")
overwrite = [(k, "w" * 80) for k in range(min(OVERWRITE, loaded))]
execute_concurrent_with_args(session, insert, overwrite, concurrency=CONCURRENCY, raise_on_first_error=True)
nodetool("flush")
nodetool("compact")
rows.append((f"snapshot, overwrite {len(overwrite):,} rows, compact", data_bytes(), peak_rss_mib()))
held = [l for l in nodetool("tablestats", "bench.t").splitlines() if "snapshot disk" in l]
nodetool("clearsnapshot", "-t", "disk")
nodetool("compact")
rows.append(("clearsnapshot + compact", data_bytes(), peak_rss_mib()))
print("| step | data dir (MiB) | peak RSS (MiB) |")
print("|---|---:|---:|")
for label, size, rss in rows:
    print(f"| {label} | {size / 2**20:.1f} | {rss:.0f} |")
print(f"\ntablestats before clearsnapshot: `{held[0].strip() if held else 'no snapshot line'}`\n")
session.cluster.shutdown()
PY
stop_server
log "report: $OUT/report.md"
