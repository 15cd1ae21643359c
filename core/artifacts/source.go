package artifacts

import (
	"archive/zip"
	"compress/bzip2"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// Resource is a LAVA `url` resource (lava-facts §4): `url`, `compression`,
// `archive`, `md5sum`, `sha256sum`, `sha512sum`, `headers`.
type Resource struct {
	URL         string
	Compression string // "", "none", "gz", "xz", "bz2", "zstd" or "zip" (LAVA's null is "")
	Archive     string // "" or "tar": unpack into the destination folder
	SHA256      string // of the bytes downloaded (before decompression), hex
	MD5         string
	SHA512      string
	Headers     map[string]string // extra HTTP request headers
	// ZipMember names the member of a zip to extract; empty means the zip
	// must hold exactly one file.
	ZipMember string
}

// Result is what Fetch placed.
type Result struct {
	Path      string // the file (or, with Archive "tar", the folder) written
	Size      int64  // bytes written (decompressed; for a tar, the files' total)
	SHA256    string // of the downloaded bytes, as `sha256sum` would check them
	FromCache bool
}

// ChecksumError is a checksum mismatch.
type ChecksumError struct {
	URL       string
	Algorithm string // "md5sum", "sha256sum" or "sha512sum"
	Want, Got string
}

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("artifacts: %s mismatch for %s: expected %s, got %s", e.Algorithm, e.URL, e.Want, e.Got)
}

// HTTPError is an HTTP answer other than 200 OK.
type HTTPError struct {
	URL        string
	StatusCode int
	Status     string
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("artifacts: GET %s: %s", e.URL, e.Status)
}

var hexRE = regexp.MustCompile(`^[0-9a-f]*$`)

// normalize lower-cases checksums and checks every field.
func (r Resource) normalize() (Resource, error) {
	r.SHA256, r.MD5, r.SHA512 = strings.ToLower(strings.TrimSpace(r.SHA256)),
		strings.ToLower(strings.TrimSpace(r.MD5)), strings.ToLower(strings.TrimSpace(r.SHA512))
	for _, c := range []struct {
		name, v string
		n       int
	}{{"sha256sum", r.SHA256, 64}, {"md5sum", r.MD5, 32}, {"sha512sum", r.SHA512, 128}} {
		if c.v != "" && (len(c.v) != c.n || !hexRE.MatchString(c.v)) {
			return r, fmt.Errorf("artifacts: %s of %s is not %d hex digits: %q", c.name, redact(r.URL), c.n, c.v)
		}
	}
	if r.Compression == "none" {
		r.Compression = ""
	}
	if err := checkCompression(r.Compression); err != nil {
		return r, err
	}
	if r.Archive != "" && r.Archive != "tar" {
		return r, fmt.Errorf("artifacts: unsupported archive %q (only tar)", r.Archive)
	}
	if r.ZipMember != "" && r.Compression != "zip" {
		return r, fmt.Errorf("artifacts: a zip member is named but compression is %q", r.Compression)
	}
	if _, err := parseURL(r.URL); err != nil {
		return r, err
	}
	return r, nil
}

func (r Resource) hasChecksum() bool { return r.SHA256 != "" || r.MD5 != "" || r.SHA512 != "" }

func checkCompression(c string) error {
	switch c {
	case "", "none", "gz", "xz", "bz2", "zstd", "zip":
		return nil
	}
	return fmt.Errorf("artifacts: unsupported compression %q (gz, xz, bz2, zstd, zip or none)", c)
}

func parseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("artifacts: bad URL %q: %w", raw, err)
	}
	switch u.Scheme {
	case "http", "https":
		if u.Host == "" {
			return nil, fmt.Errorf("artifacts: URL %s has no host", u.Redacted())
		}
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return nil, fmt.Errorf("artifacts: file URL %s names a remote host", u.Redacted())
		}
		if !path.IsAbs(u.Path) {
			return nil, fmt.Errorf("artifacts: file URL %s needs an absolute path", u.Redacted())
		}
	default:
		return nil, fmt.Errorf("artifacts: unsupported URL scheme %q in %s (http, https or file)", u.Scheme, u.Redacted())
	}
	return u, nil
}

