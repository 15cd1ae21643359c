package worker_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/lavalab/lavalab/core/testenv"
	"github.com/lavalab/lavalab/core/worker"
)

// TestWorkerDockerfile (issue 21): the lava-worker image's entrypoint
// passes flags lava-worker has, with --auto-upgrade among them.
func TestWorkerDockerfile(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "docker", "lava-worker", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)ENTRYPOINT \[(.*?)\]`).FindSubmatch(b)
	if m == nil {
		t.Fatal("no ENTRYPOINT in docker/lava-worker/Dockerfile")
	}
	flags := regexp.MustCompile(`"(--[a-z-]+)"`).FindAllSubmatch(m[1], -1)
	if len(flags) == 0 || !bytes.Contains(m[1], []byte(`"--auto-upgrade"`)) {
		t.Fatalf("entrypoint %s: no flags, or no --auto-upgrade", m[1])
	}
	var out, errb bytes.Buffer
	worker.Main(context.Background(), []string{"--help"}, &out, &errb, nil)
	for _, f := range flags {
		if !strings.Contains(errb.String(), "  -"+strings.TrimPrefix(string(f[1]), "--")+" ") &&
			!strings.Contains(errb.String(), "  -"+strings.TrimPrefix(string(f[1]), "--")+"\n") {
			t.Errorf("the entrypoint's %s is not a lava-worker flag", f[1])
		}
	}
}
