package main

import (
	"testing"

	"github.com/lavalab/lavalab/core/goldentest"
	"github.com/lavalab/lavalab/sdk"
)

func TestDescribe(t *testing.T) { goldentest.Describe(t, driver(), settings) }

// TestPlans is the golden plans of the example board uefi-01: deploy, the
// uefi-menu ramdisk boot, the uefi (shell) boot with a job's own commands,
// the test shell, and the errors of a method the board does not declare,
// an unknown menu list and a uefi-menu boot given a command list.
func TestPlans(t *testing.T) {
	dict := goldentest.ExampleDictionary(t, "uefi-01", "qemu-uefi-arm64")
	arts := map[string]sdk.Artifact{
		"kernel":  {TFTPPath: "42/tftp-deploy/kernel/Image"},
		"ramdisk": {TFTPPath: "42/tftp-deploy/ramdisk/initramfs.cpio.gz"},
	}
	boot := func(method string, commands any) sdk.PlanRequest {
		r := goldentest.BootRequest("qemu-uefi-arm64", dict, "", arts)
		r.Action.Method = method
		r.Action.Params["commands"] = commands
		return r
	}
	deploy := sdk.PlanRequest{JobID: "42", Settings: dict, Action: sdk.Action{Kind: sdk.ActionDeploy, Method: "tftp", Level: "1",
		Params: sdk.Values{"kernel": map[string]any{"url": "http://example.com/Image"}, "ramdisk": map[string]any{"url": "http://example.com/initramfs.cpio.gz"}}}}
	test := sdk.PlanRequest{JobID: "42", Settings: dict, Action: sdk.Action{Kind: sdk.ActionTest, Level: "3"}}
	for _, tc := range []struct {
		name    string
		req     sdk.PlanRequest
		errType string
	}{
		{"deploy-tftp", deploy, ""},
		{"boot-uefi-menu-ramdisk", boot("uefi-menu", "ramdisk"), ""},
		{"boot-uefi-shell-ramdisk", boot("uefi", "ramdisk"), ""},
		{"boot-uefi-shell-inline", boot("uefi", []any{"ifconfig -s eth0 dhcp", "fs0:", "Image initrd={RAMDISK} console=ttyAMA0"}), ""},
		{"test", test, ""},
		{"error-boot-u-boot", boot("u-boot", "ramdisk"), sdk.ErrorJob},
		{"error-unknown-menu-list", boot("uefi-menu", "nfs"), sdk.ErrorJob},
		{"error-uefi-menu-list-given", boot("uefi-menu", []any{"boot"}), sdk.ErrorJob},
		{"error-uefi-unknown-list", boot("uefi", "usb"), sdk.ErrorJob},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw, resp := goldentest.Plan(t, driver(), tc.req)
			goldentest.Golden(t, tc.name, raw)
			if tc.errType != "" {
				if resp.Error == nil || resp.Error.Type != tc.errType {
					t.Fatalf("want a %s error, got %s", tc.errType, raw)
				}
				return
			}
			if resp.Error != nil || resp.Plan == nil {
				t.Fatalf("plan: %s", raw)
			}
			if err := resp.Plan.Validate(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
