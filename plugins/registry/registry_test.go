package registry_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/drivers"
	"github.com/lavalab/lavalab/plugins/internal/testbuild"
	"github.com/lavalab/lavalab/plugins/registry"
	"github.com/lavalab/lavalab/plugins/wasm"
	"github.com/lavalab/lavalab/sdk"
)

const devType = "qemu-test"

// good builds the well-behaved test driver with a version (and optionally
// another name or device type).
func good(t testing.TB, version string, extra ...string) []byte {
	t.Helper()
	flags := "-X main.version=" + version
	for _, e := range extra {
		flags += " -X " + e
	}
	return testbuild.Read(t, "plugins/wasm/testdata/good", testbuild.WASM, flags)
}

func newHost(t testing.TB) *wasm.Host {
	t.Helper()
	// A generous call timeout: these tests are about versions, and they
	// run on loaded machines (the host's limits are tested in plugins/wasm).
	h, err := wasm.NewHost(context.Background(), wasm.Options{CacheDir: filepath.Join(os.TempDir(), "lavalab-test-wasm-cache"), Timeout: 2 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close(context.Background()) })
	return h
}

func newRegistry(t testing.TB, h *wasm.Host, storeDir, driversDir string) *registry.Registry {
	t.Helper()
	st, err := registry.NewDirStore(storeDir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := registry.New(context.Background(), registry.Options{Host: h, Store: st, DriversDir: driversDir, Debounce: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close(context.Background()) })
	return r
}

func planVersion(t testing.TB, d drivers.Driver) string {
	t.Helper()
	plan, _, err := d.Plan(context.Background(), sdk.PlanRequest{JobID: "1", Action: sdk.Action{Kind: sdk.ActionBoot}})
	if err != nil {
		t.Fatal(err)
	}
	_, v, _ := strings.Cut(plan.Steps[0].Name, "@")
	return v
}

func TestInstallActivateRollback(t *testing.T) {
	ctx := context.Background()
	h := newHost(t)
	storeDir := t.TempDir()
	r := newRegistry(t, h, storeDir, "")
	v1, v2 := good(t, "1.0.0"), good(t, "2.0.0")

	i1, err := r.Install(ctx, "testdrv", v1)
	if err != nil {
		t.Fatal(err)
	}
	i2, err := r.Install(ctx, "", v2)
	if err != nil {
		t.Fatal(err)
	}
	if !i2.Active || i2.Version != "2.0.0" || i2.SHA256 != wasm.SHA256Hex(v2) || i2.Kind != drivers.KindWASM {
		t.Fatalf("install v2 = %+v", i2)
	}
	d, info, err := r.ForDeviceType(devType)
	if err != nil || info.SHA256 != i2.SHA256 || planVersion(t, d) != "2.0.0" {
		t.Fatalf("for device type: %+v %v", info, err)
	}
	// A job scheduled with v1 keeps it.
	d1, info1, err := r.BySHA256(ctx, i1.SHA256)
	if err != nil || info1.Active || planVersion(t, d1) != "1.0.0" {
		t.Fatalf("by sha256 v1: %+v %v", info1, err)
	}
	if got, err := r.Module(ctx, i1.SHA256); err != nil || string(got) != string(v1) {
		t.Fatalf("module v1: %d bytes, %v", len(got), err)
	}
	if _, err := r.Module(ctx, strings.Repeat("a", 64)); !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("unknown module: %v", err)
	}

	rb, err := r.Rollback(ctx, "testdrv")
	if err != nil || rb.SHA256 != i1.SHA256 || !rb.Active {
		t.Fatalf("rollback = %+v, %v", rb, err)
	}
	if _, err := r.Rollback(ctx, "testdrv"); err == nil {
		t.Fatal("rolled back past the first version")
	}
	if g, _ := r.Get("testdrv"); g.Version != "1.0.0" {
		t.Fatalf("get after rollback = %+v", g)
	}
	if _, err := r.Activate(ctx, "testdrv", strings.Repeat("b", 64)); !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("activate unknown: %v", err)
	}
	if l := r.List(); len(l) != 2 || l[0].Active == l[1].Active {
		t.Fatalf("list = %+v", l)
	}

	// A new registry on the same store finds both versions and v1 active.
	r2 := newRegistry(t, h, storeDir, "")
	if g, err := r2.Get("testdrv"); err != nil || g.SHA256 != i1.SHA256 {
		t.Fatalf("after restart: %+v %v", g, err)
	}
	if len(r2.List()) != 2 {
		t.Fatalf("after restart list = %+v", r2.List())
	}
	// Rollback history survives too: activate v2, roll back to v1.
	if _, err := r2.Activate(ctx, "testdrv", i2.SHA256); err != nil {
		t.Fatal(err)
	}
	if rb, err := r2.Rollback(ctx, "testdrv"); err != nil || rb.SHA256 != i1.SHA256 {
		t.Fatalf("rollback after restart: %+v %v", rb, err)
	}
}

