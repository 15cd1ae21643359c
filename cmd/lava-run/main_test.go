package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lavalab/lavalab/core/testenv"
)

// driversDir is bin/drivers when `make drivers` built local.wasm, else a
// folder with local.wasm built for the test.
func driversDir(t *testing.T) string {
	t.Helper()
	root := testenv.RepoRoot(t)
	dir := filepath.Join(root, "bin", "drivers")
	if _, err := os.Stat(filepath.Join(dir, "local.wasm")); err == nil {
		return dir
	}
	dir = t.TempDir()
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "local.wasm"), "./devicetypes/local")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build local driver: %v\n%s", err, out)
	}
	return dir
}

func TestLavaRunExample(t *testing.T) {
	root := testenv.RepoRoot(t)
	drivers := driversDir(t)
	jobFile := filepath.Join(root, "examples", "jobs", "local-smoke.yaml")
	devFile := filepath.Join(root, "examples", "devices", "local-01.yaml")
	jobID := fmt.Sprint(900000 + os.Getpid()%99999)
	t.Cleanup(func() { os.RemoveAll("/tmp/lava-local-01-" + jobID) })

	t.Run("plan-only", func(t *testing.T) {
		var out, errb bytes.Buffer
		code := run(context.Background(), []string{"--job", jobFile, "--device", devFile, "--drivers-dir", drivers, "--allow-tool", "sh@local", "--plan-only", "--cache-dir", t.TempDir()}, &out, &errb)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
		var plans []struct {
			Level string
			Steps []struct{ Kind string }
		}
		if err := json.Unmarshal(out.Bytes(), &plans); err != nil {
			t.Fatalf("not JSON plans: %v\n%s", err, out.String())
		}
		if len(plans) != 2 || len(plans[0].Steps) != 3 || plans[1].Steps[0].Kind != "test_shell" {
			t.Errorf("plans: %s", out.String())
		}
	})
	t.Run("run", func(t *testing.T) {
		outDir := t.TempDir()
		var out, errb bytes.Buffer
		code := run(context.Background(), []string{"--job", jobFile, "--device", devFile, "--drivers-dir", drivers, "--allow-tool", "sh@local",
			"--output", outDir, "--job-id", jobID, "--cache-dir", t.TempDir(), "--settings", "test_character_delay=0"}, &out, &errb)
		if code != 0 {
			t.Fatalf("exit %d: %s\n%s", code, errb.String(), out.String())
		}
		for _, want := range []string{"SUITE", "0_smoke", "kernel", "job-id", "disk-free", "Job Complete", "power off local-01"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("output lacks %q:\n%s", want, out.String())
			}
		}
		if strings.Contains(out.String(), "\x1b[") {
			t.Error("colours when stdout is not a terminal")
		}
		for _, f := range []string{"output.yaml", "results.yaml", "outcome.json"} {
			b, err := os.ReadFile(filepath.Join(outDir, f))
			if err != nil || len(b) == 0 {
				t.Errorf("%s: %v", f, err)
			}
		}
		b, _ := os.ReadFile(filepath.Join(outDir, "output.yaml"))
		if !strings.HasPrefix(string(b), `- {"dt": `) && !strings.HasPrefix(string(b), `- {"dt":`) {
			t.Errorf("output.yaml is not LAVA's format: %.100s", b)
		}
	})
}

func TestLavaRunFailures(t *testing.T) {
	root := testenv.RepoRoot(t)
	drivers := driversDir(t)
	dir := t.TempDir()
	failing := filepath.Join(dir, "fail.yaml")
	os.WriteFile(failing, []byte(`job_name: failing
device_type: local
visibility: public
timeouts: {job: {minutes: 1}}
actions:
- command: {name: missing}
`), 0o644)
	otherType := filepath.Join(dir, "other.yaml")
	os.WriteFile(otherType, []byte("extends: no-such-type\n"), 0o644)
	devFile := filepath.Join(root, "examples", "devices", "local-01.yaml")
	for _, tc := range []struct {
		name string
		args []string
		code int
	}{
		{"no flags", nil, exitUsage},
		{"bad flag", []string{"--nope"}, exitUsage},
		{"missing job file", []string{"--job", filepath.Join(dir, "none"), "--device", devFile}, exitUsage},
		{"incomplete job", []string{"--job", failing, "--device", devFile, "--drivers-dir", drivers}, exitIncomplete},
		{"bad settings", []string{"--job", failing, "--device", devFile, "--settings", "novalue"}, exitUsage},
		{"no driver dir", []string{"--job", failing, "--device", devFile, "--drivers-dir", dir}, exitUsage},
		{"bad --allow-tool", []string{"--job", failing, "--device", devFile, "--allow-tool", "/bin/sh@local"}, exitUsage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			args := append(tc.args, "--cache-dir", t.TempDir())
			if tc.args == nil {
				args = nil
			}
			if code := run(context.Background(), args, &out, &errb); code != tc.code {
				t.Errorf("exit %d, want %d\n%s%s", code, tc.code, out.String(), errb.String())
			}
		})
	}
}

