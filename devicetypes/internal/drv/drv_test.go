package drv

import (
	"reflect"
	"strings"
	"testing"

	"github.com/lavalab/lavalab/sdk"
)

func TestEffective(t *testing.T) {
	specs, err := sdk.ParseSettings([]byte("# m\nmemory: 512\n# a\narch: ''\n# l\nextra_options: []\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name          string
		settings, ctx sdk.Values
		key           string
		want          any
	}{
		{"default", nil, nil, "memory", 512},
		{"context over default", nil, sdk.Values{"memory": 2048.0}, "memory", 2048.0},
		{"context over a merged default", sdk.Values{"memory": 512.0}, sdk.Values{"memory": 2048.0}, "memory", 2048.0},
		{"dictionary over context", sdk.Values{"memory": 1024.0}, sdk.Values{"memory": 2048.0}, "memory", 1024.0},
		{"unknown context key ignored", nil, sdk.Values{"nope": 1.0}, "nope", nil},
		{"list default", sdk.Values{"extra_options": []any{}}, sdk.Values{"extra_options": []any{"-smp"}}, "extra_options", []any{"-smp"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Effective(specs, sdk.PlanRequest{Settings: tc.settings, Context: tc.ctx})[tc.key]
			if !same(got, tc.want) {
				t.Fatalf("%s = %#v, want %#v", tc.key, got, tc.want)
			}
		})
	}
}

func TestRoles(t *testing.T) {
	got := Roles(sdk.Values{"tee": 1, "kernel": 1, "nfsrootfs": 1, "os": "oe"})
	if len(got) != 3 || got[0] != "kernel" || got[1] != "tee" || got[2] != "nfsrootfs" {
		t.Fatalf("roles %q", got)
	}
}

// TestParsedSettings: an info whose settings were parsed ahead answers as
// one that parses them on each call, and a caller cannot change the cache.
func TestParsedSettings(t *testing.T) {
	text := []byte("# The console.\nconsole_device: ttyS0\n# Baud.\nbaud_rate: 115200\n")
	plain := Info{Name: "x", Version: "1", Settings: text}
	ahead := plain.Parsed()
	a, errA := plain.Specs()
	b, errB := ahead.Specs()
	if errA != nil || errB != nil || !reflect.DeepEqual(a, b) || !reflect.DeepEqual(plain.Describe(), ahead.Describe()) {
		t.Fatalf("parsed ahead %v %v, on each call %v %v", b, errB, a, errA)
	}
	b[0].Key = "changed"
	if c, _ := ahead.Specs(); c[0].Key != "console_device" {
		t.Fatalf("the cached settings were changed through a returned slice: %v", c)
	}
	broken := Info{Name: "x", Settings: []byte("no help: here\n")}.Parsed()
	if _, err := broken.Specs(); err == nil || !strings.Contains(broken.Describe().Summary, "BROKEN settings.yaml") {
		t.Fatalf("broken settings: %v, summary %q", err, broken.Describe().Summary)
	}
}
