package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/lavalab/lavalab/sdk"
	"github.com/lavalab/lavalab/sdk/sdktest"
)

// TestKitBoot builds the driver to WASM, loads it as a worker does and
// runs a job on a scripted QEMU console: the console is the QEMU process
// the connect step starts, whose output is the kernel's boot up to a
// login prompt; root logs in; the user command and the test shell are
// recorded, not run.
func TestKitBoot(t *testing.T) {
	d := sdktest.BuildAndLoad(t, ".").AllowTools(t, "qemu-system-aarch64@qemu")
	const dir = "/var/lib/lava/dispatcher/tmp/7/deployimages/"
	job := sdktest.Job{ID: "7", Context: sdk.Values{"arch": "arm64"},
		Dictionary: sdk.Values{"user_commands": map[string]any{"snapshot": map[string]any{"do": "qemu-snapshot save"}}},
		Worker: sdk.WorkerFacts{Artifacts: map[string]sdk.Artifact{
			"kernel": {LocalPath: dir + "kernel/Image", ImageArg: "-kernel {kernel} --append \"console=ttyAMA0 root=/dev/vda rw\"", Type: "image"},
			"rootfs": {LocalPath: dir + "rootfs/rootfs.ext4", ImageArg: "-drive format=raw,file={rootfs}"},
		}}}
	con := &sdktest.Console{
		Connect: "[    0.000000] Booting Linux on physical CPU 0x0000000000 [0x411fd070]\r\n" +
			"[    0.000000] Linux version 6.1.0-13-arm64 (debian-kernel@lists.debian.org) #1 SMP Debian 6.1.55-1\r\n" +
			"[    1.234567] EXT4-fs (vda): mounted filesystem with ordered data mode\r\n\r\nDebian GNU/Linux 12 debian ttyAMA0\r\n\r\ndebian login: ",
		Echo:    true,
		Replies: []sdktest.Reply{sdktest.Line("root", "\r\nroot@debian:~# ")},
	}
	res := d.Run(t, con,
		d.Request(job, sdktest.Deploy("tmpfs", sdk.Values{"images": map[string]any{"rootfs": map[string]any{"url": "http://example.com/rootfs.ext4"}}})),
		d.Request(job, sdktest.Boot("qemu", sdk.Values{"prompts": []any{"root@debian:~#"},
			"auto_login": map[string]any{"login_prompt": "login:", "username": "root"}})),
		d.Request(job, sdktest.Command("snapshot")),
		d.Request(job, sdktest.Test(nil)))

	if got, want := strings.Join(res.Kinds(), " "), "connect expect login wait_shell host test_shell"; got != want {
		t.Errorf("steps: %s\nwant:  %s", got, want)
	}
	if !slices.Equal(res.Received, []string{"root"}) {
		t.Errorf("the board received %q, want only the login\n%s", res.Received, res.Transcript())
	}
	if c := res.Of(sdk.StepConnect); len(c) != 1 || !c[0].Ran {
		t.Errorf("connect steps %+v", c)
	}
	if h := res.Of(sdk.StepHost); len(h) != 1 || h[0].Ran || h[0].Action != "command snapshot" {
		t.Errorf("the user command should be recorded, not run: %+v", h)
	}
}
