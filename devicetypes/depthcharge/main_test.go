package main

import (
	"path"
	"reflect"
	"strings"
	"testing"

	"github.com/lavalab/lavalab/core/goldentest"
	"github.com/lavalab/lavalab/sdk"
)

func TestDescribe(t *testing.T) { goldentest.Describe(t, newDriver(), settings) }

// artifacts are the deployed files of a case (fit: the worker made the
// FIT image in the deploy).
func artifacts(ramdisk, dtb, nfs, fit bool) map[string]sdk.Artifact {
	a := map[string]sdk.Artifact{"kernel": {TFTPPath: goldentest.TFTPDir + "/kernel/Image"}}
	if ramdisk {
		a["ramdisk"] = sdk.Artifact{TFTPPath: goldentest.TFTPDir + "/ramdisk/ramdisk.cpio.gz"}
	}
	if dtb {
		a["dtb"] = sdk.Artifact{TFTPPath: goldentest.TFTPDir + "/dtb/board.dtb"}
	}
	if nfs {
		a["nfsrootfs"] = sdk.Artifact{LocalPath: goldentest.NFSRootFS}
	}
	if fit {
		a["fit"] = sdk.Artifact{TFTPPath: goldentest.TFTPDir + "/kernel/image.itb"}
	}
	return a
}

func bootRequest(dict sdk.Values, method string, params sdk.Values, arts map[string]sdk.Artifact) sdk.PlanRequest {
	r := goldentest.BootRequest("depthcharge", dict, "", arts)
	r.Action.Method, r.Action.Params = method, params
	return r
}

