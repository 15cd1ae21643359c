package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/lavalab/lavalab/cmd/internal/driverset"
	"github.com/lavalab/lavalab/core/api"
	"github.com/lavalab/lavalab/core/bytesize"
	"github.com/lavalab/lavalab/core/drivers"
	"github.com/lavalab/lavalab/core/lavatemplate"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
	"github.com/lavalab/lavalab/core/workerproto"
	"github.com/lavalab/lavalab/plugins/registry"
	"github.com/lavalab/lavalab/plugins/wasm"
	"github.com/lavalab/lavalab/sdk"
)

// driverFlags are the flags of the commands that open the driver registry.
type driverFlags struct {
	dir, native, cache *string
	// cacheMax and cacheAge bound the compilation cache (serve only).
	cacheMax *bytesize.Size
	cacheAge *time.Duration
}

func addDriverFlags(fs *flag.FlagSet, serve bool) driverFlags {
	var f driverFlags
	if serve {
		f.cacheMax = new(bytesize.Size(2 << 30))
		fs.Var(f.cacheMax, "driver-cache-max", "size cap of the driver compilation cache, e.g. 2GiB (0: none): versions no longer stored go first, least recently used first; pruned at start and daily")
		f.cacheAge = fs.Duration("driver-cache-max-age", 30*24*time.Hour, "remove from the driver compilation cache what versions no longer stored left there, unused this long (0: never)")
		f.dir = fs.String("drivers-dir", "", "directory of driver modules (.wasm), watched: a file dropped in is live within a second (default DATA-DIR/drivers, seeded on first start from the drivers directory next to the binary)")
	}
	f.native = fs.String("native-drivers", "", "YAML file listing the admin's native drivers: [{path: /abs/binary, sha256: <hex>}, ...]")
	f.cache = fs.String("driver-cache", "", "wazero compilation cache (default DATA-DIR/driver-cache)")
	return f
}

// shippedDrivers is the directory of the drivers shipped with the binary:
// bin/drivers beside bin/lava-server ("" if the executable is unknown).
func shippedDrivers() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	return filepath.Join(filepath.Dir(exe), "drivers")
}

// seedDriversDir creates dir on first start, filled with the *.wasm drivers
// of src (the ones shipped with the binary), if any.
func seedDriversDir(dir, src string, log *slog.Logger) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("creating the drivers directory: %w", err)
	}
	var files []string
	if src != "" {
		files, _ = filepath.Glob(filepath.Join(src, "*.wasm"))
	}
	if len(files) == 0 {
		log.Info("drivers directory created, empty: no drivers next to the binary", "dir", dir, "looked_in", src)
		return nil
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("seeding the drivers directory: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o640); err != nil {
			return fmt.Errorf("seeding the drivers directory: %w", err)
		}
	}
	log.Info("drivers directory seeded with the drivers shipped with the binary", "dir", dir, "from", src, "drivers", len(files))
	return nil
}

// apiDrivers adapts the registry to core/lab's Drivers (the service every front-end calls).
type apiDrivers struct{ reg *registry.Registry }

// kindErr keeps an error's message and adds the API sentinel it maps to.
type kindErr struct{ err, kind error }

func (e kindErr) Error() string   { return e.err.Error() }
func (e kindErr) Unwrap() []error { return []error{e.err, e.kind} }

func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, registry.ErrNotFound):
		return kindErr{err, api.ErrDriverNotFound}
	case errors.Is(err, registry.ErrRefused):
		return kindErr{err, api.ErrDriverRefused}
	case errors.Is(err, registry.ErrNoEarlierVersion):
		return kindErr{err, api.ErrDriverConflict}
	}
	return err
}

func (a apiDrivers) List() []api.DriverInfo {
	l := a.reg.List()
	out := make([]api.DriverInfo, len(l))
	for i, in := range l {
		out[i] = api.DriverInfo(in)
	}
	return out
}

func (a apiDrivers) Refused() []api.DriverRefusal {
	l := a.reg.Refused()
	out := make([]api.DriverRefusal, len(l))
	for i, r := range l {
		out[i] = api.DriverRefusal(r)
	}
	return out
}

func (a apiDrivers) Install(ctx context.Context, name string, module []byte) (api.DriverInfo, error) {
	in, err := a.reg.Install(ctx, name, module)
	return api.DriverInfo(in), mapErr(err)
}

func (a apiDrivers) Activate(ctx context.Context, name, sha string) (api.DriverInfo, error) {
	in, err := a.reg.Activate(ctx, name, sha)
	return api.DriverInfo(in), mapErr(err)
}

