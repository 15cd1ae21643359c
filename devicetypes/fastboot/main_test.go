package main

import (
	"encoding/json"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lavalab/lavalab/core/artifacts"
	"github.com/lavalab/lavalab/core/devdict"
	"github.com/lavalab/lavalab/core/goldentest"
	"github.com/lavalab/lavalab/core/job"
	"github.com/lavalab/lavalab/sdk"
)

func TestDescribe(t *testing.T) { goldentest.Describe(t, newDriver(), settings) }

// deviceTypes are the device-type settings an admin gives this driver for
// LAVA's device types: the values their LAVA templates set
// (dragonboard-410c.jinja2, hi6220-hikey.jinja2, x15.jinja2,
// imx8m-common.jinja2 for imx8mq-evk, base-fastboot.jinja2 for nexus10).
var deviceTypes = map[string]map[string]any{
	"dragonboard-410c": {
		"fastboot_sequence": []any{"no-flash-boot"},
		"flash_cmds_order": []any{"update", "ptable", "partition", "hyp", "modem", "rpm", "sbl1", "sbl2", "sec", "tz",
			"aboot", "cdt", "boot", "rootfs", "vendor", "system", "cache", "userdata"},
	},
	"hi6220-hikey": {
		"fastboot_sequence": []any{"boot"},
		"flash_cmds_order":  []any{"ptable", "fastboot", "nvme", "boot", "cache", "system", "userdata"},
	},
	"x15": {
		"fastboot_sequence":              []any{"reboot"},
		"fastboot_deploy_uboot_commands": []any{"fastboot 1"},
		"uboot_extra_error_message":      "Invalid partition",
	},
	"imx8mq-evk": {
		"fastboot_options":               []any{"-i", "0x0525"},
		"fastboot_sequence":              []any{"reboot"},
		"fastboot_deploy_uboot_commands": []any{"fastboot 0"},
		"flash_cmds_order": []any{"bootloader", "bootloader_a", "bootloader_b", "bootloader0", "gpt", "boot", "boot_a", "boot_b",
			"dtbo", "dtbo_a", "dtbo_b", "vbmeta", "vbmeta_a", "vbmeta_b", "system", "system_a", "system_b",
			"vendor", "vendor_a", "vendor_b", "recovery"},
		"boot_character_delay":      5,
		"test_character_delay":      5,
		"uboot_extra_error_message": "Invalid partition",
	},
	"nexus10": {},
}

// jobDir is where the plans say the worker put a job's files.
const jobDir = "/var/lib/lava-worker/jobs/1"

// stagePlan is one planned action of a sample job.
type stagePlan struct {
	Action string     `json:"action"`
	Steps  []sdk.Step `json:"steps"`
}

