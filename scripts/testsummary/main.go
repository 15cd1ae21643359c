package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// event is one line of `go test -json` (cmd/test2json's TestEvent, with
// the build events cmd/go adds).
type event struct {
	Action     string `json:"Action"`
	Package    string `json:"Package"`
	Test       string `json:"Test"`
	Output     string `json:"Output"`
	ImportPath string `json:"ImportPath"`
}

// skip is a skipped test and its reason.
type skip struct {
	pkg, test, reason string
}

// summary accumulates a run.
type summary struct {
	out    io.Writer
	failed bool
	// buf holds each running top-level test's output, by package and test.
	buf map[string][]string
	// own holds each test's own output lines (its skip reason), by package and test.
	own   map[string][]string
	skips []skip
}

func key(pkg, test string) string { return pkg + "\x00" + test }

func topLevel(test string) string {
	name, _, _ := strings.Cut(test, "/")
	return name
}

// noise is a line of -json's verbose output that plain go test does not print.
func noise(line string) bool {
	for _, p := range []string{"=== RUN", "=== PAUSE", "=== CONT", "=== NAME"} {
		if strings.HasPrefix(line, p) {
			return true
		}
	}
	return false
}

func (s *summary) event(e event) {
	switch e.Action {
	case "build-output":
		fmt.Fprint(s.out, e.Output)
	case "build-fail":
		s.failed = true
	case "output":
		if e.Test == "" {
			// The package's own lines: ok, FAIL, no test files, a panic
			// outside a test. A plain run does not print the bare PASS.
			if e.Output != "PASS\n" {
				fmt.Fprint(s.out, e.Output)
			}
			return
		}
		k := key(e.Package, topLevel(e.Test))
		s.buf[k] = append(s.buf[k], e.Output)
		s.own[key(e.Package, e.Test)] = append(s.own[key(e.Package, e.Test)], e.Output)
	case "skip":
		if e.Test != "" {
			s.skips = append(s.skips, skip{e.Package, e.Test, reason(s.own[key(e.Package, e.Test)])})
		}
		s.done(e)
	case "pass":
		s.done(e)
	case "fail":
		s.failed = true
		if e.Test != "" && e.Test == topLevel(e.Test) {
			// As a plain run: the test's FAIL line, then what it logged.
			lines := s.buf[key(e.Package, e.Test)]
			head := "--- FAIL: " + e.Test + " "
			for _, line := range lines {
				if strings.HasPrefix(line, head) {
					fmt.Fprint(s.out, line)
				}
			}
			for _, line := range lines {
				if !noise(line) && !strings.HasPrefix(line, head) {
					fmt.Fprint(s.out, line)
				}
			}
		}
		s.done(e)
	}
}

// done forgets a finished test's output (a top-level test's buffer too).
func (s *summary) done(e event) {
	if e.Test == "" {
		return
	}
	delete(s.own, key(e.Package, e.Test))
	if e.Test == topLevel(e.Test) {
		delete(s.buf, key(e.Package, e.Test))
	}
}

// reason is a skipped test's message: its output less the RUN and SKIP lines.
func reason(lines []string) string {
	var parts []string
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" || noise(l) || strings.HasPrefix(l, "--- SKIP") {
			continue
		}
		parts = append(parts, l)
	}
	if len(parts) == 0 {
		return "(no reason given)"
	}
	return strings.Join(parts, " ")
}

// report writes the skip summary: the skipped tests by package, each with
// its reason, and how many there were.
func (s *summary) report(module string) {
	if len(s.skips) == 0 {
		fmt.Fprintln(s.out, "\nskipped tests: none")
		return
	}
	sort.SliceStable(s.skips, func(i, j int) bool {
		if s.skips[i].pkg != s.skips[j].pkg {
			return s.skips[i].pkg < s.skips[j].pkg
		}
		return s.skips[i].test < s.skips[j].test
	})
	fmt.Fprintf(s.out, "\nskipped tests: %d (under CI=true a test that needs a missing tool fails instead)\n", len(s.skips))
	for _, k := range s.skips {
		pkg := strings.TrimPrefix(strings.TrimPrefix(k.pkg, module), "/")
		if pkg == "" {
			pkg = k.pkg
		}
		fmt.Fprintf(s.out, "  %s %s: %s\n", pkg, k.test, k.reason)
	}
}

func run(in io.Reader, out io.Writer, module string) (failed bool, err error) {
	s := &summary{out: out, buf: map[string][]string{}, own: map[string][]string{}}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil || e.Action == "" {
			// Not an event (go vet, a tool's message): as is.
			fmt.Fprintf(out, "%s\n", line)
			continue
		}
		s.event(e)
	}
	if err := sc.Err(); err != nil {
		return true, fmt.Errorf("reading go test -json: %w", err)
	}
	s.report(module)
	return s.failed, nil
}

func main() {
	module := "github.com/lavalab/lavalab"
	if len(os.Args) > 1 {
		module = os.Args[1]
	}
	failed, err := run(os.Stdin, os.Stdout, module)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testsummary:", err)
		os.Exit(1)
	}
	if failed {
		fmt.Println("FAIL")
		os.Exit(1)
	}
}
