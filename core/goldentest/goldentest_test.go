package goldentest

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/lavalab/lavalab/core/testenv"
)

// lavaRender renders a device dictionary as lava-server 2023.01 does when it
// builds a device configuration (jinja2's sandboxed environment,
// trim_blocks, the dictionary's folder then the device-type templates on the
// loader's path, no job context) and prints the YAML.
// It takes the folders and then the dictionaries' names, and prints
// {name: rendered YAML} as JSON.
const lavaRender = `
import json, sys, jinja2, jinja2.sandbox
devices, types = sys.argv[1:3]
env = jinja2.sandbox.SandboxedEnvironment(
    loader=jinja2.FileSystemLoader([devices, types]), trim_blocks=True, autoescape=False)
print(json.dumps({name: env.get_template(name).render() for name in sys.argv[3:]}))
`

// TestRenderedAgreeWithLAVA renders each dictionary of testdata/lava/rendered's
// 2023.01 files with the device-type templates of Debian's lava-server
// 2023.01 and compares the boot lists and QEMU parameters with the file's:
// the drivers' comparisons with "LAVA's lists" rest on LAVA's own templates.
func TestRenderedAgreeWithLAVA(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(testenv.Data(t, "rendered"), "*.rendered-2023.01.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 5 {
		t.Fatalf("only %d 2023.01 files", len(files))
	}
	types := filepath.Join(testenv.LAVADebian(t), "usr", "share", "lava-server", "device-types")
	args := []string{testenv.Data(t, "devices"), types}
	for _, f := range files {
		args = append(args, readRendered(t, filepath.Base(f)).Dictionary)
	}
	var renders map[string]string
	if err := json.Unmarshal(testenv.LAVAPython(t, lavaRender, nil, args...), &renders); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			want := readRendered(t, filepath.Base(f))
			if _, extends := DictionaryValues(t, want.Dictionary); extends+".jinja2" != want.Template {
				t.Errorf("dictionary %s extends %s, the file names %s", want.Dictionary, extends, want.Template)
			}
			out := []byte(renders[want.Dictionary])
			var doc struct {
				Actions struct {
					Boot struct {
						Methods map[string]any `yaml:"methods"`
					} `yaml:"boot"`
				} `yaml:"actions"`
			}
			if err := yaml.Unmarshal(out, &doc); err != nil {
				t.Fatalf("LAVA's rendering is not YAML: %v", err)
			}
			methods := doc.Actions.Boot.Methods
			if want.QEMU != nil {
				q, _ := methods["qemu"].(map[string]any)
				got, _ := q["parameters"].(map[string]any)
				for k, v := range want.QEMU {
					if !reflect.DeepEqual(got[k], v) {
						t.Errorf("qemu %s: LAVA renders %#v, the file says %#v", k, got[k], v)
					}
				}
			}
			ub, _ := methods["u-boot"].(map[string]any)
			for list, cmds := range want.UBoot {
				l, _ := ub[list].(map[string]any)
				var got []string
				if raw, ok := l["commands"].([]any); ok {
					for _, c := range raw {
						s, _ := c.(string)
						got = append(got, s)
					}
				}
				if !reflect.DeepEqual(got, cmds) {
					t.Errorf("u-boot %s list:\nLAVA renders\n  %s\nthe file says\n  %s", list, strings.Join(got, "\n  "), strings.Join(cmds, "\n  "))
				}
			}
			if want.QEMU == nil && len(want.UBoot) == 0 {
				t.Fatal("the file lists nothing to compare")
			}
		})
	}
}
