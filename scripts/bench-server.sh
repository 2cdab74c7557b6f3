#!/usr/bin/env bash
# Server benchmark: bash scripts/bench-server.sh
#
# Builds the release server and bench/ (strata-bench), then in one run on this machine,
# BENCH_ROUNDS times over (each round measures its own baseline, so every ratio compares
# runs minutes apart, and the median ratio over rounds damps a noisy machine):
#   1. server with --null-storage (parses and answers, never touches the engine): write, read
#   2. server on the real engine, commitlog_sync batch: write, flush, read
#   3. same with commitlog_sync periodic
# then once:
#   4. idle connections: N handshaken idle connections held while a write load runs,
#      server RSS before / during / after
# and prints a markdown report (also saved as report.md in the output directory).
#
# Every server gets a fresh temporary data directory and is stopped by this script.
# Knobs (environment):
#   BENCH_WARMUP=5s BENCH_DURATION=20s BENCH_CONCURRENCY=64 BENCH_ROUNDS=3
#   BENCH_IDLE_CONNECTIONS=1000 BENCH_IDLE_HOLD=20s
#   BENCH_SERVER_CPUS / BENCH_CLIENT_CPUS   taskset CPU lists (e.g. 0 and 1); empty = no pinning
#   BENCH_PORT=29042 (CQL; admin = +1, storage = +2)   BENCH_OUT=dir (default: a new temp dir)
#   BENCH_SKIP_BUILD=1  use the binaries already in $CARGO_TARGET_DIR/release
set -euo pipefail

DEFAULT_TARGET_DIR=target-bench
DEFAULT_PORT=29042
# shellcheck source=scripts/bench-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"

IDLE_CONNECTIONS="${BENCH_IDLE_CONNECTIONS:-1000}"
IDLE_HOLD="${BENCH_IDLE_HOLD:-20s}"
IDLE_PID=""
ROUNDS="${BENCH_ROUNDS:-3}"
declare -a ROWS=()
declare -A NULL_OPS=()
# "MODE OP" -> that pair's ratios vs null-storage, one per round, space-separated.
declare -A RATIOS=()

# add_row NAME OP: one table row from the JSON of that run and the server's current VmHWM.
# NAME is MODE-rROUND; the null-storage run of a round comes first and is its baseline.
add_row() {
    local name="$1" op="$2" figures ops ratio_text
    figures="$(run_figures "$name" "$op")"
    ops="${figures%% *}"
    if [[ "$name" == null-storage-* ]]; then
        NULL_OPS[$op]="$ops"
        ratio_text="1.00x"
    else
        ratio_text="$(ratio "$ops" "${NULL_OPS[$op]:-0}")"
        RATIOS["${name%-r*} $op"]+="${ratio_text%x} "
    fi
    ROWS+=("$(figures_row "$name" "$op" "$ratio_text" "$figures")")
}

# median_row "MODE OP": "| MODE | OP | ratios | median |" over the rounds.
median_row() {
    local ratios="${RATIOS[$1]}"
    echo "| ${1% *} | ${1#* } | ${ratios% } | $(tr ' ' '\n' <<<"$ratios" | grep -v '^$' | sort -g |
        awk '{ r[NR] = $1 } END { if (NR % 2) printf "%.2fx", r[(NR + 1) / 2]; else printf "%.2fx", (r[NR / 2] + r[NR / 2 + 1]) / 2 }') |"
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
    if [[ "$name" != null-storage-* ]]; then
        # Reads should exercise the on-disk arrays, not only the memtable.
        flush_server
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

main() {
    build
    log "results in $OUT"
    local round
    for round in $(seq 1 "$ROUNDS"); do
        bench_mode "null-storage-r$round" --null-storage
        bench_mode "batch-r$round" --commitlog-sync batch
        bench_mode "periodic-r$round" --commitlog-sync periodic
    done
    idle_check
    {
        echo "## Throughput and latency"
        echo
        echo "$CONCURRENCY requests in flight, ${WARMUP} warm-up then ${DURATION} measured per op, 100-byte values;" \
            "server CPUs: ${SERVER_CPUS:-any}, client CPUs: ${CLIENT_CPUS:-any}; $(nproc) cores. Ratio is ops/s vs null-storage;" \
            "peak RSS is the server's VmHWM after that op (write runs first, on a fresh server per mode)."
        echo
        echo "| mode-round | op | ops/s | p50 (ms) | p99 (ms) | vs null-storage | server CPU µs/op | server peak RSS (MiB) | errors |"
        echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
        printf '%s\n' "${ROWS[@]}"
        echo
        echo "## Ratio vs null-storage over $ROUNDS rounds"
        echo
        echo "| mode | op | per round | median |"
        echo "| --- | --- | --- | --- |"
        local pair
        for pair in "batch write" "batch read" "periodic write" "periodic read"; do
            median_row "$pair"
        done
        echo
        echo "## $IDLE_CONNECTIONS idle connections during a write load (default config: periodic commit log)"
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
