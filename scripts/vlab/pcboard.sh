#!/bin/sh
# pcboard.sh — power and console of a virtual PC board (issue 17): QEMU
# x86_64 (-M pc) with SeaBIOS and QEMU's iPXE network ROM, or with UEFI
# firmware (OVMF), booting from the network over QEMU's user network and its
# built-in TFTP server; the images of `make vlab-images` (pc-images.sh). A
# device dictionary of the qemu-ipxe-x86_64, qemu-grub-x86_64 or
# qemu-grub-efi-x86_64 device type uses it:
#
#   power_on_command:   pcboard.sh on  --name pc-01 --port 18120 --tftp <worker work dir>/jobs [--firmware bios|ovmf] [--bootfile grub/grub.pxe]
#   power_off_command:  pcboard.sh off --name pc-01
#   connection_command: pcboard.sh console --port 18120
#
# on       starts QEMU in the background and returns once its console socket
#          listens (127.0.0.1:PORT, server, wait=on: the guest does not run
#          until the console is attached). A board that is on is powered off first.
#   --name N        board name: its state (pid, QEMU log, UEFI variables) is in
#                   $LAVALAB_VLAB_RUN/N (default ${TMPDIR:-/tmp}/lavalab-vlab/N)
#   --port P        console TCP port on 127.0.0.1
#   --tftp DIR      root of QEMU's TFTP server (the worker's TFTP root): the
#                   firmware reaches it at 10.0.2.2. The board's own boot files
#                   (GRUB images) are linked into DIR/vlab-pc/.
#   --firmware F    bios (SeaBIOS + iPXE ROM, the default) or ovmf (UEFI)
#   --bootfile F    the DHCP boot file the firmware's network boot loads,
#                   relative to the board's images (grub/grub.pxe,
#                   grub/grubx64.efi); none: iPXE stops at its prompt
#   --sercon on|off bios: SeaBIOS's serial console (default on: SeaBIOS's and
#                   iPXE's screen on the serial line, keys read from it). Off
#                   for a boot file with its own serial terminal (GRUB): both
#                   would read the UART and lose characters.
#   --cache DIR     images folder (default $LAVALAB_VLAB_CACHE, else ~/.cache/lavalab/vlab)
#   --mem MB        guest RAM (default 512)
# off      stops the board's QEMU (SIGTERM, then SIGKILL after 5 s).
# console  attaches the console (stdin/stdout); waits for the board and
#          reattaches after a power cycle. Needs busybox (nc, stty).
set -eu

die() { echo "pcboard.sh: $*" >&2; exit 1; }

cmd=${1:-}
[ $# -gt 0 ] && shift
NAME="" PORT="" TFTP="" MEM=512 FW=bios BOOTFILE="" SERCON=on nicopt=""
CACHE=${LAVALAB_VLAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lavalab/vlab}
while [ $# -gt 0 ]; do
	case "$1" in
	--name) NAME=$2; shift 2 ;;
	--port) PORT=$2; shift 2 ;;
	--tftp) TFTP=$2; shift 2 ;;
	--firmware) FW=$2; shift 2 ;;
	--bootfile) BOOTFILE=$2; shift 2 ;;
	--sercon) SERCON=$2; shift 2 ;;
	--cache) CACHE=$2; shift 2 ;;
	--mem) MEM=$2; shift 2 ;;
	*) die "unknown argument $1" ;;
	esac
done
RUN=${LAVALAB_VLAB_RUN:-${TMPDIR:-/tmp}/lavalab-vlab}
QEMU_BIN=qemu-system-x86_64
# shellcheck source=qemu-proc.sh
. "$(dirname "$0")/qemu-proc.sh"
PC=$CACHE/pc

case "$cmd" in
on)
	[ -n "$NAME" ] || die "on: --name is required"
	[ -n "$PORT" ] || die "on: --port is required"
	[ -n "$TFTP" ] || die "on: --tftp is required"
	[ -f "$PC/stamp" ] || die "no $PC/stamp: run make vlab-images"
	command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 is not installed: run make vlab-images"
	mkdir -p "$RUN/$NAME" "$TFTP"
	stop
	net="user,id=n0,restrict=on,tftp=$TFTP"
	if [ -n "$BOOTFILE" ]; then
		[ -f "$PC/tftp/$BOOTFILE" ] || die "no boot file $PC/tftp/$BOOTFILE: run make vlab-images"
		# QEMU's TFTP server serves one root: the board's boot file is
		# copied beside the jobs' files.
		mkdir -p "$TFTP/vlab-pc/$(dirname "$BOOTFILE")"
		install_file "$PC/tftp/$BOOTFILE" "$TFTP/vlab-pc/$BOOTFILE"
		net="$net,bootfile=vlab-pc/$BOOTFILE"
	fi
	case "$FW" in
	bios)
		set -- -M pc -boot n
		case "$SERCON" in
		on) set -- "$@" -fw_cfg "name=etc/sercon-port,file=$PC/sercon-port" ;;
		off) ;;
		*) die "--sercon: on or off, not $SERCON" ;;
		esac
		;;
	ovmf)
		cp -f /usr/share/OVMF/OVMF_VARS_4M.fd "$RUN/$NAME/OVMF_VARS.fd"
		# romfile=: OVMF's own virtio-net driver and PXE, without iPXE's EFI
		# ROM and its 3 s Ctrl-B countdown.
		nicopt=",romfile="
		set -- -M q35 -drive "if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd" \
			-drive "if=pflash,format=raw,unit=1,file=$RUN/$NAME/OVMF_VARS.fd"
		;;
	*) die "unknown firmware $FW (bios, ovmf)" ;;
	esac
	log="$RUN/$NAME/qemu.log"
	: >"$log"
	setsid qemu-system-x86_64 "$@" -m "$MEM" -smp 1 -display none -vga none -monitor none -name "$NAME" \
		-netdev "$net" -device "virtio-net-pci,netdev=n0,bootindex=1$nicopt" \
		-chardev "socket,id=ser0,host=127.0.0.1,port=$PORT,server=on,wait=on,telnet=off" -serial chardev:ser0 \
		</dev/null >>"$log" 2>&1 &
	pid=$!
	echo "$pid" >"$RUN/$NAME/qemu.pid"
	wait_console "$pid" "$log"
	echo "board $NAME on ($FW): qemu pid $pid, console 127.0.0.1:$PORT, tftp root $TFTP${BOOTFILE:+, boot file vlab-pc/$BOOTFILE}"
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
	die "usage: pcboard.sh on|off|console [options] (see the head of this file)"
	;;
esac
