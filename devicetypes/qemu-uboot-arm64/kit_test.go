package main

import (
	"testing"

	"github.com/lavalab/lavalab/devicetypes/internal/kitboard"
	"github.com/lavalab/lavalab/sdk/sdktest"
)

// TestKitBoot builds the driver to WASM, loads it as a worker does and
// boots a scripted U-Boot console of the virtual arm64 board: QEMU's TFTP server address
// (10.0.2.2) and the firmware's device tree (${fdt_addr}).
func TestKitBoot(t *testing.T) {
	d := sdktest.BuildAndLoad(t, ".")
	kitboard.Boot(t, d, kitboard.Job(nil, "image", "Image"), kitboard.UBoot("=>"), []string{
		"setenv autoload no",
		"setenv initrd_high 0xffffffff",
		"setenv fdt_high 0xffffffff",
		"dhcp",
		"setenv serverip 10.0.2.2",
		"tftp 0x40400000 7/tftp-deploy/kernel/Image",
		"tftp 0x44000000 7/tftp-deploy/ramdisk/ramdisk.cpio.gz.uboot",
		"setenv initrd_size ${filesize}",
		"tftp ${fdt_addr} 7/tftp-deploy/dtb/board.dtb",
		"setenv bootargs 'console=ttyAMA0,115200n8 root=/dev/ram0  ip=dhcp'",
		"booti 0x40400000 0x44000000 ${fdt_addr}",
	})
}
