package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/lavalab/lavalab/core/drivers"
	"github.com/lavalab/lavalab/core/workerproto"
	"github.com/lavalab/lavalab/plugins/registry"
	"github.com/lavalab/lavalab/plugins/wasm"
	"github.com/lavalab/lavalab/sdk"
)

// The worker loads drivers lazily: a driver module is compiled (wazero,
// ~14 MB resident each) on the first job that needs it, not at start, so
// an idle worker stays small however many drivers --drivers-dir holds.
// Native drivers come from the worker's own --native-drivers list only
// (native.go).
//
//   - A job pinned to a SHA-256 (the usual case: the server pins the
//     version it scheduled with) loads that module through
//     Registry.BySHA256 from the module store below: the worker's cache
//     (WORK-DIR/drivers), else a --drivers-dir file with that hash, else
//     the server (fetched, checked and cached).
//   - A job with no pin takes the active driver of its device type: the
//     --drivers-dir file named DEVTYPE.wasm is installed first if new or
//     changed; when no active driver serves the type then, every file not
//     seen yet is (oldest first, so the newest of a name wins).
//
// The registry is the server's (plugins/registry); the worker just gives it
// a store that lists no module, so registry.New compiles nothing.

// lazyStore is the worker's module store.
type lazyStore struct {
	*registry.DirStore
	local *localDir
	c     *Client
}

// ListModules lists nothing: stored modules load on demand (GetModule),
// never all at start.
func (s *lazyStore) ListModules(context.Context) ([]string, error) { return nil, nil }

func (s *lazyStore) GetModule(ctx context.Context, sha string) ([]byte, error) {
	b, err := s.DirStore.GetModule(ctx, sha)
	if err == nil || !errors.Is(err, registry.ErrNotFound) {
		return b, err
	}
	if b, ok := s.local.bySHA(sha); ok {
		return b, nil
	}
	if s.c == nil {
		return nil, err
	}
	b, err = s.c.DriverModule(ctx, sha)
	if err != nil {
		return nil, fmt.Errorf("fetching driver module %s from the server: %w", sha, err)
	}
	if err := s.DirStore.PutModule(ctx, sha, "", b); err != nil {
		return nil, err
	}
	return b, nil
}

// localDir indexes the .wasm files of --drivers-dir by SHA-256, hashing a
// file again only when its size or modification time changed.
type localDir struct {
	dir string
	log *slog.Logger

	instMu    sync.Mutex // one install pass at a time: a job waits for the compile another started
	mu        sync.Mutex
	files     map[string]localFile // by path
	installed map[string]bool      // SHA-256s given to the registry (loaded or refused)
}

type localFile struct {
	path string
	size int64
	mod  time.Time
	sha  string
}

func newLocalDir(dir string, log *slog.Logger) *localDir {
	return &localDir{dir: dir, log: log, files: map[string]localFile{}, installed: map[string]bool{}}
}

// scan refreshes the index and returns the files, oldest first.
func (l *localDir) scan() []localFile {
	if l == nil || l.dir == "" {
		return nil
	}
	ents, err := os.ReadDir(l.dir)
	if err != nil {
		l.log.Warn("drivers dir: not readable", "dir", l.dir, "err", err)
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	seen := map[string]bool{}
	var out []localFile
	for _, e := range ents {
		if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), ".wasm") {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		p := filepath.Join(l.dir, e.Name())
		seen[p] = true
		f, ok := l.files[p]
		if !ok || f.size != fi.Size() || !f.mod.Equal(fi.ModTime()) {
			data, err := os.ReadFile(p)
			if err != nil {
				continue
			}
			f = localFile{path: p, size: fi.Size(), mod: fi.ModTime(), sha: wasm.SHA256Hex(data)}
			l.files[p] = f
		}
		out = append(out, f)
	}
	for p := range l.files {
		if !seen[p] {
			delete(l.files, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].mod.Before(out[j].mod) })
	return out
}

// bySHA returns the bytes of a --drivers-dir file with that SHA-256.
func (l *localDir) bySHA(sha string) ([]byte, bool) {
	for _, f := range l.scan() {
		if f.sha != sha {
			continue
		}
		data, err := os.ReadFile(f.path)
		if err == nil && wasm.SHA256Hex(data) == sha {
			return data, true
		}
	}
	return nil, false
}

