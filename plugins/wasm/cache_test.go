package wasm

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lavalab/lavalab/plugins/internal/testbuild"
)

// rebuilt returns wasm with a custom section naming build i appended: new
// bytes (a new SHA-256, a new compile), as a rebuild of the same driver.
func rebuilt(wasm []byte, i int) []byte {
	name := "lavalab-rebuild"
	payload := fmt.Sprintf("build %d", i)
	body := append([]byte{byte(len(name))}, name...)
	body = append(body, payload...)
	out := append([]byte{}, wasm...)
	out = append(out, 0) // custom section
	n := len(body)
	for { // LEB128
		b := byte(n & 0x7f)
		n >>= 7
		if n != 0 {
			out = append(out, b|0x80)
			continue
		}
		out = append(out, b)
		break
	}
	return append(out, body...)
}

// Across rebuilds of a driver, the two newest loaded, the cache stays
// under its cap after each prune, and what the loaded versions need stays.
// 6 rebuilds here; BenchmarkDriverCacheTwentyRebuilds does 20 and prints
// the sizes (make bench).
func TestPruneCacheRebuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles 6 modules")
	}
	pruneAcrossRebuilds(t, 6)
}

func BenchmarkDriverCacheTwentyRebuilds(b *testing.B) {
	for range b.N {
		peak, capBytes, unpruned := pruneAcrossRebuilds(b, 20)
		b.ReportMetric(float64(peak), "peak-bytes")
		b.ReportMetric(float64(capBytes), "cap-bytes")
		b.ReportMetric(float64(unpruned), "unpruned-bytes")
	}
}

// pruneAcrossRebuilds loads n rebuilds of the good driver one after
// another, keeping the two newest loaded and pruning after each, checks
// the cap and what the loaded versions need, and returns the largest size
// after a prune, the cap and about what the cache would hold unpruned.
func pruneAcrossRebuilds(t testing.TB, n int) (peak, capBytes, unpruned int64) {
	ctx := context.Background()
	dir := t.TempDir()
	h, err := NewHost(ctx, Options{CacheDir: dir, Prewarm: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(ctx)
	good := testbuild.Read(t, "plugins/wasm/testdata/good", testbuild.WASM, "")

	first, err := h.Load(ctx, "good", rebuilt(good, 0))
	if err != nil {
		t.Fatal(err)
	}
	one := h.CacheSize()
	if one == 0 {
		t.Fatal("nothing cached")
	}
	// Room for three versions: the two loaded and one more.
	limits := CacheLimits{MaxBytes: 3*one + one/2}
	t.Logf("one version caches %d bytes; cap %d", one, limits.MaxBytes)
	loaded := []*Module{first}
	for i := 1; i < n; i++ {
		m, err := h.Load(ctx, "good", rebuilt(good, i))
		if err != nil {
			t.Fatal(err)
		}
		loaded = append(loaded, m)
		if len(loaded) > 2 {
			if err := loaded[0].Close(ctx); err != nil {
				t.Fatal(err)
			}
			loaded = loaded[1:]
		}
		before := h.CacheSize()
		st, err := h.PruneCache(limits)
		if err != nil {
			t.Fatal(err)
		}
		after := h.CacheSize()
		peak = max(peak, after)
		t.Logf("rebuild %2d: cache %9d -> %9d bytes (removed %d, kept %d)", i, before, after, st.Removed, st.Kept)
		if after > limits.MaxBytes || st.Over {
			t.Fatalf("rebuild %d: cache %d bytes, over its cap %d", i, after, limits.MaxBytes)
		}
		if st.BytesAfter != after {
			t.Errorf("rebuild %d: PruneCache counted %d bytes, the folder holds %d", i, st.BytesAfter, after)
		}
		for _, m := range loaded {
			for _, p := range []string{h.rewrittenPath(m.sha), h.descriptionPath(m.sha), h.usedPath(m.sha)} {
				if _, err := os.Stat(p); err != nil {
					t.Fatalf("rebuild %d: a loaded version's %s was pruned", i, p)
				}
			}
			names := readUsed(h.usedPath(m.sha))
			if len(names) == 0 {
				t.Fatalf("rebuild %d: no compiled file noted for %s", i, m.sha[:12])
			}
			for _, n := range names {
				if _, err := os.Stat(filepath.Join(dir, wazeroDirName(), n)); err != nil {
					t.Fatalf("rebuild %d: a loaded version's compiled code was pruned: %v", i, err)
				}
			}
		}
	}
	t.Logf("%d rebuilds: peak %d bytes after pruning, cap %d; without pruning about %d", n, peak, limits.MaxBytes, int64(n)*one)
	return peak, limits.MaxBytes, int64(n) * one
}

// Versions not loaded and unused for MaxAge are removed; loaded ones stay
// whatever their age; compiled code of another wazero version goes.
func TestPruneCacheAge(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	h, err := NewHost(ctx, Options{CacheDir: dir, Prewarm: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(ctx)
	good := testbuild.Read(t, "plugins/wasm/testdata/good", testbuild.WASM, "")
	a, err := h.Load(ctx, "a", rebuilt(good, 1))
	if err != nil {
		t.Fatal(err)
	}
	b, err := h.Load(ctx, "b", rebuilt(good, 2))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(dir, "wazero-v0.0.1-old", "x")
	if err := os.MkdirAll(filepath.Dir(stale), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(stale, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Recently used: kept under an age cap of an hour.
	if st, err := h.PruneCache(CacheLimits{MaxAge: time.Hour}); err != nil || st.Removed != 0 {
		t.Fatalf("recent version pruned: %+v %v", st, err)
	}
	if _, err := os.Stat(stale); err == nil {
		t.Fatal("another wazero version's code kept")
	}
	old := time.Now().Add(-48 * time.Hour)
	for _, m := range []*Module{a, b} {
		if err := os.Chtimes(h.usedPath(m.sha), old, old); err != nil {
			t.Fatal(err)
		}
	}
	st, err := h.PruneCache(CacheLimits{MaxAge: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if st.Removed != 1 || st.Kept != 1 {
		t.Fatalf("pruned %+v, want b removed and a kept", st)
	}
	if _, err := os.Stat(h.rewrittenPath(b.sha)); err == nil {
		t.Fatal("b's rewrite kept")
	}
	if _, err := os.Stat(h.rewrittenPath(a.sha)); err != nil {
		t.Fatal("a's rewrite removed while loaded")
	}
	// ForgetCached removes a version's files at once, not a loaded one's.
	c, err := h.Load(ctx, "c", rebuilt(good, 3))
	if err != nil {
		t.Fatal(err)
	}
	if err := h.ForgetCached(c.sha); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(h.rewrittenPath(c.sha)); err != nil {
		t.Fatal("ForgetCached removed a loaded version's files")
	}
	cFiles := readUsed(h.usedPath(c.sha))
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := h.ForgetCached(c.sha); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{h.rewrittenPath(c.sha), h.descriptionPath(c.sha), h.usedPath(c.sha), filepath.Join(dir, wazeroDirName(), cFiles[0])} {
		if _, err := os.Stat(p); err == nil {
			t.Fatalf("ForgetCached left %s", p)
		}
	}
	if _, err := os.Stat(h.rewrittenPath(a.sha)); err != nil {
		t.Fatal("ForgetCached of c removed a's files")
	}
	// b loads again from nothing, and is noted again.
	b2, err := h.Load(ctx, "b", rebuilt(good, 2))
	if err != nil {
		t.Fatal(err)
	}
	if len(readUsed(h.usedPath(b2.sha))) == 0 {
		t.Fatal("b's compiled files not noted after a new compile")
	}
}
