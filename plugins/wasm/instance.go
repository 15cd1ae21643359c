package wasm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/lavalab/lavalab/plugins"
	"github.com/lavalab/lavalab/sdk"
)

// An instance is one fresh module instance, used for exactly one call. It is
// started ahead of the call ("prewarmed") so that the module's instantiation
// and the Go runtime's start-up are paid before the request arrives: the
// driver then waits in its first read of stdin until the request is given.
// The call's deadline starts when the request is given.
type instance struct {
	gate     *gate
	stdout   *capWriter
	stderr   *plugins.BoundedBuffer
	cancel   context.CancelFunc
	done     chan error
	timedOut atomic.Bool
	canceled atomic.Bool
	stopped  atomic.Bool // stop was called
}

// errStopped is the panic of a stopped instance's yield.
var errStopped = errors.New("stopped by its host")

// stop ends the instance: a stop-checked module at its next yield (see
// rewrite), a guarded one through its context.
func (in *instance) stop() {
	in.stopped.Store(true)
	in.cancel()
}

// yield is the instance's sched_yield, which a stop-checked module calls
// every rewrite.Fuel loop iterations: it ends a stopped instance (wazero
// turns the panic into the call's error).
func (in *instance) yield() {
	if in.stopped.Load() {
		panic(errStopped)
	}
}

// gate is the instance's stdin: the first Read waits until the request is
// given (or the instance is dropped, which reads as end of file).
type gate struct {
	waiting  chan struct{} // closed at the first Read
	ready    chan struct{} // closed when r is set
	waitOnce sync.Once
	openOnce sync.Once
	r        *bytes.Reader
}

func newGate() *gate {
	return &gate{waiting: make(chan struct{}), ready: make(chan struct{})}
}

func (g *gate) Read(p []byte) (int, error) {
	g.waitOnce.Do(func() { close(g.waiting) })
	<-g.ready
	if g.r == nil {
		return 0, io.EOF
	}
	return g.r.Read(p)
}

// open gives the request; nil drops the instance (it reads end of file).
func (g *gate) open(in []byte) {
	g.openOnce.Do(func() {
		if in != nil {
			g.r = bytes.NewReader(in)
		}
		close(g.ready)
	})
}

// spawn starts a fresh instance; it runs until its first read of stdin.
//
// A prewarmed instance gets the argument sdk.PrewarmArg: the driver then
// knows its request will come later and does its start-up work first (the
// SDK warms encoding/json up); one spawned for a call at once does not.
func (m *Module) spawn(prewarm bool) *instance {
	ictx, cancel := context.WithCancel(context.Background())
	in := &instance{
		gate:   newGate(),
		stdout: &capWriter{max: m.h.opts.MaxAnswerBytes},
		stderr: &plugins.BoundedBuffer{Max: m.h.opts.MaxStderrBytes},
		cancel: cancel,
		done:   make(chan error, 1),
	}
	cfg := wazero.NewModuleConfig().
		WithName(""). // anonymous: instances of one module run side by side
		WithArgs(args(prewarm)...).
		WithStdin(in.gate).
		WithStdout(in.stdout).
		WithStderr(in.stderr).
		WithOsyield(in.yield)
	m.cmu.Lock()
	c := m.compiled
	m.cmu.Unlock()
	go func() {
		if c == nil {
			in.done <- errors.New("the module was closed")
			return
		}
		mod, err := c.rt.InstantiateModule(ictx, c.code, cfg)
		if mod != nil {
			_ = mod.Close(context.Background())
		}
		in.done <- err
	}()
	return in
}

func args(prewarm bool) []string {
	if prewarm {
		return []string{"driver", sdk.PrewarmArg}
	}
	return []string{"driver"}
}

// run gives the request and waits for the instance to end, stopping it at
// the deadline or when ctx is done.
func (in *instance) run(ctx context.Context, req []byte, timeout time.Duration) error {
	timer := time.AfterFunc(timeout, func() {
		in.timedOut.Store(true)
		in.stop()
	})
	stop := context.AfterFunc(ctx, func() {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			in.timedOut.Store(true)
		} else {
			in.canceled.Store(true)
		}
		in.stop()
	})
	in.gate.open(req)
	err := <-in.done
	timer.Stop()
	stop()
	in.cancel()
	return err
}

// drop ends an unused instance.
func (in *instance) drop() {
	in.gate.open(nil)
	in.stop()
	<-in.done
}

// take returns a prewarmed instance if one is ready, else a new one. The
// caller starts the replacement (refill) once its call is answered, so the
// replacement's start-up does not compete with the call for the CPU.
func (m *Module) take() *instance {
	select {
	case in := <-m.pool:
		return in
	default:
		return m.spawn(false)
	}
}

// refill starts one prewarmed instance in the background unless the pool is
// full, prewarming is off, or the module is closing.
func (m *Module) refill() {
	if m.pool == nil || m.noPrewarm.Load() || m.refilling.Load() >= int32(cap(m.pool)) {
		return
	}
	m.refilling.Add(1)
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer m.refilling.Add(-1)
		in := m.spawn(true)
		select {
		case <-in.gate.waiting:
		case err := <-in.done:
			// It ended without reading its request: do not prewarm a
			// driver that does not wait for its input.
			in.done <- err
			m.disablePrewarm(fmt.Sprintf("the driver ended before reading its request (%v; stderr %q)", err, plugins.StderrSummary(in.stderr.Bytes())))
			in.drop()
			return
		case <-time.After(prewarmWait(m.h.opts.Timeout)):
			m.disablePrewarm(fmt.Sprintf("the driver did not read its request within %s of starting", prewarmWait(m.h.opts.Timeout)))
			in.drop()
			return
		case <-m.stopping:
			in.drop()
			return
		}
		select {
		case m.pool <- in:
		case <-m.stopping:
			in.drop()
		default:
			in.drop()
		}
	}()
}

// prewarmWait is how long a prewarmed instance may take to reach its first
// read of stdin before prewarming is turned off for the module: well past
// the call timeout, because a start-up is slow on a loaded machine (other
// builds, many instances at once) and turning prewarming off is for good;
// bounded, because a driver that spins before reading would burn a CPU.
func prewarmWait(callTimeout time.Duration) time.Duration {
	return max(10*callTimeout, 30*time.Second)
}

func (m *Module) disablePrewarm(why string) {
	select {
	case <-m.stopping:
		return // the module is closing: nothing is wrong with the driver
	default:
	}
	if m.noPrewarm.CompareAndSwap(false, true) {
		m.h.opts.Logger.Warn("wasm driver: prewarming off", "driver", m.label, "reason", why)
	}
}

// stopPool ends the prewarmed instances.
func (m *Module) stopPool() {
	if m.pool == nil {
		return
	}
	close(m.stopping)
	m.wg.Wait()
	for {
		select {
		case in := <-m.pool:
			in.drop()
		default:
			return
		}
	}
}
