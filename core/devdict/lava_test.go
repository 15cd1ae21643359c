package devdict

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/lavalab/lavalab/core/testenv"
)

// jinja2Values evaluates each dictionary's top-level sets with jinja2's
// sandboxed environment as LAVA's server configures it (trim_blocks), every
// parent template empty, and prints {file: {name: value}} as JSON. Names
// that stay undefined (a name the dictionary does not set) are left out.
const jinja2Values = `
import json, sys, jinja2, jinja2.sandbox
class Loader(jinja2.BaseLoader):
    def get_source(self, env, name):
        if name.startswith("/"):
            with open(name) as f:
                return f.read(), name, lambda: True
        return "", None, lambda: True
env = jinja2.sandbox.SandboxedEnvironment(loader=Loader(), trim_blocks=True)
out = {}
for path in sys.argv[1:]:
    module = env.get_template(path).module
    out[path] = {k: v for k, v in vars(module).items()
                 if not k.startswith("_") and not isinstance(v, jinja2.Undefined)}
print(json.dumps(out))
`

// TestValuesAgreeWithJinja2 checks Parse against the oracle: jinja2 3.1
// from Debian 12 (the version LAVA 2023.01 runs on) evaluating the same
// dictionaries. Every value Parse reads must be jinja2's, and every value
// jinja2 defines must be read.
func TestValuesAgreeWithJinja2(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(testenv.Data(t, "devices"), "*.jinja2"))
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]map[string]any
	if err := json.Unmarshal(testenv.LAVAPython(t, jinja2Values, nil, files...), &want); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			d, err := Parse(mustRead(t, f))
			if err != nil {
				t.Fatal(err)
			}
			// Compare as JSON carries both (numbers as float64, tuples as lists).
			b, err := json.Marshal(d.Values)
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]any
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want[f]) {
				t.Errorf("Parse:  %v\njinja2: %v", got, want[f])
			}
		})
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
