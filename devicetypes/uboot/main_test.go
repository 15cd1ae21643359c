package main

import (
	"testing"

	"github.com/lavalab/lavalab/devicetypes/internal/goldentest"
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
