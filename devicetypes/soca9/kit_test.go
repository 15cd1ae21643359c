package main

import (
	"testing"

	"github.com/lavalab/lavalab/devicetypes/internal/kitboard"
	"github.com/lavalab/lavalab/sdk/sdktest"
)

// TestKitBoot builds the driver to WASM, loads it as a worker does and
// boots a scripted soca9 U-Boot console: bootz with the board's root
// arguments.
func TestKitBoot(t *testing.T) {
	d := sdktest.BuildAndLoad(t, ".")
	kitboard.Boot(t, d, kitboard.Job(nil, "zimage", "zImage"), kitboard.UBoot("=>"), []string{
		"setenv autoload no",
		"dhcp",
		"setenv serverip 192.0.2.1",
		"tftp 0x01000000 7/tftp-deploy/kernel/zImage",
		"tftp - 7/tftp-deploy/ramdisk/ramdisk.cpio.gz.uboot",
		"setenv initrd_size ${filesize}",
		"tftp 0x00001000 7/tftp-deploy/dtb/board.dtb",
		"setenv bootargs 'console=ttyS0,115200n8 root=/dev/ram0 root=/dev/mmcblk0p2 rw rootwait coherent_pool=2M; ip=dhcp'",
		"bootz 0x01000000 - 0x00001000",
	})
}
