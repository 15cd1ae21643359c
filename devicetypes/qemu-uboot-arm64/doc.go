// Command qemu-uboot-arm64 is the driver of the virtual arm64 U-Boot board:
// qemu-system-aarch64 -M virt with Debian's U-Boot as firmware, powered on
// and off by the device dictionary's commands (scripts/vlab/board.sh) and
// booted as any U-Boot board is (dhcp, tftp, booti with the firmware's device
// tree). It is a WASM module built with GOOS=wasip1 GOARCH=wasm that answers
// the lab's describe and plan requests; its settings and their defaults are
// in settings.yaml, embedded at build time.
//
// It imports the sdk module and devicetypes/internal packages only (its
// tests also use core/console, core/expect and core/power to boot a real
// board).
package main
