package pcboot

import (
	"strings"
	"testing"

	"github.com/lavalab/lavalab/sdk"
)

// TestMenuBlocks reads LAVA's menu lists and refuses malformed ones with
// the entry that is wrong.
func TestMenuBlocks(t *testing.T) {
	sel := func(m map[string]any) map[string]any { return map[string]any{"select": m} }
	cases := []struct {
		name    string
		list    any
		want    string // the blocks, summarised
		errText string
	}{
		{"items wait enter", []any{sel(map[string]any{"items": []any{"Boot Manager"}, "wait": "Choice:"}), sel(map[string]any{"enter": "y"})},
			"items=[Boot Manager] wait=Choice: | enter=y", ""},
		{"escape fallback", []any{sel(map[string]any{"items": []any{"A"}, "fallback": "B"}), sel(map[string]any{"escape": true, "wait": "Start:"})},
			"items=[A] fallback=B | escape wait=Start:", ""},
		{"enter not a string", []any{sel(map[string]any{"enter": 3})}, "enter=3", ""},
		{"not a list", map[string]any{}, "", "a list of {select: ...}"},
		{"no select", []any{map[string]any{"items": []any{"A"}}}, "", "menu entry 1: no select"},
		{"unknown key", []any{sel(map[string]any{"items": []any{"A"}, "typo": 1})}, "", `menu entry 1: unknown key "typo"`},
		{"selects nothing", []any{sel(map[string]any{"wait": "x"})}, "", "menu entry 1 selects nothing"},
		{"items not a list", []any{sel(map[string]any{"items": "A"})}, "", "items is not a list"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bs, err := MenuBlocks(c.list)
			if c.errText != "" {
				if err == nil || !strings.Contains(err.Error(), c.errText) {
					t.Fatalf("error %v, want %q", err, c.errText)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var parts []string
			for _, b := range bs {
				var f []string
				if b.Items != nil {
					f = append(f, "items=["+strings.Join(b.Items, ",")+"]")
				}
				if b.Fallback != "" {
					f = append(f, "fallback="+b.Fallback)
				}
				if b.Escape {
					f = append(f, "escape")
				}
				if b.Enter != nil {
					f = append(f, "enter="+*b.Enter)
				}
				if b.Wait != "" {
					f = append(f, "wait="+b.Wait)
				}
				parts = append(parts, strings.Join(f, " "))
			}
			if got := strings.Join(parts, " | "); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

// TestUEFIMenuPlanSteps: the steps of a uefi-menu boot, and LAVA's
// fastboot variant (a list named for fastboot): no connect, no reset.
func TestUEFIMenuPlanSteps(t *testing.T) {
	list := []any{map[string]any{"select": map[string]any{"items": []any{"Shell"}}}}
	s := sdk.Values{"uefi_menu_commands": map[string]any{"ramdisk": list, "fastboot": list},
		"power_off_command": "off", "power_on_command": "on"}
	for _, c := range []struct{ list, want string }{
		{"ramdisk", "connect menu-connect, power power-off, power power-on, interrupt uefi-menu-interrupt, menu uefi-menu-selector, expect kernel-start"},
		{"fastboot", "interrupt uefi-menu-interrupt, menu uefi-menu-selector, expect kernel-start"},
	} {
		plan, err := UEFIMenuPlan(uefiRequest("uefi-menu", c.list), s)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, st := range plan.Steps {
			got = append(got, st.Kind+" "+st.Name)
		}
		if strings.Join(got, ", ") != c.want {
			t.Errorf("%s: steps %s, want %s", c.list, strings.Join(got, ", "), c.want)
		}
	}
}
