#!/usr/bin/env bash
# The Go compat suite: gocql from Debian against a strata node the suite starts itself.
#
#   bash compat-tests/go/run.sh        (STRATA_BIN: the server binary, default target/release/strata)
#
# Installs its prerequisites (golang-go, golang-github-gocql-gocql-dev) with apt-get when they
# are missing, then builds offline in GOPATH mode against /usr/share/gocode: no module download.
# Prints `go test -v` output and a count of passed, failed and skipped tests.
set -euo pipefail

SUITE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SUITE_DIR/../.." && pwd)"
GOCODE=/usr/share/gocode
# Bound on the whole run (build included); the suite itself takes well under a minute.
TIMEOUT=${GO_COMPAT_TIMEOUT:-170s}

install_prerequisites() {
    if command -v go >/dev/null && [[ -d "$GOCODE/src/github.com/gocql/gocql" ]]; then
        return
    fi
    local sudo=()
    [[ $(id -u) -eq 0 ]] || sudo=(sudo)
    echo "installing golang-go and golang-github-gocql-gocql-dev with apt-get"
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq \
        golang-go golang-github-gocql-gocql-dev >/dev/null
}

install_prerequisites

export GO111MODULE=off GOPATH="$GOCODE" GOFLAGS= GOPROXY=off
export GOCACHE="${GOCACHE:-$REPO_ROOT/target/go-build}"
export STRATA_BIN="${STRATA_BIN:-$REPO_ROOT/target/release/strata}"

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
(cd "$SUITE_DIR" && timeout "$TIMEOUT" go test -count=1 -v -timeout "$TIMEOUT" .) 2>&1 | tee "$log" \
    || status=$?
# Top-level results only ("--- PASS: TestX"), not subtests.
passed=$(grep -c '^--- PASS' "$log" || true)
failed=$(grep -c '^--- FAIL' "$log" || true)
skipped=$(grep -c '^--- SKIP' "$log" || true)
echo "go compat (gocql): $passed passed, $failed failed, $skipped skipped (known gaps)"
if [[ $status -ne 0 && $failed -eq 0 ]]; then
    echo "go test exited with status $status (build error or timeout)"
fi
exit "$status"