func TestInstallRefused(t *testing.T) {
	ctx := context.Background()
	h := newHost(t)
	r := newRegistry(t, h, t.TempDir(), "")
	v1 := good(t, "1.0.0")
	if _, err := r.Install(ctx, "testdrv", v1); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		as     string
		module []byte
		want   string
	}{
		{"wrong ABI", "", testbuild.Read(t, "plugins/wasm/testdata/wrongabi", testbuild.WASM, ""), "ABI versions [99]"},
		{"no device type", "", good(t, "3.0.0", "main.deviceType="), "empty device type"},
		{"other name", "testdrv", good(t, "4.0.0", "main.name=impostor"), `describes itself as "impostor"`},
		{"not wasm", "testdrv", []byte("MZ not a module"), "invalid module"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := r.Install(ctx, tc.as, tc.module)
			if err == nil || !strings.Contains(err.Error(), "refused") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v", err)
			}
			t.Logf("refused: %v", err)
			if g, _ := r.Get("testdrv"); g.Version != "1.0.0" {
				t.Fatalf("active changed: %+v", g)
			}
		})
	}
}

func TestAmbiguousDeviceType(t *testing.T) {
	ctx := context.Background()
	r := newRegistry(t, newHost(t), t.TempDir(), "")
	if _, err := r.Install(ctx, "", good(t, "1.0.0")); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Install(ctx, "", good(t, "1.0.0", "main.name=other")); err != nil {
		t.Fatal(err)
	}
	_, _, err := r.ForDeviceType(devType)
	if err == nil || !strings.Contains(err.Error(), "other, testdrv") {
		t.Fatalf("err = %v", err)
	}
	if _, _, err := r.ForDeviceType("nope"); !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("unknown device type: %v", err)
	}
}

// warmCache compiles module once so that the on-disk compilation cache has
// it (as a server that has seen the module before).
func warmCache(t testing.TB, h *wasm.Host, module []byte) {
	t.Helper()
	m, err := h.Load(context.Background(), "warm", module)
	if err != nil {
		t.Fatal(err)
	}
	_ = m.Close(context.Background())
}

