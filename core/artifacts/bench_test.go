package artifacts

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/klauspost/compress/gzip"
)

type runtimeMem struct{ total uint64 }

func (m *runtimeMem) read() {
	runtime.GC()
	var s runtime.MemStats
	runtime.ReadMemStats(&s)
	m.total = s.TotalAlloc
}

// writeGzFile writes a gzip file of n bytes of half-compressible data,
// streaming, and returns its path.
func writeGzFile(t testing.TB, dir string, n int64) string {
	t.Helper()
	p := filepath.Join(dir, "rootfs.ext4.gz")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	bw := bufio.NewWriter(f)
	zw, _ := gzip.NewWriterLevel(bw, gzip.BestSpeed)
	rng := rand.New(rand.NewPCG(1, 2))
	chunk := make([]byte, 1<<20)
	for written := int64(0); written < n; written += int64(len(chunk)) {
		for i := 0; i < len(chunk); i += 8 {
			v := rng.Uint64() & 0x0f0f0f0f0f0f0f0f // half the entropy
			for j := range 8 {
				chunk[i+j] = byte(v >> (8 * j))
			}
		}
		if _, err := zw.Write(chunk[:min(int64(len(chunk)), n-written)]); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

func fileSHA256(t testing.TB, p string) string {
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	io.Copy(h, f)
	return hex.EncodeToString(h.Sum(nil))
}

// BenchmarkGzDownload downloads and decompresses a gz file over loopback
// HTTP, checking its sha256, without the cache. MB/s is of the decompressed
// size; B/op and the "heap-MiB" metric stay flat as the size grows.
func BenchmarkGzDownload(b *testing.B) {
	for _, size := range []struct {
		name string
		n    int64
	}{{"8MiB", 8 << 20}, {"64MiB", 64 << 20}} {
		b.Run(size.name, func(b *testing.B) {
			dir := b.TempDir()
			src := writeGzFile(b, dir, size.n)
			sum := fileSHA256(b, src)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.ServeFile(w, r, src)
			}))
			defer srv.Close()
			d := &Downloader{Logger: slog.New(slog.DiscardHandler)}
			r := Resource{URL: srv.URL + "/rootfs.ext4.gz", Compression: "gz", SHA256: sum}
			dest := filepath.Join(dir, "out")
			b.SetBytes(size.n)
			b.ReportAllocs()
			var peak uint64
			for b.Loop() {
				if _, err := d.Fetch(context.Background(), r, dest, nil); err != nil {
					b.Fatal(err)
				}
				var s runtime.MemStats
				runtime.ReadMemStats(&s)
				peak = max(peak, s.HeapInuse)
			}
			b.ReportMetric(float64(peak)/(1<<20), "heap-MiB")
		})
	}
}

// BenchmarkCachedHit measures a cache hit (lookup + hard link into a job
// folder) for a 64 MiB entry.
func BenchmarkCachedHit(b *testing.B) {
	dir := b.TempDir()
	src := writeGzFile(b, dir, 64<<20)
	sum := fileSHA256(b, src)
	d := &Downloader{CacheDir: filepath.Join(dir, "cache"), Logger: slog.New(slog.DiscardHandler), FileDirs: []string{dir}}
	r := Resource{URL: "file://" + src, Compression: "gz", SHA256: sum}
	if _, err := d.Fetch(context.Background(), r, filepath.Join(dir, "first"), nil); err != nil {
		b.Fatal(err)
	}
	dest := filepath.Join(dir, "job", "rootfs.ext4")
	b.SetBytes(64 << 20)
	b.ReportAllocs()
	for b.Loop() {
		res, err := d.Fetch(context.Background(), r, dest, nil)
		if err != nil || !res.FromCache {
			b.Fatalf("%+v %v", res, err)
		}
	}
}
