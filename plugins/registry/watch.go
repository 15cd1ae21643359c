package registry

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/lavalab/lavalab/plugins/wasm"
)

// watcher loads .wasm files of a directory as they appear or change.
type watcher struct {
	r       *Registry
	fw      *fsnotify.Watcher
	ctx     context.Context
	stopCtx context.CancelFunc
	wg      sync.WaitGroup

	mu     sync.Mutex
	timers map[string]*time.Timer
	seen   map[string]string // path -> SHA-256 last handled (loaded or refused)
}

func (r *Registry) startWatch(ctx context.Context, dir string) (*watcher, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("drivers dir: %w", err)
	}
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("drivers dir: watching: %w", err)
	}
	if err := fw.Add(dir); err != nil {
		fw.Close()
		return nil, fmt.Errorf("drivers dir %s: watching: %w", dir, err)
	}
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	w := &watcher{r: r, fw: fw, ctx: wctx, stopCtx: cancel, timers: map[string]*time.Timer{}, seen: map[string]string{}}
	// Scan what is there, oldest first, so the newest file of a name wins.
	ents, err := os.ReadDir(dir)
	if err != nil {
		w.stop()
		return nil, fmt.Errorf("drivers dir: %w", err)
	}
	type file struct {
		path string
		mod  time.Time
	}
	var files []file
	for _, e := range ents {
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), ".wasm") {
			if fi, err := e.Info(); err == nil {
				files = append(files, file{filepath.Join(dir, e.Name()), fi.ModTime()})
			}
		}
	}
	sort.Slice(files, func(i, j int) bool { return files[i].mod.Before(files[j].mod) })
	// Compile side by side first; handle then finds them compiled.
	var mods [][]byte
	for _, f := range files {
		if b, err := os.ReadFile(f.path); err == nil {
			mods = append(mods, b)
		}
	}
	r.opts.Host.Precompile(ctx, mods)
	for _, f := range files {
		w.handle(f.path)
	}
	w.wg.Add(1)
	go w.loop()
	return w, nil
}

func (w *watcher) loop() {
	defer w.wg.Done()
	for {
		select {
		case <-w.ctx.Done():
			return
		case ev, ok := <-w.fw.Events:
			if !ok {
				return
			}
			if !strings.HasSuffix(ev.Name, ".wasm") || ev.Op&(fsnotify.Create|fsnotify.Write|fsnotify.Rename|fsnotify.Chmod) == 0 {
				continue
			}
			w.schedule(ev.Name)
		case err, ok := <-w.fw.Errors:
			if !ok {
				return
			}
			w.r.log.Warn("drivers dir: watch error", "error", err)
		}
	}
}

// schedule (re)starts the debounce timer of path: the file is loaded once it
// has not changed for the debounce time.
func (w *watcher) schedule(path string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if t, ok := w.timers[path]; ok {
		t.Reset(w.r.opts.Debounce)
		return
	}
	w.wg.Add(1)
	w.timers[path] = time.AfterFunc(w.r.opts.Debounce, func() {
		defer w.wg.Done()
		w.mu.Lock()
		delete(w.timers, path)
		w.mu.Unlock()
		if w.ctx.Err() == nil {
			w.handle(path)
		}
	})
}

// handle loads path if its content is new. A file that fails is remembered
// by content hash: it is tried again when it changes (a half-written file
// is not refused forever).
func (w *watcher) handle(path string) {
	r := w.r
	data, err := os.ReadFile(path)
	if err != nil {
		return // removed or renamed away meanwhile; its versions stay known
	}
	sha := wasm.SHA256Hex(data)
	w.mu.Lock()
	if w.seen[path] == sha {
		w.mu.Unlock()
		return
	}
	w.seen[path] = sha
	w.mu.Unlock()
	name := filepath.Base(path)
	r.mu.RLock()
	_, known := r.versions[sha]
	r.mu.RUnlock()
	e, err := r.load(w.ctx, name, data, SourceDir, path)
	if err != nil {
		r.log.Error("drivers dir: driver refused, the active version stays", "file", path, "error", err)
		r.mu.Lock()
		r.refused[path] = Refusal{Path: path, SHA256: sha, Reason: err.Error(), At: time.Now()}
		r.mu.Unlock()
		return
	}
	r.mu.Lock()
	delete(r.refused, path)
	hasActive := len(r.history[e.info.Name]) > 0
	r.mu.Unlock()
	// A version seen before (in the store) keeps the recorded activation;
	// a new one is activated.
	if known && hasActive {
		return
	}
	if _, err := r.Activate(w.ctx, e.info.Name, sha); err != nil {
		r.log.Error("drivers dir: activating", "file", path, "error", err)
	}
}

func (w *watcher) stop() {
	w.stopCtx()
	w.fw.Close()
	w.mu.Lock()
	for p, t := range w.timers {
		if t.Stop() {
			w.wg.Done()
		}
		delete(w.timers, p)
	}
	w.mu.Unlock()
	w.wg.Wait()
}
