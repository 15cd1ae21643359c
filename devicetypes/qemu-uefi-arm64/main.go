package main

import (
	_ "embed"

	"github.com/lavalab/lavalab/devicetypes/internal/pcboot"
	"github.com/lavalab/lavalab/sdk"
)

//go:embed settings.yaml
var settings []byte

// version is the driver's version, reported by describe.
const version = "1.0.0"

// pxe is the Boot Manager's network boot entry of the board's one NIC
// (QEMU's first MAC, 52:54:00:12:34:56).
const pxe = "UEFI PXEv4 (MAC:525400123456)"

// grubRamdisk is what is typed at GRUB's prompt for a ramdisk boot.
var grubRamdisk = []string{
	"linux (tftp,{SERVER_IP})/{KERNEL} console=ttyAMA0,115200 ip=dhcp",
	"initrd (tftp,{SERVER_IP})/{RAMDISK}",
	"boot",
}

func sel(kv ...any) map[string]any {
	m := map[string]any{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return map[string]any{"select": m}
}

// menus are the board's uefi-menu lists, in the form of LAVA's rendered
// device types ({name: [{select: {...}}]}): from the front page to the Boot
// Manager, its PXE entry (which loads GRUB), then GRUB's commands.
func menus() map[string]any {
	ramdisk := []any{
		sel("items", []any{"Boot Manager"}, "wait", "Boot Manager Menu"),
		sel("items", []any{pxe}, "wait", "grub>"),
	}
	for i, c := range grubRamdisk {
		b := sel("enter", c)
		if i < len(grubRamdisk)-1 {
			b["select"].(map[string]any)["wait"] = "grub>"
		}
		ramdisk = append(ramdisk, b)
	}
	return map[string]any{"ramdisk": ramdisk}
}

// shellMenus are the lists of the uefi method's shell_menu: the Boot
// Manager's EFI Internal Shell entry.
func shellMenus() map[string]any {
	return map[string]any{"shell": []any{
		sel("items", []any{"Boot Manager"}, "wait", "Boot Manager Menu"),
		sel("items", []any{"EFI Internal Shell"}),
	}}
}

// shellCommands are the uefi method's command lists: run the kernel's EFI
// stub from the board's disk (uefiboard.sh --disk: the TFTP root), its
// initrd beside it (uefi_shell_backslash_paths makes the paths "\").
func shellCommands() map[string]any {
	return map[string]any{"ramdisk": []any{`fs0:\{KERNEL} initrd=\{RAMDISK} console=ttyAMA0,115200 ip=dhcp`}}
}

func driver() pcboot.Board {
	b := pcboot.New("qemu-uefi-arm64", version,
		"Virtual arm64 UEFI board: QEMU -M virt with AAVMF, booted with LAVA's uefi-menu method (the Boot Manager's PXE entry loads GRUB over TFTP)",
		settings, "uefi-menu", "uefi")
	b.Defaults = sdk.Values{"uefi_menu_commands": menus(), "uefi_shell_menu_commands": shellMenus(), "uefi_shell_commands": shellCommands()}
	return b
}

func main() { sdk.Run(driver()) }
