// Command qemu-ipxe-x86_64 is the driver of the virtual x86_64 PC booted by
// iPXE (issue 17): qemu-system-x86_64 -M pc with SeaBIOS and QEMU's iPXE
// network boot ROM (Debian's ipxe-qemu), powered on and off by the device
// dictionary's commands (scripts/vlab/pcboard.sh), booted with LAVA's ipxe
// method: interrupt with Ctrl-B, then dhcp, kernel and initrd over TFTP,
// boot (the command lists of LAVA's x86.jinja2). It is a WASM module built
// with GOOS=wasip1 GOARCH=wasm; its settings are in settings.yaml.
package main
