package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/lavalab/lavalab/core/goldentest"
	"github.com/lavalab/lavalab/sdk"
)

// TestPlanErrors checks that bad jobs and dictionaries get an error of the
// right type naming what is wrong.
func TestPlanErrors(t *testing.T) {
	base := sdk.Values{"fastboot_serial_number": "abc", "adb_serial_number": "abc", "uuu_usb_otg_path": "2:143"}
	withBoot := sdk.WorkerFacts{Artifacts: map[string]sdk.Artifact{"boot": {LocalPath: "/j/boot/boot.img"}}}
	images := sdk.Values{"images": map[string]any{"boot": map[string]any{"url": "http://x/boot.img"}}}
	cases := []struct {
		name     string
		action   sdk.Action
		settings sdk.Values
		worker   sdk.WorkerFacts
		typ, msg string
	}{
		{"serial unset", sdk.Action{Kind: "deploy", Method: "fastboot", Params: images}, sdk.Values{}, withBoot, sdk.ErrorConfiguration, "fastboot serial number unset"},
		{"no images", sdk.Action{Kind: "deploy", Method: "fastboot", Params: sdk.Values{}}, base, withBoot, sdk.ErrorJob, "needs `images`"},
		{"bad reboot", sdk.Action{Kind: "deploy", Method: "fastboot", Params: sdk.Values{"images": map[string]any{"boot": map[string]any{"url": "u", "reboot": "kick"}}}}, base, withBoot, sdk.ErrorJob, `reboot "kick"`},
		{"image not deployed", sdk.Action{Kind: "deploy", Method: "fastboot", Params: sdk.Values{"images": map[string]any{"system": map[string]any{"url": "u"}}}}, base, withBoot, sdk.ErrorJob, `no image "system"`},
		{"docker without image", sdk.Action{Kind: "deploy", Method: "fastboot", Params: sdk.Values{"images": images["images"], "docker": map[string]any{}}}, base, withBoot, sdk.ErrorJob, "needs an `image`"},
		{"unknown sequence", sdk.Action{Kind: "boot", Method: "fastboot"}, goldentest.Merge(base, map[string]any{"fastboot_sequence": []any{"dance"}, "hard_reset_command": "reset"}), withBoot, sdk.ErrorConfiguration, `unknown boot sequence "dance"`},
		{"boot without boot image", sdk.Action{Kind: "boot", Method: "fastboot"}, goldentest.Merge(base, map[string]any{"fastboot_sequence": []any{"boot"}}), sdk.WorkerFacts{}, sdk.ErrorJob, `no image "boot"`},
		{"unterminated quote", sdk.Action{Kind: "boot", Method: "fastboot", Params: sdk.Values{"commands": []any{"oem 'x"}}}, base, withBoot, sdk.ErrorJob, "unterminated"},
		{"uuu without boot", sdk.Action{Kind: "deploy", Method: "uuu", Params: sdk.Values{"images": map[string]any{"system": map[string]any{"url": "u"}}}}, base, withBoot, sdk.ErrorJob, "a `boot` image is required"},
		{"uuu without commands", sdk.Action{Kind: "boot", Method: "uuu"}, base, withBoot, sdk.ErrorJob, "needs `commands`"},
		{"uuu without otg path", sdk.Action{Kind: "boot", Method: "uuu", Params: sdk.Values{"commands": []any{map[string]any{"uuu": "-b sd {boot}"}}}}, sdk.Values{}, withBoot, sdk.ErrorConfiguration, "uuu_usb_otg_path is not defined"},
		{"uuu bad otg path", sdk.Action{Kind: "boot", Method: "uuu", Params: sdk.Values{"commands": []any{map[string]any{"uuu": "-b sd {boot}"}}}}, sdk.Values{"uuu_usb_otg_path": "usb1"}, withBoot, sdk.ErrorJob, "does not match"},
		{"uuu unknown placeholder", sdk.Action{Kind: "boot", Method: "uuu", Params: sdk.Values{"commands": []any{map[string]any{"uuu": "-b sd {rootfs}"}}}}, base, withBoot, sdk.ErrorJob, "{rootfs}"},
		{"bcu without board", sdk.Action{Kind: "boot", Method: "uuu", Params: sdk.Values{"commands": []any{map[string]any{"bcu": "reset usb"}}}}, base, withBoot, sdk.ErrorConfiguration, "bcu_board_name"},
		{"bcu bad id", sdk.Action{Kind: "boot", Method: "uuu", Params: sdk.Values{"commands": []any{map[string]any{"bcu": "reset usb"}}}}, goldentest.Merge(base, map[string]any{"bcu_board_name": "imx8mqevk", "bcu_board_id": "x"}), withBoot, sdk.ErrorConfiguration, "bcu_board_id"},
		{"recovery bad commands", sdk.Action{Kind: "boot", Method: "recovery", Params: sdk.Values{"commands": "enter"}}, base, withBoot, sdk.ErrorJob, "recovery or exit"},
		{"recovery no dictionary command", sdk.Action{Kind: "boot", Method: "recovery", Params: sdk.Values{"commands": "recovery"}}, base, withBoot, sdk.ErrorConfiguration, "recovery_mode_command"},
		{"postprocess without steps", sdk.Action{Kind: "deploy", Method: "downloads", Params: sdk.Values{"images": images["images"], "postprocess": map[string]any{"docker": map[string]any{"image": "debian"}}}}, base, withBoot, sdk.ErrorJob, "steps missing"},
		{"bad engine", sdk.Action{Kind: "deploy", Method: "fastboot", Params: sdk.Values{"images": images["images"], "docker": map[string]any{"image": "x"}}}, goldentest.Merge(base, map[string]any{"container_engine": "/usr/bin/docker"}), withBoot, sdk.ErrorConfiguration, "container_engine"},
		{"unknown deploy", sdk.Action{Kind: "deploy", Method: "tftp"}, base, withBoot, sdk.ErrorJob, "has no deploy method"},
		{"unknown boot", sdk.Action{Kind: "boot", Method: "u-boot"}, base, withBoot, sdk.ErrorJob, "has no boot method"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			raw, resp := goldentest.Plan(t, newDriver(), sdk.PlanRequest{Action: c.action, Settings: c.settings, Worker: c.worker})
			if resp.Error == nil {
				t.Fatalf("planned, want a %s error: %s", c.typ, raw)
			}
			if resp.Error.Type != c.typ || !strings.Contains(resp.Error.Message, c.msg) {
				t.Fatalf("error %s: %s, want %s containing %q", resp.Error.Type, resp.Error.Message, c.typ, c.msg)
			}
		})
	}
}

