package goldentest

// Issue 17: LAVA as the oracle of the barebox, depthcharge and ssh drivers.

import (
	"encoding/json"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/lavalab/lavalab/core/testenv"
)

// renderProgram renders device dictionaries the way lava-server 2023.01
// does: jinja2 with a FileSystemLoader on the dictionaries' folder then the
// device-type templates, trim_blocks, no autoescape; it prints {name:
// rendered YAML} as JSON.
const renderProgram = `
import json, sys, jinja2
devices, types = sys.argv[1:3]
env = jinja2.Environment(loader=jinja2.FileSystemLoader([devices, types]), trim_blocks=True, autoescape=False)
print(json.dumps({name: env.get_template(name).render() for name in sys.argv[3:]}))
`

// RenderLAVA renders dictionaries of testdata/lava/devices with LAVA
// 2023.01's own device-type templates (testenv.LAVADebian) and returns each
// device configuration parsed as YAML, by dictionary name.
func RenderLAVA(t *testing.T, names ...string) map[string]map[string]any {
	t.Helper()
	types := filepath.Join(testenv.LAVADebian(t), "usr", "share", "lava-server", "device-types")
	args := append([]string{testenv.Data(t, "devices"), types}, names...)
	var renders map[string]string
	if err := json.Unmarshal(testenv.LAVAPython(t, renderProgram, nil, args...), &renders); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]any{}
	for _, n := range names {
		var doc map[string]any
		if err := yaml.Unmarshal([]byte(renders[n]), &doc); err != nil {
			t.Fatalf("LAVA's rendering of %s is not YAML: %v\n%s", n, err, renders[n])
		}
		out[n] = doc
	}
	return out
}

// At walks a rendered configuration by keys: At(doc, "actions", "boot",
// "methods", "barebox") is that mapping, or nil.
func At(doc any, keys ...string) any {
	for _, k := range keys {
		m, ok := doc.(map[string]any)
		if !ok {
			return nil
		}
		doc = m[k]
	}
	return doc
}

// StringsAt is the list of strings At finds (nil when it is not a list).
func StringsAt(doc any, keys ...string) []string {
	l, ok := At(doc, keys...).([]any)
	if !ok {
		return nil
	}
	out := make([]string, 0, len(l))
	for _, x := range l {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

// SubstituteLAVA is LAVA's lava_dispatcher.utils.strings.substitute with
// drop=True, written out for the tests: each key with a value is replaced;
// a line holding a key whose value is empty is dropped when dropLine,
// else the key is replaced by nothing. Keys are applied in sorted order.
func SubstituteLAVA(cmds []string, subs map[string]string, dropLine bool) []string {
	keys := make([]string, 0, len(subs))
	for k := range subs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []string
	for _, line := range cmds {
		keep := true
		for _, k := range keys {
			v := subs[k]
			switch {
			case v != "":
				line = strings.ReplaceAll(line, k, v)
			case strings.Contains(line, k) && dropLine:
				keep = false
			case strings.Contains(line, k):
				line = strings.ReplaceAll(line, k, "")
			}
			if !keep {
				break
			}
		}
		if keep {
			out = append(out, line)
		}
	}
	return out
}
