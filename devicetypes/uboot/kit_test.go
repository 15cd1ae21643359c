package main

import (
	"testing"

	"github.com/lavalab/lavalab/devicetypes/internal/kitboard"
	"github.com/lavalab/lavalab/sdk"
	"github.com/lavalab/lavalab/sdk/sdktest"
)

// TestKitBoot builds the driver to WASM, loads it as a worker does and
// boots a scripted generic U-Boot board (LAVA's base-uboot) whose
// dictionary gives the bootz addresses.
func TestKitBoot(t *testing.T) {
	d := sdktest.BuildAndLoad(t, ".")
	kitboard.Boot(t, d, kitboard.Job(sdk.Values{"console_device": "ttyS0", "baud_rate": 115200, "bootz_kernel_addr": "0x82000000", "bootz_ramdisk_addr": "0x83000000", "bootz_dtb_addr": "0x88000000", "base_high_limits": true}, "zimage", "zImage"), kitboard.UBoot("=>"), []string{
		"setenv autoload no",
		"setenv initrd_high 0xffffffff",
		"setenv fdt_high 0xffffffff",
		"dhcp",
		"setenv serverip 192.0.2.1",
		"tftp 0x82000000 7/tftp-deploy/kernel/zImage",
		"tftp 0x83000000 7/tftp-deploy/ramdisk/ramdisk.cpio.gz.uboot",
		"setenv initrd_size ${filesize}",
		"tftp 0x88000000 7/tftp-deploy/dtb/board.dtb",
		"setenv bootargs 'console=ttyS0,115200n8 root=/dev/ram0  ip=dhcp'",
		"bootz 0x82000000 0x83000000 0x88000000",
	})
}
