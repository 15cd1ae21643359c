package driverset

import (
	"context"
	"errors"
	"fmt"
	"github.com/lavalab/lavalab/core/lavatemplate"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/lavalab/lavalab/core/drivers"
	"github.com/lavalab/lavalab/core/store"
	"github.com/lavalab/lavalab/plugins/registry"
	"github.com/lavalab/lavalab/plugins/wasm"
	"github.com/lavalab/lavalab/sdk"
)

// SyncInterval is how often Sync re-reads the drivers in the store when no
// event told it (another instance, or the driver commands on a SQLite
// store, changed them).
const SyncInterval = 10 * time.Second

// Options say how to open the registry.
type Options struct {
	// DataDir is the command's data directory: the compilation cache
	// defaults to DataDir/driver-cache.
	DataDir string
	// DriversDir is a directory of .wasm modules to load and watch; ""
	// watches none (the drivers come from the store only).
	DriversDir string
	// NativeFile is the admin's YAML list of native drivers pinned by
	// SHA-256 ("" = none).
	NativeFile string
	// CacheDir is wazero's compilation cache; "" = DataDir/driver-cache.
	CacheDir string
	// OnPlan, if set, is told about every plan call made through the
	// registry (metrics).
	OnPlan drivers.PlanObserver
	// Logger receives the registry's diagnostics.
	Logger *slog.Logger
}

// Set is an open registry and the WASM host its modules run in.
type Set struct {
	Registry *registry.Registry
	Host     *wasm.Host
}

// Close closes the registry, then the host.
func (s *Set) Close(ctx context.Context) {
	_ = s.Registry.Close(ctx)
	_ = s.Host.Close(ctx)
}

// Active names the active driver versions, "name/version" separated by
// spaces, for the log line a command writes once the registry is open.
func (s *Set) Active() string {
	var active []string
	for _, in := range s.Registry.List() {
		if in.Active {
			active = append(active, in.Name+"/"+in.Version)
		}
	}
	return strings.Join(active, " ")
}

// Open opens the driver registry over the store's driver tables (every
// instance sharing the store serves the same drivers).
func Open(ctx context.Context, st store.Store, o Options) (*Set, error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cache := o.CacheDir
	if cache == "" {
		cache = filepath.Join(o.DataDir, "driver-cache")
	}
	if err := os.MkdirAll(cache, 0o750); err != nil {
		return nil, fmt.Errorf("creating the driver compilation cache: %w", err)
	}
	// The server and the scheduler describe drivers and read their
	// settings; plans are made where jobs run, so no instance is kept warm.
	host, err := wasm.NewHost(ctx, wasm.Options{CacheDir: cache, Release: true,
		Source: ModuleStore{St: st}.GetModule, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("starting the WASM driver host: %w", err)
	}
	var native []registry.NativeSpec
	if o.NativeFile != "" {
		if native, err = ReadNativeList(o.NativeFile); err != nil {
			_ = host.Close(ctx)
			return nil, err
		}
	}
	reg, err := registry.New(ctx, registry.Options{DriverAlias: lavatemplate.ShippedDriver, Host: host, Store: ModuleStore{St: st}, DriversDir: o.DriversDir,
		Native: native, OnPlan: o.OnPlan, Logger: log})
	if err != nil {
		_ = host.Close(ctx)
		return nil, fmt.Errorf("opening the driver registry: %w", err)
	}
	// The compiles and describe calls are done, their code released:
	// hand the memory back now rather than at the next GC cycle.
	debug.FreeOSMemory()
	return &Set{Registry: reg, Host: host}, nil
}

// ReadNativeList reads the admin's list of native drivers pinned by SHA-256:
// YAML [{path: /abs/binary, sha256: <64 hex>}, ...] (registry.ReadNativeList).
func ReadNativeList(path string) ([]registry.NativeSpec, error) {
	return registry.ReadNativeList(path)
}

// Sync keeps reg in step with the store until ctx ends: on each
// TopicDriversChanged event (every instance, with PostgreSQL) and every
// interval (SyncInterval if 0; changes the driver commands made on a SQLite
// store).
func Sync(ctx context.Context, st store.Store, reg *registry.Registry, interval time.Duration, log *slog.Logger) {
	if interval <= 0 {
		interval = SyncInterval
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	events, err := st.Subscribe(ctx, store.TopicDriversChanged)
	if err != nil {
		log.Warn("driver registry: no change events; syncing on the timer only", "err", err)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-events:
			if !ok {
				events = nil
				continue
			}
		case <-t.C:
		}
		if _, err := reg.Sync(ctx); err != nil && ctx.Err() == nil {
			log.Warn("driver registry: sync with the store failed", "err", err)
		}
	}
}

// DriverFor is the scheduler's hook (sched.Options.DriverFor): the SHA-256
// of the active driver version serving a device type ("" when none does).
func DriverFor(reg *registry.Registry) func(string) string {
	return func(dt string) string {
		_, in, err := reg.ForDeviceType(dt)
		if err != nil {
			return ""
		}
		return in.SHA256
	}
}

// DriverSettings is the scheduler's hook (sched.Options.DriverSettings): the
// setting defaults of a driver version.
func DriverSettings(reg *registry.Registry) func(context.Context, string) (map[string]any, error) {
	return func(ctx context.Context, sha string) (map[string]any, error) {
		d, _, err := reg.BySHA256(ctx, sha)
		if err != nil {
			return nil, fmt.Errorf("driver settings: %w", err)
		}
		return sdk.SettingDefaults(d.Describe().Settings), nil
	}
}

// ModuleStore is the registry's registry.ModuleStore on the lab's store.
type ModuleStore struct{ St store.Store }

// PutModule keeps a module's bytes under its SHA-256.
func (s ModuleStore) PutModule(ctx context.Context, sha, name string, data []byte) error {
	return s.St.PutDriverModule(ctx, sha, name, data)
}

// GetModule returns a module's bytes; an unknown one wraps
// registry.ErrNotFound.
func (s ModuleStore) GetModule(ctx context.Context, sha string) ([]byte, error) {
	b, err := s.St.DriverModule(ctx, sha)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("module %s: %w", sha, registry.ErrNotFound)
	}
	return b, err
}

// ListModules lists the SHA-256 of every stored module.
func (s ModuleStore) ListModules(ctx context.Context) ([]string, error) {
	return s.St.ListDriverModules(ctx)
}

// SaveActivations stores a driver's activation history.
func (s ModuleStore) SaveActivations(ctx context.Context, name string, history []string) error {
	return s.St.SaveDriverActivations(ctx, name, history)
}

// LoadActivations returns every driver's activation history.
func (s ModuleStore) LoadActivations(ctx context.Context) (map[string][]string, error) {
	return s.St.DriverActivations(ctx)
}

// DeleteModule removes a stored module (registry.ModuleRemover); the
// store refuses an active one or one unfinished jobs are pinned to.
func (s ModuleStore) DeleteModule(ctx context.Context, sha string) error {
	err := s.St.DeleteDriverModule(ctx, sha)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("module %s: %w", sha, registry.ErrNotFound)
	}
	return err
}
