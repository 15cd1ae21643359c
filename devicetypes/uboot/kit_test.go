package main

import (
	"slices"
	"strings"
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

// TestKitBootloaderMinimal (issue 17): the bootloader method leaves the
// scripted U-Boot at its prompt after the job's commands; minimal resets
// a board that boots by itself and logs in at its login prompt.
func TestKitBootloaderMinimal(t *testing.T) {
	d := sdktest.BuildAndLoad(t, ".")
	job := kitboard.Job(sdk.Values{"bootz_kernel_addr": "0x82000000"}, "zimage", "zImage")

	res := d.Run(t, kitboard.UBoot("=>"), d.Request(job, sdktest.Boot("bootloader", sdk.Values{
		"bootloader": "u-boot", "commands": []any{"setenv serverip {SERVER_IP}", "dhcp", "printenv"}})))
	if got, want := strings.Join(res.Kinds(), " "), "connect power interrupt commands"; got != want {
		t.Errorf("bootloader steps: %s, want %s", got, want)
	}
	if want := []string{"", "setenv serverip 192.0.2.1", "dhcp", "printenv"}; !slices.Equal(res.Received, want) {
		t.Errorf("bootloader: the board received %q, want %q\n%s", res.Received, want, res.Transcript())
	}

	booting := &sdktest.Console{
		Power: map[string]string{sdk.PowerReset: "\r\nU-Boot 2023.01\r\nStarting kernel ...\r\n[    0.000000] Linux version 6.1.0\r\n\r\ndebian login: "},
		Echo:  true,
		Replies: []sdktest.Reply{
			sdktest.Line("root", "\r\nroot@debian:~# "),
		},
	}
	res = d.Run(t, booting, d.Request(job, sdktest.Boot("minimal", sdk.Values{
		"prompts": []any{"root@debian:~#"}, "auto_login": map[string]any{"login_prompt": "login:", "username": "root"}})))
	if got, want := strings.Join(res.Kinds(), " "), "connect power login wait_shell"; got != want {
		t.Errorf("minimal steps: %s, want %s", got, want)
	}
	if want := []string{"root"}; !slices.Equal(res.Received, want) {
		t.Errorf("minimal: the board received %q, want %q (nothing for U-Boot)\n%s", res.Received, want, res.Transcript())
	}
}
