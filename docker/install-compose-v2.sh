#!/usr/bin/env bash
# Makes `docker compose` (Compose v2, the Go CLI plugin) available when the Docker CLI lacks it,
# from Debian's own packages and without touching the system's apt configuration:
#
#   bash docker/install-compose-v2.sh          # prints `docker compose version`
#
# Debian 12 (bookworm) ships only Compose v1 (`docker-compose` 1.29, Python); its backports have
# no Compose at all. Debian 13 (trixie) ships v2 as the package `docker-compose` (2.26), a single
# Go binary that needs nothing but libc6 >= 2.34 (bookworm has 2.36). The package is fetched with
# a private sources list, package lists and cache (apt's -o Dir::... options) under the user's
# cache directory, so the system's apt sources, lists and installed packages are left as they
# are (v1 stays installed beside it); only the plugin binary is taken out of the .deb, into the
# Docker CLI's per-user plugin directory ($DOCKER_CONFIG/cli-plugins, default ~/.docker).
# The mirror is the one the system's own Debian sources use.
#
# STRATA_COMPOSE_SUITE overrides the Debian suite (default trixie). Root is not needed.
set -euo pipefail

if docker compose version >/dev/null 2>&1; then
    docker compose version
    exit 0
fi

SUITE="${STRATA_COMPOSE_SUITE:-trixie}"
PLUGINS="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/strata/compose-v2"

# The Debian mirror of the system's release (not its -security or -updates suites).
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
mirror=$(apt-get indextargets --no-release-info --format '$(REPO_URI) $(RELEASE)' 'Identifier: Packages' \
    | awk -v release="$codename" '$2 == release && !found { print $1; found = 1 }')
if [[ -z "$mirror" ]]; then
    echo "error: no Debian source for '$codename' in apt's sources: cannot tell which mirror has $SUITE" >&2
    exit 1
fi

mkdir -p "$CACHE/lists/partial" "$CACHE/archives/partial" "$PLUGINS"
echo "deb $mirror $SUITE main" >"$CACHE/sources.list"
APT=(
    -o Dir::Etc::sourcelist="$CACHE/sources.list" -o Dir::Etc::sourceparts=-
    -o Dir::State::Lists="$CACHE/lists" -o Dir::Cache="$CACHE" -o Dir::Cache::archives="$CACHE/archives"
    -o Acquire::Languages=none -o Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false
    -o APT::Sandbox::User="$(id -un)"
)
echo "==> Compose v2 from Debian $SUITE ($mirror), private apt lists in $CACHE"
apt-get "${APT[@]}" -qq update
# (awk reads to the end: with pipefail, a reader that quits early fails the pipe)
version=$(apt-cache "${APT[@]}" show --no-all-versions docker-compose 2>/dev/null | awk '/^Version:/ && !v { v = $2 } END { print v }')
if [[ "$version" != 2.* ]]; then
    echo "error: Debian $SUITE's docker-compose is '${version:-absent}', not Compose v2" >&2
    exit 1
fi
rm -f "$CACHE"/docker-compose_*.deb
(cd "$CACHE" && apt-get "${APT[@]}" -qq download "docker-compose=$version")
deb=$(ls "$CACHE"/docker-compose_*.deb)
dpkg-deb --fsys-tarfile "$deb" | tar -x -O ./usr/libexec/docker/cli-plugins/docker-compose >"$PLUGINS/docker-compose.new"
chmod 0755 "$PLUGINS/docker-compose.new"
mv "$PLUGINS/docker-compose.new" "$PLUGINS/docker-compose"
rm -f "$deb"
echo "==> installed $PLUGINS/docker-compose (Debian $SUITE docker-compose $version)"
docker compose version
