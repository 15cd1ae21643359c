#!/bin/sh
# board.sh — power and console of a virtual arm64 board: QEMU (-M virt,
# cortex-a57) with Debian's U-Boot as firmware, the images of `make
# vlab-images`. A device dictionary of the qemu-uboot-arm64 device type uses it:
#
#   power_on_command:   board.sh on  --name vlab-01 --port 18110 --tftp <worker work dir>/jobs
#   power_off_command:  board.sh off --name vlab-01
#   connection_command: board.sh console --port 18110
#
# on       starts QEMU in the background and returns once its console socket
#          listens (127.0.0.1:PORT, server, wait=on: the guest does not run
#          until the console is attached, so no output is lost). A board that
#          is already on is powered off first.
#   --name N       board name: its state (pid, QEMU log) is in $LAVALAB_VLAB_RUN/N
#                  (default ${TMPDIR:-/tmp}/lavalab-vlab/N)
#   --port P       console TCP port on 127.0.0.1
#   --tftp DIR     root of QEMU's built-in TFTP server (the worker's TFTP root);
#                  U-Boot reaches it at 10.0.2.2. Without --tftp the guest network
#                  is not restricted, and U-Boot reaches the host's own TFTP server
#                  at the host's address (port 69) through QEMU's NAT.
#   --cache DIR    images folder (default: what `scripts/vlab/images.sh --print-cache` prints)
#   --mem MB       guest RAM (default 512)
#   --no-env       boot U-Boot with its built-in environment (no env flash)
# off      stops the board's QEMU (SIGTERM, then SIGKILL after 5 s). Not an error
#          when the board is off.
# console  attaches the console: stdin/stdout become the board's serial line. It
#          waits for the board to listen and reattaches after a power cycle, so
#          it may start before `on`. Needs busybox (nc, stty).
set -eu

die() { echo "board.sh: $*" >&2; exit 1; }

cmd=${1:-}
[ $# -gt 0 ] && shift
NAME="" PORT="" TFTP="" MEM=512 ENV=1
CACHE=${LAVALAB_VLAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lavalab/vlab}
while [ $# -gt 0 ]; do
	case "$1" in
	--name) NAME=$2; shift 2 ;;
	--port) PORT=$2; shift 2 ;;
	--tftp) TFTP=$2; shift 2 ;;
	--cache) CACHE=$2; shift 2 ;;
	--mem) MEM=$2; shift 2 ;;
	--no-env) ENV=0; shift ;;
	*) die "unknown argument $1" ;;
	esac
done
RUN=${LAVALAB_VLAB_RUN:-${TMPDIR:-/tmp}/lavalab-vlab}
QEMU_BIN=qemu-system-aarch64
# shellcheck source=qemu-proc.sh
. "$(dirname "$0")/qemu-proc.sh"

case "$cmd" in
on)
	[ -n "$NAME" ] || die "on: --name is required"
	[ -n "$PORT" ] || die "on: --port is required"
	[ -f "$CACHE/u-boot.bin" ] || die "no $CACHE/u-boot.bin: run make vlab-images"
	command -v qemu-system-aarch64 >/dev/null || die "qemu-system-aarch64 is not installed: run make vlab-images"
	mkdir -p "$RUN/$NAME"
	stop
	if [ -n "$TFTP" ]; then
		[ -d "$TFTP" ] || mkdir -p "$TFTP"
		net="user,id=n0,restrict=on,tftp=$TFTP"
	else
		net="user,id=n0"
	fi
	set -- -M virt -cpu cortex-a57 -m "$MEM" -smp 1 -bios "$CACHE/u-boot.bin"
	if [ "$ENV" = 1 ]; then
		set -- "$@" -drive "if=pflash,format=raw,unit=1,readonly=on,file=$CACHE/uboot-env.img"
	fi
	log="$RUN/$NAME/qemu.log"
	: >"$log"
	setsid qemu-system-aarch64 "$@" -display none -monitor none -name "$NAME" \
		-netdev "$net" -device virtio-net-pci,netdev=n0,romfile= \
		-chardev "socket,id=ser0,host=127.0.0.1,port=$PORT,server=on,wait=on,telnet=off" -serial chardev:ser0 \
		</dev/null >>"$log" 2>&1 &
	pid=$!
	echo "$pid" >"$RUN/$NAME/qemu.pid"
	wait_console "$pid" "$log"
	echo "board $NAME on: qemu pid $pid, console 127.0.0.1:$PORT${TFTP:+, tftp root $TFTP}"
	;;
off)
	[ -n "$NAME" ] || die "off: --name is required"
	stop
	echo "board $NAME off"
	;;
console)
	console
	;;
*)
	die "usage: board.sh on|off|console [options] (see the head of this file)"
	;;
esac
