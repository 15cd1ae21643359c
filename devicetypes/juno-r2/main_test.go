package main

import (
	"testing"

	"github.com/lavalab/lavalab/core/goldentest"
	"github.com/lavalab/lavalab/sdk"
	"github.com/lavalab/lavalab/sdk/uboot"
)

// dictionary holds the values of LAVA's juno-r2-01 test dictionary that
// shape its rendered configuration (testdata/lava/devices/juno-r2-01.jinja2, rendered/juno-r2-01.*).
func dictionary() sdk.Values {
	return sdk.Values{
		"connection_command": "telnet localhost 7160",
		"hard_reset_command": "/usr/local/lab-scripts/snmp_pdu_control --hostname pdu01 --command reboot --port 21 --delay 10",
		"power_off_command":  "/usr/local/lab-scripts/snmp_pdu_control --hostname pdu01 --command off --port 21",
		"power_on_command":   "/usr/local/lab-scripts/snmp_pdu_control --hostname pdu01 --command on --port 21",
		"vexpress_sky2_mac":  "0x00,0x02,0xF7,0x00,0x68,0x3F",
	}
}

// teeAddr is where the tests load a tee; LAVA's juno template has none.
const teeAddr = "0x8a000000"

func TestDescribe(t *testing.T) { goldentest.Describe(t, driver(), settings) }

func TestPlans(t *testing.T) {
	s := goldentest.UBootSpec{
		KernelType: "image", KernelFile: "Image", Dictionary: goldentest.Merge(dictionary(), map[string]any{"booti_tee_addr": teeAddr}),
		Cmd: "booti", Addr: uboot.Addresses{Kernel: "0x80080000", Ramdisk: "0x84000000", DTB: "0x83000000", TEE: teeAddr},
		Rendered:      []string{"juno-r2-01.rendered-2020.09.yaml", "juno-r2-01.rendered-2023.01.yaml"},
		RenderedNoTEE: true, // LAVA's vexpress lists load no tee
	}
	goldentest.UBoot(t, driver(), "juno-r2", s)
	goldentest.Common(t, driver(), "juno-r2", s)
}

// LAVA 2020.08 read the tee address of every boot command unconditionally;
// juno's parameters have none, so every juno-r2 job failed, tee or not.
// Without a tee the board must boot with no tee address configured, and with
// a tee its address replaces the kernel's.
func TestTEE(t *testing.T) {
	for _, tc := range []struct {
		name     string
		dict     sdk.Values
		tee      bool
		want     string
		errType  string
		teeLoads string
	}{
		{"regression-2020.08-no-tee-no-address", dictionary(), false, "booti 0x80080000 0x84000000 0x83000000", "", ""},
		{"tee-replaces-kernel-address", goldentest.Merge(dictionary(), map[string]any{"booti_tee_addr": teeAddr}), true,
			"booti 0x8a000000 0x84000000 0x83000000", "", "tftp 0x8a000000 42/tftp-deploy-x1/tee/uTee"},
		{"tee-without-address", dictionary(), true, "", sdk.ErrorConfiguration, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw, resp := goldentest.Plan(t, driver(), goldentest.BootRequest("juno-r2", tc.dict, "ramdisk",
				goldentest.Artifacts("image", "Image", true, true, tc.tee, false)))
			goldentest.Golden(t, tc.name, raw)
			if tc.errType != "" {
				if resp.Error == nil || resp.Error.Type != tc.errType {
					t.Fatalf("want a %s error, got %s", tc.errType, raw)
				}
				return
			}
			if resp.Error != nil {
				t.Fatalf("%s", raw)
			}
			cmds := goldentest.Commands(t, resp.Plan)
			if got := cmds[len(cmds)-1]; got != tc.want {
				t.Fatalf("boot command %q, want %q", got, tc.want)
			}
			found := tc.teeLoads == ""
			for _, c := range cmds {
				found = found || c == tc.teeLoads
			}
			if !found {
				t.Fatalf("no %q in %q", tc.teeLoads, cmds)
			}
		})
	}
}
