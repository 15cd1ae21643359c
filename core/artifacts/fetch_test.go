package artifacts

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

func content(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*31 + i>>11)
	}
	return b
}

func bz2Payload() []byte {
	var b strings.Builder
	for i := range 2000 {
		fmt.Fprintf(&b, "line %d of the bz2 payload\n", i)
	}
	return []byte(b.String())
}

func gzBytes(t testing.TB, data []byte) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write(data)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func xzBytes(t testing.TB, data []byte) []byte {
	var b bytes.Buffer
	w, err := xz.NewWriter(&b)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func zstdBytes(t testing.TB, data []byte) []byte {
	var b bytes.Buffer
	w, err := zstd.NewWriter(&b)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func zipBytes(t testing.TB, files map[string][]byte) []byte {
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	for name, data := range files {
		f, err := w.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		f.Write(data)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func hexSum(h interface {
	Write([]byte) (int, error)
	Sum([]byte) []byte
}, b []byte) string {
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

// files is a test HTTP server serving fixed bodies and counting requests.
type files struct {
	srv   *httptest.Server
	mu    sync.Mutex
	body  map[string][]byte
	hits  map[string]int
	gate  chan struct{} // when set, requests wait for it to close
	short map[string]bool
}

func newFiles(t *testing.T) *files {
	f := &files{body: map[string][]byte{}, hits: map[string]int{}, short: map[string]bool{}}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.hits[r.URL.Path]++
		b, ok := f.body[r.URL.Path]
		gate, short := f.gate, f.short[r.URL.Path]
		f.mu.Unlock()
		if gate != nil {
			<-gate
		}
		if !ok {
			http.NotFound(w, r)
			return
		}
		if r.Header.Get("X-Token") != "" && r.Header.Get("X-Token") != "secret" {
			http.Error(w, "bad token", http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(b)))
		if short {
			// Promise the whole body, send half, then drop the connection.
			w.Write(b[:len(b)/2])
			w.(http.Flusher).Flush()
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		w.Write(b)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *files) put(path string, b []byte) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.body[path] = b
	return f.srv.URL + path
}

func (f *files) count(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits[path]
}

func newDownloader(t *testing.T) *Downloader {
	return &Downloader{CacheDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)}
}

func cacheEntries(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".data") || strings.HasPrefix(e.Name(), ".part") || strings.HasPrefix(e.Name(), ".zip") {
			out = append(out, e.Name())
		}
	}
	return out
}

func TestFetchCompressions(t *testing.T) {
	fs := newFiles(t)
	data := content(300_000)
	bz2, err := os.ReadFile("testdata/payload.txt.bz2")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, compression, member string
		body, want                      []byte
		file                            string
	}{
		{"none", "/rootfs.ext4", "", "", data, data, "rootfs.ext4"},
		{"none spelled out", "/rootfs2.ext4", "none", "", data, data, "rootfs2.ext4"},
		{"gz", "/Image.gz", "gz", "", gzBytes(t, data), data, "Image"},
		{"xz", "/rootfs.ext4.xz", "xz", "", xzBytes(t, data), data, "rootfs.ext4"},
		{"zstd", "/ramdisk.cpio.zst", "zstd", "", zstdBytes(t, data), data, "ramdisk.cpio"},
		{"bz2", "/payload.txt.bz2", "bz2", "", bz2, bz2Payload(), "payload.txt"},
		{"zip single", "/dtb.zip", "zip", "", zipBytes(t, map[string][]byte{"board.dtb": data}), data, "dtb"},
		{"zip member", "/bundle.zip", "zip", "b/kernel", zipBytes(t, map[string][]byte{"a": []byte("x"), "b/kernel": data}), data, "kernel"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := newDownloader(t)
			u := fs.put(tc.path, tc.body)
			r := Resource{URL: u, Compression: tc.compression, ZipMember: tc.member, SHA256: hexSum(sha256.New(), tc.body)}
			dest, err := JobPath(t.TempDir(), "42", "deploy-tftp", FileName(r))
			if err != nil {
				t.Fatal(err)
			}
			if filepath.Base(dest) != tc.file {
				t.Errorf("file name %q, want %q", filepath.Base(dest), tc.file)
			}
			res, err := d.Fetch(context.Background(), r, dest, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(dest)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tc.want) {
				t.Fatalf("content differs: %d bytes, want %d", len(got), len(tc.want))
			}
			if res.Path != dest || res.Size != int64(len(tc.want)) || res.SHA256 != r.SHA256 || res.FromCache {
				t.Errorf("result %+v", res)
			}
		})
	}
}

