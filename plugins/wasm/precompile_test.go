package wasm

import (
	"context"
	"testing"

	"github.com/lavalab/lavalab/plugins/internal/testbuild"
	"github.com/lavalab/lavalab/sdk"
)

// Precompiled modules are what Load uses, and precompiling what is loaded
// or broken changes nothing.
func TestPrecompile(t *testing.T) {
	ctx := context.Background()
	h, err := NewHost(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(ctx)
	good := testbuild.Read(t, "plugins/wasm/testdata/good", testbuild.WASM, "")
	h.Precompile(ctx, [][]byte{good, good, []byte("not wasm")})
	h.mu.Lock()
	n := len(h.pre)
	h.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d modules precompiled, want 1 (twins once, garbage left for Load)", n)
	}
	m, err := h.Load(ctx, "good", good)
	if err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	n = len(h.pre)
	h.mu.Unlock()
	if n != 0 {
		t.Fatalf("Load left %d precompiled modules", n)
	}
	if _, _, err := m.Plan(ctx, sdk.PlanRequest{JobID: "1", Action: sdk.Action{Kind: sdk.ActionBoot, Method: "u-boot"}, Settings: sdk.Values{"console_device": "ttyAMA0"}, Device: sdk.DeviceFacts{Hostname: "b", DeviceType: "qemu-test"}}); err != nil {
		t.Fatalf("the precompiled module does not run: %v", err)
	}
	h.Precompile(ctx, [][]byte{good})
	h.mu.Lock()
	n = len(h.pre)
	h.mu.Unlock()
	if n != 0 {
		t.Fatalf("a loaded module was compiled again")
	}
	if _, err := h.Load(ctx, "garbage", []byte("not wasm")); err == nil {
		t.Fatal("garbage loaded")
	}
}

// With Release, a module keeps no compiled code between calls, and still
// answers them.
func TestRelease(t *testing.T) {
	ctx := context.Background()
	h, err := NewHost(ctx, Options{Release: true})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(ctx)
	good := testbuild.Read(t, "plugins/wasm/testdata/good", testbuild.WASM, "")
	m, err := h.Load(ctx, "good", good)
	if err != nil {
		t.Fatal(err)
	}
	compiled := func() bool {
		m.cmu.Lock()
		defer m.cmu.Unlock()
		return m.compiled != nil
	}
	if compiled() {
		t.Fatal("compiled code kept after describe")
	}
	req := sdk.PlanRequest{JobID: "1", Action: sdk.Action{Kind: sdk.ActionBoot, Method: "u-boot"},
		Settings: sdk.Values{"console_device": "ttyAMA0"}, Device: sdk.DeviceFacts{Hostname: "b", DeviceType: "qemu-test"}}
	errs := make(chan error, 4)
	for range 4 {
		go func() { _, _, err := m.Plan(ctx, req); errs <- err }()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatalf("plan of a released module: %v", err)
		}
	}
	if compiled() {
		t.Fatal("compiled code kept after the calls")
	}
	if err := m.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := m.Plan(ctx, req); err == nil {
		t.Fatal("a closed module answered")
	}
}

// With Release and a Source, the host keeps neither the compiled code nor
// the bytes, and fetches them back for a call.
func TestReleaseWithSource(t *testing.T) {
	ctx := context.Background()
	good := testbuild.Read(t, "plugins/wasm/testdata/good", testbuild.WASM, "")
	fetched := 0
	h, err := NewHost(ctx, Options{Release: true, Source: func(_ context.Context, sha string) ([]byte, error) {
		fetched++
		if sha != SHA256Hex(good) {
			t.Errorf("asked for %s", sha)
		}
		return good, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(ctx)
	m, err := h.Load(ctx, "good", good)
	if err != nil {
		t.Fatal(err)
	}
	if m.wasm != nil {
		t.Fatal("bytes kept although a Source can give them back")
	}
	req := sdk.PlanRequest{JobID: "1", Action: sdk.Action{Kind: sdk.ActionBoot, Method: "u-boot"},
		Settings: sdk.Values{"console_device": "ttyAMA0"}, Device: sdk.DeviceFacts{Hostname: "b", DeviceType: "qemu-test"}}
	if _, _, err := m.Plan(ctx, req); err != nil {
		t.Fatal(err)
	}
	if fetched != 1 {
		t.Fatalf("fetched %d times, want 1", fetched)
	}
}

// With Release, a module whose description is in the cache directory is
// neither compiled at Load nor by Precompile (a warm start held tens of MB
// of compiled code per driver that a cold start had released), and its
// first call compiles it.
func TestReleaseWarmStartCompilesNothing(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	good := testbuild.Read(t, "plugins/wasm/testdata/good", testbuild.WASM, "")
	for _, start := range []string{"cold", "warm"} {
		h, err := NewHost(ctx, Options{Release: true, CacheDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		h.Precompile(ctx, [][]byte{good})
		h.mu.Lock()
		pre := len(h.pre)
		h.mu.Unlock()
		if want := map[string]int{"cold": 1, "warm": 0}[start]; pre != want {
			t.Fatalf("%s start: %d modules precompiled, want %d", start, pre, want)
		}
		m, err := h.Load(ctx, "good", good)
		if err != nil {
			t.Fatal(err)
		}
		m.cmu.Lock()
		kept := m.compiled != nil
		m.cmu.Unlock()
		if kept {
			t.Fatalf("%s start: compiled code kept after Load", start)
		}
		if m.Describe().Name != "testdrv" {
			t.Fatalf("%s start: description %+v", start, m.Describe())
		}
		req := sdk.PlanRequest{JobID: "1", Action: sdk.Action{Kind: sdk.ActionBoot, Method: "u-boot"},
			Settings: sdk.Values{"console_device": "ttyAMA0"}, Device: sdk.DeviceFacts{Hostname: "b", DeviceType: "qemu-test"}}
		if _, _, err := m.Plan(ctx, req); err != nil {
			t.Fatalf("%s start: plan: %v", start, err)
		}
		h.Close(ctx)
	}
}
