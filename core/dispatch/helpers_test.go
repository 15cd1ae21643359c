package dispatch

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/testenv"
	"github.com/lavalab/lavalab/plugins"
	"github.com/lavalab/lavalab/plugins/wasm"
)

var localDriver struct {
	once sync.Once
	host *wasm.Host
	drv  plugins.Driver
	err  error
}

// loadLocal loads the `local` device type's driver: bin/drivers/local.wasm
// (`make drivers`), else built from devicetypes/local for the test.
func loadLocal(t testing.TB) plugins.Driver {
	t.Helper()
	localDriver.once.Do(func() {
		root := testenv.RepoRoot(t)
		path := filepath.Join(root, "bin", "drivers", "local.wasm")
		if _, err := os.Stat(path); err != nil {
			dir, err := os.MkdirTemp("", "dispatch-driver-")
			if err != nil {
				localDriver.err = err
				return
			}
			path = filepath.Join(dir, "local.wasm")
			cmd := exec.Command("go", "build", "-o", path, "./devicetypes/local")
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
			if out, err := cmd.CombinedOutput(); err != nil {
				localDriver.err = &buildError{out: string(out), err: err}
				return
			}
		}
		b, err := os.ReadFile(path)
		if err != nil {
			localDriver.err = err
			return
		}
		ctx := context.Background()
		// A generous call timeout: tests run on loaded machines, and
		// the driver's own limits are tested in plugins/wasm.
		if localDriver.host, localDriver.err = wasm.NewHost(ctx, wasm.Options{Timeout: 2 * time.Minute}); localDriver.err != nil {
			return
		}
		localDriver.drv, localDriver.err = localDriver.host.Load(ctx, "local.wasm", b)
	})
	if localDriver.err != nil {
		t.Fatalf("local driver: %v", localDriver.err)
	}
	return localDriver.drv
}

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string { return e.err.Error() + ": " + e.out }

func newDispatcher(t testing.TB) *Dispatcher {
	t.Helper()
	work := t.TempDir()
	d, err := New(context.Background(), Options{WorkDir: work, TFTPHost: "127.0.0.1", TFTPAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler)})
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
