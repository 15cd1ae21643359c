package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/lavalab/lavalab/sdk"
	"github.com/lavalab/lavalab/sdk/sdktest"
)

// barebox is a scripted barebox board: power on prints the autoboot
// countdown, a line stops it at the prompt, bootm prints barebox's loading
// and the kernel's start and a login prompt; with fail, bootm fails as
// barebox does when the TFTP server has no such file.
func barebox(fail bool) *sdktest.Console {
	const p = "barebox@Bench Board:/ "
	boot := "\r\nLoading ARM Linux zImage '/mnt/tftp/7/kernel/zImage'\r\nStarting kernel in secure mode\r\n" +
		"[    0.000000] Linux version 6.1.0 (scripted)\r\n\r\nbench login: "
	if fail {
		boot = "\r\nERROR: could not open /mnt/tftp/7/kernel/zImage: No such file or directory\r\n" + p
	}
	return &sdktest.Console{
		Power: map[string]string{sdk.PowerOn: "\r\nbarebox 2023.01.0 #1\r\n\r\nHit any key to stop autoboot:    3"},
		Echo:  true,
		Replies: []sdktest.Reply{
			sdktest.Line(" ", "\r\n"+p),
			sdktest.Prefix("bootm ", boot),
			sdktest.Line("root", "\r\n/ # "),
		},
		Otherwise: "\r\n" + p,
	}
}

func kitJob() sdktest.Job {
	return sdktest.Job{ID: "7", Dictionary: sdk.Values{
		"connection_command": "telnet ser2net-bench 7202", "power_on_command": "pduclient --port 22 --command on",
		"bootloader_prompt": "barebox@Bench Board:/ ", "interrupt_prompt": "Hit any key to stop autoboot",
	}, Worker: sdk.WorkerFacts{ServerIP: "192.0.2.1", Artifacts: map[string]sdk.Artifact{
		"kernel":  {TFTPPath: "7/kernel/zImage"},
		"ramdisk": {TFTPPath: "7/ramdisk/ramdisk.cpio.gz"},
		"dtb":     {TFTPPath: "7/dtb/board.dtb"},
	}}}
}

// TestKitBoot builds the driver to WASM and boots the scripted barebox
// board with the ramdisk list, through to the shell; then a bootm that
// fails ends the boot with barebox's own error.
func TestKitBoot(t *testing.T) {
	d := sdktest.BuildAndLoad(t, ".")
	boot := sdktest.Boot("barebox", sdk.Values{"commands": "ramdisk", "prompts": []any{"/ #"},
		"auto_login": map[string]any{"login_prompt": "login:", "username": "root"}})
	res := d.Run(t, barebox(false), d.Request(kitJob(), boot))
	if got, want := strings.Join(res.Kinds(), " "), "connect power interrupt commands expect login wait_shell"; got != want {
		t.Errorf("steps: %s, want %s", got, want)
	}
	want := []string{" ", "bootm -v -r /mnt/tftp/7/ramdisk/ramdisk.cpio.gz -o /mnt/tftp/7/dtb/board.dtb /mnt/tftp/7/kernel/zImage", "root"}
	if !slices.Equal(res.Received, want) {
		t.Errorf("the board received %q, want %q\n%s", res.Received, want, res.Transcript())
	}

	_, err := d.Exec(t.Context(), barebox(true), d.Request(kitJob(), boot))
	if err == nil || !strings.Contains(err.Error(), "ERROR: could not open /mnt/tftp/7/kernel/zImage: No such file or directory") {
		t.Errorf("a failing bootm: %v, want barebox's own error", err)
	}
}
