#!/usr/bin/env bash
# pc-images.sh — build what the virtual lab's PC boards boot (issue 17), from
# Debian packages only, into <cache>/pc (the cache of images.sh):
#
#   <cache>/pc/tftp/x86_64/bzImage            Debian's amd64 kernel (linux-image-amd64's -unsigned package)
#   <cache>/pc/tftp/x86_64/initramfs.cpio.gz  busybox (amd64, static) initramfs; prompt "vlab:/# "
#   <cache>/pc/tftp/grub/grubx64.efi          GRUB EFI image (grub-mkstandalone, grub-efi-amd64-bin) for OVMF's PXE boot
#   <cache>/pc/tftp/grub/grub.pxe             GRUB BIOS PXE image (grub-mkstandalone -O i386-pc-pxe, grub-pc-bin)
#   <cache>/pc/sercon-port                    SeaBIOS's serial console port (0x3f8), for -fw_cfg etc/sercon-port
#   <cache>/pc/versions.txt                   the package versions used
#
# Both GRUB images hold a grub.cfg with one menu entry and a 5 s timeout: the
# board shows GRUB's menu ("... `c' for a command-line.") and LAVA's grub
# methods interrupt it.
#
# Usage: pc-images.sh [--cache DIR] [--no-install] [--force]
#   --cache DIR    cache folder (default $LAVALAB_VLAB_CACHE, else ~/.cache/lavalab/vlab)
#   --no-install   do not apt-get install missing host packages: fail instead
#   --force        rebuild even when the cache is complete
set -euo pipefail

RECIPE=vlab-pc-images-4
CACHE="${LAVALAB_VLAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lavalab/vlab}"
INSTALL=1
FORCE=0
while [ $# -gt 0 ]; do
	case "$1" in
	--cache) CACHE=$2; shift 2 ;;
	--no-install) INSTALL=0; shift ;;
	--force) FORCE=1; shift ;;
	-h | --help) sed -n '2,22p' "$0"; exit 0 ;;
	*) echo "pc-images.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done

log() { echo "[vlab-pc-images] $*" >&2; }
die() { echo "[vlab-pc-images] error: $*" >&2; exit 1; }
# shellcheck source=apt.sh
. "$(dirname "$0")/apt.sh"

PC="$CACHE/pc"
OUTPUTS=(tftp/x86_64/bzImage tftp/x86_64/initramfs.cpio.gz tftp/grub/grubx64.efi tftp/grub/grub.pxe sercon-port versions.txt)
PKGS=(qemu-system-x86 ipxe-qemu seabios ovmf busybox-static cpio grub-common grub-efi-amd64-bin grub-pc-bin)

host_ready() {
	command -v qemu-system-x86_64 >/dev/null && command -v busybox >/dev/null && command -v cpio >/dev/null &&
		command -v grub-mkstandalone >/dev/null && [ -e /usr/lib/ipxe/qemu/pxe-virtio.rom ] &&
		[ -e /usr/share/OVMF/OVMF_CODE_4M.fd ] && [ -d /usr/lib/grub/x86_64-efi ] && [ -d /usr/lib/grub/i386-pc ]
}

cache_ready() {
	[ -f "$PC/stamp" ] && [ "$(cat "$PC/stamp")" = "$RECIPE" ] || return 1
	local f
	for f in "${OUTPUTS[@]}"; do [ -s "$PC/$f" ] || return 1; done
}

if [ "$FORCE" = 0 ] && host_ready && cache_ready; then
	log "up to date: $PC"
	exit 0
fi

need_pkgs "${PKGS[@]}"
host_ready || die "host tools still missing after install (${PKGS[*]})"

