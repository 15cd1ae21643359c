package wasm_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/drivers"
	"github.com/lavalab/lavalab/plugins/internal/testbuild"
	"github.com/lavalab/lavalab/plugins/wasm"
	"github.com/lavalab/lavalab/sdk"
)

func newHost(t testing.TB, opts wasm.Options) *wasm.Host {
	t.Helper()
	if opts.CacheDir == "" {
		opts.CacheDir = t.TempDir()
	}
	h, err := wasm.NewHost(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close(context.Background()) })
	return h
}

func goodWASM(t testing.TB) []byte {
	return testbuild.Read(t, "plugins/wasm/testdata/good", testbuild.WASM, "")
}

func planRequest() sdk.PlanRequest {
	return sdk.PlanRequest{
		JobID:    "42",
		Action:   sdk.Action{Kind: sdk.ActionBoot, Method: "u-boot"},
		Settings: sdk.Values{"console_device": "ttyAMA0"},
		Device:   sdk.DeviceFacts{Hostname: "board-01", DeviceType: "qemu-test"},
	}
}

func TestGoodDriver(t *testing.T) {
	ctx := context.Background()
	h := newHost(t, wasm.Options{})
	bin := goodWASM(t)
	m, err := h.Load(ctx, "good.wasm", bin)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(ctx)
	d := m.Describe()
	if d.Name != "testdrv" || d.Version != "1.0.0" || d.ABIVersion != sdk.ABIVersion || len(d.DeviceTypes) != 1 || d.DeviceTypes[0] != "qemu-test" {
		t.Fatalf("describe = %+v", d)
	}
	if m.SHA256() != wasm.SHA256Hex(bin) || len(m.SHA256()) != 64 {
		t.Fatalf("sha256 = %q", m.SHA256())
	}
	plan, stderr, err := m.Plan(ctx, planRequest())
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Steps) != 3 || plan.Steps[0].Power.Op != sdk.PowerOn || plan.Steps[1].Connect.Tool.Args[1] != "echo board-01" || plan.Steps[2].Expect.Patterns[0].Regex != "ttyAMA0" {
		t.Fatalf("plan = %+v", plan)
	}
	if !strings.Contains(string(stderr), "planning job 42 action boot") {
		t.Fatalf("stderr = %q", stderr)
	}

	// A failure the driver reports itself keeps its type.
	req := planRequest()
	req.Action = sdk.Action{Kind: "fail", Method: "nope"}
	_, _, err = m.Plan(ctx, req)
	var se *sdk.Error
	if !errors.As(err, &se) || se.Type != sdk.ErrorJob || drivers.FaultOf(err) != drivers.FaultReported {
		t.Fatalf("reported error = %v (%T)", err, err)
	}
	if !strings.Contains(err.Error(), "testdrv/1.0.0 (sha256 "+m.SHA256()[:12]+")") {
		t.Fatalf("error does not name the driver: %v", err)
	}

	// Closed modules refuse calls.
	if err := m.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := m.Plan(ctx, planRequest()); drivers.FaultOf(err) != drivers.FaultClosed {
		t.Fatalf("plan after close = %v", err)
	}
}

