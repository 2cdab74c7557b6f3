#!/usr/bin/env bash
# Server benchmark: bash scripts/bench-server.sh
#
# Builds the release server and bench/ (strata-bench), then in one run on this machine:
#   1. server with --null-storage (parses and answers, never touches the engine): write, read
#   2. server on the real engine, commitlog_sync batch: write, flush, read
#   3. same with commitlog_sync periodic
#   4. idle connections: N handshaken idle connections held while a write load runs,
#      server RSS before / during / after
# and prints a markdown report (also saved as report.md in the output directory).
#
# Every server gets a fresh temporary data directory and is stopped by this script.
# Knobs (environment):
#   BENCH_WARMUP=5s BENCH_DURATION=20s BENCH_CONCURRENCY=64
#   BENCH_IDLE_CONNECTIONS=1000 BENCH_IDLE_HOLD=20s
#   BENCH_SERVER_CPUS / BENCH_CLIENT_CPUS   taskset CPU lists (e.g. 0 and 1); empty = no pinning
#   BENCH_PORT=29042 (CQL; admin = +1, storage = +2)   BENCH_OUT=dir (default: a new temp dir)
#   BENCH_SKIP_BUILD=1  use the binaries already in $CARGO_TARGET_DIR/release
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$REPO_ROOT/target-bench}"
SERVER_BIN="$CARGO_TARGET_DIR/release/strata"
BENCH_BIN="$CARGO_TARGET_DIR/release/strata-bench"

WARMUP="${BENCH_WARMUP:-5s}"
DURATION="${BENCH_DURATION:-20s}"
CONCURRENCY="${BENCH_CONCURRENCY:-64}"
IDLE_CONNECTIONS="${BENCH_IDLE_CONNECTIONS:-1000}"
IDLE_HOLD="${BENCH_IDLE_HOLD:-20s}"
SERVER_CPUS="${BENCH_SERVER_CPUS:-}"
CLIENT_CPUS="${BENCH_CLIENT_CPUS:-}"
NATIVE_PORT="${BENCH_PORT:-29042}"
ADMIN_PORT=$((NATIVE_PORT + 1))
STORAGE_PORT=$((NATIVE_PORT + 2))
OUT="${BENCH_OUT:-$(mktemp -d /tmp/strata-bench.XXXXXX)}"
mkdir -p "$OUT"

SERVER_PID=""
SERVER_DATA=""
IDLE_PID=""
declare -a ROWS=()
declare -A NULL_OPS=()

log() { echo "[bench $(date -u +%H:%M:%S)] $*" >&2; }

# Command prefixes pinning the server and the client (taskset execs, so $! stays the real pid).
SERVER_PIN=()
CLIENT_PIN=()
[[ -z "$SERVER_CPUS" ]] || SERVER_PIN=(taskset -c "$SERVER_CPUS")
[[ -z "$CLIENT_CPUS" ]] || CLIENT_PIN=(taskset -c "$CLIENT_CPUS")

# json_field FILE KEY: a top-level number from strata-bench's pretty-printed JSON.
json_field() {
    sed -n "s/^  \"$2\": \([-0-9.e+]*\),\{0,1\}$/\1/p" "$1" | head -n 1
}

