package api

import (
	"errors"
	"strings"
	"testing"

	"github.com/lavalab/lavalab/sdk"
)

func TestCheckSettings(t *testing.T) {
	specs := []sdk.SettingSpec{
		{Key: "bootz_dtb_addr", Type: sdk.SettingString, Default: "0x00001000"},
		{Key: "baud_rate", Type: sdk.SettingInt, Default: 115200},
		{Key: "uboot_needs_interrupt", Type: sdk.SettingBool, Default: true},
		{Key: "uboot_error_messages", Type: sdk.SettingList},
		{Key: "user_commands", Type: sdk.SettingMap},
	}
	tests := []struct {
		name    string
		values  map[string]any
		badKey  string
		wantMsg string
	}{
		{"empty", nil, "", ""},
		{"all types", map[string]any{"bootz_dtb_addr": "0x00002000", "baud_rate": float64(9600), "uboot_needs_interrupt": false,
			"uboot_error_messages": []any{"x"}, "user_commands": map[string]any{}}, "", ""},
		{"null removes", map[string]any{"baud_rate": nil}, "", ""},
		{"unknown key", map[string]any{"bootz_dtb_adr": "x"}, "bootz_dtb_adr", `setting "bootz_dtb_adr": unknown setting; the driver declares: baud_rate, bootz_dtb_addr, uboot_error_messages, uboot_needs_interrupt, user_commands`},
		{"number for a string", map[string]any{"bootz_dtb_addr": float64(4096)}, "bootz_dtb_addr", `setting "bootz_dtb_addr": want a string, got the number 4096`},
		{"fraction for an int", map[string]any{"baud_rate": 1.5}, "baud_rate", `setting "baud_rate": want an int, got the number 1.5`},
		{"string for a bool", map[string]any{"uboot_needs_interrupt": "yes"}, "uboot_needs_interrupt", `setting "uboot_needs_interrupt": want a bool, got the string "yes"`},
		{"map for a list", map[string]any{"uboot_error_messages": map[string]any{}}, "uboot_error_messages", "want a list, got a map"},
		{"first bad key by name", map[string]any{"zz": 1, "aa": 1}, "aa", "unknown setting"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckSettings(specs, tt.values)
			if tt.badKey == "" {
				if err != nil {
					t.Fatalf("error %v", err)
				}
				return
			}
			var se *SettingError
			if !errors.As(err, &se) || se.Key != tt.badKey {
				t.Fatalf("error %v, want one naming %q", err, tt.badKey)
			}
			if got := err.Error(); !strings.Contains(got, tt.wantMsg) {
				t.Errorf("message %q lacks %q", got, tt.wantMsg)
			}
		})
	}
}

func TestEffectiveSettings(t *testing.T) {
	specs := []sdk.SettingSpec{{Key: "b", Type: sdk.SettingString, Default: "db"}, {Key: "a", Type: sdk.SettingInt, Default: 1}}
	got := EffectiveSettings(specs, map[string]any{"a": float64(2), "zz": "extra"})
	want := []EffectiveSetting{
		{Key: "a", Value: float64(2), Source: SourceOverride, Type: sdk.SettingInt},
		{Key: "b", Value: "db", Source: SourceDefault, Type: sdk.SettingString},
		{Key: "zz", Value: "extra", Source: SourceOverride},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("%d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestDriversWithoutRegistry(t *testing.T) {
	e := newEnv(t)
	for _, r := range []struct{ method, path, body string }{
		{"GET", "/api/v1/drivers", ""},
		{"GET", "/api/v1/drivers/soca9", ""},
		{"POST", "/api/v1/drivers/soca9/rollback", ""},
	} {
		got := e.do(r.method, r.path, e.admin, "", r.body)
		if got.status != 503 || got.errorOf(t).Code != "unavailable" {
			t.Errorf("%s %s: %d %s", r.method, r.path, got.status, got.body)
		}
	}
	if got := e.do("POST", "/api/v1/drivers", e.bob, "application/wasm", "x"); got.status != 403 {
		t.Errorf("upload by a non-admin: %d", got.status)
	}
	// Without a registry, settings are stored unchecked, as before.
	if got := e.json("PUT", "/api/v1/device-types/qemu/settings", e.admin, `{"anything": 1}`); got.status != 200 {
		t.Errorf("settings without a registry: %d %s", got.status, got.body)
	}
}
