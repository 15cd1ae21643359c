package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/lavalab/lavalab/core/devdict"
	"github.com/lavalab/lavalab/core/testenv"
	"github.com/lavalab/lavalab/sdk"
)

// lavaRender renders device dictionaries as lava-server 2023.01 does (as
// core/goldentest's program: the dictionaries' folder, then
// the device-type templates) and loads the YAML as the dispatcher does
// (PyYAML: of a key given twice, the last wins); prints {name: config} as
// JSON.
const lavaRender = `
import json, sys, jinja2, jinja2.sandbox, yaml
devices, types = sys.argv[1:3]
env = jinja2.sandbox.SandboxedEnvironment(
    loader=jinja2.FileSystemLoader([devices, types]), trim_blocks=True, autoescape=False)
print(json.dumps({name: yaml.safe_load(env.get_template(name).render()) for name in sys.argv[3:]}))
`

// TestSettingsAgreeWithLAVA renders the test dictionaries (testdata/devices)
// with LAVA 2023.01's own device-type templates (Debian's lava-server) and
// checks that what this driver plans from (its defaults < the device-type
// settings of deviceTypes < the dictionary) is what LAVA's device
// configuration says: serial numbers, fastboot options, the flash order,
// the fastboot boot sequence, the U-Boot commands into fastboot, the uuu
// options and the recovery commands. The sample jobs' plans rest on it.
func TestSettingsAgreeWithLAVA(t *testing.T) {
	dicts, err := filepath.Glob(filepath.Join("testdata", "devices", "*.jinja2"))
	if err != nil || len(dicts) < 5 {
		t.Fatalf("dictionaries: %v %v", dicts, err)
	}
	types := filepath.Join(testenv.LAVADebian(t), "usr", "share", "lava-server", "device-types")
	abs, err := filepath.Abs(filepath.Join("testdata", "devices"))
	if err != nil {
		t.Fatal(err)
	}
	args := []string{abs, types}
	for _, d := range dicts {
		args = append(args, filepath.Base(d))
	}
	var renders map[string]map[string]any
	if err := json.Unmarshal(testenv.LAVAPython(t, lavaRender, nil, args...), &renders); err != nil {
		t.Fatal(err)
	}
	specs, err := newDriver().Specs()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dicts {
		name := filepath.Base(d)
		t.Run(name, func(t *testing.T) {
			text, err := os.ReadFile(d)
			if err != nil {
				t.Fatal(err)
			}
			dict, err := devdict.Parse(text)
			if err != nil {
				t.Fatal(err)
			}
			typ, ok := deviceTypes[dict.Extends]
			if !ok {
				t.Fatalf("no device-type settings for %s", dict.Extends)
			}
			s := sdk.Values(devdict.Merge(map[string]any(sdk.SettingDefaults(specs)), typ, dict.Values))
			c := sdk.Values(renders[name])
			if c == nil {
				t.Fatal("no rendering")
			}
			check := func(what string, lava, ours any) {
				t.Helper()
				if !reflect.DeepEqual(norm(lava), norm(ours)) {
					t.Errorf("%s: LAVA renders %#v, the driver plans with %#v", what, lava, ours)
				}
			}
			check("fastboot_serial_number", c.String("fastboot_serial_number", ""), s.String("fastboot_serial_number", ""))
			check("adb_serial_number", c.String("adb_serial_number", ""), s.String("adb_serial_number", ""))
			check("fastboot_options", c.Strings("fastboot_options"), s.Strings("fastboot_options"))
			check("flash_cmds_order", c.Strings("flash_cmds_order"), s.Strings("flash_cmds_order"))
			boot := c.Map("actions").Map("boot").Map("methods")
			check("boot methods fastboot (fastboot_sequence)", boot.Strings("fastboot"), s.Strings("fastboot_sequence"))
			deploy := c.Map("actions").Map("deploy").Map("methods")
			check("u-boot commands into fastboot", deploy.Map("u-boot").Map("parameters").Map("fastboot").Strings("commands"), s.Strings("fastboot_deploy_uboot_commands"))
			check("fastboot_via_uboot", c.Bool("fastboot_via_uboot", false), len(s.Strings("fastboot_deploy_uboot_commands")) > 0)
			if deploy.Map("u-boot").Map("parameters") != nil {
				// LAVA interrupts U-Boot with the boot method's u-boot
				// parameters (BootloaderInterruptAction); the deploy
				// method's copy is empty for imx8m (base-uboot renders
				// "{{ bootloader_prompt }}" before setting it).
				ub := boot.Map("u-boot").Map("parameters")
				check("bootloader_prompt", ub.String("bootloader_prompt", ""), s.String("bootloader_prompt", ""))
				check("interrupt_prompt", ub.String("interrupt_prompt", ""), s.String("interrupt_prompt", ""))
				check("interrupt_char", ub.String("interrupt_char", ""), s.String("interrupt_char", ""))
			}
			if uuu := boot.Map("uuu").Map("options"); uuu != nil {
				check("uuu usb_otg_path", uuu.String("usb_otg_path", ""), s.String("uuu_usb_otg_path", ""))
				check("uuu corrupt_boot_media_command", uuu.Strings("corrupt_boot_media_command"), s.Strings("uuu_corrupt_boot_media_command"))
				check("bcu_board_name", uuu.String("bcu_board_name", ""), s.String("bcu_board_name", ""))
				check("bcu_board_id", uuu.String("bcu_board_id", ""), s.String("bcu_board_id", ""))
			}
			cmds := c.Map("commands")
			check("hard_reset", cmds.Strings("hard_reset"), s.Strings("hard_reset_command"))
			check("recovery_mode", cmds.Strings("recovery_mode"), s.Strings("recovery_mode_command"))
			check("recovery_exit", cmds.Strings("recovery_exit"), s.Strings("recovery_exit_command"))
		})
	}
}

// norm makes empty lists and strings, and nil, compare equal, and lists of
// one empty string empty (an unset command).
func norm(v any) any {
	switch x := v.(type) {
	case []string:
		var out []string
		for _, s := range x {
			if strings.TrimSpace(s) != "" {
				out = append(out, s)
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case string:
		if x == "" {
			return nil
		}
	}
	return v
}
