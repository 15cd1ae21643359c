// Package pcboottest holds what the PC boards' tests share: scripted iPXE
// and GRUB consoles for the sdktest kit, the job around a boot, and the
// checks of a kit boot. It is imported by tests only.
package pcboottest

import (
	"slices"
	"strings"
	"testing"

	"github.com/lavalab/lavalab/sdk"
	"github.com/lavalab/lavalab/sdk/sdktest"
)

// What the firmware prints: SeaBIOS and iPXE's banner up to its autoboot
// prompt, GRUB's menu, and a kernel booting to the vlab initramfs shell.
const (
	IPXEBanner = "\r\nSeaBIOS (version 1.16.2-debian-1.16.2-1)\r\n\r\niPXE 1.0.0+git-20190125.36a4c85-5.1 -- Open Source Network Boot Firmware\r\n" +
		"Press Ctrl-B for the iPXE command line..."
	GrubMenu = "\r\n\x1b[2;24HGNU GRUB  version 2.06\r\n      Press enter to boot the selected OS, `e' to edit the commands\r\n" +
		"      before booting or `c' for a command-line.\r\n   The highlighted entry will be executed automatically in 5s." +
		"\x1b[22;1H   The highlighted entry will be executed automatically in 4s."
	KernelBoot = "\r\n[    0.000000] Linux version 6.1.0-57-amd64 (debian-kernel@lists.debian.org)\r\nvlab initramfs ready: 6.1.0-57-amd64\r\nvlab:/# "
	// ShellPrompt is the initramfs shell's prompt (a regular expression).
	ShellPrompt = `vlab:[^\n]*# `
)

// IPXE is a scripted iPXE PC: a reset prints the banner; Ctrl-B (with the
// newline the boards send) gives the iPXE> prompt; dhcp, kernel and initrd
// answer as iPXE does; boot starts the kernel. replies come first, so a
// test can make a command fail.
func IPXE(replies ...sdktest.Reply) *sdktest.Console {
	p := "\r\niPXE> "
	base := []sdktest.Reply{
		sdktest.Line("\x02", "\x08 \x08iPXE> "+p),
		sdktest.Prefix("dhcp ", "\r\nConfiguring (net0 52:54:00:12:34:56)...... ok"+p),
		sdktest.Prefix("kernel tftp://", "... ok"+p),
		sdktest.Prefix("initrd tftp://", "... ok"+p),
		sdktest.Line("boot", KernelBoot),
	}
	return &sdktest.Console{Power: map[string]string{sdk.PowerReset: IPXEBanner, sdk.PowerOn: IPXEBanner}, Echo: true,
		Replies: append(replies, base...), Otherwise: p}
}

// Grub is a scripted GRUB PC: a reset prints the menu; `c` (a line when
// efi, as grub-efi sends a newline after it; a key otherwise) gives the
// grub> prompt; linux and initrd answer; boot starts the kernel.
func Grub(efi bool, replies ...sdktest.Reply) *sdktest.Console {
	p := "\r\ngrub> "
	intr := sdktest.Keys("c", p)
	if efi {
		intr = sdktest.Line("c", p+p)
	}
	base := []sdktest.Reply{intr,
		sdktest.Prefix("linux (tftp,", p),
		sdktest.Prefix("initrd (tftp,", p),
		sdktest.Line("boot", KernelBoot),
	}
	return &sdktest.Console{Power: map[string]string{sdk.PowerReset: GrubMenu, sdk.PowerOn: GrubMenu}, Echo: true,
		Replies: append(replies, base...), Otherwise: p}
}

// Job is a job on a board whose dictionary sets dict (over a console and a
// reset command), with a kernel and a ramdisk deployed over TFTP.
func Job(dict sdk.Values) sdktest.Job {
	d := sdk.Values{"connection_command": "telnet localhost 7002", "hard_reset_command": "pduclient --port 3 --command reboot"}
	for k, v := range dict {
		d[k] = v
	}
	return sdktest.Job{ID: "7", Dictionary: d, Worker: sdk.WorkerFacts{ServerIP: "192.0.2.1", Artifacts: map[string]sdk.Artifact{
		"kernel":  {TFTPPath: "7/tftp-deploy/kernel/bzImage"},
		"ramdisk": {TFTPPath: "7/tftp-deploy/ramdisk/initramfs.cpio.gz"},
	}}}
}

// Boot runs deploy, a ramdisk boot with method and a test with the driver
// against con, and checks the steps (the reset before the interrupt, the
// kernel, the shell, the test shell last) and what the board received:
// the interrupt, then exactly want.
func Boot(t *testing.T, d *sdktest.Driver, job sdktest.Job, con *sdktest.Console, method, interrupt string, want []string) *sdktest.Result {
	t.Helper()
	actions := []sdk.Action{
		sdktest.Deploy("tftp", sdk.Values{"kernel": map[string]any{"url": "http://example.com/bzImage"},
			"ramdisk": map[string]any{"url": "http://example.com/initramfs.cpio.gz"}}),
		sdktest.Boot(method, sdk.Values{"commands": "ramdisk", "prompts": []any{ShellPrompt}}),
		sdktest.Test(sdk.Values{"definitions": []any{}}),
	}
	var reqs []sdk.PlanRequest
	for _, a := range actions {
		reqs = append(reqs, d.Request(job, a))
	}
	res := d.Run(t, con, reqs...)
	kinds := strings.Join(res.Kinds(), " ")
	if wantKinds := "serve connect power interrupt commands expect wait_shell test_shell"; kinds != wantKinds {
		t.Errorf("steps: %s\nwant:  %s", kinds, wantKinds)
	}
	if p, i := res.Index(sdk.StepPower), res.Index(sdk.StepInterrupt); p < 0 || i < p || res.Steps[p].Power.Op != sdk.PowerReset {
		t.Errorf("want the power reset before the interrupt: %s", kinds)
	}
	received := append([]string{interrupt}, want...)
	if !slices.Equal(res.Received, received) {
		t.Errorf("the board received:\n  %q\nwant:\n  %q\n%s", res.Received, received, res.Transcript())
	}
	return res
}
