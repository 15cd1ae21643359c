package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lavalab/lavalab/core/devdict"
	"github.com/lavalab/lavalab/core/goldentest"
	"github.com/lavalab/lavalab/core/testenv"
	"github.com/lavalab/lavalab/sdk"
	"github.com/lavalab/lavalab/sdk/uboot"
)

// teeAddr is where the plan matrix loads a tee: the board has none by default.
const teeAddr = "0x5e000000"

// dictionary reads examples/devices/<name>.jinja2 as the server does.
func dictionary(t *testing.T, name string) sdk.Values {
	t.Helper()
	text, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "examples", "devices", name+".jinja2"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := devdict.Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	if d.Extends != "qemu-uboot-arm64" {
		t.Fatalf("%s extends %s", name, d.Extends)
	}
	return sdk.Values(d.Values)
}

func TestDescribe(t *testing.T) { goldentest.Describe(t, driver(), settings) }

func TestPlans(t *testing.T) {
	s := goldentest.UBootSpec{
		KernelType: "image", KernelFile: "Image",
		Dictionary: goldentest.Merge(dictionary(t, "vlab-01"), map[string]any{"booti_tee_addr": teeAddr}),
		Cmd:        "booti", Addr: uboot.Addresses{Kernel: "0x40400000", Ramdisk: "0x44000000", DTB: "${fdt_addr}", TEE: teeAddr},
	}
	goldentest.UBoot(t, driver(), "qemu-uboot-arm64", s)
	goldentest.Common(t, driver(), "qemu-uboot-arm64", s)
}

// The commands one ramdisk boot sends, in full: QEMU's TFTP server address
// instead of the worker's, the u-boot-header or raw ramdisk, the firmware's
// device tree, and what a settings change (no rebuild) does to them.
func TestBootCommands(t *testing.T) {
	dict := dictionary(t, "vlab-01")
	kernel := "setenv initrd_size ${filesize}"
	for _, tc := range []struct {
		name    string
		dict    sdk.Values
		raw     bool
		want    []string
		errType string
	}{
		{"qemu-tftp-uboot-header", dict, false, []string{
			"setenv autoload no", "setenv initrd_high 0xffffffff", "setenv fdt_high 0xffffffff", "dhcp", "setenv serverip 10.0.2.2",
			"tftp 0x40400000 42/tftp-deploy-x1/kernel/Image", "tftp 0x44000000 42/tftp-deploy-x1/ramdisk/ramdisk.cpio.gz.uboot", kernel,
			"setenv bootargs 'console=ttyAMA0,115200n8 root=/dev/ram0  ip=dhcp'", "booti 0x40400000 0x44000000 ${fdt_addr}",
		}, ""},
		{"qemu-tftp-raw-ramdisk", dict, true, []string{
			"setenv autoload no", "setenv initrd_high 0xffffffff", "setenv fdt_high 0xffffffff", "dhcp", "setenv serverip 10.0.2.2",
			"tftp 0x40400000 42/tftp-deploy-x1/kernel/Image", "tftp 0x44000000 42/tftp-deploy-x1/ramdisk/ramdisk.cpio.gz.uboot", kernel,
			"setenv bootargs 'console=ttyAMA0,115200n8 root=/dev/ram0  ip=dhcp'", "booti 0x40400000 0x44000000:${initrd_size} ${fdt_addr}",
		}, ""},
		{"worker-tftp-server", goldentest.Merge(dict, map[string]any{"tftp_server_ip": ""}), false, nil, ""},
		{"ramdisk-address-setting", goldentest.Merge(dict, map[string]any{"booti_ramdisk_addr": "0x48000000", "booti_dtb_addr": "${fdtcontroladdr}"}), false, nil, ""},
		{"tee-without-address", dict, false, nil, sdk.ErrorConfiguration},
	} {
		t.Run(tc.name, func(t *testing.T) {
			arts := goldentest.Artifacts("image", "Image", true, false, tc.errType != "", false)
			if tc.raw {
				r := arts["ramdisk"]
				r.UBootHeader = false
				arts["ramdisk"] = r
			}
			raw, resp := goldentest.Plan(t, driver(), goldentest.BootRequest("qemu-uboot-arm64", tc.dict, "ramdisk", arts))
			goldentest.Golden(t, "commands-"+tc.name, raw)
			if tc.errType != "" {
				if resp.Error == nil || resp.Error.Type != tc.errType {
					t.Fatalf("want a %s error, got %s", tc.errType, raw)
				}
				return
			}
			if resp.Error != nil {
				t.Fatalf("plan: %s", raw)
			}
			got := goldentest.Commands(t, resp.Plan)
			switch tc.name {
			case "worker-tftp-server":
				if !contains(got, "setenv serverip "+goldentest.ServerIP) {
					t.Fatalf("no serverip %s in %q", goldentest.ServerIP, got)
				}
			case "ramdisk-address-setting":
				if !contains(got, "tftp 0x48000000 42/tftp-deploy-x1/ramdisk/ramdisk.cpio.gz.uboot") ||
					got[len(got)-1] != "booti 0x40400000 0x48000000 ${fdtcontroladdr}" {
					t.Fatalf("settings change not applied: %q", got)
				}
			default:
				if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
					t.Fatalf("commands\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
				}
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// The power and console steps name the dictionary's commands, never carry
// them (ABI 2): connect first (the console waits for the board), then power
// off and on.
func TestPowerSteps(t *testing.T) {
	raw, resp := goldentest.Plan(t, driver(), goldentest.BootRequest("qemu-uboot-arm64", dictionary(t, "vlab-02"), "ramdisk",
		goldentest.Artifacts("image", "Image", true, false, false, false)))
	if resp.Error != nil {
		t.Fatalf("plan: %s", raw)
	}
	var kinds []string
	for _, s := range resp.Plan.Steps[:4] {
		kinds = append(kinds, s.Kind+":"+s.Name)
	}
	want := "connect:connect-device power:power-off power:power-on interrupt:bootloader-interrupt"
	if got := strings.Join(kinds, " "); got != want {
		t.Fatalf("steps %s, want %s", got, want)
	}
	if c := resp.Plan.Steps[0].Connect; c.Connection != sdk.DefaultConnection || c.Command != "" {
		t.Fatalf("connect step %+v, want the dictionary's default connection", c)
	}
	for _, s := range resp.Plan.Steps[1:3] {
		if len(s.Power.Commands) != 0 {
			t.Fatalf("power step %s carries commands %q", s.Name, s.Power.Commands)
		}
	}
}