// planJob plans every deploy and boot action of a sample job for a device,
// as the worker would ask: the settings are the driver's defaults < the
// device type's < the dictionary's, and each image of a deploy is a file of
// the job's folder named as the downloader names it.
func planJob(t *testing.T, jobFile, dict string) []stagePlan {
	t.Helper()
	text, err := os.ReadFile(filepath.Join("testdata", "jobs", jobFile))
	if err != nil {
		t.Fatal(err)
	}
	def, rep := job.Parse(text)
	if !rep.OK() {
		t.Fatalf("%s: %v", jobFile, rep.Err())
	}
	dtext, err := os.ReadFile(filepath.Join("testdata", "devices", dict))
	if err != nil {
		t.Fatal(err)
	}
	d, err := devdict.Parse(dtext)
	if err != nil {
		t.Fatal(err)
	}
	typ, ok := deviceTypes[def.DeviceType]
	if !ok {
		t.Fatalf("no device-type settings for %s", def.DeviceType)
	}
	specs, err := newDriver().Specs()
	if err != nil {
		t.Fatal(err)
	}
	set := sdk.Values(devdict.Merge(map[string]any(sdk.SettingDefaults(specs)), typ, d.Values))
	worker := sdk.WorkerFacts{ServerIP: "192.0.2.1", Artifacts: map[string]sdk.Artifact{}}
	var out []stagePlan
	for i, a := range def.Actions {
		if a.Kind == sdk.ActionDeploy {
			for name, v := range sdk.Values(a.Params).Map("images") {
				m := sdk.Values(v.(map[string]any))
				file := artifacts.FileName(artifacts.Resource{URL: m.String("url", ""), Compression: m.String("compression", "")})
				worker.Artifacts[name] = sdk.Artifact{LocalPath: path.Join(jobDir, name, file)}
			}
		}
		if a.Kind != sdk.ActionDeploy && a.Kind != sdk.ActionBoot {
			continue
		}
		req := sdk.PlanRequest{JobID: "1", Action: sdk.Action{Kind: a.Kind, Method: a.Method, Level: itoa(i + 1), Namespace: a.Namespace, Params: sdk.Values(a.Params)},
			Settings: set, Device: sdk.DeviceFacts{Hostname: strings.TrimSuffix(dict, ".jinja2"), DeviceType: def.DeviceType}, Worker: worker}
		raw, resp := goldentest.Plan(t, newDriver(), req)
		if resp.Error != nil || resp.Plan == nil {
			t.Fatalf("%s: actions[%d] %s %s: %s", jobFile, i, a.Kind, a.Method, raw)
		}
		if err := resp.Plan.Validate(); err != nil {
			t.Fatalf("%s: actions[%d]: %v", jobFile, i, err)
		}
		out = append(out, stagePlan{Action: a.Kind + " " + a.Method, Steps: resp.Plan.Steps})
	}
	return out
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// describeStep is a step as one line: a tool step's argument vector, a
// power operation, a console, U-Boot commands, a prompt wait.
func describeStep(s sdk.Step) string {
	switch s.Kind {
	case sdk.StepTool:
		line := strings.Join(append([]string{s.Tool.Name}, s.Tool.Args...), " ")
		if s.OnFailure != nil && s.OnFailure.Policy == sdk.FailIgnore {
			line += " (failure ignored)"
		}
		return line
	case sdk.StepPower:
		return "power " + s.Power.Op
	case sdk.StepConnect:
		if s.Connect.Tool != nil {
			return "console: " + strings.Join(append([]string{s.Connect.Tool.Name}, s.Connect.Tool.Args...), " ")
		}
		return "console: " + s.Connect.Connection
	case sdk.StepInterrupt:
		return "interrupt u-boot at " + s.Interrupt.Prompt
	case sdk.StepCommands:
		return "u-boot: " + strings.Join(s.Commands.Commands, "; ")
	case sdk.StepShell:
		return "wait for " + strings.Join(s.Shell.Prompts, " | ")
	}
	return s.Kind
}

// TestSampleJobs plans LAVA's sample jobs of the fastboot, uuu, recovery and
// downloads methods for LAVA's test dictionaries, compares every plan with
// its golden file and the host commands with the sequence LAVA 2023.01's
// dispatcher runs for the same job (read from lava_dispatcher's
// actions/deploy/fastboot.py, boot/fastboot.py, boot/uuu.py,
// boot/recovery.py, deploy/downloads.py and utils/docker.py).
func TestSampleJobs(t *testing.T) {
	const (
		imx   = "191c51d6f060954b"
		imxOp = "-i 0x0525"
	)
	f := func(name, file string) string { return jobDir + "/" + name + "/" + file }
	cases := []struct {
		name, job, dict string
		want            [][]string // per planned action
	}{
		{"db410c", "db410c.yaml", "db410c-01.jinja2", [][]string{
			{ // FastbootAction with a hard_reset_command: connect, pre-power, reset; boot is not flashed (no-flash-boot)
				"console: default", "power pre_power", "power reset",
				"fastboot -s c2e02318 flash rootfs " + f("rootfs", "linaro-buster-developer-dragonboard-410c-359.img"),
			},
			{ // BootFastbootAction: connect, reset, no-flash-boot = fastboot boot, pre-os, the prompt
				"console: default", "power reset",
				"fastboot -s c2e02318 boot " + f("boot", "boot-linaro-buster-dragonboard-410c-359.img"),
				"power pre_os", "wait for root@(.*):/#",
			},
		}},
		{"hi6220-hikey", "hi6220-hikey.yaml", "hi6220-hikey-01.jinja2", [][]string{
			{
				"console: default", "power reset",
				"fastboot -s usb:2-1.2 flash ptable " + f("ptable", "ptable-linux-8g.img") + " -S 256M",
				"fastboot -s usb:2-1.2 flash boot " + f("boot", "boot-linaro-jessie-developer-hikey-20160630-47.emmc.img") + " -S 256M",
				"fastboot -s usb:2-1.2 flash system " + f("system", "hikey-jessie_developer_20160630-47.emmc.img") + " -S 256M",
			},
			{
				"console: default", "power reset",
				"fastboot -s usb:2-1.2 boot " + f("boot", "boot-linaro-jessie-developer-hikey-20160630-47.emmc.img") + " -S 256M",
				"wait for root@(.*):/#",
			},
		}},
		{"x15", "x15.yaml", "x15-01.jinja2", [][]string{
			{ // fastboot_via_uboot: UBootEnterFastbootAction (reset, interrupt, fastboot 1)
				"console: default", "power reset", "interrupt u-boot at Hit any key to stop autoboot", "u-boot: fastboot 1",
				"fastboot -s 100040061d1e00e2 flash boot " + f("boot", "boot.img"),
				"fastboot -s 100040061d1e00e2 flash system " + f("system", "system.img"),
				"fastboot -s 100040061d1e00e2 flash cache " + f("cache", "cache.img"),
				"fastboot -s 100040061d1e00e2 flash userdata " + f("userdata", "userdata.img"),
			},
			{
				"console: default", "power reset", "interrupt u-boot at Hit any key to stop autoboot", "u-boot: fastboot 1",
				"fastboot -s 100040061d1e00e2 reboot",
				"wait for root@(.*):/# | shell@am57xevm:/",
			},
		}},
		{"imx8mq-evk", "imx8mq-evk.yaml", "imx8mq-evk-01.jinja2", [][]string{
			{
				"console: default", "power reset", "interrupt u-boot at Hit any key to stop autoboot", "u-boot: fastboot 0",
				"fastboot -s " + imx + " flash bootloader0 " + f("bootloader0", "u-boot-imx8mq.imx") + " " + imxOp,
				"fastboot -s " + imx + " reboot-bootloader " + imxOp,
				"fastboot -s " + imx + " flash boot_a " + f("boot_a", "boot-imx8mq.img") + " " + imxOp,
				"fastboot -s " + imx + " flash vbmeta_a " + f("vbmeta_a", "vbmeta-imx8mq.img") + " " + imxOp,
				"fastboot -s " + imx + " reboot fastboot " + imxOp,
				"fastboot -s " + imx + " flash system_a " + f("system_a", "system.img") + " " + imxOp,
				"fastboot -s " + imx + " flash vendor_a " + f("vendor_a", "vendor.img") + " " + imxOp,
			},
			{ // BootFastbootCommands first, then into fastboot through U-Boot, then the reboot sequence
				"fastboot -s " + imx + " --set-active=_a " + imxOp,
				"console: default", "power reset", "interrupt u-boot at Hit any key to stop autoboot", "u-boot: fastboot 0",
				"fastboot -s " + imx + " reboot " + imxOp,
				"wait for evk_8mq:",
			},
		}},
		{"imx8mq-evk-uuu", "imx8mq-evk-uuu.yaml", "imx8mq-evk-01.jinja2", [][]string{
			{},
			{ // UUUBootRetryAction: reset, serial download check, reset, the commands, connect
				"power reset",
				"uuu -m 2:143 " + f("boot", "imx-boot-imx8mqevk-sd.bin-flash_evk") + " (failure ignored)",
				"power reset",
				"bcu reset usb -board=imx8mqevk -id=2-1.3",
				"uuu -m 2:143 -b sd " + f("boot", "imx-boot-imx8mqevk-sd.bin-flash_evk"),
				"uuu -m 2:143 SDP: boot -f " + f("boot", "imx-boot-imx8mqevk-sd.bin-flash_evk"),
				"uuu -m 2:143 -b emmc_all " + f("boot", "imx-boot-imx8mqevk-sd.bin-flash_evk") + " " + f("system", "imx-image-multimedia-imx8mqevk.wic"),
				"bcu reset emmc -board=imx8mqevk -id=2-1.3",
				"console: default",
				"wait for root@imx8mqevk:~#",
			},
		}},
		{"imx8mq-evk-recovery", "imx8mq-evk-recovery.yaml", "imx8mq-evk-01.jinja2", [][]string{
			{},
			{"power off", "power recovery_mode", "power on"}, // RecoveryBootAction, commands recovery
			{ // the docker option: pull, then fastboot in the image with the USB devices and the image file
				"docker pull linaro/noble-android-tools",
				"console: default", "power reset", "interrupt u-boot at Hit any key to stop autoboot", "u-boot: fastboot 0",
				"docker run --rm --init --device=/dev/bus/usb --mount=type=bind,source=" + f("boot_a", "boot.img") + ",destination=" + f("boot_a", "boot.img") +
					" linaro/noble-android-tools fastboot -s " + imx + " flash boot_a " + f("boot_a", "boot.img") + " " + imxOp,
			},
			{"power off", "power recovery_exit", "power on"},
		}},
		{"nexus-adb-docker", "nexus-adb-docker.yaml", "nexus-01.jinja2", [][]string{
			{ // no power control: EnterFastbootAction (adb reboot-bootloader), in the local image
				"docker image inspect --format=Image linaro/noble-android-tools exists locally linaro/noble-android-tools",
				"docker run --rm --init --device=/dev/bus/usb linaro/noble-android-tools adb -s R32D300FRYP reboot-bootloader (failure ignored)",
				"docker run --rm --init --device=/dev/bus/usb --mount=type=bind,source=" + f("boot", "boot.img") + ",destination=" + f("boot", "boot.img") +
					" linaro/noble-android-tools fastboot -s R32D300FRYP flash boot " + f("boot", "boot.img"),
				"docker run --rm --init --device=/dev/bus/usb --mount=type=bind,source=" + f("userdata", "userdata.img") + ",destination=" + f("userdata", "userdata.img") +
					" linaro/noble-android-tools fastboot -s R32D300FRYP flash userdata " + f("userdata", "userdata.img"),
			},
			{ // reboot sequence, then ConnectAdb: the shell is adb's
				"adb -s R32D300FRYP reboot-bootloader (failure ignored)",
				"fastboot -s R32D300FRYP reboot",
				"console: adb -s R32D300FRYP shell",
				`wait for shell@manta:/ \$`,
			},
			{ // PostprocessWithDocker: the downloads folder at /lava-downloads, the steps as a set -ex script
				"docker pull debian",
				"docker run --rm --init --mount=type=bind,source=" + jobDir + ",destination=/lava-downloads --workdir=/lava-downloads debian sh -c " +
					"exec 2>&1\nset -ex\ncp rootfs/stretch.img rootfs/stretch-modified.img\nls -lhR\n",
			},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			plans := planJob(t, c.job, c.dict)
			if len(plans) != len(c.want) {
				t.Fatalf("%d planned actions, want %d", len(plans), len(c.want))
			}
			for i, p := range plans {
				got := make([]string, 0, len(p.Steps))
				for _, s := range p.Steps {
					got = append(got, describeStep(s))
				}
				if !slices.Equal(got, c.want[i]) {
					t.Errorf("%s: host sequence\n got  %q\n want %q", p.Action, got, c.want[i])
				}
			}
			b, err := json.Marshal(plans)
			if err != nil {
				t.Fatal(err)
			}
			goldentest.Golden(t, "sample-"+c.name, b)
		})
	}
}
