package expect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// Defaults of Options.
const (
	DefaultLineEnding = "\n"
	DefaultMaxWindow  = 64 << 10
	readSize          = 32 << 10
	lastOutputLen     = 256
)

// ErrBusy is returned by Expect when another Expect on the same engine is
// still waiting.
var ErrBusy = errors.New("expect: another expect is waiting on this console")

// Options configure an Engine. The zero value works.
type Options struct {
	// Logger receives the console output line by line, raw: ANSI escapes
	// and "\r" kept, the "\n" removed. A line that has not ended yet (a
	// prompt) is handed over when a match ends in it, before a Send, and
	// when a wait fails; the rest of that line comes later as its own
	// record. Callbacks run on one goroutine at a time, in order, and must
	// not call the Engine.
	Logger func(raw string)
	// OnLine receives each complete line cleaned (what patterns match),
	// for the test shell's signal parser.
	OnLine func(clean string)
	// LineEnding is what Send appends with newline set; "\n" if empty.
	LineEnding string
	// MaxWindow bounds the unmatched cleaned text kept for matching, in
	// bytes (64 KiB if 0); the oldest text is dropped beyond it.
	MaxWindow int
	// KeepRaw keeps the raw output's tail (up to 512 KiB, ANSI escapes
	// included) for Raw and Menu from the start; KeepRaw() turns it on
	// later. Off, a job's console costs no such copy.
	KeepRaw bool
}

// Match is what Expect found.
type Match struct {
	// Index is the index of the pattern that matched.
	Index int
	// Text is the matched text (cleaned).
	Text string
	// Before is the cleaned text between the previous match and this one.
	Before string
}

// Engine is the expect/send engine over one console. One goroutine reads the
// console from New until the console returns an error (Close it to stop the
// engine); matching runs on the text as it arrives.
//
// Matching sees cleaned text (see Clean): no ANSI escapes, "\r\n" as "\n",
// a line redrawn after a bare "\r" or edited with backspaces as the terminal
// would show it. Before a redraw or a backspace removes text, the waiting
// patterns are tried on the text as it was shown, so a countdown such as
// U-Boot's "Hit any key to stop autoboot:  2 \b\b\b 1" matches at once. A
// match need not end a line: prompts such as "=> " match as soon as they
// arrive.
type Engine struct {
	rw   io.ReadWriter
	opts Options

	mu       sync.Mutex
	scr      screen
	cl       cleaner
	consumed int // start of the unmatched text in scr.buf
	scanned  int // the waiting set has searched scr.buf up to here
	req      *request
	readErr  error
	raw      []byte // the current raw line
	rawSent  int    // bytes of raw already handed to Logger
	lines    uint64 // raw lines ended so far (a later flush checks it)
	// partialWait is PartialLineWait (a test holds a line longer).
	partialWait time.Duration
	pending     []record
	loggedIn    bool    // Login ran; the next WaitShell watches for a refusal
	hist        rawHist // issue 17: the raw output's tail (Raw)

	deliverMu sync.Mutex
	wmu       sync.Mutex
	done      chan struct{}
}

type record struct {
	clean bool
	text  string
}

type request struct {
	set    *Set
	result chan outcome
}

type outcome struct {
	m   Match
	err error
}

// New starts an engine reading c.
func New(c io.ReadWriter, opts Options) *Engine {
	if opts.LineEnding == "" {
		opts.LineEnding = DefaultLineEnding
	}
	if opts.MaxWindow <= 0 {
		opts.MaxWindow = DefaultMaxWindow
	}
	e := &Engine{rw: c, opts: opts, done: make(chan struct{}), partialWait: PartialLineWait}
	e.hist.keep = opts.KeepRaw
	e.scr.beforeEdit = e.scan
	if opts.OnLine != nil {
		e.scr.onLine = func(line []byte) {
			e.pending = append(e.pending, record{clean: true, text: string(line)})
		}
	}
	go e.readLoop()
	return e
}

// Done is closed when the reader has stopped (the console returned an
// error or EOF); Err then says why.
func (e *Engine) Done() <-chan struct{} { return e.done }

// Err returns the error that stopped the reader, or nil while it runs.
func (e *Engine) Err() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.readErr
}

func (e *Engine) readLoop() {
	defer close(e.done)
	buf := make([]byte, readSize)
	for {
		n, err := e.rw.Read(buf)
		if n > 0 {
			e.mu.Lock()
			e.feed(buf[:n])
			e.mu.Unlock()
			e.deliver()
		}
		if err != nil {
			e.mu.Lock()
			e.flushRaw()
			e.readErr = err
			if e.req != nil {
				e.resolve(outcome{err: e.closedErr()})
			}
			e.mu.Unlock()
			e.deliver()
			return
		}
	}
}

