package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/lavalab/lavalab/core/goldentest"
	"github.com/lavalab/lavalab/sdk"
)

func TestDescribe(t *testing.T) { goldentest.Describe(t, newDriver(), settings) }

// artifacts are the deployed files of a case.
func artifacts(ramdisk, dtb, nfs bool) map[string]sdk.Artifact {
	a := map[string]sdk.Artifact{"kernel": {TFTPPath: goldentest.TFTPDir + "/kernel/zImage", Type: "zimage"}}
	if ramdisk {
		a["ramdisk"] = sdk.Artifact{TFTPPath: goldentest.TFTPDir + "/ramdisk/ramdisk.cpio.gz"}
	}
	if dtb {
		a["dtb"] = sdk.Artifact{TFTPPath: goldentest.TFTPDir + "/dtb/board.dtb"}
	}
	if nfs {
		a["nfsrootfs"] = sdk.Artifact{LocalPath: goldentest.NFSRootFS}
	}
	return a
}

func bootRequest(dict sdk.Values, method string, params sdk.Values, arts map[string]sdk.Artifact) sdk.PlanRequest {
	r := goldentest.BootRequest("barebox", dict, "", arts)
	r.Action.Method, r.Action.Params = method, params
	return r
}

var shell = sdk.Values{"prompts": []any{"/ #"}, "auto_login": map[string]any{"login_prompt": "login:", "username": "root"}}