mkdir -p "$PC"
PC=$(cd "$PC" && pwd)
rm -f "$PC/stamp"
WORK=$(mktemp -d "$PC/.work.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# 1. Debian's amd64 kernel, through a private apt state (the host may be any
#    architecture; the lists are amd64's).
A="$PC/.apt-amd64"
foreign_apt amd64 "$A"
abi=$(apt-cache "${APTF[@]}" depends linux-image-amd64 | awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ {print $2; exit}')
[ -n "$abi" ] || die "cannot resolve linux-image-amd64 in the amd64 lists"
log "apt-get download $abi-unsigned busybox-static (amd64)"
(cd "$WORK" && apt-get "${APTF[@]}" download -qq "$abi-unsigned" busybox-static)
kdeb=$(ls "$WORK"/linux-image-*_amd64.deb)
bdeb=$(ls "$WORK"/busybox-static_*_amd64.deb)
mkdir -p "$WORK/kernel" "$WORK/bb" "$WORK/out/tftp/x86_64" "$WORK/out/tftp/grub"
dpkg-deb --fsys-tarfile "$kdeb" | tar -x -C "$WORK/kernel" ./boot
cp "$WORK"/kernel/boot/vmlinuz-* "$WORK/out/tftp/x86_64/bzImage"
dpkg-deb -x "$bdeb" "$WORK/bb"
file_arch=$(od -An -tx1 -j18 -N2 "$WORK/bb/bin/busybox" | tr -d ' ')
[ "$file_arch" = 3e00 ] || die "the busybox in $bdeb is not an x86_64 ELF (e_machine $file_arch)"

# 2. Initramfs: busybox and an init that ends in a root shell on the console.
R="$WORK/rootfs"
mkdir -p "$R"/{bin,sbin,dev,proc,sys,tmp,root,etc,usr/bin,usr/sbin,lava}
install -m 0755 "$WORK/bb/bin/busybox" "$R/bin/busybox"
cat >"$R/init" <<'INIT'
#!/bin/busybox sh
# vlab initramfs: mount the kernel file systems, print a banner, then a
# root shell on the console given by console= (ttyS0 on x86_64).
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts
hostname vlab
export HOME=/root PATH=/bin:/sbin:/usr/bin:/usr/sbin PS1='vlab:\w# '
echo "vlab initramfs ready: $(uname -r)"
exec setsid cttyhack sh -l
INIT
chmod 0755 "$R/init"
printf '%s\n' "export PS1='vlab:\\w# '" >"$R/etc/profile"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$R/etc/passwd"
find "$R" -exec touch -h -d @0 {} +
(cd "$R" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --reproducible --quiet | gzip -9n) >"$WORK/out/tftp/x86_64/initramfs.cpio.gz"

# 3. GRUB images with a menu to interrupt.
# UEFI: GRUB's console is the firmware's (OVMF's ConOut is the serial port),
# and only that: a second terminal on the same UART would echo everything
# twice and race OVMF for the input. BIOS: GRUB's serial terminal alone; the
# board runs without SeaBIOS's serial console (pcboard.sh --sercon off),
# which would poll the same UART for keys and steal GRUB's input.
menu='set timeout=5
menuentry "vlab: nothing to boot (interrupt with c)" {
	echo "vlab GRUB: the menu was not interrupted"
}'
printf '%s\n' "$menu" >"$WORK/grub-efi.cfg"
printf '%s\n' 'serial --unit=0 --speed=115200' 'terminal_input serial' 'terminal_output serial' "$menu" >"$WORK/grub-pc.cfg"
grub-mkstandalone -O x86_64-efi -o "$WORK/out/tftp/grub/grubx64.efi" \
	--modules="efinet tftp net linux normal echo gzio" \
	--locales= --themes= --fonts= "boot/grub/grub.cfg=$WORK/grub-efi.cfg"
grub-mkstandalone -O i386-pc-pxe -o "$WORK/out/tftp/grub/grub.pxe" \
	--install-modules="pxe tftp net linux normal serial terminal echo gzio configfile" \
	--modules="pxe tftp net linux normal serial terminal echo" \
	--locales= --themes= --fonts= "boot/grub/grub.cfg=$WORK/grub-pc.cfg"

# 4. SeaBIOS's serial console: etc/sercon-port holds the I/O port, 0x3f8.
printf '\xf8\x03' >"$WORK/out/sercon-port"

{
	dpkg-query -W -f '${Package}\t${Version}\t(host)\n' qemu-system-x86 ipxe-qemu seabios ovmf grub-efi-amd64-bin grub-pc-bin
	dpkg-deb -f "$kdeb" Package Version | paste -sd '\t' | sed 's/Package: //; s/Version: //; s/$/\t(amd64)/'
	dpkg-deb -f "$bdeb" Package Version | paste -sd '\t' | sed 's/Package: //; s/Version: //; s/$/\t(amd64)/'
} >"$WORK/out/versions.txt"

# 5. Move into place; the stamp goes last, so an interrupted build is redone.
rm -rf "$PC/tftp"
mv -f "$WORK/out/tftp" "$PC/tftp"
mv -f "$WORK/out/sercon-port" "$WORK/out/versions.txt" "$PC/"
chmod -R a+rX "$PC/tftp"
rm -rf "$A/cache/archives"/*.deb
echo "$RECIPE" >"$PC/stamp"
log "built in $PC:"
(cd "$PC" && for f in "${OUTPUTS[@]}"; do printf '  %10s  %s\n' "$(stat -c %s "$f")" "$f"; done) >&2
