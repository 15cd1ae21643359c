package plugins

import (
	"bytes"
	"fmt"
	"sync"
)

// BoundedBuffer keeps the first Max bytes written to it and counts the rest.
// Write never fails, so a chatty driver is never stopped by its diagnostics.
// It is safe for concurrent use.
type BoundedBuffer struct {
	Max     int
	mu      sync.Mutex
	buf     bytes.Buffer
	dropped int64
}

// Write keeps what fits and drops the rest.
func (b *BoundedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	room := b.Max - b.buf.Len()
	if room < 0 {
		room = 0
	}
	if len(p) <= room {
		b.buf.Write(p)
	} else {
		b.buf.Write(p[:room])
		b.dropped += int64(len(p) - room)
	}
	return len(p), nil
}

// Bytes returns what was kept, followed by a note when bytes were dropped.
func (b *BoundedBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() == 0 && b.dropped == 0 {
		return nil
	}
	out := bytes.Clone(b.buf.Bytes())
	if b.dropped > 0 {
		out = fmt.Appendf(out, "\n[%d more bytes of driver diagnostics dropped]\n", b.dropped)
	}
	return out
}

// Dropped returns how many bytes were dropped.
func (b *BoundedBuffer) Dropped() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.dropped
}

// StderrSummary picks the line of diagnostics that best explains a crash (a
// Go "panic:" or "fatal error:" line, else the last non-empty line), cut to
// 200 bytes, for error messages. It returns "" for empty diagnostics.
func StderrSummary(stderr []byte) string {
	lines := bytes.Split(stderr, []byte("\n"))
	pick := ""
	for _, l := range lines {
		l = bytes.TrimSpace(l)
		if bytes.HasPrefix(l, []byte("panic:")) || bytes.HasPrefix(l, []byte("fatal error:")) {
			pick = string(l)
			break
		}
	}
	if pick == "" {
		for i := len(lines) - 1; i >= 0; i-- {
			l := bytes.TrimSpace(lines[i])
			if len(l) > 0 && !bytes.HasPrefix(l, []byte("[")) {
				pick = string(l)
				break
			}
		}
	}
	if len(pick) > 200 {
		pick = pick[:200] + "..."
	}
	return pick
}
