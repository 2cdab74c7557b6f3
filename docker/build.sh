#!/usr/bin/env bash
# Builds a statically linked strata and the Docker image strata:latest from docker/Dockerfile.
#
#   bash docker/build.sh            # image strata:latest
#   STRATA_IMAGE=strata:dev bash docker/build.sh
#
# No registry is needed: the image is FROM scratch. The binary is glibc linked statically
# (+crt-static) for x86_64-unknown-linux-gnu; with the explicit --target, RUSTFLAGS apply to it
# only and not to build scripts or proc macros. Its target dir is its own (other RUSTFLAGS would
# invalidate the normal target/release) and outside the work tree, in the user's cache, so that
# every clone on the machine shares it: CI's fresh clone rebuilds only the workspace crates, not
# every dependency (a full release build). STRATA_STATIC_TARGET_DIR overrides it.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${STRATA_STATIC_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/strata/static-target}"
IMAGE="${STRATA_IMAGE:-strata:latest}"
TRIPLE=x86_64-unknown-linux-gnu
SERVER_UID=10001

echo "==> static build into $TARGET_DIR"
(cd "$REPO_ROOT" && RUSTFLAGS='-C target-feature=+crt-static' CARGO_TARGET_DIR="$TARGET_DIR" \
    cargo build --release --target "$TRIPLE" --bin strata)
BIN="$TARGET_DIR/$TRIPLE/release/strata"
if ! ldd "$BIN" 2>&1 | grep -Eq 'statically linked|not a dynamic executable'; then
    echo "error: $BIN is not statically linked:" >&2
    ldd "$BIN" >&2 || true
    exit 1
fi

CONTEXT="$(mktemp -d)"
trap 'rm -rf "$CONTEXT"' EXIT
ROOT="$CONTEXT/rootfs"
mkdir -p "$ROOT/usr/bin" "$ROOT/etc" "$ROOT/var/lib/cassandra"
# Debug info stays in target/static; the image gets symbols only (backtraces still name functions).
if command -v strip >/dev/null; then
    strip --strip-debug -o "$ROOT/usr/bin/strata" "$BIN"
else
    cp "$BIN" "$ROOT/usr/bin/strata"
fi
ln "$ROOT/usr/bin/strata" "$ROOT/usr/bin/nodetool"
# The static glibc resolver has only its built-in files and dns modules: say so, so that
# /etc/hosts (container names on user networks come through Docker's DNS) is read first.
echo 'hosts: files dns' >"$ROOT/etc/nsswitch.conf"
chmod 0755 "$ROOT/usr/bin/strata" "$ROOT/var/lib/cassandra"
chmod 0644 "$ROOT/etc/nsswitch.conf"

# Owners are set in the tar (no root needed here): root for the system files, the server's
# user for its data directory, which Docker copies into a fresh volume with its owner.
TAR=(tar --create --file "$CONTEXT/rootfs.tar" --directory "$ROOT" --numeric-owner --sort=name --mtime=@0)
"${TAR[@]}" --owner=0 --group=0 --no-recursion var var/lib
"${TAR[@]/--create/--append}" --owner=0 --group=0 usr etc
"${TAR[@]/--create/--append}" --owner=$SERVER_UID --group=$SERVER_UID var/lib/cassandra
cp "$REPO_ROOT/docker/Dockerfile" "$CONTEXT/Dockerfile"

echo "==> docker build -t $IMAGE"
docker build --quiet -t "$IMAGE" "$CONTEXT" >/dev/null
docker image inspect --format '{{.RepoTags}} {{.Size}} bytes, user {{.Config.User}}' "$IMAGE"
