#!/bin/sh
# podman for a lava-worker host whose cgroups are in hybrid mode with a
# controller left on the cgroup2 ("unified") hierarchy, where crun refuses to
# run a container ("cgroups in hybrid mode not supported, drop all
# controllers from cgroupv2"). It runs podman in a private mount namespace
# without /sys/fs/cgroup/unified, so crun sees the cgroup v1 hierarchies
# only; the host keeps its mounts. Elsewhere it runs podman as it is.
#
# Map the worker's podman tool to it (issue 21, docs/multinode.md):
#   lava-worker --tools-file tools.yaml   with   - {name: podman, path: /usr/local/lib/lava-worker/podman-hybrid-cgroup.sh, device_types: [docker]}
#
# PODMAN names the real podman (default /usr/bin/podman). Needs root (unshare --mount).
podman=${PODMAN:-/usr/bin/podman}
unified=/sys/fs/cgroup/unified
if [ -n "$(cat "$unified/cgroup.controllers" 2>/dev/null)" ] && [ "$(stat -f -c %T /sys/fs/cgroup 2>/dev/null)" = tmpfs ]; then
	# podman's network namespaces are mounted under /run/netns, which podman
	# makes a shared mount on its first run; made here, on the host, as podman
	# would, so that those mounts reach the host and every later podman
	# command (podman ps, the next job's) can join a running container's.
	if ! mountpoint -q /run/netns 2>/dev/null; then
		mkdir -p /run/netns && mount --bind /run/netns /run/netns && mount --make-shared /run/netns
	fi
	# --propagation unchanged keeps that sharing; the cgroup2 mount is made
	# private in the new namespace first, so its unmount stays there.
	exec unshare --mount --propagation unchanged sh -c 'mount --make-private "$0" && umount "$0" && exec "$@"' "$unified" "$podman" "$@"
fi
exec "$podman" "$@"
