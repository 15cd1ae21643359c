package job

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lavalab/lavalab/core/testenv"
)

// lavaValidate runs LAVA's own job schema (lava_common.schemas.validate,
// strict, as lava-server's and lavacli's checks use it) on each file and
// prints {file: "valid" | "<path>: <message>"} as JSON.
const lavaValidate = `
import json, sys, yaml
from voluptuous import Invalid
from lava_common.schemas import validate
out = {}
for path in sys.argv[1:]:
    with open(path) as f:
        data = yaml.safe_load(f)
    try:
        validate(data, strict=True, extra_context_variables=[])
        out[path] = "valid"
    except Invalid as e:
        out[path] = "%s: %s" % (e.path, e.msg)
print(json.dumps(out))
`

// TestVerdictsAgreeWithLAVA checks the third column of verdicts.tsv, what
// LAVA's strict schema says of each job, against LAVA 2023.01's schema
// from Debian's lava-common: the expected verdicts rest on LAVA's, not on
// what this project believed LAVA says.
func TestVerdictsAgreeWithLAVA(t *testing.T) {
	dir := testenv.Data(t, "jobs")
	f, err := os.Open(filepath.Join(dir, "verdicts.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := map[string]string{}
	var files []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) < 3 || cols[0] == "file" {
			continue
		}
		p := filepath.Join(dir, cols[0])
		want[p] = cols[2]
		files = append(files, p)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	var got map[string]string
	if err := json.Unmarshal(testenv.LAVAPython(t, lavaValidate, nil, files...), &got); err != nil {
		t.Fatal(err)
	}
	for _, p := range files {
		if got[p] != want[p] {
			t.Errorf("%s: LAVA says %q, verdicts.tsv says %q", strings.TrimPrefix(p, dir+"/"), got[p], want[p])
		}
	}
	// Every job file is listed.
	all, err := filepath.Glob(filepath.Join(dir, "*", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range all {
		if _, ok := want[p]; !ok {
			t.Errorf("%s is not in verdicts.tsv", strings.TrimPrefix(p, dir+"/"))
		}
	}
}
