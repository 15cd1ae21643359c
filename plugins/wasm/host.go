package wasm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"

	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"

	"github.com/lavalab/lavalab/core/drivers"
	"github.com/lavalab/lavalab/plugins"
	"github.com/lavalab/lavalab/plugins/wasm/internal/rewrite"
	"github.com/lavalab/lavalab/sdk"
)

// Defaults of Options.
const (
	DefaultMemoryLimitMiB = 64
	DefaultTimeout        = 2 * time.Second
	DefaultMaxAnswerBytes = 8 << 20
	DefaultMaxStderrBytes = 64 << 10
)

// Options configure a Host. Zero values mean the defaults.
type Options struct {
	// CacheDir holds the compilation cache; "" keeps compiled code in
	// memory only (every process start compiles again).
	CacheDir string
	// MemoryLimitMiB caps each instance's linear memory (default 64 MiB).
	MemoryLimitMiB int
	// Timeout bounds each call (default 2 s). A shorter deadline on the
	// caller's context wins.
	Timeout time.Duration
	// MaxAnswerBytes caps what a driver may write on stdout (default 8 MiB).
	MaxAnswerBytes int
	// MaxStderrBytes caps the diagnostics kept per call (default 64 KiB);
	// the rest is counted and dropped.
	MaxStderrBytes int
	// Prewarm is how many fresh instances of each module are kept started
	// and waiting for a request (default 1; negative: none). Each instance
	// still serves exactly one call; prewarming takes the module's
	// instantiation and the driver's runtime start-up (milliseconds for a Go
	// driver) off the call's latency.
	Prewarm int
	// Release drops a module's compiled code (tens of MB of machine code
	// for a Go driver) when no call uses it, keeping only its bytes and its
	// description; a later call compiles it again, from the compilation
	// cache when there is one (about 0.1 s). For a process that describes
	// drivers but rarely calls them (lava-server). It implies no prewarming.
	Release bool
	// Source, with Release, gives a module's bytes back by SHA-256 when it
	// is compiled again (a module store), so the host need not keep them
	// (a Go driver is a few MB). Nil: the host keeps them.
	Source func(ctx context.Context, sha256 string) ([]byte, error)
	// Logger gets the host's own log lines (default slog.Default()).
	Logger *slog.Logger
}

