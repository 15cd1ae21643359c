package expect

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lavalab/lavalab/sdk"
)

// board is a scripted console: the test's transcript goroutine writes the
// board's output into a pipe; what the engine sends is recorded write by
// write and can be waited for.
type board struct {
	out *io.PipeReader
	in  *io.PipeWriter

	mu     sync.Mutex
	writes []string
	got    chan struct{} // signalled on every write
}

func newBoard() *board {
	r, w := io.Pipe()
	return &board{out: r, in: w, got: make(chan struct{}, 1)}
}

func (b *board) Read(p []byte) (int, error) { return b.out.Read(p) }

func (b *board) Write(p []byte) (int, error) {
	b.mu.Lock()
	b.writes = append(b.writes, string(p))
	b.mu.Unlock()
	select {
	case b.got <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (b *board) received() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Join(b.writes, "")
}

// say writes board output, optionally after a pause.
func (b *board) say(t *testing.T, s string) {
	if _, err := io.WriteString(b.in, s); err != nil {
		t.Errorf("board write: %v", err)
	}
}

// waitInput waits until the engine has sent text ending with want.
func (b *board) waitInput(t *testing.T, want string) bool {
	deadline := time.After(10 * time.Second)
	for !strings.Contains(b.received(), want) {
		select {
		case <-b.got:
		case <-deadline:
			t.Errorf("board never received %q; got %q", want, b.received())
			return false
		}
	}
	return true
}

type logs struct {
	mu    sync.Mutex
	raw   []string
	clean []string
}

func (l *logs) options() Options {
	return Options{
		Logger: func(s string) { l.mu.Lock(); l.raw = append(l.raw, s); l.mu.Unlock() },
		OnLine: func(s string) { l.mu.Lock(); l.clean = append(l.clean, s); l.mu.Unlock() },
	}
}

func (l *logs) get() ([]string, []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.raw...), append([]string(nil), l.clean...)
}

