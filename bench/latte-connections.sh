#!/usr/bin/env bash
# latte with `--connections $LATTE_CONNECTIONS` added to its `run` phase: latte-pair.sh has no
# option for it, but takes its latte binary from $LATTE (bench/latte-variants.sh sets both).
set -euo pipefail
latte=${REAL_LATTE:-$(command -v latte || echo "$HOME/.cargo/bin/latte")}
if [ "${1:-}" = run ]; then
  shift
  exec "$latte" run --connections "${LATTE_CONNECTIONS:-1}" "$@"
fi
exec "$latte" "$@"
