package vlab_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/lavalab/lavalab/core/testenv"
)

// imagesURL is where the example jobs fetch the vlab images; the test
// serves them from a local server and rewrites the URLs.
const imagesURL = "http://127.0.0.1:18100/"

// buildLabTools builds cmd/lava-run and the named drivers into a temporary
// folder: <dir>/lava-run and <dir>/drivers/<name>.wasm.
func buildLabTools(t *testing.T, root string, drivers ...string) string {
	t.Helper()
	dir := t.TempDir()
	run := func(env []string, args ...string) {
		cmd := exec.Command("go", args...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run(nil, "build", "-o", filepath.Join(dir, "lava-run"), "./cmd/lava-run")
	for _, d := range drivers {
		run([]string{"GOOS=wasip1", "GOARCH=wasm"}, "build", "-trimpath", "-ldflags=-s -w",
			"-o", filepath.Join(dir, "drivers", d+".wasm"), "./devicetypes/"+d)
	}
	return dir
}

// exampleDictionary returns examples/devices/<name>.jinja2 with absolute
// script paths and console port 18110/18111 replaced by port.
func exampleDictionary(t *testing.T, root, name string, port int) []byte {
	t.Helper()
	text, err := os.ReadFile(filepath.Join(root, "examples", "devices", name+".jinja2"))
	if err != nil {
		t.Fatal(err)
	}
	s := strings.ReplaceAll(string(text), "sh scripts/", "sh "+root+"/scripts/")
	s = strings.NewReplacer("--port 18110", fmt.Sprintf("--port %d", port), "--port 18111", fmt.Sprintf("--port %d", port)).Replace(s)
	return []byte(s)
}

// outcome is what the tests read of lava-run's output: outcome.json and
// results.yaml (LAVA's results export).
type outcome struct {
	Health string `json:"health"`
	Error  string `json:"error"`
	Cases  []struct {
		Suite  string `yaml:"suite"`
		Name   string `yaml:"name"`
		Result string `yaml:"result"`
	} `json:"-"`
}

// lavaRun runs an example job on an example device through cmd/lava-run,
// with the images served locally, and returns the outcome of a Complete job.
func lavaRun(t *testing.T, jobName, deviceName string, drivers ...string) outcome {
	t.Helper()
	o, log := lavaRunJob(t, jobName, deviceName, nil, drivers...)
	if o.Health != "Complete" {
		t.Fatalf("job %s: %s\n%s", o.Health, o.Error, tail(log, 80))
	}
	return o
}

// lavaRunJob runs an example job (changed by edit when not nil) on an
// example device through cmd/lava-run, with the images served locally, and
// returns its outcome and lava-run's output.
func lavaRunJob(t *testing.T, jobName, deviceName string, edit func([]byte) []byte, drivers ...string) (outcome, string) {
	t.Helper()
	im := images(t)
	testenv.NeedTool(t, "busybox")
	root := testenv.RepoRoot(t)
	tools := buildLabTools(t, root, drivers...)
	srv := httptest.NewServer(http.FileServer(http.Dir(im.TFTPRoot)))
	t.Cleanup(srv.Close)

	dir := t.TempDir()
	jobText, err := os.ReadFile(filepath.Join(root, "examples", "jobs", jobName+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	jobPath, devPath := filepath.Join(dir, "job.yaml"), filepath.Join(dir, "device.jinja2")
	jobText = bytes.ReplaceAll(jobText, []byte(imagesURL), []byte(srv.URL+"/"))
	if edit != nil {
		jobText = edit(jobText)
	}
	if err := os.WriteFile(jobPath, jobText, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(devPath, exampleDictionary(t, root, deviceName, freePort(t)), 0o644); err != nil {
		t.Fatal(err)
	}
	work, out := filepath.Join(dir, "work"), filepath.Join(dir, "out")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(tools, "lava-run"), "--no-color", "--drivers-dir", filepath.Join(tools, "drivers"),
		"--work-dir", work, "--cache-dir", filepath.Join(dir, "cache"), "--output", out, "--job", jobPath, "--device", devPath,
		// QEMU is a host tool the admin allows for the qemu device type
		// (the U-Boot boards use their dictionary's commands only).
		"--allow-tool", "qemu-system-aarch64@qemu")
	cmd.Env = append(os.Environ(), "LAVALAB_WORK_DIR="+work, "LAVALAB_VLAB_RUN="+filepath.Join(dir, "run"))
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	start := time.Now()
	runErr := cmd.Run()
	took := time.Since(start)
	var o outcome
	raw, err := os.ReadFile(filepath.Join(out, "outcome.json"))
	if err == nil {
		err = json.Unmarshal(raw, &o)
	}
	if err == nil {
		if raw, err = os.ReadFile(filepath.Join(out, "results.yaml")); err == nil {
			err = yaml.Unmarshal(raw, &o.Cases)
		}
	}
	if err != nil {
		t.Fatalf("lava-run (%v) left no outcome: %v\n%s", runErr, err, tail(log.String(), 80))
	}
	if (runErr == nil) != (o.Health == "Complete") {
		t.Fatalf("lava-run exit %v for a %s job", runErr, o.Health)
	}
	t.Logf("%s on %s: %s in %.2f s (lava-run process, images served locally)", jobName, deviceName, o.Health, took.Seconds())
	return o, log.String()
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// examples/jobs/vlab-ramdisk-smoke.yaml on examples/devices/vlab-01.jinja2
// through cmd/lava-run: deploy over TFTP (QEMU's server on the worker's TFTP
// root), U-Boot boot, the inline test in the board's shell, power off.
func TestLavaRunRamdiskJob(t *testing.T) {
	o := lavaRun(t, "vlab-ramdisk-smoke", "vlab-01", "qemu-uboot-arm64")
	want := map[string]bool{"kernel-arm64": false, "job-id": false, "cmdline-ramdisk": false, "memory": false}
	for _, c := range o.Cases {
		if _, ok := want[c.Name]; ok && c.Suite == "0_vlab-smoke" {
			if c.Result != "pass" {
				t.Errorf("test case %s: %s", c.Name, c.Result)
			}
			want[c.Name] = true
		}
	}
	for name, seen := range want {
		if !seen {
			t.Errorf("no result for test case %s in %+v", name, o.Cases)
		}
	}
}

// LAVA's qemu-aarch64 doc example, adapted to the local images
// (examples/jobs/qemu-aarch64.yaml), on examples/devices/qemu-01.jinja2:
// deploy to tmpfs, boot method qemu (direct kernel boot), inline test.
func TestLavaRunQEMUJob(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(job []byte) []byte
	}{
		{"as-written", nil},
		// The same job with its images named other than LAVA's roles:
		// the path core/dispatch takes for any tmpfs image name.
		{"other-image-names", func(job []byte) []byte {
			return []byte(strings.NewReplacer("      kernel:", "      vmlinux:", "{kernel}", "{vmlinux}",
				"      initrd:", "      rd:", "{initrd}", "{rd}").Replace(string(job)))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, log := lavaRunJob(t, "qemu-aarch64", "qemu-01", tc.edit, "qemu")
			if o.Health != "Complete" {
				t.Fatalf("job %s: %s\n%s", o.Health, o.Error, tail(log, 80))
			}
			passed := 0
			for _, c := range o.Cases {
				if c.Suite == "0_qemu-smoke" {
					if c.Result != "pass" {
						t.Errorf("test case %s: %s", c.Name, c.Result)
					}
					passed++
				}
			}
			if passed != 2 {
				t.Fatalf("%d results in suite 0_qemu-smoke, want 2: %+v", passed, o.Cases)
			}
		})
	}
}
