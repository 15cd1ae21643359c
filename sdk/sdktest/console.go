package sdktest

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultTimeout is how long a console step waits for the scripted board
// when neither the Console nor the step gives a shorter time.
const DefaultTimeout = 5 * time.Second

// Console is a scripted fake board: what it prints when a plan connects to
// it or powers it, and how it answers what the driver sends. A plan's
// console steps run against it through the lab's own expect engine
// (core/expect), so prompts, partial lines, error patterns and echoes match
// as they do on a worker.
//
// A Console keeps the board's state across the requests of one Run (as a
// board stays the same board across a job's actions); use a new one for
// each Run.
type Console struct {
	// Connect is what the board prints when a connect step opens the
	// console (a serial console's first output, a QEMU process's boot).
	Connect string
	// Power maps a power operation (sdk.PowerOn, sdk.PowerReset, ...) to
	// what the board prints when a power step of that operation runs. Like
	// a real board's, it is lost when no console is connected then.
	Power map[string]string
	// Replies answer what the driver sends, in order of preference: for
	// each line the board receives (the line ending removed) the first
	// reply that matches it prints its answer. Keys replies match input
	// that is not a line (an interrupt character).
	Replies []Reply
	// Otherwise is printed after a received line that no reply matches
	// (for example the bootloader prompt "=> "); empty prints nothing and
	// the line is listed as unanswered when a step fails.
	Otherwise string
	// Echo makes the board print back every byte it receives, as a
	// serial console does.
	Echo bool
	// Timeout bounds each console step (expect, interrupt, commands,
	// login, wait_shell, ...): a wait for output the script never gives
	// fails after it (each of a commands step's waits has the whole
	// Timeout). Default DefaultTimeout; a step's own shorter timeout wins.
	Timeout time.Duration
	// KeepCharDelay sends with the plan's character delays (send and
	// commands steps' char_delay_ms, from boot_character_delay) as a worker
	// does. By default the kit sends at once, so a test does not wait
	// 30 ms a character; the board receives the same text.
	KeepCharDelay bool

	mu         sync.Mutex
	conn       *conn
	received   []string
	unanswered []string
	events     []event
}

// Reply is one scripted answer: when the board receives what it matches,
// it prints Answer. Make one with Line, Prefix, Match or Keys.
type Reply struct {
	// Answer is what the board prints.
	Answer string
	what   string
	keys   bool
	match  func(string) bool
}

// Line answers the exact line line (its line ending removed).
func Line(line, answer string) Reply {
	return Reply{Answer: answer, what: strconv.Quote(line), match: func(s string) bool { return s == line }}
}

// Prefix answers every line that starts with prefix.
func Prefix(prefix, answer string) Reply {
	return Reply{Answer: answer, what: "prefix " + strconv.Quote(prefix), match: func(s string) bool { return strings.HasPrefix(s, prefix) }}
}

// Match answers every line the regular expression re matches (anywhere in
// the line, as regexp.MatchString does; anchor it to match a whole line).
// It panics if re does not compile, like regexp.MustCompile.
func Match(re, answer string) Reply {
	rx := regexp.MustCompile(re)
	return Reply{Answer: answer, what: "/" + re + "/", match: rx.MatchString}
}

// Keys answers input that is exactly keys and not a line: a character
// sent without a line ending, such as an interrupt character ("\x03", " ").
// The board matches it as soon as it is received.
func Keys(keys, answer string) Reply {
	return Reply{Answer: answer, what: "keys " + strconv.Quote(keys), keys: true, match: func(s string) bool { return s == keys }}
}

// Received returns what the board received so far: each line (without
// its line ending) and each Keys input, in order.
func (c *Console) Received() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.received...)
}

// Unanswered returns the received lines that no reply answered (and
// Otherwise was empty).
func (c *Console) Unanswered() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.unanswered...)
}

// Transcript renders what happened on the console so far: the steps, the
// board's output ("<< ") and what the driver sent (">> ", quoted). The
// board's echo is not shown.
func (c *Console) Transcript() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	var out strings.Builder // output not yet written, to split in lines
	flushOut := func() {
		if out.Len() == 0 {
			return
		}
		text := out.String()
		out.Reset()
		for line := range strings.SplitAfterSeq(text, "\n") {
			if line == "" {
				continue
			}
			b.WriteString("<< " + strings.TrimRight(line, "\r\n") + "\n")
		}
	}
	var in strings.Builder
	flushIn := func() {
		if in.Len() > 0 {
			b.WriteString(">> " + strconv.Quote(in.String()) + "\n")
			in.Reset()
		}
	}
	for _, e := range c.events {
		switch e.kind {
		case evOutput:
			flushIn()
			out.WriteString(e.text)
		case evInput:
			flushOut()
			in.WriteString(e.text)
			if strings.HasSuffix(e.text, "\n") {
				flushIn()
			}
		default:
			flushOut()
			flushIn()
			b.WriteString("== " + e.text + "\n")
		}
	}
	flushOut()
	flushIn()
	return b.String()
}

