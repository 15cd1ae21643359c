package hosttools

import (
	"errors"
	"strings"
	"testing"
)

func TestParseFlag(t *testing.T) {
	for _, tc := range []struct {
		in      string
		name    string
		targets []string
		err     string
	}{
		{"sh", "sh", nil, ""},
		{"sh@local", "sh", []string{"local"}, ""},
		{"qemu-system-aarch64@qemu,qemu-01", "qemu-system-aarch64", []string{"qemu", "qemu-01"}, ""},
		{"/bin/sh@local", "", nil, "not a bare program name"},
		{"sh@", "", nil, "empty device type or device"},
		{"sh@a,,b", "", nil, "empty device type or device"},
		{"", "", nil, "not a bare program name"},
		{"rm -rf", "", nil, "not a bare program name"},
		{"-x", "", nil, "not a bare program name"},
	} {
		r, err := ParseFlag(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseFlag(%q) error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || r.Name != tc.name || strings.Join(r.DeviceTypes, ",") != strings.Join(tc.targets, ",") {
			t.Errorf("ParseFlag(%q) = %+v, %v", tc.in, r, err)
		}
	}
}

func TestResolve(t *testing.T) {
	p, err := New(
		Rule{Name: "sh", DeviceTypes: []string{"local"}},
		Rule{Name: "true", Devices: []string{"board-1"}},
		Rule{Name: "true", DeviceTypes: []string{"qemu"}},
		Rule{Name: "uuu", Path: "/opt/nxp/uuu"},
		Rule{Name: "no-such-tool-here"},
	)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		tool, device, devType string
		want, err             string
	}{
		{"sh", "local-01", "local", "sh", ""},
		{"sh", "board-1", "soca9", "", "allowed on this worker for device types local, not for device board-1 (device type soca9)"},
		{"true", "board-1", "soca9", "true", ""},
		{"true", "qemu-01", "qemu", "true", ""},
		{"true", "board-2", "soca9", "", "not for device board-2"},
		{"uuu", "any", "imx8mn-evk", "/opt/nxp/uuu", ""},
		{"fastboot", "any", "hikey", "", "is not allowed on this worker for device any (device type hikey): its admin allows it with `lava-worker --allow-tool fastboot@hikey`"},
		{"no-such-tool-here", "d", "t", "", "not found in the worker's PATH"},
		{"../sh", "d", "t", "", "not a bare program name"},
	} {
		got, err := p.Resolve(tc.tool, tc.device, tc.devType)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Resolve(%s, %s, %s) error %v, want %q", tc.tool, tc.device, tc.devType, err, tc.err)
			}
			continue
		}
		if err != nil || !strings.HasSuffix(got, tc.want) {
			t.Errorf("Resolve(%s, %s, %s) = %q, %v; want %q", tc.tool, tc.device, tc.devType, got, err, tc.want)
		}
	}
	var denied *DeniedError
	if _, err := p.Resolve("fastboot", "d", "t"); !errors.As(err, &denied) {
		t.Errorf("a tool not listed is not a DeniedError: %v", err)
	}
	var none *Policy
	if _, err := none.Resolve("sh", "d", "local"); !errors.As(err, &denied) || none.Allowed("sh", "d", "local") {
		t.Errorf("a nil policy allows: %v", err)
	}
}

func TestNewRefusesConflicts(t *testing.T) {
	if _, err := New(Rule{Name: "uuu", Path: "/a"}, Rule{Name: "uuu", Path: "/b"}); err == nil || !strings.Contains(err.Error(), "two paths") {
		t.Errorf("two paths: %v", err)
	}
	// A rule for every device widens a narrower one.
	p, err := New(Rule{Name: "sh", DeviceTypes: []string{"local"}}, Rule{Name: "sh"})
	if err != nil || !p.Allowed("sh", "x", "soca9") {
		t.Errorf("widening: %v %v", p, err)
	}
}

func TestParseFile(t *testing.T) {
	rules, err := ParseFile([]byte("tools:\n  - name: qemu-system-aarch64\n    device_types: [qemu]\n  - name: uuu\n    path: /opt/uuu\n    devices: [imx-1]\n"))
	if err != nil || len(rules) != 2 || rules[1].Path != "/opt/uuu" || rules[0].DeviceTypes[0] != "qemu" {
		t.Fatalf("rules %+v, %v", rules, err)
	}
	for _, bad := range []string{
		"tools:\n  - name: sh\n    device_type: [local]\n", // misspelt key
		"tools:\n  - name: /bin/sh\n",
		"tools: nope\n",
	} {
		if _, err := ParseFile([]byte(bad)); err == nil {
			t.Errorf("ParseFile(%q) accepted", bad)
		}
	}
	if rules, err := ParseFile(nil); err != nil || rules != nil {
		t.Errorf("empty file: %v %v", rules, err)
	}
}

func FuzzParseFlag(f *testing.F) {
	for _, s := range []string{"sh", "sh@local", "a@b,c", "@", "x@@y", "/bin/sh"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseFlag(s)
		if err != nil {
			return
		}
		if _, err := New(r); err != nil {
			t.Fatalf("ParseFlag(%q) gave a rule New refuses: %v", s, err)
		}
	})
}
