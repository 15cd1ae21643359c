package goldentest

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/lavalab/lavalab/sdk"
	"github.com/lavalab/lavalab/sdk/uboot"
)

// Worker facts every plan test uses.
const (
	ServerIP  = "192.168.0.2"
	TFTPDir   = "42/tftp-deploy-x1"
	NFSRootFS = "/var/lib/lava/dispatcher/tmp/42/extract-nfsrootfs-x2"
)

// UBootSpec describes a U-Boot board's golden and LAVA comparisons.
type UBootSpec struct {
	// KernelType and KernelFile are the deployed kernel (image + Image, zimage + zImage).
	KernelType, KernelFile string
	// Dictionary is the device dictionary's values (the host merges them over the defaults).
	Dictionary sdk.Values
	// Cmd and Addr are the boot command and addresses LAVA would use.
	Cmd  string
	Addr uboot.Addresses
	// Rendered are corpus/rendered files whose lists, after LAVA's
	// substitution, must equal the plan's commands.
	Rendered []string
	// RenderedNoTEE skips the comparison of tee cases (LAVA's template loads no tee).
	RenderedNoTEE bool
	// Prefix names the golden files ("" for the default dictionary).
	Prefix string
}

// Artifacts returns the worker's deployed files for a case.
func Artifacts(kernelType, kernelFile string, ramdisk, dtb, tee, nfs bool) map[string]sdk.Artifact {
	a := map[string]sdk.Artifact{"kernel": {TFTPPath: TFTPDir + "/kernel/" + kernelFile, Type: kernelType}}
	if ramdisk {
		a["ramdisk"] = sdk.Artifact{TFTPPath: TFTPDir + "/ramdisk/ramdisk.cpio.gz.uboot", UBootHeader: true}
	}
	if dtb {
		a["dtb"] = sdk.Artifact{TFTPPath: TFTPDir + "/dtb/board.dtb"}
	}
	if tee {
		a["tee"] = sdk.Artifact{TFTPPath: TFTPDir + "/tee/uTee"}
	}
	if nfs {
		a["nfsrootfs"] = sdk.Artifact{LocalPath: NFSRootFS}
	}
	return a
}

// BootRequest is a u-boot boot action with the job's prompts and auto_login.
func BootRequest(deviceType string, dict sdk.Values, list string, artifacts map[string]sdk.Artifact) sdk.PlanRequest {
	return sdk.PlanRequest{
		JobID: "42",
		Action: sdk.Action{Kind: sdk.ActionBoot, Method: "u-boot", Level: "2", Params: sdk.Values{
			"commands":   list,
			"prompts":    []any{"root@debian:~#", "/ #"},
			"auto_login": map[string]any{"login_prompt": "login:", "username": "root"},
		}},
		Settings: clone(dict),
		Device:   sdk.DeviceFacts{Hostname: deviceType + "-01", DeviceType: deviceType},
		Worker:   sdk.WorkerFacts{ServerIP: ServerIP, Artifacts: artifacts},
	}
}

func clone(v sdk.Values) sdk.Values {
	b, _ := json.Marshal(v)
	var out sdk.Values
	_ = json.Unmarshal(b, &out)
	return out
}

// LAVASubstitutions are the placeholder values LAVA's dispatcher uses for a
// case, written out from its rules (not from sdk/uboot).
func LAVASubstitutions(spec UBootSpec, artifacts map[string]sdk.Artifact) map[string]string {
	a := spec.Addr
	first, rd := a.Kernel, a.Ramdisk
	if _, ok := artifacts["tee"]; ok {
		first = a.TEE
	}
	if _, ok := artifacts["ramdisk"]; !ok {
		rd = "-"
	}
	subs := map[string]string{
		"{SERVER_IP}": ServerIP, "{KERNEL}": artifacts["kernel"].TFTPPath, "{RAMDISK}": artifacts["ramdisk"].TFTPPath,
		"{DTB}": artifacts["dtb"].TFTPPath, "{TEE}": artifacts["tee"].TFTPPath,
		"{KERNEL_ADDR}": a.Kernel, "{RAMDISK_ADDR}": rd, "{DTB_ADDR}": a.DTB, "{TEE_ADDR}": a.TEE,
		"{BOOTX}": spec.Cmd + " " + first + " " + rd + " " + a.DTB,
	}
	if _, ok := artifacts["nfsrootfs"]; ok {
		subs["{NFSROOTFS}"], subs["{NFS_SERVER_IP}"] = NFSRootFS, ServerIP
	}
	return subs
}

// lavaSubstitute is LAVA's substitute(drop=True), written out independently
// of sdk/uboot: a line holding a key with an empty value is dropped.
func lavaSubstitute(cmds []string, subs map[string]string) []string {
	var out []string
	for _, line := range cmds {
		keep := true
		for k, v := range subs {
			if v == "" && strings.Contains(line, k) {
				keep = false
			}
		}
		if !keep {
			continue
		}
		for k, v := range subs {
			if v != "" {
				line = strings.ReplaceAll(line, k, v)
			}
		}
		out = append(out, line)
	}
	return out
}

