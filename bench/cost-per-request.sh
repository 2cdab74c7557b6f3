#!/usr/bin/env bash
# Server cost per CQL request, counted with load-independent instruments (issue 15):
#   syscalls per request (perf's syscall tracepoints on the server process) and
#   instructions per request (valgrind --tool=callgrind, counters zeroed and instrumentation
#   on only during the load: every instruction of every server thread in that phase, divided
#   by the requests sent).
# The load is bench/cqlburst.py: latte's basic write and read workloads as bursts of DEPTH
# prepared EXECUTEs per socket write, a fixed number of requests, on one connection.
#
# Usage: bash bench/cost-per-request.sh STRATA_BIN [LABEL]
# Env: ADDR (127.0.5.1), PORT (9042), REQUESTS (20000; callgrind runs REQUESTS/4), DEPTH (64),
#      ROWS (10000), MODES ("periodic null batch"), SKIP_CALLGRIND=1,
#      KEEP=DIR (keep each phase's callgrind profile there), SERVER_CPUS (1: the server pinned to one CPU, as latte-pair.sh runs it; empty = no pinning),
#      STRATA_ARGS (extra server arguments, e.g. "--storage-port 0" to measure a node without
#      the internode listener, as builds before the cluster work could run),
#      AUTH=1 (PasswordAuthenticator and CassandraAuthorizer: the schema phase, as cassandra,
#      creates the role `bench` with SELECT and MODIFY on the keyspace, and the loads log in as
#      it, so every statement is authorized; callgrind counts from after the login, whose
#      bcrypt check would otherwise outweigh the requests)
# Prints one line per (mode, workload): server CPU time (all threads, perf task-clock), context
# switches and syscalls by kind per request, and instructions per request; and
# the server's peak RSS per mode (its native run).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
BIN=$(realpath "$1"); LABEL=${2:-$(basename "$BIN")}
ADDR=${ADDR:-127.0.5.1}; PORT=${PORT:-9042}; REQUESTS=${REQUESTS:-20000}; DEPTH=${DEPTH:-64}
ROWS=${ROWS:-10000}; MODES=${MODES:-"periodic null batch"}
SERVER_CPUS=${SERVER_CPUS-1}
pin=(); [ -n "$SERVER_CPUS" ] && pin=(taskset -c "$SERVER_CPUS")
CG_REQUESTS=$((REQUESTS / 4))
work=$(mktemp -d /tmp/strata-cost.XXXXXX)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
login=(); schema_login=()
if [ -n "${AUTH:-}" ]; then
  printf 'authenticator: PasswordAuthenticator\nauthorizer: CassandraAuthorizer\n' >"$work/auth.yaml"
  login=(--user bench --password bench)
  schema_login=(--user cassandra --password cassandra --role bench)
fi
client() { timeout 600 python3 "$here/cqlburst.py" "$ADDR" "$PORT" "$@" --depth "$DEPTH" --rows "$ROWS"; }
wait_port() {
  for _ in $(seq 300); do (exec 3<>"/dev/tcp/$ADDR/$PORT") 2>/dev/null && return 0; sleep 0.2; done
  echo "server did not start" >&2; return 1
}
args() {
  local mode=$1
  echo --data-dir "$work/data" --listen-address "$ADDR" --rpc-address "$ADDR" --native-port "$PORT" \
    --admin-port 0
  [ -n "${AUTH:-}" ] && echo --config "$work/auth.yaml"
  [ -n "${STRATA_ARGS:-}" ] && echo "$STRATA_ARGS"
  case $mode in
    null) echo --null-storage ;;
    batch) echo --commitlog-sync batch ;;
  esac
}
stop_server() { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; pid=""; rm -rf "$work/data"; }
EVENTS=task-clock,context-switches,raw_syscalls:sys_enter,syscalls:sys_enter_sendto,syscalls:sys_enter_write,syscalls:sys_enter_writev,syscalls:sys_enter_recvfrom,syscalls:sys_enter_read,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_futex,syscalls:sys_enter_pwrite64,syscalls:sys_enter_fdatasync,syscalls:sys_enter_fsync
for mode in $MODES; do
  # Syscalls: the binary at full speed, perf counting on the whole server process.
  # shellcheck disable=SC2046
  "${pin[@]}" "$BIN" $(args "$mode") >"$work/server.log" 2>&1 & pid=$!
  wait_port
  client schema "${schema_login[@]}"
  for wl in write read; do
    perf stat -x, -e "$EVENTS" -p "$pid" -o "$work/perf-$wl.csv" -- \
      python3 "$here/cqlburst.py" "$ADDR" "$PORT" "$wl" --requests "$REQUESTS" --depth "$DEPTH" --rows "$ROWS" "${login[@]}"
    python3 - "$work/perf-$wl.csv" "$REQUESTS" "$LABEL" "$mode" "$wl" <<'EOF'
