package artifacts

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A capped cache evicts the least recently used entries, never one a job's
// folder still links (a running job's file) nor one being placed.
func TestCacheMaxEvictsLRU(t *testing.T) {
	files := map[string][]byte{}
	for _, n := range []string{"a", "b", "c", "d", "e", "f"} {
		files["/"+n] = append(content(10000), n...)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	}))
	defer srv.Close()
	res := func(n string) Resource {
		s := sha256.Sum256(files["/"+n])
		return Resource{URL: srv.URL + "/" + n, SHA256: hex.EncodeToString(s[:])}
	}
	cache := t.TempDir()
	work := t.TempDir()
	// Room for two entries (10 kB data and its metadata each), not three.
	d := &Downloader{CacheDir: cache, CacheMax: 25000}
	ctx := context.Background()
	fetch := func(n, job string) *Result {
		t.Helper()
		dest, err := JobPath(work, job, "deploy", n)
		if err != nil {
			t.Fatal(err)
		}
		r, err := d.Fetch(ctx, res(n), dest, nil)
		if err != nil {
			t.Fatal(err)
		}
		return &r
	}
	cached := func(n string) bool {
		_, err := os.Stat(filepath.Join(cache, cacheKey(res(n))+".data"))
		return err == nil
	}
	endJob := func(job string) {
		if err := os.RemoveAll(filepath.Join(work, "jobs", job)); err != nil {
			t.Fatal(err)
		}
	}
	step := func() { time.Sleep(20 * time.Millisecond) } // distinct use times

	fetch("a", "1")
	step()
	fetch("b", "1")
	endJob("1")
	step()
	if r := fetch("a", "2"); !r.FromCache { // a is now the most recent
		t.Fatal("a not served from the cache")
	}
	endJob("2")
	step()
	fetch("c", "3")
	endJob("3")
	if !cached("a") || cached("b") || !cached("c") {
		t.Fatalf("after a, b, a, c under a two-entry cap: a %v b %v c %v; want b (least recently used) evicted", cached("a"), cached("b"), cached("c"))
	}
	// Job 4 runs with d linked in its folder: d stays however old.
	step()
	fetch("d", "4")
	step()
	fetch("e", "5")
	endJob("5")
	step()
	fetch("f", "6")
	endJob("6")
	if !cached("d") {
		t.Fatal("evicted an entry a running job's folder links")
	}
	if b, err := os.ReadFile(filepath.Join(work, "jobs", "4", "deploy", "d")); err != nil || string(b[len(b)-1:]) != "d" {
		t.Fatalf("the running job's file: %v", err)
	}
	st := d.Stats()
	if st.Entries != 2 || st.Bytes > d.CacheMax {
		t.Fatalf("cache %+v; want 2 entries (d, in use, and f) within %d bytes", st, d.CacheMax)
	}
	if st.Hits != 1 || st.Misses != 6 {
		t.Fatalf("hits %d misses %d, want 1 and 6", st.Hits, st.Misses)
	}
	// Job 4 ends: d can go at the next prune.
	endJob("4")
	d.CacheMax = 15000
	st, err := d.Prune()
	if err != nil {
		t.Fatal(err)
	}
	if cached("d") || !cached("f") || st.Bytes > d.CacheMax {
		t.Fatalf("after job 4 ended and the cap went to one entry: d %v f %v, %+v", cached("d"), cached("f"), st)
	}
}

// An entry a Fetch is placing is not evicted.
func TestPruneSkipsEntriesInUse(t *testing.T) {
	cache := t.TempDir()
	d := &Downloader{CacheDir: cache, CacheMax: 1}
	for _, k := range []string{"k1", "k2"} {
		if err := os.WriteFile(filepath.Join(cache, k+".data"), content(100), 0o444); err != nil {
			t.Fatal(err)
		}
	}
	d.use("k1", 1)
	st, err := d.Prune()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(cache, "k1.data")); err != nil {
		t.Fatal("evicted the entry in use")
	}
	if st.Removed != 1 || st.Entries != 1 {
		t.Fatalf("%+v, want k2 removed", st)
	}
	d.use("k1", -1)
	if st, _ := d.Prune(); st.Entries != 0 {
		t.Fatalf("%+v: k1 kept once unused", st)
	}
}