func (a apiDrivers) Rollback(ctx context.Context, name string) (api.DriverInfo, error) {
	in, err := a.reg.Rollback(ctx, name)
	return api.DriverInfo(in), mapErr(err)
}

func (a apiDrivers) Module(ctx context.Context, sha string) ([]byte, error) {
	b, err := a.reg.Module(ctx, sha)
	if err != nil && !errors.Is(err, registry.ErrNotFound) {
		for _, in := range a.reg.List() {
			if in.SHA256 == sha && in.Kind == drivers.KindNative {
				return nil, kindErr{err, api.ErrDriverNotFound}
			}
		}
	}
	return b, mapErr(err)
}

func (a apiDrivers) ForDeviceType(devType string) (api.DriverInfo, error) {
	_, in, err := a.reg.ForDeviceType(devType)
	if err != nil {
		return api.DriverInfo{}, kindErr{err, api.ErrDriverNotFound}
	}
	return api.DriverInfo(in), nil
}

// driverRef is the worker protocol's ServerOptions.Driver: the name,
// version and kind of a driver version the registry knows.
func driverRef(reg *registry.Registry) func(string) (workerproto.DriverRef, bool) {
	return func(sha string) (workerproto.DriverRef, bool) {
		in, ok := reg.Lookup(sha)
		if !ok {
			return workerproto.DriverRef{}, false
		}
		return workerproto.DriverRef{Name: in.Name, Version: in.Version, Kind: in.Kind}, true
	}
}

// ---- driver and device-type settings commands ----

func isDriverCmd(cmd string) bool {
	return strings.HasPrefix(cmd, "driver ") || cmd == "device-type settings"
}

// driverCmd runs "driver list|install|activate|rollback" and
// "device-type settings" on the store (and its drivers) directly.
func driverCmd(ctx context.Context, cmd string, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	dataDir, db := dbFlags(fs)
	df := addDriverFlags(fs, false)
	var sets, unsets strList
	name := fs.String("name", "", "the driver name the module must describe itself as (install)")
	keep := fs.Int("keep", 0, "rm: remove the versions beyond the N most recently activated (never the active one nor one an unfinished job is pinned to)")
	minArgs, maxArgs := 1, 1
	switch cmd {
	case "driver list":
		minArgs, maxArgs = 0, 0
	case "driver install", "driver rollback":
	case "driver activate":
		minArgs, maxArgs = 2, 2
	case "driver rm":
		minArgs, maxArgs = 1, 2
	case "device-type settings":
		fs.Var(&sets, "set", "key=value: override a setting (repeatable); value as the setting's type (JSON for lists and maps)")
		fs.Var(&unsets, "unset", "key: remove an override (repeatable)")
	default:
		return usagef("unknown command")
	}
	pos, err := parseFlags(fs, args, minArgs, maxArgs)
	if err != nil {
		return err
	}
	if cmd == "driver rm" && (len(pos) == 2) == (*keep > 0) {
		return usagef("driver rm: give NAME SHA256, or NAME --keep N")
	}
	var module []byte
	if cmd == "driver install" {
		if module, err = os.ReadFile(pos[0]); err != nil {
			return fmt.Errorf("reading the driver module: %w", err)
		}
	}
	st, err := openAdminStore(ctx, *dataDir, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	set, err := driverset.Open(ctx, st, driverset.Options{DataDir: *dataDir, NativeFile: *df.native, CacheDir: *df.cache, Logger: log})
	if err != nil {
		return err
	}
	defer set.Close(context.WithoutCancel(ctx))
	reg := set.Registry

	switch cmd {
	case "driver list":
		return printDrivers(stdout, reg)
	case "driver install":
		in, err := reg.Install(ctx, *name, module)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "driver %s %s (sha256 %s) installed and active for %s\n", in.Name, in.Version, in.SHA256, strings.Join(in.DeviceTypes, ", "))
	case "driver activate":
		sha, err := resolveSHA(reg, pos[0], pos[1])
		if err != nil {
			return err
		}
		in, err := reg.Activate(ctx, pos[0], sha)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "driver %s: version %s (sha256 %s) active\n", in.Name, in.Version, in.SHA256)
	case "driver rollback":
		in, err := reg.Rollback(ctx, pos[0])
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "driver %s rolled back: version %s (sha256 %s) active\n", in.Name, in.Version, in.SHA256)
	case "driver rm":
		return removeDrivers(ctx, set, pos, *keep, stderr)
	case "device-type settings":
		return deviceTypeSettings(ctx, st, reg, pos[0], sets, unsets, stdout, stderr)
	}
	return nil
}

