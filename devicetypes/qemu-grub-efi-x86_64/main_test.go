package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/lavalab/lavalab/core/devdict"
	"github.com/lavalab/lavalab/core/testenv"
	"github.com/lavalab/lavalab/core/goldentest"
	"github.com/lavalab/lavalab/sdk"
)

// dictionary reads examples/devices/pc-grub-efi-01.jinja2 as the server does.
func dictionary(t *testing.T) sdk.Values {
	t.Helper()
	text, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "examples", "devices", "pc-grub-efi-01.jinja2"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := devdict.Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	if d.Extends != "qemu-grub-efi-x86_64" {
		t.Fatalf("pc-grub-efi-01 extends %s", d.Extends)
	}
	return sdk.Values(d.Values)
}

func TestDescribe(t *testing.T) { goldentest.Describe(t, driver(), settings) }

// Golden plans of the example board: deploy, a ramdisk and an nfs boot, a
// job's own command list, the test shell, and the errors of a method the
// board does not declare, an unknown list and an nfs boot without rootfs.
func TestPlans(t *testing.T) {
	arts := map[string]sdk.Artifact{
		"kernel":  {TFTPPath: "42/tftp-deploy/kernel/bzImage"},
		"ramdisk": {TFTPPath: "42/tftp-deploy/ramdisk/initramfs.cpio.gz"},
	}
	withNFS := map[string]sdk.Artifact{"nfsrootfs": {LocalPath: goldentest.NFSRootFS}}
	for k, v := range arts {
		withNFS[k] = v
	}
	boot := func(method string, commands any, a map[string]sdk.Artifact) sdk.PlanRequest {
		r := goldentest.BootRequest("qemu-grub-efi-x86_64", dictionary(t), "", a)
		r.Action.Method = method
		r.Action.Params["commands"] = commands
		return r
	}
	deploy := sdk.PlanRequest{JobID: "42", Settings: dictionary(t), Action: sdk.Action{Kind: sdk.ActionDeploy, Method: "tftp", Level: "1",
		Params: sdk.Values{"kernel": map[string]any{"url": "http://example.com/bzImage"}, "ramdisk": map[string]any{"url": "http://example.com/initramfs.cpio.gz"}}}}
	test := sdk.PlanRequest{JobID: "42", Settings: dictionary(t), Action: sdk.Action{Kind: sdk.ActionTest, Level: "3"}}
	other := "u-boot"
	for _, tc := range []struct {
		name    string
		req     sdk.PlanRequest
		errType string
	}{
		{"deploy-tftp", deploy, ""},
		{"boot-ramdisk", boot("grub-efi", "ramdisk", arts), ""},
		{"boot-nfs", boot("grub-efi", "nfs", withNFS), ""},
		{"boot-inline-commands", boot("grub-efi", []any{"echo {SERVER_IP} {KERNEL}", "boot"}, arts), ""},
		{"test", test, ""},
		{"error-boot-" + other, boot(other, "ramdisk", arts), sdk.ErrorJob},
		{"error-unknown-list", boot("grub-efi", "usb", arts), sdk.ErrorJob},
		{"error-nfs-without-rootfs", boot("grub-efi", "nfs", arts), sdk.ErrorJob},
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
