#!/usr/bin/env bash
# The project's test command: bash scripts/test.sh
#
#   0. set-up: a Python venv (.venv) with compat-tests/requirements.txt, and the openssl
#      command line (test_tls.py makes its certificates with it; apt-get when missing)
#   1. gates: `cargo fmt --all --check`,
#      `cargo clippy --workspace --all-targets -- -D warnings` and no new dependency cycle
#      between modules of src/ (scripts/module_deps.py); then unit + integration
#      tests of every crate but the compat suite
#   2. release build of the server binary
#   3. python-driver and cqlsh compat suites (pytest) against that binary
#   4. the Cassandra-derived CQL suite (compat-tests/python/cassandra: Cassandra 5.0's own
#      cql3 validation tests rewritten for the python driver), with its own counts
#   5. Rust scylla-driver compat suite against that binary
#   6. Go gocql compat suite against that binary (compat-tests/go/run.sh installs Go and gocql
#      from Debian with apt-get when they are missing)
#   7. when a Docker engine answers (`docker info`): the image (docker/build.sh, a static
#      binary in its own target dir); Compose v2 (docker/install-compose-v2.sh: Debian's
#      plugin when the CLI lacks it) and docker/compose.yml under `docker compose` (up, a
#      query through the published port, down); the single-container smoke and fault tests;
#      and the 3-node compose fault tests under `docker-compose` (v1) when it is installed,
#      so that both Compose versions run (docker/tests/run.sh)
#
# The script installs what it needs itself: a newcomer runs it on a fresh clone and nothing
# else. The venv lives in .venv (STRATA_VENV overrides) and is reused while
# requirements.txt is unchanged.
#
# Every step runs even if an earlier one failed (except that 3 to 6 need the binary from 2);
# a summary follows and the exit code is non-zero if anything failed. A step that exits 77
# could not run here (its reason is in the summary): NOT RUN, which is not a failure.
#
# Builds go to the normal ./target (CARGO_TARGET_DIR is overridden on purpose), so CI and
# developers cache one tree. Extra pytest arguments can be passed in PYTEST_ARGS.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"
export CARGO_TARGET_DIR="$REPO_ROOT/target"
export STRATA_BIN="$CARGO_TARGET_DIR/release/strata"
VENV="${STRATA_VENV:-$REPO_ROOT/.venv}"

declare -a STEP_NAMES=() STEP_RESULTS=() STEP_SECONDS=()
FAILED=0

# run_step NAME COMMAND...: runs the command, records pass/fail and duration. The command may
# write why it could not run to $STRATA_NOT_RUN_FILE and exit 77.
run_step() {
    local name="$1"
    shift
    local started=$SECONDS status=0
    echo
    echo "==> $name: $*"
    STRATA_NOT_RUN_FILE="$(mktemp)"
    export STRATA_NOT_RUN_FILE
    "$@" || status=$?
    STEP_NAMES+=("$name")
    STEP_SECONDS+=($((SECONDS - started)))
    if [[ $status -eq 0 ]]; then
        STEP_RESULTS+=("ok")
    elif [[ $status -eq 77 ]]; then
        STEP_RESULTS+=("NOT RUN: $(cat "$STRATA_NOT_RUN_FILE")")
        status=0
    else
        STEP_RESULTS+=("FAILED (exit $status)")
        FAILED=1
    fi
    rm -f "$STRATA_NOT_RUN_FILE"
    return $status
}

# note_step NAME REASON: a step that cannot run on this machine; listed, not a failure.
note_step() {
    STEP_NAMES+=("$1")
    STEP_SECONDS+=(0)
    STEP_RESULTS+=("NOT RUN: $2")
}

skip_step() {
    STEP_NAMES+=("$1")
    STEP_SECONDS+=(0)
    STEP_RESULTS+=("SKIPPED ($2)")
    FAILED=1
}

print_summary() {
    echo
    # Disk is the resource a cold run is most likely to exhaust (two cargo trees, a static
    # one, images); what is left is printed so a failure for lack of it is plain.
    df -h "$REPO_ROOT" | tail -n 1 | awk '{print "disk: " $4 " free of " $2 " at the end"}'
    echo
    echo "================ strata test summary ================"
    local i
    for i in "${!STEP_NAMES[@]}"; do
        printf '%-31s %-26s %5ss\n' "${STEP_NAMES[$i]}" "${STEP_RESULTS[$i]}" "${STEP_SECONDS[$i]}"
    done
    echo "====================================================="
    if [[ $FAILED -eq 0 ]]; then echo "ALL STEPS PASSED"; else echo "SOME STEPS FAILED"; fi
}

