package main

import (
	"reflect"
	"testing"

	"github.com/lavalab/lavalab/core/goldentest"
	"github.com/lavalab/lavalab/sdk"
)

func TestDescribe(t *testing.T) { goldentest.Describe(t, newDriver(), settings) }

const dl = "/var/lib/lava/dispatcher/tmp/42/deployimages-x1/"

// Dictionaries as LAVA 2023.01's device-type templates render them for a
// board (lava-server's device-types/<type>.jinja2), in this driver's
// settings.
var (
	// frdm-k64f.jinja2: pyocd (pyocd-flashtool, -d debug -t k64f -f 3000000), cmsis-dap.
	frdmK64F = sdk.Values{
		"board_id": "0240000032044e4500257009997b00386781000097969900", "usb_vendor_id": "0d28", "usb_product_id": "0204",
		"pyocd_command": "pyocd-flashtool", "pyocd_options": []any{"-d debug", "-t k64f", "-f 3000000"},
		"usb_mass_device":    "/dev/disk/by-id/usb-MBED_VFS_0240000032044e4500257009997b00386781000097969900-0:0",
		"hard_reset_command": "/usr/bin/pduclient --daemon pdu01 --port 3 --command reboot",
		"jlink_command":      "JLinkExe", "jlink_address": 0, "jlink_options": []any{"-device MK64FN1M0xxx12", "-if SWD", "-speed 4000"},
	}
	// cc3220SF.jinja2: openocd (board/ti_cc3220sf_launchpad.cfg, its -c list, -d2, board_selection_cmd) and gdb.
	cc3220SF = sdk.Values{
		"board_id": "0E2001FB", "usb_vendor_id": "0451", "usb_product_id": "bef3",
		"openocd_config": []any{"board/ti_cc3220sf_launchpad.cfg"},
		"openocd_commands": []any{"gdb_port disabled", "init", "targets", "reset halt", "flash write_image erase {BINARY}",
			"reset halt", "verify_image {BINARY}", "reset run", "shutdown"},
		"openocd_debug":       2,
		"board_selection_cmd": "xds110_serial 0E2001FB",
		"gdb_command":         "gdb-multiarch",
		"gdb_commands": map[string]any{"openocd": map[string]any{
			"arguments": []any{"{ZEPHYR}"},
			"commands":  []any{`target remote | openocd -c "gdb_port pipe" -f {OPENOCD_SCRIPT}`, "monitor reset halt", "load", "set remotetimeout 10000"},
		}},
	}
	// arduino101.jinja2: dfu (dfu-util), 8087:0aba.
	arduino101 = sdk.Values{"board_id": "AE6642EK61804EZ", "usb_vendor_id": "8087", "usb_product_id": "0aba", "dfu_command": "dfu-util"}
	// musca.jinja2: id_serial for the musca deploy.
	musca = sdk.Values{"board_id": "50000ddd6d01", "id_serial": "usb-ARM_V2M_MPS3_50000ddd6d01-0:0"}
	// mps.jinja2: usb_filesystem_label V2M_MPS.
	mps = sdk.Values{"usb_filesystem_label": "V2M_MPS"}
	// examples/devices/mcu-01.jinja2: the virtual board.
	vboard = sdk.Values{"board_id": "vlab-mcu-01", "qemu_machine": "mps2-an385", "qemu_gdb_port": 18130,
		"gdb_commands": map[string]any{"qemu": map[string]any{
			"arguments": []any{"{FIRMWARE}"}, "commands": []any{"target remote 127.0.0.1:18130", "load", "monitor system_reset"}}}}
)

func req(kind, method string, dict, params sdk.Values, arts map[string]sdk.Artifact) sdk.PlanRequest {
	return sdk.PlanRequest{
		JobID:    "42",
		Action:   sdk.Action{Kind: kind, Method: method, Level: "2", Params: params},
		Settings: dict,
		Device:   sdk.DeviceFacts{Hostname: "board01", DeviceType: "mcu"},
		Worker:   sdk.WorkerFacts{Artifacts: arts},
	}
}

func art(name string) sdk.Artifact { return sdk.Artifact{LocalPath: dl + name} }

var zephyr = map[string]sdk.Artifact{"zephyr": art("zephyr/zephyr.bin")}

