#!/usr/bin/env bash
# The Docker tests, as scripts/test.sh runs them (after docker/build.sh built the image):
#
#   bash docker/tests/run.sh compose   # docker/compose.yml with `docker compose` (v2; $STRATA_COMPOSE
#                                      # picks another): up -d, healthy, a query through the
#                                      # published port, down -v, nothing left
#   bash docker/tests/run.sh smoke     # one container: image, health, nodetool, cqlsh, driver,
#                                      # kill/stop/pause/disconnect with acknowledged-write counts
#   bash docker/tests/run.sh cluster   # docker/compose.yml, 3 nodes, RF=3 at QUORUM: kill, stop,
#                                      # drain, pause, disconnect, split 1|2, rolling restart, full restart
#
# `cluster` exits 77 (NOT RUN, reason in $STRATA_NOT_RUN_FILE if set) when the nodes do not form a
# cluster; STRATA_REQUIRE_CLUSTER=1 makes that a failure instead. Every container, network and
# volume a run creates is removed on exit, whatever the exit (trap), and each part is bounded by
# `timeout`.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PYTHON="${PYTHON:-$REPO_ROOT/.venv/bin/python}"
export PATH="$(dirname "$PYTHON"):$PATH"
export STRATA_TEST_RUN="strata-test-$$"
export PYTHONUNBUFFERED=1

cleanup() {
    local label kind
    for label in "org.strata.test=$STRATA_TEST_RUN" "com.docker.compose.project=$STRATA_TEST_RUN"; do
        for kind in container network volume; do
            local ids
            ids=$(docker "$kind" ls -q $([[ $kind == container ]] && echo -a) --filter "label=$label" 2>/dev/null || true)
            if [[ -n "$ids" ]]; then
                echo "run.sh cleanup: removing ${kind}s $(echo $ids)"
                # shellcheck disable=SC2086 # ids is a list of words
                case $kind in
                    container) docker rm -f -v $ids >/dev/null 2>&1 || true ;;
                    *) docker "$kind" rm $ids >/dev/null 2>&1 || true ;;
                esac
            fi
        done
    done
}
trap cleanup EXIT

cd "$REPO_ROOT/docker/tests"
case "${1:-}" in
    compose)
        timeout --kill-after=30 300 "$PYTHON" compose_check.py --compose "${STRATA_COMPOSE:-docker compose}"
        ;;
    smoke)
        timeout --kill-after=30 900 "$PYTHON" smoke.py
        ;;
    cluster)
        status=0
        timeout --kill-after=30 1500 "$PYTHON" faults.py --topology cluster \
            ${STRATA_REQUIRE_CLUSTER:+--require-cluster} | tee "${TMPDIR:-/tmp}/$STRATA_TEST_RUN.log" || status=${PIPESTATUS[0]}
        if [[ $status -eq 77 && -n "${STRATA_NOT_RUN_FILE:-}" ]]; then
            grep -m1 '^NOT RUN: ' "${TMPDIR:-/tmp}/$STRATA_TEST_RUN.log" | sed 's/^NOT RUN: //' >"$STRATA_NOT_RUN_FILE" || true
        fi
        rm -f "${TMPDIR:-/tmp}/$STRATA_TEST_RUN.log"
        exit $status
        ;;
    *)
        echo "usage: $0 compose|smoke|cluster" >&2
        exit 2
        ;;
esac
