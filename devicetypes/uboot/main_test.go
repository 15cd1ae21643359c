package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/lavalab/lavalab/core/goldentest"
	"github.com/lavalab/lavalab/sdk"
	"github.com/lavalab/lavalab/sdk/uboot"
)

func spec(t *testing.T) goldentest.UBootSpec {
	dict, extends := goldentest.DictionaryValues(t, "generic-uboot-01.jinja2")
	if extends != "base-uboot" {
		t.Fatalf("generic-uboot-01 extends %s", extends)
	}
	return goldentest.UBootSpec{
		KernelType: "zimage", KernelFile: "zImage", Dictionary: dict,
		Cmd: "bootz", Addr: uboot.Addresses{Kernel: "0x82000000", Ramdisk: "0x83000000", DTB: "0x88000000", TEE: "0x83000000"},
		Rendered: []string{"generic-uboot-01.rendered-2020.09.yaml", "generic-uboot-01.rendered-2023.01.yaml"},
	}
}

func TestDescribe(t *testing.T) { goldentest.Describe(t, driver(), settings) }

func TestPlans(t *testing.T) {
	s := spec(t)
	goldentest.UBoot(t, driver(), "uboot", s)
	goldentest.Common(t, driver(), "uboot", s)
}

// TestBootloaderMinimal (issue 17): the bootloader method stops U-Boot and
// leaves it at its prompt after the job's commands; minimal powers the
// board and waits for its login and shell, sending nothing to U-Boot.
func TestBootloaderMinimal(t *testing.T) {
	s := spec(t)
	arts := goldentest.Artifacts(s.KernelType, s.KernelFile, true, true, false, false)
	req := func(method string, params sdk.Values) sdk.PlanRequest {
		r := goldentest.BootRequest("uboot", s.Dictionary, "ramdisk", arts)
		r.Action.Method, r.Action.Params = method, params
		return r
	}
	login := map[string]any{"login_prompt": "login:", "username": "root"}
	for _, tc := range []struct {
		name    string
		req     sdk.PlanRequest
		errType string
	}{
		{"boot-bootloader", req("bootloader", sdk.Values{"bootloader": "u-boot", "commands": []any{"setenv serverip {SERVER_IP}", "tftp {KERNEL_ADDR} {KERNEL}", "printenv"}}), ""},
		{"boot-bootloader-prompt-only", req("bootloader", sdk.Values{"bootloader": "u-boot"}), ""},
		{"boot-minimal", req("minimal", sdk.Values{"prompts": []any{"root@debian:~#"}, "auto_login": login}), ""},
		{"boot-minimal-no-reset", req("minimal", sdk.Values{"reset": false, "pre_os_command": true, "prompts": []any{"/ #"}}), ""},
		{"error-bootloader-grub", req("bootloader", sdk.Values{"bootloader": "grub", "commands": []any{"boot"}}), sdk.ErrorJob},
		{"error-bootloader-named-list", req("bootloader", sdk.Values{"bootloader": "u-boot", "commands": "ramdisk"}), sdk.ErrorJob},
		{"error-minimal-login-no-user", req("minimal", sdk.Values{"auto_login": map[string]any{"login_prompt": "login:"}}), sdk.ErrorJob},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw, resp := goldentest.Plan(t, driver(), tc.req)
			if tc.errType == "" && resp.Error != nil || tc.errType != "" && (resp.Error == nil || resp.Error.Type != tc.errType) {
				t.Fatalf("want error type %q, got %s", tc.errType, raw)
			}
			goldentest.Golden(t, tc.name, raw)
		})
	}
}

