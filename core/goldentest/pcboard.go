package goldentest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/lavalab/lavalab/core/devdict"
	"github.com/lavalab/lavalab/core/testenv"
	"github.com/lavalab/lavalab/sdk"
)

// ExampleDictionary reads examples/devices/NAME.jinja2 as the server does
// and checks that it extends deviceType.
func ExampleDictionary(t *testing.T, name, deviceType string) sdk.Values {
	t.Helper()
	text, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "examples", "devices", name+".jinja2"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := devdict.Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	if d.Extends != deviceType {
		t.Fatalf("%s extends %s, want %s", name, d.Extends, deviceType)
	}
	return sdk.Values(d.Values)
}

// PCBoard is the golden plans of a virtual PC board (issue 17) of boot
// method method, with the example dictionary example: deploy, a ramdisk and
// an nfs boot, a job's own command list, the test shell, and the errors of
// a method the board does not declare, an unknown list and an nfs boot
// without rootfs.
func PCBoard(t *testing.T, d sdk.Driver, deviceType, example, method string) {
	dict := ExampleDictionary(t, example, deviceType)
	arts := map[string]sdk.Artifact{
		"kernel":  {TFTPPath: "42/tftp-deploy/kernel/bzImage"},
		"ramdisk": {TFTPPath: "42/tftp-deploy/ramdisk/initramfs.cpio.gz"},
	}
	withNFS := map[string]sdk.Artifact{"nfsrootfs": {LocalPath: NFSRootFS}}
	for k, v := range arts {
		withNFS[k] = v
	}
	boot := func(method string, commands any, a map[string]sdk.Artifact) sdk.PlanRequest {
		r := BootRequest(deviceType, dict, "", a)
		r.Action.Method = method
		r.Action.Params["commands"] = commands
		return r
	}
	deploy := sdk.PlanRequest{JobID: "42", Settings: dict, Action: sdk.Action{Kind: sdk.ActionDeploy, Method: "tftp", Level: "1",
		Params: sdk.Values{"kernel": map[string]any{"url": "http://example.com/bzImage"}, "ramdisk": map[string]any{"url": "http://example.com/initramfs.cpio.gz"}}}}
	test := sdk.PlanRequest{JobID: "42", Settings: dict, Action: sdk.Action{Kind: sdk.ActionTest, Level: "3"}}
	other := "u-boot"
	for _, tc := range []struct {
		name    string
		req     sdk.PlanRequest
		errType string
	}{
		{"deploy-tftp", deploy, ""},
		{"boot-ramdisk", boot(method, "ramdisk", arts), ""},
		{"boot-nfs", boot(method, "nfs", withNFS), ""},
		{"boot-inline-commands", boot(method, []any{"echo {SERVER_IP} {KERNEL}", "boot"}, arts), ""},
		{"test", test, ""},
		{"error-boot-" + other, boot(other, "ramdisk", arts), sdk.ErrorJob},
		{"error-unknown-list", boot(method, "usb", arts), sdk.ErrorJob},
		{"error-nfs-without-rootfs", boot(method, "nfs", arts), sdk.ErrorJob},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw, resp := Plan(t, d, tc.req)
			Golden(t, tc.name, raw)
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
