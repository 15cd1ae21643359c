package testbuild

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/lavalab/lavalab/core/testenv"
)

// Target platforms.
const (
	WASM   = "wasip1/wasm"
	Native = "" // the host's GOOS/GOARCH
)

// Build builds the main package in dir (relative to the repository root, e.g.
// "plugins/wasm/testdata/loop") for target with the given -ldflags, and
// returns the path of the binary in the cache. It fails the test when the
// build fails.
func Build(t testing.TB, dir, target, ldflags string) string {
	t.Helper()
	goTool := testenv.NeedTool(t, "go")
	root := testenv.RepoRoot(t)
	key, err := sourceKey(root, dir, target, ldflags)
	if err != nil {
		t.Fatalf("hashing the sources of %s: %v", dir, err)
	}
	cache := filepath.Join(os.TempDir(), "lavalab-testdrivers")
	if err := os.MkdirAll(cache, 0o755); err != nil {
		t.Fatal(err)
	}
	ext := ""
	if target == WASM {
		ext = ".wasm"
	}
	out := filepath.Join(cache, filepath.Base(dir)+"-"+key[:16]+ext)
	if _, err := os.Stat(out); err == nil {
		return out
	}
	tmp, err := os.CreateTemp(cache, ".build-*")
	if err != nil {
		t.Fatal(err)
	}
	tmp.Close()
	args := []string{"build", "-trimpath", "-o", tmp.Name()}
	if ldflags != "" {
		args = append(args, "-ldflags", ldflags)
	}
	args = append(args, "./"+dir)
	cmd := exec.Command(goTool, args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if target == WASM {
		cmd.Env = append(cmd.Env, "GOOS=wasip1", "GOARCH=wasm")
	}
	if b, err := cmd.CombinedOutput(); err != nil {
		os.Remove(tmp.Name())
		t.Fatalf("building %s for %q: %v\n%s", dir, target, err, b)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		t.Fatal(err)
	}
	return out
}

// Read is Build followed by reading the binary.
func Read(t testing.TB, dir, target, ldflags string) []byte {
	t.Helper()
	b, err := os.ReadFile(Build(t, dir, target, ldflags))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sourceKey hashes the package's files, the sdk's Go files (and
// devicetypes/internal for a device type's driver), go.mod/go.sum,
// the Go version, the target and the flags.
func sourceKey(root, dir, target, ldflags string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s/%s\x00", runtime.Version(), target, ldflags, runtime.GOOS, runtime.GOARCH)
	var files []string
	dirs := []string{dir, "sdk"}
	if strings.HasPrefix(dir, "devicetypes/") {
		// The device types share their helpers.
		dirs = append(dirs, "devicetypes/internal")
	}
	for _, d := range dirs {
		err := filepath.WalkDir(filepath.Join(root, d), func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if e.IsDir() && e.Name() == "testdata" && p != filepath.Join(root, dir) {
				return filepath.SkipDir
			}
			if !e.IsDir() && (strings.HasSuffix(p, ".go") || strings.HasSuffix(p, ".mod") || strings.HasSuffix(p, ".sum")) {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return "", err
		}
	}
	files = append(files, filepath.Join(root, "go.mod"), filepath.Join(root, "go.sum"))
	sort.Strings(files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", strings.TrimPrefix(f, root), len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
