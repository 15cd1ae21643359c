package expect

// Issue 17 (uefi-menu): the raw console output, ANSI escapes kept, for a
// step that reads the screen a full-screen menu draws.

import (
	"context"
	"time"
)

// rawHistMax bounds the raw output kept: an EDK2 form is drawn in well
// under 16 KiB, so a few screens fit.
const rawHistMax = 256 << 10

// rawHist is the tail of the raw output, kept once keep is set. Guarded
// by Engine.mu.
type rawHist struct {
	keep   bool
	buf    []byte
	total  int64 // bytes received since the engine started
	notify chan struct{}
}

// record appends raw output. Called with mu held.
func (h *rawHist) record(p []byte) {
	if !h.keep {
		return
	}
	h.buf = append(h.buf, p...)
	// Compacted only past twice the bound: a chatty console does not copy
	// the whole tail on every read.
	if len(h.buf) > 2*rawHistMax {
		h.buf = append(h.buf[:0], h.buf[len(h.buf)-rawHistMax:]...)
	}
	h.total += int64(len(p))
	if h.notify != nil {
		close(h.notify)
		h.notify = nil
	}
}

// KeepRaw keeps the raw output's tail from now on (Options.KeepRaw from
// the start): a menu step needs the screen a firmware draws, which no
// other step does, so a job keeps it only when its plan walks a menu.
func (e *Engine) KeepRaw() {
	e.mu.Lock()
	e.hist.keep = true
	e.mu.Unlock()
}

// Raw returns the raw output received after offset from (a count of bytes
// since the engine started; 0 for all that is kept) and the offset of its
// end. Only the last rawHistMax bytes are kept.
func (e *Engine) Raw(from int64) ([]byte, int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	h := &e.hist
	start := h.total - int64(len(h.buf))
	from = max(from, start, h.total-rawHistMax)
	if from >= h.total {
		return nil, h.total
	}
	return append([]byte(nil), h.buf[from-start:]...), h.total
}

// RawWait waits until output arrives after offset from, for at most d. It
// reports whether there is such output.
func (e *Engine) RawWait(ctx context.Context, from int64, d time.Duration) bool {
	e.mu.Lock()
	if e.hist.total > from {
		e.mu.Unlock()
		return true
	}
	if e.hist.notify == nil {
		e.hist.notify = make(chan struct{})
	}
	ch := e.hist.notify
	e.mu.Unlock()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ch:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	return false
}
