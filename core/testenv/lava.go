package testenv

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Data returns testdata/lava/<rel> under the repository root: the LAVA-shaped
// job files, device dictionaries and expected command lists this project
// wrote for its tests (testdata/lava/README.md). They are part of the
// repository, so a missing file is a failure, never a skip.
func Data(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(RepoRoot(t), "testdata", "lava", rel)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("test data: %v", err)
	}
	return p
}

// LAVADebian returns the folder where scripts/lava-debian.sh unpacked LAVA
// 2023.01's Debian packages (lava-server's device-type templates,
// lava-common's job schema) and the Python libraries that run them,
// fetching them on the first call. When they cannot be fetched (no apt-get,
// no network) the test skips with the reason, or fails under CI.
func LAVADebian(t testing.TB) string {
	t.Helper()
	cmd := exec.Command("bash", filepath.Join(RepoRoot(t), "scripts", "lava-debian.sh"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	reason := strings.TrimSpace(stderr.String())
	if i := strings.LastIndexByte(reason, '\n'); i >= 0 {
		reason = reason[i+1:]
	}
	if err != nil && reason == "" {
		reason = err.Error()
	}
	Need(t, err == nil, "LAVA's Debian packages are not available: "+reason)
	return strings.TrimSpace(string(out))
}

// LAVAPython runs a Python 3 program with LAVA's Debian packages (see
// LAVADebian) first on its module path, stdin as its input, and returns its
// standard output. A failing program fails the test with its error output.
func LAVAPython(t testing.TB, program string, stdin []byte, args ...string) []byte {
	t.Helper()
	root := LAVADebian(t)
	py := NeedTool(t, "python3")
	cmd := exec.Command(py, append([]string{"-c", program}, args...)...)
	cmd.Env = append(os.Environ(), "PYTHONPATH="+filepath.Join(root, "usr", "lib", "python3", "dist-packages"), "PYTHONDONTWRITEBYTECODE=1")
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3 with LAVA's packages: %v\n%s", err, stderr.String())
	}
	return out
}
