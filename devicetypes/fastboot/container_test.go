package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/goldentest"
	"github.com/lavalab/lavalab/core/testenv"
	"github.com/lavalab/lavalab/sdk"
)

// engineImage is the image the container test imports from a local
// tarball (no registry is needed).
const engineImage = "localhost/lavalab-fastboot-test:latest"

// runningEngine returns a container engine CLI (podman or docker, or
// LAVALAB_CONTAINER_ENGINE) that runs a container here, with a busybox
// image imported from a tarball, or skips: outside CI always, in CI unless
// LAVALAB_CONTAINER_ENGINE says the machine has an engine (then it fails).
func runningEngine(t *testing.T) string {
	t.Helper()
	want := os.Getenv("LAVALAB_CONTAINER_ENGINE")
	need := func(ok bool, reason string) {
		t.Helper()
		if ok {
			return
		}
		if want != "" {
			testenv.Need(t, false, reason)
		}
		t.Skip(reason + " (set LAVALAB_CONTAINER_ENGINE=podman or docker where one runs)")
	}
	names := []string{"podman", "docker"}
	if want != "" {
		names = []string{want}
	}
	engine := ""
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			engine = p
			break
		}
	}
	need(engine != "", "no container engine CLI (podman, docker) is installed")
	busybox, err := exec.LookPath("busybox")
	need(err == nil, "busybox (the test image's only program) is not installed")

	// A one-program image: busybox as /bin/busybox and /bin/sh.
	root := filepath.Join(t.TempDir(), "rootfs")
	if err := os.MkdirAll(filepath.Join(root, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(busybox)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "bin", "busybox"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("busybox", filepath.Join(root, "bin", "sh")); err != nil {
		t.Fatal(err)
	}
	tarball := filepath.Join(t.TempDir(), "rootfs.tar")
	if out, err := exec.Command("tar", "-C", root, "-cf", tarball, ".").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, engine, "import", tarball, engineImage).CombinedOutput()
	need(err == nil, filepath.Base(engine)+" import fails here: "+firstLine(out))
	t.Cleanup(func() { _ = exec.Command(engine, "rmi", "-f", engineImage).Run() })
	out, err = exec.CommandContext(ctx, engine, "run", "--rm", engineImage, "/bin/busybox", "true").CombinedOutput()
	need(err == nil, filepath.Base(engine)+" cannot run a container here: "+firstLine(out))
	return engine
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	return s
}

// TestContainerRuns runs the plan of a downloads deploy with a docker
// postprocess (LAVA's `postprocess: {docker: {image, steps}}`) with a real
// container engine: the steps run in the image with the downloads folder
// mounted, and their file appears on the worker.
func TestContainerRuns(t *testing.T) {
	engine := runningEngine(t)
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "rootfs"), 0o755); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(dir, "rootfs", "stretch.img")
	if err := os.WriteFile(img, []byte("disk image"), 0o644); err != nil {
		t.Fatal(err)
	}
	raw, resp := goldentest.Plan(t, newDriver(), sdk.PlanRequest{
		Action: sdk.Action{Kind: "deploy", Method: "downloads", Params: sdk.Values{
			"images":      map[string]any{"rootfs": map[string]any{"url": "http://x/stretch.img"}},
			"postprocess": map[string]any{"docker": map[string]any{"image": engineImage, "local": true, "steps": []any{"cp rootfs/stretch.img rootfs/stretch-modified.img"}}},
		}},
		Settings: sdk.Values{"container_engine": filepath.Base(engine)},
		Worker:   sdk.WorkerFacts{Artifacts: map[string]sdk.Artifact{"rootfs": {LocalPath: img}}},
	})
	if resp.Plan == nil {
		t.Fatal(string(raw))
	}
	for _, st := range resp.Plan.Steps {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		out, err := exec.CommandContext(ctx, engine, st.Tool.Args...).CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("%s %q: %v\n%s", engine, st.Tool.Args, err, out)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "rootfs", "stretch-modified.img")); err != nil || string(b) != "disk image" {
		t.Fatalf("the postprocess step's copy: %q, %v", b, err)
	}
}