func mustCompile(t *testing.T, ps ...sdk.Pattern) *Set {
	t.Helper()
	s, err := Compile(ps...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func re(x string) sdk.Pattern { return sdk.Pattern{Regex: x} }

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// ubootTranscript is what qemu_arm64 U-Boot 2023.01 prints, with the
// countdown redraws and a build that sends ESC[6n with its prompt.
const ubootBanner = "\r\n\r\nU-Boot 2023.01+dfsg-2+deb12u3 (Jun 22 2026 - 08:38:07 +0000)\r\n\r\n" +
	"DRAM:  512 MiB\r\n\x1b[0;32mCore:\x1b[0m  51 devices, 14 uclasses\r\n" +
	"Net:   eth0: virtio-net#32\r\n"

func TestUBootSession(t *testing.T) {
	b := newBoard()
	var l logs
	e := New(b, l.options())
	e.opts.LineEnding = "\r"
	errCh := make(chan error, 1)
	go func() {
		// The board: banner, countdown, then a prompt per command.
		b.say(t, ubootBanner)
		b.say(t, "Hit any key to stop autoboot:  2 ")
		time.Sleep(20 * time.Millisecond)
		b.say(t, "\b\b\b 1 ")
		if !b.waitInput(t, " \r") {
			return
		}
		// The interrupt stops the countdown; the extra newline runs an
		// empty command, which prints a second prompt.
		b.say(t, "\b\b\b 0 \r\n\x1b[6n=> \r\n=> ")
		for _, c := range []string{"setenv autoload no", "dhcp", "booti 0x40400000 - 0x40000000"} {
			if !b.waitInput(t, c+"\r") {
				return
			}
			b.say(t, c+"\r\n") // echo
			if c == "dhcp" {
				b.say(t, "DHCP client bound to address 10.0.2.15 (3 ms)\r\n")
			}
			if strings.HasPrefix(c, "booti") {
				b.say(t, "## Flattened Device Tree blob at 40000000\r\n\r\nStarting kernel ...\r\n\r\n")
				break
			}
			b.say(t, "\x1b[6n=> ")
		}
		errCh <- nil
	}()
	ctx := ctxT(t)
	err := e.Interrupt(ctx, sdk.InterruptStep{
		Prompt: "Hit any key to stop autoboot", Char: " ", Newline: true,
		BootloaderPrompt: "=> ", Errors: []string{"Resetting CPU"},
	})
	if err != nil {
		t.Fatal(err)
	}
	err = e.Commands(ctx, sdk.CommandsStep{
		Commands: []string{"setenv autoload no", "dhcp", "booti 0x40400000 - 0x40000000"},
		Prompt:   "=> ", Errors: []string{"TIMEOUT", "Retry count exceeded"},
		Final: []string{"Starting kernel"},
	})
	if err != nil {
		t.Fatal(err)
	}
	<-errCh
	if got, want := b.received(), " \rsetenv autoload no\rdhcp\rbooti 0x40400000 - 0x40000000\r"; got != want {
		t.Fatalf("board received %q, want %q", got, want)
	}
	raw, clean := l.get()
	rawAll := strings.Join(raw, "|")
	for _, want := range []string{"\x1b[6n=> ", "\b\b\b 1 ", "\x1b[0;32mCore:", "DRAM:  512 MiB\r"} {
		if !strings.Contains(rawAll, want) {
			t.Errorf("raw log lacks %q: %q", want, raw)
		}
	}
	cleanAll := strings.Join(clean, "|")
	for _, want := range []string{"Hit any key to stop autoboot:  0 ", "=> setenv autoload no", "Core:  51 devices, 14 uclasses"} {
		if !strings.Contains(cleanAll, want) {
			t.Errorf("clean lines lack %q: %q", want, clean)
		}
	}
	if strings.ContainsAny(cleanAll, "\x1b\r\b") {
		t.Errorf("clean lines keep control bytes: %q", clean)
	}
}

func TestPromptWithoutNewline(t *testing.T) {
	b := newBoard()
	e := New(b, Options{})
	go b.say(t, "vboard initramfs ready\r\n\x1b[6nvboard:/# ")
	m, err := e.Expect(ctxT(t), mustCompile(t, re(`vboard:[^\n]*# `)), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if m.Text != "vboard:/# " || m.Before != "vboard initramfs ready\n" {
		t.Fatalf("match %+v", m)
	}
}

func TestLeftmostMatchWinsThenFirstPattern(t *testing.T) {
	b := newBoard()
	e := New(b, Options{})
	go b.say(t, "aaa login: bbb\n")
	set := mustCompile(t, re("bbb"), re("login: "), re("log"))
	m, err := e.Expect(ctxT(t), set, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// "log" and "login: " start at the same place: the earlier pattern wins.
	if m.Index != 1 || m.Before != "aaa " {
		t.Fatalf("match %+v", m)
	}
	m, err = e.Expect(ctxT(t), set, 10*time.Second)
	if err != nil || m.Index != 0 || m.Before != "" {
		t.Fatalf("second match %+v, %v", m, err)
	}
}

func TestErrorPattern(t *testing.T) {
	b := newBoard()
	e := New(b, Options{})
	go b.say(t, "Using virtio-net#32 device\r\nTFTP from server 10.0.2.2\r\nRetry count exceeded; starting again\r\n")
	set := mustCompile(t, re("Bytes transferred"),
		sdk.Pattern{Regex: "Retry count exceeded", Fail: true, Message: "TFTP failed"})
	m, err := e.Expect(ctxT(t), set, 10*time.Second)
	var pe *PatternError
	if !errors.As(err, &pe) || m.Index != 1 {
		t.Fatalf("got %+v, %v; want a PatternError for pattern 1", m, err)
	}
	if want := `TFTP failed (matched "Retry count exceeded")`; err.Error() != want {
		t.Fatalf("error %q, want %q", err, want)
	}
}

func TestTimeout(t *testing.T) {
	b := newBoard()
	e := New(b, Options{})
	go b.say(t, "Starting kernel ...\r\n[    0.000000] Booting Linux on physical CPU 0x0")
	_, err := e.Expect(ctxT(t), mustCompile(t, re("login:"), re(`Kernel panic`)), 100*time.Millisecond)
	var te *TimeoutError
	if !errors.As(err, &te) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want a TimeoutError", err)
	}
	want := `timed out after 100ms waiting for "login:" or "Kernel panic"; last output: "Starting kernel ...\n[    0.000000] Booting Linux on physical CPU 0x0"`
	if err.Error() != want {
		t.Fatalf("error\n%s\nwant\n%s", err, want)
	}
	// The context's deadline gives the same error type.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := e.Expect(ctx, mustCompile(t, re("login:")), 0); !errors.As(err, &te) {
		t.Fatalf("deadline: %v, want a TimeoutError", err)
	}
}

func TestCancelStopsWaitAtOnce(t *testing.T) {
	b := newBoard()
	e := New(b, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	res := make(chan error, 1)
	go func() {
		_, err := e.Expect(ctx, mustCompile(t, re("never")), time.Hour)
		res <- err
	}()
	time.Sleep(20 * time.Millisecond)
	cancel()
	select {
	case err := <-res:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("error %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Expect did not return after cancel")
	}
	// The engine is free again.
	go b.say(t, "ok\n")
	if _, err := e.Expect(ctxT(t), mustCompile(t, re("ok")), 10*time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestBusy(t *testing.T) {
	b := newBoard()
	e := New(b, Options{})
	go e.Expect(ctxT(t), mustCompile(t, re("never")), 10*time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for {
		e.mu.Lock()
		waiting := e.req != nil
		e.mu.Unlock()
		if waiting {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("first Expect never started")
		}
		time.Sleep(time.Millisecond)
	}
	if _, err := e.Expect(ctxT(t), mustCompile(t, re("x")), time.Second); !errors.Is(err, ErrBusy) {
		t.Fatalf("second Expect: %v, want ErrBusy", err)
	}
}

func TestClosedConsole(t *testing.T) {
	b := newBoard()
	e := New(b, Options{})
	go func() {
		b.say(t, "last words\r\n")
		b.in.Close()
	}()
	_, err := e.Expect(ctxT(t), mustCompile(t, re("never")), 10*time.Second)
	if err == nil || !strings.Contains(err.Error(), "console closed") {
		t.Fatalf("error %v, want console closed", err)
	}
	<-e.Done()
	// Text that arrived before the close still matches.
	if _, err := e.Expect(ctxT(t), mustCompile(t, re("words")), time.Second); err != nil {
		t.Fatalf("buffered text: %v", err)
	}
}

func TestCharDelaySendsOneCharacterAtATime(t *testing.T) {
	b := newBoard()
	e := New(b, Options{LineEnding: "\r"})
	start := time.Now()
	if err := e.Send(ctxT(t), "tftp é", true, 2*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	b.mu.Lock()
	writes := append([]string(nil), b.writes...)
	b.mu.Unlock()
	want := []string{"t", "f", "t", "p", " ", "é", "\r"}
	if strings.Join(writes, "|") != strings.Join(want, "|") {
		t.Fatalf("writes %q, want %q", writes, want)
	}
	if el := time.Since(start); el < 6*2*time.Millisecond {
		t.Fatalf("7 characters 2ms apart took only %v", el)
	}
	// Without delay: one write.
	if err := e.Send(ctxT(t), "dhcp", true, 0); err != nil {
		t.Fatal(err)
	}
	if got := b.received(); !strings.HasSuffix(got, "\rdhcp\r") {
		t.Fatalf("received %q", got)
	}
	// A cancelled context stops a slow send.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := e.Send(ctx, "abc", false, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("send with cancelled context: %v", err)
	}
}

func TestLogin(t *testing.T) {
	for _, tc := range []struct {
		name, after string
		wantErr     string
	}{
		{"ok", "\r\nroot@debian:~# ", ""},
		{"refused", "\r\nLogin incorrect\r\ndebian login: ", "wait for shell: login refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBoard()
			e := New(b, Options{})
			go func() {
				b.say(t, "Debian GNU/Linux 12 debian ttyAMA0\r\n\r\ndebian login: ")
				if b.waitInput(t, "root\n") {
					b.say(t, "root\r\nPassword: ")
				}
				if b.waitInput(t, "secret\n") {
					b.say(t, tc.after)
				}
			}()
			err := e.Login(ctxT(t), sdk.LoginStep{LoginPrompt: "login:", Username: "root",
				PasswordPrompt: "Password:", Password: "secret", LoginCommands: []string{"export PS1='lava-test: # '"}})
			if err != nil {
				t.Fatal(err)
			}
			if !b.waitInput(t, "export PS1='lava-test: # '\n") {
				return
			}
			_, err = e.WaitShell(ctxT(t), sdk.ShellStep{Prompts: []string{`root@debian:~# `}})
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Fatalf("error shows the password: %v", err)
			}
		})
	}
}

func TestCommandsErrorFailsTheCommand(t *testing.T) {
	b := newBoard()
	e := New(b, Options{})
	go func() {
		if b.waitInput(t, "tftp 0x40400000 Image\n") {
			b.say(t, "tftp 0x40400000 Image\r\nTFTP from server 10.0.2.2\r\nLoading: T T T \r\nRetry count exceeded; starting again\r\n=> ")
		}
	}()
	err := e.Commands(ctxT(t), sdk.CommandsStep{
		Commands: []string{"tftp 0x40400000 Image", "booti"},
		Prompt:   "=>", Errors: []string{"Retry count exceeded"},
	})
	want := `bootloader command 1 "tftp 0x40400000 Image": error pattern "Retry count exceeded" matched "Retry count exceeded"`
	if err == nil || err.Error() != want {
		t.Fatalf("error %v\nwant %s", err, want)
	}
}

func TestWindowIsBounded(t *testing.T) {
	b := newBoard()
	e := New(b, Options{MaxWindow: 1024})
	line := strings.Repeat("x", 99) + "\n"
	long := strings.Repeat("y", 5000) // one long line without newline
	go func() {
		for range 2000 {
			b.say(t, line)
		}
		b.say(t, long+"END")
	}()
	m, err := e.Expect(ctxT(t), mustCompile(t, re("END")), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Before) > 1024 {
		t.Fatalf("before is %d bytes, window is 1024", len(m.Before))
	}
	e.mu.Lock()
	n := cap(e.scr.buf)
	e.mu.Unlock()
	if n > 4*readSize {
		t.Fatalf("window buffer grew to %d bytes", n)
	}
}

// TestCommandsEachBoundsEveryCommand: a bootloader command that never gives
// the prompt back fails after the per-command (connection) timeout, naming
// the command, while the step's own deadline is far away; the commands
// after it are not sent.
func TestCommandsEachBoundsEveryCommand(t *testing.T) {
	b := newBoard()
	e := New(b, Options{})
	go func() {
		if b.waitInput(t, "setenv autoload no\n") {
			b.say(t, "setenv autoload no\r\n=> ")
		}
		if b.waitInput(t, "dhcp\n") {
			// The network never answers: no prompt comes back.
			b.say(t, "dhcp\r\nBOOTP broadcast 1\r\nBOOTP broadcast 2\r\n")
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	const per = 300 * time.Millisecond
	err := e.CommandsEach(ctx, sdk.CommandsStep{
		Commands: []string{"setenv autoload no", "dhcp", "tftp 0x40400000 Image", "booti 0x40400000 - 0x40000000"},
		Prompt:   "=> ", Errors: []string{"Retry count exceeded"},
	}, per)
	var te *TimeoutError
	if !errors.As(err, &te) || te.Timeout != per {
		t.Fatalf("error %v, want a timeout after %s", err, per)
	}
	if ctx.Err() != nil {
		t.Fatal("the step's deadline ended the wait, not the per-command timeout")
	}
	want := `bootloader command 2 "dhcp": timed out after 300ms waiting for "=> " or "Retry count exceeded"; `
	if !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error\n%s\nwant it to start with\n%s", err, want)
	}
	if got := b.received(); strings.Contains(got, "tftp") {
		t.Errorf("commands after the one that timed out were sent: %q", got)
	}
}

// TestCommandsEachBoundsTheFinalWait: after the last command, the wait for
// the kernel's start message has the same per-command bound.
func TestCommandsEachBoundsTheFinalWait(t *testing.T) {
	b := newBoard()
	e := New(b, Options{})
	go func() {
		if b.waitInput(t, "bootz 0x01000000 - 0x00001000\n") {
			b.say(t, "bootz 0x01000000 - 0x00001000\r\nBad Linux ARM zImage magic!\r\n=> ")
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	err := e.CommandsEach(ctx, sdk.CommandsStep{
		Commands: []string{"bootz 0x01000000 - 0x00001000"}, Prompt: "=> ", Final: []string{"Starting kernel"},
	}, 200*time.Millisecond)
	var te *TimeoutError
	if !errors.As(err, &te) || te.Timeout != 200*time.Millisecond || ctx.Err() != nil {
		t.Fatalf("error %v, want the per-command timeout", err)
	}
	if !strings.HasPrefix(err.Error(), `bootloader commands: after the last command "bootz 0x01000000 - 0x00001000": timed out after 200ms waiting for "Starting kernel"`) {
		t.Errorf("error %v", err)
	}
}

// A line a match ends in is logged whole when the console sends its rest
// soon after (a kernel banner matched by its start); a prompt, which never
// ends, is logged on its own after PartialLineWait.
func TestMatchedLineLoggedWhole(t *testing.T) {
	b := newBoard()
	var l logs
	e := New(b, l.options())
	// The rest of the banner comes however late the test goroutine runs:
	// the banner line waits for it an hour, the prompt PartialLineWait.
	setPartialWait(e, time.Hour)
	go b.say(t, "Starting kernel ...\r\n\r\n[    0.000000] Linux version 6")
	if _, err := e.Expect(ctxT(t), mustCompile(t, re(`Linux version [0-9]`)), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	setPartialWait(e, PartialLineWait)
	go b.say(t, ".1.0-57-arm64 (debian-kernel@lists.debian.org)\r\nvlab login: ")
	if _, err := e.Expect(ctxT(t), mustCompile(t, re(`login: `)), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	want := []string{"Starting kernel ...\r", "\r", "[    0.000000] Linux version 6.1.0-57-arm64 (debian-kernel@lists.debian.org)\r", "vlab login: "}
	deadline := time.Now().Add(10 * time.Second)
	for {
		raw, _ := l.get()
		if slices.Equal(raw, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("logged %q, want %q", raw, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func setPartialWait(e *Engine, d time.Duration) {
	e.mu.Lock()
	e.partialWait = d
	e.mu.Unlock()
}