func TestPlans(t *testing.T) {
	monitors := sdk.Values{"monitors": []any{map[string]any{"name": "tests", "start": "Running TESTSUITE", "end": "PROJECT EXECUTION",
		"pattern": `(?P<result>(PASS|FAIL)) - (?P<test_case_id>\w+)`, "fixupdict": map[string]any{"PASS": "pass", "FAIL": "fail"}}}}
	for _, tc := range []struct {
		name    string
		req     sdk.PlanRequest
		errType string
	}{
		{"deploy-tmpfs", req(sdk.ActionDeploy, "tmpfs", frdmK64F, nil, nil), ""},
		{"boot-qemu-vboard", req(sdk.ActionBoot, "qemu", vboard, nil, map[string]sdk.Artifact{"firmware": {LocalPath: dl + "firmware/firmware.elf", ImageArg: "-kernel {firmware}"}}), ""},
		{"boot-gdb-vboard", req(sdk.ActionBoot, "gdb", vboard, sdk.Values{"commands": "qemu"}, map[string]sdk.Artifact{"firmware": art("firmware/firmware.elf")}), ""},
		{"boot-gdb-cc3220sf", req(sdk.ActionBoot, "gdb", cc3220SF, sdk.Values{"commands": "openocd"}, map[string]sdk.Artifact{
			"zephyr": art("zephyr/zephyr.elf"), "openocd_script": art("openocd_script/cc3220sf.cfg")}), ""},
		{"boot-pyocd-frdm-k64f", req(sdk.ActionBoot, "pyocd", frdmK64F, nil, zephyr), ""},
		{"boot-openocd-cc3220sf", req(sdk.ActionBoot, "openocd", cc3220SF, nil, map[string]sdk.Artifact{"binary": art("binary/kernel.bin")}), ""},
		{"boot-dfu-arduino101", req(sdk.ActionBoot, "dfu", arduino101, nil, map[string]sdk.Artifact{
			"app": {LocalPath: dl + "app/zephyr.bin", ImageArg: "--alt x86_app --download {app}"},
			"ble": {LocalPath: dl + "ble/ble.bin", ImageArg: "--alt ble_core --download {ble}"}}), ""},
		{"boot-cmsis-dap-frdm-k64f", req(sdk.ActionBoot, "cmsis-dap", frdmK64F, nil, zephyr), ""},
		{"boot-musca", req(sdk.ActionBoot, "musca", musca, nil, nil), ""},
		{"deploy-musca", req(sdk.ActionDeploy, "musca", musca, sdk.Values{"images": map[string]any{"test_binary": map[string]any{"url": "http://x/tfm.hex"}}}, map[string]sdk.Artifact{"test_binary": art("test_binary/tfm.hex")}), ""},
		{"deploy-mps", req(sdk.ActionDeploy, "mps", mps, sdk.Values{"images": map[string]any{
			"test_binary_1": map[string]any{"url": "http://x/a.axf", "rename": "SOFTWARE/zephyr.elf"},
			"test_binary_2": map[string]any{"url": "http://x/b.bin"}}}, nil), ""},
		{"test-monitors", req(sdk.ActionTest, "", vboard, monitors, nil), ""},
		{"error-pyocd-no-board-id", req(sdk.ActionBoot, "pyocd", sdk.Values{}, nil, zephyr), sdk.ErrorConfiguration},
		{"error-gdb-unknown-commands", req(sdk.ActionBoot, "gdb", vboard, sdk.Values{"commands": "jtag"}, zephyr), sdk.ErrorJob},
		{"error-gdb-container", req(sdk.ActionBoot, "gdb", vboard, sdk.Values{"commands": "qemu", "container": "ti-openocd"}, zephyr), sdk.ErrorJob},
		{"error-dfu-no-image-arg", req(sdk.ActionBoot, "dfu", arduino101, nil, zephyr), sdk.ErrorJob},
		{"boot-jlink-frdm-k64f", req(sdk.ActionBoot, "jlink", frdmK64F, nil, zephyr), ""},
		{"error-jlink-address", req(sdk.ActionBoot, "jlink", sdk.Values{"board_id": "1", "jlink_address": "flash"}, nil, zephyr), sdk.ErrorConfiguration},
		{"error-qemu-real-board", req(sdk.ActionBoot, "qemu", frdmK64F, nil, zephyr), sdk.ErrorConfiguration},
		{"error-pyocd-command-path", req(sdk.ActionBoot, "pyocd", sdk.Values{"board_id": "1", "pyocd_command": "/usr/bin/pyocd"}, nil, zephyr), sdk.ErrorConfiguration},
		{"error-mps-recovery-image", req(sdk.ActionDeploy, "mps", mps, sdk.Values{"images": map[string]any{"recovery_image": map[string]any{"url": "http://x/r.tar.gz"}}}, nil), sdk.ErrorJob},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw, resp := goldentest.Plan(t, newDriver(), tc.req)
			if tc.errType == "" && resp.Error != nil || tc.errType != "" && (resp.Error == nil || resp.Error.Type != tc.errType) {
				t.Fatalf("want error type %q, got %s", tc.errType, raw)
			}
			if resp.Plan != nil {
				if err := resp.Plan.Validate(); err != nil {
					t.Fatalf("invalid plan: %v", err)
				}
			}
			goldentest.Golden(t, tc.name, raw)
		})
	}
}

