package artifacts

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// CacheStats describe the artifact cache.
type CacheStats struct {
	// Bytes and Entries are what the cache holds (after Prune: what it
	// kept).
	Bytes   int64
	Entries int
	// Removed and RemovedBytes are what Prune removed.
	Removed      int
	RemovedBytes int64
	// Hits and Misses count this Downloader's cached fetches served from
	// the cache or downloaded.
	Hits, Misses int64
}

// use adds n to the count of Fetch calls placing key's entry.
func (d *Downloader) use(key string, n int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.using == nil {
		d.using = map[string]int{}
	}
	d.using[key] += n
	if d.using[key] <= 0 {
		delete(d.using, key)
	}
}

func (d *Downloader) inUse(key string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.using[key] > 0
}

// touch marks key's entry used now: its metadata file's modification time
// is the entry's last use (the data file's is part of its identity).
func (d *Downloader) touch(key string) {
	now := time.Now()
	_ = os.Chtimes(filepath.Join(d.CacheDir, key+".json"), now, now)
}

type cacheFile struct {
	key     string
	bytes   int64
	lastUse time.Time
	pinned  bool
}

// Stats returns the cache's size and this Downloader's hits and misses.
func (d *Downloader) Stats() CacheStats {
	st := CacheStats{Hits: d.hits.Load(), Misses: d.misses.Load()}
	if d.CacheDir == "" {
		return st
	}
	files, _ := d.scan()
	for _, f := range files {
		st.Bytes += f.bytes
		st.Entries++
	}
	return st
}

// scan lists the cache entries.
func (d *Downloader) scan() ([]cacheFile, error) {
	ents, err := os.ReadDir(d.CacheDir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("artifacts: cache: %w", err)
	}
	var out []cacheFile
	for _, e := range ents {
		key, ok := strings.CutSuffix(e.Name(), ".data")
		if !ok || e.IsDir() {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		f := cacheFile{key: key, bytes: fi.Size(), lastUse: fi.ModTime(), pinned: linkCount(fi) > 1}
		if mi, err := os.Stat(filepath.Join(d.CacheDir, key+".json")); err == nil {
			f.bytes += mi.Size()
			f.lastUse = mi.ModTime()
		}
		out = append(out, f)
	}
	return out, nil
}

// Prune removes least recently used entries until the cache is within
// CacheMax (nothing without a cap). An entry is never removed while in
// use: a Fetch of this Downloader is placing it, another process holds its
// lock, or a job's folder holds a link to its data (a running job's file;
// job folders go when their job ends). It returns what the cache holds
// after.
func (d *Downloader) Prune() (CacheStats, error) {
	st := CacheStats{Hits: d.hits.Load(), Misses: d.misses.Load()}
	if d.CacheDir == "" {
		return st, nil
	}
	files, err := d.scan()
	if err != nil {
		return st, err
	}
	for _, f := range files {
		st.Bytes += f.bytes
		st.Entries++
	}
	if d.CacheMax <= 0 || st.Bytes <= d.CacheMax {
		return st, nil
	}
	slices.SortFunc(files, func(a, b cacheFile) int { return a.lastUse.Compare(b.lastUse) })
	done, cancel := context.WithCancel(context.Background())
	cancel() // try each entry's lock once, never wait
	defer cancel()
	var errs []error
	for _, f := range files {
		if st.Bytes <= d.CacheMax {
			break
		}
		if f.pinned || d.inUse(f.key) {
			continue
		}
		unlock, err := lockFile(done, filepath.Join(d.CacheDir, f.key+".lock"))
		if err != nil {
			continue // another process is filling or placing it
		}
		data := filepath.Join(d.CacheDir, f.key+".data")
		// Checked again under the lock: a Fetch may have started since.
		if fi, err := os.Stat(data); err != nil || linkCount(fi) > 1 || d.inUse(f.key) {
			unlock()
			continue
		}
		err = os.Remove(data)
		if err == nil || errors.Is(err, fs.ErrNotExist) {
			_ = os.Remove(filepath.Join(d.CacheDir, f.key+".json"))
			_ = os.Remove(filepath.Join(d.CacheDir, f.key+".lock"))
			st.Bytes -= f.bytes
			st.Entries--
			st.Removed++
			st.RemovedBytes += f.bytes
			d.logger().Debug("artifacts: evicted from the cache", "key", f.key, "bytes", f.bytes)
		} else {
			errs = append(errs, err)
		}
		unlock()
	}
	if err := errors.Join(errs...); err != nil {
		return st, fmt.Errorf("artifacts: pruning the cache: %w", err)
	}
	return st, nil
}