// install gives the registry the files it has not seen (new or changed),
// oldest first; each is compiled and activated (a refused one is logged
// once). A file named after the device type (DEVTYPE.wasm, as make
// drivers names them) goes first, and when it serves the device type the
// other files wait for a job that needs them.
func (l *localDir) install(ctx context.Context, reg *registry.Registry, devType string) {
	l.instMu.Lock()
	defer l.instMu.Unlock()
	files := l.scan()
	for _, f := range files {
		if filepath.Base(f.path) == devType+".wasm" {
			l.installOne(ctx, reg, f)
		}
	}
	if _, _, err := reg.ForDeviceType(devType); err == nil {
		return
	}
	for _, f := range files {
		l.installOne(ctx, reg, f)
	}
}

func (l *localDir) installOne(ctx context.Context, reg *registry.Registry, f localFile) {
	l.mu.Lock()
	done := l.installed[f.sha]
	l.installed[f.sha] = true
	l.mu.Unlock()
	if done {
		return
	}
	data, err := os.ReadFile(f.path)
	if err != nil {
		return
	}
	if wasm.SHA256Hex(data) != f.sha {
		l.mu.Lock()
		delete(l.installed, f.sha) // changed while read: next time
		l.mu.Unlock()
		return
	}
	info, err := reg.Install(ctx, "", data)
	if err != nil {
		l.log.Error("drivers dir: driver refused", "file", f.path, "err", err)
		return
	}
	l.log.Info("drivers dir: driver loaded", "file", f.path, "driver", info.Name, "version", info.Version, "sha256", info.SHA256)
}

// driver finds the job's driver: the pinned SHA-256 (compiled now if this
// process has not yet), or the active local driver of the device type
// when the server pinned none.
func (r *runner) driver(ctx context.Context, job workerproto.StartJob) (drivers.Driver, error) {
	before := len(r.reg.List())
	defer func() {
		if len(r.reg.List()) != before {
			// A driver was compiled: hand the compiler's garbage back to
			// the system now rather than keep it resident.
			debug.FreeOSMemory()
		}
	}()
	if job.DriverSHA256 != "" {
		if _, err := r.native.load(ctx, r.reg, job); err != nil {
			return nil, err
		}
		drv, _, err := r.reg.BySHA256(ctx, job.DriverSHA256)
		if err != nil {
			return nil, fmt.Errorf("driver %s for device type %s: %w", job.DriverSHA256, job.DeviceType, err)
		}
		return drv, nil
	}
	lookup := job.DeviceType
	if job.DriverName != "" {
		lookup = job.DriverName // issue 16: the type's driver
	}
	r.local.install(ctx, r.reg, lookup)
	drv, _, err := r.reg.ForDeviceType(lookup)
	if err != nil {
		r.native.loadAll(ctx, r.reg)
		drv, _, err = r.reg.ForDeviceType(lookup)
	}
	if err != nil {
		return nil, fmt.Errorf("the server pinned no driver and no local one (--drivers-dir, --native-drivers) serves device type %s: %w", job.DeviceType, err)
	}
	return drv, nil
}

// releasingDriver hands memory back to the system shortly after plan
// calls: each call runs a fresh driver instance (several MB of linear
// memory) that the Go heap would otherwise keep resident, so a worker that
// just started a few jobs would stay tens of MB larger than it needs.
type releasingDriver struct {
	drivers.Driver
	rel *releaser
}

func (d releasingDriver) Plan(ctx context.Context, req sdk.PlanRequest) (sdk.Plan, []byte, error) {
	p, diag, err := d.Driver.Plan(ctx, req)
	d.rel.soon()
	return p, diag, err
}

// releaser coalesces release requests: one debug.FreeOSMemory a second
// after the first request of a burst.
type releaser struct {
	mu      sync.Mutex
	pending bool
}

func (r *releaser) soon() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pending {
		return
	}
	r.pending = true
	time.AfterFunc(time.Second, func() {
		r.mu.Lock()
		r.pending = false
		r.mu.Unlock()
		debug.FreeOSMemory()
	})
}
