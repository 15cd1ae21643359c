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

// uefiOracleCases are LAVA device types with uefi-menu (and uefi) methods,
// rendered by LAVA 2023.01 for these variables.
var uefiOracleCases = []oracleCase{
	{"mustang-uefi", "mustang-uefi.jinja2", "uefi-menu", map[string]any{"tftp_mac": "52:54:00:12:34:56", "console_device": "ttyS1"}},
	{"juno-uefi", "juno-uefi.jinja2", "uefi-menu", map[string]any{"mac_address": "00:02:F7:00:58:21"}},
	{"vexpress", "vexpress.jinja2", "uefi-menu", map[string]any{}},
	{"vexpress-shell", "vexpress.jinja2", "uefi", map[string]any{"console_device": "ttyAMA0", "baud_rate": 38400}},
}

// uefiJob is the job the oracle cases are planned for, and the values
// LAVA's uefi-commands action substitutes for it.
var (
	uefiArtifacts = map[string]sdk.Artifact{
		"kernel":    {TFTPPath: "42/tftp-deploy/kernel/Image"},
		"dtb":       {TFTPPath: "42/tftp-deploy/dtb/board.dtb"},
		"nfsrootfs": {LocalPath: "/var/lib/lava/dispatcher/tmp/42/extract-nfsrootfs"},
	}
	uefiSubs = []string{"{SERVER_IP}", "10.0.0.1", "{NFS_SERVER_IP}", "10.0.0.1", "{KERNEL}", "42/tftp-deploy/kernel/Image",
		"{DTB}", "42/tftp-deploy/dtb/board.dtb", "{NFSROOTFS}", "/var/lib/lava/dispatcher/tmp/42/extract-nfsrootfs"}
)

// lavaBlocks is LAVA's uefi-commands substitution and its selector's
// reading of a rendered list, written from LAVA's rules: items and enter
// get the job's values (TEST_MENU_NAME is "LAVA <list> test image"),
// wait and fallback are used as they are, escape is there or not.
func lavaBlocks(t *testing.T, list []any, name string) []sdk.MenuBlock {
	r := strings.NewReplacer(append(uefiSubs, "TEST_MENU_NAME", "LAVA "+name+" test image")...)
	var out []sdk.MenuBlock
	for _, x := range list {
		sel := x.(map[string]any)["select"].(map[string]any)
		var b sdk.MenuBlock
		if items, ok := sel["items"].([]any); ok {
			for _, it := range items {
				b.Items = append(b.Items, r.Replace(it.(string)))
			}
		}
		if e, ok := sel["enter"]; ok {
			s := r.Replace(toString(e))
			b.Enter = &s
		}
		_, b.Escape = sel["escape"]
		b.Wait, _ = sel["wait"].(string)
		b.Fallback, _ = sel["fallback"].(string)
		out = append(out, b)
	}
	return out
}

