package main

import (
	"errors"
	"slices"
	"testing"

	"github.com/lavalab/lavalab/sdk"
	"github.com/lavalab/lavalab/sdk/sdktest"
)

func TestSettingsParse(t *testing.T) {
	if _, err := sdk.ParseSettings(settings); err != nil {
		t.Fatal(err)
	}
}

// board is a scripted U-Boot console: what the board prints when it is
// reset, and how it answers the commands it receives.
func board() *sdktest.Console {
	return &sdktest.Console{
		Power: map[string]string{sdk.PowerReset: "U-Boot 2024.01\r\nHit any key to stop autoboot:  2 "},
		Echo:  true, // a serial console echoes what it receives
		Replies: []sdktest.Reply{
			sdktest.Prefix("tftp ", "\r\nBytes transferred = 4194304 (400000 hex)\r\n=> "),
			sdktest.Prefix("booti ", "\r\nStarting kernel ...\r\n\r\n[    0.000000] Linux version 6.6.0\r\n\r\nmyboard login: "),
			sdktest.Line("root", "\r\nroot@myboard:~# "),
		},
		Otherwise: "\r\n=> ", // every other command gives the prompt back
	}
}

// TestBoot builds the driver to WASM, loads it as a lab worker does and
// runs a job's deploy, boot and test against the scripted board.
func TestBoot(t *testing.T) {
	d := sdktest.BuildAndLoad(t, ".")
	// The admin's device dictionary gives the console and the power
	// commands: the plan names them, the worker runs them.
	job := sdktest.Job{ID: "42", Dictionary: sdk.Values{"connection_command": "telnet localhost 7000", "hard_reset_command": "pdu reset 3"}, Worker: sdk.WorkerFacts{ServerIP: "192.0.2.1", Artifacts: map[string]sdk.Artifact{
		"kernel":  {TFTPPath: "42/kernel/Image", Type: "image"},
		"ramdisk": {TFTPPath: "42/ramdisk/rootfs.cpio.gz.uboot", UBootHeader: true},
		"dtb":     {TFTPPath: "42/dtb/myboard.dtb"},
	}}}
	res := d.Run(t, board(),
		d.Request(job, sdktest.Deploy("tftp", sdk.Values{"kernel": map[string]any{"url": "https://example.com/Image"}})),
		d.Request(job, sdktest.Boot("u-boot", sdk.Values{"prompts": []any{"root@myboard:~#"},
			"auto_login": map[string]any{"login_prompt": "login:", "username": "root"}})),
		d.Request(job, sdktest.Test(nil)))

	want := []string{
		"", // the newline that stops autoboot
		"setenv autoload no",
		"dhcp",
		"setenv serverip 192.0.2.1",
		"tftp 0x40480000 42/kernel/Image",
		"tftp 0x44000000 42/ramdisk/rootfs.cpio.gz.uboot",
		"setenv initrd_size ${filesize}",
		"tftp 0x43000000 42/dtb/myboard.dtb",
		"setenv bootargs 'console=ttyS0,115200 root=/dev/ram0 ip=dhcp'",
		"booti 0x40480000 0x44000000 0x43000000",
		"root",
	}
	if !slices.Equal(res.Received, want) {
		t.Errorf("the board received %q\nwant %q\n%s", res.Received, want, res.Transcript())
	}
	// The reset is recorded (the kit runs nothing on the host) before the interrupt.
	if p, i := res.Index(sdk.StepPower), res.Index(sdk.StepInterrupt); p < 0 || p > i || res.Steps[p].Power.Op != sdk.PowerReset {
		t.Errorf("want a power reset before the interrupt: %v", res.Kinds())
	}
}

// A job error comes back as the lab would report it.
func TestUnsupportedMethod(t *testing.T) {
	d := sdktest.BuildAndLoad(t, ".")
	_, err := d.TryPlan(d.Request(sdktest.Job{}, sdktest.Boot("grub", nil)))
	var e *sdk.Error
	if !errors.As(err, &e) || e.Type != sdk.ErrorJob {
		t.Fatalf("want a Job error, got %v", err)
	}
}
