package main

import (
	"testing"

	"github.com/lavalab/lavalab/devicetypes/internal/kitboard"
	"github.com/lavalab/lavalab/sdk"
	"github.com/lavalab/lavalab/sdk/sdktest"
)

// TestKitBoot builds the driver to WASM, loads it as a worker does and
// boots a scripted Juno r2 U-Boot console (prompt juno#): LAVA's vexpress command order and the
// sky2 MAC address from the dictionary.
func TestKitBoot(t *testing.T) {
	d := sdktest.BuildAndLoad(t, ".")
	kitboard.Boot(t, d, kitboard.Job(sdk.Values{"vexpress_sky2_mac": "0x00,0x02,0xF7,0x00,0x68,0x3F"}, "image", "Image"), kitboard.UBoot("juno#"), []string{
		"setenv serverip 192.0.2.1",
		"setenv autoload no",
		"dhcp",
		"setenv bootdelay 1",
		"setenv ethact smc911x-0",
		"setenv initrd_high 0xffffffffffffffff",
		"setenv fdt_high 0xffffffffffffffff",
		"tftp 0x80080000 7/tftp-deploy/kernel/Image",
		"tftp 0x84000000 7/tftp-deploy/ramdisk/ramdisk.cpio.gz.uboot",
		"setenv initrd_size ${filesize}",
		"tftp 0x83000000 7/tftp-deploy/dtb/board.dtb",
		"setenv bootargs 'console=ttyAMA0,115200n8 root=/dev/ram0 rootwait earlycon=pl011,0x7ff80000 debug systemd.log_target=null user_debug=31 androidboot.hardware=juno loglevel=9 sky2.mac_address=0x00,0x02,0xF7,0x00,0x68,0x3F ip=dhcp'",
		"booti 0x80080000 0x84000000 0x83000000",
	})
}
