package worker

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/lavalab/lavalab/core/drivers"
	"github.com/lavalab/lavalab/core/workerproto"
	"github.com/lavalab/lavalab/plugins/native"
	"github.com/lavalab/lavalab/plugins/registry"
)

// Native drivers are trusted executables, so the server never sends one:
// the worker's admin installs the binary on the worker and lists it, pinned
// by SHA-256, in the file given to --native-drivers (the server's format).
// A job pinned to a native driver runs the listed binary with exactly that
// SHA-256 (go-plugin checks it again at every process start). The list is
// read at start (a list that does not parse stops the worker, a binary that
// is missing or does not match its pin is logged) and again whenever a job
// needs a driver not loaded yet, so a binary installed later is used by the
// next job without a restart. Like the WASM drivers, a native driver starts
// with the first job that needs it.
type nativeList struct {
	file string
	log  *slog.Logger
	mu   sync.Mutex // one load at a time: two jobs never start two processes of one driver
}

// read reads the list (none without --native-drivers).
func (n *nativeList) read() ([]registry.NativeSpec, error) {
	if n.file == "" {
		return nil, nil
	}
	specs, err := registry.ReadNativeList(n.file)
	if err != nil {
		return nil, fmt.Errorf("--native-drivers: %w", err)
	}
	return specs, nil
}

// check reads the list at start and logs each binary that is missing or
// does not match its pin.
func (n *nativeList) check() error {
	specs, err := n.read()
	if err != nil {
		return err
	}
	for _, s := range specs {
		got, err := native.FileSHA256(s.Path)
		switch {
		case err != nil:
			n.log.Error("native driver: binary not readable", "path", s.Path, "err", err)
		case !strings.EqualFold(got, s.SHA256):
			n.log.Error("native driver: the binary's SHA-256 is not its pin: jobs pinned to it will fail", "path", s.Path, "sha256", got, "pin", s.SHA256)
		default:
			n.log.Info("native driver listed", "path", s.Path, "sha256", got)
		}
	}
	return nil
}

// load loads the listed binary with the job's pinned SHA-256. It reports
// false, with no error, when the list has none and the server did not say
// the driver is native (the caller then fetches a WASM module).
func (n *nativeList) load(ctx context.Context, reg *registry.Registry, job workerproto.StartJob) (bool, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	sha := strings.ToLower(job.DriverSHA256)
	if _, ok := reg.Lookup(sha); ok {
		return true, nil
	}
	isNative := job.Driver != nil && job.Driver.Kind == drivers.KindNative
	specs, err := n.read()
	if err != nil {
		if !isNative {
			n.log.Warn("native driver list not readable", "err", err)
			return false, nil
		}
		return false, fmt.Errorf("%s: %w", driverLabel(job), err)
	}
	for _, s := range specs {
		if strings.EqualFold(s.SHA256, sha) {
			if _, err := reg.AddNative(ctx, registry.NativeSpec{Path: s.Path, SHA256: sha}); err != nil {
				return true, fmt.Errorf("%s: the binary %s listed in %s did not start: %w", driverLabel(job), s.Path, n.file, err)
			}
			n.log.Info("native driver loaded", "path", s.Path, "sha256", sha)
			return true, nil
		}
	}
	if !isNative {
		return false, nil
	}
	fix := fmt.Sprintf("add {path: /absolute/path/of/the/binary, sha256: %s} to %s", sha, n.file)
	if n.file == "" {
		fix = fmt.Sprintf("list it in a YAML file, [{path: /absolute/path/of/the/binary, sha256: %s}], and restart lava-worker with --native-drivers FILE", sha)
	}
	return false, fmt.Errorf("%s is a native driver, and this worker has no binary with that SHA-256 (the server does not send native drivers): "+
		"the worker's admin must install the same build the server lists (lava-server driver list) on this worker and %s", driverLabel(job), fix)
}

// loadAll loads every listed binary not loaded yet (a job with no pin
// whose device type no loaded driver serves). Failures are logged.
func (n *nativeList) loadAll(ctx context.Context, reg *registry.Registry) {
	n.mu.Lock()
	defer n.mu.Unlock()
	specs, err := n.read()
	if err != nil {
		n.log.Error("native driver list not readable", "err", err)
		return
	}
	for _, s := range specs {
		if _, ok := reg.Lookup(strings.ToLower(s.SHA256)); ok {
			continue
		}
		if _, err := reg.AddNative(ctx, s); err != nil {
			n.log.Error("native driver refused", "path", s.Path, "err", err)
		}
	}
}

// driverLabel names a job's pinned driver: "driver NAME VERSION (sha256
// SHA) for device type TYPE".
func driverLabel(job workerproto.StartJob) string {
	name := "driver"
	if job.Driver != nil {
		name = fmt.Sprintf("driver %s %s", job.Driver.Name, job.Driver.Version)
	}
	return fmt.Sprintf("%s (sha256 %s) for device type %s", name, job.DriverSHA256, job.DeviceType)
}

// logLines writes a native driver process's stderr to the worker's log,
// one record a line.
type logLines struct {
	log *slog.Logger
	mu  sync.Mutex
	buf []byte
}

func (w *logLines) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		line := string(w.buf[:i])
		lvl := slog.LevelInfo
		if strings.HasPrefix(line, `{"@level":"debug"`) { // go-plugin's own handshake lines
			lvl = slog.LevelDebug
		}
		w.log.Log(context.Background(), lvl, "native driver stderr", "line", line)
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) > 4096 { // a long line without end: log it in pieces
		w.log.Info("native driver stderr", "line", string(w.buf))
		w.buf = nil
	}
	return len(p), nil
}
