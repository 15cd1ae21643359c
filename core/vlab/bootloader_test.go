package vlab_test

import (
	"strings"
	"testing"
)

// TestLavaRunBootloaderJob (issue 17): examples/jobs/vlab-bootloader.yaml
// on the virtual U-Boot board through cmd/lava-run: U-Boot is stopped, gets
// the job's commands (dhcp, then a tftp of the deployed kernel to the
// board's booti address) and the job ends at the prompt, Complete.
func TestLavaRunBootloaderJob(t *testing.T) {
	o, log := lavaRunJob(t, "vlab-bootloader", "vlab-01", nil, "qemu-uboot-arm64")
	if o.Health != "Complete" {
		t.Fatalf("job %s: %s\n%s", o.Health, o.Error, tail(log, 80))
	}
	found := false
	for _, c := range o.Cases {
		if c.Suite == "lava" && c.Name == "boot-bootloader-retry" {
			found = c.Result == "pass"
		}
	}
	if !found {
		t.Errorf("no passing lava/boot-bootloader-retry in %+v", o.Cases)
	}
	for _, want := range []string{"Bytes transferred", "U-Boot 20"} {
		if !strings.Contains(log, want) {
			t.Errorf("lava-run's output lacks %q (U-Boot's answer to the job's commands):\n%s", want, tail(log, 60))
		}
	}
	if strings.Contains(log, "Starting kernel") {
		t.Errorf("the bootloader method booted a kernel:\n%s", tail(log, 60))
	}
}