func toString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// TestUEFIMenusAgreeWithLAVA renders LAVA 2023.01's device types with
// uefi-menu and uefi methods and plans each of their lists here from the
// same parameters: the interrupt, the selector's parameters, the menu
// blocks (after LAVA's substitutions), the boot message, and for the UEFI
// shell its menu, interrupt and commands.
func TestUEFIMenusAgreeWithLAVA(t *testing.T) {
	types := filepath.Join(testenv.LAVADebian(t), "usr", "share", "lava-server", "device-types")
	type in struct {
		Name     string         `json:"name"`
		Template string         `json:"template"`
		Vars     map[string]any `json:"vars"`
	}
	var ins []in
	for _, c := range uefiOracleCases {
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
	for _, c := range uefiOracleCases {
		t.Run(c.name, func(t *testing.T) {
			var doc struct {
				Actions struct {
					Boot struct {
						Methods map[string]map[string]any `yaml:"methods"`
					} `yaml:"boot"`
				} `yaml:"actions"`
			}
			if err := yaml.Unmarshal([]byte(renders[c.name]), &doc); err != nil {
				t.Fatalf("LAVA's rendering is not YAML: %v", err)
			}
			m := doc.Actions.Boot.Methods[c.method]
			if m == nil {
				t.Fatalf("LAVA renders no %s method", c.method)
			}
			p, _ := m["parameters"].(map[string]any)
			s := sdk.Values{"menu_style": sdk.MenuNumbered}
			rename := map[string]string{"separator": "item_separator"}
			if c.method == "uefi-menu" {
				rename["bootloader_prompt"] = "uefi_menu_bootloader_prompt"
			} else {
				rename["bootloader_prompt"] = "uefi_shell_prompt"
			}
			for k, v := range p {
				if r, ok := rename[k]; ok {
					k = r
				}
				s[k] = v
			}
			lists := map[string]any{}
			for k, v := range m {
				if k != "parameters" {
					lists[k] = v
				}
			}
			if c.method == "uefi-menu" {
				s["uefi_menu_commands"] = lists
				checkMenuLists(t, s, p, lists)
				return
			}
			shellLists, cmdLists := map[string]any{}, map[string]any{}
			for k, v := range lists {
				if l, ok := v.([]any); ok {
					shellLists[k] = l
				} else if mm, ok := v.(map[string]any); ok {
					cmdLists[k] = mm["commands"]
				}
			}
			s["uefi_shell_menu_commands"] = shellLists
			s["uefi_shell_commands"] = cmdLists
			checkShell(t, s, p, shellLists, cmdLists)
		})
	}
}

func uefiRequest(method string, commands any) sdk.PlanRequest {
	return sdk.PlanRequest{JobID: "42", Action: sdk.Action{Kind: sdk.ActionBoot, Method: method, Level: "2",
		Params: sdk.Values{"commands": commands}}, Worker: sdk.WorkerFacts{ServerIP: "10.0.0.1", Artifacts: uefiArtifacts}}
}

func stepOf(t *testing.T, plan sdk.Plan, name string) sdk.Step {
	t.Helper()
	for _, s := range plan.Steps {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no step %s in the plan", name)
	return sdk.Step{}
}

func checkMenuLists(t *testing.T, s sdk.Values, p map[string]any, lists map[string]any) {
	if len(lists) == 0 {
		t.Fatal("LAVA renders no menu list")
	}
	for name, l := range lists {
		plan, err := UEFIMenuPlan(uefiRequest("uefi-menu", name), s)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		intr := stepOf(t, plan, "uefi-menu-interrupt").Interrupt
		if intr.Prompt != p["interrupt_prompt"] || intr.Char != p["interrupt_string"] || intr.BootloaderPrompt != p["bootloader_prompt"] {
			t.Errorf("%s: interrupt %+v; LAVA's parameters %v", name, intr, p)
		}
		menu := stepOf(t, plan, "uefi-menu-selector").Menu
		if !reflect.DeepEqual(menu.ItemMarkup, toStrings(p["item_markup"])) || menu.ItemClass != p["item_class"] ||
			menu.Separator != p["separator"] || menu.LabelClass != p["label_class"] || menu.LineSeparator != "\r\n" {
			t.Errorf("%s: selector %q %q %q %q; LAVA's parameters %v", name, menu.ItemMarkup, menu.ItemClass, menu.Separator, menu.LabelClass, p)
		}
		if want := lavaBlocks(t, l.([]any), name); !reflect.DeepEqual(menu.Blocks, want) {
			got, _ := json.Marshal(menu.Blocks)
			w, _ := json.Marshal(want)
			t.Errorf("%s: blocks\n%s\nLAVA's\n%s", name, got, w)
		}
		wantStart := "Linux version [0-9]"
		if bm, ok := p["boot_message"].(string); ok {
			wantStart = bm
		}
		if got := stepOf(t, plan, "kernel-start").Expect.Patterns[0].Regex; got != wantStart {
			t.Errorf("%s: boot message %q, want %q", name, got, wantStart)
		}
	}
}

func checkShell(t *testing.T, s sdk.Values, p map[string]any, menus, cmds map[string]any) {
	if len(cmds) == 0 || len(menus) == 0 {
		t.Fatalf("LAVA renders no uefi command list or shell menu (%v, %v)", cmds, menus)
	}
	for name, l := range cmds {
		plan, err := UEFIShellPlan(uefiRequest("uefi", name), s)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		mi := stepOf(t, plan, "uefi-shell-menu-interrupt").Interrupt
		if mi.Prompt != p["interrupt_prompt"] || mi.Char != p["interrupt_string"] || mi.BootloaderPrompt != p["menu_prompt"] {
			t.Errorf("menu interrupt %+v; LAVA's parameters %v", mi, p)
		}
		menu := stepOf(t, plan, "uefi-shell-menu-selector").Menu
		shell := p["shell_menu"].(string)
		if want := lavaBlocks(t, menus[shell].([]any), shell); !reflect.DeepEqual(menu.Blocks, want) {
			t.Errorf("shell menu blocks %+v, LAVA's %+v", menu.Blocks, want)
		}
		if got := stepOf(t, plan, "uefi-shell-menu-boot-message").Expect.Patterns[0].Regex; got != p["menu_boot_message"] {
			t.Errorf("menu boot message %q; LAVA's parameters %v", got, p)
		}
		si := stepOf(t, plan, "uefi-shell-interrupt").Interrupt
		if si.Prompt != p["shell_interrupt_prompt"] || si.Char != p["shell_interrupt_string"] || si.BootloaderPrompt != p["bootloader_prompt"] {
			t.Errorf("shell interrupt %+v; LAVA's parameters %v", si, p)
		}
		r := strings.NewReplacer(uefiSubs...)
		var want []string
		for _, c := range toStrings(l) {
			want = append(want, r.Replace(c)+"\r")
		}
		if got := stepOf(t, plan, "bootloader-commands").Commands.Commands; !reflect.DeepEqual(got, want) {
			t.Errorf("%s: commands\n  %q\nLAVA's\n  %q", name, got, want)
		}
		if got := stepOf(t, plan, "kernel-start").Expect.Patterns[0].Regex; got != p["boot_message"] {
			t.Errorf("boot message %q; LAVA's parameters %v", got, p)
		}
	}
}

// TestUEFIMenuDefaultsAgreeWithLAVA checks the planner's defaults (a
// device with no uefi-menu settings) against LAVA's base.jinja2 values
// that mustang-uefi.jinja2 renders.
func TestUEFIMenuDefaultsAgreeWithLAVA(t *testing.T) {
	types := filepath.Join(testenv.LAVADebian(t), "usr", "share", "lava-server", "device-types")
	stdin, _ := json.Marshal([]map[string]any{{"name": "d", "template": "mustang-uefi.jinja2", "vars": map[string]any{}}})
	var renders map[string]string
	if err := json.Unmarshal(testenv.LAVAPython(t, lavaRenderVars, stdin, types), &renders); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Actions struct {
			Boot struct {
				Methods map[string]struct {
					Parameters map[string]any `yaml:"parameters"`
				} `yaml:"methods"`
			} `yaml:"boot"`
		} `yaml:"actions"`
	}
	if err := yaml.Unmarshal([]byte(renders["d"]), &doc); err != nil {
		t.Fatal(err)
	}
	p := doc.Actions.Boot.Methods["uefi-menu"].Parameters
	s := sdk.Values{"uefi_menu_commands": map[string]any{"x": []any{map[string]any{"select": map[string]any{"items": []any{"Shell"}}}}}}
	plan, err := UEFIMenuPlan(uefiRequest("uefi-menu", "x"), s)
	if err != nil {
		t.Fatal(err)
	}
	intr := stepOf(t, plan, "uefi-menu-interrupt").Interrupt
	menu := stepOf(t, plan, "uefi-menu-selector").Menu
	got := map[string]any{"interrupt_prompt": intr.Prompt, "interrupt_string": intr.Char, "bootloader_prompt": intr.BootloaderPrompt,
		"item_markup": menu.ItemMarkup, "item_class": menu.ItemClass, "separator": menu.Separator, "label_class": menu.LabelClass}
	for k, v := range got {
		w := p[k]
		if l, ok := w.([]any); ok {
			w = toStrings(l)
		}
		if !reflect.DeepEqual(v, w) {
			t.Errorf("%s: default %q, LAVA's base.jinja2 %q", k, v, w)
		}
	}
}
