// Command qemu-grub-x86_64 is the driver of the virtual x86_64 BIOS PC
// booted by GRUB (issue 17): qemu-system-x86_64 -M pc with SeaBIOS, whose
// iPXE ROM network-boots a GRUB PXE image (grub-mkstandalone -O
// i386-pc-pxe, grub-pc-bin) from QEMU's TFTP server; the dictionary's
// commands (scripts/vlab/pcboard.sh --bootfile grub/grub.pxe) power it. It
// boots with LAVA's grub method: interrupt GRUB's menu with `c`, then the
// command list of LAVA's base-grub.jinja2 (net_bootp, linux and initrd over
// TFTP, boot). It is a WASM module built with GOOS=wasip1 GOARCH=wasm; its
// settings are in settings.yaml.
package main