import sys
path, n, label, mode, wl = sys.argv[1], int(sys.argv[2]), *sys.argv[3:]
counts = {}
for line in open(path):
    parts = line.strip().split(",")
    if len(parts) > 2 and parts[0].replace(".", "").isdigit():
        counts[parts[2].split(":")[-1].replace("sys_enter_", "")] = float(parts[0])
total = counts.pop("sys_enter", 0)
# task-clock is in milliseconds: CPU time of every server thread.
cpu_us = counts.pop("task-clock", 0) * 1000 / n
switches = counts.pop("context-switches", 0) / n
detail = " ".join(f"{k}={v / n:.3f}" for k, v in counts.items() if v)
print(f"{label} {mode} {wl}: cpu_us/request {cpu_us:.2f} context_switches/request {switches:.3f} "
      f"syscalls/request {total / n:.3f} ({detail})")
EOF
  done
  echo "$LABEL $mode: peak RSS $(awk '/^VmHWM:/ {print $2, $3}' "/proc/$pid/status") (schema, write and read loads)"
  stop_server
  [ -n "${SKIP_CALLGRIND:-}" ] && continue
  # Instructions: the same binary under callgrind, counting only during each load phase.
  # shellcheck disable=SC2046
  "${pin[@]}" valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$work/cg.%p" \
    "$BIN" $(args "$mode") >"$work/server-cg.log" 2>&1 & pid=$!
  wait_port
  client schema "${schema_login[@]}"
  for wl in write read; do
    rm -f "$work"/cg.*
    # Zeroed before each phase: toggling instrumentation restarts callgrind's per-thread
    # counters but not the marks a dump leaves, so without it a later phase's `summary:`
    # line is its own count minus the previous phase's (see BENCHMARKS.md, "What
    # instructions/request counts").
    callgrind_control -z "$pid" >/dev/null
    if [ -n "${AUTH:-}" ]; then
      rm -f "$work/go" "$work/go.ready"
      client "$wl" --requests "$CG_REQUESTS" "${login[@]}" --start-after "$work/go" & load=$!
      for _ in $(seq 600); do [ -e "$work/go.ready" ] && break; sleep 0.1; done
      callgrind_control -i on "$pid" >/dev/null
      touch "$work/go"
      wait "$load"
    else
      callgrind_control -i on "$pid" >/dev/null
      client "$wl" --requests "$CG_REQUESTS"
    fi
    callgrind_control -d "$pid" >/dev/null
    callgrind_control -i off "$pid" >/dev/null
    [ -n "${KEEP:-}" ] && mkdir -p "$KEEP" && cat "$work"/cg.* >"$KEEP/$LABEL-$mode-$wl.callgrind"
    # `totals:` is the sum of the costs the dump lists (what callgrind_annotate shows); after
    # the zeroing it equals `summary:`, and the script stops if it does not.
    ir=$(cat "$work"/cg.* | awk '/^summary:/ {s += $2} /^totals:/ {t += $2}
      END {if (s != t) {print "summary " s " != totals " t > "/dev/stderr"; exit 1} print t}')
    python3 -c "import sys; print(f'{sys.argv[1]} {sys.argv[2]} {sys.argv[3]}: instructions/request {int(sys.argv[4]) / int(sys.argv[5]):.0f}')" \
      "$LABEL" "$mode" "$wl" "$ir" "$CG_REQUESTS"
  done
  stop_server
done
