package job

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/lavalab/lavalab/core/testenv"
)

// TestIssue17ExamplesValidForLAVA: the example jobs of issue 17's boot
// methods are valid jobs for LAVA 2023.01's own strict schema.
func TestIssue17ExamplesValidForLAVA(t *testing.T) {
	root := testenv.RepoRoot(t)
	var files []string
	for _, n := range []string{"barebox-ramdisk", "depthcharge-ramdisk", "ssh-smoke", "vlab-bootloader", "uboot-nbd", "uefi-menu-ramdisk", "uefi-shell-ramdisk"} {
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
