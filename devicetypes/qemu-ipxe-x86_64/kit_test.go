package main

import (
	"testing"

	"github.com/lavalab/lavalab/devicetypes/internal/pcboot/pcboottest"
	"github.com/lavalab/lavalab/sdk"
	"github.com/lavalab/lavalab/sdk/sdktest"
)

// TestKitBoot builds the driver to WASM, loads it as a worker does and
// boots a scripted iPXE PC: Ctrl-B, then LAVA's x86 ramdisk list with
// QEMU's TFTP server address.
func TestKitBoot(t *testing.T) {
	d := sdktest.BuildAndLoad(t, ".")
	pcboottest.Boot(t, d, pcboottest.Job(sdk.Values{}), pcboottest.IPXE(), "ipxe", "\x02", []string{
		"dhcp net0",
		"set console console=ttyS0,115200n8 lava_mac=00:90:05:af:00:7d",
		"set extraargs  ip=dhcp",
		"kernel tftp://10.0.2.2/7/tftp-deploy/kernel/bzImage ${extraargs} ${console}",
		"initrd tftp://10.0.2.2/7/tftp-deploy/ramdisk/initramfs.cpio.gz",
		"boot",
	})
}
