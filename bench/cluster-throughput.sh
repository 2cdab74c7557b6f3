#!/usr/bin/env bash
# Issue 12's throughput figure: 3 nodes with RF=3 at QUORUM against 1 node with RF=1, on the same
# machine in one run (loopback), with latte's basic read and write workloads. Every server is
# pinned to CPU 1 and latte to CPU 0, as in latte-pair.sh, so both setups get the same one core:
# the ratio is the cost of replication per core (each write is applied on three nodes, each
# QUORUM read asks two). latte's driver learns the other nodes from system.peers and routes
# token-aware. Rounds alternate the two setups; the ratio per round and the median are printed,
# with each node's CPU share over the run, and per operation the servers' CPU time, system
# calls and context switches together (`perf stat -e task-clock,raw_syscalls:sys_enter,
# context-switches -p` over the run: the cost of a hop, much less dependent on the machine's
# load than op/s).
# With BASELINE set, each round also runs both setups with that binary (before/after of a
# change in one run; the summary gives its 3-node ratio beside the new one's).
#
# Usage: bash bench/cluster-throughput.sh STRATA_BIN [ROUNDS] [DURATION]
# Env: CONC (64), ROWS (100000), PREFIX (127.0.25), OUT (/tmp/cluster-throughput),
#      BASELINE (a second strata binary), LATTE (latte binary; cargo install latte-cli
#      --version 0.29.0 --locked)
set -euo pipefail
BIN=$(realpath "$1"); ROUNDS=${2:-3}; DUR=${3:-10s}
BASE=${BASELINE:+$(realpath "$BASELINE")}
CONC=${CONC:-64}; ROWS=${ROWS:-100000}; PREFIX=${PREFIX:-127.0.25}
OUT=${OUT:-/tmp/cluster-throughput}; mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
LATTE=${LATTE:-$(command -v latte || echo "$HOME/.cargo/bin/latte")}
WL=$(ls -d "$HOME"/.cargo/registry/src/*/latte-cli-0.29.0/workloads/basic | head -1)
SEED=$PREFIX.1
cd "$OUT"   # latte writes its own log files into the working directory

# The basic workloads with the keyspace's replication factor as a parameter.
for wl in read write; do
  sed "s/'replication_factor' : 1/'replication_factor' : \${RF}/; s/^const KEYSPACE = .*/const KEYSPACE = \"latte\";\nconst RF = latte::param!(\"rf\", 1);/" \
    "$WL/$wl.rn" >"$OUT/$wl.rn"
done

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# Counts over every server (threads alive at the start: the workers and the writer thread).
perf_start() {
  perf stat -x, -e task-clock,raw_syscalls:sys_enter,context-switches -o "$OUT/perf.csv" \
    -p "$(IFS=,; echo "${pids[*]}")" & perf_pid=$!
}
perf_stop() { kill -INT "$perf_pid"; wait "$perf_pid" || true; }
wait_port() { for _ in $(seq 150); do (exec 3<>"/dev/tcp/$1/9042") 2>/dev/null && return 0; sleep 0.2; done; return 1; }
latte_() { timeout 600 taskset -c 0 "$LATTE" "$@" "$SEED:9042"; }
pids=()
stop_all() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done; pids=(); }
trap stop_all EXIT

