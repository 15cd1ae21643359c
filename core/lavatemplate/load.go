package lavatemplate

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Verdict is one template's import result: Type when imported, Err (the
// reason) when refused. A base template has neither: Base says so.
type Verdict struct {
	Name string
	Path string
	Type *Type
	Base bool
	Err  error
}

// String is the one-line verdict.
func (v Verdict) String() string {
	switch {
	case v.Base:
		if d := DriverForBase(v.Name); d != "" {
			return fmt.Sprintf("%s: base template (driver %s), not a device type", v.Name, d)
		}
		return fmt.Sprintf("%s: base template, not a device type", v.Name)
	case v.Err != nil:
		return fmt.Sprintf("%s: refused: %v", v.Name, v.Err)
	}
	s := fmt.Sprintf("%s: imported (base %s, driver %s", v.Name, v.Type.Base, v.Type.Driver)
	if len(v.Type.Notes) > 0 {
		s += "; " + strings.Join(v.Type.Notes, "; ")
	}
	return s + ")"
}

// Files lists the templates (*.jinja2) that paths name: files as given,
// folders' *.jinja2 files (not recursive), by name.
func Files(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("device-type templates: %w", err)
		}
		if !st.IsDir() {
			out = append(out, p)
			continue
		}
		m, err := filepath.Glob(filepath.Join(p, "*.jinja2"))
		if err != nil {
			return nil, fmt.Errorf("device-type templates in %s: %w", p, err)
		}
		out = append(out, m...)
	}
	slices.SortStableFunc(out, func(a, b string) int { return strings.Compare(filepath.Base(a), filepath.Base(b)) })
	return out, nil
}

// ImportPaths imports every template that paths name (files or folders).
// A template's ancestors are looked up among the templates given, then in
// the folders of the files given. Every template gets a verdict.
func ImportPaths(paths []string) ([]Verdict, error) {
	files, err := Files(paths)
	if err != nil {
		return nil, err
	}
	byName := map[string]string{}
	var dirs []string
	for _, f := range files {
		n := strings.TrimSuffix(filepath.Base(f), ".jinja2")
		if _, dup := byName[n]; !dup {
			byName[n] = f
		}
		if d := filepath.Dir(f); !slices.Contains(dirs, d) {
			dirs = append(dirs, d)
		}
	}
	cache := map[string]string{}
	find := func(name string) (string, bool) {
		if t, ok := cache[name]; ok {
			return t, true
		}
		cands := []string{}
		if p, ok := byName[name]; ok {
			cands = append(cands, p)
		}
		for _, d := range dirs {
			cands = append(cands, filepath.Join(d, name+".jinja2"))
		}
		for _, p := range cands {
			b, err := os.ReadFile(p)
			if err == nil {
				if len(b) > MaxSize {
					return "", false
				}
				cache[name] = string(b)
				return string(b), true
			}
		}
		return "", false
	}
	var out []Verdict
	for _, f := range files {
		n := strings.TrimSuffix(filepath.Base(f), ".jinja2")
		v := Verdict{Name: n, Path: f}
		if DriverForBase(n) != "" || n == "base" || strings.HasPrefix(n, "base-") {
			v.Base = true
		} else {
			v.Type, v.Err = Import(n, find)
		}
		out = append(out, v)
	}
	return out, nil
}

// IsTemplate says text is a Jinja2 template (it starts with a {% or {#
// tag) rather than YAML.
func IsTemplate(text string) bool {
	t := strings.TrimSpace(text)
	return strings.HasPrefix(t, "{%") || strings.HasPrefix(t, "{#")
}

// StoredSources returns a find function over stored types (each type's
// own template text, by name), for importing one template whose parents
// were imported before.
func StoredSources(stored map[string]string) func(string) (string, bool) {
	texts := map[string]string{}
	for _, s := range stored {
		t, err := Unmarshal(s)
		if err != nil {
			continue
		}
		for _, src := range t.Chain {
			if _, ok := texts[src.Name]; !ok {
				texts[src.Name] = src.Text
			}
		}
	}
	return func(name string) (string, bool) {
		t, ok := texts[name]
		return t, ok
	}
}
