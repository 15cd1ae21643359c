package main

import (
	"testing"

	"github.com/lavalab/lavalab/devicetypes/internal/pcboot/pcboottest"
	"github.com/lavalab/lavalab/sdk"
	"github.com/lavalab/lavalab/sdk/sdktest"
)

// TestKitBoot builds the driver to WASM, loads it as a worker does and
// boots a scripted GRUB PC: `c` at the menu, then LAVA's base-grub
// ramdisk list (grub) with QEMU's TFTP server address.
func TestKitBoot(t *testing.T) {
	d := sdktest.BuildAndLoad(t, ".")
	pcboottest.Boot(t, d, pcboottest.Job(sdk.Values{}), pcboottest.Grub(false), "grub", "c", []string{
		"net_bootp", "clear", "insmod linux", "clear", "insmod tftp", "clear",
		"linux (tftp,10.0.2.2)/7/tftp-deploy/kernel/bzImage console=ttyS0,115200 ip=dhcp ",
		"clear", "initrd (tftp,10.0.2.2)/7/tftp-deploy/ramdisk/initramfs.cpio.gz", "clear", "boot",
	})
}