// TestNBDOracle (issue 17): the nbd list of LAVA 2023.01's own base-uboot,
// rendered for generic-uboot-01 and substituted as LAVA's dispatcher does
// for an nbd deploy (an initrd without a u-boot header: "addr:${initrd_size}";
// {NBDSERVERIP} and {NBDSERVERPORT} of the worker's export), equals the plan.
func TestNBDOracle(t *testing.T) {
	const name = "generic-uboot-01.jinja2"
	doc := goldentest.RenderLAVA(t, name)[name]
	s := spec(t)
	arts := map[string]sdk.Artifact{
		"kernel":  {TFTPPath: goldentest.TFTPDir + "/kernel/zImage", Type: "zimage"},
		"initrd":  {TFTPPath: goldentest.TFTPDir + "/initrd/initrd.cpio.gz"},
		"dtb":     {TFTPPath: goldentest.TFTPDir + "/dtb/board.dtb"},
		"nbdroot": {LocalPath: "/var/lib/lava/dispatcher/tmp/42/nbdroot/rootfs.ext4", URL: "nbd://192.168.0.2:61950"},
	}
	req := goldentest.BootRequest("uboot", s.Dictionary, "nbd", arts)
	_, resp := goldentest.Plan(t, driver(), req)
	if resp.Error != nil {
		t.Fatal(resp.Error)
	}
	a := s.Addr
	want := goldentest.SubstituteLAVA(goldentest.StringsAt(doc, "actions", "boot", "methods", "u-boot", "nbd", "commands"), map[string]string{
		"{SERVER_IP}": goldentest.ServerIP, "{KERNEL}": arts["kernel"].TFTPPath, "{RAMDISK}": arts["initrd"].TFTPPath,
		"{INITRD}": arts["initrd"].TFTPPath, "{DTB}": arts["dtb"].TFTPPath, "{TEE}": "", "{TEE_ADDR}": a.TEE,
		"{KERNEL_ADDR}": a.Kernel, "{RAMDISK_ADDR}": a.Ramdisk, "{DTB_ADDR}": a.DTB,
		"{BOOTX}":       s.Cmd + " " + a.Kernel + " " + a.Ramdisk + ":${initrd_size} " + a.DTB,
		"{NBDSERVERIP}": "192.168.0.2", "{NBDSERVERPORT}": "61950",
	}, true)
	if len(want) == 0 {
		t.Fatal("LAVA renders no nbd list")
	}
	if got := goldentest.Commands(t, resp.Plan); !reflect.DeepEqual(got, want) {
		t.Errorf("nbd commands differ from LAVA's:\ngot\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// TestNBDPlans (issue 17): deploy to nbd serves the kernel, initrd and dtb
// over TFTP and exports the nbdroot over NBD; a job that leaves one out,
// or boots nbd without the export, is refused.
func TestNBDPlans(t *testing.T) {
	s := spec(t)
	deploy := func(params sdk.Values) sdk.PlanRequest {
		return sdk.PlanRequest{Action: sdk.Action{Kind: sdk.ActionDeploy, Method: "nbd", Params: params}, Settings: s.Dictionary}
	}
	url := func(u string) map[string]any { return map[string]any{"url": u} }
	full := sdk.Values{"kernel": url("http://example.com/zImage"), "initrd": url("http://example.com/initrd.cpio.gz"),
		"dtb": url("http://example.com/b.dtb"), "nbdroot": url("http://example.com/rootfs.ext4")}
	for _, tc := range []struct {
		name    string
		req     sdk.PlanRequest
		errType string
	}{
		{"deploy-nbd", deploy(full), ""},
		{"error-nbd-without-nbdroot", deploy(sdk.Values{"kernel": full["kernel"], "initrd": full["initrd"]}), sdk.ErrorJob},
		{"error-nbd-with-ramdisk", deploy(sdk.Values{"kernel": full["kernel"], "initrd": full["initrd"], "nbdroot": full["nbdroot"], "ramdisk": full["initrd"]}), sdk.ErrorJob},
		{"error-boot-nbd-without-export", goldentest.BootRequest("uboot", s.Dictionary, "nbd", goldentest.Artifacts(s.KernelType, s.KernelFile, true, true, false, false)), sdk.ErrorJob},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw, resp := goldentest.Plan(t, driver(), tc.req)
			if tc.errType == "" && resp.Error != nil || tc.errType != "" && (resp.Error == nil || resp.Error.Type != tc.errType) {
				t.Fatalf("want error type %q, got %s", tc.errType, raw)
			}
			goldentest.Golden(t, tc.name, raw)
		})
	}
}
