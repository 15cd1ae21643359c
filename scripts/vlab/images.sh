#!/usr/bin/env bash
# images.sh — build what the virtual lab's QEMU boards boot, from Debian
# packages only:
#
#   <cache>/u-boot.bin                 U-Boot for qemu-system-aarch64 -M virt (u-boot-qemu, qemu_arm64)
#   <cache>/uboot-env.img              64 MiB pflash image (unit 1) holding U-Boot's default environment
#                                      plus this lab's changes (bootdelay, autoload=no, slirp addresses)
#   <cache>/default-env.txt            U-Boot's built-in default environment, read out of u-boot.bin
#   <cache>/tftp/arm64/Image           Debian's arm64 kernel (uncompressed Image)
#   <cache>/tftp/arm64/initramfs.cpio.gz  busybox (arm64, static) initramfs; prompt "vlab:/# "
#   <cache>/tftp/arm64/uInitrd         the same initramfs with a u-boot legacy header (mkimage -T ramdisk)
#   <cache>/versions.txt               the package versions used
#
# Usage: images.sh [--cache DIR] [--no-install] [--force] [--print-cache]
#   --cache DIR    cache folder (default $LAVALAB_VLAB_CACHE, else ~/.cache/lavalab/vlab)
#   --no-install   do not apt-get install missing host packages: fail instead
#   --force        rebuild even when the cache is complete
#   --print-cache  print the cache folder and exit
#
# The arm64 packages are downloaded with a private apt state (APT::Architecture=arm64, lists under
# <cache>/.apt-arm64) and unpacked with dpkg-deb: the system's dpkg architectures are not changed.
# Host packages are installed only when missing (needs root). A complete cache is detected from its
# stamp file and the host tools, so a second run does nothing and takes a few milliseconds.
set -euo pipefail

# RECIPE changes whenever this script's outputs change: a cache built by
# another recipe is rebuilt.
RECIPE=vlab-images-1
CACHE="${LAVALAB_VLAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lavalab/vlab}"
INSTALL=1
FORCE=0
while [ $# -gt 0 ]; do
	case "$1" in
	--cache) CACHE=$2; shift 2 ;;
	--no-install) INSTALL=0; shift ;;
	--force) FORCE=1; shift ;;
	--print-cache) echo "$CACHE"; exit 0 ;;
	-h | --help) sed -n '2,27p' "$0"; exit 0 ;;
	*) echo "images.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done

log() { echo "[vlab-images] $*" >&2; }
die() { echo "[vlab-images] error: $*" >&2; exit 1; }
# shellcheck source=apt.sh
. "$(dirname "$0")/apt.sh"

UBOOT_SRC=/usr/lib/u-boot/qemu_arm64/u-boot.bin
OUTPUTS=(u-boot.bin uboot-env.img default-env.txt tftp/arm64/Image tftp/arm64/initramfs.cpio.gz tftp/arm64/uInitrd versions.txt)

# host_ready: every host tool the boards and this script need is present.
host_ready() {
	command -v qemu-system-aarch64 >/dev/null && command -v mkimage >/dev/null &&
		command -v mkenvimage >/dev/null && command -v busybox >/dev/null &&
		command -v cpio >/dev/null && [ -f "$UBOOT_SRC" ] && { [ -e /usr/lib/ipxe/qemu/efi-virtio.rom ] || [ -e /usr/share/qemu/efi-virtio.rom ]; }
}

cache_ready() {
	[ -f "$CACHE/stamp" ] && [ "$(cat "$CACHE/stamp")" = "$RECIPE" ] || return 1
	local f
	for f in "${OUTPUTS[@]}"; do [ -s "$CACHE/$f" ] || return 1; done
	# A newer u-boot-qemu means a new u-boot.bin and default environment.
	cmp -s "$UBOOT_SRC" "$CACHE/u-boot.bin"
}

if [ "$FORCE" = 0 ] && host_ready && cache_ready; then
	log "up to date: $CACHE"
	exit 0
fi

# 1. Host packages --------------------------------------------------------------
# ipxe-qemu: the NIC option ROMs (efi-virtio.rom) that the qemu device type's
# "-net nic,model=virtio" needs (a Recommends of qemu-system-arm).
PKGS=(qemu-system-arm ipxe-qemu u-boot-qemu busybox-static u-boot-tools cpio)
need_pkgs "${PKGS[@]}"
host_ready || die "host tools still missing after install (qemu-system-aarch64, mkimage, mkenvimage, busybox, cpio, $UBOOT_SRC, efi-virtio.rom)"

mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)
rm -f "$CACHE/stamp"
WORK=$(mktemp -d "$CACHE/.work.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# 2. arm64 kernel and busybox, through a private apt state -------------------------
A="$CACHE/.apt-arm64"
foreign_apt arm64 "$A"
# linux-image-arm64 is a meta package: its first linux-image-<abi>-arm64
# dependency is the current kernel; the -unsigned package holds the same Image.
abi=$(apt-cache "${APTF[@]}" depends linux-image-arm64 | awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ {print $2; exit}')
[ -n "$abi" ] || die "cannot resolve linux-image-arm64 in the arm64 lists"
log "apt-get download $abi-unsigned busybox-static (arm64)"
(cd "$WORK" && apt-get "${APTF[@]}" download -qq "$abi-unsigned" busybox-static)
kdeb=$(ls "$WORK"/linux-image-*_arm64.deb)
bdeb=$(ls "$WORK"/busybox-static_*_arm64.deb)

mkdir -p "$WORK/kernel" "$WORK/bb" "$CACHE/tftp/arm64"
dpkg-deb --fsys-tarfile "$kdeb" | tar -x -C "$WORK/kernel" ./boot
cp "$WORK"/kernel/boot/vmlinuz-* "$WORK/Image"
dpkg-deb -x "$bdeb" "$WORK/bb"
file_arch=$(od -An -tx1 -j18 -N2 "$WORK/bb/bin/busybox" | tr -d ' ')
[ "$file_arch" = b700 ] || die "the busybox in $bdeb is not an aarch64 ELF (e_machine $file_arch)"

# 3. Initramfs: busybox and an init that ends in a root shell on the console.
R="$WORK/rootfs"
mkdir -p "$R"/{bin,sbin,dev,proc,sys,tmp,root,etc,usr/bin,usr/sbin,lava}
install -m 0755 "$WORK/bb/bin/busybox" "$R/bin/busybox"
cat >"$R/init" <<'EOF'
#!/bin/busybox sh
# vlab initramfs: mount the kernel file systems, print a banner, then a
# root shell on the console given by console= (ttyAMA0 on arm64).
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts
hostname vlab
export HOME=/root PATH=/bin:/sbin:/usr/bin:/usr/sbin PS1='vlab:\w# '
echo "vlab initramfs ready: $(uname -r)"
exec setsid cttyhack sh -l
EOF
chmod 0755 "$R/init"
printf '%s\n' "export PS1='vlab:\\w# '" >"$R/etc/profile"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$R/etc/passwd"
# Same bytes on every build: fixed times, sorted names, no gzip time stamp.
find "$R" -exec touch -h -d @0 {} +
(cd "$R" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --reproducible --quiet | gzip -9n) >"$WORK/initramfs.cpio.gz"
mkimage -A arm64 -O linux -T ramdisk -C none -n vlab-initramfs -d "$WORK/initramfs.cpio.gz" "$WORK/uInitrd" >/dev/null

# 4. U-Boot and its environment image.
cp "$UBOOT_SRC" "$WORK/u-boot.bin"
# The built-in default environment is a NUL-separated list of name=value
# strings starting at "bootcmd=" and ending with an empty string.
off=$(grep -obUaP 'bootcmd=run distro_bootcmd\x00' "$WORK/u-boot.bin" | head -n1 | cut -d: -f1)
[ -n "$off" ] || die "no default environment in $UBOOT_SRC"
# (awk stops reading early: the pipe's SIGPIPE is expected.)
(set +o pipefail; tail -c +$((off + 1)) "$WORK/u-boot.bin" | head -c 65536 | tr '\0' '\n' | awk 'NF == 0 {exit} {print}' >"$WORK/default-env.txt")
grep -q '^kernel_addr_r=' "$WORK/default-env.txt" || die "the default environment read from $UBOOT_SRC has no kernel_addr_r"
{
	grep -v -e '^bootdelay=' -e '^autoload=' "$WORK/default-env.txt"
	printf '%s\n' bootdelay=3 autoload=no ipaddr=10.0.2.15 netmask=255.255.255.0 \
		gatewayip=10.0.2.2 serverip=10.0.2.2 'bootargs=console=ttyAMA0,115200 rdinit=/init quiet'
} >"$WORK/env.txt"
# U-Boot qemu_arm64: CONFIG_ENV_ADDR 0x4000000 is the start of pflash unit 1,
# CONFIG_ENV_SIZE is 0x40000; QEMU wants the whole 64 MiB bank.
mkenvimage -s 0x40000 -o "$WORK/uboot-env.img" "$WORK/env.txt"
truncate -s 64M "$WORK/uboot-env.img"

{
	dpkg-query -W -f '${Package}\t${Version}\t(host)\n' qemu-system-arm u-boot-qemu busybox-static u-boot-tools
	dpkg-deb -f "$kdeb" Package Version | paste -sd '\t' | sed 's/Package: //; s/Version: //; s/$/\t(arm64)/'
	dpkg-deb -f "$bdeb" Package Version | paste -sd '\t' | sed 's/Package: //; s/Version: //; s/$/\t(arm64)/'
} >"$WORK/versions.txt"

# 5. Move into place; the stamp goes last, so an interrupted build is redone.
mv -f "$WORK/u-boot.bin" "$WORK/uboot-env.img" "$WORK/default-env.txt" "$WORK/versions.txt" "$CACHE/"
mv -f "$WORK/Image" "$WORK/initramfs.cpio.gz" "$WORK/uInitrd" "$CACHE/tftp/arm64/"
chmod 0644 "$CACHE"/uboot-env.img "$CACHE"/tftp/arm64/*
rm -rf "$A/cache/archives"/*.deb
echo "$RECIPE" >"$CACHE/stamp"
log "built in $CACHE:"
(cd "$CACHE" && for f in "${OUTPUTS[@]}"; do printf '  %10s  %s\n' "$(stat -c %s "$f")" "$f"; done) >&2
