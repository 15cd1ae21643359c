// Package kitboard holds what the shipped device types' kit tests share
// (kit_test.go in each driver folder): a scripted U-Boot board for the
// sdktest kit, the job around its boot and the checks every U-Boot boot
// passes. It is imported by tests only.
package kitboard

import (
	"slices"
	"strings"
	"testing"

	"github.com/lavalab/lavalab/sdk"
	"github.com/lavalab/lavalab/sdk/sdktest"
)

// ServerIP is the worker's address in the kit tests' jobs.
const ServerIP = "192.0.2.1"

// UBoot is a scripted U-Boot board whose prompt is prompt ("=>"): a reset
// prints the banner and the autoboot countdown; it echoes what it
// receives; dhcp, tftp and the boot command (booti, bootz, bootm) answer
// as U-Boot does, the boot command with the kernel's start and a Debian
// login prompt; "root" logs in to the shell prompt "root@debian:~# ";
// every other command gives the prompt back.
func UBoot(prompt string) *sdktest.Console {
	p := prompt + " "
	banner := "\r\nU-Boot 2023.01 (Jan 01 2023 - 00:00:00 +0000)\r\n\r\nDRAM:  1 GiB\r\nNet:   eth0: ethernet@ff702000\r\nHit any key to stop autoboot:  3 "
	return &sdktest.Console{
		Power: map[string]string{sdk.PowerReset: banner, sdk.PowerOn: banner},
		Echo:  true,
		Replies: []sdktest.Reply{
			sdktest.Line("", "\r\n"+p),
			sdktest.Line("dhcp", "\r\nBOOTP broadcast 1\r\nDHCP client bound to address 192.0.2.10 (4 ms)\r\n"+p),
			sdktest.Prefix("tftp ", "\r\nTFTP from server "+ServerIP+"; our IP address is 192.0.2.10\r\nLoading: #################\r\ndone\r\nBytes transferred = 4194304 (400000 hex)\r\n"+p),
			sdktest.Match(`^boot[imz] `, "\r\n## Flattened Device Tree blob at 00001000\r\n   Loading Device Tree to 0fff8000, end 0ffff0d2 ... OK\r\n\r\nStarting kernel ...\r\n\r\n"+
				"[    0.000000] Booting Linux on physical CPU 0x0\r\n[    0.000000] Linux version 6.1.0-13-arm64 (debian-kernel@lists.debian.org) #1 SMP Debian 6.1.55-1\r\n"+
				"[    2.345678] Run /init as init process\r\n\r\nDebian GNU/Linux 12 debian ttyS0\r\n\r\ndebian login: "),
			sdktest.Line("root", "\r\nLinux debian 6.1.0-13-arm64 #1 SMP Debian 6.1.55-1\r\nroot@debian:~# "),
		},
		Otherwise: "\r\n" + p,
	}
}

// Job is a job on a device whose dictionary sets dict, with a kernel
// (of kernelType, file kernelFile), a ramdisk with a u-boot header and a
// dtb deployed over TFTP. The dictionary names a console and a reset
// command (whatever the driver does with them: the kit runs no host
// command).
func Job(dict sdk.Values, kernelType, kernelFile string) sdktest.Job {
	d := sdk.Values{"connection_command": "telnet localhost 7002", "hard_reset_command": "pduclient --port 3 --command reboot"}
	for k, v := range dict {
		d[k] = v
	}
	return sdktest.Job{ID: "7", Dictionary: d, Worker: sdk.WorkerFacts{ServerIP: ServerIP, Artifacts: map[string]sdk.Artifact{
		"kernel":  {TFTPPath: "7/tftp-deploy/kernel/" + kernelFile, Type: kernelType},
		"ramdisk": {TFTPPath: "7/tftp-deploy/ramdisk/ramdisk.cpio.gz.uboot", UBootHeader: true},
		"dtb":     {TFTPPath: "7/tftp-deploy/dtb/board.dtb"},
	}}}
}

// Actions are a U-Boot job's actions: deploy over TFTP, a ramdisk boot
// that logs in as root, and a test.
func Actions() []sdk.Action {
	return []sdk.Action{
		sdktest.Deploy("tftp", sdk.Values{"kernel": map[string]any{"url": "http://example.com/kernel"},
			"ramdisk": map[string]any{"url": "http://example.com/ramdisk.cpio.gz"}, "dtb": map[string]any{"url": "http://example.com/board.dtb"}}),
		sdktest.Boot("u-boot", sdk.Values{"commands": "ramdisk", "prompts": []any{"root@debian:~#"},
			"auto_login": map[string]any{"login_prompt": "login:", "username": "root"}}),
		sdktest.Test(sdk.Values{"definitions": []any{}}),
	}
}

// Boot runs the job's actions with the driver against con (UBoot), and
// checks what every U-Boot boot does: the artifacts
// are served, the console is connected, the board is reset before U-Boot
// is interrupted (with a newline), the commands are sent one by one
// (exactly want), the kernel starts, root logs in at the shell prompt, and
// the test shell comes last.
func Boot(t *testing.T, d *sdktest.Driver, job sdktest.Job, con *sdktest.Console, want []string) *sdktest.Result {
	t.Helper()
	var reqs []sdk.PlanRequest
	for _, a := range Actions() {
		reqs = append(reqs, d.Request(job, a))
	}
	res := d.Run(t, con, reqs...)
	kinds := strings.Join(res.Kinds(), " ")
	if wantKinds := "serve connect power interrupt commands expect login wait_shell test_shell"; kinds != wantKinds {
		t.Errorf("steps: %s\nwant:  %s", kinds, wantKinds)
	}
	if p, i := res.Index(sdk.StepPower), res.Index(sdk.StepInterrupt); p < 0 || i < p || res.Steps[p].Power.Op != sdk.PowerReset || res.Steps[p].Ran {
		t.Errorf("want the power reset recorded before the interrupt: %s", kinds)
	}
	if s := res.Of(sdk.StepServe); len(s) != 1 || !s[0].Serve.TFTP || !slices.Equal(s[0].Serve.Roles, []string{"kernel", "ramdisk", "dtb"}) {
		t.Errorf("serve steps %+v", s)
	}
	received := append([]string{""}, want...)
	received = append(received, "root")
	if !slices.Equal(res.Received, received) {
		t.Errorf("the board received:\n  %s\nwant:\n  %s\n%s", strings.Join(quote(res.Received), "\n  "), strings.Join(quote(received), "\n  "), res.Transcript())
	}
	return res
}

func quote(s []string) []string {
	q := make([]string, len(s))
	for i, x := range s {
		q[i] = "'" + x + "'"
	}
	return q
}
