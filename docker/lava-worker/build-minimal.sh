#!/bin/sh
# Builds the minimal lava-worker image (Dockerfile.minimal) with no
# registry: FROM scratch, bin/lava-worker (static, as `make build` builds
# it), bin/drivers/*.wasm and a static busybox with its applets as links.
#
#   make build && docker/lava-worker/build-minimal.sh [TAG]
#
# TAG defaults to localhost/lavalab/lava-worker:minimal. ENGINE: the engine
# program (podman, the default, or docker); BIN: the build's bin/ folder
# (default bin); BUSYBOX: a statically linked busybox (default: busybox on PATH).
set -eu
tag=${1:-localhost/lavalab/lava-worker:minimal}
engine=${ENGINE:-podman}
bin=${BIN:-bin}
busybox=${BUSYBOX:-$(command -v busybox || true)}
here=$(cd "$(dirname "$0")" && pwd)
[ -x "$bin/lava-worker" ] || { echo "build-minimal.sh: no $bin/lava-worker: run make build" >&2; exit 1; }
[ -n "$busybox" ] && [ -x "$busybox" ] || { echo "build-minimal.sh: no busybox (install busybox-static or set BUSYBOX)" >&2; exit 1; }
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
root=$ctx/rootfs
mkdir -p "$root/bin" "$root/usr/local/bin" "$root/usr/lib/lava-worker/drivers" "$root/var/lib/lava-worker" \
	"$root/etc/lava-worker" "$root/tmp" "$root/root"
chmod 1777 "$root/tmp"
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
	[ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
done
cp "$bin/lava-worker" "$root/usr/local/bin/lava-worker"
for d in "$bin"/drivers/*.wasm; do
	[ -e "$d" ] && cp "$d" "$root/usr/lib/lava-worker/drivers/"
done
echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
cp "$here/Dockerfile.minimal" "$ctx/Dockerfile"
"$engine" build --tag "$tag" --file "$ctx/Dockerfile" "$ctx"