func with(p sdk.Values, kv ...any) sdk.Values {
	out := sdk.Values{"prompts": []any{"/ #"}, "auto_login": map[string]any{"login_prompt": "login:", "username": "root"}}
	for k, v := range p {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

func stepOf(p *sdk.Plan, name string) *sdk.Step {
	for i := range p.Steps {
		if p.Steps[i].Name == name {
			return &p.Steps[i]
		}
	}
	return nil
}

// TestLAVAOracle renders the depthcharge dictionaries with LAVA 2023.01's
// own base-depthcharge template and compares, for each of its lists: the
// commands after LAVA's two substitutions (BootloaderCommandOverlay, then
// DepthchargeCommandOverlay's {CMDLINE}, {DEPTHCHARGE_KERNEL},
// {DEPTHCHARGE_RAMDISK}, written out in the test), the cmdline file's text
// (the list's cmdline with the NFS root and the job's extra_kernel_args),
// the start message, prompt, final and error messages, and the deploy's
// FIT step (mkimage_arch, load_address) with the rendered parameters.
func TestLAVAOracle(t *testing.T) {
	names := []string{"bench-depthcharge-01.jinja2", "bench-depthcharge-02.jinja2"}
	rendered := goldentest.RenderLAVA(t, names...)
	for _, name := range names {
		doc := rendered[name]
		dict, extends := goldentest.DictionaryValues(t, name)
		if extends != "base-depthcharge" {
			t.Fatalf("%s extends %s", name, extends)
		}
		method := goldentest.At(doc, "actions", "boot", "methods", "depthcharge")
		consts := goldentest.At(doc, "constants", "depthcharge")
		lavaArch, _ := goldentest.At(doc, "actions", "deploy", "parameters", "mkimage_arch").(string)
		fit := lavaArch != ""
		short := strings.TrimSuffix(name, ".jinja2")

		t.Run(short+"/deploy", func(t *testing.T) {
			req := sdk.PlanRequest{Action: sdk.Action{Kind: sdk.ActionDeploy, Method: "tftp", Params: sdk.Values{
				"kernel": map[string]any{"url": "http://example.com/Image"}, "ramdisk": map[string]any{"url": "http://example.com/r.cpio.gz"},
				"dtb": map[string]any{"url": "http://example.com/b.dtb"}}}, Settings: dict}
			_, resp := goldentest.Plan(t, newDriver(), req)
			if resp.Error != nil {
				t.Fatal(resp.Error)
			}
			f := stepOf(resp.Plan, "prepare-fit")
			if (f != nil) != fit {
				t.Fatalf("FIT step %v, LAVA builds a FIT image: %v", f != nil, fit)
			}
			if f == nil {
				return
			}
			wantComp := "none"
			if lavaArch == "arm64" {
				wantComp = "lzma"
			}
			if f.FIT.Arch != lavaArch || f.FIT.LoadAddr != goldentest.At(doc, "parameters", "load_address") || f.FIT.Compression != wantComp {
				t.Errorf("FIT step %+v, LAVA: arch %s, load_address %v, compression %s", *f.FIT, lavaArch, goldentest.At(doc, "parameters", "load_address"), wantComp)
			}
		})
		for _, list := range []string{"nfs", "ramdisk", "emmc"} {
			for _, extra := range []string{"", "loglevel=8"} {
				t.Run(short+"/"+list+map[bool]string{true: "-extra", false: ""}[extra != ""], func(t *testing.T) {
					arts := artifacts(list == "ramdisk", true, list == "nfs", fit)
					params := with(nil, "commands", list)
					if extra != "" {
						params["extra_kernel_args"] = extra
					}
					_, resp := goldentest.Plan(t, newDriver(), bootRequest(dict, "depthcharge", params, arts))
					if resp.Error != nil {
						t.Fatalf("plan: %v", resp.Error)
					}
					// LAVA's first substitution (BootloaderCommandOverlay).
					first := map[string]string{"{SERVER_IP}": goldentest.ServerIP, "{KERNEL}": arts["kernel"].TFTPPath,
						"{RAMDISK}": arts["ramdisk"].TFTPPath, "{INITRD}": arts["ramdisk"].TFTPPath, "{DTB}": arts["dtb"].TFTPPath}
					cmdSubs := map[string]string{}
					if list == "nfs" {
						first["{NFSROOTFS}"], first["{NFS_SERVER_IP}"] = goldentest.NFSRootFS, goldentest.ServerIP
						cmdSubs["{NFSROOTFS}"], cmdSubs["{NFS_SERVER_IP}"] = goldentest.NFSRootFS, goldentest.ServerIP
					}
					cmds := goldentest.SubstituteLAVA(goldentest.StringsAt(method, list, "commands"), first, true)
					// DepthchargeCommandOverlay.
					kernel, ramdisk := arts["kernel"].TFTPPath, arts["ramdisk"].TFTPPath
					if fit {
						kernel, ramdisk = path.Join(path.Dir(arts["kernel"].TFTPPath), "image.itb"), ""
					}
					want := goldentest.SubstituteLAVA(cmds, map[string]string{
						"{CMDLINE}":             path.Join(path.Dir(arts["kernel"].TFTPPath), "cmdline"),
						"{DEPTHCHARGE_KERNEL}":  kernel,
						"{DEPTHCHARGE_RAMDISK}": ramdisk,
					}, false)
					if got := goldentest.Commands(t, resp.Plan); !reflect.DeepEqual(got, want) {
						t.Errorf("commands differ from LAVA's:\ngot\n  %q\nwant\n  %q", got, want)
					}
					line, _ := goldentest.At(method, list, "cmdline").(string)
					line = goldentest.SubstituteLAVA([]string{line}, cmdSubs, true)[0]
					if extra != "" {
						line += " " + extra
					}
					f := stepOf(resp.Plan, "depthcharge-overlay")
					if f == nil || f.File == nil {
						t.Fatal("no cmdline file step")
					}
					if f.File.Text != line || f.File.Name != "cmdline" || f.File.Beside != "kernel" {
						t.Errorf("cmdline file %s beside %s: %q, LAVA writes %q", f.File.Name, f.File.Beside, f.File.Text, line)
					}
					start := stepOf(resp.Plan, "depthcharge-start")
					prompt := stepOf(resp.Plan, "bootloader-prompt")
					cs := stepOf(resp.Plan, "bootloader-commands")
					if start == nil || prompt == nil || cs == nil {
						t.Fatal("missing a step")
					}
					errs := strings.Join(goldentest.StringsAt(consts, "error-messages"), "|")
					for what, pair := range map[string][2]any{
						"start message":   {start.Expect.Patterns[0].Regex, goldentest.At(method, "parameters", "start_message")},
						"prompt":          {prompt.Expect.Patterns[0].Regex, goldentest.At(method, "parameters", "bootloader_prompt")},
						"commands prompt": {cs.Commands.Prompt, goldentest.At(method, "parameters", "bootloader_prompt")},
						"final message":   {strings.Join(cs.Commands.Final, ""), goldentest.At(consts, "final-message")},
						"errors":          {strings.Join(cs.Commands.Errors, "|"), errs},
					} {
						if pair[0] != pair[1] {
							t.Errorf("%s: plan %q, LAVA %q", what, pair[0], pair[1])
						}
					}
				})
			}
		}
	}
}

func TestPlans(t *testing.T) {
	arm, _ := goldentest.DictionaryValues(t, "bench-depthcharge-01.jinja2")
	x86, _ := goldentest.DictionaryValues(t, "bench-depthcharge-02.jinja2")
	deploy := sdk.Action{Kind: sdk.ActionDeploy, Method: "tftp", Params: sdk.Values{
		"kernel": map[string]any{"url": "http://example.com/Image"}, "ramdisk": map[string]any{"url": "http://example.com/r.cpio.gz"},
		"dtb": map[string]any{"url": "http://example.com/b.dtb"}}}
	for _, tc := range []struct {
		name    string
		req     sdk.PlanRequest
		errType string
	}{
		{"deploy-tftp-fit", sdk.PlanRequest{Action: deploy, Settings: arm}, ""},
		{"deploy-tftp", sdk.PlanRequest{Action: deploy, Settings: x86}, ""},
		{"boot-ramdisk-fit", bootRequest(arm, "depthcharge", with(nil, "commands", "ramdisk"), artifacts(true, true, false, true)), ""},
		{"boot-nfs-fit", bootRequest(arm, "depthcharge", with(nil, "commands", "nfs"), artifacts(false, true, true, true)), ""},
		{"boot-ramdisk", bootRequest(x86, "depthcharge", with(nil, "commands", "ramdisk"), artifacts(true, false, false, false)), ""},
		{"boot-minimal", bootRequest(x86, "minimal", with(nil), nil), ""},
		{"error-no-kernel", bootRequest(x86, "depthcharge", with(nil, "commands", "ramdisk"), map[string]sdk.Artifact{}), sdk.ErrorJob},
		{"error-nfs-without-rootfs", bootRequest(x86, "depthcharge", with(nil, "commands", "nfs"), artifacts(true, false, false, false)), sdk.ErrorJob},
		{"error-unknown-list", bootRequest(x86, "depthcharge", with(nil, "commands", "usb"), artifacts(true, false, false, false)), sdk.ErrorJob},
		{"error-inline-list", bootRequest(x86, "depthcharge", with(nil, "commands", []any{"tftpboot"}), artifacts(true, false, false, false)), sdk.ErrorJob},
		{"error-boot-u-boot", bootRequest(x86, "u-boot", with(nil, "commands", "ramdisk"), nil), sdk.ErrorJob},
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