func TestChecksums(t *testing.T) {
	fs := newFiles(t)
	body := gzBytes(t, content(10_000))
	u := fs.put("/Image.gz", body)
	good := Resource{URL: u, Compression: "gz",
		SHA256: strings.ToUpper(hexSum(sha256.New(), body)), MD5: hexSum(md5.New(), body), SHA512: hexSum(sha512.New(), body)}
	zero := func(n int) string { return strings.Repeat("0", n) }
	tests := []struct {
		name string
		mod  func(*Resource)
		algo string
	}{
		{"all good", func(*Resource) {}, ""},
		{"sha256 wrong", func(r *Resource) { r.SHA256 = zero(64) }, "sha256sum"},
		{"md5 wrong", func(r *Resource) { r.MD5 = zero(32) }, "md5sum"},
		{"sha512 wrong", func(r *Resource) { r.SHA512 = zero(128) }, "sha512sum"},
		{"md5 only wrong", func(r *Resource) { r.SHA256, r.SHA512, r.MD5 = "", "", zero(32) }, "md5sum"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, cache := range []bool{true, false} {
				d := newDownloader(t)
				cacheDir := d.CacheDir
				if !cache {
					d.CacheDir = ""
				}
				r := good
				tc.mod(&r)
				dest := filepath.Join(t.TempDir(), "Image")
				_, err := d.Fetch(context.Background(), r, dest, nil)
				if tc.algo == "" {
					if err != nil {
						t.Fatal(err)
					}
					continue
				}
				var ce *ChecksumError
				if !errors.As(err, &ce) || ce.Algorithm != tc.algo {
					t.Fatalf("cache %v: got %v, want a %s mismatch", cache, err, tc.algo)
				}
				msg := err.Error()
				for _, s := range []string{u, ce.Want, ce.Got, tc.algo} {
					if !strings.Contains(msg, s) {
						t.Errorf("error %q does not name %q", msg, s)
					}
				}
				if _, err := os.Stat(dest); !errors.Is(err, os.ErrNotExist) {
					t.Error("a file failing its checksum was placed")
				}
				if left, _ := os.ReadDir(filepath.Dir(dest)); len(left) != 0 {
					t.Errorf("left behind: %v", left)
				}
				if e := cacheEntries(t, cacheDir); len(e) != 0 {
					t.Errorf("cache entries after a mismatch: %v", e)
				}
			}
		})
	}
}

func TestBadResources(t *testing.T) {
	d := newDownloader(t)
	tests := []struct {
		name string
		r    Resource
		want string
	}{
		{"ftp", Resource{URL: "ftp://host/x"}, "unsupported URL scheme"},
		{"no scheme", Resource{URL: "host/x"}, "unsupported URL scheme"},
		{"relative file", Resource{URL: "file:x/y"}, "absolute path"},
		{"remote file", Resource{URL: "file://other/x"}, "remote host"},
		{"short sha256", Resource{URL: "http://h/x", SHA256: "abc"}, "sha256sum"},
		{"non-hex md5", Resource{URL: "http://h/x", MD5: strings.Repeat("z", 32)}, "md5sum"},
		{"compression", Resource{URL: "http://h/x", Compression: "lz4"}, "unsupported compression"},
		{"archive", Resource{URL: "http://h/x", Archive: "cpio"}, "unsupported archive"},
		{"member without zip", Resource{URL: "http://h/x", ZipMember: "a"}, "zip member"},
		{"password redacted", Resource{URL: "ftp://u:hunter2@h/x"}, "xxxxx"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := d.Fetch(context.Background(), tc.r, filepath.Join(t.TempDir(), "x"), nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error with %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("password in error: %v", err)
			}
		})
	}
}