// removeDrivers removes driver pos[0]'s version pos[1] (a SHA-256 or a
// unique prefix), or with keep its versions beyond the keep most recently
// activated, and their compilation cache files. With keep, a version that
// is refused (active, pinned by a job) is reported and the others go on.
func removeDrivers(ctx context.Context, set *driverset.Set, pos []string, keep int, stderr io.Writer) error {
	reg, name := set.Registry, pos[0]
	var shas []string
	if len(pos) == 2 {
		sha, err := resolveSHA(reg, name, pos[1])
		if err != nil {
			return err
		}
		shas = []string{sha}
	} else {
		recent := reg.History(name)
		if len(recent) > keep {
			recent = recent[len(recent)-keep:]
		}
		found := false
		for _, in := range reg.List() {
			if in.Name != name {
				continue
			}
			found = true
			if !in.Active && !slices.Contains(recent, in.SHA256) && in.Kind == drivers.KindWASM {
				shas = append(shas, in.SHA256)
			}
		}
		if !found {
			return fmt.Errorf("driver %s: %w (see: lava-server driver list)", name, registry.ErrNotFound)
		}
	}
	var errs []error
	removed := 0
	for _, sha := range shas {
		in, err := reg.Remove(ctx, name, sha)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		removed++
		if err := set.Host.ForgetCached(sha); err != nil {
			fmt.Fprintf(stderr, "warning: %v\n", err)
		}
		fmt.Fprintf(stderr, "driver %s: version %s (sha256 %s) removed\n", name, in.Version, sha)
	}
	if len(pos) == 1 {
		fmt.Fprintf(stderr, "driver %s: %d version(s) removed, the %d most recently activated kept\n", name, removed, keep)
	}
	return errors.Join(errs...)
}

func printDrivers(w io.Writer, reg *registry.Registry) error {
	list := reg.List()
	if len(list) == 0 {
		fmt.Fprintln(w, "no drivers")
	} else {
		fmt.Fprintf(w, "%-16s %-10s %-12s %-6s %-7s %s\n", "NAME", "VERSION", "SHA256", "ACTIVE", "SOURCE", "DEVICE TYPES")
		for _, in := range list {
			act := ""
			if in.Active {
				act = "*"
			}
			fmt.Fprintf(w, "%-16s %-10s %-12s %-6s %-7s %s\n", in.Name, in.Version, in.SHA256[:12], act, in.Source, strings.Join(in.DeviceTypes, ","))
		}
	}
	for _, r := range reg.Refused() {
		fmt.Fprintf(w, "refused: %s: %s\n", r.Path, r.Reason)
	}
	return nil
}

