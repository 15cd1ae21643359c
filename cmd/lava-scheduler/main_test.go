package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lavalab/lavalab/cmd/internal/driverset"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
	"github.com/lavalab/lavalab/core/storeopen"
	"github.com/lavalab/lavalab/core/testenv"
	"github.com/lavalab/lavalab/plugins/wasm"
)

// goBuild builds pkg (relative to the repository root) into dir; env adds
// to the environment (GOOS/GOARCH for a driver).
func goBuild(t *testing.T, pkg, out string, env ...string) {
	t.Helper()
	goTool := testenv.NeedTool(t, "go")
	cmd := exec.Command(goTool, "build", "-trimpath", "-o", out, "./"+pkg)
	cmd.Dir = testenv.RepoRoot(t)
	cmd.Env = append(append(os.Environ(), "CGO_ENABLED=0"), env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", pkg, err, b)
	}
}

const soca9Job = `job_name: soca9 ramdisk
device_type: soca9
visibility: public
timeouts:
  job:
    minutes: 10
actions:
- deploy:
    to: tftp
    kernel:
      url: http://images.example.invalid/zImage
      type: zimage
    dtb:
      url: http://images.example.invalid/socfpga.dtb
- boot:
    method: u-boot
    commands: ramdisk
    prompts: ['/ # ']
`

// TestSchedulerRecordsDriver runs the real lava-scheduler process on a
// SQLite store holding the soca9 driver: the job it schedules records the
// SHA-256 of the active driver version and the merged settings (driver
// defaults < device-type overrides < device dictionary).
func TestSchedulerRecordsDriver(t *testing.T) {
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "lava-scheduler")
	goBuild(t, "cmd/lava-scheduler", bin)
	drvPath := filepath.Join(tmp, "soca9.wasm")
	goBuild(t, "devicetypes/soca9", drvPath, "GOOS=wasip1", "GOARCH=wasm")
	module, err := os.ReadFile(drvPath)
	if err != nil {
		t.Fatal(err)
	}
	sha := wasm.SHA256Hex(module)
	cache := filepath.Join(os.TempDir(), "lavalab-test-wasm-cache")
	data := filepath.Join(tmp, "data")

	ctx := context.Background()
	st, err := storeopen.Open(ctx, data, "")
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.CreateDeviceType(ctx, model.DeviceType{Name: "soca9", Settings: map[string]any{"bootz_dtb_addr": "0x00002000"}}))
	must(st.CreateWorker(ctx, model.Worker{Hostname: "w1", State: model.WorkerOnline, Health: model.WorkerActive}))
	must(st.CreateDevice(ctx, model.Device{Hostname: "soca9-01", DeviceType: "soca9", Worker: "w1", Health: model.DeviceGood,
		Dictionary: "{% extends 'soca9.jinja2' %}\n{% set connection_command = 'telnet localhost 7001' %}\n"}))
	// Install the driver in the store the way `lava-server driver install` does.
	set, err := driverset.Open(ctx, st, driverset.Options{DataDir: data, CacheDir: cache})
	must(err)
	if _, err := set.Registry.Install(ctx, "soca9", module); err != nil {
		t.Fatal(err)
	}
	set.Close(ctx)
	jobs, err := st.CreateJobs(ctx, []model.Job{{Description: "soca9 ramdisk", Definition: soca9Job, RequestedDeviceType: "soca9",
		Submitter: "alice", Visibility: model.VisibilityPublic}})
	must(err)
	id := jobs[0].ID

	st.Close() // SQLite: one process at a time; the scheduler takes it over

	logs := &testenv.SyncBuffer{}
	cmd := exec.Command(bin, "--data-dir", data, "--driver-cache", cache)
	cmd.Stderr = logs
	must(cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	// The first pass runs at start; the bound only stops a broken test.
	deadline := time.After(2 * time.Minute)
	for !strings.Contains(logs.String(), "job scheduled") {
		select {
		case err := <-exited:
			t.Fatalf("lava-scheduler exited (%v) before scheduling:\n%s", err, logs.String())
		case <-deadline:
			_ = cmd.Process.Kill()
			t.Fatalf("no job scheduled:\n%s", logs.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	must(cmd.Process.Signal(os.Interrupt))
	if err := <-exited; err != nil {
		t.Errorf("lava-scheduler did not stop cleanly: %v\n%s", err, logs.String())
	}

	if st, err = storeopen.Open(ctx, data, ""); err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	j, err := st.Job(ctx, store.System(), id)
	must(err)
	if j.State != model.JobScheduled || j.ActualDevice != "soca9-01" {
		t.Fatalf("job %d: state %s on %q, want Scheduled on soca9-01", id, j.State, j.ActualDevice)
	}
	if j.DriverSHA256 != sha {
		t.Errorf("job driver_sha256 %q, want %q (the installed soca9)\n%s", j.DriverSHA256, sha, logs.String())
	}
	for k, want := range map[string]any{
		"bootz_dtb_addr":     "0x00002000",            // device-type override
		"bootz_kernel_addr":  "0x01000000",            // driver default
		"connection_command": "telnet localhost 7001", // dictionary
	} {
		if got := j.Settings[k]; got != want {
			t.Errorf("job settings %s = %v, want %v (settings %v)", k, got, want, j.Settings)
		}
	}
}
