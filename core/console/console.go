package console

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"

	"github.com/lavalab/lavalab/sdk"
)

// Console is an open board console. Read returns the board's output, Write
// sends to the board. Close releases the console: it closes the connection or
// port and, for a console that is a process (Shell, Command), ends the
// process and its whole process group. Close is safe to call more than once
// and unblocks a pending Read.
type Console interface {
	io.ReadWriteCloser
	// Name says which console this is, as errors and logs name it:
	// "tcp 127.0.0.1:7002", "serial /dev/ttyUSB0", "command telnet localhost 7002".
	Name() string
}

// Error is an error of one console: opening it, or reading and writing it.
// Its text is "console <name>: <cause>"; Unwrap gives the cause, so
// errors.Is(err, syscall.ECONNREFUSED) works.
type Error struct {
	Console string
	Err     error
}

func (e *Error) Error() string {
	return "console " + e.Console + ": " + causeText(e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// causeText shortens the standard library's error chains where they repeat
// what the console name already says ("dial tcp 127.0.0.1:7002: connect:").
func causeText(err error) string {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		err = op.Err
	}
	var sc *os.SyscallError
	if errors.As(err, &sc) && sc.Err != nil {
		err = sc.Err
	}
	var pe *os.PathError
	if errors.As(err, &pe) && pe.Err != nil {
		err = pe.Err
	}
	return err.Error()
}

func consoleErr(name string, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Console: name, Err: err}
}

// Name returns the name Open gives the console of step, or "" when the step
// names no console.
func Name(step sdk.ConnectStep) string {
	switch {
	case step.Serial != nil:
		return "serial " + step.Serial.Device
	case step.TCP != "":
		return "tcp " + step.TCP
	case step.Telnet != "":
		return "telnet " + step.Telnet
	case step.Shell != "":
		return "shell " + step.Shell
	case step.Command != "":
		return "command " + step.Command
	}
	return ""
}

// Open opens the console that step describes. Exactly one of the step's
// fields must be set. ctx bounds the opening only (the dial, the process
// start): the console stays open until Close.
func Open(ctx context.Context, step sdk.ConnectStep) (Console, error) {
	n := 0
	for _, set := range []bool{step.Serial != nil, step.TCP != "", step.Telnet != "", step.Shell != "", step.Command != ""} {
		if set {
			n++
		}
	}
	if n != 1 {
		return nil, fmt.Errorf("console: connect step sets %d of serial, tcp, telnet, shell, command; want exactly one", n)
	}
	if err := ctx.Err(); err != nil {
		return nil, consoleErr(Name(step), err)
	}
	switch {
	case step.Serial != nil:
		return OpenSerial(*step.Serial)
	case step.TCP != "":
		return DialTCP(ctx, step.TCP)
	case step.Telnet != "":
		return DialTelnet(ctx, step.Telnet)
	case step.Shell != "":
		return StartShell(ctx, step.Shell)
	default:
		return StartCommand(ctx, step.Command)
	}
}

// DialTCP connects to a raw TCP console (ser2net raw mode, QEMU -serial tcp).
func DialTCP(ctx context.Context, addr string) (Console, error) {
	name := "tcp " + addr
	conn, err := dial(ctx, addr)
	if err != nil {
		return nil, consoleErr(name, err)
	}
	return &netConsole{name: name, conn: conn}, nil
}

func dial(ctx context.Context, addr string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "tcp", addr)
}

// netConsole is a raw TCP console.
type netConsole struct {
	name string
	conn net.Conn
}

func (c *netConsole) Name() string { return c.name }

func (c *netConsole) Read(p []byte) (int, error) {
	n, err := c.conn.Read(p)
	return n, ioErr(c.name, err)
}

func (c *netConsole) Write(p []byte) (int, error) {
	n, err := c.conn.Write(p)
	return n, consoleErr(c.name, err)
}

func (c *netConsole) Close() error {
	err := c.conn.Close()
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return consoleErr(c.name, err)
}

// ioErr keeps io.EOF bare (callers compare it with ==) and names the console
// in any other error. A read on a closed console is io.EOF too, and so is the
// EIO a pty master returns once its process has exited.
func ioErr(name string, err error) error {
	switch {
	case err == nil || err == io.EOF:
		return err
	case errors.Is(err, net.ErrClosed), errors.Is(err, os.ErrClosed), errors.Is(err, syscall.EIO):
		return io.EOF
	}
	return consoleErr(name, err)
}
