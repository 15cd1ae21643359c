package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/lavalab/lavalab/core/testenv"
)

// vlabTemplate is a lab's device-type template for the virtual board: LAVA's
// base-uboot.jinja2 with the board's console and booti addresses (the
// firmware's device tree at ${fdt_addr}).
const vlabTemplate = `{# the virtual arm64 U-Boot board (scripts/vlab/board.sh) as a LAVA device type #}
{% extends 'base-uboot.jinja2' %}
{% set console_device = console_device|default('ttyAMA0') %}
{% set baud_rate = baud_rate|default(115200) %}
{% set booti_kernel_addr = '0x40400000' %}
{% set booti_ramdisk_addr = '0x44000000' %}
{% set booti_dtb_addr = '${fdt_addr}' %}
{% set bootloader_prompt = bootloader_prompt|default('=>') %}
`

// TestImportedUBootBoard (issue 16): the virtual U-Boot board described by
// a LAVA template (extending the Debian package's base-uboot.jinja2),
// imported with device-type import, runs a job end to end on a real
// server and worker with the generic uboot driver. The boards' dictionaries
// are the examples' (extending the imported type); the worker gives QEMU's
// user-network address of the host as {SERVER_IP}.
func TestImportedUBootBoard(t *testing.T) {
	root, _ := need(t)
	if _, err := os.Stat(filepath.Join(root, "bin", "drivers", "uboot.wasm")); err != nil {
		testenv.Need(t, false, "bin/drivers/uboot.wasm is missing: run make build")
	}
	base := filepath.Join(testenv.LAVADebian(t), "usr", "share", "lava-server", "device-types", "base-uboot.jinja2")
	types := t.TempDir()
	tmpl := filepath.Join(types, "vlab-uboot.jinja2")
	must(t, os.WriteFile(tmpl, []byte(vlabTemplate), 0o644))
	l := newLab(t, labOptions{health: "good", importType: "vlab-uboot", driver: "uboot", templates: []string{tmpl, base},
		workerArgs: []string{"--server-ip", "10.0.2.2"}})

	id := l.submit(l.job(jobSpec{name: "issue 16: imported LAVA template", tests: inlineTests("smoke", smokeSteps...)}))
	j := l.waitFinished(id)
	if j.Health != "Complete" {
		t.Fatalf("job %d: %s, want Complete: %s %s", j.ID, j.Health, j.ErrorType, j.FailureComment)
	}
	wantCases(t, j.ID, l.results(j.ID), map[string]string{
		"0_smoke/kernel-arm64": "pass", "0_smoke/cmdline-ramdisk": "pass", "lava/job": "pass"})
	wantLog(t, j.ID, l.logs(j.ID),
		fmt.Sprintf(`(?m)^tftp 0x40400000 %d/kernel/Image$`, j.ID),
		`(?m)^setenv bootargs 'console=ttyAMA0,115200n8 root=/dev/ram0  ip=dhcp'$`,
		`(?m)^booti 0x40400000 0x44000000 \$\{fdt_addr\}`,
		`vlab initramfs ready`, fmt.Sprintf(`job %d: Complete`, j.ID))
}