// redact hides a password in a URL for messages.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return u.Redacted()
}

// FileName is the file name a resource is stored under: the last element
// of the URL path, less the compression suffix when decompressed.
func FileName(r Resource) string {
	name := "download"
	if u, err := url.Parse(r.URL); err == nil {
		if b := path.Base(u.Path); b != "/" && b != "." && b != "" {
			name = b
		}
	}
	if r.ZipMember != "" {
		return path.Base(r.ZipMember)
	}
	suffix := map[string]string{"gz": ".gz", "xz": ".xz", "bz2": ".bz2", "zstd": ".zst", "zip": ".zip"}[r.Compression]
	if s := strings.TrimSuffix(name, suffix); s != "" && suffix != "" {
		name = s
	}
	return name
}

// openRaw opens the bytes behind a URL; total is their size or -1.
func (d *Downloader) openRaw(ctx context.Context, raw string, headers map[string]string) (rc io.ReadCloser, total int64, err error) {
	u, err := parseURL(raw)
	if err != nil {
		return nil, 0, err
	}
	if u.Scheme == "file" {
		f, err := d.openFile(u.Path)
		if err != nil {
			return nil, 0, err
		}
		st, err := f.Stat()
		if err != nil || !st.Mode().IsRegular() {
			f.Close()
			return nil, 0, fmt.Errorf("artifacts: %s is not a regular file", u.Path)
		}
		return &ctxReadCloser{ctx: ctx, ReadCloser: f}, st.Size(), nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, 0, fmt.Errorf("artifacts: %w", err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	// Ask for the bytes as stored: a transparently decompressed body would
	// not match the checksums.
	req.Header.Set("Accept-Encoding", "identity")
	client := d.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("artifacts: GET %s: %w", u.Redacted(), err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, 0, &HTTPError{URL: u.Redacted(), StatusCode: resp.StatusCode, Status: resp.Status}
	}
	return resp.Body, resp.ContentLength, nil
}

// ErrFileRefused is a file:// URL outside the folders the worker allows.
var ErrFileRefused = errors.New("file:// URL refused")

// openFile opens the path of a file:// URL when it lies under one of
// FileDirs, through an os.Root at that folder: no symbolic link leads out
// of it. Without FileDirs every file:// URL is refused. The messages never
// say whether a refused file exists.
func (d *Downloader) openFile(p string) (*os.File, error) {
	if len(d.FileDirs) == 0 {
		return nil, fmt.Errorf("artifacts: file://%s: %w: this worker allows none (its admin lists the folders they may read with lava-worker --allow-file-dir)", p, ErrFileRefused)
	}
	clean := path.Clean(p)
	for _, dir := range d.FileDirs {
		dir = filepath.ToSlash(filepath.Clean(dir))
		if !path.IsAbs(dir) {
			continue
		}
		rel, ok := strings.CutPrefix(clean, strings.TrimSuffix(dir, "/")+"/")
		if !ok || rel == "" {
			continue
		}
		root, err := os.OpenRoot(dir)
		if err != nil {
			return nil, fmt.Errorf("artifacts: file:// folder %s: %w", dir, err)
		}
		f, err := root.Open(filepath.FromSlash(rel))
		root.Close()
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("artifacts: file://%s: %w", p, os.ErrNotExist)
			}
			return nil, fmt.Errorf("artifacts: file://%s: %w: it cannot be read inside %s (a link leading out of the folder, or no permission)", p, ErrFileRefused, dir)
		}
		return f, nil
	}
	return nil, fmt.Errorf("artifacts: file://%s: %w: not under a folder this worker allows them from (%s)", p, ErrFileRefused, strings.Join(d.FileDirs, ", "))
}

// ctxReadCloser stops reading once its context is done.
type ctxReadCloser struct {
	ctx context.Context
	io.ReadCloser
}

func (c *ctxReadCloser) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.ReadCloser.Read(p)
}