// TestMaliciousDrivers proves that each misbehaviour becomes a clear error
// naming the driver and the fault, and that the host goes on serving.
func TestMaliciousDrivers(t *testing.T) {
	ctx := context.Background()
	h := newHost(t, wasm.Options{Timeout: 15 * time.Second, MemoryLimitMiB: 64, MaxAnswerBytes: 8 << 20, MaxStderrBytes: 4096})
	good, err := h.Load(ctx, "good.wasm", goodWASM(t))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		dir       string
		loadFails bool
		deadline  time.Duration // of the caller's context, if any
		fault     string
		want      string // in the message
		stderr    string // in the diagnostics
	}{
		{dir: "loop", deadline: time.Second, fault: drivers.FaultTimeout, want: "no answer within"},
		{dir: "membomb", fault: drivers.FaultOutOfMemory, want: "64 MiB memory cap"},
		{dir: "panic", fault: drivers.FaultPanic, want: "panic: boom: the driver gave up", stderr: "goroutine"},
		{dir: "garbage", fault: drivers.FaultMalformed, want: "not one JSON response"},
		{dir: "huge", fault: drivers.FaultOversized, want: "more than 8388608 bytes"},
		{dir: "exit3", fault: drivers.FaultExit, want: "exited with code 3 (stderr: giving up with status 3)"},
		{dir: "badplan", fault: drivers.FaultInvalidPlan, want: `kind "power" without its "power" payload`},
		{dir: "wrongabi", loadFails: true, fault: drivers.FaultABI, want: "ABI versions [99]"},
	}
	for _, tc := range tests {
		t.Run(tc.dir, func(t *testing.T) {
			bin := testbuild.Read(t, "plugins/wasm/testdata/"+tc.dir, testbuild.WASM, "")
			sha := wasm.SHA256Hex(bin)[:12]
			m, err := h.Load(ctx, tc.dir+".wasm", bin)
			var stderr []byte
			if !tc.loadFails {
				if err != nil {
					t.Fatalf("load: %v", err)
				}
				defer m.Close(ctx)
				cctx, cancel := context.WithCancel(ctx)
				if tc.deadline > 0 {
					cctx, cancel = context.WithTimeout(ctx, tc.deadline)
				}
				defer cancel()
				start := time.Now()
				_, stderr, err = m.Plan(cctx, planRequest())
				t.Logf("took %s", time.Since(start).Round(time.Millisecond))
			}
			if err == nil {
				t.Fatal("no error")
			}
			t.Logf("error: %v", err)
			var pe *drivers.Error
			if !errors.As(err, &pe) || pe.Fault != tc.fault {
				t.Fatalf("fault = %q, want %q (err %v)", drivers.FaultOf(err), tc.fault, err)
			}
			msg := err.Error()
			wantName := "evil-" + tc.dir + "/6.6.6 (sha256 " + sha + ")"
			if tc.loadFails {
				wantName = tc.dir + ".wasm (sha256 " + sha + ")"
			}
			for _, w := range []string{wantName, tc.fault, tc.want} {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
			if !strings.Contains(string(stderr), tc.stderr) {
				t.Errorf("stderr lacks %q: %q", tc.stderr, stderr)
			}
			// The host survives and serves the good driver.
			if _, _, err := good.Plan(ctx, planRequest()); err != nil {
				t.Fatalf("good driver after %s: %v", tc.dir, err)
			}
		})
	}
}

// TestHostTimeout checks the host's own deadline (Options.Timeout).
func TestHostTimeout(t *testing.T) {
	h := newHost(t, wasm.Options{Timeout: 500 * time.Millisecond})
	m, err := h.Load(context.Background(), "loop.wasm", testbuild.Read(t, "plugins/wasm/testdata/loop", testbuild.WASM, ""))
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = m.Plan(context.Background(), planRequest())
	if drivers.FaultOf(err) != drivers.FaultTimeout || !strings.Contains(err.Error(), "no answer within ") {
		t.Fatalf("err = %v", err)
	}
}

func TestStderrIsBounded(t *testing.T) {
	ctx := context.Background()
	h := newHost(t, wasm.Options{MaxStderrBytes: 4096})
	m, err := h.Load(ctx, "stderrspam.wasm", testbuild.Read(t, "plugins/wasm/testdata/stderrspam", testbuild.WASM, ""))
	if err != nil {
		t.Fatal(err)
	}
	plan, stderr, err := m.Plan(ctx, planRequest())
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Steps) != 1 || plan.Steps[0].Kind != sdk.StepDisconnect {
		t.Fatalf("plan = %+v", plan)
	}
	if len(stderr) > 4096+100 || !strings.Contains(string(stderr), "more bytes of driver diagnostics dropped") {
		t.Fatalf("stderr: %d bytes, ends %q", len(stderr), stderr[len(stderr)-60:])
	}
}

// Hand-made modules: a trap in _start, and a memory larger than the cap.
var (
	trapModule = []byte{
		0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
		0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type: func() -> ()
		0x03, 0x02, 0x01, 0x00, // function 0 has type 0
		0x07, 0x0a, 0x01, 0x06, '_', 's', 't', 'a', 'r', 't', 0x00, 0x00, // export _start
		0x0a, 0x05, 0x01, 0x03, 0x00, 0x00, 0x0b, // code: unreachable
	}
	bigMemoryModule = []byte{
		0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
		0x01, 0x04, 0x01, 0x60, 0x00, 0x00,
		0x03, 0x02, 0x01, 0x00,
		0x05, 0x04, 0x01, 0x00, 0xd0, 0x0f, // memory: min 2000 pages (125 MiB)
		0x07, 0x0a, 0x01, 0x06, '_', 's', 't', 'a', 'r', 't', 0x00, 0x00,
		0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b, // code: nothing
	}
)

