// Command qemu-uefi-arm64 is the driver of the virtual arm64 UEFI board
// (issue 17): qemu-system-aarch64 -M virt with Debian's AAVMF
// (qemu-efi-aarch64), powered by scripts/vlab/uefiboard.sh. It boots with
// LAVA's uefi-menu method: interrupt the firmware with Escape, walk EDK2's
// menus by their items' text (the front page's Boot Manager, then its PXE
// entry, which loads a GRUB arm64 EFI image from QEMU's TFTP server), and
// type the kernel and initrd commands at GRUB's prompt. LAVA's uefi method
// (the UEFI shell, started from the Boot Manager's EFI Internal Shell) is
// planned too. It is a WASM module built with GOOS=wasip1 GOARCH=wasm; its
// settings are in settings.yaml, its menu lists in main.go.
package main