# setup_venv: creates the venv once and (re)installs the pinned requirements when they change.
setup_venv() {
    local req="$REPO_ROOT/compat-tests/requirements.txt" stamp="$VENV/.requirements.sha256"
    local want
    want=$(sha256sum "$req" | cut -d' ' -f1)
    if [[ ! -x "$VENV/bin/python" ]]; then
        python3 -m venv "$VENV" || return 1
    fi
    if [[ "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
        PIP_DISABLE_PIP_VERSION_CHECK=1 "$VENV/bin/python" -m pip install --quiet -r "$req" \
            || return 1
        echo "$want" >"$stamp"
    fi
}

run_step "python venv (compat-tests/requirements.txt)" setup_venv || true

# install_openssl: the openssl CLI, from Debian when missing (test_tls.py makes its CA, node
# and client certificates with it, as an operator would).
install_openssl() {
    command -v openssl >/dev/null && return 0
    local sudo=()
    [[ $(id -u) -eq 0 ]] || sudo=(sudo)
    "${sudo[@]}" apt-get update -qq || return 1
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq openssl >/dev/null
}
run_step "openssl CLI (test_tls.py)" install_openssl || true
PYTHON="${PYTHON:-$VENV/bin/python}"
# cqlsh and other console scripts of the venv must be found by the suites.
export PATH="$VENV/bin:$PATH"

# rustfmt and clippy come with rustup's default profile; added if a minimal one lacks them.
rust_components() {
    cargo fmt --version >/dev/null 2>&1 || rustup component add rustfmt || return 1
    cargo clippy --version >/dev/null 2>&1 || rustup component add clippy || return 1
}

if run_step "rustfmt, clippy components" rust_components; then
    run_step "cargo fmt --check" cargo fmt --all --check || true
    run_step "cargo clippy -D warnings" \
        cargo clippy --workspace --all-targets -- -D warnings || true
else
    skip_step "cargo fmt --check" "no rustfmt"
    skip_step "cargo clippy -D warnings" "no clippy"
fi
run_step "module dependency cycles" python3 scripts/module_deps.py || true

run_step "cargo test (workspace)" \
    cargo test --workspace --exclude strata-compat-tests || true

if run_step "cargo build --release" cargo build --release --bin strata; then
    # shellcheck disable=SC2086 # PYTEST_ARGS is a list of words on purpose
    run_step "pytest (python driver, cqlsh)" \
        "$PYTHON" -m pytest -q compat-tests/python compat-tests/cqlsh \
        --ignore=compat-tests/python/cassandra ${PYTEST_ARGS:-} || true
    # shellcheck disable=SC2086
    run_step "pytest (Cassandra-derived CQL)" \
        "$PYTHON" -m pytest -q compat-tests/python/cassandra ${PYTEST_ARGS:-} || true
    run_step "cargo test (scylla driver)" cargo test -p strata-compat-tests || true
    run_step "go test (gocql)" bash compat-tests/go/run.sh || true
else
    skip_step "pytest (python driver, cqlsh)" "no server binary"
    skip_step "pytest (Cassandra-derived CQL)" "no server binary"
    skip_step "cargo test (scylla driver)" "no server binary"
    skip_step "go test (gocql)" "no server binary"
fi

if docker info >/dev/null 2>&1; then
    if run_step "docker image (docker/build.sh)" bash docker/build.sh; then
        if run_step "docker compose v2 plugin" bash docker/install-compose-v2.sh; then
            run_step "docker compose v2 up/query/down" \
                env PYTHON="$PYTHON" STRATA_COMPOSE="docker compose" bash docker/tests/run.sh compose || true
        else
            skip_step "docker compose v2 up/query/down" "no Compose v2"
        fi
        run_step "docker smoke + 1-node faults" env PYTHON="$PYTHON" bash docker/tests/run.sh smoke || true
        # The fault tests use v1 where it is installed (v2 has its own check above).
        compose_v1=()
        command -v docker-compose >/dev/null && compose_v1=(STRATA_COMPOSE=docker-compose)
        run_step "docker 3-node fault tests" \
            env PYTHON="$PYTHON" "${compose_v1[@]}" bash docker/tests/run.sh cluster || true
    else
        skip_step "docker compose v2 up/query/down" "no image"
        skip_step "docker smoke + 1-node faults" "no image"
        skip_step "docker 3-node fault tests" "no image"
    fi
else
    note_step "docker tests" "no Docker engine answers (docker info)"
fi

print_summary
exit $FAILED
