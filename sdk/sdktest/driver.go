package sdktest

import (
	"context"
	"fmt"
	"github.com/lavalab/lavalab/core/hosttools"
	"github.com/lavalab/lavalab/core/sandbox"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/drivers"
	"github.com/lavalab/lavalab/plugins/wasm"
	"github.com/lavalab/lavalab/sdk"
)

// host is the test binary's one wazero host, started on first use: as a
// worker has one for all its drivers.
var host struct {
	once sync.Once
	h    *wasm.Host
	err  error
}

// CacheEnv names the environment variable that sets the kit's
// compilation cache directory; "off" compiles in memory only.
const CacheEnv = "LAVALAB_SDKTEST_CACHE"

// MaxCacheBytes bounds the compilation cache: when a test binary starts
// and finds more, it removes the oldest files (a Go driver's compiled code
// is about 18 MB, and every rebuilt driver adds its own).
const MaxCacheBytes = 1 << 30

// sharedHost starts the host a worker starts (cmd/lava-worker): the
// default limits (memory, deadline, answer and diagnostics caps), no
// prewarmed instances, and an on-disk compilation cache, here under the
// user's cache directory (lavalab/sdktest, or $LAVALAB_SDKTEST_CACHE) so
// that a test run compiles a driver only when its bytes changed.
func sharedHost() (*wasm.Host, error) {
	host.once.Do(func() {
		cache := os.Getenv(CacheEnv)
		if cache == "" {
			if dir, err := os.UserCacheDir(); err == nil {
				cache = filepath.Join(dir, "lavalab", "sdktest")
			}
		}
		if cache == "off" {
			cache = ""
		}
		if cache != "" {
			pruneCache(cache, MaxCacheBytes)
		}
		logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
		host.h, host.err = wasm.NewHost(context.Background(), wasm.Options{CacheDir: cache, Prewarm: -1, Logger: logger})
		if host.err != nil && cache != "" {
			// An unusable cache directory: compile in memory instead.
			host.h, host.err = wasm.NewHost(context.Background(), wasm.Options{Prewarm: -1, Logger: logger})
		}
	})
	return host.h, host.err
}

// Driver is a WASM driver loaded through the lab's wazero host
// (plugins/wasm) exactly as a worker loads it: compiled, described, its
// describe answer checked (an ABI version the host speaks, a name, a
// version, a device type) and its plans requested in the ABI version the
// host and the driver negotiated.
type Driver struct {
	m *wasm.Module
	// tools is the allow list the sandbox check uses (AllowTools).
	tools []hosttools.Rule
}

// AllowTools allows host tools for the driver's plans, as a worker's admin
// does with lava-worker --allow-tool (hosttools.ParseFlag's NAME or
// NAME@TARGET[,TARGET...]). Nothing is allowed unless a test says so, as on
// a worker: a plan that needs a tool the test did not allow fails as the
// worker would refuse it.
func (d *Driver) AllowTools(t testing.TB, flags ...string) *Driver {
	t.Helper()
	for _, f := range flags {
		r, err := hosttools.ParseFlag(f)
		if err != nil {
			t.Fatalf("sdktest: %v", err)
		}
		// The kit records tool steps and never runs them: the tool need
		// not be installed where the test runs.
		r.Path = r.Name
		d.tools = append(d.tools, r)
	}
	return d
}

// check is the worker's sandbox check of a plan for req (core/sandbox): a step with a command line of the driver's own, a serial port
// or address of its own, or a tool not allowed fails here as the worker
// would refuse it. The admin's layers are the request's settings less the
// driver's defaults, as a worker has them (core/sandbox).
func (d *Driver) check(req sdk.PlanRequest, plan sdk.Plan) error {
	tools, err := hosttools.New(d.tools...)
	if err != nil {
		return err
	}
	sb := sandbox.Sandbox{Driver: d.m, Admin: sandbox.AdminLayers(d.Describe(), req.Settings, nil),
		Device: req.Device.Hostname, DeviceType: req.Device.DeviceType, Tools: tools}
	return sb.Check(plan)
}

// Load loads a WASM driver (the bytes Build returns, or a .wasm file's).
// A driver the host refuses fails the test with the host's reason. The
// driver is closed when the test ends.
func Load(t testing.TB, module []byte) *Driver {
	t.Helper()
	h, err := sharedHost()
	if err != nil {
		t.Fatalf("sdktest: starting the wasm host: %v", err)
	}
	m, err := h.Load(t.Context(), "driver.wasm", module)
	if err != nil {
		t.Fatalf("sdktest: the host refuses the driver: %v", err)
	}
	t.Cleanup(func() { _ = m.Close(context.Background()) })
	return &Driver{m: m}
}

// BuildAndLoad is Build followed by Load.
func BuildAndLoad(t testing.TB, pkgDir string) *Driver {
	t.Helper()
	return Load(t, Build(t, pkgDir))
}

// Describe returns the driver's describe answer, as the host checked it.
func (d *Driver) Describe() sdk.Description { return d.m.Describe() }

// ABIVersion returns the ABI version the host uses with the driver: the
// highest version both speak.
func (d *Driver) ABIVersion() int { return drivers.ABIOf(d.m.Describe()) }

