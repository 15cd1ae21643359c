// Package pcboot plans the boot methods of PC and UEFI firmware (issue 17):
// iPXE (LAVA's `ipxe`: interrupt with a control-character sequence, then
// `dhcp`, `kernel`, `initrd`, `boot` over TFTP) and GRUB (`grub`, `grub-efi`:
// interrupt the menu with `c`, then the command line). The command lists are
// the ones LAVA's device-type templates render (x86.jinja2 for iPXE,
// base-grub.jinja2 for GRUB), built from the driver's settings and the
// job's deployed files, with LAVA's placeholders ({SERVER_IP}, {KERNEL},
// {RAMDISK}, {LAVA_MAC}, ...) substituted as its BootloaderCommandOverlay
// does.
//
// It is compiled into WASM drivers: it imports the sdk module, the
// repository's devicetypes/internal packages and the standard library only.
package pcboot
