package pcboot

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/lavalab/lavalab/core/testenv"
	"github.com/lavalab/lavalab/sdk"
)

// lavaRenderVars renders device dictionaries made of `{% extends %}` and
// `{% set %}` lines as lava-server 2023.01 does (sandboxed jinja2,
// trim_blocks, the device-type templates on the loader's path, no job
// context). Its input is a JSON list of {name, template, vars}; it prints
// {name: rendered YAML} as JSON.
const lavaRenderVars = `
import json, sys, jinja2, jinja2.sandbox
types = sys.argv[1]
cases = json.load(sys.stdin)
dicts = {}
for c in cases:
    text = "{%% extends '%s' %%}\n" % c["template"]
    for k, v in c["vars"].items():
        text += "{%% set %s = %s %%}\n" % (k, json.dumps(v))
    dicts[c["name"]] = text
env = jinja2.sandbox.SandboxedEnvironment(
    loader=jinja2.ChoiceLoader([jinja2.DictLoader(dicts), jinja2.FileSystemLoader([types])]),
    trim_blocks=True, autoescape=False)
print(json.dumps({n: env.get_template(n).render() for n in dicts}))
`

// oracleCase is one dictionary rendered by LAVA and planned here.
type oracleCase struct {
	name     string
	template string // x86.jinja2 or base-grub.jinja2
	method   string // ipxe, grub
	vars     map[string]any
}

var oracleCases = []oracleCase{
	{"x86-defaults", "x86.jinja2", "ipxe", map[string]any{}},
	{"x86-console-kernel-args", "x86.jinja2", "ipxe", map[string]any{
		"console_device": "ttyS1", "baud_rate": 9600, "boot_interface": "net1", "base_kernel_args": "quiet loglevel=3"}},
	// (No static_ip case for x86.jinja2: its ramdisk `set extraargs` line
	// is an unquoted YAML scalar, and the static ip= value ends in ':', so
	// LAVA's own rendering of it does not parse.)
	{"x86-extra-kernel-args", "x86.jinja2", "ipxe", map[string]any{
		"base_kernel_args": "quiet", "extra_kernel_args": "debug", "extra_nfsroot_args": ",vers=3"}},
	{"x86-base-ip-args", "x86.jinja2", "ipxe", map[string]any{"base_ip_args": "ip=eth0:dhcp"}},
	{"grub-defaults", "base-grub.jinja2", "grub", map[string]any{}},
	{"grub-interface-dtb", "base-grub.jinja2", "grub", map[string]any{
		"net_interface": "efinet1", "has_dtb": true, "console_device": "ttyAMA0", "base_kernel_args": "earlycon"}},
	{"grub-no-console", "base-grub.jinja2", "grub", map[string]any{"console_device": "", "extra_kernel_args": "rw"}},
	{"grub-efi-pxe-configured", "base-grub.jinja2", "grub", map[string]any{"efi_grub": true}},
	{"grub-efi-bootp-efinet", "base-grub.jinja2", "grub", map[string]any{
		"efi_grub": true, "pxe_net_configured": false, "net_interface": "efinet0", "efinet": true}},
	{"grub-efi-static", "base-grub.jinja2", "grub", map[string]any{
		"efi_grub": true, "static_ip": "10.1.2.3", "static_gateway": "10.1.2.1", "static_netmask": "255.255.255.0", "static_dns": "10.1.2.2"}},
}

