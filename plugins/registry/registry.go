package registry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/lavalab/lavalab/core/drivers"
	"github.com/lavalab/lavalab/plugins/native"
	"github.com/lavalab/lavalab/plugins/wasm"
	"github.com/lavalab/lavalab/sdk"
)

// Sources of a driver version.
const (
	SourceStore   = "store"   // installed in an earlier run
	SourceAPI     = "api"     // Install
	SourceDir     = "dir"     // the watched directory
	SourceNative  = "native"  // the admin's list of native binaries
	SourceFetched = "fetched" // loaded from the store on demand (BySHA256)
)

// Info describes one driver version.
type Info struct {
	Name        string          `json:"name"`
	Version     string          `json:"version"`
	SHA256      string          `json:"sha256"`
	Kind        string          `json:"kind"` // drivers.KindWASM or drivers.KindNative
	DeviceTypes []string        `json:"device_types"`
	Source      string          `json:"source"`
	Path        string          `json:"path,omitempty"` // the file, for dir and native sources
	Active      bool            `json:"active"`
	LoadedAt    time.Time       `json:"loaded_at"`
	Description sdk.Description `json:"description"`
}

// Refusal is a driver file that failed its checks.
type Refusal struct {
	Path   string    `json:"path"`
	SHA256 string    `json:"sha256"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// NativeSpec is one admin-installed native driver: a binary and its pin.
type NativeSpec struct {
	Path   string `json:"path" yaml:"path"`
	SHA256 string `json:"sha256" yaml:"sha256"`
}

// Options configure a Registry.
type Options struct {
	// Host loads WASM drivers (required).
	Host *wasm.Host
	// Store persists modules and activations (required).
	Store ModuleStore
	// DriversDir, if set, is scanned at start and watched: a .wasm file
	// created or changed there is loaded and, if it passes, activated.
	DriversDir string
	// Debounce is how long a file must stay unchanged before it is loaded
	// (default 200 ms).
	Debounce time.Duration
	// Native lists the admin's native drivers.
	Native []NativeSpec
	// NativeOptions configure the native drivers.
	NativeOptions native.Options
	// Logger gets the registry's log lines (default slog.Default()).
	Logger *slog.Logger
	// OnPlan, if set, is told about every plan call of every driver
	// version (metrics: duration and failures by driver).
	OnPlan drivers.PlanObserver
	// DriverAlias, if set, names the driver that serves a device type no
	// driver declares under that name (LAVA's juno → the juno-r2 driver;
	// issue 16), or "".
	DriverAlias func(deviceType string) string
}

type entry struct {
	drv  drivers.Driver
	info Info // Active is computed on read
}

// Registry is the set of driver versions and the active one of each name.
// It is safe for concurrent use.
type Registry struct {
	opts Options
	log  *slog.Logger

	mu       sync.RWMutex
	versions map[string]*entry   // by SHA-256
	history  map[string][]string // by name: activated SHA-256s, last active
	refused  map[string]Refusal  // by path

	loadMu sync.Mutex // serializes loading by SHA-256 (one compile per module)
	watch  *watcher

	actMu    sync.Mutex      // serializes activation changes with Sync
	syncSkip map[string]bool // stored modules Sync failed to load (by SHA-256)
}

// New loads the store's modules, the native drivers and the directory, then
// starts watching the directory.
func New(ctx context.Context, opts Options) (*Registry, error) {
	if opts.Host == nil || opts.Store == nil {
		return nil, errors.New("driver registry: Host and Store are required")
	}
	if opts.Debounce <= 0 {
		opts.Debounce = 200 * time.Millisecond
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	r := &Registry{
		opts:     opts,
		log:      opts.Logger,
		versions: map[string]*entry{},
		history:  map[string][]string{},
		refused:  map[string]Refusal{},
	}
	hist, err := opts.Store.LoadActivations(ctx)
	if err != nil {
		return nil, fmt.Errorf("driver registry: %w", err)
	}
	shas, err := opts.Store.ListModules(ctx)
	if err != nil {
		return nil, fmt.Errorf("driver registry: %w", err)
	}
	stored := make([][]byte, len(shas))
	errs := make([]error, len(shas))
	for i, sha := range shas {
		stored[i], errs[i] = opts.Store.GetModule(ctx, sha)
	}
	// Compile side by side first; the loads below then find them compiled.
	opts.Host.Precompile(ctx, stored)
	for i, sha := range shas {
		err := errs[i]
		if err == nil {
			_, err = r.load(ctx, "store:"+sha[:12], stored[i], SourceStore, "")
		}
		if err != nil {
			r.log.Warn("driver registry: stored module not loaded", "sha256", sha, "error", err)
		}
	}
	r.mu.Lock()
	for name, h := range hist {
		// Keep only versions that loaded.
		var keep []string
		for _, sha := range h {
			if e, ok := r.versions[sha]; ok && e.info.Name == name {
				keep = append(keep, sha)
			}
		}
		if len(keep) > 0 {
			r.history[name] = keep
		}
	}
	r.mu.Unlock()
	for _, spec := range opts.Native {
		if _, err := r.AddNative(ctx, spec); err != nil {
			r.log.Error("driver registry: native driver refused", "path", spec.Path, "error", err)
		}
	}
	// Versions loaded from the store but never activated (a crash between
	// the two) are activated now if their name has no active version.
	r.mu.Lock()
	for _, sha := range shas {
		if e, ok := r.versions[sha]; ok && len(r.history[e.info.Name]) == 0 {
			r.history[e.info.Name] = []string{sha}
		}
	}
	r.mu.Unlock()
	if opts.DriversDir != "" {
		w, err := r.startWatch(ctx, opts.DriversDir)
		if err != nil {
			r.Close(ctx)
			return nil, err
		}
		r.watch = w
	}
	return r, nil
}

// load loads (or finds) the version with data's SHA-256.
func (r *Registry) load(ctx context.Context, label string, data []byte, source, path string) (*entry, error) {
	sha := wasm.SHA256Hex(data)
	r.loadMu.Lock()
	defer r.loadMu.Unlock()
	r.mu.RLock()
	e, ok := r.versions[sha]
	r.mu.RUnlock()
	if ok {
		return e, nil
	}
	m, err := r.opts.Host.Load(ctx, label, data)
	if err != nil {
		return nil, err
	}
	d := m.Describe()
	e = &entry{drv: drivers.Observed(m, r.opts.OnPlan), info: Info{
		Name: d.Name, Version: d.Version, SHA256: sha, Kind: drivers.KindWASM,
		DeviceTypes: slices.Clone(d.DeviceTypes), Source: source, Path: path,
		LoadedAt: time.Now(), Description: d,
	}}
	if err := r.opts.Store.PutModule(ctx, sha, d.Name, data); err != nil {
		_ = m.Close(ctx)
		return nil, fmt.Errorf("driver registry: storing %s: %w", m.Label(), err)
	}
	r.mu.Lock()
	r.versions[sha] = e
	r.mu.Unlock()
	return e, nil
}

// Install loads a WASM module, checks it and activates it. name, if not
// empty, must be the name the module gives in describe. A module that fails
// is refused with the reason and the active version does not change.
// Installing a version already known activates it.
func (r *Registry) Install(ctx context.Context, name string, module []byte) (Info, error) {
	label := name
	if label == "" {
		label = "upload"
	}
	e, err := r.load(ctx, label, module, SourceAPI, "")
	if err != nil {
		return Info{}, fmt.Errorf("installing driver %s: %w: %w", label, ErrRefused, err)
	}
	if name != "" && e.info.Name != name {
		return Info{}, fmt.Errorf("installing driver %s: %w: the module describes itself as %q", name, ErrRefused, e.info.Name)
	}
	return r.Activate(ctx, e.info.Name, e.info.SHA256)
}

// AddNative loads an admin-installed native driver pinned by SHA-256 and
// activates it if its name has no active version.
func (r *Registry) AddNative(ctx context.Context, spec NativeSpec) (Info, error) {
	sha := strings.ToLower(spec.SHA256)
	r.mu.RLock()
	e, ok := r.versions[sha]
	r.mu.RUnlock()
	if !ok {
		d, err := native.Load(ctx, spec.Path, sha, r.opts.NativeOptions)
		if err != nil {
			return Info{}, err
		}
		desc := d.Describe()
		e = &entry{drv: drivers.Observed(d, r.opts.OnPlan), info: Info{
			Name: desc.Name, Version: desc.Version, SHA256: sha, Kind: drivers.KindNative,
			DeviceTypes: slices.Clone(desc.DeviceTypes), Source: SourceNative, Path: spec.Path,
			LoadedAt: time.Now(), Description: desc,
		}}
		r.mu.Lock()
		r.versions[sha] = e
		r.mu.Unlock()
	}
	r.mu.Lock()
	if len(r.history[e.info.Name]) == 0 {
		r.history[e.info.Name] = []string{sha}
	}
	r.mu.Unlock()
	return r.info(e), nil
}

// Activate makes the version with SHA-256 sha the active one of name. Jobs
// scheduled before keep the version they got (BySHA256).
func (r *Registry) Activate(ctx context.Context, name, sha string) (Info, error) {
	r.actMu.Lock()
	defer r.actMu.Unlock()
	r.mu.Lock()
	e, ok := r.versions[sha]
	if !ok || e.info.Name != name {
		r.mu.Unlock()
		return Info{}, fmt.Errorf("activating driver %s version %s: %w", name, short(sha), ErrNotFound)
	}
	h := r.history[name]
	if len(h) > 0 && h[len(h)-1] == sha {
		r.mu.Unlock()
		return r.info(e), nil
	}
	h = append(slices.Clone(h), sha)
	if len(h) > 50 {
		h = h[len(h)-50:]
	}
	r.history[name] = h
	r.mu.Unlock()
	r.log.Info("driver activated", "driver", drivers.Label(name, e.info.Version, sha))
	if err := r.opts.Store.SaveActivations(ctx, name, h); err != nil {
		return r.info(e), fmt.Errorf("activating driver %s: saving: %w", name, err)
	}
	return r.info(e), nil
}

// ErrActive is Remove's error for a driver's active version.
var ErrActive = errors.New("the active version")

// Remove removes a version of driver name that is not active: from the
// store (which refuses one unfinished jobs are pinned to, when it knows of
// jobs) and from the registry, closing it. A version loaded from the
// watched directory is refused while its file is there (it would be
// loaded again).
func (r *Registry) Remove(ctx context.Context, name, sha string) (Info, error) {
	rm, ok := r.opts.Store.(ModuleRemover)
	if !ok {
		return Info{}, fmt.Errorf("removing driver %s version %s: the module store cannot remove modules", name, short(sha))
	}
	r.actMu.Lock()
	defer r.actMu.Unlock()
	r.mu.RLock()
	e, ok := r.versions[sha]
	var in Info
	if ok {
		in = r.infoLocked(e)
	}
	r.mu.RUnlock()
	if !ok || in.Name != name {
		return Info{}, fmt.Errorf("removing driver %s version %s: %w", name, short(sha), ErrNotFound)
	}
	if in.Active {
		return in, fmt.Errorf("removing driver %s version %s: it is %w (activate another first)", name, short(sha), ErrActive)
	}
	if in.Kind != drivers.KindWASM {
		return in, fmt.Errorf("removing driver %s version %s: a native driver: remove it from the native drivers list", name, short(sha))
	}
	if in.Path != "" {
		if _, err := os.Stat(in.Path); err == nil {
			return in, fmt.Errorf("removing driver %s version %s: it is loaded from %s: remove the file first", name, short(sha), in.Path)
		}
	}
	if err := rm.DeleteModule(ctx, sha); err != nil {
		return in, fmt.Errorf("removing driver %s version %s: %w", name, short(sha), err)
	}
	r.unload(ctx, sha)
	r.log.Info("driver version removed", "driver", drivers.Label(name, in.Version, sha))
	return in, nil
}

// unload forgets a version and closes it (after its calls in flight).
func (r *Registry) unload(ctx context.Context, sha string) {
	r.mu.Lock()
	e, ok := r.versions[sha]
	if ok {
		delete(r.versions, sha)
		name := e.info.Name
		r.history[name] = slices.DeleteFunc(slices.Clone(r.history[name]), func(x string) bool { return x == sha })
		if len(r.history[name]) == 0 {
			delete(r.history, name)
		}
	}
	r.mu.Unlock()
	if ok {
		_ = e.drv.Close(ctx)
	}
}

// Rollback activates the version of name that was active before the current
// one.
func (r *Registry) Rollback(ctx context.Context, name string) (Info, error) {
	r.actMu.Lock()
	defer r.actMu.Unlock()
	r.mu.Lock()
	h := r.history[name]
	if len(h) < 2 {
		r.mu.Unlock()
		return Info{}, fmt.Errorf("rolling back driver %s: %w", name, ErrNoEarlierVersion)
	}
	h = slices.Clone(h[:len(h)-1])
	r.history[name] = h
	e := r.versions[h[len(h)-1]]
	r.mu.Unlock()
	r.log.Info("driver rolled back", "driver", drivers.Label(name, e.info.Version, e.info.SHA256))
	if err := r.opts.Store.SaveActivations(ctx, name, h); err != nil {
		return r.info(e), fmt.Errorf("rolling back driver %s: saving: %w", name, err)
	}
	return r.info(e), nil
}

// info returns e's Info with Active set.
func (r *Registry) info(e *entry) Info {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.infoLocked(e)
}

func (r *Registry) infoLocked(e *entry) Info {
	in := e.info
	h := r.history[in.Name]
	in.Active = len(h) > 0 && h[len(h)-1] == in.SHA256
	return in
}

func (r *Registry) activeLocked(name string) *entry {
	h := r.history[name]
	if len(h) == 0 {
		return nil
	}
	return r.versions[h[len(h)-1]]
}

// History returns driver name's activated versions (SHA-256), oldest
// first; the last is active.
func (r *Registry) History(name string) []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return slices.Clone(r.history[name])
}

// List returns every known version, by name then load time.
func (r *Registry) List() []Info {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Info, 0, len(r.versions))
	for _, e := range r.versions {
		out = append(out, r.infoLocked(e))
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].LoadedAt.Before(out[j].LoadedAt)
	})
	return out
}

// Get returns the active version of name.
func (r *Registry) Get(name string) (Info, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	e := r.activeLocked(name)
	if e == nil {
		return Info{}, fmt.Errorf("driver %s: %w", name, ErrNotFound)
	}
	return r.infoLocked(e), nil
}

// Lookup returns the version with SHA-256 sha if this process knows it,
// without loading anything (the server says so to the worker that runs a
// job pinned to it).
func (r *Registry) Lookup(sha string) (Info, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	e, ok := r.versions[sha]
	if !ok {
		return Info{}, false
	}
	return r.infoLocked(e), true
}

// ForDeviceType returns the active driver version serving devType. Two
// active drivers serving the same device type is an error naming both.
func (r *Registry) ForDeviceType(devType string) (drivers.Driver, Info, error) {
	d, in, err := r.forDeviceType(devType)
	if errors.Is(err, ErrNotFound) {
		// Issue 16: LAVA's name of a device type a shipped driver runs
		// under its own name (juno → juno-r2).
		if alt := r.alias(devType); alt != "" {
			if d, in, err2 := r.forDeviceType(alt); err2 == nil {
				return d, in, nil
			}
		}
	}
	return d, in, err
}

// alias is Options.DriverAlias, or no alias.
func (r *Registry) alias(devType string) string {
	if r.opts.DriverAlias == nil {
		return ""
	}
	return r.opts.DriverAlias(devType)
}

func (r *Registry) forDeviceType(devType string) (drivers.Driver, Info, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var found []*entry
	for name := range r.history {
		e := r.activeLocked(name)
		if e != nil && slices.Contains(e.info.DeviceTypes, devType) {
			found = append(found, e)
		}
	}
	switch len(found) {
	case 0:
		return nil, Info{}, fmt.Errorf("no active driver serves device type %q: %w", devType, ErrNotFound)
	case 1:
		return found[0].drv, r.infoLocked(found[0]), nil
	}
	names := make([]string, len(found))
	for i, e := range found {
		names[i] = e.info.Name
	}
	sort.Strings(names)
	return nil, Info{}, fmt.Errorf("device type %q is served by several active drivers (%s): deactivate all but one", devType, strings.Join(names, ", "))
}

// BySHA256 returns the version with SHA-256 sha, loading it from the store
// if this process has not loaded it yet (a worker running a job scheduled
// with it).
func (r *Registry) BySHA256(ctx context.Context, sha string) (drivers.Driver, Info, error) {
	r.mu.RLock()
	e, ok := r.versions[sha]
	r.mu.RUnlock()
	if !ok {
		data, err := r.opts.Store.GetModule(ctx, sha)
		if err != nil {
			return nil, Info{}, fmt.Errorf("driver version %s: %w", short(sha), err)
		}
		if e, err = r.load(ctx, "fetched:"+short(sha), data, SourceFetched, ""); err != nil {
			return nil, Info{}, err
		}
	}
	return e.drv, r.info(e), nil
}

// Module returns the bytes of the WASM module with SHA-256 sha (what a
// worker fetches). Native binaries are not distributed.
func (r *Registry) Module(ctx context.Context, sha string) ([]byte, error) {
	r.mu.RLock()
	e, ok := r.versions[sha]
	r.mu.RUnlock()
	if ok && e.info.Kind == drivers.KindNative {
		return nil, fmt.Errorf("driver version %s is a native driver: its binary is installed by the admin on each worker (lava-worker --native-drivers)", short(sha))
	}
	b, err := r.opts.Store.GetModule(ctx, sha)
	if err != nil {
		return nil, fmt.Errorf("driver module %s: %w", short(sha), err)
	}
	return b, nil
}

// Refused lists the directory's files that failed their checks (until they
// change and pass).
func (r *Registry) Refused() []Refusal {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Refusal, 0, len(r.refused))
	for _, f := range r.refused {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// Close stops watching and closes every driver.
func (r *Registry) Close(ctx context.Context) error {
	if r.watch != nil {
		r.watch.stop()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	for _, e := range r.versions {
		errs = append(errs, e.drv.Close(ctx))
	}
	r.versions = map[string]*entry{}
	return errors.Join(errs...)
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}
