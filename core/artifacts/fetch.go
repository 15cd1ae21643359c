package artifacts

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultProgressBytes is how often progress is reported when the size is
// unknown.
const DefaultProgressBytes = 8 << 20

// Progress receives the bytes downloaded so far and the total (-1 when the
// server did not say). It is called every 5% of a known total (or every
// ProgressBytes), and once at the end.
type Progress func(done, total int64)

// Downloader fetches resources, through an on-disk cache when CacheDir is
// set. Its zero value works (no cache, http.DefaultClient). A Downloader
// is safe for concurrent use; one cache folder may also be shared by
// several processes (entries are locked with flock where available).
type Downloader struct {
	// CacheDir holds cached downloads; empty disables the cache. Only
	// resources with at least one checksum are cached (a URL alone may
	// change content), unless CacheUnverified is set.
	CacheDir        string
	CacheUnverified bool
	// Client does the HTTP requests (nil: http.DefaultClient). Timeouts
	// come from the context given to Fetch and Open.
	Client *http.Client
	// ProgressBytes is the progress step when the size is unknown.
	ProgressBytes int64
	// Logger receives debug records about the cache (nil: slog.Default()).
	Logger *slog.Logger
	// FileDirs are the absolute folders file:// URLs may read from (opened
	// with os.Root: a symbolic link may not lead out). Empty: every
	// file:// URL is refused, so that a job cannot copy the worker's own
	// files (/etc/shadow) into its served folder.
	FileDirs []string
	// CacheMax caps the cache's size in bytes (0: no cap). When a new
	// entry takes it over, the least recently used entries are removed
	// until it fits, except the ones in use: being placed by a Fetch, or
	// linked into a job's folder (a running job's file). See Prune.
	CacheMax int64

	mu       sync.Mutex
	inflight map[string]*flight
	using    map[string]int // cache keys Fetch calls are placing
	hits     atomic.Int64
	misses   atomic.Int64
}

type flight struct {
	done chan struct{}
	err  error
}

func (d *Downloader) logger() *slog.Logger {
	if d.Logger != nil {
		return d.Logger
	}
	return slog.Default()
}

func (d *Downloader) tempDir() string {
	if d.CacheDir != "" {
		return d.CacheDir
	}
	return os.TempDir()
}

