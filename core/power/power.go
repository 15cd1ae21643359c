package power

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// DefaultTimeout bounds a command whose caller gives no timeout.
const DefaultTimeout = 30 * time.Second

// MaxLine bounds one output line handed to the callback; the rest of a longer
// line comes as further lines.
const MaxLine = 64 << 10

// killGrace is how long a timed-out command has between SIGTERM and SIGKILL.
const killGrace = 2 * time.Second

// Error is a command that failed: it exited non-zero, timed out, was
// cancelled or could not start.
type Error struct {
	Command string
	// TimedOut is set when the timeout (not the caller's context) ended it.
	TimedOut bool
	Err      error
}

func (e *Error) Error() string {
	if e.TimedOut {
		return fmt.Sprintf("command %q: timed out: %v", e.Command, e.Err)
	}
	return fmt.Sprintf("command %q: %v", e.Command, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Output receives one line of a command's output (without its newline);
// stderr tells which stream it came from. Calls are serialised.
type Output func(line string, stderr bool)

// Run runs command with `sh -c`, waiting at most timeout (DefaultTimeout
// when 0) and no longer than ctx allows. Every output line goes to out (nil:
// dropped). The command's process group is killed when it runs out of time.
func Run(ctx context.Context, command string, timeout time.Duration, env []string, out Output) error {
	if strings.TrimSpace(command) == "" {
		return &Error{Command: command, Err: errors.New("empty command")}
	}
	return run(ctx, command, exec.Command("/bin/sh", "-c", command), timeout, env, out)
}

// RunArgv runs the program path with args, no shell in between, as Run runs
// a command line. name is what errors call the command (the tool's name and
// its arguments).
func RunArgv(ctx context.Context, name, path string, args []string, timeout time.Duration, env []string, out Output) error {
	if path == "" {
		return &Error{Command: name, Err: errors.New("no program")}
	}
	return run(ctx, name, exec.Command(path, args...), timeout, env, out)
}

func run(ctx context.Context, command string, cmd *exec.Cmd, timeout time.Duration, env []string, out Output) error {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	if env != nil {
		cmd.Env = env
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return &Error{Command: command, Err: err}
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return &Error{Command: command, Err: err}
	}
	if err := cmd.Start(); err != nil {
		return &Error{Command: command, Err: err}
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	pump := func(r io.Reader, isErr bool) {
		defer wg.Done()
		br := bufio.NewReaderSize(r, 4096)
		var line []byte
		for {
			chunk, isPrefix, err := br.ReadLine()
			line = append(line, chunk...)
			if err == nil && isPrefix && len(line) < MaxLine {
				continue
			}
			if err == nil || len(line) > 0 {
				if out != nil {
					mu.Lock()
					out(strings.TrimRight(string(line), "\r"), isErr)
					mu.Unlock()
				}
			}
			line = line[:0]
			if err != nil {
				return
			}
		}
	}
	wg.Add(2)
	go pump(stdout, false)
	go pump(stderr, true)

	waited := make(chan error, 1)
	pipesDone := make(chan struct{})
	go func() {
		wg.Wait()
		close(pipesDone)
	}()
	go func() {
		<-pipesDone
		waited <- cmd.Wait()
	}()
	var werr error
	select {
	case werr = <-waited:
	case <-tctx.Done():
		pgid := cmd.Process.Pid
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-waited:
		case <-time.After(killGrace):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			// Children may keep the pipes open: close our ends.
			_ = stdout.(io.Closer).Close()
			_ = stderr.(io.Closer).Close()
			<-waited
		}
		if ctx.Err() != nil {
			return &Error{Command: command, Err: ctx.Err()}
		}
		return &Error{Command: command, TimedOut: true, Err: fmt.Errorf("no end within %s", timeout)}
	}
	if werr != nil {
		return &Error{Command: command, Err: werr}
	}
	return nil
}

// RunAll runs the commands in order, stopping at the first failure. The
// timeout bounds each command.
func RunAll(ctx context.Context, commands []string, timeout time.Duration, env []string, out Output) error {
	for _, c := range commands {
		if err := Run(ctx, c, timeout, env, out); err != nil {
			return err
		}
	}
	return nil
}
