package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/lavalab/lavalab/sdk"
	"github.com/lavalab/lavalab/sdk/sdktest"
)

// chromebook is a scripted depthcharge: a reset prints the netboot start
// and the prompt; tftpboot starts the kernel and a login prompt, or with
// fail, depthcharge's TFTP error and the prompt again.
func chromebook(fail bool) *sdktest.Console {
	boot := "\r\nWaiting for link\r\ndone.\r\nSending DHCP discover... done.\r\nTftp server IP: 192.0.2.1\r\nLoading FIT.\r\n" +
		"Starting kernel ...\r\n[    0.000000] Linux version 6.1.0 (scripted)\r\n\r\nchromebook login: "
	if fail {
		boot = "\r\nWaiting for link\r\ndone.\r\nTftp failed.\r\ndpch: "
	}
	return &sdktest.Console{
		Power: map[string]string{sdk.PowerReset: "\r\nStarting depthcharge on Bench...\r\nStarting netboot on bench...\r\ndpch: "},
		Echo:  true,
		Replies: []sdktest.Reply{
			sdktest.Prefix("tftpboot ", boot),
			sdktest.Line("root", "\r\n/ # "),
		},
		Otherwise: "\r\ndpch: ",
	}
}

// TestKitBoot builds the driver to WASM, plans an arm64 FIT deploy and a
// ramdisk boot, and runs them on the scripted depthcharge: the FIT and
// cmdline file steps are recorded (the worker runs them), the board gets
// the tftpboot of the FIT image; a TFTP failure ends the boot with
// depthcharge's own message.
func TestKitBoot(t *testing.T) {
	d := sdktest.BuildAndLoad(t, ".")
	job := sdktest.Job{ID: "7", Dictionary: sdk.Values{
		"connection_command": "telnet ser2net-bench 7301", "hard_reset_command": "servo-reset --port 9901", "mkimage_fit_arch": "arm64",
	}, Worker: sdk.WorkerFacts{ServerIP: "192.0.2.1", Artifacts: map[string]sdk.Artifact{
		"kernel":  {TFTPPath: "7/kernel/Image"},
		"ramdisk": {TFTPPath: "7/ramdisk/ramdisk.cpio.gz"},
		"dtb":     {TFTPPath: "7/dtb/board.dtb"},
	}}}
	deploy := sdktest.Deploy("tftp", sdk.Values{"kernel": map[string]any{"url": "http://example.com/Image"},
		"ramdisk": map[string]any{"url": "http://example.com/r.cpio.gz"}, "dtb": map[string]any{"url": "http://example.com/b.dtb"}})
	boot := sdktest.Boot("depthcharge", sdk.Values{"commands": "ramdisk", "prompts": []any{"/ #"},
		"auto_login": map[string]any{"login_prompt": "login:", "username": "root"}})
	res := d.Run(t, chromebook(false), d.Request(job, deploy), d.Request(job, boot))
	if got, want := strings.Join(res.Kinds(), " "), "serve fit file connect power expect expect commands expect login wait_shell"; got != want {
		t.Errorf("steps: %s\nwant:  %s", got, want)
	}
	if want := []string{"tftpboot 192.0.2.1 7/kernel/image.itb 7/kernel/cmdline ", "root"}; !slices.Equal(res.Received, want) {
		t.Errorf("the board received %q, want %q\n%s", res.Received, want, res.Transcript())
	}
	if f := res.Of(sdk.StepFile); len(f) != 1 || f[0].File.Text != "console=ttyS0,115200n8 root=/dev/ram0 ip=dhcp" {
		t.Errorf("cmdline file steps %+v", f)
	}

	_, err := d.Exec(t.Context(), chromebook(true), d.Request(job, boot))
	if err == nil || !strings.Contains(err.Error(), "Tftp failed.") {
		t.Errorf("a failing tftpboot: %v, want depthcharge's own error", err)
	}
}
