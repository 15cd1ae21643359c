package wasm

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"
)

// The compilation cache (Options.CacheDir) holds, per module version
// (SHA-256): wazero's compiled code (one file per runtime it was compiled
// in, under wazero-VERSION-ARCH-OS, named by wazero's own key), the
// rewrite (rewritten/SHA.wasm) and the describe answer
// (described/SHA.abiN.json). wazero's file names cannot be computed from
// the SHA-256, so the host notes which files a module's compile wrote in
// used/SHA (one name a line); that file's modification time is the
// module's last use. PruneCache removes what modules no longer loaded need.

// CacheLimits bound a compilation cache. Zero values mean no bound.
type CacheLimits struct {
	// MaxBytes caps the cache's size: the versions not loaded in the host,
	// least recently used first, are removed until it fits. The versions
	// loaded are never removed, so the cache may stay above the cap when
	// they alone need more (PruneStats.Over says so).
	MaxBytes int64
	// MaxAge removes the versions not loaded in the host and not used
	// for this long.
	MaxAge time.Duration
}

// PruneStats says what PruneCache did.
type PruneStats struct {
	// BytesBefore and BytesAfter are the cache's size before and after.
	BytesBefore, BytesAfter int64
	// Removed counts the module versions (or unattributed files) removed.
	Removed int
	// Kept counts the versions kept because the host has them loaded.
	Kept int
	// Over is true when the versions kept alone are above MaxBytes.
	Over bool
}

// wazeroDirName is the folder wazero keeps this build's compiled code in.
func wazeroDirName() string {
	return "wazero-" + wazeroVersion() + "-" + runtime.GOARCH + "-" + runtime.GOOS
}

// usedPath is the note of which compiled files module sha uses.
func (h *Host) usedPath(sha string) string {
	return filepath.Join(h.opts.CacheDir, "used", sha)
}

