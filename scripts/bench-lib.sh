# Shared helpers of the server benchmarks (sourced by scripts/bench-server.sh and
# scripts/bench-datamodel.sh; not run by itself).
#
# The sourcing script sets DEFAULT_TARGET_DIR and DEFAULT_PORT first. Knobs (environment):
#   BENCH_WARMUP=5s BENCH_DURATION=20s BENCH_CONCURRENCY=64
#   BENCH_SERVER_CPUS / BENCH_CLIENT_CPUS   taskset CPU lists (e.g. 0 and 1); empty = no pinning
#   BENCH_PORT (CQL; admin = +1, storage = +2)   BENCH_OUT=dir (default: a new temp dir)
#   BENCH_SKIP_BUILD=1  use the binaries already built
#   CARGO_TARGET_DIR (server) and BENCH_TOOL_TARGET_DIR (bench/ load tool; default: the same)

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$REPO_ROOT/$DEFAULT_TARGET_DIR}"
BENCH_TOOL_TARGET_DIR="${BENCH_TOOL_TARGET_DIR:-$CARGO_TARGET_DIR}"
SERVER_BIN="$CARGO_TARGET_DIR/release/strata"
BENCH_BIN="$BENCH_TOOL_TARGET_DIR/release/strata-bench"

WARMUP="${BENCH_WARMUP:-5s}"
DURATION="${BENCH_DURATION:-20s}"
CONCURRENCY="${BENCH_CONCURRENCY:-64}"
SERVER_CPUS="${BENCH_SERVER_CPUS:-}"
CLIENT_CPUS="${BENCH_CLIENT_CPUS:-}"
NATIVE_PORT="${BENCH_PORT:-$DEFAULT_PORT}"
ADMIN_PORT=$((NATIVE_PORT + 1))
STORAGE_PORT=$((NATIVE_PORT + 2))
OUT="${BENCH_OUT:-$(mktemp -d /tmp/strata-bench.XXXXXX)}"
mkdir -p "$OUT"

SERVER_PID=""
SERVER_DATA=""

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
load_average() { cut -d' ' -f1-3 /proc/loadavg; }

build() {
    if [[ "${BENCH_SKIP_BUILD:-0}" == 1 ]]; then return; fi
    log "building the release server ($CARGO_TARGET_DIR) and strata-bench ($BENCH_TOOL_TARGET_DIR)"
    cargo build --release --bin strata
    CARGO_TARGET_DIR="$BENCH_TOOL_TARGET_DIR" cargo build --release --manifest-path bench/Cargo.toml
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

flush_server() {
    log "flushing"
    "$SERVER_BIN" nodetool -h 127.0.0.1 -p "$ADMIN_PORT" flush >&2
}

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

# run_figures NAME OP: "ops p50_us p99_us cpu_us_per_op peak_rss_mib errors" of a finished
# load, the peak RSS being the server's VmHWM now.
run_figures() {
    local json="$OUT/$1-$2.json"
    # Server CPU per request over the whole run (warm-up included; the drain is at most
    # CONCURRENCY requests): steadier than ops/s on a machine shared with other work.
    local cpu_us
    cpu_us="$(awk -v t="$(cat "$OUT/$1-$2.ticks")" -v hz="$CLOCK_TICKS" \
        -v n="$(($(json_field "$json" measured_ops) + $(json_field "$json" warmup_ops)))" \
        'BEGIN { if (n > 0) printf "%.0f", t / hz * 1e6 / n; else print "n/a" }')"
    echo "$(json_field "$json" ops_per_sec) $(json_field "$json" p50_us) $(json_field "$json" p99_us)" \
        "$cpu_us $(mib "$(proc_kb "$SERVER_PID" VmHWM)") $(json_field "$json" errors)"
}

# figures_row LABEL OP RATIO FIGURES: the markdown row "| LABEL | OP | ops/s | p50 ms | p99 ms |
# RATIO | server CPU µs/op | server peak RSS MiB | errors |" of FIGURES (from run_figures).
figures_row() {
    local ops p50 p99 cpu_us rss errors
    read -r ops p50 p99 cpu_us rss errors <<<"$4"
    awk -v m="$1" -v o="$2" -v r="$3" -v ops="$ops" -v p50="$p50" -v p99="$p99" -v rss="$rss" -v e="$errors" \
        -v cpu="$cpu_us" 'BEGIN { printf "| %s | %s | %.0f | %.2f | %.2f | %s | %s | %s | %s |", m, o, ops, p50 / 1000, p99 / 1000, r, cpu, rss, e }'
}

# ratio A B: A / B as "0.42x" ("n/a" without a baseline).
ratio() { awk -v a="$1" -v b="${2:-0}" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "n/a" }'; }

server_log_summary() {
    local file
    for file in "$OUT"/server-*.log; do
        local problems
        problems="$(grep -cE ' (WARN|ERROR) ' "$file" || true)"
        echo "- $(basename "$file"): $problems WARN/ERROR lines$( [[ "$problems" -gt 0 ]] && echo "; first: \`$(grep -m1 -E ' (WARN|ERROR) ' "$file" | cut -c1-300)\`")"
    done
}