// Without --allow-tool sh@local the local device type's shell is not run:
// the job ends Incomplete with the flag to add, in the plan too.
func TestLavaRunSandbox(t *testing.T) {
	root := testenv.RepoRoot(t)
	drivers := filepath.Join(root, "bin", "drivers")
	if _, err := os.Stat(filepath.Join(drivers, "local.wasm")); err != nil {
		testenv.Need(t, false, "bin/drivers/local.wasm is missing (make drivers)")
	}
	jobFile := filepath.Join(root, "examples", "jobs", "local-smoke.yaml")
	devFile := filepath.Join(root, "examples", "devices", "local-01.yaml")
	for _, mode := range [][]string{nil, {"--plan-only"}} {
		var out, errb bytes.Buffer
		args := append([]string{"--job", jobFile, "--device", devFile, "--drivers-dir", drivers, "--cache-dir", t.TempDir()}, mode...)
		if code := run(context.Background(), args, &out, &errb); code != exitIncomplete {
			t.Fatalf("%v: exit %d, want %d", mode, code, exitIncomplete)
		}
		if all := out.String() + errb.String(); !strings.Contains(all, "lava-worker --allow-tool sh@local") || strings.Contains(all, "power on local-01") {
			t.Fatalf("%v: no refusal naming the flag, or a step ran:\n%s", mode, all)
		}
	}
}

// TestLavaRunUnsupportedMethod: a job whose deploy or boot methods the
// driver does not declare is refused before anything runs (even
// --plan-only), with each action's path and line and what the driver has.
func TestLavaRunUnsupportedMethod(t *testing.T) {
	root := testenv.RepoRoot(t)
	drivers := driversDir(t)
	dir := t.TempDir()
	jobFile := filepath.Join(dir, "uboot.yaml")
	if err := os.WriteFile(jobFile, []byte(`job_name: wrong methods
device_type: local
visibility: public
timeouts: {job: {minutes: 1}}
actions:
- deploy:
    to: tftp
    kernel: {url: 'http://x.invalid/zImage'}
- boot:
    method: u-boot
    commands: ramdisk
- boot: {method: minimal}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	devFile := filepath.Join(root, "examples", "devices", "local-01.yaml")
	for _, extra := range [][]string{nil, {"--plan-only"}} {
		var out, errb bytes.Buffer
		args := append([]string{"--job", jobFile, "--device", devFile, "--drivers-dir", drivers, "--cache-dir", t.TempDir()}, extra...)
		if code := run(context.Background(), args, &out, &errb); code != exitUsage {
			t.Errorf("%v: exit %d, want %d\n%s%s", extra, code, exitUsage, out.String(), errb.String())
		}
		for _, want := range []string{
			`actions[0].deploy.to (line 7, column 9): device type local (driver local `,
			`) has no deploy method "tftp"; it has: local, tmpfs, overlay`,
			`actions[1].boot.method (line 10, column 13): device type local (driver local `,
			`) has no boot method "u-boot"; it has: local, minimal`,
		} {
			if !strings.Contains(errb.String(), want) {
				t.Errorf("%v: stderr lacks %q:\n%s", extra, want, errb.String())
			}
		}
		if strings.Contains(errb.String(), "actions[2]") || out.Len() > 0 {
			t.Errorf("%v: stdout %q, stderr %q", extra, out.String(), errb.String())
		}
	}
}
