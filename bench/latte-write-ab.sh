#!/usr/bin/env bash
# Several server builds or settings against null-cql in one run, alternating within each round:
# latte's basic write workload at -p 64 on one connection, each server pinned to CPU 1 and latte
# to CPU 0 (as ../shared/bench/latte-pair.sh), one line per run: op/s, p50, server CPU%, load.
# For A/B runs on a shared machine, where only same-round ratios mean anything.
#
# Usage: bash bench/latte-write-ab.sh ROUNDS DURATION SPEC...
#   SPEC = label,BIN,SYNC[,ENV=VALUE...]   BIN "null" runs null-cql; SYNC is --commitlog-sync
#   e.g. latte-write-ab.sh 3 6s null,null base,/tmp/base,batch new,target/release/strata,batch
# Env: ADDR (127.0.0.1), CONC (64), OUT (/tmp/latte-write-ab), LATTE, NULL_CQL
set -u
ROUNDS=$1; DUR=$2; shift 2
ADDR=${ADDR:-127.0.0.1}; CONC=${CONC:-64}
LATTE=${LATTE:-$HOME/.cargo/bin/latte}
WL=$(ls -d "$HOME"/.cargo/registry/src/*/latte-cli-0.29.0/workloads/basic | head -1)
NULL=${NULL_CQL:-$HOME/.cache/null-cql-target/release/null-cql}  # built by latte-pair.sh
O=${OUT:-/tmp/latte-write-ab}; mkdir -p "$O"
wait_port() {
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/$ADDR/9042") 2>/dev/null && return 0; sleep 0.2; done
  return 1
}
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
for r in $(seq "$ROUNDS"); do
  for spec in "$@"; do
    IFS=, read -r label bin sync envs <<<"$spec"
    rm -rf "$O/data"
    if [ "$bin" = null ]; then taskset -c 1 "$NULL" "$ADDR:9042" 2>"$O/null.log" & pid=$!
    else env ${envs//,/ } taskset -c 1 "$(realpath "$bin")" --data-dir "$O/data" --listen-address "$ADDR" \
        --rpc-address "$ADDR" --admin-port 0 --commitlog-sync "$sync" >"$O/strata.log" 2>&1 & pid=$!; fi
    wait_port || { echo "server $label did not start"; kill "$pid"; continue; }
    timeout 100 taskset -c 0 "$LATTE" schema "$WL/write.rn" "$ADDR:9042" >"$O/schema.log" 2>&1
    t0=$(ticks "$pid")
    timeout 100 taskset -c 0 "$LATTE" run -q -d "$DUR" -t 1 -p "$CONC" -o "$O/$label-$r.json" \
      "$WL/write.rn" "$ADDR:9042" >"$O/$label-$r.log" 2>&1
    t1=$(ticks "$pid")
    kill "$pid"; wait "$pid" 2>/dev/null
    python3 - "$O/$label-$r.json" "$label" "$r" "$((t1 - t0))" <<'PY'
import json, os, sys
f, label, r, ticks = sys.argv[1:]
j = json.load(open(f)); res = j["result"]
lat = {q: v["value"] * 1000 for q, v in zip(j["percentiles"], res["cycle_latency"]["percentiles"])}
cpu = 100 * int(ticks) / os.sysconf("SC_CLK_TCK") / res["elapsed_time_s"]
load = open("/proc/loadavg").read().split()[0]
print(r, label, round(res["cycle_throughput"]["value"]), "p50_us", round(lat[50.0]), "cpu%", round(cpu),
      "load", load, flush=True)
PY
  done
done
