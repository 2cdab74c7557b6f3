#!/usr/bin/env bash
# The project's test command: bash scripts/test.sh
#
#   1. unit + integration tests of every crate but the compat suite
#   2. release build of the server binary
#   3. python-driver and cqlsh compat suites (pytest) against that binary
#   4. Rust scylla-driver compat suite against that binary
#
# Every step runs even if an earlier one failed (except that 3 and 4 need the binary from 2);
# a summary follows and the exit code is non-zero if anything failed.
#
# Builds go to the normal ./target (CARGO_TARGET_DIR is overridden on purpose), so CI and
# developers cache one tree. Extra pytest arguments can be passed in PYTEST_ARGS.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"
export CARGO_TARGET_DIR="$REPO_ROOT/target"
export STRATA_BIN="$CARGO_TARGET_DIR/release/strata"
PYTHON="${PYTHON:-python3}"

declare -a STEP_NAMES=() STEP_RESULTS=() STEP_SECONDS=()
FAILED=0

# run_step NAME COMMAND...: runs the command, records pass/fail and duration.
run_step() {
    local name="$1"
    shift
    local started=$SECONDS status=0
    echo
    echo "==> $name: $*"
    "$@" || status=$?
    STEP_NAMES+=("$name")
    STEP_SECONDS+=($((SECONDS - started)))
    if [[ $status -eq 0 ]]; then
        STEP_RESULTS+=("ok")
    else
        STEP_RESULTS+=("FAILED (exit $status)")
        FAILED=1
    fi
    return $status
}

skip_step() {
    STEP_NAMES+=("$1")
    STEP_SECONDS+=(0)
    STEP_RESULTS+=("SKIPPED ($2)")
    FAILED=1
}

print_summary() {
    echo
    echo "================ strata test summary ================"
    local i
    for i in "${!STEP_NAMES[@]}"; do
        printf '%-31s %-26s %5ss\n' "${STEP_NAMES[$i]}" "${STEP_RESULTS[$i]}" "${STEP_SECONDS[$i]}"
    done
    echo "====================================================="
    if [[ $FAILED -eq 0 ]]; then echo "ALL STEPS PASSED"; else echo "SOME STEPS FAILED"; fi
}

run_step "cargo test (workspace)" \
    cargo test --workspace --exclude strata-compat-tests || true

if run_step "cargo build --release" cargo build --release --bin strata; then
    # shellcheck disable=SC2086 # PYTEST_ARGS is a list of words on purpose
    run_step "pytest (python driver, cqlsh)" \
        "$PYTHON" -m pytest -q compat-tests/python compat-tests/cqlsh ${PYTEST_ARGS:-} || true
    run_step "cargo test (scylla driver)" cargo test -p strata-compat-tests || true
else
    skip_step "pytest (python driver, cqlsh)" "no server binary"
    skip_step "cargo test (scylla driver)" "no server binary"
fi

print_summary
exit $FAILED
