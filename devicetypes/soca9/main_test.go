package main

import (
	"strings"
	"testing"

	"github.com/lavalab/lavalab/core/goldentest"
	"github.com/lavalab/lavalab/sdk"
	"github.com/lavalab/lavalab/sdk/uboot"
)

func TestDescribe(t *testing.T) { goldentest.Describe(t, driver(), settings) }

func spec(t *testing.T) goldentest.UBootSpec {
	dict, extends := goldentest.DictionaryValues(t, "soca9-01.jinja2")
	if extends != "soca9" {
		t.Fatalf("soca9-01 extends %s", extends)
	}
	return goldentest.UBootSpec{
		KernelType: "zimage", KernelFile: "zImage", Dictionary: dict,
		Cmd: "bootz", Addr: uboot.Addresses{Kernel: "0x01000000", Ramdisk: "-", DTB: "0x00001000", TEE: "0x83000000"},
		Rendered: []string{"soca9-01.rendered-2020.09.yaml", "soca9-01.rendered-2023.01.yaml"},
	}
}

func TestPlans(t *testing.T) {
	s := spec(t)
	goldentest.UBoot(t, driver(), "soca9", s)
	goldentest.Common(t, driver(), "soca9", s)
}

// The boot command LAVA 2020.09 and later send, and what changing the dtb
// address takes: a settings edit (up to 2020.08 LAVA used 0x00000100).
func TestBootCommand(t *testing.T) {
	s := spec(t)
	for _, tc := range []struct {
		name string
		dict sdk.Values
		want string
	}{
		{"default", s.Dictionary, "bootz 0x01000000 - 0x00001000"},
		{"dtb address override", goldentest.Merge(s.Dictionary, map[string]any{"bootz_dtb_addr": "0x00000100"}), "bootz 0x01000000 - 0x00000100"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw, resp := goldentest.Plan(t, driver(), goldentest.BootRequest("soca9", tc.dict, "ramdisk",
				goldentest.Artifacts("zimage", "zImage", false, true, false, false)))
			if resp.Error != nil {
				t.Fatalf("%s", raw)
			}
			cmds := goldentest.Commands(t, resp.Plan)
			if got := cmds[len(cmds)-1]; got != tc.want {
				t.Fatalf("boot command %q, want %q", got, tc.want)
			}
		})
	}
}

// soca9.jinja2 puts the job's extra_kernel_args after its own root arguments.
func TestExtraKernelArgs(t *testing.T) {
	req := goldentest.BootRequest("soca9", spec(t).Dictionary, "ramdisk", goldentest.Artifacts("zimage", "zImage", false, true, false, false))
	req.Context = sdk.Values{"extra_kernel_args": "quiet"}
	raw, resp := goldentest.Plan(t, driver(), req)
	if resp.Error != nil {
		t.Fatalf("%s", raw)
	}
	want := "setenv bootargs 'console=ttyS0,115200n8 root=/dev/ram0 root=/dev/mmcblk0p2 rw rootwait coherent_pool=2M; quiet ip=dhcp'"
	if cmds := goldentest.Commands(t, resp.Plan); !strings.Contains(strings.Join(cmds, "\n"), want) {
		t.Fatalf("no %q in\n%s", want, strings.Join(cmds, "\n"))
	}
}