func TestHTTPErrors(t *testing.T) {
	fs := newFiles(t)
	d := newDownloader(t)
	_, err := d.Fetch(context.Background(), Resource{URL: fs.srv.URL + "/missing"}, filepath.Join(t.TempDir(), "x"), nil)
	var he *HTTPError
	if !errors.As(err, &he) || he.StatusCode != 404 || !strings.Contains(err.Error(), "404 Not Found") || !strings.Contains(err.Error(), "/missing") {
		t.Fatalf("got %v, want a 404 naming the URL", err)
	}
	u := fs.put("/private", []byte("p"))
	_, err = d.Fetch(context.Background(), Resource{URL: u, Headers: map[string]string{"X-Token": "wrong"}}, filepath.Join(t.TempDir(), "x"), nil)
	if !errors.As(err, &he) || he.StatusCode != 403 {
		t.Fatalf("got %v, want 403", err)
	}
	dest := filepath.Join(t.TempDir(), "x")
	if _, err := d.Fetch(context.Background(), Resource{URL: u, Headers: map[string]string{"X-Token": "secret"}}, dest, nil); err != nil {
		t.Fatalf("headers not sent: %v", err)
	}
}

func TestCache(t *testing.T) {
	fs := newFiles(t)
	d := newDownloader(t)
	body := gzBytes(t, content(50_000))
	u := fs.put("/Image.gz", body)
	r := Resource{URL: u, Compression: "gz", SHA256: hexSum(sha256.New(), body)}
	work := t.TempDir()
	var paths []string
	for i, job := range []string{"1", "2", "3"} {
		dest, _ := JobPath(work, job, "tftp", "Image")
		res, err := d.Fetch(context.Background(), r, dest, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.FromCache != (i > 0) {
			t.Errorf("job %s: FromCache %v", job, res.FromCache)
		}
		paths = append(paths, dest)
	}
	if n := fs.count("/Image.gz"); n != 1 {
		t.Fatalf("%d downloads, want 1", n)
	}
	a, _ := os.Stat(paths[0])
	b, _ := os.Stat(paths[2])
	if !os.SameFile(a, b) {
		t.Error("job files are not hard links of the cache entry")
	}
	// Another checksum is another entry.
	r2 := r
	r2.MD5 = hexSum(md5.New(), body)
	if res, err := d.Fetch(context.Background(), r2, filepath.Join(work, "other"), nil); err != nil || res.FromCache {
		t.Fatalf("different checksum set: %+v %v", res, err)
	}
	// Without a checksum nothing is cached.
	for range 2 {
		if res, err := d.Fetch(context.Background(), Resource{URL: u, Compression: "gz"}, filepath.Join(work, "nosum"), nil); err != nil || res.FromCache {
			t.Fatalf("unverified fetch: %+v %v", res, err)
		}
	}
	if n := fs.count("/Image.gz"); n != 4 {
		t.Fatalf("%d downloads, want 4", n)
	}
}

// TestCacheEntryChanged: a cache entry modified after it was stored (for
// instance through a job's hard link) is dropped and downloaded again.
func TestCacheEntryChanged(t *testing.T) {
	fs := newFiles(t)
	d := newDownloader(t)
	body := content(5000)
	u := fs.put("/ramdisk", body)
	r := Resource{URL: u, SHA256: hexSum(sha256.New(), body)}
	dest := filepath.Join(t.TempDir(), "ramdisk")
	if _, err := d.Fetch(context.Background(), r, dest, nil); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dest, 0o644)
	f, err := os.OpenFile(dest, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("overlay appended in place"))
	f.Close()
	dest2 := filepath.Join(t.TempDir(), "ramdisk")
	res, err := d.Fetch(context.Background(), r, dest2, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(dest2)
	if res.FromCache || !bytes.Equal(got, body) || fs.count("/ramdisk") != 2 {
		t.Fatalf("changed entry reused: %+v, %d downloads", res, fs.count("/ramdisk"))
	}
}

func TestConcurrentFetchOneDownload(t *testing.T) {
	fs := newFiles(t)
	d := newDownloader(t)
	body := zstdBytes(t, content(1<<20))
	u := fs.put("/rootfs.zst", body)
	gate := make(chan struct{})
	fs.mu.Lock()
	fs.gate = gate
	fs.mu.Unlock()
	r := Resource{URL: u, Compression: "zstd", SHA256: hexSum(sha256.New(), body)}
	const n = 8
	var wg sync.WaitGroup
	var fromCache atomic.Int32
	errs := make(chan error, n)
	work := t.TempDir()
	for i := range n {
		wg.Go(func() {
			dest, _ := JobPath(work, fmt.Sprint(i), "target", "rootfs")
			res, err := d.Fetch(context.Background(), r, dest, nil)
			if err != nil {
				errs <- err
				return
			}
			if res.FromCache {
				fromCache.Add(1)
			}
			if got, _ := os.ReadFile(dest); !bytes.Equal(got, content(1<<20)) {
				errs <- fmt.Errorf("job %d: content differs", i)
			}
		})
	}
	time.Sleep(100 * time.Millisecond) // let every Fetch reach the cache
	close(gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if c := fs.count("/rootfs.zst"); c != 1 {
		t.Fatalf("%d downloads for %d concurrent fetches, want 1", c, n)
	}
	if fromCache.Load() != n-1 {
		t.Errorf("%d fetches from the cache, want %d", fromCache.Load(), n-1)
	}
}

// TestConcurrentProcesses: two Downloaders (as two processes would) on one
// cache folder download once, thanks to the lock file.
func TestConcurrentDownloadersShareCache(t *testing.T) {
	fs := newFiles(t)
	dir := t.TempDir()
	body := content(200_000)
	u := fs.put("/f", body)
	gate := make(chan struct{})
	fs.mu.Lock()
	fs.gate = gate
	fs.mu.Unlock()
	r := Resource{URL: u, SHA256: hexSum(sha256.New(), body)}
	var wg sync.WaitGroup
	for i := range 2 {
		d := &Downloader{CacheDir: dir, Logger: slog.New(slog.DiscardHandler)}
		wg.Go(func() {
			if _, err := d.Fetch(context.Background(), r, filepath.Join(t.TempDir(), fmt.Sprint(i)), nil); err != nil {
				t.Error(err)
			}
		})
	}
	time.Sleep(100 * time.Millisecond)
	close(gate)
	wg.Wait()
	if c := fs.count("/f"); c != 1 {
		t.Fatalf("%d downloads, want 1", c)
	}
}

func TestInterruptedDownload(t *testing.T) {
	fs := newFiles(t)
	d := newDownloader(t)
	body := content(1 << 20)
	u := fs.put("/rootfs", body)
	fs.short["/rootfs"] = true
	r := Resource{URL: u, SHA256: hexSum(sha256.New(), body)}
	dest := filepath.Join(t.TempDir(), "rootfs")
	if _, err := d.Fetch(context.Background(), r, dest, nil); err == nil {
		t.Fatal("a truncated download succeeded")
	}
	if e := cacheEntries(t, d.CacheDir); len(e) != 0 {
		t.Fatalf("cache entries after an interrupted download: %v", e)
	}
	if _, err := os.Stat(dest); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a partial file was placed")
	}
	// Without the cache too.
	direct := &Downloader{}
	if _, err := direct.Fetch(context.Background(), Resource{URL: u}, dest, nil); err == nil {
		t.Fatal("a truncated direct download succeeded")
	}
	if left, _ := os.ReadDir(filepath.Dir(dest)); len(left) != 0 {
		t.Fatalf("left behind: %v", left)
	}
	// The server recovers: the next fetch works and is not served from a
	// partial entry.
	fs.mu.Lock()
	fs.short["/rootfs"] = false
	fs.mu.Unlock()
	res, err := d.Fetch(context.Background(), r, dest, nil)
	if err != nil || res.FromCache {
		t.Fatalf("after recovery: %+v %v", res, err)
	}
}

func TestContextDeadline(t *testing.T) {
	fs := newFiles(t)
	u := fs.put("/slow", []byte("x"))
	gate := make(chan struct{})
	fs.mu.Lock()
	fs.gate = gate
	fs.mu.Unlock()
	defer close(gate)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	d := newDownloader(t)
	_, err := d.Fetch(ctx, Resource{URL: u, SHA256: strings.Repeat("a", 64)}, filepath.Join(t.TempDir(), "x"), nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want a deadline error", err)
	}
}

func TestFileURL(t *testing.T) {
	dir := t.TempDir()
	data := content(70_000)
	gz := gzBytes(t, data)
	src := filepath.Join(dir, "Image.gz")
	if err := os.WriteFile(src, gz, 0o644); err != nil {
		t.Fatal(err)
	}
	var calls [][2]int64
	d := newDownloader(t)
	d.FileDirs = []string{dir}
	r := Resource{URL: "file://" + src, Compression: "gz", SHA256: hexSum(sha256.New(), gz)}
	dest := filepath.Join(t.TempDir(), "Image")
	res, err := d.Fetch(context.Background(), r, dest, func(done, total int64) { calls = append(calls, [2]int64{done, total}) })
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(dest)
	if !bytes.Equal(got, data) || res.Size != int64(len(data)) {
		t.Fatalf("file URL: %+v", res)
	}
	if len(calls) == 0 || calls[len(calls)-1] != [2]int64{int64(len(gz)), int64(len(gz))} {
		t.Fatalf("progress %v: want a last call with done == total == %d", calls, len(gz))
	}
	if _, err := d.Fetch(context.Background(), Resource{URL: "file://" + dir + "/nothing"}, dest, nil); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	if _, err := d.Fetch(context.Background(), Resource{URL: "file://" + dir}, dest, nil); err == nil {
		t.Fatal("a folder was fetched")
	}
}

// TestFileURLRefused: file:// URLs read only under FileDirs (none by
// default), and no symbolic link leads out of them; the refusal neither
// copies nor quotes the file.
func TestFileURLRefused(t *testing.T) {
	allowed, outside := t.TempDir(), t.TempDir()
	secret := filepath.Join(outside, "shadow")
	if err := os.WriteFile(secret, []byte("root:SECRET-HASH:19000::::::\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(allowed, "leak")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(allowed, "dir")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		dirs []string
		url  string
	}{
		{"no folder allowed", nil, "file://" + secret},
		{"outside the folders", []string{allowed}, "file://" + secret},
		{"dot-dot out", []string{allowed}, "file://" + allowed + "/../" + filepath.Base(outside) + "/shadow"},
		{"prefix is not a folder", []string{allowed}, "file://" + allowed + "x/shadow"},
		{"file link out", []string{allowed}, "file://" + allowed + "/leak"},
		{"folder link out", []string{allowed}, "file://" + allowed + "/dir/shadow"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := &Downloader{FileDirs: tc.dirs}
			dest := filepath.Join(t.TempDir(), "out")
			_, err := d.Fetch(context.Background(), Resource{URL: tc.url}, dest, nil)
			if !errors.Is(err, ErrFileRefused) {
				t.Fatalf("got %v, want ErrFileRefused", err)
			}
			if strings.Contains(err.Error(), "SECRET") {
				t.Fatalf("the message quotes the file: %v", err)
			}
			if _, err := os.Stat(dest); err == nil {
				t.Fatal("the file was copied")
			}
			rc, err := d.Open(context.Background(), tc.url, "")
			if err == nil {
				rc.Close()
				t.Fatal("Open read a refused file:// URL")
			}
		})
	}
}

func TestProgress(t *testing.T) {
	fs := newFiles(t)
	body := content(10 << 20)
	u := fs.put("/big", body)
	var calls [][2]int64
	d := &Downloader{}
	if _, err := d.Fetch(context.Background(), Resource{URL: u}, filepath.Join(t.TempDir(), "big"), func(done, total int64) {
		calls = append(calls, [2]int64{done, total})
	}); err != nil {
		t.Fatal(err)
	}
	if len(calls) < 19 || len(calls) > 21 {
		t.Errorf("%d progress calls for a known size, want about 20 (every 5%%)", len(calls))
	}
	for i, c := range calls {
		if c[1] != int64(len(body)) || (i > 0 && c[0] <= calls[i-1][0]) {
			t.Fatalf("progress call %d: %v", i, c)
		}
	}
	if last := calls[len(calls)-1]; last[0] != int64(len(body)) {
		t.Errorf("last progress %v", last)
	}

	// Unknown size: every ProgressBytes.
	var n int
	pr := &progressReader{r: bytes.NewReader(body), total: -1, step: 1 << 20, fn: func(done, total int64) { n++ }}
	io.Copy(io.Discard, pr)
	pr.finish()
	if n != 10 {
		t.Errorf("%d calls for 10 MiB by 1 MiB steps, want 10", n)
	}
}

func tarGz(t *testing.T, entries []tar.Header, bodies map[string]string) []byte {
	var b bytes.Buffer
	gz := gzip.NewWriter(&b)
	tw := tar.NewWriter(gz)
	for _, h := range entries {
		h.Size = int64(len(bodies[h.Name]))
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(bodies[h.Name]))
	}
	tw.Close()
	gz.Close()
	return b.Bytes()
}

