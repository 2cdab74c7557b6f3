#!/usr/bin/env bash
# Data-model benchmark (issue 4): bash scripts/bench-datamodel.sh
#
# One release `strata` on a fresh temp data dir; strata-bench (bench/) runs each comparison
# back to back against it, every workload with the same warm-up, window and concurrency:
#   lwt-insert  vs write      INSERT .. IF NOT EXISTS of new keys vs plain INSERT of new keys
#                             (tables of the same shape: k bigint PRIMARY KEY, v blob)
#   lwt-update  vs update     UPDATE .. IF EXISTS vs plain UPDATE of the keys written above
#   index-write, mv-write vs base-write
#                             INSERT (k, v, payload) into a table with an index on v / with
#                             one materialized view keyed by (v, k) / with neither
#   index-read  vs pk-read    the same rows of the indexed table, by v (index) and by k;
#                             read after a flush
# BENCH_ROUNDS rounds; even rounds run each comparison's variants before its baseline, so
# drift of the shared machine does not always favour the same side. Prints a markdown report
# (also saved as report.md in the output directory): ops/s, p50, p99, ratios, server CPU per
# request and server peak RSS (VmHWM, which only grows over the server's life).
#
# Knobs (environment), besides those of scripts/bench-lib.sh (warm-up, window, concurrency,
# pinning, output dir, BENCH_SKIP_BUILD; BENCH_PORT defaults to 29242):
#   BENCH_ROUNDS=2                      rounds of all comparisons
#   BENCH_COMMITLOG_SYNC=periodic       the server's commitlog_sync (periodic or batch)
set -euo pipefail

DEFAULT_TARGET_DIR=target-bench
DEFAULT_PORT=29242
BENCH_DURATION="${BENCH_DURATION:-15s}"
# shellcheck source=scripts/bench-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"

ROUNDS="${BENCH_ROUNDS:-2}"
COMMITLOG_SYNC="${BENCH_COMMITLOG_SYNC:-periodic}"

# The comparisons: "baseline variant..."; each workload's keys come from the table state.
COMPARISONS=("write lwt-insert" "update lwt-update" "base-write index-write mv-write" "pk-read index-read")
# Workloads on existing keys read the keys written by this workload.
declare -A KEYS_FROM=([update]=write [lwt-update]=lwt-insert [pk-read]=index-write [index-read]=index-write)
# Per workload on new keys: the next new key (runs continue where the last one stopped).
declare -A NEXT_KEY=()
declare -A FIGURES=()
declare -a ROWS=() RATIO_ROWS=() NOTES=()

# run_workload ROUND OP: one strata-bench run; its figures go to FIGURES[ROUND/OP].
run_workload() {
    local round="$1" op="$2" source="${KEYS_FROM[$2]:-}"
    local -a key_args
    if [[ -n "$source" ]]; then
        key_args=(--keys "${NEXT_KEY[$source]}" --seed "$round")
    else
        key_args=(--first-key "${NEXT_KEY[$op]:-0}")
    fi
    NOTES+=("round $round $op: load average $(load_average) at start")
    load "r$round" "$op" "${key_args[@]}"
    local json="$OUT/r$round-$op.json" checks
    [[ -n "$source" ]] || NEXT_KEY[$op]="$(json_field "$json" keys_issued)"
    checks=$(($(json_field "$json" missing) + $(json_field "$json" wrong_values) + $(json_field "$json" not_applied)))
    ((checks == 0)) || NOTES+=("round $round $op: $checks failed checks (missing, wrong or not applied; see r$round-$op.txt)")
    FIGURES["$round/$op"]="$(run_figures "r$round" "$op")"
}

# compare ROUND BASELINE VARIANT...: runs them (variants first on even rounds), then adds rows.
compare() {
    local round="$1" baseline="$2"
    shift 2
    local -a order=("$baseline" "$@")
    ((round % 2 == 1)) || order=("$@" "$baseline")
    [[ "$baseline" != pk-read ]] || flush_server
    local op
    for op in "${order[@]}"; do
        run_workload "$round" "$op"
    done
    local -a base
    read -r -a base <<<"${FIGURES[$round/$baseline]}"
    ROWS+=("$(figures_row "$round" "$baseline" "1.00x" "${base[*]}")")
    for op in "$@"; do
        local -a fig
        read -r -a fig <<<"${FIGURES[$round/$op]}"
        ROWS+=("$(figures_row "$round" "$op" "$(ratio "${fig[0]}" "${base[0]}")" "${fig[*]}")")
        # ops/s, p50, p99 and CPU per request of the variant over the baseline's.
        local cells=("$op / $baseline" "$round")
        local i
        for i in 0 1 2 3; do
            cells+=("$(ratio "${fig[i]}" "${base[i]}")")
        done
        RATIO_ROWS+=("$(printf '| %s ' "${cells[@]}")|")
    done
}

main() {
    build
    log "results in $OUT"
    local started_load
    started_load="$(load_average)"
    start_server datamodel --commitlog-sync "$COMMITLOG_SYNC"
    local round comparison
    for round in $(seq 1 "$ROUNDS"); do
        for comparison in "${COMPARISONS[@]}"; do
            # shellcheck disable=SC2086 # the comparison is a word list
            compare "$round" $comparison
        done
    done
    local rss_now
    rss_now="$(mib "$(proc_kb "$SERVER_PID" VmRSS)")"
    {
        echo "## Data model: LWT, secondary index, materialized view"
        echo
        echo "One server (commitlog_sync $COMMITLOG_SYNC; binary built $(date -u -r "$SERVER_BIN" +%H:%M), HEAD $(git rev-parse --short HEAD)), $CONCURRENCY requests in flight," \
            "${WARMUP} warm-up then ${DURATION} measured per workload, 100-byte values, $ROUNDS rounds;" \
            "server CPUs: ${SERVER_CPUS:-any}, client CPUs: ${CLIENT_CPUS:-any}; $(nproc) cores;" \
            "load average at start $started_load, at end $(load_average). Ratio is ops/s vs the comparison's" \
            "baseline; peak RSS is the server's VmHWM so far (RSS at the end: $rss_now MiB)."
        echo
        echo "| round | workload | ops/s | p50 (ms) | p99 (ms) | vs baseline | server CPU µs/op | server peak RSS (MiB) | errors |"
        echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
        printf '%s\n' "${ROWS[@]}"
        echo
        echo "| comparison | round | ops/s | p50 | p99 | server CPU/op |"
        echo "| --- | --- | --- | --- | --- | --- |"
        printf '%s\n' "${RATIO_ROWS[@]}"
        echo
        echo "## Notes"
        echo
        printf -- '- %s\n' "${NOTES[@]}"
        server_log_summary
    } >"$OUT/report.md"
    stop_server
    cat "$OUT/report.md"
}

main "$@"