// compiledFiles lists wazero's compiled files (name and modification time)
// modified at or after since (all when since is zero), without its
// temporary files.
func (h *Host) compiledFiles(since time.Time) map[string]time.Time {
	dir := filepath.Join(h.opts.CacheDir, wazeroDirName())
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	out := map[string]time.Time{}
	for _, e := range ents {
		if e.IsDir() || strings.HasSuffix(e.Name(), ".tmp") {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		if since.IsZero() || !fi.ModTime().Before(since) {
			out[e.Name()] = fi.ModTime()
		}
	}
	return out
}

// noteUse records that module sha was compiled (now): its used/ note gets
// a new modification time and, when before (the compiled files before the
// compile) is not nil, the names of the files the compile wrote.
func (h *Host) noteUse(sha string, before map[string]time.Time) {
	if h.opts.CacheDir == "" {
		return
	}
	path := h.usedPath(sha)
	names := readUsed(path)
	if before != nil {
		for name := range h.compiledFiles(time.Time{}) {
			if _, old := before[name]; !old && !slices.Contains(names, name) {
				names = append(names, name)
			}
		}
	} else if names != nil {
		now := time.Now()
		if err := os.Chtimes(path, now, now); err == nil {
			return
		}
	}
	var b bytes.Buffer
	for _, n := range names {
		b.WriteString(n)
		b.WriteByte('\n')
	}
	if err := writeFileAtomic(path, b.Bytes()); err != nil {
		h.opts.Logger.Warn("wasm host: noting a module's compiled files", "path", path, "err", err)
	}
}

// markBusy counts a compile or load of sha starting (1) or ending (-1).
func (h *Host) markBusy(sha string, n int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.busy == nil {
		h.busy = map[string]int{}
	}
	h.busy[sha] += n
	if h.busy[sha] <= 0 {
		delete(h.busy, sha)
	}
}

// hasUseNote reports whether module sha's compiled files are known.
func (h *Host) hasUseNote(sha string) bool {
	if h.opts.CacheDir == "" {
		return true
	}
	_, err := os.Stat(h.usedPath(sha))
	return err == nil
}

func readUsed(path string) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var names []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if n := strings.TrimSpace(sc.Text()); n != "" && !strings.ContainsAny(n, `/\`) {
			names = append(names, n)
		}
	}
	return names
}

// cacheGroup is what one module version (or one compiled file nothing
// claims) holds in the cache.
type cacheGroup struct {
	sha     string   // "" for an unattributed compiled file
	files   []string // absolute paths
	lastUse time.Time
}

// PruneCache removes from the compilation cache what the modules loaded in
// the host do not need, within limits: versions not loaded and unused for
// limits.MaxAge, then, while the cache is above limits.MaxBytes, versions
// not loaded, least recently used first. Compiled code of other wazero
// versions is always removed (never read again). Without a cache
// directory it does nothing.
func (h *Host) PruneCache(limits CacheLimits) (PruneStats, error) {
	var st PruneStats
	if h.opts.CacheDir == "" {
		return st, nil
	}
	h.attrMu.Lock()
	defer h.attrMu.Unlock()
	keep := map[string]bool{}
	h.mu.Lock()
	for m := range h.modules {
		keep[m.sha] = true
	}
	for sha := range h.pre {
		keep[sha] = true
	}
	for sha := range h.busy {
		keep[sha] = true
	}
	h.mu.Unlock()

	dir := h.opts.CacheDir
	var errs []error
	// Other wazero versions' code and stale temporary files.
	if ents, err := os.ReadDir(dir); err == nil {
		for _, e := range ents {
			if e.IsDir() && strings.HasPrefix(e.Name(), "wazero-") && e.Name() != wazeroDirName() {
				if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	size := func(p string) int64 {
		fi, err := os.Stat(p)
		if err != nil {
			return 0
		}
		return fi.Size()
	}
	groups := map[string]*cacheGroup{}
	group := func(sha string) *cacheGroup {
		g := groups[sha]
		if g == nil {
			g = &cacheGroup{sha: sha}
			groups[sha] = g
		}
		return g
	}
	mtime := func(p string) time.Time {
		fi, err := os.Stat(p)
		if err != nil {
			return time.Time{}
		}
		return fi.ModTime()
	}
	claimedBy := map[string][]string{} // compiled file name -> shas
	if ents, err := os.ReadDir(filepath.Join(dir, "used")); err == nil {
		for _, e := range ents {
			if e.IsDir() || strings.HasPrefix(e.Name(), ".tmp-") {
				continue
			}
			sha := e.Name()
			p := filepath.Join(dir, "used", sha)
			g := group(sha)
			g.files = append(g.files, p)
			g.lastUse = mtime(p)
			for _, n := range readUsed(p) {
				claimedBy[n] = append(claimedBy[n], sha)
			}
		}
	}
	for _, sub := range []string{"rewritten", "described"} {
		ents, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			continue
		}
		for _, e := range ents {
			p := filepath.Join(dir, sub, e.Name())
			if strings.HasPrefix(e.Name(), ".tmp-") {
				if time.Since(mtime(p)) > time.Hour {
					_ = os.Remove(p)
				}
				continue
			}
			sha, _, _ := strings.Cut(e.Name(), ".")
			g := group(sha)
			g.files = append(g.files, p)
			if t := mtime(p); t.After(g.lastUse) && !h.hasUseNoteLocked(sha) {
				g.lastUse = t
			}
		}
	}
	wdir := filepath.Join(dir, wazeroDirName())
	keptFile := map[string]bool{}
	for name, t := range h.compiledFiles(time.Time{}) {
		shas := claimedBy[name]
		p := filepath.Join(wdir, name)
		if len(shas) == 0 {
			groups["file:"+name] = &cacheGroup{files: []string{p}, lastUse: t}
			continue
		}
		for _, sha := range shas {
			if keep[sha] {
				keptFile[p] = true
			}
			g := group(sha)
			g.files = append(g.files, p)
		}
	}
	gsize := func(g *cacheGroup) int64 {
		var n int64
		for _, f := range g.files {
			if !keptFile[f] || keep[g.sha] {
				n += size(f)
			}
		}
		return n
	}
	seen := map[string]bool{}
	var total int64
	var candidates []*cacheGroup
	for _, g := range groups {
		for _, f := range g.files {
			if !seen[f] {
				seen[f] = true
				total += size(f)
			}
		}
		if g.sha != "" && keep[g.sha] {
			st.Kept++
			continue
		}
		candidates = append(candidates, g)
	}
	st.BytesBefore = total
	slices.SortFunc(candidates, func(a, b *cacheGroup) int { return a.lastUse.Compare(b.lastUse) })
	remove := func(g *cacheGroup) {
		n := gsize(g)
		for _, f := range g.files {
			if keptFile[f] {
				continue
			}
			if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
		}
		total -= n
		st.Removed++
	}
	now := time.Now()
	var rest []*cacheGroup
	for _, g := range candidates {
		if limits.MaxAge > 0 && now.Sub(g.lastUse) > limits.MaxAge {
			remove(g)
		} else {
			rest = append(rest, g)
		}
	}
	for _, g := range rest {
		if limits.MaxBytes <= 0 || total <= limits.MaxBytes {
			break
		}
		remove(g)
	}
	st.BytesAfter = total
	st.Over = limits.MaxBytes > 0 && total > limits.MaxBytes
	if err := errors.Join(errs...); err != nil {
		return st, fmt.Errorf("wasm host: pruning the compilation cache: %w", err)
	}
	return st, nil
}

// hasUseNoteLocked is hasUseNote for PruneCache.
func (h *Host) hasUseNoteLocked(sha string) bool {
	_, err := os.Stat(h.usedPath(sha))
	return err == nil
}

// CacheSize returns the bytes held in the compilation cache directory.
func (h *Host) CacheSize() int64 {
	if h.opts.CacheDir == "" {
		return 0
	}
	return DirSize(h.opts.CacheDir)
}

// DirSize returns the bytes of the regular files under dir.
func DirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, e fs.DirEntry, err error) error {
		if err == nil && e.Type().IsRegular() {
			if fi, err := e.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// wazeroVersion is the version wazero names its cache folder with: the
// wazero module's in the build information (as wazero itself finds it).
func wazeroVersion() string {
	v := ""
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if strings.Contains(dep.Path, "github.com/tetratelabs/wazero") {
				v = dep.Version
			}
		}
		if v == "" || v == "(devel)" {
			v = info.Main.Version
		}
	}
	if v == "" || v == "(devel)" {
		return "dev"
	}
	return v
}

// PruneInterval is how often KeepPruned prunes after the first time.
const PruneInterval = 24 * time.Hour

// KeepPruned prunes the host's compilation cache now and every interval
// (PruneInterval if 0) until ctx ends, logging what it removed.
func (h *Host) KeepPruned(ctx context.Context, limits CacheLimits, interval time.Duration) {
	if h.opts.CacheDir == "" || (limits.MaxBytes <= 0 && limits.MaxAge <= 0) {
		return
	}
	if interval <= 0 {
		interval = PruneInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		st, err := h.PruneCache(limits)
		log := h.opts.Logger
		switch {
		case err != nil:
			log.Warn("wasm host: pruning the compilation cache", "dir", h.opts.CacheDir, "err", err)
		case st.Over:
			log.Warn("wasm host: the driver versions loaded alone are over the compilation cache cap", "dir", h.opts.CacheDir, "bytes", st.BytesAfter, "cap", limits.MaxBytes)
		case st.Removed > 0:
			log.Info("wasm host: compilation cache pruned", "dir", h.opts.CacheDir, "removed", st.Removed, "bytes_before", st.BytesBefore, "bytes_after", st.BytesAfter)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ForgetCached removes what the compilation cache holds for module sha
// (a version removed for good), unless the host has it loaded; compiled
// files another version's note also names stay.
func (h *Host) ForgetCached(sha string) error {
	if h.opts.CacheDir == "" || strings.ContainsAny(sha, `/\.`) || sha == "" {
		return nil
	}
	h.attrMu.Lock()
	defer h.attrMu.Unlock()
	h.mu.Lock()
	_, pre := h.pre[sha]
	loaded := pre || h.busy[sha] > 0
	for m := range h.modules {
		loaded = loaded || m.sha == sha
	}
	h.mu.Unlock()
	if loaded {
		return nil
	}
	dir := h.opts.CacheDir
	others := map[string]bool{}
	if ents, err := os.ReadDir(filepath.Join(dir, "used")); err == nil {
		for _, e := range ents {
			if e.Name() != sha {
				for _, n := range readUsed(filepath.Join(dir, "used", e.Name())) {
					others[n] = true
				}
			}
		}
	}
	var errs []error
	rm := func(p string) {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	for _, n := range readUsed(h.usedPath(sha)) {
		if !others[n] {
			rm(filepath.Join(dir, wazeroDirName(), n))
		}
	}
	rm(h.usedPath(sha))
	rm(h.rewrittenPath(sha))
	if described, err := filepath.Glob(filepath.Join(dir, "described", sha+".abi*.json")); err == nil {
		for _, p := range described {
			rm(p)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("wasm host: forgetting module %s: %w", sha, err)
	}
	return nil
}