func TestSplitArgs(t *testing.T) {
	cases := map[string][]string{
		"--set-active=_a":           {"--set-active=_a"},
		"  oem   unlock ":           {"oem", "unlock"},
		`flash "my part" 'a b'`:     {"flash", "my part", "a b"},
		`oem x\ y`:                  {"oem", "x y"},
		`oem "a\"b"`:                {"oem", `a"b`},
		"":                          nil,
		`getvar 'it''s'`:            {"getvar", "its"},
		"reboot\tbootloader":        {"reboot", "bootloader"},
		`set_active "" b`:           {"set_active", "", "b"},
		`oem 'single \ backslash'`:  {"oem", `single \ backslash`},
		`flash boot /a/b/boot.img`:  {"flash", "boot", "/a/b/boot.img"},
		`"x"y'z'`:                   {"xyz"},
		`format:ext4 userdata`:      {"format:ext4", "userdata"},
		`-w`:                        {"-w"},
		`erase    cache`:            {"erase", "cache"},
		`oem "lock" "" ''`:          {"oem", "lock", "", ""},
		`--slot=all flash vbmeta x`: {"--slot=all", "flash", "vbmeta", "x"},
	}
	for in, want := range cases {
		got, err := splitArgs(in)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("splitArgs(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// TestContainerEngine checks the argument vector with podman as the
// container engine: the same as docker's (the CLIs agree on these options).
func TestContainerEngine(t *testing.T) {
	s := sdk.Values{"fastboot_serial_number": "tcp:127.0.0.1:5554", "container_engine": "podman", "docker_device_nodes": []any{"/dev/bus/usb/001/004"}, "fastboot_options": []any{}, "flash_cmds_order": []any{}}
	raw, resp := goldentest.Plan(t, newDriver(), sdk.PlanRequest{
		Action:   sdk.Action{Kind: "deploy", Method: "fastboot", Params: sdk.Values{"docker": map[string]any{"image": "localhost/android-tools"}, "images": map[string]any{"boot": map[string]any{"url": "u"}}}},
		Settings: goldentest.Merge(s, map[string]any{"hard_reset_command": "reset"}),
		Worker:   sdk.WorkerFacts{Artifacts: map[string]sdk.Artifact{"boot": {LocalPath: "/j/boot/boot.img"}}},
	})
	if resp.Plan == nil {
		t.Fatal(string(raw))
	}
	var got []string
	for _, st := range resp.Plan.Steps {
		got = append(got, describeStep(st))
	}
	want := []string{
		"podman pull localhost/android-tools",
		"console: default", "power reset",
		"podman run --rm --init --device=/dev/bus/usb/001/004 --mount=type=bind,source=/j/boot/boot.img,destination=/j/boot/boot.img localhost/android-tools fastboot -s tcp:127.0.0.1:5554 flash boot /j/boot/boot.img",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}
