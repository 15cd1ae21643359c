package job

import (
	"fmt"
	"maps"
	"strings"
	"testing"
)

func TestMetadataOf(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       map[string]string
		err        string
	}{
		{"none", "job_name: x\n", nil, ""},
		{"empty", "job_name: x\nmetadata: {}\n", nil, ""},
		{"not a mapping", "job_name: x\nmetadata: [a, b]\n", nil, ""},
		{"flat", "metadata:\n  kernel.version: \"6.1\"\n  build: 42\n  rc: 1.10\n  flag: true\n  none:\n",
			map[string]string{"kernel.version": "6.1", "build": "42", "rc": "1.10", "flag": "true", "none": ""}, ""},
		{"nested flattened with dots", "metadata:\n  kernel:\n    version: 6.1\n    tree: [mainline, next]\n",
			map[string]string{"kernel.version": "6.1", "kernel.tree.0": "mainline", "kernel.tree.1": "next"}, ""},
		{"integer key", "metadata:\n  7: seven\n", map[string]string{"7": "seven"}, ""},
		{"anchors", "x: &v abc\nmetadata:\n  a: *v\n", map[string]string{"a": "abc"}, ""},
		{"NUL", "metadata:\n  \"a\\0\": \"\\xff\"\n", map[string]string{"a\uFFFD": "\u00ff"}, ""},
		{"not YAML", "metadata: [\n", nil, "invalid YAML"},
		{"too many", "metadata:\n  l: [" + strings.Repeat("1, ", maxMetadataEntries) + "1]\n", nil, "entries"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := MetadataOf([]byte(tc.text))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got, tc.want) || (got == nil) != (tc.want == nil) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
			// From a parsed definition: the same, never nil.
			if d, _ := Parse([]byte(tc.text)); d != nil {
				if fm := d.FlatMetadata(); fm == nil || !maps.Equal(fm, tc.want) {
					t.Errorf("FlatMetadata = %v, want %v", fm, tc.want)
				}
			}
		})
	}
}

func TestMetadataValidation(t *testing.T) {
	var b strings.Builder
	b.WriteString("metadata:\n")
	for i := range maxMetadataEntries + 1 {
		fmt.Fprintf(&b, "  k%d: v\n", i)
	}
	_, rep := Parse([]byte(b.String()))
	found := false
	for _, is := range rep.Errors {
		found = found || (is.Path == "metadata" && strings.Contains(is.Message, "at most 1000"))
	}
	if !found {
		t.Errorf("metadata with %d entries: errors %v, want one at metadata", maxMetadataEntries+1, rep.Errors)
	}
}