// resolveSHA accepts a full SHA-256 or a unique prefix of a known version.
func resolveSHA(reg *registry.Registry, name, prefix string) (string, error) {
	prefix = strings.ToLower(prefix)
	var found []string
	for _, in := range reg.List() {
		if in.Name == name && strings.HasPrefix(in.SHA256, prefix) {
			found = append(found, in.SHA256)
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("driver %s has no version with sha256 %s (see: lava-server driver list)", name, prefix)
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("sha256 prefix %s matches %d versions of driver %s: give more digits", prefix, len(found), name)
}

// deviceTypeSettings applies --set/--unset to a device type's overrides,
// checked against the active driver's declared settings, and prints the
// settings a job gets (before the device dictionary) with their source.
func deviceTypeSettings(ctx context.Context, st store.Store, reg *registry.Registry, name string, sets, unsets []string, stdout, stderr io.Writer) error {
	var specs []sdk.SettingSpec
	var drvLabel string
	lookup := name
	if dt, err := st.DeviceType(ctx, name); err == nil {
		lookup = lavatemplate.DriverName(name, dt.Driver) // issue 16: the type's driver
	}
	if _, in, err := reg.ForDeviceType(lookup); err == nil {
		specs = in.Description.Settings
		drvLabel = fmt.Sprintf("%s %s (sha256 %s)", in.Name, in.Version, in.SHA256[:12])
	} else if len(sets) > 0 {
		fmt.Fprintf(stderr, "warning: %v: the settings are not checked\n", err)
	}
	changes := map[string]any{}
	for _, kv := range sets {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return usagef("--set %q: want key=value", kv)
		}
		val, err := parseSettingValue(specs, k, v)
		if err != nil {
			return usagef("--set %s: %v", k, err)
		}
		changes[k] = val
	}
	if specs != nil {
		if err := api.CheckSettings(specs, changes); err != nil {
			return fmt.Errorf("device type %q: %w", name, err)
		}
	}
	var overrides map[string]any
	if len(sets)+len(unsets) > 0 {
		got, err := st.UpdateDeviceType(ctx, name, func(t *model.DeviceType) error {
			m := make(map[string]any, len(t.Settings)+len(changes))
			for k, v := range t.Settings {
				m[k] = v
			}
			for k, v := range changes {
				m[k] = v
			}
			for _, k := range unsets {
				delete(m, k)
			}
			t.Settings = m
			return nil
		})
		if err != nil {
			return deviceTypeErr(err, name)
		}
		overrides = got.Settings
		fmt.Fprintf(stderr, "device type %q: %d setting(s) set, %d removed; jobs scheduled from now on get them\n", name, len(sets), len(unsets))
	} else {
		got, err := st.DeviceType(ctx, name)
		if err != nil {
			return deviceTypeErr(err, name)
		}
		overrides = got.Settings
	}
	if drvLabel != "" {
		fmt.Fprintf(stdout, "# device type %s, driver %s\n", name, drvLabel)
	} else {
		fmt.Fprintf(stdout, "# device type %s, no active driver: overrides only\n", name)
	}
	for _, e := range api.EffectiveSettings(specs, overrides) {
		fmt.Fprintf(stdout, "%s: %s  # %s\n", e.Key, settingText(e.Value), e.Source)
	}
	return nil
}

func deviceTypeErr(err error, name string) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("device type %q does not exist; create it with: lava-server device-type add %s", name, name)
	}
	return err
}

// parseSettingValue reads a --set value as the declared type of the key
// (JSON for lists and maps); an undeclared key is a string unless it reads
// as JSON.
func parseSettingValue(specs []sdk.SettingSpec, key, v string) (any, error) {
	typ := ""
	for _, s := range specs {
		if s.Key == key {
			typ = s.Type
		}
	}
	switch typ {
	case sdk.SettingString:
		return v, nil
	case sdk.SettingInt, sdk.SettingBool, sdk.SettingList, sdk.SettingMap:
		var out any
		if err := yaml.Unmarshal([]byte(v), &out); err != nil {
			return nil, fmt.Errorf("%q is not a %s: %v", v, typ, err)
		}
		return jsonish(out), nil
	}
	var out any
	if err := yaml.Unmarshal([]byte(v), &out); err == nil && out != nil {
		if _, isStr := out.(string); !isStr {
			return jsonish(out), nil
		}
	}
	return v, nil
}

// jsonish turns YAML-decoded values into what JSON decoding gives
// (float64 numbers, map[string]any), the form the store keeps.
func jsonish(v any) any {
	switch x := v.(type) {
	case int:
		return float64(x)
	case []any:
		for i := range x {
			x[i] = jsonish(x[i])
		}
		return x
	case map[string]any:
		for k := range x {
			x[k] = jsonish(x[k])
		}
		return x
	}
	return v
}

func settingText(v any) string {
	if s, ok := v.(string); ok {
		if s == "" {
			return "''"
		}
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// serveDrivers opens the server's registry: the drivers in the store, the
// watched drivers directory (default DATA-DIR/drivers, seeded on first
// start) and the admin's native drivers.
func serveDrivers(ctx context.Context, st store.Store, dataDir string, f driverFlags, log *slog.Logger) (*driverset.Set, error) {
	dir := *f.dir
	if dir == "" {
		dir = filepath.Join(dataDir, "drivers")
		if err := seedDriversDir(dir, shippedDrivers(), log); err != nil {
			return nil, err
		}
	} else if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("creating the drivers directory: %w", err)
	}
	set, err := driverset.Open(ctx, st, driverset.Options{DataDir: dataDir, DriversDir: dir, NativeFile: *f.native, CacheDir: *f.cache, Logger: log})
	if err != nil {
		return nil, err
	}
	// Pruned at start (every stored version is loaded, so kept) and daily.
	go set.Host.KeepPruned(ctx, wasm.CacheLimits{MaxBytes: int64(*f.cacheMax), MaxAge: *f.cacheAge}, 0)
	log.Info("driver registry ready", "drivers_dir", dir, "active", set.Active(), "refused", len(set.Registry.Refused()))
	return set, nil
}