func with(p sdk.Values, kv ...any) sdk.Values {
	out := sdk.Values{}
	for k, v := range p {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

// TestLAVAOracle renders the barebox dictionaries with LAVA 2023.01's own
// base-barebox template and compares, for each of its command lists after
// LAVA's substitution (BootloaderCommandOverlay, written out in the test),
// the plan's commands, and the plan's prompts, interrupt character, final
// message and error messages with the rendered parameters and constants.
func TestLAVAOracle(t *testing.T) {
	names := []string{"bench-barebox-01.jinja2", "bench-barebox-02.jinja2"}
	rendered := goldentest.RenderLAVA(t, names...)
	for _, name := range names {
		doc := rendered[name]
		dict, extends := goldentest.DictionaryValues(t, name)
		if extends != "base-barebox" {
			t.Fatalf("%s extends %s", name, extends)
		}
		method := goldentest.At(doc, "actions", "boot", "methods", "barebox")
		consts := goldentest.At(doc, "constants", "barebox")
		for _, list := range []string{"tftp", "nfs", "ramdisk"} {
			t.Run(strings.TrimSuffix(name, ".jinja2")+"/"+list, func(t *testing.T) {
				arts := artifacts(list == "ramdisk", true, list == "nfs")
				_, resp := goldentest.Plan(t, newDriver(), bootRequest(dict, "barebox", with(shell, "commands", list), arts))
				if resp.Error != nil {
					t.Fatalf("plan: %v", resp.Error)
				}
				subs := map[string]string{"{SERVER_IP}": goldentest.ServerIP, "{KERNEL}": arts["kernel"].TFTPPath,
					"{RAMDISK}": arts["ramdisk"].TFTPPath, "{DTB}": arts["dtb"].TFTPPath}
				if list == "nfs" {
					subs["{NFSROOTFS}"], subs["{NFS_SERVER_IP}"] = goldentest.NFSRootFS, goldentest.ServerIP
				}
				want := goldentest.SubstituteLAVA(goldentest.StringsAt(method, list, "commands"), subs, true)
				if len(want) == 0 {
					t.Fatalf("LAVA renders no %s commands", list)
				}
				if got := goldentest.Commands(t, resp.Plan); !reflect.DeepEqual(got, want) {
					t.Errorf("commands differ from LAVA's %s list:\ngot\n  %s\nwant\n  %s", list, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
				}
				var in *sdk.InterruptStep
				var cmds *sdk.CommandsStep
				for _, s := range resp.Plan.Steps {
					if s.Interrupt != nil {
						in = s.Interrupt
					}
					if s.Commands != nil {
						cmds = s.Commands
					}
				}
				if in == nil || cmds == nil {
					t.Fatal("no interrupt or commands step")
				}
				errs := goldentest.StringsAt(consts, "error-messages")
				for what, pair := range map[string][2]any{
					"bootloader prompt":   {in.BootloaderPrompt, goldentest.At(method, "parameters", "bootloader_prompt")},
					"commands prompt":     {cmds.Prompt, goldentest.At(method, "parameters", "bootloader_prompt")},
					"interrupt prompt":    {in.Prompt, goldentest.At(method, "parameters", "interrupt_prompt")},
					"interrupt character": {in.Char, goldentest.At(consts, "interrupt-character")},
					"final message":       {strings.Join(cmds.Final, ""), goldentest.At(consts, "final-message")},
					"interrupt errors":    {strings.Join(in.Errors, "|"), strings.Join(errs, "|")},
					"commands errors":     {strings.Join(cmds.Errors, "|"), strings.Join(errs, "|")},
				} {
					if pair[0] != pair[1] {
						t.Errorf("%s: plan %q, LAVA %q", what, pair[0], pair[1])
					}
				}
			})
		}
	}
}

func TestPlans(t *testing.T) {
	dict, _ := goldentest.DictionaryValues(t, "bench-barebox-02.jinja2")
	for _, tc := range []struct {
		name    string
		req     sdk.PlanRequest
		errType string
	}{
		{"deploy-tftp", sdk.PlanRequest{Action: sdk.Action{Kind: sdk.ActionDeploy, Method: "tftp", Params: sdk.Values{
			"kernel": map[string]any{"url": "http://example.com/zImage"}, "ramdisk": map[string]any{"url": "http://example.com/r.cpio.gz"},
			"dtb": map[string]any{"url": "http://example.com/b.dtb"}}}}, ""},
		{"boot-ramdisk", bootRequest(dict, "barebox", with(shell, "commands", "ramdisk"), artifacts(true, true, false)), ""},
		{"boot-nfs", bootRequest(dict, "barebox", with(shell, "commands", "nfs"), artifacts(false, true, true)), ""},
		{"boot-tftp", bootRequest(dict, "barebox", with(shell, "commands", "tftp"), artifacts(false, false, false)), ""},
		{"boot-inline-commands", bootRequest(dict, "barebox", sdk.Values{"commands": []any{"dhcp", "bootm /mnt/tftp/{KERNEL}"}}, artifacts(false, false, false)), ""},
		{"boot-bootloader", bootRequest(dict, "bootloader", sdk.Values{"bootloader": "barebox", "commands": []any{"version", "devinfo"}}, nil), ""},
		{"boot-minimal", bootRequest(dict, "minimal", shell, nil), ""},
		{"test", sdk.PlanRequest{Action: sdk.Action{Kind: sdk.ActionTest}}, ""},
		{"error-ramdisk-without-dtb", bootRequest(dict, "barebox", with(shell, "commands", "ramdisk"), artifacts(true, false, false)), sdk.ErrorJob},
		{"error-nfs-without-rootfs", bootRequest(dict, "barebox", with(shell, "commands", "nfs"), artifacts(false, true, false)), sdk.ErrorJob},
		{"error-unknown-list", bootRequest(dict, "barebox", with(shell, "commands", "usb"), artifacts(false, true, false)), sdk.ErrorJob},
		{"error-no-commands", bootRequest(dict, "barebox", shell, artifacts(false, true, false)), sdk.ErrorJob},
		{"error-bootloader-u-boot", bootRequest(dict, "bootloader", sdk.Values{"bootloader": "u-boot"}, nil), sdk.ErrorJob},
		{"error-boot-u-boot", bootRequest(dict, "u-boot", with(shell, "commands", "ramdisk"), nil), sdk.ErrorJob},
		{"error-deploy-usb", sdk.PlanRequest{Action: sdk.Action{Kind: sdk.ActionDeploy, Method: "usb"}}, sdk.ErrorJob},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw, resp := goldentest.Plan(t, newDriver(), tc.req)
			if tc.errType == "" && resp.Error != nil || tc.errType != "" && (resp.Error == nil || resp.Error.Type != tc.errType) {
				t.Fatalf("want error type %q, got %s", tc.errType, raw)
			}
			goldentest.Golden(t, tc.name, raw)
		})
	}
}