// SHA256 returns the hex SHA-256 of the module, the driver's id in a lab.
func (d *Driver) SHA256() string { return d.m.SHA256() }

// TryPlan asks the driver for the plan of req as a worker does. A driver
// that answers an error of its own gives an error that wraps the
// *sdk.Error (errors.As finds it, with its Type); any other fault (a
// panic, a trap, a timeout, a malformed or invalid plan) is a
// *drivers.Error naming the driver and the fault. The driver's
// diagnostics (stderr) are added to the error's message.
func (d *Driver) TryPlan(req sdk.PlanRequest) (sdk.Plan, error) {
	return d.tryPlan(context.Background(), req)
}

func (d *Driver) tryPlan(ctx context.Context, req sdk.PlanRequest) (sdk.Plan, error) {
	plan, stderr, err := d.m.Plan(ctx, req)
	if err != nil && len(stderr) > 0 {
		err = fmt.Errorf("%w\ndriver diagnostics (stderr):\n%s", err, stderr)
	}
	return plan, err
}

// Plan is TryPlan that fails the test on an error.
func (d *Driver) Plan(t testing.TB, req sdk.PlanRequest) sdk.Plan {
	t.Helper()
	plan, err := d.TryPlan(req)
	if err != nil {
		t.Fatalf("sdktest: plan of the %s action: %v", actionName(req.Action), err)
	}
	return plan
}

// Job is the job and the device a test plans for: what the server and
// the worker put in a plan request around the action.
type Job struct {
	// ID is the job id; default "1".
	ID string
	// Hostname and DeviceType name the device; defaults: the driver's
	// first device type, and that name with "-01".
	Hostname, DeviceType string
	// DeviceTypeSettings are the lab admin's settings for the device type.
	DeviceTypeSettings sdk.Values
	// Dictionary is the device dictionary's settings.
	Dictionary sdk.Values
	// Context is the job's `context:`.
	Context sdk.Values
	// Worker is what the worker offers: server_ip (default 192.0.2.1),
	// HTTP base URL and the deployed artifacts by role.
	Worker sdk.WorkerFacts
}

// Request builds the plan request a worker sends for one action of job:
// the settings are merged as the lab merges them, the driver's defaults
// (its describe's settings) under the device type's settings under the
// device dictionary.
func (d *Driver) Request(job Job, action sdk.Action) sdk.PlanRequest {
	desc := d.Describe()
	if job.ID == "" {
		job.ID = "1"
	}
	if job.DeviceType == "" {
		job.DeviceType = desc.DeviceTypes[0]
	}
	if job.Hostname == "" {
		job.Hostname = job.DeviceType + "-01"
	}
	if job.Worker.ServerIP == "" {
		job.Worker.ServerIP = "192.0.2.1"
	}
	settings := sdk.Values(sdk.SettingDefaults(desc.Settings))
	if settings == nil {
		settings = sdk.Values{}
	}
	maps.Copy(settings, job.DeviceTypeSettings)
	maps.Copy(settings, job.Dictionary)
	return sdk.PlanRequest{
		JobID: job.ID, Action: action, Context: job.Context, Settings: settings,
		Device: sdk.DeviceFacts{Hostname: job.Hostname, DeviceType: job.DeviceType},
		Worker: job.Worker,
	}
}

// Deploy is a deploy action (`to` and its parameters).
func Deploy(to string, params sdk.Values) sdk.Action {
	return sdk.Action{Kind: sdk.ActionDeploy, Method: to, Params: params}
}

// Boot is a boot action (`method` and its parameters: commands, prompts,
// auto_login, ...).
func Boot(method string, params sdk.Values) sdk.Action {
	return sdk.Action{Kind: sdk.ActionBoot, Method: method, Params: params}
}

// Test is a test action.
func Test(params sdk.Values) sdk.Action {
	return sdk.Action{Kind: sdk.ActionTest, Params: params}
}

// Command is a command action running the device's user command name.
func Command(name string) sdk.Action {
	return sdk.Action{Kind: sdk.ActionCommand, Method: name, Params: sdk.Values{"name": name}}
}

func actionName(a sdk.Action) string {
	if a.Method == "" {
		return a.Kind
	}
	return a.Kind + " " + a.Method
}

// pruneCache removes the oldest files of dir (by modification time) while
// the files add up to more than limit bytes, down to half of it. Errors
// are ignored: a cache that cannot be pruned still works.
func pruneCache(dir string, limit int64) {
	type file struct {
		path string
		size int64
		mod  time.Time
	}
	var files []file
	var total int64
	_ = filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return nil
		}
		if info, err := e.Info(); err == nil {
			files = append(files, file{p, info.Size(), info.ModTime()})
			total += info.Size()
		}
		return nil
	})
	if total <= limit {
		return
	}
	slices.SortFunc(files, func(a, b file) int { return a.mod.Compare(b.mod) })
	for _, f := range files {
		if total <= limit/2 {
			break
		}
		if os.Remove(f.path) == nil {
			total -= f.size
		}
	}
}