func (e *Engine) closedErr() error {
	if e.readErr == io.EOF {
		return fmt.Errorf("expect: console closed (EOF)")
	}
	return fmt.Errorf("expect: console closed: %w", e.readErr)
}

// feed takes one chunk of raw output. Called with mu held.
func (e *Engine) feed(p []byte) {
	e.hist.record(p) // issue 17
	for len(p) > 0 {
		seg := p
		k := indexNL(p)
		if k >= 0 {
			seg = p[:k+1]
		}
		p = p[len(seg):]
		e.logRaw(seg, k >= 0)
		e.cl.feed(&e.scr, seg)
	}
	e.bound()
	e.scan()
}

func indexNL(p []byte) int {
	for i, b := range p {
		if b == '\n' {
			return i
		}
	}
	return -1
}

// logRaw keeps the raw line for Logger; seg ends with "\n" when nl.
func (e *Engine) logRaw(seg []byte, nl bool) {
	if e.opts.Logger == nil {
		return
	}
	if !nl {
		e.raw = append(e.raw, seg...)
		if len(e.raw)-e.rawSent > e.opts.MaxWindow {
			e.flushRaw()
		}
		return
	}
	seg = seg[:len(seg)-1]
	if len(e.raw) == 0 && e.rawSent == 0 {
		e.pending = append(e.pending, record{text: string(seg)})
		return
	}
	e.raw = append(e.raw, seg...)
	rest := e.raw[e.rawSent:]
	// After a partial line was handed over, a lone "\r" is only the end of
	// that line, not a record of its own.
	if e.rawSent == 0 || (len(rest) > 0 && string(rest) != "\r") {
		e.pending = append(e.pending, record{text: string(rest)})
	}
	e.raw = e.raw[:0]
	e.rawSent = 0
	e.lines++
}

// PartialLineWait is how long a line a match ended in may take to end
// before its first part is logged on its own: a prompt never ends, while a
// line the console was still sending (a kernel banner matched by "Linux
// version [0-9]") ends within it and is logged whole.
const PartialLineWait = 100 * time.Millisecond

// flushSoon hands the current raw line to Logger after PartialLineWait if
// it has not ended by then (nor been handed over by a Send). Called with
// mu held.
func (e *Engine) flushSoon() {
	if e.opts.Logger == nil || e.rawSent >= len(e.raw) {
		return
	}
	line := e.lines
	time.AfterFunc(e.partialWait, func() {
		e.mu.Lock()
		if e.lines == line && e.readErr == nil {
			e.flushRaw()
		}
		e.mu.Unlock()
		e.deliver()
	})
}

// flushRaw hands the unlogged part of the current raw line to Logger.
func (e *Engine) flushRaw() {
	if e.rawSent < len(e.raw) {
		e.pending = append(e.pending, record{text: string(e.raw[e.rawSent:])})
		e.rawSent = len(e.raw)
	}
}

// deliver runs the callbacks for the pending records, in order.
func (e *Engine) deliver() {
	e.deliverMu.Lock()
	defer e.deliverMu.Unlock()
	e.mu.Lock()
	recs := e.pending
	e.pending = nil
	e.mu.Unlock()
	for _, r := range recs {
		if r.clean {
			e.opts.OnLine(r.text)
		} else {
			e.opts.Logger(r.text)
		}
	}
}

// scan tries the waiting set on the new text. Called with mu held.
func (e *Engine) scan() {
	buf := e.scr.buf
	e.consumed = min(e.consumed, len(buf))
	e.scanned = max(min(e.scanned, len(buf)), e.consumed)
	if e.req == nil || e.scanned == len(buf) {
		return
	}
	idx, start, end := e.req.set.find(buf, e.consumed, e.scanned)
	if idx < 0 {
		e.scanned = len(buf)
		return
	}
	m := Match{Index: idx, Text: string(buf[start:end]), Before: string(buf[e.consumed:start])}
	e.consumed, e.scanned = end, end
	e.flushSoon()
	var err error
	if p := e.req.set.pats[idx].src; p.Fail {
		err = &PatternError{Pattern: p.Regex, Message: p.Message, Text: m.Text}
	}
	e.resolve(outcome{m: m, err: err})
}

func (e *Engine) resolve(o outcome) {
	e.req.result <- o
	e.req = nil
}