// TestCommandsAgreeWithLAVA renders LAVA 2023.01's x86.jinja2 (ipxe) and
// base-grub.jinja2 (grub) for dictionaries that set the variables these
// drivers read, and compares each ramdisk and nfs list with the list this
// package builds from the same values, placeholders unsubstituted.
func TestCommandsAgreeWithLAVA(t *testing.T) {
	types := filepath.Join(testenv.LAVADebian(t), "usr", "share", "lava-server", "device-types")
	type in struct {
		Name     string         `json:"name"`
		Template string         `json:"template"`
		Vars     map[string]any `json:"vars"`
	}
	var ins []in
	for _, c := range oracleCases {
		ins = append(ins, in{c.name, c.template, c.vars})
	}
	stdin, err := json.Marshal(ins)
	if err != nil {
		t.Fatal(err)
	}
	var renders map[string]string
	if err := json.Unmarshal(testenv.LAVAPython(t, lavaRenderVars, stdin, types), &renders); err != nil {
		t.Fatal(err)
	}
	for _, c := range oracleCases {
		t.Run(c.name, func(t *testing.T) {
			var doc struct {
				Actions struct {
					Boot struct {
						Methods map[string]map[string]any `yaml:"methods"`
					} `yaml:"boot"`
				} `yaml:"actions"`
			}
			if err := yaml.Unmarshal([]byte(renders[c.name]), &doc); err != nil {
				t.Fatalf("LAVA's rendering is not YAML: %v\n%s", err, renders[c.name])
			}
			m := doc.Actions.Boot.Methods[c.method]
			if m == nil {
				t.Fatalf("LAVA renders no %s method", c.method)
			}
			s := sdk.Values{}
			for k, v := range c.vars {
				s[k] = v
			}
			efi, _ := c.vars["efi_grub"].(bool)
			dtb, _ := c.vars["has_dtb"].(bool)
			for _, list := range []string{"ramdisk", "nfs"} {
				block, _ := m[list].(map[string]any)
				var want []string
				for _, x := range block["commands"].([]any) {
					want = append(want, x.(string))
				}
				var got []string
				var err error
				if c.method == "ipxe" {
					got, err = IPXECommands(list, s)
				} else {
					got, err = GrubCommands(list, s, efi, dtb)
				}
				if err != nil {
					t.Fatalf("%s: %v", list, err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s list:\nLAVA renders\n  %q\nthis package builds\n  %q", list, want, got)
				}
			}
			if c.method == "ipxe" {
				p, _ := m["parameters"].(map[string]any)
				if p["bootloader_prompt"] != "iPXE>" || p["lava_mac"] != "00:90:05:af:00:7d" {
					t.Errorf("ipxe parameters %v: the drivers' defaults are iPXE> and 00:90:05:af:00:7d", p)
				}
			}
		})
	}
}

// TestInterruptAgreesWithLAVA checks the interrupt constants of LAVA's
// base.jinja2 (ipxe and grub blocks) against the drivers' defaults.
func TestInterruptAgreesWithLAVA(t *testing.T) {
	types := filepath.Join(testenv.LAVADebian(t), "usr", "share", "lava-server", "device-types")
	stdin, _ := json.Marshal([]map[string]any{{"name": "d", "template": "base-grub.jinja2", "vars": map[string]any{}}})
	var renders map[string]string
	if err := json.Unmarshal(testenv.LAVAPython(t, lavaRenderVars, stdin, types), &renders); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Constants map[string]any `yaml:"constants"`
	}
	if err := yaml.Unmarshal([]byte(renders["d"]), &doc); err != nil {
		t.Fatal(err)
	}
	block := func(m string) map[string]any { b, _ := doc.Constants[m].(map[string]any); return b }
	ipxe, grub, grubEFI := block("ipxe"), block("grub"), block("grub-efi")
	intr, err := IPXEInterrupt(sdk.Values{"ipxe_interrupt_ctrl_list": []any{"b"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ipxe["interrupt-prompt"] != intr.Prompt || !reflect.DeepEqual(ipxe["interrupt_ctrl_list"], []any{"b"}) || intr.Char != "\x02" {
		t.Errorf("ipxe: LAVA %v; here prompt %q char %q", ipxe, intr.Prompt, intr.Char)
	}
	if strings.Join(toStrings(ipxe["error-messages"]), "|") != "No configuration methods succeeded|Connection timed out" {
		t.Errorf("ipxe error messages: LAVA %v", ipxe["error-messages"])
	}
	if grub["interrupt-prompt"] != "for a command-line" || grub["interrupt-character"] != "c" || grub["interrupt-newline"] != false {
		t.Errorf("grub: LAVA %v", grub)
	}
	if _, ok := grubEFI["interrupt-newline"]; ok || grubEFI["interrupt-character"] != "c" {
		t.Errorf("grub-efi: LAVA %v (no interrupt-newline: LAVA's default, true)", grubEFI)
	}
	want := map[string][]string{
		"grub":     {"error: missing (.*) symbol."},
		"grub-efi": {"Undefined OpCode Exception PC at", "Synchronous Exception at", "error: missing (.*) symbol."},
	}
	for m, w := range want {
		if got := toStrings(block(m)["error-messages"]); !reflect.DeepEqual(got, w) {
			t.Errorf("%s error messages: LAVA %q, the drivers' settings %q", m, got, w)
		}
	}
}

func toStrings(v any) []string {
	l, _ := v.([]any)
	var out []string
	for _, x := range l {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}
