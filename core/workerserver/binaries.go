package workerserver

import (
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"
)

// binaries serves the worker builds of a directory, read and hashed once
// per file change.
type binaries struct {
	dir string

	mu    sync.Mutex
	cache map[string]binary // by file path
}

type binary struct {
	data    []byte
	sha     string
	modTime time.Time
	size    int64
}

// fileFor names the file holding the build for goos/goarch.
func (b *binaries) files(goos, goarch string) []string {
	names := []string{"lava-worker-" + goos + "-" + goarch}
	if goos == runtime.GOOS && goarch == runtime.GOARCH {
		names = append(names, "lava-worker")
	}
	return names
}

func (b *binaries) get(goos, goarch string) (binary, bool) {
	if b.dir == "" || strings.ContainsAny(goos+goarch, `/\.`) {
		return binary{}, false
	}
	for _, name := range b.files(goos, goarch) {
		if bin, ok := b.load(filepath.Join(b.dir, name)); ok {
			return bin, true
		}
	}
	return binary{}, false
}

func (b *binaries) load(path string) (binary, bool) {
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return binary{}, false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if c, ok := b.cache[path]; ok && c.modTime.Equal(fi.ModTime()) && c.size == fi.Size() {
		return c, true
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return binary{}, false
	}
	sum := sha256.Sum256(data)
	bin := binary{data: data, sha: hex.EncodeToString(sum[:]), modTime: fi.ModTime(), size: fi.Size()}
	if b.cache == nil {
		b.cache = map[string]binary{}
	}
	b.cache[path] = bin
	return bin, true
}

// index maps "GOOS/GOARCH" to the SHA-256 of each build served.
func (b *binaries) index(log *slog.Logger) map[string]string {
	if b.dir == "" {
		return nil
	}
	ents, err := os.ReadDir(b.dir)
	if err != nil {
		log.Warn("worker binaries directory unreadable", "dir", b.dir, "err", err)
		return nil
	}
	out := map[string]string{}
	for _, e := range ents {
		name := e.Name()
		var goos, goarch string
		switch {
		case name == "lava-worker":
			goos, goarch = runtime.GOOS, runtime.GOARCH
		case strings.HasPrefix(name, "lava-worker-"):
			var ok bool
			goos, goarch, ok = strings.Cut(strings.TrimPrefix(name, "lava-worker-"), "-")
			if !ok || strings.Contains(goarch, "-") || strings.Contains(goarch, ".") {
				continue
			}
		default:
			continue
		}
		if bin, ok := b.get(goos, goarch); ok {
			out[goos+"/"+goarch] = bin.sha
		}
	}
	return out
}
