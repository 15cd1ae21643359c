package main

import (
	"strings"
	"testing"

	"github.com/lavalab/lavalab/sdk"
	"github.com/lavalab/lavalab/sdk/sdktest"
)

// TestKitFastbootViaUBoot builds the driver to WASM, loads it as a worker
// does (the sandbox allowing fastboot for the device type) and runs an x15
// style deploy and boot against a scripted board: U-Boot is interrupted
// and told `fastboot 1`, the flash and reboot tool steps are recorded, and
// after them the board's shell prompt ends the boot.
func TestKitFastbootViaUBoot(t *testing.T) {
	d := sdktest.BuildAndLoad(t, ".").AllowTools(t, "fastboot@fastboot")
	job := sdktest.Job{
		Dictionary: sdk.Values{
			"fastboot_serial_number": "100040061d1e00e2", "adb_serial_number": "100040061d1e00e2",
			"connection_command": "telnet localhost 7020", "hard_reset_command": "pdu reboot 5",
			"fastboot_deploy_uboot_commands": []any{"fastboot 1"}, "fastboot_sequence": []any{"reboot"},
		},
		Worker: sdk.WorkerFacts{Artifacts: map[string]sdk.Artifact{"boot": {LocalPath: "/w/jobs/1/boot/boot.img"}}},
	}
	con := &sdktest.Console{
		Power:   map[string]string{sdk.PowerReset: "U-Boot 2019.01\nHit any key to stop autoboot:  2 "},
		Replies: []sdktest.Reply{sdktest.Line("fastboot 1", "USB download: fastboot\n"), sdktest.Line("", "=> ")},
		Echo:    true,
	}
	deploy := d.Request(job, sdktest.Deploy("fastboot", sdk.Values{"images": map[string]any{"boot": map[string]any{"url": "http://x/boot.img"}}}))
	res := d.Run(t, con, deploy)
	if got, want := strings.Join(res.Kinds(), " "), "connect power interrupt commands tool"; got != want {
		t.Fatalf("deploy steps: %s\nwant:  %s", got, want)
	}
	if !strings.Contains(strings.Join(res.Received, "|"), "fastboot 1") {
		t.Errorf("U-Boot received %q, want fastboot 1", res.Received)
	}

	con2 := &sdktest.Console{
		Power:   map[string]string{sdk.PowerReset: "U-Boot 2019.01\nHit any key to stop autoboot:  2 "},
		Replies: []sdktest.Reply{sdktest.Line("fastboot 1", "USB download: fastboot\nshell@am57xevm:/ $ "), sdktest.Line("", "=> ")},
		Echo:    true,
	}
	boot := d.Request(job, sdktest.Boot("fastboot", sdk.Values{"prompts": []any{"shell@am57xevm:/"}}))
	res = d.Run(t, con2, boot)
	if got, want := strings.Join(res.Kinds(), " "), "connect power interrupt commands tool wait_shell"; got != want {
		t.Fatalf("boot steps: %s\nwant:  %s", got, want)
	}
}