func TestBadModules(t *testing.T) {
	ctx := context.Background()
	h := newHost(t, wasm.Options{})
	tests := []struct {
		name   string
		wasm   []byte
		faults []string
		want   string
	}{
		{"trap.wasm", trapModule, []string{drivers.FaultTrap}, "unreachable"},
		{"bigmem.wasm", bigMemoryModule, []string{drivers.FaultOutOfMemory, drivers.FaultCompile}, "memory"},
		{"junk.wasm", []byte("#!/bin/sh\necho hello\n"), []string{drivers.FaultCompile}, "invalid module"},
		{"empty.wasm", nil, []string{drivers.FaultCompile}, "invalid module"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.Load(ctx, tc.name, tc.wasm)
			if err == nil {
				t.Fatal("loaded")
			}
			t.Logf("error: %v", err)
			f := drivers.FaultOf(err)
			ok := false
			for _, w := range tc.faults {
				ok = ok || f == w
			}
			if !ok || !strings.Contains(err.Error(), tc.name+" (sha256 ") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("fault %q, error %v", f, err)
			}
		})
	}
}

func TestCanceledCall(t *testing.T) {
	h := newHost(t, wasm.Options{Timeout: 10 * time.Second})
	m, err := h.Load(context.Background(), "loop.wasm", testbuild.Read(t, "plugins/wasm/testdata/loop", testbuild.WASM, ""))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, _, err = m.Plan(ctx, planRequest())
	if drivers.FaultOf(err) != drivers.FaultCanceled {
		t.Fatalf("err = %v", err)
	}
}