type eventKind int

const (
	evNote eventKind = iota
	evOutput
	evInput
)

type event struct {
	kind eventKind
	text string
}

// note adds a line to the transcript.
func (c *Console) note(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.events = append(c.events, event{kind: evNote, text: fmt.Sprintf(format, args...)})
}

func (c *Console) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return DefaultTimeout
}

// open connects a new console session, closing the previous one, and
// prints Connect.
func (c *Console) open() *conn {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn != nil {
		c.conn.closeLocked()
	}
	k := &conn{c: c}
	k.cond = sync.NewCond(&c.mu)
	c.conn = k
	c.printLocked(c.Connect)
	return k
}

// power prints the board's output for a power operation, if a console is
// connected to see it.
func (c *Console) power(op string) {
	out := c.Power[op]
	if out == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		c.events = append(c.events, event{kind: evNote, text: fmt.Sprintf("(the board printed %q with no console connected: lost)", out)})
		return
	}
	c.printLocked(out)
}

// printLocked queues board output on the connected console; mu is held.
func (c *Console) printLocked(s string) {
	if s == "" || c.conn == nil || c.conn.closed {
		return
	}
	c.events = append(c.events, event{kind: evOutput, text: s})
	c.conn.out = append(c.conn.out, s...)
	c.conn.cond.Broadcast()
}

// receive handles bytes the driver sent; mu is held.
func (c *Console) receiveLocked(k *conn, p []byte) {
	c.events = append(c.events, event{kind: evInput, text: string(p)})
	if c.Echo {
		k.out = append(k.out, p...)
		k.cond.Broadcast()
	}
	k.in = append(k.in, p...)
	for {
		i := bytes.IndexByte(k.in, '\n')
		if i < 0 {
			break
		}
		line := strings.TrimSuffix(string(k.in[:i]), "\r")
		k.in = k.in[i+1:]
		c.received = append(c.received, line)
		c.answerLocked(line, false)
	}
	if len(k.in) > 0 && c.answerLocked(string(k.in), true) {
		c.received = append(c.received, string(k.in))
		k.in = k.in[:0]
	}
}

// answerLocked prints the answer of the first reply matching s (a line,
// or with keys pending non-line input) and reports whether one did.
func (c *Console) answerLocked(s string, keys bool) bool {
	for _, r := range c.Replies {
		if r.keys == keys && r.match != nil && r.match(s) {
			c.printLocked(r.Answer)
			return true
		}
	}
	if keys {
		return false
	}
	if c.Otherwise != "" {
		c.printLocked(c.Otherwise)
		return true
	}
	c.unanswered = append(c.unanswered, s)
	return false
}

// disconnect closes the connected console, if any.
func (c *Console) disconnect() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn != nil {
		c.conn.closeLocked()
	}
}

// conn is one console session: the io.ReadWriteCloser the expect engine
// reads and writes.
type conn struct {
	c      *Console
	cond   *sync.Cond // on c.mu
	out    []byte     // board output not yet read
	in     []byte     // input not yet a line
	closed bool
}

var _ io.ReadWriteCloser = (*conn)(nil)

func (k *conn) Read(p []byte) (int, error) {
	k.c.mu.Lock()
	defer k.c.mu.Unlock()
	for len(k.out) == 0 && !k.closed {
		k.cond.Wait()
	}
	if len(k.out) == 0 {
		return 0, io.EOF
	}
	n := copy(p, k.out)
	k.out = k.out[n:]
	return n, nil
}

func (k *conn) Write(p []byte) (int, error) {
	k.c.mu.Lock()
	defer k.c.mu.Unlock()
	if k.closed {
		return 0, io.ErrClosedPipe
	}
	k.c.receiveLocked(k, p)
	return len(p), nil
}

func (k *conn) Close() error {
	k.c.mu.Lock()
	defer k.c.mu.Unlock()
	k.closeLocked()
	return nil
}

func (k *conn) closeLocked() {
	k.closed = true
	k.cond.Broadcast()
	if k.c.conn == k {
		k.c.conn = nil
	}
}
