#!/bin/sh
# Makes the two base images docker/lava-worker/Dockerfile builds FROM where
# no registry is reachable (issue 21): a Debian bookworm minbase from a
# Debian mirror (debootstrap), and a Go image: that Debian with make, git and
# this machine's Go toolchain (GOROOT). Needs root, debootstrap and the engine.
#
#   docker/lava-worker/local-bases.sh
#   podman build --network host -f docker/lava-worker/Dockerfile \
#     --build-arg BUILD_IMAGE=localhost/lavalab/golang:bookworm \
#     --build-arg BASE_IMAGE=localhost/lavalab/debian:bookworm-slim \
#     --build-arg VERSION=$(git describe --tags --always) -t lavalab/lava-worker .
#
# ENGINE: podman (default) or docker; MIRROR: the Debian mirror (default
# http://deb.debian.org/debian); GOROOT: the Go toolchain to copy (default
# `go env GOROOT`); PREFIX: the images' name prefix (default localhost/lavalab).
set -eu
engine=${ENGINE:-podman}
mirror=${MIRROR:-http://deb.debian.org/debian}
prefix=${PREFIX:-localhost/lavalab}
goroot=${GOROOT:-$(go env GOROOT)}
command -v debootstrap >/dev/null || { echo "local-bases.sh: debootstrap is not installed" >&2; exit 1; }
[ -x "$goroot/bin/go" ] || { echo "local-bases.sh: no Go toolchain at $goroot (set GOROOT)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
debootstrap --variant=minbase --include=ca-certificates bookworm "$work/rootfs" "$mirror"
rm -rf "$work"/rootfs/var/cache/apt/archives/*.deb "$work"/rootfs/var/lib/apt/lists/*
tar -C "$work/rootfs" -cf "$work/debian.tar" .
rm -rf "$work/rootfs"
"$engine" import --change 'CMD ["bash"]' "$work/debian.tar" "$prefix/debian:bookworm-slim"
cat >"$work/Containerfile" <<EOF
FROM $prefix/debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends make git ca-certificates && rm -rf /var/lib/apt/lists/*
COPY $(basename "$goroot") /usr/local/go
ENV PATH=/usr/local/go/bin:/root/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin GOTOOLCHAIN=local
EOF
"$engine" build --network host --file "$work/Containerfile" --tag "$prefix/golang:bookworm" "$(dirname "$goroot")"