func (o *Options) defaults() {
	if o.MemoryLimitMiB <= 0 {
		o.MemoryLimitMiB = DefaultMemoryLimitMiB
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxAnswerBytes <= 0 {
		o.MaxAnswerBytes = DefaultMaxAnswerBytes
	}
	if o.MaxStderrBytes <= 0 {
		o.MaxStderrBytes = DefaultMaxStderrBytes
	}
	if o.Prewarm == 0 {
		o.Prewarm = 1
	}
	if o.Release {
		o.Prewarm = -1
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Host runs WASM drivers. It is safe for concurrent use; one Host serves a
// whole process.
//
// A call's deadline is kept by the stop check the rewrite package puts at
// every loop head of the module: every rewrite.Fuel iterations the module
// calls sched_yield, and the instance's yield (instance.go) ends a call past
// its deadline. A module the rewrite refuses runs instead in a second
// runtime with wazero's own check (WithCloseOnContextDone), which stops it
// the same way at about four times the cost of every call.
type Host struct {
	opts  Options
	rt    wazero.Runtime // stop-checked modules
	cache wazero.CompilationCache

	// guarded runs modules the rewrite refused, with wazero's check;
	// started on first need. It shares the compilation cache: wazero's
	// cache key covers whether the check was compiled in.
	gmu     sync.Mutex
	guarded wazero.Runtime

	// attrMu is held by a compile whose compiled files are not known yet
	// (cache.go: noteUse), so the files it writes are told apart from
	// another's, and by PruneCache.
	attrMu sync.Mutex

	mu      sync.Mutex
	modules map[*Module]struct{}
	// busy counts the compiles and loads in progress by SHA-256: their
	// cache files are not pruned (cache.go).
	busy map[string]int
	// pre holds modules Precompile compiled, by SHA-256, until Load takes
	// them.
	pre map[string]compiled
}

// compiled is a module's compiled code and the runtime that runs it: the
// host's own runtime for a stop-checked module, the guarded one otherwise.
type compiled struct {
	code wazero.CompiledModule
	rt   wazero.Runtime
}

// NewHost starts a wazero runtime with the options' limits and WASI preview1.
func NewHost(ctx context.Context, opts Options) (*Host, error) {
	opts.defaults()
	pages := uint32(opts.MemoryLimitMiB) * 16 // 64 KiB pages
	if pages > 65536 {
		return nil, fmt.Errorf("wasm host: memory limit %d MiB is over the 4 GiB of wasm32", opts.MemoryLimitMiB)
	}
	var cache wazero.CompilationCache
	if opts.CacheDir != "" {
		if err := os.MkdirAll(opts.CacheDir, 0o755); err != nil {
			return nil, fmt.Errorf("wasm host: compilation cache: %w", err)
		}
		c, err := wazero.NewCompilationCacheWithDir(opts.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("wasm host: compilation cache %s: %w", opts.CacheDir, err)
		}
		cache = c
	}
	rt, err := newRuntime(ctx, pages, cache, false)
	if err != nil {
		if cache != nil {
			_ = cache.Close(ctx)
		}
		return nil, err
	}
	return &Host{opts: opts, rt: rt, cache: cache, modules: map[*Module]struct{}{}}, nil
}

// newRuntime starts a wazero runtime with WASI preview1, the memory cap and
// the compilation cache (nil for none); guarded compiles wazero's
// termination check in.
func newRuntime(ctx context.Context, pages uint32, cache wazero.CompilationCache, guarded bool) (wazero.Runtime, error) {
	cfg := wazero.NewRuntimeConfig().
		WithMemoryLimitPages(pages).
		WithCloseOnContextDone(guarded)
	if cache != nil {
		cfg = cfg.WithCompilationCache(cache)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		_ = rt.Close(ctx)
		return nil, fmt.Errorf("wasm host: WASI: %w", err)
	}
	return rt, nil
}

// guardedRuntime returns the runtime with wazero's termination check,
// starting it on first use.
func (h *Host) guardedRuntime(ctx context.Context) (wazero.Runtime, error) {
	h.gmu.Lock()
	defer h.gmu.Unlock()
	if h.guarded == nil {
		rt, err := newRuntime(ctx, uint32(h.opts.MemoryLimitMiB)*16, h.cache, true)
		if err != nil {
			return nil, err
		}
		h.guarded = rt
	}
	return h.guarded, nil
}

// compile compiles a module with the stop check, or, when the rewrite
// refuses it, as it is in the guarded runtime (whose compiler then reports
// what is wrong with a module that is not valid). sha is the module's.
func (h *Host) compile(ctx context.Context, label, sha string, wasm []byte) (c compiled, err error) {
	if h.opts.CacheDir != "" {
		h.markBusy(sha, 1)
		defer h.markBusy(sha, -1)
		// A version whose compiled files are not noted yet compiles alone,
		// so the files that appear are its own.
		var before map[string]time.Time
		if !h.hasUseNote(sha) {
			h.attrMu.Lock()
			defer h.attrMu.Unlock()
			before = h.compiledFiles(time.Time{})
		}
		defer func() {
			if err == nil {
				h.noteUse(sha, before)
			}
		}()
	}
	return h.compileModule(ctx, label, sha, wasm)
}

func (h *Host) compileModule(ctx context.Context, label, sha string, wasm []byte) (compiled, error) {
	// Before the runtime decodes it: a module whose counts claim more
	// than it holds would make the decoder allocate gigabytes.
	if err := rewrite.Check(wasm); err != nil {
		return compiled{}, fmt.Errorf("refused before compiling: %w", err)
	}
	code, why := h.compileChecked(ctx, sha, wasm)
	if why == nil {
		return compiled{code: code, rt: h.rt}, nil
	}
	rt, err := h.guardedRuntime(ctx)
	if err != nil {
		return compiled{}, err
	}
	if code, err = rt.CompileModule(ctx, wasm); err != nil {
		return compiled{}, err
	}
	h.opts.Logger.Info("wasm driver runs with wazero's termination check (slower calls)", "driver", label, "reason", why.Error())
	return compiled{code: code, rt: rt}, nil
}

// compileChecked compiles the module's rewrite in the host's runtime, or
// says why it cannot. A cached rewrite that does not compile (a damaged
// file) is made again once.
func (h *Host) compileChecked(ctx context.Context, sha string, wasm []byte) (wazero.CompiledModule, error) {
	for attempt := 0; ; attempt++ {
		checked, cached, err := h.rewritten(sha, wasm)
		if err != nil {
			return nil, err
		}
		code, err := h.rt.CompileModule(ctx, checked)
		if err == nil {
			return code, nil
		}
		h.dropRewritten(sha)
		if !cached || attempt > 0 {
			return nil, fmt.Errorf("the rewritten module does not compile: %w", err)
		}
	}
}

// descriptionPath is where the describe answer of module sha is kept,
// per ABI version ("" without a cache directory).
func (h *Host) descriptionPath(sha string) string {
	if h.opts.CacheDir == "" {
		return ""
	}
	return filepath.Join(h.opts.CacheDir, "described", fmt.Sprintf("%s.abi%d.json", sha, sdk.ABIVersion))
}

// cachedDescription returns the describe answer module sha gave before, if
// the cache directory has it and it still passes the host's checks. A
// driver's description depends on its bytes only (the ABI says it must not
// depend on any input, and an instance sees no file, clock or
// environment), so loading the same module again needs no describe call:
// the call is a new instance's whole start-up, several milliseconds.
func (h *Host) cachedDescription(sha string) (sdk.Response, bool) {
	path := h.descriptionPath(sha)
	if path == "" {
		return sdk.Response{}, false
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return sdk.Response{}, false
	}
	resp, _, err := plugins.DecodeResponse(b, plugins.DescribeRequest())
	if err != nil {
		_ = os.Remove(path)
		return sdk.Response{}, false
	}
	return resp, true
}

// keepDescription keeps a checked describe answer for cachedDescription.
func (h *Host) keepDescription(sha string, resp sdk.Response) {
	path := h.descriptionPath(sha)
	if path == "" {
		return
	}
	b, err := json.Marshal(sdk.Response{ABIVersion: resp.ABIVersion, Describe: resp.Describe})
	if err == nil {
		err = writeFileAtomic(path, b)
	}
	if err != nil {
		h.opts.Logger.Warn("wasm host: keeping a driver's description", "path", path, "err", err)
	}
}

// rewrittenPath is where the rewrite of module sha is kept ("" without a
// cache directory).
func (h *Host) rewrittenPath(sha string) string {
	if h.opts.CacheDir == "" {
		return ""
	}
	return filepath.Join(h.opts.CacheDir, "rewritten", sha+".wasm")
}

// rewritten returns the module with the stop check, from the cache
// directory (cached) when it was rewritten before (the rewrite of a Go
// driver takes tens of milliseconds, reading it back one), or nil and why
// not.
func (h *Host) rewritten(sha string, wasm []byte) (checked []byte, cached bool, why error) {
	path := h.rewrittenPath(sha)
	if path != "" {
		if b, err := os.ReadFile(path); err == nil {
			return b, true, nil
		}
	}
	checked, _, err := rewrite.Instrument(wasm)
	if err != nil {
		return nil, false, err
	}
	if path != "" {
		if err := writeFileAtomic(path, checked); err != nil {
			h.opts.Logger.Warn("wasm host: keeping a rewritten module", "path", path, "err", err)
		}
	}
	return checked, false, nil
}

func (h *Host) dropRewritten(sha string) {
	if path := h.rewrittenPath(sha); path != "" {
		_ = os.Remove(path)
	}
}

// writeFileAtomic writes b to path through a temporary file and a rename,
// so a reader never sees part of it.
func writeFileAtomic(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	_, werr := f.Write(b)
	cerr := f.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(f.Name(), path)
	}
	if werr != nil {
		_ = os.Remove(f.Name())
	}
	return werr
}

// Options returns the host's options with the defaults filled in.
func (h *Host) Options() Options { return h.opts }

// Close closes every module (waiting for calls in flight), then the runtime.
func (h *Host) Close(ctx context.Context) error {
	h.mu.Lock()
	mods := make([]*Module, 0, len(h.modules))
	for m := range h.modules {
		mods = append(mods, m)
	}
	h.mu.Unlock()
	for _, m := range mods {
		_ = m.Close(ctx)
	}
	err := h.rt.Close(ctx)
	h.gmu.Lock()
	if h.guarded != nil {
		if gerr := h.guarded.Close(ctx); err == nil {
			err = gerr
		}
	}
	h.gmu.Unlock()
	if h.cache != nil {
		if cerr := h.cache.Close(ctx); err == nil {
			err = cerr
		}
	}
	return err
}

// Module is one compiled driver version. It is safe for concurrent use:
// each call runs in a fresh instance.
type Module struct {
	h *Host
	// compiled is nil while released (Options.Release): cmu guards it and
	// users, the calls using it.
	cmu      sync.Mutex
	compiled *compiled
	users    int
	wasm     []byte // kept to compile again when released
	sha      string
	desc     sdk.Description
	label    string

	mu     sync.RWMutex // held for reading by calls, for writing by Close
	closed bool

	// Prewarmed instances (see instance.go).
	pool      chan *instance
	stopping  chan struct{}
	wg        sync.WaitGroup
	refilling atomic.Int32
	noPrewarm atomic.Bool
}

var _ drivers.Driver = (*Module)(nil)

// SHA256Hex returns the hex SHA-256 of data, the id of a module.
func SHA256Hex(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// Load compiles wasm (or takes it from the compilation cache), calls describe
// and checks the answer: the ABI version, a name, a version and at least one
// device type. name is what the caller calls the module (a file name) until
// describe names it. A module that fails is closed and an *drivers.Error
// says why.
func (h *Host) Load(ctx context.Context, name string, wasm []byte) (*Module, error) {
	sha := SHA256Hex(wasm)
	h.markBusy(sha, 1)
	defer h.markBusy(sha, -1)
	m := &Module{h: h, sha: sha, label: drivers.Label(name, "", sha)}
	h.mu.Lock()
	c, ok := h.pre[sha]
	delete(h.pre, sha)
	h.mu.Unlock()
	if h.opts.Release && h.opts.Source == nil {
		m.wasm = wasm
	}
	resp, cached := h.cachedDescription(sha)
	switch {
	case cached && h.opts.Release:
		// Described before and released after use: no code is needed
		// until a call (which compiles it, from the compilation cache).
		// Compiling it here only to drop it would hold tens of MB per
		// driver after a warm start, which a cold start (describe, then
		// release) does not.
		if ok {
			_ = c.code.Close(ctx)
		}
	case ok:
		m.compiled = &c
	default:
		var err error
		if c, err = h.compile(ctx, m.label, sha, wasm); err != nil {
			return nil, &drivers.Error{Driver: m.label, Fault: drivers.FaultCompile, Err: err}
		}
		m.compiled = &c
	}
	if !cached {
		var stderr []byte
		var err error
		resp, stderr, err = m.call(ctx, plugins.DescribeRequest())
		if err != nil {
			m.cmu.Lock()
			_ = m.dropCompiled(ctx)
			m.cmu.Unlock()
			if len(stderr) > 0 {
				h.opts.Logger.Debug("driver describe diagnostics", "driver", m.label, "stderr", string(stderr))
			}
			return nil, err
		}
		h.keepDescription(sha, resp)
	}
	m.desc = *resp.Describe
	m.label = drivers.Label(m.desc.Name, m.desc.Version, sha)
	h.mu.Lock()
	h.modules[m] = struct{}{}
	h.mu.Unlock()
	if h.opts.Prewarm > 0 {
		m.pool = make(chan *instance, h.opts.Prewarm)
		m.stopping = make(chan struct{})
		for range h.opts.Prewarm {
			m.refill()
		}
	}
	return m, nil
}

// Precompile compiles modules concurrently, up to GOMAXPROCS at a time,
// for the Loads that follow: a process that loads many drivers at start
// waits for the compiles side by side rather than one after another (or
// for the compilation cache, when they are there). A module that does not
// compile is left for its Load to report.
func (h *Host) Precompile(ctx context.Context, modules [][]byte) {
	seen := map[string]bool{}
	h.mu.Lock()
	for m := range h.modules {
		seen[m.sha] = true // loaded already
	}
	h.mu.Unlock()
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for _, b := range modules {
		sha := SHA256Hex(b)
		h.mu.Lock()
		_, done := h.pre[sha]
		h.mu.Unlock()
		if done || seen[sha] {
			continue
		}
		if h.opts.Release {
			if _, cached := h.cachedDescription(sha); cached {
				continue // Load needs no code for it (see Load)
			}
		}
		seen[sha] = true
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			c, err := h.compile(ctx, drivers.Label("", "", sha), sha, b)
			if err != nil {
				return
			}
			h.mu.Lock()
			defer h.mu.Unlock()
			if h.pre == nil {
				h.pre = map[string]compiled{}
			}
			// A twin got there first (a concurrent Precompile): wazero
			// shares one compiled code per module bytes and counts its
			// users, so this reference is closed, not kept forever.
			if _, dup := h.pre[sha]; dup {
				_ = c.code.Close(ctx)
				return
			}
			h.pre[sha] = c
		})
	}
	wg.Wait()
}

// Describe returns the checked describe answer.
func (m *Module) Describe() sdk.Description { return m.desc }

// SHA256 returns the module's hex SHA-256.
func (m *Module) SHA256() string { return m.sha }

// Kind says the driver is a WASM module: untrusted, sandboxed.
func (m *Module) Kind() string { return drivers.KindWASM }

// StopChecked reports whether the module runs with the host's stop check
// (see the rewrite package) rather than wazero's slower one.
func (m *Module) StopChecked() bool {
	m.cmu.Lock()
	defer m.cmu.Unlock()
	return m.compiled != nil && m.compiled.rt == m.h.rt
}

// Label names the driver in messages.
func (m *Module) Label() string { return m.label }

// Plan asks the driver for the steps of one action. It returns the driver's
// diagnostics (bounded stderr) also on error.
func (m *Module) Plan(ctx context.Context, req sdk.PlanRequest) (sdk.Plan, []byte, error) {
	resp, stderr, err := m.call(ctx, plugins.PlanRequest(m.Describe(), req))
	if err != nil {
		return sdk.Plan{}, stderr, err
	}
	return *resp.Plan, stderr, nil
}

// Close frees the compiled module once the calls in flight are done.
func (m *Module) Close(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	m.h.mu.Lock()
	delete(m.h.modules, m)
	m.h.mu.Unlock()
	m.stopPool()
	m.cmu.Lock()
	defer m.cmu.Unlock()
	return m.dropCompiled(ctx)
}

// dropCompiled closes the compiled code, if any; cmu is held.
func (m *Module) dropCompiled(ctx context.Context) error {
	if m.compiled == nil {
		return nil
	}
	err := m.compiled.code.Close(ctx)
	m.compiled = nil
	return err
}

// acquire makes sure the compiled code is there for one more call
// (compiling it again if it was released).
func (m *Module) acquire(ctx context.Context) error {
	m.cmu.Lock()
	defer m.cmu.Unlock()
	if m.compiled == nil {
		b := m.wasm
		if b == nil {
			if m.h.opts.Source == nil {
				return errors.New("the module's compiled code was released and its bytes are gone")
			}
			var err error
			if b, err = m.h.opts.Source(ctx, m.sha); err != nil {
				return fmt.Errorf("fetching the module to compile it again: %w", err)
			}
			if SHA256Hex(b) != m.sha {
				return fmt.Errorf("fetching the module to compile it again: the bytes fetched are not module %s", m.sha)
			}
		}
		c, err := m.h.compile(ctx, m.label, m.sha, b)
		if err != nil {
			return err
		}
		m.compiled = &c
	}
	m.users++
	return nil
}

// release ends one call's use; with Options.Release the last one drops
// the compiled code.
func (m *Module) release(ctx context.Context) {
	m.cmu.Lock()
	defer m.cmu.Unlock()
	m.users--
	if m.users == 0 && m.h.opts.Release {
		_ = m.dropCompiled(ctx)
	}
}

// errAnswerTooLarge is what the driver's stdout write gets past the cap.
var errAnswerTooLarge = errors.New("answer too large")

// capWriter keeps up to max bytes and fails writes past it.
type capWriter struct {
	max  int
	buf  bytes.Buffer
	over bool
}

func (w *capWriter) Write(p []byte) (int, error) {
	if w.over || w.buf.Len()+len(p) > w.max {
		w.over = true
		return 0, errAnswerTooLarge
	}
	return w.buf.Write(p)
}

// call runs one request in a fresh instance (prewarmed if one is ready) and
// judges the answer.
func (m *Module) call(ctx context.Context, req sdk.Request) (sdk.Response, []byte, error) {
	fail := func(fault string, err error) error {
		return &drivers.Error{Driver: m.label, Fault: fault, Err: err}
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return sdk.Response{}, nil, fail(drivers.FaultClosed, nil)
	}
	in, err := json.Marshal(req)
	if err != nil {
		return sdk.Response{}, nil, fail(drivers.FaultMalformed, fmt.Errorf("encoding the request: %w", err))
	}
	if err := m.acquire(ctx); err != nil {
		return sdk.Response{}, nil, fail(drivers.FaultCompile, err)
	}
	defer m.release(context.WithoutCancel(ctx))
	inst := m.take()
	start := time.Now()
	err = inst.run(ctx, in, m.h.opts.Timeout)
	took := time.Since(start)
	// The replacement instance starts once the answer is decoded: its
	// start-up (milliseconds of compiled code that the Go runtime cannot
	// stop for a collection) does not delay this call.
	defer m.refill()
	diag := inst.stderr.Bytes()
	if inst.stdout.over {
		return sdk.Response{}, diag, fail(drivers.FaultOversized, fmt.Errorf("the driver wrote more than %d bytes on stdout", m.h.opts.MaxAnswerBytes))
	}
	if err != nil {
		fault, err := m.classify(inst, err, diag, took)
		return sdk.Response{}, diag, fail(fault, err)
	}
	resp, fault, err := plugins.DecodeResponse(inst.stdout.buf.Bytes(), req)
	if err != nil {
		return resp, diag, fail(fault, err)
	}
	return resp, diag, nil
}

// classify turns an instantiation error into a fault and a detail.
func (m *Module) classify(inst *instance, err error, stderr []byte, took time.Duration) (string, error) {
	summary := plugins.StderrSummary(stderr)
	with := func(e error) error {
		if summary != "" {
			return fmt.Errorf("%w (stderr: %s)", e, summary)
		}
		return e
	}
	// A stop-checked module stopped at its deadline ends with its yield's
	// panic, a guarded one with wazero's exit code: the flags say why.
	switch {
	case inst.timedOut.Load():
		return drivers.FaultTimeout, fmt.Errorf("no answer within %s, stopped", took.Round(time.Millisecond))
	case inst.canceled.Load():
		return drivers.FaultCanceled, fmt.Errorf("call canceled after %s: %w", took.Round(time.Millisecond), context.Canceled)
	}
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		switch code := exit.ExitCode(); {
		case code == sys.ExitCodeContextCanceled || code == sys.ExitCodeDeadlineExceeded:
			return drivers.FaultCanceled, fmt.Errorf("call canceled after %s: %w", took.Round(time.Millisecond), context.Canceled)
		default:
			switch {
			case strings.Contains(string(stderr), "out of memory"):
				return drivers.FaultOutOfMemory, with(fmt.Errorf("exited with code %d past the %d MiB memory cap", code, m.h.opts.MemoryLimitMiB))
			case strings.HasPrefix(summary, "panic:"):
				return drivers.FaultPanic, with(fmt.Errorf("exited with code %d", code))
			}
			return drivers.FaultExit, with(fmt.Errorf("exited with code %d", code))
		}
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "memory") && (strings.Contains(msg, "limit") || strings.Contains(msg, "exceeds") || strings.Contains(msg, "max")):
		return drivers.FaultOutOfMemory, with(err)
	case strings.Contains(msg, "wasm error:"):
		return drivers.FaultTrap, with(err)
	}
	return drivers.FaultTrap, with(err)
}