// toolLines returns the argument vectors of a plan's tool steps.
func toolLines(t *testing.T, r sdk.PlanRequest) [][]string {
	t.Helper()
	_, resp := goldentest.Plan(t, newDriver(), r)
	if resp.Error != nil {
		t.Fatalf("plan: %v", resp.Error)
	}
	var out [][]string
	for _, s := range resp.Plan.Steps {
		if s.Kind == sdk.StepTool {
			out = append(out, append([]string{s.Tool.Name}, s.Tool.Args...))
		}
	}
	return out
}

// TestLAVACommandLines: the tool command lines are LAVA 2023.01's for the
// same dictionary and job, as lava_dispatcher/actions/boot/<method>.py
// builds them (the expected lines below are worked out from that code, the
// facts noted per case).
func TestLAVACommandLines(t *testing.T) {
	for _, tc := range []struct {
		name string
		req  sdk.PlanRequest
		want [][]string
	}{
		// pyocd.py FlashPyOCDAction.validate: base = [command] + options;
		// "--board" for a command starting with pyocd-flashtool, else
		// "--uid"; then BOARD_ID; per image without image_arg the file; the
		// line is " ".join(...).split(" "), so "-d debug" is two words.
		{"pyocd-flashtool", req(sdk.ActionBoot, "pyocd", frdmK64F, nil, zephyr), [][]string{
			{"pyocd-flashtool", "-d", "debug", "-t", "k64f", "-f", "3000000", "--board", "0240000032044e4500257009997b00386781000097969900", dl + "zephyr/zephyr.bin"}}},
		{"pyocd-uid-image-arg", req(sdk.ActionBoot, "pyocd", sdk.Values{"board_id": "0240", "pyocd_command": "pyocd", "pyocd_options": []any{"flash", "-t k64f"}}, nil,
			map[string]sdk.Artifact{"zephyr": {LocalPath: dl + "z.hex", ImageArg: "--format hex {zephyr}"}}), [][]string{
			{"pyocd", "flash", "-t", "k64f", "--uid", "0240", "--format", "hex", dl + "z.hex"}}},
		// openocd.py FlashOpenOCDAction.validate: [command], -f per
		// options.file (or the job's openocd_script), the board selection,
		// "-d" + debug in one word, -s per search, -c per command; {NAME}
		// substituted with the image named name; LAVA gives the board
		// selection as -f of a file holding board_selection_cmd (a
		// tool file here: {file:board_selection.cfg} is its path).
		{"openocd", req(sdk.ActionBoot, "openocd", cc3220SF, nil, map[string]sdk.Artifact{"binary": art("binary/kernel.bin")}), [][]string{
			{"openocd", "-f", "board/ti_cc3220sf_launchpad.cfg", "-f", "{file:board_selection.cfg}", "-d2",
				"-c", "gdb_port disabled", "-c", "init", "-c", "targets", "-c", "reset halt", "-c", "flash write_image erase " + dl + "binary/kernel.bin",
				"-c", "reset halt", "-c", "verify_image " + dl + "binary/kernel.bin", "-c", "reset run", "-c", "shutdown"}}},
		{"openocd-job-script", req(sdk.ActionBoot, "openocd", cc3220SF, nil, map[string]sdk.Artifact{"openocd_script": art("s/board.cfg")}), [][]string{
			{"openocd", "-f", dl + "s/board.cfg", "-f", "{file:board_selection.cfg}", "-d2",
				"-c", "gdb_port disabled", "-c", "init", "-c", "targets", "-c", "reset halt", "-c", "flash write_image erase {BINARY}",
				"-c", "reset halt", "-c", "verify_image {BINARY}", "-c", "reset run", "-c", "shutdown"}}},
		// dfu.py FlashDFUAction: [command] + options + --serial BOARD_ID
		// --device VID:PID + the image's image_arg, one command per image;
		// run() adds --reset to the last one when reset_works (default).
		{"dfu", req(sdk.ActionBoot, "dfu", arduino101, nil, map[string]sdk.Artifact{
			"app": {LocalPath: dl + "app/zephyr.bin", ImageArg: "--alt x86_app --download {app}"},
			"ble": {LocalPath: dl + "ble/ble.bin", ImageArg: "--alt ble_core --download {ble}"}}), [][]string{
			{"dfu-util", "--serial", "AE6642EK61804EZ", "--device", "8087:0aba", "--alt", "x86_app", "--download", dl + "app/zephyr.bin"},
			{"dfu-util", "--serial", "AE6642EK61804EZ", "--device", "8087:0aba", "--alt", "ble_core", "--download", dl + "ble/ble.bin", "--reset"}}},
		// jlink.py FlashJLinkAction.validate: [command], each option
		// shlex-split, -autoconnect 1, -CommanderScript FILE,
		// -SelectEmuBySN BOARD_ID (FILE: TestJLinkScript).
		{"jlink", req(sdk.ActionBoot, "jlink", frdmK64F, nil, zephyr), [][]string{
			{"JLinkExe", "-device", "MK64FN1M0xxx12", "-if", "SWD", "-speed", "4000", "-autoconnect", "1",
				"-CommanderScript", "{file:cmd.jlink}", "-SelectEmuBySN", "0240000032044e4500257009997b00386781000097969900"}}},
		// gdb.py BootGDBRetry.run: the command, then the set's arguments,
		// {NAME} being the file of the image NAME (upper-cased); then each
		// of its commands. Differences: gdb here runs -q -nx -batch with
		// the commands as -ex, and ends with detach where LAVA types
		// `continue` and keeps gdb running.
		{"gdb", req(sdk.ActionBoot, "gdb", cc3220SF, sdk.Values{"commands": "openocd"}, map[string]sdk.Artifact{
			"zephyr": art("zephyr/zephyr.elf"), "openocd_script": art("openocd_script/cc3220sf.cfg")}), [][]string{
			{"gdb-multiarch", "-q", "-nx", "-batch", dl + "zephyr/zephyr.elf",
				"-ex", `target remote | openocd -c "gdb_port pipe" -f ` + dl + "openocd_script/cc3220sf.cfg",
				"-ex", "monitor reset halt", "-ex", "load", "-ex", "set remotetimeout 10000", "-ex", "detach"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := toolLines(t, tc.req); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("tool lines\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

// TestJLinkScript: the J-Link commands LAVA's FlashJLinkAction writes
// (r, h, erase, sleep 500, loadfile and verifybin at "0x{:x}", r, qc), in
// the jlink plan's tool file; and the openocd board selection file.
func TestJLinkScript(t *testing.T) {
	want := []string{"r", "h", "erase", "sleep 500", "loadfile /x/z.bin 0x8000000", "verifybin /x/z.bin 0x8000000", "r", "qc"}
	if got := JLinkScript("/x/z.bin", 0x08000000); !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	d := sdk.Values{"board_id": "1", "jlink_address": "0x08000000"}
	_, resp := goldentest.Plan(t, newDriver(), req(sdk.ActionBoot, "jlink", d, nil, zephyr))
	if resp.Error != nil {
		t.Fatal(resp.Error)
	}
	last := resp.Plan.Steps[len(resp.Plan.Steps)-1]
	wantFile := "r\nh\nerase\nsleep 500\nloadfile " + dl + "zephyr/zephyr.bin 0x8000000\nverifybin " + dl + "zephyr/zephyr.bin 0x8000000\nr\nqc\n"
	if len(last.ToolFiles) != 1 || last.ToolFiles[0].Name != "cmd.jlink" || last.ToolFiles[0].Text != wantFile {
		t.Errorf("jlink tool files %+v, want cmd.jlink:\n%s", last.ToolFiles, wantFile)
	}
	_, resp = goldentest.Plan(t, newDriver(), req(sdk.ActionBoot, "openocd", cc3220SF, nil, nil))
	if resp.Error != nil {
		t.Fatal(resp.Error)
	}
	last = resp.Plan.Steps[len(resp.Plan.Steps)-1]
	if len(last.ToolFiles) != 1 || last.ToolFiles[0] != (sdk.ToolFile{Name: "board_selection.cfg", Text: "xds110_serial 0E2001FB"}) {
		t.Errorf("openocd tool files %+v", last.ToolFiles)
	}
}
