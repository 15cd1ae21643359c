package console

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/lavalab/lavalab/sdk"
	"go.bug.st/serial"
)

// reader collects what a console returns, so a test can wait for text.
type reader struct {
	ch   chan []byte
	done chan error
	buf  bytes.Buffer
}

func startReader(r io.Reader) *reader {
	rd := &reader{ch: make(chan []byte, 64), done: make(chan error, 1)}
	go func() {
		b := make([]byte, 4096)
		for {
			n, err := r.Read(b)
			if n > 0 {
				rd.ch <- append([]byte(nil), b[:n]...)
			}
			if err != nil {
				rd.done <- err
				return
			}
		}
	}()
	return rd
}

// waitFor reads until the collected output contains want n times.
func (rd *reader) waitFor(t *testing.T, want string, n int) string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for strings.Count(rd.buf.String(), want) < n {
		select {
		case b := <-rd.ch:
			rd.buf.Write(b)
		case err := <-rd.done:
			t.Fatalf("console ended (%v) before %q x%d; got %q", err, want, n, rd.buf.String())
		case <-deadline:
			t.Fatalf("no %q x%d within 10s; got %q", want, n, rd.buf.String())
		}
	}
	return rd.buf.String()
}

// waitEnd waits for the read loop to end and returns its error.
func (rd *reader) waitEnd(t *testing.T) error {
	t.Helper()
	for {
		select {
		case b := <-rd.ch:
			rd.buf.Write(b)
		case err := <-rd.done:
			return err
		case <-time.After(10 * time.Second):
			t.Fatal("read did not end within 10s")
		}
	}
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

func TestOpenRefusesBadSteps(t *testing.T) {
	for _, tc := range []struct {
		name string
		step sdk.ConnectStep
		want string
	}{
		{"none", sdk.ConnectStep{}, "sets 0 of"},
		{"two", sdk.ConnectStep{TCP: "a:1", Telnet: "a:1"}, "sets 2 of"},
		{"serial no device", sdk.ConnectStep{Serial: &sdk.SerialPort{}}, "console serial: no device given"},
		{"serial bad parity", sdk.ConnectStep{Serial: &sdk.SerialPort{Device: "/dev/null", Parity: "x"}},
			`console serial /dev/null: parity "x" is not n, e or o`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Open(context.Background(), tc.step)
			if err == nil {
				c.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestTCPConnectionRefusedNamesConsole(t *testing.T) {
	ln := listen(t)
	addr := ln.Addr().String()
	ln.Close()
	_, err := Open(context.Background(), sdk.ConnectStep{TCP: addr})
	if err == nil {
		t.Fatal("dial to a closed port succeeded")
	}
	if want := "console tcp " + addr + ": connection refused"; err.Error() != want {
		t.Fatalf("error %q, want %q", err, want)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("error %v does not wrap ECONNREFUSED", err)
	}
}

func TestTCPConsole(t *testing.T) {
	ln := listen(t)
	got := make(chan string, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		conn.Write([]byte("U-Boot 2023.01\r\n=> \xff"))
		b := make([]byte, 64)
		n, _ := io.ReadAtLeast(conn, b, 6)
		got <- string(b[:n])
	}()
	c, err := Open(context.Background(), sdk.ConnectStep{TCP: ln.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	if c.Name() != "tcp "+ln.Addr().String() {
		t.Fatalf("name %q", c.Name())
	}
	rd := startReader(c)
	rd.waitFor(t, "=> \xff", 1) // raw TCP passes 0xFF through
	if _, err := c.Write([]byte("help\r\xff")); err != nil {
		t.Fatal(err)
	}
	if g := <-got; g != "help\r\xff" {
		t.Fatalf("server got %q", g)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := rd.waitEnd(t); err != io.EOF {
		t.Fatalf("read after close: %v, want io.EOF", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestTelnetDecode(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      string
		data    string
		replies string
	}{
		{"plain", "hello\r\n", "hello\r\n", ""},
		{"escaped ff", "a\xff\xffb", "a\xffb", ""},
		{"qemu opening", "\xff\xfb\x01\xff\xfb\x03\xff\xfb\x00\xff\xfd\x00U-Boot",
			"U-Boot", "\xff\xfd\x01\xff\xfd\x03\xff\xfd\x00\xff\xfb\x00"},
		{"refused options", "\xff\xfd\x18\xff\xfb\x05\xff\xfd\x1fx", "x", "\xff\xfc\x18\xff\xfe\x05\xff\xfc\x1f"},
		{"subnegotiation stripped", "a\xff\xfa\x18\x01\xff\xff\xff\xf0b", "ab", ""},
		{"commands stripped", "a\xff\xf1b\xff\xf9c", "abc", ""},
		{"cr nul", "a\r\x00b\r\nc", "a\rb\r\nc", ""},
		{"ack not answered", "\xff\xfb\x01\xff\xfb\x01\xff\xfc\x02", "", "\xff\xfd\x01"},
		{"wont after will", "\xff\xfb\x03\xff\xfc\x03", "", "\xff\xfd\x03\xff\xfe\x03"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := make([]byte, len(tc.in))
			// Feed byte by byte too: the state must survive any split.
			for _, split := range []int{len(tc.in), 1} {
				c := newTelnet("test", nil)
				var data, replies []byte
				for i := 0; i < len(tc.in); i += split {
					j := min(i+split, len(tc.in))
					n, r := c.decode([]byte(tc.in[i:j]), out)
					data = append(data, out[:n]...)
					replies = append(replies, r...)
				}
				if string(data) != tc.data || string(replies) != tc.replies {
					t.Fatalf("split %d: data %q replies %q, want %q %q", split, data, replies, tc.data, tc.replies)
				}
			}
		})
	}
}

func TestTelnetConsole(t *testing.T) {
	ln := listen(t)
	type result struct{ negotiation, data string }
	got := make(chan result, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		// ser2net-like opening: WILL ECHO, WILL SGA, DO TTYPE, then data.
		conn.Write([]byte("\xff\xfb\x01\xff\xfb\x03\xff\xfd\x18"))
		neg := make([]byte, 9)
		if _, err := io.ReadFull(conn, neg); err != nil {
			return
		}
		conn.Write([]byte("Hit any key\xff\xf9\r\x00=> "))
		data := make([]byte, 7)
		n, _ := io.ReadFull(conn, data)
		got <- result{string(neg), string(data[:n])}
	}()
	c, err := Open(context.Background(), sdk.ConnectStep{Telnet: ln.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rd := startReader(c)
	out := rd.waitFor(t, "=> ", 1)
	if out != "Hit any key\r=> " {
		t.Fatalf("read %q", out)
	}
	if _, err := c.Write([]byte("a\xffb\rc")); err != nil {
		t.Fatal(err)
	}
	r := <-got
	if want := "\xff\xfd\x01\xff\xfd\x03\xff\xfc\x18"; r.negotiation != want {
		t.Fatalf("negotiation answers %q, want %q", r.negotiation, want)
	}
	if want := "a\xff\xffb\r\x00c"; r.data != want {
		t.Fatalf("server got %q, want %q", r.data, want)
	}
}

func TestShellConsole(t *testing.T) {
	c, err := Open(context.Background(), sdk.ConnectStep{Shell: "/bin/sh"})
	if err != nil {
		t.Fatal(err)
	}
	rd := startReader(c)
	if _, err := c.Write([]byte("echo hello-$((40+2))\n")); err != nil {
		t.Fatal(err)
	}
	rd.waitFor(t, "hello-42", 1) // the echo shows $((40+2)); only the output says 42
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := rd.waitEnd(t); err != io.EOF {
		t.Fatalf("read after close: %v, want io.EOF", err)
	}
	if exited, _ := c.(Process).Exited(); !exited {
		t.Fatal("shell still running after Close")
	}
}

func TestCommandConsole(t *testing.T) {
	c, err := Open(context.Background(), sdk.ConnectStep{Command: "cat"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Name() != "command cat" {
		t.Fatalf("name %q", c.Name())
	}
	rd := startReader(c)
	if _, err := c.Write([]byte("ping\n")); err != nil {
		t.Fatal(err)
	}
	// The pty echoes the line, then cat writes it back.
	rd.waitFor(t, "ping\r\n", 2)
}

func TestCommandExitEndsRead(t *testing.T) {
	c, err := StartCommand(context.Background(), "echo bye; exit 3")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rd := startReader(c)
	rd.waitFor(t, "bye", 1)
	if err := rd.waitEnd(t); err != io.EOF {
		t.Fatalf("read after exit: %v, want io.EOF", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		exited, err := c.(Process).Exited()
		if exited {
			if err == nil || !strings.Contains(err.Error(), "exit status 3") {
				t.Fatalf("exit error %v, want exit status 3", err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("command not reaped")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestCommandCloseKillsGroup(t *testing.T) {
	// The background sleep is a grandchild in the same process group; it
	// must not survive Close.
	c, err := StartCommand(context.Background(), "sleep 1000 & echo pid=$!.; wait")
	if err != nil {
		t.Fatal(err)
	}
	rd := startReader(c)
	out := rd.waitFor(t, ".", 1)
	_, after, _ := strings.Cut(out, "pid=")
	pid, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(after), "."))
	if err != nil {
		t.Fatalf("no pid in %q", out)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	// Dead means gone or a zombie (whoever reaps orphans may be slow).
	deadline := time.Now().Add(10 * time.Second)
	for {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil || strings.Contains(string(stat), ") Z ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("background process %d still alive after Close: %s", pid, stat)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSerialMode(t *testing.T) {
	for _, tc := range []struct {
		in      sdk.SerialPort
		want    serial.Mode
		wantErr string
	}{
		{in: sdk.SerialPort{}, want: serial.Mode{BaudRate: 115200, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit}},
		{in: sdk.SerialPort{Baud: 9600, Parity: "e", DataBits: 7, StopBits: 2},
			want: serial.Mode{BaudRate: 9600, DataBits: 7, Parity: serial.EvenParity, StopBits: serial.TwoStopBits}},
		{in: sdk.SerialPort{Baud: 57600, Parity: "O", StopBits: 1},
			want: serial.Mode{BaudRate: 57600, DataBits: 8, Parity: serial.OddParity, StopBits: serial.OneStopBit}},
		{in: sdk.SerialPort{Parity: "none"}, want: serial.Mode{BaudRate: 115200, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit}},
		{in: sdk.SerialPort{Parity: "m"}, wantErr: `parity "m" is not n, e or o`},
		{in: sdk.SerialPort{DataBits: 9}, wantErr: "data bits 9 is not 5, 6, 7 or 8"},
		{in: sdk.SerialPort{StopBits: 3}, wantErr: "stop bits 3 is not 1 or 2"},
		{in: sdk.SerialPort{Baud: -1}, wantErr: "baud rate -1 is negative"},
	} {
		got, err := SerialMode(tc.in)
		if tc.wantErr != "" {
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("%+v: error %v, want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%+v: %v", tc.in, err)
			continue
		}
		if *got != tc.want {
			t.Errorf("%+v: mode %+v, want %+v", tc.in, *got, tc.want)
		}
	}
}

func TestSerialOverPty(t *testing.T) {
	master, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pty available: %v", err)
	}
	defer master.Close()
	defer tty.Close()
	c, err := Open(context.Background(), sdk.ConnectStep{Serial: &sdk.SerialPort{Device: tty.Name(), Baud: 115200}})
	if err != nil {
		t.Fatalf("go.bug.st/serial cannot open the pty %s: %v", tty.Name(), err)
	}
	if c.Name() != "serial "+tty.Name() {
		t.Fatalf("name %q", c.Name())
	}
	rd := startReader(c)
	if _, err := master.Write([]byte("=> ")); err != nil {
		t.Fatal(err)
	}
	rd.waitFor(t, "=> ", 1)
	if _, err := c.Write([]byte("version\r")); err != nil {
		t.Fatal(err)
	}
	mr := startReader(master)
	mr.waitFor(t, "version\r", 1) // raw mode: no CR translation, no echo
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := rd.waitEnd(t); err != io.EOF {
		t.Fatalf("read after close: %v, want io.EOF", err)
	}
}

// A program started with SIGHUP ignored passes the ignore on to its
// console processes; RestoreChildSignals gives them the default back, so
// Close ends an interactive shell with SIGHUP rather than with the SIGKILL
// after killGrace.
func TestRestoreChildSignals(t *testing.T) {
	signal.Ignore(syscall.SIGHUP)
	t.Cleanup(func() { signal.Reset(syscall.SIGHUP) })
	endedBy := func() syscall.Signal {
		c, err := Open(context.Background(), sdk.ConnectStep{Shell: "/bin/sh"})
		if err != nil {
			t.Fatal(err)
		}
		rd := startReader(c)
		if _, err := c.Write([]byte("echo ready-$((40+2))\n")); err != nil {
			t.Fatal(err)
		}
		rd.waitFor(t, "ready-42", 1)
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		_, werr := c.(Process).Exited()
		var ee *exec.ExitError
		if !errors.As(werr, &ee) {
			t.Fatalf("the shell's exit: %v, want a signal", werr)
		}
		return ee.Sys().(syscall.WaitStatus).Signal()
	}
	if got := endedBy(); got != syscall.SIGKILL {
		t.Fatalf("with SIGHUP ignored the shell ended by %v; this test expects SIGKILL (the case it is about)", got)
	}
	if !RestoreChildSignals() {
		t.Fatal("RestoreChildSignals did not see SIGHUP ignored")
	}
	if got := endedBy(); got != syscall.SIGHUP {
		t.Fatalf("after RestoreChildSignals the shell ended by %v, want SIGHUP", got)
	}
}
