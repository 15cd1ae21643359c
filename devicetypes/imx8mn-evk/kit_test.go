package main

import (
	"testing"

	"github.com/lavalab/lavalab/devicetypes/internal/kitboard"
	"github.com/lavalab/lavalab/sdk/sdktest"
)

// TestKitBoot builds the driver to WASM, loads it as a worker does and
// boots a scripted i.MX8M Nano EVK U-Boot console: booti,
// the ttymxc1 console with earlycon; boot_character_delay (5 ms) is kept.
func TestKitBoot(t *testing.T) {
	d := sdktest.BuildAndLoad(t, ".")
	con := kitboard.UBoot("=>")
	con.KeepCharDelay = true
	kitboard.Boot(t, d, kitboard.Job(nil, "image", "Image"), con, []string{
		"setenv autoload no",
		"setenv initrd_high 0xffffffff",
		"setenv fdt_high 0xffffffff",
		"dhcp",
		"setenv serverip 192.0.2.1",
		"tftp 0x40480000 7/tftp-deploy/kernel/Image",
		"tftp 0x44000000 7/tftp-deploy/ramdisk/ramdisk.cpio.gz.uboot",
		"setenv initrd_size ${filesize}",
		"tftp 0x43000000 7/tftp-deploy/dtb/board.dtb",
		"setenv bootargs 'console=ttymxc1,115200 earlycon=ec_imx6q,0x30890000,115200n8 root=/dev/ram0  ip=dhcp'",
		"booti 0x40480000 0x44000000 0x43000000",
	})
}
