// Command qemu-grub-efi-x86_64 is the driver of the virtual x86_64 UEFI PC
// booted by GRUB (issue 17): qemu-system-x86_64 -M q35 with OVMF, which
// network-boots a GRUB EFI image (grub-mkstandalone, grub-efi-amd64-bin)
// from QEMU's TFTP server; the dictionary's commands
// (scripts/vlab/pcboard.sh --firmware ovmf) power it. It boots with LAVA's
// grub-efi method: interrupt GRUB's menu with `c`, then the command list of
// LAVA's base-grub.jinja2 with efi_grub (net_ls_addr, linux and initrd over
// TFTP, boot). It is a WASM module built with GOOS=wasip1 GOARCH=wasm; its
// settings are in settings.yaml.
package main
