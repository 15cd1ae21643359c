package testshell

import (
	"compress/bzip2"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// Fetcher downloads one artifact and returns its decompressed bytes.
// compression is LAVA's value for the resource: "" or "none" for none, gz,
// bz2, xz or zstd. The worker's artifact cache (checksums, cache by URL)
// implements it; HTTPFetcher is a plain one.
type Fetcher interface {
	Fetch(ctx context.Context, url, compression string) (io.ReadCloser, error)
}

// HTTPFetcher fetches http://, https:// and file:// URLs with no cache.
type HTTPFetcher struct {
	// Client is used for HTTP(S); nil means http.DefaultClient.
	Client *http.Client
}

// Fetch implements Fetcher.
func (f HTTPFetcher) Fetch(ctx context.Context, rawURL, compression string) (io.ReadCloser, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", rawURL, err)
	}
	var body io.ReadCloser
	switch u.Scheme {
	case "file":
		fh, err := os.Open(u.Path)
		if err != nil {
			return nil, fmt.Errorf("fetch %s: %w", rawURL, err)
		}
		body = fh
	case "http", "https":
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
		if err != nil {
			return nil, fmt.Errorf("fetch %s: %w", rawURL, err)
		}
		c := f.Client
		if c == nil {
			c = http.DefaultClient
		}
		resp, err := c.Do(req)
		if err != nil {
			return nil, fmt.Errorf("fetch %s: %w", rawURL, err)
		}
		if resp.StatusCode != http.StatusOK {
			_ = resp.Body.Close()
			return nil, fmt.Errorf("fetch %s: HTTP status %s", rawURL, resp.Status)
		}
		body = resp.Body
	default:
		return nil, fmt.Errorf("fetch %s: unsupported URL scheme %q", rawURL, u.Scheme)
	}
	rc, err := Decompress(body, compression)
	if err != nil {
		_ = body.Close()
		return nil, fmt.Errorf("fetch %s: %w", rawURL, err)
	}
	return rc, nil
}

// Decompress wraps r in the decompressor named by LAVA's compression value.
// Closing the result closes r.
func Decompress(r io.ReadCloser, compression string) (io.ReadCloser, error) {
	switch compression {
	case "", "none":
		return r, nil
	case "gz":
		z, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("gz: %w", err)
		}
		return &stacked{Reader: z, closers: []io.Closer{z, r}}, nil
	case "bz2":
		return &stacked{Reader: bzip2.NewReader(r), closers: []io.Closer{r}}, nil
	case "xz":
		z, err := xz.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("xz: %w", err)
		}
		return &stacked{Reader: z, closers: []io.Closer{r}}, nil
	case "zstd":
		z, err := zstd.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		return &stacked{Reader: z, closers: []io.Closer{closerFunc(func() error { z.Close(); return nil }), r}}, nil
	case "zip":
		return nil, errors.New("compression zip is not supported for test definition archives (use gz, bz2, xz or zstd)")
	}
	return nil, fmt.Errorf("unknown compression %q", compression)
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

type stacked struct {
	io.Reader
	closers []io.Closer
}

func (s *stacked) Close() error {
	var errs []error
	for _, c := range s.closers {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}
