package e2e

// Issue 21: containers end to end: lava-server, lava-worker (allowing
// podman for the docker and local device types) and real podman
// containers from a busybox image imported from a tarball (no registry).
// On a hybrid-cgroup host the worker's podman is
// scripts/podman-hybrid-cgroup.sh (testenv.NeedContainerEngine), as an
// admin would map it in a tools file.
//
//	LAVALAB_E2E=1 go test -run TestDockerE2E -v ./core/e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/testenv"
)

// containerLab is a lab whose worker w1 runs podman (e's path) for the
// docker and local device types, with e's environment.
func containerLab(t *testing.T, e *testenv.ContainerEngine, root string, drivers ...string) *lab {
	l := &lab{t: t, top: t, root: root, data: t.TempDir(), httpClient: &http.Client{Timeout: 60 * time.Second}}
	l.cache = compileCache(t)
	drv := filepath.Join(l.data, "drivers")
	must(t, os.MkdirAll(drv, 0o755))
	for _, d := range drivers {
		wasm, err := os.ReadFile(filepath.Join(root, "bin", "drivers", d+".wasm"))
		must(t, err)
		must(t, os.WriteFile(filepath.Join(drv, d+".wasm"), wasm, 0o644))
	}
	l.token = l.admin("user", "add", "admin", "--admin")
	must(t, os.WriteFile(filepath.Join(l.data, "w1.token"), []byte(l.admin("worker", "add", "w1")+"\n"), 0o600))
	return l
}

// startContainerWorker starts w1 with podman allowed for the device types,
// mapped to e's path in a tools file, and e's environment.
func startContainerWorker(l *lab, e *testenv.ContainerEngine, deviceTypes ...string) {
	for _, kv := range e.Env {
		k, v, _ := strings.Cut(kv, "=")
		l.t.Setenv(k, v)
	}
	tools := filepath.Join(l.data, "tools.yaml")
	must(l.t, os.WriteFile(tools, []byte("tools:\n- name: podman\n  path: "+e.Path+"\n  device_types: ["+strings.Join(deviceTypes, ", ")+"]\n"), 0o644))
	startWorkerArgs(l, "--tools-file", tools)
}

// TestDockerE2E runs, through the server and a worker:
//   - examples/jobs/docker-smoke.yaml on docker-01 (LAVA's docker device
//     type: deploy to docker, boot method docker, the test shell in the
//     container over its console);
//   - examples/jobs/docker-test-action.yaml on local-01 (LAVA's docker test
//     action: the definitions run in a container, the board's commands in
//     its environment).
//
// Both end Complete with their test cases, and no container is left.
func TestDockerE2E(t *testing.T) {
	root := needBinaries(t, "drivers/docker.wasm", "drivers/local.wasm")
	e := testenv.NeedContainerEngine(t)
	l := containerLab(t, e, root, "docker", "local")
	l.admin("device-type", "add", "docker")
	l.admin("device-type", "add", "local")
	dict, err := os.ReadFile(filepath.Join(root, "examples", "devices", "docker-01.jinja2"))
	must(t, err)
	must(t, os.WriteFile(filepath.Join(l.data, "docker-01.jinja2"), dict, 0o644))
	l.admin("device", "add", "docker-01", "--type", "docker", "--worker", "w1", "--dict", filepath.Join(l.data, "docker-01.jinja2"), "--health", "good")
	local, err := os.ReadFile(filepath.Join(root, "examples", "devices", "local-01.yaml"))
	must(t, err)
	must(t, os.WriteFile(filepath.Join(l.data, "local-01.yaml"), local, 0o644))
	l.admin("device", "add", "local-01", "--type", "local", "--worker", "w1", "--dict", filepath.Join(l.data, "local-01.yaml"), "--health", "good")
	l.startServer()
	startContainerWorker(l, e, "docker", "local")

	start := time.Now()
	def, err := os.ReadFile(filepath.Join(root, "examples", "jobs", "docker-smoke.yaml"))
	must(t, err)
	id := l.submit(strings.ReplaceAll(string(def), "localhost/lavalab-busybox:test", e.Image))
	j := l.waitFinished(id)
	if j.Health != "Complete" {
		t.Fatalf("job %d: %s (%s): %s\n%s", id, j.Health, j.ErrorType, j.FailureComment, tail(logText(l.logs(id)), 60))
	}
	wantCases(t, id, l.results(id), map[string]string{
		"0_in-container/hostname": "pass", "0_in-container/job-id": "pass", "0_in-container/busybox": "pass",
		"lava/deploy-docker": "pass", "lava/boot-docker": "pass", "lava/lava-test-retry": "pass", "lava/job": "pass",
	})
	wantLog(t, id, l.logs(id), `host tool podman .*run --rm --init --interactive --tty --hostname lava --name lava-`+strconv.FormatInt(id, 10)+`-2 --memory=256m `)
	t.Logf("docker device job: %s", time.Since(start).Round(100*time.Millisecond))

	start = time.Now()
	def, err = os.ReadFile(filepath.Join(root, "examples", "jobs", "docker-test-action.yaml"))
	must(t, err)
	id = l.submit(strings.ReplaceAll(string(def), "localhost/lavalab-busybox:test", e.Image))
	j = l.waitFinished(id)
	if j.Health != "Complete" {
		t.Fatalf("job %d: %s (%s): %s\n%s", id, j.Health, j.ErrorType, j.FailureComment, tail(logText(l.logs(id)), 60))
	}
	wantCases(t, id, l.results(id), map[string]string{
		"0_docker-test/in-container": "pass", "0_docker-test/board-env": "pass", "lava/job": "pass",
	})
	t.Logf("docker test action job: %s", time.Since(start).Round(100*time.Millisecond))

	// --rm: no container of the jobs is left on the engine.
	out, err := e.Command("ps", "--all", "--format", "{{.Names}}").CombinedOutput()
	if err != nil {
		t.Fatalf("podman ps: %v\n%s", err, out)
	}
	for _, n := range strings.Fields(string(out)) {
		if strings.HasPrefix(n, "lava-") {
			t.Errorf("container %s is left after the jobs", n)
		}
	}
}
