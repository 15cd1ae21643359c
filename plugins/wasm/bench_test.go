package wasm_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/lavalab/lavalab/plugins/wasm"
)

// BenchmarkPlanWarm is back-to-back plan calls of a loaded driver: each
// needs a fresh instance, so this measures the full cost of one (the pool of
// prewarmed instances cannot keep up).
func BenchmarkPlanWarm(b *testing.B) {
	ctx := context.Background()
	h := newHost(b, wasm.Options{})
	m, err := h.Load(ctx, "good.wasm", goodWASM(b))
	if err != nil {
		b.Fatal(err)
	}
	req := planRequest()
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := m.Plan(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPlanPrewarmed is one plan call when a prewarmed instance is
// ready (the usual case: plan calls come a few per job, not back to back).
func BenchmarkPlanPrewarmed(b *testing.B) {
	ctx := context.Background()
	h := newHost(b, wasm.Options{})
	m, err := h.Load(ctx, "good.wasm", goodWASM(b))
	if err != nil {
		b.Fatal(err)
	}
	req := planRequest()
	for b.Loop() {
		b.StopTimer()
		if err := m.WaitPrewarmed(ctx); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, _, err := m.Plan(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadCached loads a driver whose compiled code is in the on-disk
// compilation cache, in a fresh host (as after a restart): compile from the
// cache plus the describe call.
func BenchmarkLoadCached(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	bin := goodWASM(b)
	h := newHost(b, wasm.Options{CacheDir: dir})
	if _, err := h.Load(ctx, "good.wasm", bin); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		h, err := wasm.NewHost(ctx, wasm.Options{CacheDir: dir})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := h.Load(ctx, "good.wasm", bin); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		_ = h.Close(ctx)
		b.StartTimer()
	}
}

// BenchmarkFirstCompile loads a driver with an empty compilation cache.
func BenchmarkFirstCompile(b *testing.B) {
	ctx := context.Background()
	bin := goodWASM(b)
	for b.Loop() {
		b.StopTimer()
		h, err := wasm.NewHost(ctx, wasm.Options{CacheDir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := h.Load(ctx, "good.wasm", bin); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		_ = h.Close(ctx)
		b.StartTimer()
	}
}

// TestPlanLatencyDistribution prints the distribution of warm plan calls,
// back to back and spaced (a prewarmed instance ready). It asserts nothing
// about time (performance claims are benchmarks).
func TestPlanLatencyDistribution(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	ctx := context.Background()
	h := newHost(t, wasm.Options{})
	m, err := h.Load(ctx, "good.wasm", goodWASM(t))
	if err != nil {
		t.Fatal(err)
	}
	req := planRequest()
	const n = 200
	for _, spaced := range []bool{false, true} {
		d := make([]time.Duration, 0, n)
		for range n {
			if spaced {
				if err := m.WaitPrewarmed(ctx); err != nil {
					t.Fatal(err)
				}
			}
			start := time.Now()
			if _, _, err := m.Plan(ctx, req); err != nil {
				t.Fatal(err)
			}
			d = append(d, time.Since(start))
		}
		slices.Sort(d)
		q := func(p float64) time.Duration { return d[int(p*float64(n-1))] }
		t.Logf("plan calls (prewarmed instance ready: %v), %d calls: min %s p50 %s p90 %s p99 %s max %s",
			spaced, n, d[0], q(.5), q(.9), q(.99), d[n-1])
	}
}
