#!/bin/sh
# uefiboard.sh — power and console of the virtual arm64 UEFI board (issue 17,
# uefi-menu): qemu-system-aarch64 -M virt with Debian's AAVMF (pflash: the
# firmware read-only, a copy of its variables per board), one virtio-net NIC on
# QEMU's user network with its built-in TFTP server, whose boot file is the
# GRUB image of `make vlab-images` (uefi-images.sh). A device dictionary of
# the qemu-uefi-arm64 device type uses it:
#
#   power_on_command:   uefiboard.sh on  --name uefi-01 --port 18123 --tftp <worker work dir>/jobs
#   power_off_command:  uefiboard.sh off --name uefi-01
#   connection_command: uefiboard.sh console --port 18123
#
# on       starts QEMU in the background and returns once its console socket
#          listens (127.0.0.1:PORT, server, wait=on: the guest does not run
#          until the console is attached). A board that is on is powered off
#          first; each power on starts from fresh UEFI variables.
#   --name N        board name: its state (pid, QEMU log, UEFI variables) is in
#                   $LAVALAB_VLAB_RUN/N (default ${TMPDIR:-/tmp}/lavalab-vlab/N)
#   --port P        console TCP port on 127.0.0.1
#   --tftp DIR      root of QEMU's TFTP server (the worker's TFTP root): the
#                   firmware and GRUB reach it at 10.0.2.2. The GRUB image is
#                   copied into DIR/vlab-uefi/.
#   --disk DIR      also attach DIR read-only as a FAT disk (QEMU's vvfat on a
#                   virtio-blk disk): the UEFI shell's fs0:, from which the uefi
#                   method runs the kernel's EFI stub. DIR is read when the board
#                   powers on and must stay under 500 MB (FAT16); the TFTP root
#                   (the jobs' files) is the usual choice.
#   --bootfile F    the DHCP boot file the firmware's PXE boot loads, relative
#                   to the board's images (default grub/grubaa64.efi)
#   --cache DIR     images folder (default $LAVALAB_VLAB_CACHE, else ~/.cache/lavalab/vlab)
#   --mem MB        guest RAM (default 512)
# off      stops the board's QEMU (SIGTERM, then SIGKILL after 5 s).
# console  attaches the console (stdin/stdout); waits for the board and
#          reattaches after a power cycle. Needs busybox (nc, stty).
set -eu

die() { echo "uefiboard.sh: $*" >&2; exit 1; }

cmd=${1:-}
[ $# -gt 0 ] && shift
NAME="" PORT="" TFTP="" MEM=512 BOOTFILE=grub/grubaa64.efi DISK=""
CACHE=${LAVALAB_VLAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lavalab/vlab}
while [ $# -gt 0 ]; do
	case "$1" in
	--name) NAME=$2; shift 2 ;;
	--port) PORT=$2; shift 2 ;;
	--tftp) TFTP=$2; shift 2 ;;
	--bootfile) BOOTFILE=$2; shift 2 ;;
	--disk) DISK=$2; shift 2 ;;
	--cache) CACHE=$2; shift 2 ;;
	--mem) MEM=$2; shift 2 ;;
	*) die "unknown argument $1" ;;
	esac
done
RUN=${LAVALAB_VLAB_RUN:-${TMPDIR:-/tmp}/lavalab-vlab}
QEMU_BIN=qemu-system-aarch64
# shellcheck source=qemu-proc.sh
. "$(dirname "$0")/qemu-proc.sh"
U=$CACHE/uefi
FW=/usr/share/AAVMF

case "$cmd" in
on)
	[ -n "$NAME" ] || die "on: --name is required"
	[ -n "$PORT" ] || die "on: --port is required"
	[ -n "$TFTP" ] || die "on: --tftp is required"
	[ -f "$U/stamp" ] || die "no $U/stamp: run make vlab-images"
	command -v qemu-system-aarch64 >/dev/null || die "qemu-system-aarch64 is not installed: run make vlab-images"
	[ -f "$FW/AAVMF_CODE.fd" ] || die "no $FW/AAVMF_CODE.fd (qemu-efi-aarch64): run make vlab-images"
	[ -f "$U/tftp/$BOOTFILE" ] || die "no boot file $U/tftp/$BOOTFILE: run make vlab-images"
	mkdir -p "$RUN/$NAME" "$TFTP/vlab-uefi/$(dirname "$BOOTFILE")"
	stop
	# QEMU's TFTP server serves one root: the boot file goes beside the jobs' files.
	install_file "$U/tftp/$BOOTFILE" "$TFTP/vlab-uefi/$BOOTFILE"
	cp -f "$FW/AAVMF_VARS.fd" "$RUN/$NAME/AAVMF_VARS.fd"
	set --
	if [ -n "$DISK" ]; then
		[ -d "$DISK" ] || die "--disk $DISK: not a folder"
		set -- -drive "file=fat:ro:$DISK,format=raw,if=none,id=disk0,readonly=on" -device virtio-blk-pci,drive=disk0
	fi
	log="$RUN/$NAME/qemu.log"
	: >"$log"
	# romfile=: AAVMF's own virtio-net driver and PXE, no iPXE ROM.
	setsid qemu-system-aarch64 -M virt -cpu cortex-a57 -m "$MEM" -smp 1 -display none -monitor none -name "$NAME" \
		-drive "if=pflash,format=raw,unit=0,readonly=on,file=$FW/AAVMF_CODE.fd" \
		-drive "if=pflash,format=raw,unit=1,file=$RUN/$NAME/AAVMF_VARS.fd" \
		-netdev "user,id=n0,restrict=on,tftp=$TFTP,bootfile=vlab-uefi/$BOOTFILE" -device "virtio-net-pci,netdev=n0,romfile=" \
		-chardev "socket,id=ser0,host=127.0.0.1,port=$PORT,server=on,wait=on,telnet=off" -serial chardev:ser0 "$@" \
		</dev/null >>"$log" 2>&1 &
	pid=$!
	echo "$pid" >"$RUN/$NAME/qemu.pid"
	wait_console "$pid" "$log"
	echo "board $NAME on (aavmf): qemu pid $pid, console 127.0.0.1:$PORT, tftp root $TFTP, boot file vlab-uefi/$BOOTFILE${DISK:+, disk $DISK}"
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
	die "usage: uefiboard.sh on|off|console [options] (see the head of this file)"
	;;
esac
