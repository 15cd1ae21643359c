#!/usr/bin/env bash
# mcu.sh — build the virtual Cortex-M board's firmware (issue 18): the test
# firmware of scripts/vlab/mcu/ for QEMU's mps2-an385 machine (Cortex-M3),
# with Debian's gcc-arm-none-eabi (no C library), into
#
#   <cache>/mcu/firmware.elf   the ELF (QEMU -kernel, gdb's `load`)
#   <cache>/mcu/firmware.bin   the raw image (loaded at 0x00000000)
#   <cache>/mcu/firmware.hex   Intel hex
#
# Usage: mcu.sh [--cache DIR] [--no-install] [--print-cache]
# The cache is images.sh's ($LAVALAB_VLAB_CACHE, else ~/.cache/lavalab/vlab).
# Installs gcc-arm-none-eabi when missing (root). A no-op when the outputs are
# newer than the sources.
set -euo pipefail

CACHE="${LAVALAB_VLAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lavalab/vlab}"
INSTALL=1
while [ $# -gt 0 ]; do
	case "$1" in
	--cache) CACHE=$2; shift 2 ;;
	--no-install) INSTALL=0; shift ;;
	--print-cache) echo "$CACHE/mcu"; exit 0 ;;
	-h | --help) sed -n '2,14p' "$0"; exit 0 ;;
	*) echo "mcu.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
log() { echo "[vlab-mcu] $*" >&2; }
die() { echo "[vlab-mcu] error: $*" >&2; exit 1; }

SRC="$(cd "$(dirname "$0")/mcu" && pwd)"
OUT="$CACHE/mcu"
up_to_date() {
	local f s
	for f in firmware.elf firmware.bin firmware.hex; do
		[ -s "$OUT/$f" ] || return 1
		for s in "$SRC"/* "$0"; do [ "$OUT/$f" -nt "$s" ] || return 1; done
	done
}
if up_to_date; then
	log "up to date: $OUT"
	exit 0
fi

if ! command -v arm-none-eabi-gcc >/dev/null; then
	[ "$INSTALL" = 1 ] || die "arm-none-eabi-gcc is missing (apt-get install gcc-arm-none-eabi)"
	[ "$(id -u)" = 0 ] || die "arm-none-eabi-gcc is missing; run as root: apt-get install gcc-arm-none-eabi"
	log "apt-get install gcc-arm-none-eabi"
	apt-get -o DPkg::Lock::Timeout=900 update -qq
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends gcc-arm-none-eabi >/dev/null
fi

mkdir -p "$OUT"
WORK=$(mktemp -d "$OUT/.work.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
arm-none-eabi-gcc -mcpu=cortex-m3 -mthumb -O2 -g -ffreestanding -nostdlib -nostartfiles -fno-builtin \
	-Wall -Wextra -Werror -T "$SRC/link.ld" -o "$WORK/firmware.elf" "$SRC/firmware.c"
arm-none-eabi-objcopy -O binary "$WORK/firmware.elf" "$WORK/firmware.bin"
arm-none-eabi-objcopy -O ihex "$WORK/firmware.elf" "$WORK/firmware.hex"
mv -f "$WORK/firmware.bin" "$WORK/firmware.hex" "$OUT/"
mv -f "$WORK/firmware.elf" "$OUT/" # last: up_to_date checks it
log "built $OUT/firmware.{elf,bin,hex} ($(arm-none-eabi-gcc -dumpversion))"
