#!/usr/bin/env bash
# uefi-images.sh — build what the virtual lab's arm64 UEFI board boots (issue
# 17, uefi-menu), from Debian packages only, into <cache>/uefi (the cache of
# images.sh, whose arm64 kernel and busybox initramfs the board boots):
#
#   <cache>/uefi/tftp/grub/grubaa64.efi   GRUB arm64 EFI image (grub-mkstandalone -O arm64-efi, from
#                                          Debian's grub-efi-arm64-bin) that AAVMF's PXE boot loads; it
#                                          has no menu and stops at its grub> prompt
#   <cache>/uefi/versions.txt             the package versions used
#
# The firmware is the host's AAVMF (qemu-efi-aarch64, /usr/share/AAVMF): uefiboard.sh copies its
# variables per board. grub-efi-arm64-bin is an arm64 package: it is downloaded with images.sh's
# private arm64 apt state (<cache>/.apt-arm64) and unpacked with dpkg-deb, never installed.
#
# Usage: uefi-images.sh [--cache DIR] [--no-install] [--force]
#   --cache DIR    cache folder (default $LAVALAB_VLAB_CACHE, else ~/.cache/lavalab/vlab)
#   --no-install   do not apt-get install missing host packages: fail instead
#   --force        rebuild even when the cache is complete
set -euo pipefail

RECIPE=vlab-uefi-images-1
CACHE="${LAVALAB_VLAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lavalab/vlab}"
INSTALL=1
FORCE=0
while [ $# -gt 0 ]; do
	case "$1" in
	--cache) CACHE=$2; shift 2 ;;
	--no-install) INSTALL=0; shift ;;
	--force) FORCE=1; shift ;;
	-h | --help) sed -n '2,20p' "$0"; exit 0 ;;
	*) echo "uefi-images.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done

log() { echo "[vlab-uefi-images] $*" >&2; }
die() { echo "[vlab-uefi-images] error: $*" >&2; exit 1; }
# shellcheck source=apt.sh
. "$(dirname "$0")/apt.sh"

U="$CACHE/uefi"
OUTPUTS=(tftp/grub/grubaa64.efi versions.txt)
PKGS=(qemu-system-arm qemu-efi-aarch64 grub-common)

host_ready() {
	command -v qemu-system-aarch64 >/dev/null && command -v grub-mkstandalone >/dev/null &&
		[ -e /usr/share/AAVMF/AAVMF_CODE.fd ] && [ -e /usr/share/AAVMF/AAVMF_VARS.fd ]
}

cache_ready() {
	[ -f "$U/stamp" ] && [ "$(cat "$U/stamp")" = "$RECIPE" ] || return 1
	local f
	for f in "${OUTPUTS[@]}"; do [ -s "$U/$f" ] || return 1; done
}

if [ "$FORCE" = 0 ] && host_ready && cache_ready; then
	log "up to date: $U"
	exit 0
fi
[ -s "$CACHE/tftp/arm64/Image" ] || die "no $CACHE/tftp/arm64/Image: run scripts/vlab/images.sh first (make vlab-images does)"

need_pkgs "${PKGS[@]}"
host_ready || die "host tools still missing after install (${PKGS[*]})"

mkdir -p "$U"
U=$(cd "$U" && pwd)
rm -f "$U/stamp"
WORK=$(mktemp -d "$U/.work.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# 1. grub-efi-arm64-bin (arm64) through the private arm64 apt state.
A="$CACHE/.apt-arm64"
foreign_apt arm64 "$A"
log "apt-get download grub-efi-arm64-bin (arm64)"
(cd "$WORK" && apt-get "${APTF[@]}" download -qq grub-efi-arm64-bin)
gdeb=$(ls "$WORK"/grub-efi-arm64-bin_*_arm64.deb)
dpkg-deb -x "$gdeb" "$WORK/grub"
[ -f "$WORK/grub/usr/lib/grub/arm64-efi/linux.mod" ] || die "$gdeb holds no arm64-efi modules"

# 2. The GRUB image: no menu, so GRUB stops at grub> and the uefi-menu
#    commands type the boot (linux, initrd, boot). Its console is the
#    firmware's (AAVMF's ConOut is the serial port).
mkdir -p "$WORK/out/tftp/grub"
printf '%s\n' 'echo "vlab GRUB arm64: no menu, commands at the prompt"' >"$WORK/grub.cfg"
grub-mkstandalone -O arm64-efi -d "$WORK/grub/usr/lib/grub/arm64-efi" -o "$WORK/out/tftp/grub/grubaa64.efi" \
	--modules="efinet tftp net linux normal echo gzio" \
	--locales= --themes= --fonts= "boot/grub/grub.cfg=$WORK/grub.cfg"

{
	dpkg-query -W -f '${Package}\t${Version}\t(host)\n' qemu-system-arm qemu-efi-aarch64 grub-common
	dpkg-deb -f "$gdeb" Package Version | paste -sd '\t' | sed 's/Package: //; s/Version: //; s/$/\t(arm64)/'
} >"$WORK/out/versions.txt"

rm -rf "$U/tftp"
mv -f "$WORK/out/tftp" "$U/tftp"
mv -f "$WORK/out/versions.txt" "$U/"
chmod -R a+rX "$U/tftp"
rm -f "$A/cache/archives"/*.deb
echo "$RECIPE" >"$U/stamp"
log "built in $U:"
(cd "$U" && for f in "${OUTPUTS[@]}"; do printf '  %10s  %s\n' "$(stat -c %s "$f")" "$f"; done) >&2
