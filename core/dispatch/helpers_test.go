package dispatch

import (
	"context"
	"github.com/lavalab/lavalab/core/hosttools"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/drivers"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/testenv"
	"github.com/lavalab/lavalab/plugins/wasm"
)

var testDrivers struct {
	mu   sync.Mutex
	host *wasm.Host
	drvs map[string]drivers.Driver
}

// loadDriver loads a device type's driver: bin/drivers/NAME.wasm (`make
// drivers`), else built from devicetypes/NAME for the test.
func loadDriver(t testing.TB, name string) drivers.Driver {
	t.Helper()
	testDrivers.mu.Lock()
	defer testDrivers.mu.Unlock()
	if d, ok := testDrivers.drvs[name]; ok {
		return d
	}
	root := testenv.RepoRoot(t)
	path := filepath.Join(root, "bin", "drivers", name+".wasm")
	if _, err := os.Stat(path); err != nil {
		path = filepath.Join(t.TempDir(), name+".wasm")
		cmd := exec.Command(testenv.NeedTool(t, "go"), "build", "-o", path, "./devicetypes/"+name)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("building the %s driver: %v\n%s", name, err, out)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if testDrivers.host == nil {
		if testDrivers.host, err = wasm.NewHost(ctx, wasm.Options{Timeout: 2 * time.Minute}); err != nil {
			t.Fatal(err)
		}
		testDrivers.drvs = map[string]drivers.Driver{}
	}
	d, err := testDrivers.host.Load(ctx, name+".wasm", b)
	if err != nil {
		t.Fatalf("loading the %s driver: %v", name, err)
	}
	testDrivers.drvs[name] = d
	return d
}

// loadLocal loads the `local` device type's driver (loadDriver).
func loadLocal(t testing.TB) drivers.Driver {
	t.Helper()
	return loadDriver(t, "local")
}

// testTools is the tests' allow list: the local device type's shells.
func testTools(t testing.TB, extra ...hosttools.Rule) *hosttools.Policy {
	t.Helper()
	p, err := hosttools.New(append([]hosttools.Rule{
		{Name: "sh", DeviceTypes: []string{"local"}},
		{Name: "cat", DeviceTypes: []string{"local"}},
	}, extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func newDispatcher(t testing.TB) *Dispatcher {
	t.Helper()
	return newDispatcherTools(t, testTools(t))
}

func newDispatcherTools(t testing.TB, tools *hosttools.Policy) *Dispatcher {
	t.Helper()
	work := t.TempDir()
	d, err := New(context.Background(), Options{WorkDir: work, TFTPHost: "127.0.0.1", TFTPAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", FileURLDirs: []string{os.TempDir()}, Logger: slog.New(slog.DiscardHandler), Tools: tools})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// localDict is a dictionary of the local device type whose overlay lands in
// a temporary folder; extra is appended under settings.
func localDict(t testing.TB, extra string) []byte {
	t.Helper()
	dir := t.TempDir()
	return []byte("extends: local\nsettings:\n  lava_test_results_dir: " + filepath.Join(dir, "lava-%s") + "\n" + extra)
}

// recorder is a Sink that keeps every record; hook, when set, sees each.
type recorder struct {
	mu   sync.Mutex
	recs []model.LogRecord
	hook func(model.LogRecord)
	// misordered counts records whose Index is not the next one.
	misordered int
}

func (r *recorder) Record(rec model.LogRecord) {
	r.mu.Lock()
	if rec.Index != int64(len(r.recs)) {
		r.misordered++
	}
	r.recs = append(r.recs, rec)
	r.mu.Unlock()
	if r.hook != nil {
		r.hook(rec)
	}
}

func (r *recorder) text() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, rec := range r.recs {
		b.WriteString(rec.Level + " " + rec.Message + "\n")
	}
	return b.String()
}

func (r *recorder) has(level, substr string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rec := range r.recs {
		if (level == "" || rec.Level == level) && strings.Contains(rec.Message, substr) {
			return true
		}
	}
	return false
}

// caseResult finds suite/name among the cases.
func caseResult(cases []model.TestCase, suite, name string) (model.TestCase, bool) {
	for _, c := range cases {
		if c.Suite == suite && c.Name == name {
			return c, true
		}
	}
	return model.TestCase{}, false
}
