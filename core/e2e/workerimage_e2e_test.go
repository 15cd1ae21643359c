package e2e

// Issue 21: the lava-worker image (LAVA's lava-docker-worker) end to end:
// docker/lava-worker/build-minimal.sh builds the minimal image (no
// registry) from a worker of another version than the server's; the
// worker runs in a podman container on the host's network against the
// real lava-server, upgrades itself to the server's version
// (--auto-upgrade, in the image's entrypoint) and runs a job.
//
//	LAVALAB_E2E=1 go test -run TestWorkerImageE2E -v ./core/e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/testenv"
)

// TestWorkerImageE2E: the image's worker (version image-old) registers,
// upgrades itself to the server's build inside the container, comes back
// Online on the server's version and runs examples/jobs/local-smoke.yaml on
// local-01 (its shell is the image's busybox sh): Complete.
func TestWorkerImageE2E(t *testing.T) {
	root := needBinaries(t, "drivers/local.wasm")
	e := testenv.NeedContainerEngine(t)
	goBin := testenv.NeedTool(t, "go")

	// LAVALAB_WORKER_IMAGE names an image built beforehand instead (the
	// full docker/lava-worker/Dockerfile), LAVALAB_WORKER_IMAGE_VERSION its
	// worker's version.
	if img := os.Getenv("LAVALAB_WORKER_IMAGE"); img != "" {
		old := os.Getenv("LAVALAB_WORKER_IMAGE_VERSION")
		if old == "" {
			t.Fatal("LAVALAB_WORKER_IMAGE needs LAVALAB_WORKER_IMAGE_VERSION: the version of its lava-worker")
		}
		runWorkerImage(t, e, root, img, old)
		return
	}
	// The image: a worker of another version, the local driver, busybox.
	bin := filepath.Join(t.TempDir(), "bin")
	must(t, os.MkdirAll(filepath.Join(bin, "drivers"), 0o755))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, goBin, "build", "-trimpath", "-ldflags", "-s -w -X github.com/lavalab/lavalab/core/version.Version=image-old",
		"-o", filepath.Join(bin, "lava-worker"), "./cmd/lava-worker")
	build.Dir, build.Env = root, append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build lava-worker: %v\n%s", err, out)
	}
	wasm, err := os.ReadFile(filepath.Join(root, "bin", "drivers", "local.wasm"))
	must(t, err)
	must(t, os.WriteFile(filepath.Join(bin, "drivers", "local.wasm"), wasm, 0o644))
	const image = "localhost/lavalab/lava-worker:e2e"
	start := time.Now()
	script := exec.CommandContext(ctx, filepath.Join(root, "docker", "lava-worker", "build-minimal.sh"), image)
	script.Dir = root
	script.Env = append(append(os.Environ(), e.Env...), "ENGINE="+e.Path, "BIN="+bin)
	if out, err := script.CombinedOutput(); err != nil {
		t.Fatalf("docker/lava-worker/build-minimal.sh: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = e.Command("rmi", "--force", image).Run() })
	t.Logf("image built in %s", time.Since(start).Round(100*time.Millisecond))
	runWorkerImage(t, e, root, image, "image-old")
}

// runWorkerImage runs the worker of image (version old) in a container
// against a real server: it upgrades itself, comes back Online on the
// server's version and runs a job on local-01.
func runWorkerImage(t *testing.T, e *testenv.ContainerEngine, root, image, old string) {

	l := containerLab(t, e, root, "local")
	l.admin("device-type", "add", "local")
	local, err := os.ReadFile(filepath.Join(root, "examples", "devices", "local-01.yaml"))
	must(t, err)
	must(t, os.WriteFile(filepath.Join(l.data, "local-01.yaml"), local, 0o644))
	l.admin("device", "add", "local-01", "--type", "local", "--worker", "w1", "--dict", filepath.Join(l.data, "local-01.yaml"), "--health", "good")
	l.startServer()

	// The worker in its container: the host's network (the server listens
	// on 127.0.0.1), the token read-only, the lab's WASM compile cache.
	const name = "lavalab-worker-e2e"
	logPath := filepath.Join(l.data, "container.log")
	logf, err := os.Create(logPath)
	must(t, err)
	run := e.Command("run", "--rm", "--init", "--name", name, "--network", "host",
		"--volume", filepath.Join(l.data, "w1.token")+":/etc/lava-worker/token:ro",
		"--volume", l.cache+":/var/lib/lava-worker/wasm-cache",
		image, "--url", l.url, "--name", "w1", "--allow-tool", "sh@local", "--poll-wait", "2s")
	run.Stdout, run.Stderr = logf, logf
	start := time.Now()
	must(t, run.Start())
	exited := make(chan error, 1)
	go func() { exited <- run.Wait(); logf.Close() }()
	t.Cleanup(func() {
		_ = e.Command("stop", "--time", "10", name).Run()
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = run.Process.Kill()
		}
		if t.Failed() {
			t.Logf("worker container log (tail):\n%s", tailFile(logPath, 40))
		}
	})

	var w struct {
		State   string `json:"state"`
		Version string `json:"version"`
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		l.call("GET", "/api/v1/workers/w1", nil, &w)
		if w.State == "Online" && w.Version != "" && w.Version != old {
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("the worker container exited: %v (worker %s %q)", err, w.State, w.Version)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the worker in the container did not come Online on the server's version within 2 minutes (worker %s %q)", w.State, w.Version)
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("worker Online on %s after %s", w.Version, time.Since(start).Round(100*time.Millisecond))
	// The worker says it upgraded from the image's version, in the
	// container, to /usr/local/bin/lava-worker.
	log, err := os.ReadFile(logPath)
	must(t, err)
	if !regexp.MustCompile(`lava-worker upgraded; restarting" from=` + regexp.QuoteMeta(old) + ` to=` + regexp.QuoteMeta(w.Version) + ` .* path=/usr/local/bin/lava-worker`).Match(log) {
		t.Errorf("the container's log has no upgrade from %s to %s:\n%s", old, w.Version, tailFile(logPath, 20))
	}

	def, err := os.ReadFile(filepath.Join(root, "examples", "jobs", "local-smoke.yaml"))
	must(t, err)
	id := l.submit(string(def))
	j := l.waitFinished(id)
	if j.Health != "Complete" {
		t.Fatalf("job %d: %s (%s): %s\n%s", id, j.Health, j.ErrorType, j.FailureComment, tail(logText(l.logs(id)), 40))
	}
	wantCases(t, id, l.results(id), map[string]string{"0_smoke/kernel": "pass", "0_smoke/job-id": "pass", "0_smoke/disk-free": "pass"})
}