// UBoot runs a U-Boot board's plan matrix: ramdisk and nfs, with and
// without dtb and tee. Each answer is compared with its golden file, and the
// commands with LAVA's rendered lists after LAVA's substitution.
func UBoot(t *testing.T, d sdk.Driver, deviceType string, spec UBootSpec) {
	for _, list := range []string{uboot.ListRamdisk, uboot.ListNFS} {
		for _, dtb := range []bool{true, false} {
			for _, tee := range []bool{false, true} {
				name := spec.Prefix + "boot-" + list + map[bool]string{true: "-dtb", false: "-nodtb"}[dtb] + map[bool]string{true: "-tee", false: ""}[tee]
				t.Run(name, func(t *testing.T) {
					arts := Artifacts(spec.KernelType, spec.KernelFile, list == uboot.ListRamdisk, dtb, tee, list == uboot.ListNFS)
					raw, resp := Plan(t, d, BootRequest(deviceType, spec.Dictionary, list, arts))
					if resp.Error != nil {
						t.Fatalf("plan: %s", raw)
					}
					Golden(t, name, raw)
					got := Commands(t, resp.Plan)
					if !strings.HasPrefix(got[len(got)-1], spec.Cmd+" ") {
						t.Fatalf("last command %q is not a %s", got[len(got)-1], spec.Cmd)
					}
					if tee && spec.RenderedNoTEE {
						return
					}
					for _, f := range spec.Rendered {
						want := lavaSubstitute(Rendered(t, f, list), LAVASubstitutions(spec, arts))
						if !reflect.DeepEqual(got, want) {
							t.Errorf("commands differ from LAVA's %s %s list:\ngot\n  %s\nwant\n  %s", f, list,
								strings.Join(got, "\n  "), strings.Join(want, "\n  "))
						}
					}
				})
			}
		}
	}
}

// Common checks the plans every U-Boot board shares: deploys, test, command
// and the errors a job can cause.
func Common(t *testing.T, d sdk.Driver, deviceType string, spec UBootSpec) {
	with := func(f func(r *sdk.PlanRequest)) sdk.PlanRequest {
		r := BootRequest(deviceType, spec.Dictionary, uboot.ListRamdisk, Artifacts(spec.KernelType, spec.KernelFile, true, true, false, false))
		f(&r)
		return r
	}
	for _, tc := range []struct {
		name    string
		req     sdk.PlanRequest
		errType string
	}{
		{"deploy-tftp", with(func(r *sdk.PlanRequest) {
			r.Action = sdk.Action{Kind: sdk.ActionDeploy, Method: "tftp", Level: "1", Params: sdk.Values{
				"kernel":  map[string]any{"url": "http://example.com/Image", "type": spec.KernelType},
				"ramdisk": map[string]any{"url": "http://example.com/r.cpio.gz"}, "dtb": map[string]any{"url": "http://example.com/b.dtb"},
			}}
		}), ""},
		{"deploy-nfs", with(func(r *sdk.PlanRequest) {
			r.Action = sdk.Action{Kind: sdk.ActionDeploy, Method: "nfs", Level: "1", Params: sdk.Values{"nfsrootfs": map[string]any{"url": "http://example.com/rootfs.tar.xz"}}}
		}), ""},
		{"test", with(func(r *sdk.PlanRequest) { r.Action = sdk.Action{Kind: sdk.ActionTest, Level: "3"} }), ""},
		{"boot-inline-commands", with(func(r *sdk.PlanRequest) {
			r.Action.Params["commands"] = []any{"setenv serverip {SERVER_IP}", "tftp {KERNEL_ADDR} {KERNEL}", "tftp {TEE_ADDR} {TEE}", "{BOOTX}"}
			delete(r.Action.Params, "auto_login")
		}), ""},
		{"boot-no-prompts", with(func(r *sdk.PlanRequest) { r.Action.Params = sdk.Values{"commands": "ramdisk"} }), ""},
		// Issue 21: boot method bootloader stops at the U-Boot prompt.
		{"boot-bootloader-version", with(func(r *sdk.PlanRequest) {
			r.Action.Method = "bootloader"
			r.Action.Params = sdk.Values{"bootloader": "u-boot", "commands": []any{"version"}}
		}), ""},
		{"error-bootloader-grub", with(func(r *sdk.PlanRequest) {
			r.Action.Method = "bootloader"
			r.Action.Params = sdk.Values{"bootloader": "grub"}
		}), sdk.ErrorJob},
		{"error-deploy-usb", with(func(r *sdk.PlanRequest) { r.Action = sdk.Action{Kind: sdk.ActionDeploy, Method: "usb"} }), sdk.ErrorJob},
		{"error-boot-grub", with(func(r *sdk.PlanRequest) { r.Action.Method = "grub" }), sdk.ErrorJob},
		{"error-no-commands", with(func(r *sdk.PlanRequest) { delete(r.Action.Params, "commands") }), sdk.ErrorJob},
		{"error-nfs-without-rootfs", with(func(r *sdk.PlanRequest) { r.Action.Params["commands"] = "nfs" }), sdk.ErrorJob},
		{"error-kernel-without-type", with(func(r *sdk.PlanRequest) {
			k := r.Worker.Artifacts["kernel"]
			k.Type = ""
			r.Worker.Artifacts["kernel"] = k
		}), sdk.ErrorJob},
		{"error-uimage-without-bootm", with(func(r *sdk.PlanRequest) {
			r.Settings["bootm_kernel_addr"] = ""
			k := r.Worker.Artifacts["kernel"]
			k.Type = "uimage"
			r.Worker.Artifacts["kernel"] = k
		}), sdk.ErrorConfiguration},
		{"error-unknown-user-command", with(func(r *sdk.PlanRequest) { r.Action = sdk.Action{Kind: sdk.ActionCommand, Method: "nope"} }), sdk.ErrorJob},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw, resp := Plan(t, d, tc.req)
			if tc.errType == "" && resp.Error != nil || tc.errType != "" && (resp.Error == nil || resp.Error.Type != tc.errType) {
				t.Fatalf("want error type %q, got %s", tc.errType, raw)
			}
			Golden(t, spec.Prefix+tc.name, raw)
		})
	}
}
