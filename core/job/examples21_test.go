package job

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/lavalab/lavalab/core/testenv"
)

// TestIssue21DockerExamplesValidForLAVA: the docker example jobs (the
// docker device type, the docker test action) are valid jobs for LAVA
// 2023.01's own strict schema.
func TestIssue21DockerExamplesValidForLAVA(t *testing.T) {
	root := testenv.RepoRoot(t)
	var files []string
	for _, n := range []string{"docker-smoke", "docker-test-action"} {
		files = append(files, filepath.Join(root, "examples", "jobs", n+".yaml"))
	}
	var got map[string]string
	if err := json.Unmarshal(testenv.LAVAPython(t, lavaValidate, nil, files...), &got); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if got[f] != "valid" {
			t.Errorf("%s: LAVA's schema says %q", filepath.Base(f), got[f])
		}
	}
}
