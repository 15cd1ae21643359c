package main

import (
	"strings"
	"testing"

	"github.com/lavalab/lavalab/sdk"
	"github.com/lavalab/lavalab/sdk/sdktest"
)

// TestKitBoot builds the driver to WASM, loads it as a worker does and
// runs a job of the virtual board on a scripted console (the QEMU process
// the connect step starts, printing the firmware's output): deploy, gdb
// boot (gdb-multiarch recorded, not run), monitors (recorded, not run).
func TestKitBoot(t *testing.T) {
	d := sdktest.BuildAndLoad(t, ".").AllowTools(t, "qemu-system-arm@mcu", "gdb-multiarch@mcu")
	job := sdktest.Job{ID: "7", Dictionary: vboard, Worker: sdk.WorkerFacts{Artifacts: map[string]sdk.Artifact{
		"firmware": {LocalPath: "/var/lib/lava/dispatcher/tmp/7/deployimages/firmware/firmware.elf"}}}}
	con := &sdktest.Console{Connect: "*** Booting lavalab virtual Cortex-M firmware ***\r\nRunning test suite kernel\r\n"}
	monitors := sdk.Values{"monitors": []any{map[string]any{"name": "kernel", "start": "Running test suite kernel", "end": "PROJECT EXECUTION",
		"pattern": `(?P<result>(PASS|FAIL)) - (?P<test_case_id>\w+)`}}}
	res := d.Run(t, con,
		d.Request(job, sdktest.Deploy("tmpfs", sdk.Values{"images": map[string]any{"firmware": map[string]any{"url": "http://example.com/firmware.elf"}}})),
		d.Request(job, sdktest.Boot("gdb", sdk.Values{"commands": "qemu"})),
		d.Request(job, sdktest.Test(monitors)))
	if got, want := strings.Join(res.Kinds(), " "), "connect tool monitor"; got != want {
		t.Errorf("steps: %s\nwant:  %s\n%s", got, want, res.Transcript())
	}
	if len(res.Received) != 0 {
		t.Errorf("the board received %q: nothing is typed on a microcontroller's UART", res.Received)
	}
}