func TestArchiveTar(t *testing.T) {
	fs := newFiles(t)
	good := tarGz(t, []tar.Header{
		{Name: "./", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "./modules/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "./modules/a.ko", Typeflag: tar.TypeReg, Mode: 0o644},
		{Name: "bin/run.sh", Typeflag: tar.TypeReg, Mode: 0o755},
		{Name: "bin/alias", Typeflag: tar.TypeSymlink, Linkname: "run.sh"},
		{Name: "bin/hard", Typeflag: tar.TypeLink, Linkname: "bin/run.sh"},
	}, map[string]string{"./modules/a.ko": "module", "bin/run.sh": "#!/bin/sh\n"})
	u := fs.put("/modules.tar.gz", good)
	for _, cache := range []bool{true, false} {
		d := newDownloader(t)
		if !cache {
			d.CacheDir = ""
		}
		dest := filepath.Join(t.TempDir(), "modules")
		res, err := d.Fetch(context.Background(), Resource{URL: u, Compression: "gz", Archive: "tar", SHA256: hexSum(sha256.New(), good)}, dest, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Path != dest || res.Size != int64(len("module")+len("#!/bin/sh\n")) {
			t.Errorf("result %+v", res)
		}
		for name, want := range map[string]string{"modules/a.ko": "module", "bin/alias": "#!/bin/sh\n", "bin/hard": "#!/bin/sh\n"} {
			if got, err := os.ReadFile(filepath.Join(dest, name)); err != nil || string(got) != want {
				t.Errorf("%s: %q %v", name, got, err)
			}
		}
		if st, err := os.Stat(filepath.Join(dest, "bin/run.sh")); err != nil || st.Mode().Perm() != 0o755 {
			t.Errorf("mode of run.sh: %v %v", st, err)
		}
		if entries, _ := os.ReadDir(filepath.Dir(dest)); len(entries) != 1 {
			t.Errorf("left behind beside the folder: %v", entries)
		}
	}

	outside := t.TempDir()
	evil := []struct {
		name    string
		entries []tar.Header
	}{
		{"dotdot", []tar.Header{{Name: "../evil", Typeflag: tar.TypeReg}}},
		{"absolute", []tar.Header{{Name: "/tmp/evil", Typeflag: tar.TypeReg}}},
		{"through symlink", []tar.Header{{Name: "out", Typeflag: tar.TypeSymlink, Linkname: outside}, {Name: "out/evil", Typeflag: tar.TypeReg}}},
		{"hard link outside", []tar.Header{{Name: "h", Typeflag: tar.TypeLink, Linkname: "../../etc/passwd"}}},
	}
	for _, tc := range evil {
		t.Run(tc.name, func(t *testing.T) {
			body := tarGz(t, tc.entries, map[string]string{})
			u := fs.put("/"+tc.name+".tgz", body)
			d := &Downloader{}
			if _, err := d.Fetch(context.Background(), Resource{URL: u, Compression: "gz", Archive: "tar"}, filepath.Join(t.TempDir(), "x"), nil); err == nil {
				t.Fatal("a malicious tar was unpacked")
			}
			if _, err := os.Stat(filepath.Join(outside, "evil")); err == nil {
				t.Fatal("a file was written outside the folder")
			}
		})
	}
}

func TestZipErrors(t *testing.T) {
	fs := newFiles(t)
	u := fs.put("/two.zip", zipBytes(t, map[string][]byte{"a": []byte("1"), "b": []byte("2")}))
	d := &Downloader{}
	for _, member := range []string{"", "c"} {
		_, err := d.Fetch(context.Background(), Resource{URL: u, Compression: "zip", ZipMember: member}, filepath.Join(t.TempDir(), "x"), nil)
		if err == nil || !strings.Contains(err.Error(), "zip") {
			t.Fatalf("member %q: %v", member, err)
		}
	}
	u = fs.put("/notzip.zip", []byte("plain text"))
	if _, err := d.Fetch(context.Background(), Resource{URL: u, Compression: "zip"}, filepath.Join(t.TempDir(), "x"), nil); err == nil {
		t.Fatal("a non-zip was accepted")
	}
	u = fs.put("/notgz.gz", []byte("plain text"))
	if _, err := d.Fetch(context.Background(), Resource{URL: u, Compression: "gz"}, filepath.Join(t.TempDir(), "x"), nil); err == nil {
		t.Fatal("a non-gz was accepted")
	}
}

func TestOpen(t *testing.T) {
	fs := newFiles(t)
	data := content(100_000)
	tests := []struct {
		path, compression string
		body              []byte
	}{
		{"/t.tar.gz", "gz", gzBytes(t, data)},
		{"/t.tar.xz", "xz", xzBytes(t, data)},
		{"/t.tar.zst", "zstd", zstdBytes(t, data)},
		{"/t.tar", "none", data},
		{"/t.zip", "zip", zipBytes(t, map[string][]byte{"t.tar": data})},
	}
	d := &Downloader{CacheDir: t.TempDir()}
	var s interface {
		Fetch(context.Context, string, string) (io.ReadCloser, error)
	} = Streamer{D: d}
	for _, tc := range tests {
		t.Run(tc.compression, func(t *testing.T) {
			rc, err := s.Fetch(context.Background(), fs.put(tc.path, tc.body), tc.compression)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(rc)
			if err != nil {
				t.Fatal(err)
			}
			if err := rc.Close(); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, data) {
				t.Fatal("content differs")
			}
		})
	}
	if e := cacheEntries(t, d.CacheDir); len(e) != 0 {
		t.Errorf("Open left files behind: %v", e)
	}
	if _, err := d.Open(context.Background(), fs.srv.URL+"/missing", "gz"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("missing: %v", err)
	}
	if _, err := d.Open(context.Background(), fs.srv.URL+"/t.tar", "rar"); err == nil {
		t.Fatal("unknown compression accepted")
	}
}

func TestJobPathAndFileName(t *testing.T) {
	p, err := JobPath("/w", "42", "target", "Image")
	if err != nil || p != "/w/jobs/42/target/Image" {
		t.Fatalf("JobPath = %q, %v", p, err)
	}
	for _, bad := range [][3]string{{"..", "r", "f"}, {"1", "a/b", "f"}, {"1", "r", ""}, {"1", "r", `..\x`}} {
		if _, err := JobPath("/w", bad[0], bad[1], bad[2]); err == nil {
			t.Errorf("JobPath accepted %q", bad)
		}
	}
	for _, tc := range []struct {
		r    Resource
		want string
	}{
		{Resource{URL: "http://h/a/Image.gz", Compression: "gz"}, "Image"},
		{Resource{URL: "http://h/a/Image.gz"}, "Image.gz"},
		{Resource{URL: "http://h/rootfs.ext4.zst?x=1", Compression: "zstd"}, "rootfs.ext4"},
		{Resource{URL: "http://h/"}, "download"},
		{Resource{URL: "http://h/x.zip", Compression: "zip", ZipMember: "dir/board.dtb"}, "board.dtb"},
	} {
		if got := FileName(tc.r); got != tc.want {
			t.Errorf("FileName(%s) = %q, want %q", tc.r.URL, got, tc.want)
		}
	}
}

// TestStreamingMemory proves that a download does not hold the file in
// memory: downloading 64 MiB allocates a small fraction of that.
func TestStreamingMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("64 MiB download")
	}
	dir := t.TempDir()
	src := writeGzFile(t, dir, 64<<20)
	d := &Downloader{FileDirs: []string{dir}}
	dest := filepath.Join(dir, "out")
	var before, after runtimeMem
	before.read()
	if _, err := d.Fetch(context.Background(), Resource{URL: "file://" + src, Compression: "gz"}, dest, nil); err != nil {
		t.Fatal(err)
	}
	after.read()
	if alloc := after.total - before.total; alloc > 8<<20 {
		t.Fatalf("fetching 64 MiB allocated %d bytes: not streaming", alloc)
	}
}

func TestInsideLink(t *testing.T) {
	tests := []struct{ name, target, want string }{
		{"leak", "/etc/passwd", "etc/passwd"},
		{"rootdir", "/", "."},
		{"a/b/rootdir", "/", "../.."},
		{"a/b/lib", "/lib/x.so", "../../lib/x.so"},
		{"a/b/up", "../../../../../etc/passwd", "../../etc/passwd"},
		{"bin/alias", "run.sh", "run.sh"},
		{"bin/sibling", "../lib/x", "../lib/x"},
		{"a/self", ".", "."},
		{"a/b/c", "/a/b/d", "d"},
	}
	for _, tc := range tests {
		if got := insideLink(tc.name, tc.target); got != tc.want {
			t.Errorf("insideLink(%q, %q) = %q, want %q", tc.name, tc.target, got, tc.want)
		}
	}
}
