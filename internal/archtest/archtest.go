package archtest

import (
	"fmt"
	"sort"
	"strings"
)

// Module is the import path of the lab's module; the sdk's module is
// Module + "/sdk". Patterns and reported paths are relative to it.
const Module = "github.com/lavalab/lavalab"

// Package is one package and the imports of its non-test files, both as
// import paths relative to Module when they are in this repository.
type Package struct {
	Path    string
	Imports []string
}

// Violation is an import a rule refuses.
type Violation struct {
	Package, Import string
	Rule            *Rule
}

func (v Violation) String() string {
	return fmt.Sprintf("%s imports %s, which the rule %q refuses: %s", v.Package, v.Import, v.Rule.Name(), v.Rule.Why)
}

// Name is the rule as one line: "core/... (except core/worker) must not
// import plugins/... (except ...)".
func (r *Rule) Name() string {
	s := strings.Join(r.Packages, ", ")
	if len(r.Except) > 0 {
		s += " (except " + strings.Join(r.Except, ", ") + ")"
	}
	s += " must not import " + strings.Join(r.Forbidden, ", ")
	if len(r.Allowed) > 0 {
		s += " (except " + strings.Join(r.Allowed, ", ") + ")"
	}
	return s
}

// Relative returns path relative to Module and whether it is in this
// repository.
func Relative(path string) (string, bool) {
	if path == Module {
		return "", true
	}
	if rest, ok := strings.CutPrefix(path, Module+"/"); ok {
		return rest, true
	}
	return path, false
}

// standard reports whether an import path outside this repository is in the
// standard library (its first element has no dot, as `go list`'s Standard
// field says of the packages it lists).
func standard(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

// Match reports whether a relative import path (ours says whether it is in
// this repository) matches a pattern.
func Match(pattern, path string, ours bool) bool {
	switch {
	case pattern == "third-party":
		return !ours && !standard(path)
	case !ours:
		return false
	case pattern == "...":
		return true
	case strings.HasSuffix(pattern, "/..."):
		base := strings.TrimSuffix(pattern, "/...")
		return path == base || strings.HasPrefix(path, base+"/")
	}
	return path == pattern
}

func matchAny(patterns []string, path string, ours bool) bool {
	for _, p := range patterns {
		if Match(p, path, ours) {
			return true
		}
	}
	return false
}

// Check returns every import of pkgs that a rule refuses, sorted by package
// and import. Package paths are relative to Module; imports are full import
// paths.
func Check(rules []Rule, pkgs []Package) []Violation {
	var out []Violation
	for _, p := range pkgs {
		for i := range rules {
			r := &rules[i]
			if !matchAny(r.Packages, p.Path, true) || matchAny(r.Except, p.Path, true) {
				continue
			}
			for _, imp := range p.Imports {
				rel, ours := Relative(imp)
				if rel == p.Path {
					continue
				}
				if matchAny(r.Forbidden, rel, ours) && !matchAny(r.Allowed, rel, ours) {
					out = append(out, Violation{Package: p.Path, Import: rel, Rule: r})
				}
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Package != out[j].Package {
			return out[i].Package < out[j].Package
		}
		return out[i].Import < out[j].Import
	})
	return out
}

// Unused returns the patterns of Packages and Except that match none of
// pkgs: a rule about a package that was moved or renamed checks nothing.
func Unused(rules []Rule, pkgs []Package) []string {
	var out []string
	for _, r := range rules {
		for _, pat := range append(append([]string{}, r.Packages...), r.Except...) {
			used := false
			for _, p := range pkgs {
				if Match(pat, p.Path, true) {
					used = true
					break
				}
			}
			if !used {
				out = append(out, fmt.Sprintf("%s (rule %q)", pat, r.Name()))
			}
		}
	}
	return out
}
