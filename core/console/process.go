package console

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/creack/pty"
)

// ptySize is the window size of the pty of a process console. The columns
// are wide so that shells and line editors do not wrap long command lines
// (a wrap inserts redraw sequences into the echo the expect engine matches).
var ptySize = pty.Winsize{Rows: 24, Cols: 512}

// killGrace is how long Close waits after SIGTERM before it sends SIGKILL to
// the process group.
const killGrace = 3 * time.Second

// StartShell starts a local shell on the worker in a pty (the `local` device
// type). shell is a program with optional arguments, run as
// `sh -c "exec <shell>"`.
func StartShell(ctx context.Context, shell string) (Console, error) {
	return startPty(ctx, "shell "+shell, "exec "+shell)
}

// StartCommand runs command with `sh -c` and makes its terminal the console
// (LAVA's connection_command: "telnet localhost 7002", a QEMU command line).
// The command runs in a pty, as LAVA runs it, so that programs that want a
// terminal (telnet, qemu -nographic) behave; the pty keeps its default
// line discipline (echo on) and programs that need raw mode set it
// themselves. The command gets its own session and process group; Close
// ends the whole group.
func StartCommand(ctx context.Context, command string) (Console, error) {
	return startPty(ctx, "command "+command, command)
}

// StartTool runs the program path with args (no shell) in a pty and makes
// its terminal the console: a host tool a driver's connect step names (QEMU,
// the `local` device type's shell). name is how logs call it.
func StartTool(ctx context.Context, name, path string, args []string) (Console, error) {
	return startCmd(ctx, "tool "+name, exec.Command(path, args...))
}

func startPty(ctx context.Context, name, script string) (Console, error) {
	// Not exec.CommandContext: ctx bounds the start, the process lives
	// until Close.
	return startCmd(ctx, name, exec.Command("/bin/sh", "-c", script))
}

func startCmd(ctx context.Context, name string, cmd *exec.Cmd) (Console, error) {
	if err := ctx.Err(); err != nil {
		return nil, consoleErr(name, err)
	}
	cmd.Env = append(os.Environ(), "TERM=dumb")
	// pty.StartWithSize sets Setsid and Setctty: the process leads a new
	// session and process group (pgid == pid), which Close signals.
	master, err := pty.StartWithSize(cmd, &ptySize)
	if err != nil {
		return nil, consoleErr(name, err)
	}
	p := &processConsole{name: name, master: master, cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// processConsole is a process whose terminal is a pty we hold the master of.
type processConsole struct {
	name    string
	master  *os.File
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error // set before exited is closed

	closeOnce sync.Once
	closeErr  error
}

func (p *processConsole) Name() string { return p.name }

func (p *processConsole) Read(b []byte) (int, error) {
	n, err := p.master.Read(b)
	return n, ioErr(p.name, err)
}

func (p *processConsole) Write(b []byte) (int, error) {
	n, err := p.master.Write(b)
	if err != nil {
		return n, consoleErr(p.name, err)
	}
	return n, nil
}

// Close ends the process group (SIGTERM, then SIGKILL after a grace time),
// closes the pty and waits for the process. An exit caused by the signal is
// not an error.
func (p *processConsole) Close() error {
	p.closeOnce.Do(func() { p.closeErr = p.close() })
	return p.closeErr
}

func (p *processConsole) close() error {
	pgid := p.cmd.Process.Pid
	select {
	case <-p.exited:
	default:
		// The group may outlive its leader: signal the group, not the pid.
		// SIGHUP too: an interactive shell ignores SIGTERM.
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		_ = syscall.Kill(-pgid, syscall.SIGHUP)
		_ = syscall.Kill(-pgid, syscall.SIGCONT)
		t := time.NewTimer(killGrace)
		select {
		case <-p.exited:
			t.Stop()
		case <-t.C:
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-p.exited
		}
	}
	// Children left in the group after the leader's exit get the same end.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	if err := p.master.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
		return consoleErr(p.name, err)
	}
	return nil
}

// Process is implemented by the consoles that are a local process (Shell,
// Command).
type Process interface {
	// Exited reports whether the process has exited and, if so, its exit
	// error (nil for status 0). It is meant for logs: "the console command
	// exited with status 1".
	Exited() (bool, error)
}

func (p *processConsole) Exited() (bool, error) {
	select {
	case <-p.exited:
		return true, p.waitErr
	default:
		return false, nil
	}
}
