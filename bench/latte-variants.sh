#!/usr/bin/env bash
# Issue 15's latte-pair.sh variants in one go (Strata / null-cql, each round in the same run),
# with the Strata server's peak RSS (VmHWM, sampled from /proc every 0.2 s).
#
# Usage: bash bench/latte-variants.sh STRATA_BIN [ROUNDS] [DURATION]
# Env: VARIANTS (default: "default p256 conn4 batch null bigread"), OUT (/tmp/latte-variants),
#      LATTE_PAIR (../shared/bench/latte-pair.sh beside the repository), ADDR (127.0.0.1)
#   default  -p 64, one connection, periodic commit log (the issue's main figure)
#   p256     -p 256
#   conn4    4 connections (-p 64 per thread, one thread)
#   batch    --commitlog-sync batch (group commit)
#   null     --null-storage (the request path alone)
#   bigread  1,000,000 rows with file_cache_size 4MiB: the table is several times the cache
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
BIN=$(realpath "$1"); ROUNDS=${2:-3}; DUR=${3:-10s}
PAIR=${LATTE_PAIR:-$here/../../shared/bench/latte-pair.sh}
OUT=${OUT:-/tmp/latte-variants}; mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
VARIANTS=${VARIANTS:-"default p256 conn4 batch null bigread"}
printf 'file_cache_size: 4MiB\n' >"$OUT/small-cache.yaml"

# peak_rss FILE: the largest VmHWM (KiB) of any running $BIN, until FILE.stop exists.
peak_rss() {
  local peak=0 kib pid
  while [ ! -e "$1.stop" ]; do
    for pid in $(pgrep -f "^$BIN " || true); do
      kib=$(awk '/^VmHWM/{print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
      [ "${kib:-0}" -gt "$peak" ] && peak=$kib
    done
    sleep 0.2
  done
  echo "$peak" >"$1"
}

for variant in $VARIANTS; do
  envs=()
  case $variant in
    default) ;;
    p256) envs=(CONC=256) ;;
    conn4) envs=(LATTE="$here/latte-connections.sh" LATTE_CONNECTIONS=4) ;;
    batch) envs=(STRATA_ARGS="--commitlog-sync batch") ;;
    null) envs=(STRATA_ARGS=--null-storage) ;;
    bigread) envs=(ROWS=1000000 STRATA_ARGS="--config $OUT/small-cache.yaml") ;;
    *) echo "unknown variant $variant" >&2; exit 2 ;;
  esac
  rm -f "$OUT/$variant.rss" "$OUT/$variant.rss.stop"
  peak_rss "$OUT/$variant.rss" &
  sampler=$!
  echo "== $variant ${envs[*]}"
  env "${envs[@]}" OUT="$OUT/$variant" bash "$PAIR" "$BIN" "$ROUNDS" "$DUR" | tail -n +1 \
    | tee "$OUT/$variant.txt"
  touch "$OUT/$variant.rss.stop"; wait "$sampler"
  echo "peak RSS of strata: $(( $(cat "$OUT/$variant.rss") / 1024 )) MiB" | tee -a "$OUT/$variant.txt"
done