echo "round setup workload op/s p99_us cpu_pct_per_node cpu_us/op syscalls/op switches/op" >"$OUT/results.txt"
for r in $(seq "$ROUNDS"); do
  for setup in 1 3 ${BASE:+b1 b3}; do
    n=${setup#b}; bin=$BIN; [ "$setup" = "$n" ] || bin=$BASE
    rm -rf "$OUT/data"
    for i in $(seq "$n"); do
      addr=$PREFIX.$i
      taskset -c 1 "$bin" --data-dir "$OUT/data/$i" --listen-address "$addr" --rpc-address "$addr" \
        --seeds "$SEED" --admin-port 0 >"$OUT/node$i.log" 2>&1 &
      pids+=($!)
      [ "$i" = 1 ] && { wait_port "$addr" || { echo "node $i did not start"; exit 1; }; }
    done
    for i in $(seq "$n"); do wait_port "$PREFIX.$i" || { echo "node $i did not start"; exit 1; }; done
    sleep $((n > 1 ? 3 : 0))   # gossip: every node UP everywhere before the schema
    rf=$n; cl=$([ "$n" = 1 ] && echo ONE || echo QUORUM)
    latte_ schema -P rf="$rf" "$OUT/read.rn" >"$OUT/schema.log" 2>&1
    latte_ schema -P rf="$rf" "$OUT/write.rn" >>"$OUT/schema.log" 2>&1
    latte_ load -q -P rf="$rf" -P rows="$ROWS" --consistency "$cl" "$OUT/read.rn" >"$OUT/load.log" 2>&1
    for wl in read write; do
      t0=(); for p in "${pids[@]}"; do t0+=("$(ticks "$p")"); done
      perf_start
      latte_ run -q -d "$DUR" -t 1 -p "$CONC" -P rf="$rf" -P rows="$ROWS" --consistency "$cl" \
        -o "$OUT/$setup-$wl-$r.json" "$OUT/$wl.rn" >"$OUT/$setup-$wl-$r.log" 2>&1 || true
      perf_stop
      cpu=(); k=0
      for p in "${pids[@]}"; do cpu+=("$(( $(ticks "$p") - ${t0[$k]} ))"); k=$((k + 1)); done
      python3 - "$OUT/$setup-$wl-$r.json" "$OUT/perf.csv" "$r" "$setup" "$wl" "${cpu[@]}" \
        >>"$OUT/results.txt" <<'EOF'
import json, sys, os
f, perf, r, setup, wl, *ticks = sys.argv[1:]
j = json.load(open(f)); res = j["result"]
counts = {l.split(",")[2]: float(l.split(",")[0]) for l in open(perf) if l.count(",") > 2 and l[0].isdigit()}
p99 = {q: v["value"] * 1000 for q, v in zip(j["percentiles"], res["cycle_latency"]["percentiles"])}[99.0]
cpu = "/".join(str(round(100 * int(t) / os.sysconf("SC_CLK_TCK") / res["elapsed_time_s"])) for t in ticks)
ops = res["cycle_throughput"]["value"] * res["elapsed_time_s"]
print(r, setup, wl, round(res["cycle_throughput"]["value"]), round(p99), cpu,
      f"{counts['task-clock'] * 1000 / ops:.1f}", f"{counts['raw_syscalls:sys_enter'] / ops:.2f}",
      f"{counts['context-switches'] / ops:.2f}",
      "errors=%d" % res["error_count"] if res["error_count"] else "")
EOF
    done
    stop_all
  done
done
python3 - "$OUT/results.txt" <<'EOF'
import sys, statistics as st
rows = [l.split() for l in open(sys.argv[1]).read().splitlines()[1:] if l]
get = lambda r, setup, wl: next((x for x in rows if x[0] == r and x[1] == setup and x[2] == wl), None)
base = any(x[1] == "b3" for x in rows)
costs = "cpu_us/op_1,3 syscalls/op_1,3 switches/op_1,3"
print("round workload 1node_op/s 3node_op/s ratio 1node_p99_us 3node_p99_us cpu%_1node cpu%_per_node_3",
      costs, f"| baseline: 1node_op/s 3node_op/s ratio {costs}" if base else "")
ratios = {}
for r in sorted({x[0] for x in rows}, key=int):
    for wl in ("read", "write"):
        one, three = get(r, "1", wl), get(r, "3", wl)
        ratio = int(three[3]) / int(one[3]); ratios.setdefault(wl, []).append(ratio)
        pair = lambda a, b: [f"{a[i]},{b[i]}" for i in (6, 7, 8)]
        line = [r, wl, one[3], three[3], f"{ratio:.2f}", one[4], three[4], one[5], three[5], *pair(one, three)]
        b1, b3 = get(r, "b1", wl), get(r, "b3", wl)
        if b1 and b3:
            bratio = int(b3[3]) / int(b1[3]); ratios.setdefault(wl + " baseline", []).append(bratio)
            line += ["|", b1[3], b3[3], f"{bratio:.2f}", *pair(b1, b3)]
        errors = [x for x in three[9:] + (b3[9:] if b3 else []) if x.startswith("errors")]
        print(*line, *errors)
for wl, v in ratios.items(): print(f"median ratio 3 nodes RF=3 QUORUM / 1 node RF=1, {wl}: {st.median(v):.2f}")
EOF