func waitActive(t testing.TB, r *registry.Registry, version string, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		if g, err := r.Get("testdrv"); err == nil && g.Version == version {
			return time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("version %s not active after %s (refused: %+v)", version, within, r.Refused())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func dropFile(t testing.TB, dir, name string, data []byte) {
	t.Helper()
	tmp := filepath.Join(dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

func TestDirectory(t *testing.T) {
	h := newHost(t)
	dir := t.TempDir()
	v1, v2, v3 := good(t, "1.0.0"), good(t, "2.0.0"), good(t, "3.0.0")
	// Warm the compilation cache so the timings below measure the registry.
	for _, v := range [][]byte{v1, v2, v3} {
		warmCache(t, h, v)
	}
	if err := os.WriteFile(filepath.Join(dir, "testdrv-1.wasm"), v1, 0o644); err != nil {
		t.Fatal(err)
	}
	r := newRegistry(t, h, t.TempDir(), dir)
	if g, err := r.Get("testdrv"); err != nil || g.Version != "1.0.0" || g.Source != registry.SourceDir {
		t.Fatalf("scanned at start: %+v %v", g, err)
	}

	dropFile(t, dir, "testdrv-2.wasm", v2)
	// The target is "live within a second" (typically ~0.25 s here); the
	// bound is wide so a loaded machine does not fail the test.
	took := waitActive(t, r, "2.0.0", 30*time.Second)
	t.Logf("dropped file live after %s", took)

	// A half-written file is refused, then loaded when it is complete.
	p := filepath.Join(dir, "testdrv-3.wasm")
	if err := os.WriteFile(p, v3[:len(v3)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(r.Refused()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the half-written file was not refused")
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("refused: %+v", r.Refused())
	if g, _ := r.Get("testdrv"); g.Version != "2.0.0" {
		t.Fatalf("a refused file changed the active version: %+v", g)
	}
	if err := os.WriteFile(p, v3, 0o644); err != nil {
		t.Fatal(err)
	}
	waitActive(t, r, "3.0.0", 30*time.Second)
	if n := len(r.Refused()); n != 0 {
		t.Fatalf("refusal kept after a good write: %+v", r.Refused())
	}
}

// TestHotReloadUnderLoad asks for plans continuously from several
// goroutines while versions are swapped every way there is: no call may fail,
// and each answer must come from the version the lookup returned.
func TestHotReloadUnderLoad(t *testing.T) {
	ctx := context.Background()
	h := newHost(t)
	dir := t.TempDir()
	vs := map[string][]byte{}
	for _, v := range []string{"1.0.0", "2.0.0", "3.0.0", "4.0.0"} {
		vs[v] = good(t, v)
		warmCache(t, h, vs[v])
	}
	r := newRegistry(t, h, t.TempDir(), dir)
	i1, err := r.Install(ctx, "testdrv", vs["1.0.0"])
	if err != nil {
		t.Fatal(err)
	}

	var calls, failures atomic.Int64
	seen := sync.Map{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var stopOnce sync.Once
	halt := func() {
		stopOnce.Do(func() { close(stop) })
		wg.Wait()
	}
	defer halt() // before the registry is closed, also when the test fails
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				d, info, err := r.ForDeviceType(devType)
				if err != nil {
					failures.Add(1)
					t.Errorf("lookup: %v", err)
					continue
				}
				plan, _, err := d.Plan(ctx, sdk.PlanRequest{JobID: "1", Action: sdk.Action{Kind: sdk.ActionBoot}})
				calls.Add(1)
				if err != nil {
					failures.Add(1)
					t.Errorf("plan: %v", err)
					continue
				}
				want := "@" + info.Version
				for _, s := range plan.Steps {
					if !strings.HasSuffix(s.Name, want) {
						failures.Add(1)
						t.Errorf("step %q in an answer of version %s", s.Name, info.Version)
					}
				}
				seen.Store(info.Version, true)
			}
		})
	}
	step := func(what string, f func() error) {
		time.Sleep(150 * time.Millisecond)
		if err := f(); err != nil {
			t.Errorf("%s: %v", what, err)
		}
	}
	step("install 2", func() error { _, err := r.Install(ctx, "testdrv", vs["2.0.0"]); return err })
	step("install 3", func() error { _, err := r.Install(ctx, "", vs["3.0.0"]); return err })
	step("activate 1", func() error { _, err := r.Activate(ctx, "testdrv", i1.SHA256); return err })
	step("rollback", func() error { _, err := r.Rollback(ctx, "testdrv"); return err })
	step("drop 4", func() error {
		dropFile(t, dir, "testdrv.wasm", vs["4.0.0"])
		waitActive(t, r, "4.0.0", 30*time.Second)
		return nil
	})
	step("rollback", func() error { _, err := r.Rollback(ctx, "testdrv"); return err })
	time.Sleep(150 * time.Millisecond)
	halt()
	var versions []string
	seen.Range(func(k, _ any) bool { versions = append(versions, k.(string)); return true })
	t.Logf("%d plan calls, %d failed, versions seen: %v", calls.Load(), failures.Load(), versions)
	if failures.Load() != 0 {
		t.Fatalf("%d failed calls", failures.Load())
	}
	if len(versions) < 3 {
		t.Fatalf("only versions %v answered: the swaps were not exercised", versions)
	}
}
