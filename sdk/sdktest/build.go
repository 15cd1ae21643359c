package sdktest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// builds caches Build's results for the test binary's run, by absolute
// package directory: every test of a package shares one build.
var builds sync.Map // string -> *build

type build struct {
	once sync.Once
	wasm []byte
	out  string // the go tool's output when the build failed
	err  error
}

// Build builds the Go main package in pkgDir (relative to the test's
// working directory, which `go test` sets to the package's own directory:
// "." is the package under test) as a WASM driver, the way the lab's
// `make drivers` does: GOOS=wasip1 GOARCH=wasm CGO_ENABLED=0, -trimpath,
// -ldflags '-s -w'. It returns the module's bytes. The first call for a
// directory builds (a second or two for a Go driver); later calls in the
// same test binary get the same bytes.
//
// Without a Go tool on PATH (or in $GOROOT/bin) the test is skipped, or
// fails when the environment variable CI is "true". A failed build fails
// the test with the compiler's output.
func Build(t testing.TB, pkgDir string) []byte {
	t.Helper()
	abs, err := filepath.Abs(pkgDir)
	if err != nil {
		t.Fatalf("sdktest: driver package %s: %v", pkgDir, err)
	}
	goTool := goTool(t)
	v, _ := builds.LoadOrStore(abs, &build{})
	b := v.(*build)
	b.once.Do(func() { b.wasm, b.out, b.err = goBuild(goTool, abs) })
	if b.err != nil {
		t.Fatalf("sdktest: building %s for wasip1/wasm: %v\n%s", pkgDir, b.err, b.out)
	}
	return b.wasm
}

// goTool finds the go command, or skips (fails under CI=true) the test.
func goTool(t testing.TB) string {
	t.Helper()
	if root := os.Getenv("GOROOT"); root != "" {
		p := filepath.Join(root, "bin", "go")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	p, err := exec.LookPath("go")
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("sdktest: building a driver needs the go command: %v", err)
	}
	t.Skipf("sdktest: skipped: building a driver needs the go command (%v)", err)
	return ""
}

func goBuild(goTool, dir string) ([]byte, string, error) {
	tmp, err := os.MkdirTemp("", "sdktest-build-*")
	if err != nil {
		return nil, "", err
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "driver.wasm")
	cmd := exec.CommandContext(context.Background(), goTool, "build", "-trimpath", "-ldflags", "-s -w", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, string(b), err
	}
	wasm, err := os.ReadFile(out)
	return wasm, "", err
}
