package job

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lavalab/lavalab/core/testenv"
)

// verdict is what Parse says about a definition.
func verdict(r *Report) string {
	switch {
	case !r.OK():
		return "refuse"
	case len(r.Warnings) > 0:
		return "accept-with-warning"
	}
	return "accept"
}

// TestCorpusVerdicts checks every job listed in testdata/lava/jobs/verdicts.tsv:
// file, this project's verdict, and LAVA 2023.01's strict schema's answer
// (TestVerdictsAgreeWithLAVA checks that column against LAVA itself).
func TestCorpusVerdicts(t *testing.T) {
	dir := testenv.Data(t, "jobs")
	f, err := os.Open(filepath.Join(dir, "verdicts.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) < 2 || cols[0] == "file" {
			continue
		}
		file, want := cols[0], cols[1]
		n++
		t.Run(file, func(t *testing.T) {
			text, err := os.ReadFile(filepath.Join(dir, file))
			if err != nil {
				t.Fatal(err)
			}
			d, rep := Parse(text)
			if got := verdict(rep); got != want {
				t.Errorf("verdict %s, want %s (LAVA strict: %s)\nerrors: %v\nwarnings: %v", got, want, cols[2], rep.Errors, rep.Warnings)
			}
			if d == nil {
				t.Fatal("nil Definition for a YAML mapping")
			}
			if string(d.Text) != string(text) {
				t.Error("Text is not the verbatim submission")
			}
			for _, is := range append(rep.Errors, rep.Warnings...) {
				if is.Path == "" || is.Line <= 0 || is.Column <= 0 {
					t.Errorf("issue without path or position: %+v", is)
				}
			}
			if want == "refuse" && len(cols) > 2 {
				// LAVA's strict path, e.g. ['priority'], must be named by one of our errors.
				if key := lastStrictKey(cols[2]); key != "" {
					found := false
					for _, e := range rep.Errors {
						if strings.Contains(e.Path, key) || strings.Contains(e.Message, `"`+key+`"`) {
							found = true
						}
					}
					if !found {
						t.Errorf("no error names %q (LAVA: %s): %v", key, cols[2], rep.Errors)
					}
				}
			}
		})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n < 25 {
		t.Fatalf("only %d rows in verdicts.tsv", n)
	}
}

// lastStrictKey returns the last string key of a LAVA strict path such as
// "['actions[2]', 'test', 'definition', 'definitions', 0, 'name']: ...".
func lastStrictKey(s string) string {
	p, _, ok := strings.Cut(s, "]:")
	if !ok {
		return ""
	}
	parts := strings.Split(strings.Trim(p, "[ "), ",")
	for i := len(parts) - 1; i >= 0; i-- {
		k := strings.Trim(strings.TrimSpace(parts[i]), "'")
		if k != "" && !strings.HasPrefix(k, "actions[") && (k[0] < '0' || k[0] > '9') {
			return k
		}
	}
	return ""
}