// decompress wraps r by compression (not zip, which needs random access).
func decompress(compression string, r io.Reader) (io.ReadCloser, error) {
	switch compression {
	case "", "none":
		return io.NopCloser(r), nil
	case "gz":
		z, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("gz: %w", err)
		}
		return z, nil
	case "xz":
		z, err := xz.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("xz: %w", err)
		}
		return io.NopCloser(z), nil
	case "bz2":
		return io.NopCloser(bzip2.NewReader(r)), nil
	case "zstd":
		z, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		return z.IOReadCloser(), nil
	}
	return nil, checkCompression(compression)
}

// zipMember opens the named member of a zip file, or its only file.
func zipMember(f *os.File, size int64, member string) (io.ReadCloser, int64, error) {
	zr, err := zip.NewReader(f, size)
	if err != nil {
		return nil, 0, fmt.Errorf("zip: %w", err)
	}
	var found *zip.File
	var files []string
	for _, zf := range zr.File {
		if zf.FileInfo().IsDir() {
			continue
		}
		files = append(files, zf.Name)
		if member != "" && zf.Name == member {
			found = zf
		}
	}
	if member == "" {
		if len(files) != 1 {
			return nil, 0, fmt.Errorf("zip: holds %d files %v: name the member to extract", len(files), files)
		}
		for _, zf := range zr.File {
			if !zf.FileInfo().IsDir() {
				found = zf
			}
		}
	}
	if found == nil {
		return nil, 0, fmt.Errorf("zip: no member %q (files: %v)", member, files)
	}
	rc, err := found.Open()
	if err != nil {
		return nil, 0, fmt.Errorf("zip: open %s: %w", found.Name, err)
	}
	return rc, int64(found.UncompressedSize64), nil
}

// Open streams the decompressed content of a URL, for consumers that do not
// need a file (the test shell reads test definition tarballs this way). A
// zip is first spooled to a temporary file, removed on Close.
func (d *Downloader) Open(ctx context.Context, rawURL, compression string) (io.ReadCloser, error) {
	if compression == "none" {
		compression = ""
	}
	if err := checkCompression(compression); err != nil {
		return nil, err
	}
	raw, _, err := d.openRaw(ctx, rawURL, nil)
	if err != nil {
		return nil, err
	}
	if compression != "zip" {
		dec, err := decompress(compression, raw)
		if err != nil {
			raw.Close()
			return nil, fmt.Errorf("artifacts: %s: %w", redact(rawURL), err)
		}
		return &stackCloser{Reader: dec, closers: []io.Closer{dec, raw}}, nil
	}
	defer raw.Close()
	tmp, err := os.CreateTemp(d.tempDir(), "zip-*")
	if err != nil {
		return nil, fmt.Errorf("artifacts: %w", err)
	}
	cleanup := func() { tmp.Close(); os.Remove(tmp.Name()) }
	n, err := io.Copy(tmp, raw)
	if err != nil {
		cleanup()
		return nil, fmt.Errorf("artifacts: download %s: %w", redact(rawURL), err)
	}
	m, _, err := zipMember(tmp, n, "")
	if err != nil {
		cleanup()
		return nil, fmt.Errorf("artifacts: %s: %w", redact(rawURL), err)
	}
	return &stackCloser{Reader: m, closers: []io.Closer{m, closerFunc(func() error { cleanup(); return nil })}}, nil
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

// stackCloser reads from Reader and closes every closer in order.
type stackCloser struct {
	io.Reader
	closers []io.Closer
}

func (s *stackCloser) Close() error {
	var errs []error
	for _, c := range s.closers {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// Streamer adapts a Downloader to interfaces that stream a URL with a
// `Fetch(ctx, url, compression) (io.ReadCloser, error)` method, such as the
// test shell's fetcher of test definition tarballs.
type Streamer struct{ D *Downloader }

// Fetch calls D.Open.
func (s Streamer) Fetch(ctx context.Context, rawURL, compression string) (io.ReadCloser, error) {
	return s.D.Open(ctx, rawURL, compression)
}
