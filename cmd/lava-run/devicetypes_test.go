package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lavalab/lavalab/core/testenv"
)

// driverDir is bin/drivers when `make drivers` built name.wasm, else a
// folder with name.wasm built for the test.
func driverDir(t *testing.T, name string) string {
	t.Helper()
	root := testenv.RepoRoot(t)
	dir := filepath.Join(root, "bin", "drivers")
	if _, err := os.Stat(filepath.Join(dir, name+".wasm")); err == nil {
		return dir
	}
	dir = t.TempDir()
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, name+".wasm"), "./devicetypes/"+name)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s driver: %v\n%s", name, err, out)
	}
	return dir
}

const templateJob = `device_type: %s
job_name: imported
timeouts:
  job: {minutes: 10}
  action: {minutes: 5}
priority: medium
visibility: public
actions:
- deploy:
    to: tftp
    kernel: {url: 'http://example.com/zImage', type: zimage}
    ramdisk: {url: 'http://example.com/rootfs.cpio.gz', compression: gz}
    dtb: {url: 'http://example.com/board.dtb'}
- boot:
    method: u-boot
    commands: ramdisk
    prompts: ['root@board:~#']
`

// TestLavaRunDeviceTypes (issue 16): --device-types DIR imports the
// dictionary's device type from LAVA templates (a lab's, written here)
// and plans with the generic uboot driver; the dictionary's value beats the
// template's default(), the template's if takes the dictionary's branch. A
// refused template is a usage error with its verdict.
func TestLavaRunDeviceTypes(t *testing.T) {
	drivers := driverDir(t, "uboot")
	dir := t.TempDir()
	write := func(name, text string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	types := filepath.Join(dir, "types")
	if err := os.MkdirAll(types, 0o755); err != nil {
		t.Fatal(err)
	}
	write("types/myboard-common.jinja2", "{% extends 'base-uboot.jinja2' %}\n{% set bootz_kernel_addr = '0x82000000' %}\n{% set bootz_ramdisk_addr = '0x88080000' %}\n{% set bootz_dtb_addr = '0x88000000' %}\n")
	write("types/myboard.jinja2", "{% extends 'myboard-common.jinja2' %}\n{% set console_device = console_device|default('ttyO0') %}\n{% set baud_rate = baud_rate|default(115200) %}\n"+
		"{% if extra_kernel_args %}{% set extra_kernel_args = 'earlycon ' + extra_kernel_args %}{% else %}{% set extra_kernel_args = 'earlycon' %}{% endif %}\n")
	write("types/broken.jinja2", "{% extends 'base-uboot.jinja2' %}\n{% for x in y %}{% endfor %}\n")
	dict := write("myboard-01.jinja2", "{% extends 'myboard.jinja2' %}\n{% set console_device = 'ttyS2' %}\n{% set extra_kernel_args = 'quiet' %}\n{% set connection_command = 'telnet localhost 7000' %}\n")
	job := write("job.yaml", strings.ReplaceAll(templateJob, "%s", "myboard"))
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"--device-types", types, "--device", dict, "--job", job, "--drivers-dir", drivers,
		"--plan-only", "--server-ip", "192.0.2.2", "--cache-dir", t.TempDir()}, &out, &errb)
	if code != exitComplete {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{
		`"setenv bootargs 'console=ttyS2,115200n8 root=/dev/ram0 earlycon quiet ip=dhcp'"`,
		`"bootz 0x82000000 0x88080000 0x88000000"`,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("plan lacks %s:\n%s", want, out.String())
		}
	}

	broken := write("broken-01.jinja2", "{% extends 'broken.jinja2' %}\n")
	out.Reset()
	errb.Reset()
	code = run(context.Background(), []string{"--device-types", types, "--device", broken, "--job", job, "--drivers-dir", drivers, "--plan-only"}, &out, &errb)
	if code != exitUsage || !strings.Contains(errb.String(), `broken: refused: construct not supported: broken.jinja2 line 2: statement "for"`) {
		t.Errorf("refused template: exit %d: %s", code, errb.String())
	}
}

// TestLavaRunJuno (issue 16): a LAVA juno job (device_type: juno) on a
// dictionary extending juno.jinja2 plans with the juno-r2 driver, LAVA's
// name bound to it.
func TestLavaRunJuno(t *testing.T) {
	drivers := driverDir(t, "juno-r2")
	dir := t.TempDir()
	dict := filepath.Join(dir, "juno-01.jinja2")
	job := filepath.Join(dir, "job.yaml")
	if err := os.WriteFile(dict, []byte("{% extends 'juno.jinja2' %}\n{% set connection_command = 'telnet localhost 7001' %}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	text := strings.NewReplacer("%s", "juno", "zImage", "Image", "type: zimage", "type: image").Replace(templateJob)
	if err := os.WriteFile(job, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"--device", dict, "--job", job, "--drivers-dir", drivers,
		"--plan-only", "--server-ip", "192.0.2.2", "--cache-dir", t.TempDir()}, &out, &errb)
	if code != exitComplete {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{`"setenv ethact smc911x-0"`, `"booti 0x80080000 0x84000000 0x83000000"`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("plan lacks %s:\n%s", want, out.String())
		}
	}
}
