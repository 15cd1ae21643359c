package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// testdata/run.json is `go test -json ./...` of a module "tj" with a
// passing test, a skipped subtest, a failing test and a package that does
// not build.
func TestRun(t *testing.T) {
	in, err := os.ReadFile("testdata/run.json")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	failed, err := run(bytes.NewReader(in), &out, "tj")
	if err != nil {
		t.Fatal(err)
	}
	if !failed {
		t.Error("a run with a failing test is not failed")
	}
	want := strings.Join([]string{
		"# tj/b [tj/b.test]",
		"b/b.go:2:12: undefined: y",
		"FAIL\ttj/b [build failed]",
		"--- FAIL: TestF (0.00s)",
		"    a_test.go:5: before",
		"    a_test.go:5: boom",
		"FAIL",
		"FAIL\ttj\t0.058s",
		"",
		"skipped tests: 1 (under CI=true a test that needs a missing tool fails instead)",
		"  tj TestS/sub: a_test.go:4: no qemu here",
		"",
	}, "\n")
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
	if strings.Contains(out.String(), "hello") || strings.Contains(out.String(), "=== RUN") {
		t.Error("a passing test's output or a RUN line is printed")
	}
}

func TestPassingRun(t *testing.T) {
	in := `{"Action":"start","Package":"m/p"}
{"Action":"run","Package":"m/p","Test":"TestA"}
{"Action":"output","Package":"m/p","Test":"TestA","Output":"=== RUN   TestA\n"}
{"Action":"output","Package":"m/p","Test":"TestA","Output":"--- PASS: TestA (0.00s)\n"}
{"Action":"pass","Package":"m/p","Test":"TestA"}
{"Action":"output","Package":"m/p","Output":"PASS\n"}
{"Action":"output","Package":"m/p","Output":"ok  \tm/p\t0.010s\n"}
{"Action":"pass","Package":"m/p"}
{"Action":"output","Package":"m/q","Output":"?   \tm/q\t[no test files]\n"}
{"Action":"skip","Package":"m/q"}
not json: a line from another tool
`
	var out bytes.Buffer
	failed, err := run(strings.NewReader(in), &out, "m")
	if err != nil || failed {
		t.Fatalf("failed %v, err %v", failed, err)
	}
	want := "ok  \tm/p\t0.010s\n?   \tm/q\t[no test files]\nnot json: a line from another tool\n\nskipped tests: none\n"
	if out.String() != want {
		t.Errorf("output:\n%q\nwant:\n%q", out.String(), want)
	}
}
