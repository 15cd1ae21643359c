package dispatch

// Issue 21: the docker device type (deploy to docker, boot method docker)
// through the dispatcher, in real podman containers
// (testenv.NeedContainerEngine).

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/hosttools"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/testenv"
	"github.com/lavalab/lavalab/sdk"
)

func dockerDeviceJob(image, steps string) []byte {
	return []byte(`job_name: docker device
device_type: docker
visibility: public
timeouts:
  job: {minutes: 2}
  action: {minutes: 1}
actions:
- deploy:
    to: docker
    image: {name: '` + image + `', local: true}
- boot:
    method: docker
    command: sh
    prompts: ['/ # ']
- test:
    timeout: {seconds: 15}
    definitions:
    - from: inline
      name: c
      path: inline/c.yaml
      repository:
        metadata: {format: Lava-Test Test Definition 1.0, name: c}
        run:
          steps:
` + steps)
}

// TestDockerDevice: a job on the docker device type runs Complete in a
// container; an image the engine lacks (local: true) ends the job
// Incomplete at deploy-docker; a test that hangs ends at its timeout and
// the container goes with the console (--init, --rm); without the engine
// allowed, the plan is refused before anything runs.
func TestDockerDevice(t *testing.T) {
	e := testenv.NeedContainerEngine(t)
	for _, kv := range e.Env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	dict := []byte("{% extends 'docker.jinja2' %}\n{% set docker_engine = 'podman' %}\n")
	d := newDispatcherTools(t, testTools(t, hosttools.Rule{Name: "podman", Path: e.Path, DeviceTypes: []string{"docker"}}))
	run := func(t *testing.T, d *Dispatcher, id int64, def []byte) (Outcome, *recorder) {
		rec := &recorder{}
		out := d.Run(context.Background(), Request{JobID: id, Definition: def, DeviceName: "docker-01", Dictionary: dict, Driver: loadDriver(t, "docker")}, rec)
		return out, rec
	}
	leftover := func(t *testing.T, name string) {
		t.Helper()
		out, err := e.Command("ps", "--all", "--format", "{{.Names}}").CombinedOutput()
		if err != nil {
			t.Fatalf("podman ps: %v\n%s", err, out)
		}
		for _, n := range strings.Fields(string(out)) {
			if n == name {
				t.Errorf("container %s is left after the job", n)
			}
		}
	}

	t.Run("complete", func(t *testing.T) {
		out, rec := run(t, d, 4301, dockerDeviceJob(e.Image, `          - lava-test-case hostname --shell test "$(hostname)" = lava
          - lava-test-case results-dir --shell test -d /lava-4301
`))
		wantComplete(t, out, rec)
		wantCases(t, out, map[string]string{"0_c/hostname": "pass", "0_c/results-dir": "pass",
			"lava/deploy-docker": "pass", "lava/boot-docker": "pass"})
		leftover(t, "lava-4301-2")
	})
	t.Run("missing image", func(t *testing.T) {
		out, rec := run(t, d, 4302, dockerDeviceJob(e.Image+"-missing", "          - lava-test-case x --result pass\n"))
		if out.Health != model.JobIncomplete || !strings.Contains(out.Error, "deploy-docker") {
			t.Fatalf("job %s: %s, want Incomplete at deploy-docker\n%s", out.Health, out.Error, rec.text())
		}
	})
	t.Run("hung test", func(t *testing.T) {
		start := time.Now()
		def := strings.Replace(string(dockerDeviceJob(e.Image, "          - sleep 600\n")), "timeout: {seconds: 15}", "timeout: {seconds: 5}", 1)
		out, rec := run(t, d, 4303, []byte(def))
		if out.Health != model.JobIncomplete || !strings.Contains(out.Error, "timed out") {
			t.Fatalf("job %s: %s, want Incomplete on the test's timeout\n%s", out.Health, out.Error, rec.text())
		}
		t.Logf("ended after %s", time.Since(start).Round(100*time.Millisecond))
		leftover(t, "lava-4303-2")
	})
	t.Run("engine not allowed", func(t *testing.T) {
		d := newDispatcherTools(t, testTools(t))
		out, rec := run(t, d, 4304, dockerDeviceJob(e.Image, "          - lava-test-case x --result pass\n"))
		if out.Health != model.JobIncomplete || out.ErrorType != sdk.ErrorConfiguration || !strings.Contains(out.Error, `"podman"`) {
			t.Fatalf("job %s (%s): %s, want a Configuration error naming podman\n%s", out.Health, out.ErrorType, out.Error, rec.text())
		}
	})
}

// TestDockerExamplePlan plans examples/jobs/docker-smoke.yaml on
// examples/devices/docker-01.jinja2 without an engine (as lava-run
// --plan-only does): the image check, the container as the console, the
// test shell; the sandbox allows podman for the docker device type.
func TestDockerExamplePlan(t *testing.T) {
	root := testenv.RepoRoot(t)
	def, err := os.ReadFile(filepath.Join(root, "examples", "jobs", "docker-smoke.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dict, err := os.ReadFile(filepath.Join(root, "examples", "devices", "docker-01.jinja2"))
	if err != nil {
		t.Fatal(err)
	}
	d := newDispatcherTools(t, testTools(t, hosttools.Rule{Name: "podman", DeviceTypes: []string{"docker"}}))
	plans, err := d.Plan(context.Background(), Request{JobID: 9, Definition: def, DeviceName: "docker-01", Dictionary: dict, Driver: loadDriver(t, "docker")})
	if err != nil {
		t.Fatal(err)
	}
	var stages []string
	for _, p := range plans {
		var kinds []string
		for _, s := range p.Steps {
			kinds = append(kinds, s.Kind)
		}
		stages = append(stages, strings.Join(kinds, " "))
	}
	if got, want := strings.Join(stages, "|"), "tool|connect wait_shell|test_shell"; got != want {
		t.Errorf("plan kinds %q, want %q", got, want)
	}
	run := plans[1].Steps[0].Connect.Tool
	if want := []string{"run", "--rm", "--init", "--interactive", "--tty", "--hostname", "lava", "--name", "lava-9-2", "--memory=256m",
		"localhost/lavalab-busybox:test", "sh"}; !slices.Equal(run.Args, want) {
		t.Errorf("run %q, want %q", run.Args, want)
	}
}