// bound drops text nobody needs and caps the unmatched text at MaxWindow.
// Called with mu held.
func (e *Engine) bound() {
	buf := e.scr.buf
	if over := len(buf) - e.consumed - e.opts.MaxWindow; over > 0 {
		e.consumed += over
	}
	if over := len(buf) - e.scr.lineStart - e.opts.MaxWindow; over > 0 {
		e.scr.lineStart += over
	}
	keep := min(e.consumed, e.scr.lineStart)
	if keep < readSize && keep <= len(buf)/2 {
		return
	}
	n := copy(buf, buf[keep:])
	e.scr.buf = buf[:n]
	e.scr.lineStart -= keep
	e.consumed -= keep
	e.scanned = max(e.scanned-keep, 0)
}

// Discard drops the unmatched text received so far: the next Expect sees
// only what arrives after it.
func (e *Engine) Discard() {
	e.mu.Lock()
	e.consumed = len(e.scr.buf)
	e.scanned = e.consumed
	e.flushRaw()
	e.mu.Unlock()
	e.deliver()
}

// Expect waits until one of the set's patterns matches the console output
// received since the previous match, and returns which one. A matched error
// pattern (Fail) returns the match with a *PatternError. timeout > 0 bounds
// the wait; either way ctx does: its cancellation ends the wait at once.
// Running out of time returns a *TimeoutError naming the patterns and the
// last output seen; a closed console returns an error at once.
func (e *Engine) Expect(ctx context.Context, set *Set, timeout time.Duration) (Match, error) {
	if set == nil || len(set.pats) == 0 {
		return Match{}, errors.New("expect: no patterns")
	}
	req := &request{set: set, result: make(chan outcome, 1)}
	e.mu.Lock()
	if e.req != nil {
		e.mu.Unlock()
		return Match{}, ErrBusy
	}
	e.req = req
	e.scanned = e.consumed
	e.scan()
	if e.req == req && e.readErr != nil {
		e.resolve(outcome{err: e.closedErr()})
	}
	e.mu.Unlock()
	e.deliver()

	var timer <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		timer = t.C
	}
	var cause error
	select {
	case o := <-req.result:
		e.deliver()
		return o.m, o.err
	case <-ctx.Done():
		cause = ctx.Err()
	case <-timer:
		cause = context.DeadlineExceeded
	}

	e.mu.Lock()
	if e.req != req {
		// Resolved while we were giving up: the result wins.
		e.mu.Unlock()
		o := <-req.result
		e.deliver()
		return o.m, o.err
	}
	e.req = nil
	e.flushRaw()
	last := e.scr.buf[e.consumed:]
	if len(last) > lastOutputLen {
		last = last[len(last)-lastOutputLen:]
		for len(last) > 0 && !utf8.RuneStart(last[0]) {
			last = last[1:]
		}
	}
	lastOut := string(last)
	e.mu.Unlock()
	e.deliver()
	if errors.Is(cause, context.DeadlineExceeded) {
		return Match{}, &TimeoutError{Patterns: set.String(), Last: lastOut, Timeout: timeout, Err: cause}
	}
	return Match{}, fmt.Errorf("expect %s: %w", set.String(), cause)
}

// Send writes text to the console, followed by the line ending when newline
// is set. With charDelay > 0 it writes one character at a time and waits
// charDelay between characters (boot_character_delay); ctx cancels the
// waits. The partial output line is logged first, so the log shows the
// prompt before what is sent.
func (e *Engine) Send(ctx context.Context, text string, newline bool, charDelay time.Duration) error {
	return e.send(ctx, text, newline, charDelay, strconv.Quote(text))
}

// send is Send with the name errors give the text (a password is not quoted).
func (e *Engine) send(ctx context.Context, text string, newline bool, charDelay time.Duration, label string) error {
	e.mu.Lock()
	e.flushRaw()
	e.mu.Unlock()
	e.deliver()
	if newline {
		text += e.opts.LineEnding
	}
	if text == "" {
		return nil
	}
	e.wmu.Lock()
	defer e.wmu.Unlock()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("send %s: %w", label, err)
	}
	if charDelay <= 0 {
		if _, err := e.rw.Write([]byte(text)); err != nil {
			return fmt.Errorf("send %s: %w", label, err)
		}
		return nil
	}
	t := time.NewTimer(charDelay)
	t.Stop()
	defer t.Stop()
	for i := 0; i < len(text); {
		_, size := utf8.DecodeRuneInString(text[i:])
		if i > 0 {
			t.Reset(charDelay)
			select {
			case <-t.C:
			case <-ctx.Done():
				return fmt.Errorf("send %s: %w", label, ctx.Err())
			}
		}
		if _, err := e.rw.Write([]byte(text[i : i+size])); err != nil {
			return fmt.Errorf("send %s: %w", label, err)
		}
		i += size
	}
	return nil
}
