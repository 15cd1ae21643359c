package worker

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/lavalab/lavalab/core/workerproto"
	"github.com/lavalab/lavalab/plugins/wasm"
)

// buildDrivers builds the local and qemu drivers (wasip1) into dir.
func buildDrivers(t *testing.T, dir string) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, name := range []string{"local", "qemu"} {
		wg.Go(func() {
			cmd := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(dir, name+".wasm"), "../../devicetypes/"+name)
			cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
			if out, err := cmd.CombinedOutput(); err != nil {
				errs[i] = err
				t.Logf("go build %s: %s", name, out)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestDriversLazy: nothing is compiled at start; a job of device type
// local compiles local.wasm only; a job pinned to qemu's SHA-256 compiles
// that one from --drivers-dir (no server asked).
func TestDriversLazy(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two drivers: not in -short")
	}
	drivers := t.TempDir()
	buildDrivers(t, drivers)
	ctx := context.Background()
	r, closeFn, err := NewDispatchRunner(ctx, RunnerEnv{WorkDir: t.TempDir(), DriversDir: drivers,
		Client: &Client{URL: "http://127.0.0.1:1", Token: "x", Version: "test"}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	run := r.(*runner)
	if n := len(run.reg.List()); n != 0 {
		t.Fatalf("%d drivers compiled at start, want 0", n)
	}
	drv, err := run.driver(ctx, workerproto.StartJob{ID: 1, DeviceType: "local"})
	if err != nil {
		t.Fatal(err)
	}
	if got := drv.Describe().Name; got != "local" {
		t.Fatalf("driver for local is %q", got)
	}
	if l := run.reg.List(); len(l) != 1 || l[0].Name != "local" {
		t.Fatalf("after a local job: %d drivers loaded (%v), want local only", len(l), l)
	}
	q, err := os.ReadFile(filepath.Join(drivers, "qemu.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	drv, err = run.driver(ctx, workerproto.StartJob{ID: 2, DeviceType: "qemu", DriverSHA256: wasm.SHA256Hex(q)})
	if err != nil {
		t.Fatal(err)
	}
	if got := drv.Describe().Name; got != "qemu" || len(run.reg.List()) != 2 {
		t.Fatalf("pinned qemu job: driver %q, %d loaded; want qemu, 2", got, len(run.reg.List()))
	}
	// A device type no file serves: every file is tried, then a clear error.
	if _, err := run.driver(ctx, workerproto.StartJob{ID: 3, DeviceType: "no-such-type"}); err == nil {
		t.Fatal("no error for a device type no driver serves")
	}
}
