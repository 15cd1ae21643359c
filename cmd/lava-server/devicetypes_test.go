package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lavalab/lavalab/core/lavatemplate"
)

// TestDeviceTypeImport imports a lab's templates (written here: a
// *-common chain on base-uboot, a board on it, one on an unknown base, one
// with an unsupported construct), checks each verdict and what the store
// keeps, then imports a changed template again: it replaces the first.
func TestDeviceTypeImport(t *testing.T) {
	dir := t.TempDir()
	types := filepath.Join(dir, "device-types")
	if err := os.MkdirAll(types, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(types, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("myboard-common.jinja2", "{% extends 'base-uboot.jinja2' %}\n{% set bootz_kernel_addr = '0x82000000' %}\n")
	write("myboard.jinja2", "{% extends 'myboard-common.jinja2' %}\n{% set console_device = console_device|default('ttyO0') %}\n")
	write("other.jinja2", "{% extends 'base.jinja2' %}\n")
	write("macro.jinja2", "{% extends 'base-uboot.jinja2' %}\n{% macro x() %}{% endmacro %}\n")
	code, out, errOut := cli(t, dir, "device-type", "import", types)
	if code != 0 {
		t.Fatalf("import: %d %s", code, errOut)
	}
	for _, want := range []string{
		"myboard: imported (base base-uboot, driver uboot)",
		"myboard-common: imported (base base-uboot, driver uboot)",
		"other: refused: unknown base: other.jinja2 extends base.jinja2 directly",
		`macro: refused: construct not supported: macro.jinja2 line 2: statement "macro"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("verdicts lack %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errOut, "4 templates: 2 imported, 2 refused") {
		t.Errorf("summary: %s", errOut)
	}
	st := openDir(t, dir)
	dt, err := st.DeviceType(context.Background(), "myboard")
	if err != nil {
		t.Fatal(err)
	}
	if dt.Driver != "uboot" || dt.Template == "" {
		t.Fatalf("stored %+v", dt)
	}
	got := evaluated(t, dt.Template, nil)
	if got["console_device"] != "ttyO0" || got["bootz_kernel_addr"] != "0x82000000" {
		t.Errorf("evaluated %v", got)
	}
	// A dictionary's value beats a default().
	if got := evaluated(t, dt.Template, map[string]any{"console_device": "ttyS2"}); got["console_device"] != "ttyS2" {
		t.Errorf("dictionary's console_device lost: %v", got)
	}
	st.Close()

	// Importing again replaces the template.
	write("myboard-common.jinja2", "{% extends 'base-uboot.jinja2' %}\n{% set bootz_kernel_addr = '0x80008000' %}\n")
	if code, _, errOut := cli(t, dir, "device-type", "import", filepath.Join(types, "myboard.jinja2")); code != 0 {
		t.Fatalf("import again: %s", errOut)
	}
	st = openDir(t, dir)
	dt, err = st.DeviceType(context.Background(), "myboard")
	if err != nil {
		t.Fatal(err)
	}
	if got := evaluated(t, dt.Template, nil); got["bootz_kernel_addr"] != "0x80008000" {
		t.Errorf("not replaced: %v", got)
	}
	st.Close()

	// device-type add --driver binds a LAVA name to a driver.
	if code, _, errOut := cli(t, dir, "device-type", "add", "beaglebone-black", "--driver", "uboot"); code != 0 {
		t.Fatalf("add --driver: %s", errOut)
	}
	st = openDir(t, dir)
	if dt, err := st.DeviceType(context.Background(), "beaglebone-black"); err != nil || dt.Driver != "uboot" {
		t.Fatalf("beaglebone-black: %+v %v", dt, err)
	}
}

func evaluated(t *testing.T, stored string, dict map[string]any) map[string]any {
	t.Helper()
	got, err := lavatemplate.MergeSettings(stored, nil, nil, dict)
	if err != nil {
		t.Fatal(err)
	}
	return got
}
