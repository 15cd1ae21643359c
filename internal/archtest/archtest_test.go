package archtest_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lavalab/lavalab/core/testenv"
	"github.com/lavalab/lavalab/internal/archtest"
)

// goList lists the packages of the module in dir (non-test imports).
func goList(t *testing.T, dir string) []archtest.Package {
	t.Helper()
	cmd := exec.Command(testenv.NeedTool(t, "go"), "list", "-e", "-json=ImportPath,Imports,Error", "./...")
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list in %s: %v\n%s", dir, err, stderr.String())
	}
	var pkgs []archtest.Package
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			ImportPath string
			Imports    []string
			Error      *struct{ Err string }
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list in %s: %v", dir, err)
		}
		if p.Error != nil {
			t.Errorf("go list: %s: %s", p.ImportPath, p.Error.Err)
		}
		rel, ours := archtest.Relative(p.ImportPath)
		if !ours {
			t.Fatalf("go list in %s listed %s, outside %s", dir, p.ImportPath, archtest.Module)
		}
		pkgs = append(pkgs, archtest.Package{Path: rel, Imports: p.Imports})
	}
	return pkgs
}

// TestImportRules checks every rule of rules.go against the lab's module and
// the sdk's.
func TestImportRules(t *testing.T) {
	root := testenv.RepoRoot(t)
	pkgs := append(goList(t, root), goList(t, filepath.Join(root, "sdk"))...)
	if len(pkgs) < 50 {
		t.Fatalf("go list found %d packages; expected the whole repository", len(pkgs))
	}
	for _, v := range archtest.Check(archtest.Rules, pkgs) {
		t.Error(v)
	}
	for _, u := range archtest.Unused(archtest.Rules, pkgs) {
		t.Errorf("rules.go: the pattern %s matches no package", u)
	}
}

// TestCheck checks the checker on a made-up repository.
func TestCheck(t *testing.T) {
	m := archtest.Module + "/"
	rules := []archtest.Rule{
		{Packages: []string{"core/..."}, Except: []string{"core/worker"}, Forbidden: []string{"plugins/..."}, Why: "core owns the interface"},
		{Packages: []string{"sdk"}, Forbidden: []string{"...", "third-party"}, Why: "std only"},
		{Packages: []string{"plugins/..."}, Forbidden: []string{"core/..."}, Allowed: []string{"core/drivers"}, Why: "hosts"},
	}
	pkgs := []archtest.Package{
		{Path: "core/dispatch", Imports: []string{"fmt", m + "plugins", m + "core/model"}},
		{Path: "core/dispatch/sub", Imports: []string{m + "plugins/wasm"}},
		{Path: "core/worker", Imports: []string{m + "plugins/wasm"}},
		{Path: "coreish", Imports: []string{m + "plugins"}},
		{Path: "sdk", Imports: []string{"encoding/json", "gopkg.in/yaml.v3", m + "core/model"}},
		{Path: "plugins/wasm", Imports: []string{m + "core/drivers", m + "core/store", m + "plugins"}},
	}
	var got []string
	for _, v := range archtest.Check(rules, pkgs) {
		got = append(got, v.Package+" -> "+v.Import+": "+v.Rule.Why)
	}
	want := []string{
		"core/dispatch -> plugins: core owns the interface",
		"core/dispatch/sub -> plugins/wasm: core owns the interface",
		"plugins/wasm -> core/store: hosts",
		"sdk -> core/model: std only",
		"sdk -> gopkg.in/yaml.v3: std only",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("violations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	msg := archtest.Check(rules, pkgs)[0].String()
	for _, part := range []string{"core/dispatch", "imports plugins", "core/... (except core/worker) must not import plugins/...", "core owns the interface"} {
		if !strings.Contains(msg, part) {
			t.Errorf("message %q does not name %q", msg, part)
		}
	}
	if u := archtest.Unused(append(rules, archtest.Rule{Packages: []string{"gone/..."}}), pkgs); len(u) != 1 || !strings.HasPrefix(u[0], "gone/...") {
		t.Errorf("Unused = %q, want the gone/... pattern only", u)
	}
}