func TestConcurrentCalls(t *testing.T) {
	ctx := context.Background()
	// The point is concurrency, not speed: a loaded machine must not turn
	// 64 fresh instances on a few cores into timeouts.
	h := newHost(t, wasm.Options{Timeout: 5 * time.Minute})
	m, err := h.Load(ctx, "good.wasm", goodWASM(t))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for range 8 {
		wg.Go(func() {
			for range 8 {
				req := planRequest()
				if _, _, err := m.Plan(ctx, req); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestCompilationCacheIsUsed(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	bin := goodWASM(t)
	h1 := newHost(t, wasm.Options{CacheDir: dir})
	if _, err := h1.Load(ctx, "good.wasm", bin); err != nil {
		t.Fatal(err)
	}
	_ = h1.Close(ctx)
	h2 := newHost(t, wasm.Options{CacheDir: dir})
	start := time.Now()
	if _, err := h2.Load(ctx, "good.wasm", bin); err != nil {
		t.Fatal(err)
	}
	t.Logf("load from the cache took %s", time.Since(start))
	if n := countFiles(t, dir); n == 0 {
		t.Fatal("the compilation cache directory is empty")
	}
}

// The Go drivers (test drivers and shipped device types) run with the stop
// check: a module the rewrite refused would silently run about four times
// slower under wazero's own check.
func TestGoDriversAreStopChecked(t *testing.T) {
	ctx := context.Background()
	h := newHost(t, wasm.Options{Prewarm: -1})
	for _, dir := range []string{"plugins/wasm/testdata/good", "plugins/wasm/testdata/loop", "devicetypes/soca9"} {
		m, err := h.Load(ctx, dir, testbuild.Read(t, dir, testbuild.WASM, ""))
		if err != nil {
			t.Fatal(err)
		}
		if !m.StopChecked() {
			t.Errorf("%s runs with wazero's termination check, not the host's stop check", dir)
		}
	}
}

// A module the rewrite does not take (here: no sched_yield import) still
// runs, in the guarded runtime, and its deadline still holds.
func TestGuardedFallbackKeepsTheDeadline(t *testing.T) {
	ctx := context.Background()
	h := newHost(t, wasm.Options{Timeout: 300 * time.Millisecond})
	_, err := h.Load(ctx, "spin.wasm", spinModule)
	if drivers.FaultOf(err) != drivers.FaultTimeout {
		t.Fatalf("err = %v, want a timeout", err)
	}
}

// spinModule's _start loops forever, with no import at all.
var spinModule = []byte{
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
	0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type: func() -> ()
	0x03, 0x02, 0x01, 0x00, // function 0 has type 0
	0x07, 0x0a, 0x01, 0x06, '_', 's', 't', 'a', 'r', 't', 0x00, 0x00, // export _start
	0x0a, 0x09, 0x01, 0x07, 0x00, 0x03, 0x40, 0x0c, 0x00, 0x0b, 0x0b, // code: loop br 0 end
}

// Compiled WebAssembly cannot be preempted: a driver spinning without host
// calls would hold up every stop-the-world of the host (a garbage
// collection waits for all goroutines), and so the host itself. The stop
// check's periodic yield is a host call: collections go on while a driver
// spins, and the deadline still ends it.
func TestSpinningDriverDoesNotHoldUpTheHost(t *testing.T) {
	ctx := context.Background()
	h := newHost(t, wasm.Options{Timeout: 3 * time.Second, Prewarm: -1})
	m, err := h.Load(ctx, "loop.wasm", testbuild.Read(t, "plugins/wasm/testdata/loop", testbuild.WASM, ""))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, _, err := m.Plan(ctx, planRequest())
		done <- err
	}()
	time.Sleep(200 * time.Millisecond) // the driver is spinning
	gcs := make(chan struct{})
	go func() {
		for range 5 {
			runtime.GC()
		}
		close(gcs)
	}()
	select {
	case <-gcs:
	case err := <-done:
		t.Fatalf("the call ended (%v) before the collections did: they waited for the spinning driver", err)
	}
	if err := <-done; drivers.FaultOf(err) != drivers.FaultTimeout {
		t.Fatalf("err = %v, want a timeout", err)
	}
}

// A module of a few bytes that declares four billion exports is refused
// before the runtime's decoder would allocate for them.
func TestModuleClaimingHugeCountsIsRefused(t *testing.T) {
	h := newHost(t, wasm.Options{})
	bomb := []byte{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x07, 0x05, 0xff, 0xff, 0xff, 0xff, 0x0f}
	_, err := h.Load(context.Background(), "bomb.wasm", bomb)
	if drivers.FaultOf(err) != drivers.FaultCompile || !strings.Contains(err.Error(), "more entries or bytes than the module holds") {
		t.Fatalf("err = %v", err)
	}
}

// A module loaded again from the same cache directory reads its rewrite
// and its description back; damaged files are made again, and the module
// still runs with the stop check.
func TestLoadAgainFromTheCacheDirectory(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	bin := goodWASM(t)
	sha := wasm.SHA256Hex(bin)
	rewritten := filepath.Join(dir, "rewritten", sha+".wasm")
	described := filepath.Join(dir, "described", fmt.Sprintf("%s.abi%d.json", sha, sdk.ABIVersion))

	first, err := newHost(t, wasm.Options{CacheDir: dir, Prewarm: -1}).Load(ctx, "good.wasm", bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{rewritten, described} {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("not kept: %v", err)
		}
	}
	kept, err := os.ReadFile(described)
	if err != nil {
		t.Fatal(err)
	}

	for _, damage := range []bool{false, true} {
		if damage {
			for _, f := range []string{rewritten, described} {
				if err := os.WriteFile(f, []byte("damaged"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
		m, err := newHost(t, wasm.Options{CacheDir: dir, Prewarm: -1}).Load(ctx, "good.wasm", bin)
		if err != nil {
			t.Fatalf("damaged %v: %v", damage, err)
		}
		if !m.StopChecked() || !reflect.DeepEqual(m.Describe(), first.Describe()) {
			t.Fatalf("damaged %v: stop-checked %v, description %+v", damage, m.StopChecked(), m.Describe())
		}
		if _, _, err := m.Plan(ctx, planRequest()); err != nil {
			t.Fatalf("damaged %v: plan: %v", damage, err)
		}
		if b, err := os.ReadFile(described); err != nil || !bytes.Equal(b, kept) {
			t.Fatalf("damaged %v: the description file is %q (%v), want it made again", damage, b, err)
		}
		if b, err := os.ReadFile(rewritten); err != nil || bytes.HasPrefix(b, []byte("damaged")) {
			t.Fatalf("damaged %v: the rewritten module was not made again (%v)", damage, err)
		}
	}
}