// JobPath returns `<work>/jobs/<job>/<role>/<name>`, refusing elements that
// are empty, contain a path separator or are "." or "..".
func JobPath(work, job, role, name string) (string, error) {
	for _, el := range []string{job, role, name} {
		if el == "" || el == "." || el == ".." || strings.ContainsAny(el, `/\`) || strings.ContainsRune(el, 0) {
			return "", fmt.Errorf("artifacts: bad path element %q for job %q role %q", el, job, role)
		}
	}
	return filepath.Join(work, "jobs", job, role, name), nil
}

// Fetch downloads r and places the result at dest: a file, or with
// r.Archive "tar" a folder the archive is unpacked into. Checksums are
// checked on the downloaded bytes before anything is placed; a failure
// leaves neither dest nor a cache entry behind.
func (d *Downloader) Fetch(ctx context.Context, r Resource, dest string, progress Progress) (Result, error) {
	r, err := r.normalize()
	if err != nil {
		return Result{}, err
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return Result{}, fmt.Errorf("artifacts: %w", err)
	}
	if d.CacheDir == "" || (!r.hasChecksum() && !d.CacheUnverified) {
		return d.fetchDirect(ctx, r, dest, progress)
	}
	if err := os.MkdirAll(d.CacheDir, 0o755); err != nil {
		return Result{}, fmt.Errorf("artifacts: cache: %w", err)
	}
	key := cacheKey(r)
	d.use(key, 1)
	defer d.use(key, -1)
	entry, fromCache, err := d.cached(ctx, r, progress)
	if err != nil {
		return Result{}, err
	}
	if fromCache {
		d.hits.Add(1)
		d.touch(key)
	} else {
		d.misses.Add(1)
	}
	res, err := place(entry.path, dest, r.Archive)
	if err != nil {
		return Result{}, fmt.Errorf("artifacts: place %s: %w", redact(r.URL), err)
	}
	res.SHA256, res.FromCache = entry.meta.SHA256, fromCache
	return res, nil
}

// fetchDirect downloads to a temporary file beside dest and renames it.
func (d *Downloader) fetchDirect(ctx context.Context, r Resource, dest string, progress Progress) (Result, error) {
	tmp, err := os.CreateTemp(filepath.Dir(dest), "."+filepath.Base(dest)+".part-*")
	if err != nil {
		return Result{}, fmt.Errorf("artifacts: %w", err)
	}
	defer os.Remove(tmp.Name())
	sum, size, err := d.download(ctx, r, tmp, progress)
	if cerr := tmp.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("artifacts: %w", cerr)
	}
	if err != nil {
		return Result{}, err
	}
	if r.Archive == "tar" {
		res, err := place(tmp.Name(), dest, r.Archive)
		if err != nil {
			return Result{}, fmt.Errorf("artifacts: unpack %s: %w", redact(r.URL), err)
		}
		res.SHA256 = sum
		return res, nil
	}
	if err := os.Rename(tmp.Name(), dest); err != nil {
		return Result{}, fmt.Errorf("artifacts: %w", err)
	}
	return Result{Path: dest, Size: size, SHA256: sum}, nil
}

// cacheMeta is stored beside each cache entry.
type cacheMeta struct {
	URL         string    `json:"url"`
	Compression string    `json:"compression,omitempty"`
	SHA256      string    `json:"sha256"` // of the downloaded bytes
	Size        int64     `json:"size"`   // of the data file
	ModTime     time.Time `json:"mtime"`  // of the data file, to notice a change
	Fetched     time.Time `json:"fetched"`
}

type cacheEntry struct {
	path string
	meta cacheMeta
}

func cacheKey(r Resource) string {
	h := sha256.New()
	for _, s := range []string{"v1", r.URL, r.Compression, r.ZipMember, r.SHA256, r.MD5, r.SHA512} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// lookup returns a valid cache entry for key, removing a stale one.
func (d *Downloader) lookup(key string) (cacheEntry, bool) {
	data := filepath.Join(d.CacheDir, key+".data")
	st, err := os.Stat(data)
	if err != nil {
		return cacheEntry{}, false
	}
	b, err := os.ReadFile(filepath.Join(d.CacheDir, key+".json"))
	var m cacheMeta
	if err == nil {
		err = json.Unmarshal(b, &m)
	}
	if err != nil || m.Size != st.Size() || !m.ModTime.Equal(st.ModTime()) {
		// Changed since it was cached (written through a hard link?) or
		// half-written metadata: never use it.
		d.logger().Warn("artifacts: dropping a stale cache entry", "key", key, "url", redact(m.URL))
		os.Remove(data)
		os.Remove(filepath.Join(d.CacheDir, key+".json"))
		return cacheEntry{}, false
	}
	return cacheEntry{path: data, meta: m}, true
}

// cached returns the cache entry for r, downloading it when needed. Within
// the process one caller downloads and the others wait; across processes a
// lock file does the same.
func (d *Downloader) cached(ctx context.Context, r Resource, progress Progress) (cacheEntry, bool, error) {
	key := cacheKey(r)
	for {
		if e, ok := d.lookup(key); ok {
			return e, true, nil
		}
		d.mu.Lock()
		if f, ok := d.inflight[key]; ok {
			d.mu.Unlock()
			select {
			case <-f.done:
			case <-ctx.Done():
				return cacheEntry{}, false, fmt.Errorf("artifacts: waiting for %s: %w", redact(r.URL), ctx.Err())
			}
			if f.err != nil && !errors.Is(f.err, context.Canceled) && !errors.Is(f.err, context.DeadlineExceeded) {
				return cacheEntry{}, false, f.err
			}
			continue // cached now, or the leader was cancelled: try again
		}
		if d.inflight == nil {
			d.inflight = map[string]*flight{}
		}
		f := &flight{done: make(chan struct{})}
		d.inflight[key] = f
		d.mu.Unlock()

		e, fromCache, err := d.fill(ctx, key, r, progress)
		f.err = err
		d.mu.Lock()
		delete(d.inflight, key)
		d.mu.Unlock()
		close(f.done)
		return e, fromCache, err
	}
}

// fill downloads r into the cache under key (holding the key's file lock).
func (d *Downloader) fill(ctx context.Context, key string, r Resource, progress Progress) (cacheEntry, bool, error) {
	unlock, err := lockFile(ctx, filepath.Join(d.CacheDir, key+".lock"))
	if err != nil {
		return cacheEntry{}, false, fmt.Errorf("artifacts: lock cache entry for %s: %w", redact(r.URL), err)
	}
	defer unlock()
	if e, ok := d.lookup(key); ok { // another process filled it meanwhile
		return e, true, nil
	}
	tmp, err := os.CreateTemp(d.CacheDir, ".part-"+key[:16]+"-*")
	if err != nil {
		return cacheEntry{}, false, fmt.Errorf("artifacts: cache: %w", err)
	}
	defer os.Remove(tmp.Name())
	sum, size, err := d.download(ctx, r, tmp, progress)
	if err == nil {
		err = tmp.Chmod(0o444)
	}
	if cerr := tmp.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("artifacts: %w", cerr)
	}
	if err != nil {
		return cacheEntry{}, false, err
	}
	st, err := os.Stat(tmp.Name())
	if err != nil {
		return cacheEntry{}, false, fmt.Errorf("artifacts: %w", err)
	}
	m := cacheMeta{URL: r.URL, Compression: r.Compression, SHA256: sum, Size: size, ModTime: st.ModTime(), Fetched: time.Now().UTC()}
	b, err := json.Marshal(m)
	if err != nil {
		return cacheEntry{}, false, fmt.Errorf("artifacts: %w", err)
	}
	// Metadata first, data last: the data file's presence commits the entry.
	if err := writeFileAtomic(filepath.Join(d.CacheDir, key+".json"), b); err != nil {
		return cacheEntry{}, false, err
	}
	data := filepath.Join(d.CacheDir, key+".data")
	if err := os.Rename(tmp.Name(), data); err != nil {
		return cacheEntry{}, false, fmt.Errorf("artifacts: cache: %w", err)
	}
	d.logger().Debug("artifacts: cached", "url", redact(r.URL), "key", key, "bytes", size)
	if d.CacheMax > 0 {
		if st, err := d.Prune(); err != nil {
			d.logger().Warn("artifacts: pruning the cache", "err", err)
		} else if st.Bytes > d.CacheMax {
			d.logger().Warn("artifacts: the cache entries in use alone are over the cap", "bytes", st.Bytes, "cap", d.CacheMax)
		}
	}
	return cacheEntry{path: data, meta: m}, false, nil
}

func writeFileAtomic(name string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), ".meta-*")
	if err != nil {
		return fmt.Errorf("artifacts: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(b)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), name)
	}
	if err != nil {
		return fmt.Errorf("artifacts: %w", err)
	}
	return nil
}

// download writes the decompressed content of r to out, checking the
// checksums of the downloaded bytes. It returns their SHA-256 and the
// number of bytes written.
func (d *Downloader) download(ctx context.Context, r Resource, out *os.File, progress Progress) (string, int64, error) {
	raw, total, err := d.openRaw(ctx, r.URL, r.Headers)
	if err != nil {
		return "", 0, err
	}
	defer raw.Close()
	type sum struct {
		name, want string
		h          hash.Hash
	}
	sums := []sum{{"sha256sum", r.SHA256, sha256.New()}}
	if r.MD5 != "" {
		sums = append(sums, sum{"md5sum", r.MD5, md5.New()})
	}
	if r.SHA512 != "" {
		sums = append(sums, sum{"sha512sum", r.SHA512, sha512.New()})
	}
	ws := make([]io.Writer, len(sums))
	for i, s := range sums {
		ws[i] = s.h
	}
	pr := &progressReader{r: raw, total: total, fn: progress, step: d.ProgressBytes}
	src := io.TeeReader(pr, io.MultiWriter(ws...))
	url := redact(r.URL)

	var n int64
	if r.Compression == "zip" {
		n, err = unzipTo(ctx, src, out, r.ZipMember, d.tempDir())
	} else {
		var dec io.ReadCloser
		dec, err = decompress(r.Compression, src)
		if err == nil {
			n, err = io.Copy(out, dec)
			dec.Close()
		}
		if err == nil {
			// Hash what follows the compressed stream too: the checksum
			// covers the whole file.
			_, err = io.Copy(io.Discard, src)
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return "", 0, fmt.Errorf("artifacts: download %s: %w", url, ctx.Err())
		}
		return "", 0, fmt.Errorf("artifacts: download %s: %w", url, err)
	}
	pr.finish()
	for _, s := range sums {
		got := hex.EncodeToString(s.h.Sum(nil))
		if s.want != "" && got != s.want {
			return "", 0, &ChecksumError{URL: url, Algorithm: s.name, Want: s.want, Got: got}
		}
	}
	return hex.EncodeToString(sums[0].h.Sum(nil)), n, nil
}

// unzipTo spools a zip to a temporary file (zip needs random access) and
// extracts one member to out.
func unzipTo(ctx context.Context, src io.Reader, out *os.File, member, dir string) (int64, error) {
	tmp, err := os.CreateTemp(dir, ".zip-*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	size, err := io.Copy(tmp, src)
	if err != nil {
		return 0, err
	}
	m, _, err := zipMember(tmp, size, member)
	if err != nil {
		return 0, err
	}
	defer m.Close()
	return io.Copy(out, &ctxReadCloser{ctx: ctx, ReadCloser: m})
}

// progressReader counts bytes and reports progress.
type progressReader struct {
	r     io.Reader
	total int64
	fn    Progress
	step  int64
	done  int64
	next  int64
	last  int64 // done at the last report (-1: none yet)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.done += int64(n)
	if p.fn != nil && n > 0 {
		if p.next == 0 {
			p.next = p.stepSize()
		}
		if p.done >= p.next {
			p.fn(p.done, p.total)
			p.last = p.done
			for p.next <= p.done {
				p.next += p.stepSize()
			}
		}
	}
	return n, err
}

func (p *progressReader) stepSize() int64 {
	if p.total > 0 {
		return max(p.total/20, 1)
	}
	if p.step > 0 {
		return p.step
	}
	return DefaultProgressBytes
}

// finish reports the final count once, if not already reported.
func (p *progressReader) finish() {
	if p.fn != nil && (p.last != p.done || p.done == 0) {
		p.fn(p.done, p.total)
		p.last = p.done
	}
}

// place puts the file src at dest: a hard link (a copy across file
// systems), or with archive "tar" an unpacked folder.
func place(src, dest, archive string) (Result, error) {
	if archive == "tar" {
		f, err := os.Open(src)
		if err != nil {
			return Result{}, err
		}
		defer f.Close()
		n, err := untar(f, dest)
		if err != nil {
			return Result{}, err
		}
		return Result{Path: dest, Size: n}, nil
	}
	st, err := os.Stat(src)
	if err != nil {
		return Result{}, err
	}
	if err := os.Remove(dest); err != nil && !errors.Is(err, os.ErrNotExist) {
		return Result{}, err
	}
	if err := os.Link(src, dest); err == nil {
		return Result{Path: dest, Size: st.Size()}, nil
	}
	in, err := os.Open(src)
	if err != nil {
		return Result{}, err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dest), "."+filepath.Base(dest)+".copy-*")
	if err != nil {
		return Result{}, err
	}
	defer os.Remove(tmp.Name())
	n, err := io.Copy(tmp, in)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), dest)
	}
	if err != nil {
		return Result{}, err
	}
	return Result{Path: dest, Size: n}, nil
}
