#!/usr/bin/env bash
# LAVA's own files for the tests that use LAVA as an oracle: the device-type
# templates (lava-server), the job schema (lava-common) and the Python
# libraries that run them (jinja2, markupsafe, voluptuous, yaml), fetched
# from Debian with `apt-get download` and unpacked with `dpkg-deb -x` into a
# cache folder. Prints the folder (its usr/lib/python3/dist-packages and
# usr/share/lava-server/device-types are what the tests read).
#
#   bash scripts/lava-debian.sh            fetch when not cached, print the folder
#   bash scripts/lava-debian.sh --update   the same, running `apt-get update` first
#                                          when the download fails (root; .ci/run)
#
# LAVALAB_LAVA_DEBIAN overrides the cache folder (default
# ${XDG_CACHE_HOME:-~/.cache}/lavalab/lava-debian). The tests' expected data is
# LAVA 2023.01's (Debian 12's lava-server 2023.01-2): another version is refused.
set -euo pipefail

WANT=2023.01
PKGS=(lava-common lava-server python3-jinja2 python3-markupsafe python3-voluptuous python3-yaml)
CACHE="${LAVALAB_LAVA_DEBIAN:-${XDG_CACHE_HOME:-$HOME/.cache}/lavalab/lava-debian}"
DIR="$CACHE/$WANT"
UPDATE=0
[ "${1:-}" = --update ] && UPDATE=1

die() { echo "lava-debian: $*" >&2; exit 1; }

if [ -f "$DIR/.complete" ]; then
  echo "$DIR"
  exit 0
fi
command -v apt-get >/dev/null || die "apt-get is not installed (a Debian or Ubuntu host fetches LAVA's packages)"
command -v dpkg-deb >/dev/null || die "dpkg-deb is not installed"
mkdir -p "$CACHE"
TMP="$(mktemp -d "$CACHE/.fetch.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
chmod 755 "$TMP" # apt's _apt user writes the files when it can

fetch() { (cd "$TMP" && apt-get download -q "${PKGS[@]}") >"$TMP/apt.log" 2>&1; }
if ! fetch; then
  if [ "$UPDATE" = 1 ] && [ "$(id -u)" = 0 ]; then
    apt-get update -q >"$TMP/update.log" 2>&1 || die "apt-get update failed: $(tail -n 1 "$TMP/update.log")"
    fetch || die "apt-get download ${PKGS[*]} failed: $(grep -v '^W:' "$TMP/apt.log" | tail -n 1)"
  else
    die "apt-get download ${PKGS[*]} failed (no network, or no package lists: apt-get update): $(grep -v '^W:' "$TMP/apt.log" | tail -n 1)"
  fi
fi
got="$(dpkg-deb -f "$TMP"/lava-server_*.deb Version)"
case "$got" in
  "$WANT"*) ;;
  *) die "Debian serves lava-server $got; the tests' expected data is LAVA $WANT's (Debian 12, bookworm)" ;;
esac
mkdir -p "$TMP/root"
for deb in "$TMP"/*.deb; do
  dpkg-deb -x "$deb" "$TMP/root"
  dpkg-deb -f "$deb" Package Version | paste -sd' ' >>"$TMP/root/.versions"
done
touch "$TMP/root/.complete"
# Another run may have finished first: its folder is as good as this one.
mv -T "$TMP/root" "$DIR" 2>/dev/null || [ -f "$DIR/.complete" ] || die "cannot move the packages to $DIR"
echo "$DIR"