# cpu_ticks PID: user + system CPU time of PID in clock ticks (fields 14 and 15 of stat).
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
CLOCK_TICKS="$(getconf CLK_TCK)"
proc_kb() { awk -v key="$2:" '$1 == key { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
mib() { awk -v kb="$1" 'BEGIN { printf "%.0f", kb / 1024 }'; }

build() {
    if [[ "${BENCH_SKIP_BUILD:-0}" == 1 ]]; then return; fi
    log "building the release server and strata-bench (target dir $CARGO_TARGET_DIR)"
    cargo build --release --bin strata
    cargo build --release --manifest-path bench/Cargo.toml
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$NATIVE_PORT") 2>/dev/null; }

# start_server NAME FLAGS...: fresh data dir, waits until the CQL port accepts connections.
start_server() {
    local name="$1"
    shift
    if port_open; then
        log "something already listens on 127.0.0.1:$NATIVE_PORT; set BENCH_PORT to a free port"
        exit 1
    fi
    SERVER_DATA="$(mktemp -d /tmp/strata-bench-data.XXXXXX)"
    log "starting server ($name): $*"
    "${SERVER_PIN[@]}" "$SERVER_BIN" --data-dir "$SERVER_DATA" --native-port "$NATIVE_PORT" \
        --admin-port "$ADMIN_PORT" --storage-port "$STORAGE_PORT" "$@" >"$OUT/server-$name.log" 2>&1 &
    SERVER_PID=$!
    local tries
    for tries in $(seq 1 100); do
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            log "server exited during startup; log:"
            cat "$OUT/server-$name.log" >&2
            exit 1
        fi
        if port_open; then return; fi
        sleep 0.2
    done
    log "server did not listen on $NATIVE_PORT within 20 s"
    exit 1
}

stop_server() {
    [[ -n "$SERVER_PID" ]] || return 0
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    local tries
    for tries in $(seq 1 150); do
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.2
    done
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        log "server $SERVER_PID ignored SIGTERM for 30 s; killing it"
        kill -KILL "$SERVER_PID" 2>/dev/null || true
    fi
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
    rm -rf "$SERVER_DATA"
}
trap stop_server EXIT

# load NAME OP EXTRA...: runs strata-bench OP, output to $OUT/NAME-OP.{txt,json}; the server's
# CPU ticks used during the run go to $OUT/NAME-OP.ticks.
load() {
    local name="$1" op="$2"
    shift 2
    local ticks_before
    ticks_before="$(cpu_ticks "$SERVER_PID")"
    "${CLIENT_PIN[@]}" "$BENCH_BIN" --port "$NATIVE_PORT" "$op" --warmup "$WARMUP" --duration "$DURATION" \
        --concurrency "$CONCURRENCY" --json "$OUT/$name-$op.json" "$@" | tee "$OUT/$name-$op.txt" >&2
    echo $(($(cpu_ticks "$SERVER_PID") - ticks_before)) >"$OUT/$name-$op.ticks"
}

# add_row MODE OP: one table row from the JSON of that run and the server's current VmHWM.
add_row() {
    local mode="$1" op="$2" json="$OUT/$1-$2.json"
    local ops p50 p99 errors ratio cpu_us
    ops="$(json_field "$json" ops_per_sec)"
    # Server CPU per request over the whole run (warm-up included; the drain is at most
    # CONCURRENCY requests): steadier than ops/s on a machine shared with other work.
    cpu_us="$(awk -v t="$(cat "$OUT/$mode-$op.ticks")" -v hz="$CLOCK_TICKS" \
        -v n="$(($(json_field "$json" measured_ops) + $(json_field "$json" warmup_ops)))" \
        'BEGIN { if (n > 0) printf "%.0f", t / hz * 1e6 / n; else print "n/a" }')"
    p50="$(json_field "$json" p50_us)"
    p99="$(json_field "$json" p99_us)"
    errors="$(json_field "$json" errors)"
    if [[ "$mode" == null-storage ]]; then
        NULL_OPS[$op]="$ops"
        ratio="1.00x"
    else
        ratio="$(awk -v a="$ops" -v b="${NULL_OPS[$op]:-0}" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "n/a" }')"
    fi
    ROWS+=("$(awk -v m="$mode" -v o="$op" -v ops="$ops" -v p50="$p50" -v p99="$p99" -v r="$ratio" \
        -v rss="$(mib "$(proc_kb "$SERVER_PID" VmHWM)")" -v e="$errors" -v cpu="$cpu_us" \
        'BEGIN { printf "| %s | %s | %.0f | %.2f | %.2f | %s | %s | %s | %s |", m, o, ops, p50 / 1000, p99 / 1000, r, cpu, rss, e }')")
}

# bench_mode NAME FLAGS...: write, (flush), read against a fresh server started with FLAGS.
bench_mode() {
    local name="$1"
    shift
    start_server "$name" "$@"
    load "$name" write
    add_row "$name" write
    local keys
    keys="$(json_field "$OUT/$name-write.json" keys_issued)"
    if [[ "$name" != null-storage ]]; then
        # Reads should exercise the on-disk arrays, not only the memtable.
        log "flushing"
        "$SERVER_BIN" nodetool -h 127.0.0.1 -p "$ADMIN_PORT" flush >&2
    fi
    load "$name" read --keys "$keys" --seed 42
    add_row "$name" read
    stop_server
}

# max_rss_while PID: the server's highest VmRSS (kB) sampled every 0.5 s while PID runs.
max_rss_while() {
    local peak=0 now
    while kill -0 "$1" 2>/dev/null; do
        now="$(proc_kb "$SERVER_PID" VmRSS)"
        ((now > peak)) && peak=$now
        sleep 0.5
    done
    echo "$peak"
}

# idle_connections NAME HOLD: strata-bench idle-connections in the background; pid in IDLE_PID.
idle_connections() {
    "${CLIENT_PIN[@]}" "$BENCH_BIN" --port "$NATIVE_PORT" idle-connections --count "$IDLE_CONNECTIONS" \
        --hold "$2" --json "$OUT/$1.json" >"$OUT/$1.txt" 2>&1 &
    IDLE_PID=$!
}

# idle_check: IDLE_CONNECTIONS idle connections alone, then again while a write load runs;
# server RSS at each stage.
idle_check() {
    start_server idle
    sleep 2
    local before idle_only after_idle_only write_only during after_idle after_load
    before="$(proc_kb "$SERVER_PID" VmRSS)"
    idle_connections idle-alone 5s
    idle_only="$(max_rss_while "$IDLE_PID")"
    wait "$IDLE_PID" || log "idle-connections (alone) exited non-zero"
    after_idle_only="$(proc_kb "$SERVER_PID" VmRSS)"
    # The write load outlasts the idle connections by 20 s on each side of the hold.
    local load_s=$((${IDLE_HOLD%s} + 20))
    "${CLIENT_PIN[@]}" "$BENCH_BIN" --port "$NATIVE_PORT" write --warmup 5s --duration "${load_s}s" \
        --concurrency "$CONCURRENCY" --json "$OUT/idle-write.json" >"$OUT/idle-write.txt" 2>&1 &
    local writer=$!
    sleep 8
    write_only="$(proc_kb "$SERVER_PID" VmRSS)"
    idle_connections idle-under-load "$IDLE_HOLD"
    during="$(max_rss_while "$IDLE_PID")"
    wait "$IDLE_PID" || log "idle-connections (under load) exited non-zero"
    sleep 2
    after_idle="$(proc_kb "$SERVER_PID" VmRSS)"
    wait "$writer" || log "write load exited non-zero"
    sleep 2
    after_load="$(proc_kb "$SERVER_PID" VmRSS)"
    local fds
    fds="$(find "/proc/$SERVER_PID/fd" -mindepth 1 | wc -l)"
    cat "$OUT/idle-alone.txt" "$OUT/idle-write.txt" "$OUT/idle-under-load.txt" >&2
    {
        echo "| stage | server RSS (MiB) |"
        echo "| --- | --- |"
        echo "| started, no clients | $(mib "$before") |"
        echo "| $IDLE_CONNECTIONS idle connections, no load (max) | $(mib "$idle_only") |"
        echo "| those closed | $(mib "$after_idle_only") |"
        echo "| write load ($CONCURRENCY in flight) | $(mib "$write_only") |"
        echo "| write load + $IDLE_CONNECTIONS idle connections (max) | $(mib "$during") |"
        echo "| idle connections closed, load running | $(mib "$after_idle") |"
        echo "| load ended | $(mib "$after_load") |"
        echo "| peak (VmHWM) | $(mib "$(proc_kb "$SERVER_PID" VmHWM)") |"
        echo
        echo "Idle connections cost about $(awk -v a="$idle_only" -v b="$before" -v n="$IDLE_CONNECTIONS" \
            'BEGIN { printf "%.1f", (a - b) / n }') KiB of server RSS each (no load)."
        echo "Alone: $(json_field "$OUT/idle-alone.json" handshaken)/$IDLE_CONNECTIONS handshaken," \
            "$(json_field "$OUT/idle-alone.json" alive_after_hold) still answering after the hold." \
            "Under load: $(json_field "$OUT/idle-under-load.json" handshaken)/$IDLE_CONNECTIONS handshaken," \
            "$(json_field "$OUT/idle-under-load.json" alive_after_hold) still answering after the hold;" \
            "write load meanwhile: $(json_field "$OUT/idle-write.json" ops_per_sec | cut -d. -f1) ops/s," \
            "p99 $(json_field "$OUT/idle-write.json" p99_us) µs, errors $(json_field "$OUT/idle-write.json" errors)." \
            "Server file descriptors at the end: $fds."
    } >"$OUT/idle.md"
    stop_server
}

server_log_summary() {
    local file
    for file in "$OUT"/server-*.log; do
        local problems
        problems="$(grep -cE ' (WARN|ERROR) ' "$file" || true)"
        echo "- $(basename "$file"): $problems WARN/ERROR lines$( [[ "$problems" -gt 0 ]] && echo "; first: \`$(grep -m1 -E ' (WARN|ERROR) ' "$file" | cut -c1-300)\`")"
    done
}

main() {
    build
    log "results in $OUT"
    bench_mode null-storage --null-storage
    bench_mode batch --commitlog-sync batch
    bench_mode periodic --commitlog-sync periodic
    idle_check
    {
        echo "## Throughput and latency"
        echo
        echo "$CONCURRENCY requests in flight, ${WARMUP} warm-up then ${DURATION} measured per op, 100-byte values;" \
            "server CPUs: ${SERVER_CPUS:-any}, client CPUs: ${CLIENT_CPUS:-any}; $(nproc) cores. Ratio is ops/s vs null-storage;" \
            "peak RSS is the server's VmHWM after that op (write runs first, on a fresh server per mode)."
        echo
        echo "| mode | op | ops/s | p50 (ms) | p99 (ms) | vs null-storage | server CPU µs/op | server peak RSS (MiB) | errors |"
        echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
        printf '%s\n' "${ROWS[@]}"
        echo
        echo "## $IDLE_CONNECTIONS idle connections during a write load (batch commit log)"
        echo
        cat "$OUT/idle.md"
        echo
        echo "## Server logs"
        echo
        server_log_summary
    } >"$OUT/report.md"
    cat "$OUT/report.md"
}

main "$@"
