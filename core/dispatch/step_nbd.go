package dispatch

// Issue 17 (deploy to nbd): the worker exports the job's nbdroot over NBD
// with nbd-server (Debian's nbd-server; LAVA ran xnbd-server, gone from
// Debian) for the job's life.

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/lavalab/lavalab/sdk"
)

// nbdServer is a running nbd-server of a job: a daemon (it forks, one
// process a client, in its own session), known by the pid it writes.
type nbdServer struct {
	pid int
}

// serveNBD starts nbd-server on the deployed nbdroot, on a free port of the
// worker's server address, and records nbd://ADDRESS:PORT as the
// artifact's URL. The server runs until the job ends (stopNBD).
func (j *run) serveNBD() error {
	a, ok := j.worker.Artifacts["nbdroot"]
	if !ok || a.LocalPath == "" {
		return errorf(sdk.ErrorJob, "serve: NBD asked for and no nbdroot was deployed")
	}
	if j.nbd != nil {
		return nil
	}
	prog, err := exec.LookPath("nbd-server")
	if err != nil {
		return errorf(sdk.ErrorInfrastructure, "serve: nbd-server is not installed on this worker (Debian's nbd-server): %v", err)
	}
	host := j.worker.ServerIP
	if host == "" {
		host = "127.0.0.1"
	}
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return errorf(sdk.ErrorInfrastructure, "serve: a port for nbd-server on %s: %v", host, err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	pidFile := filepath.Join(j.dir, "nbd-server.pid")
	// -C /dev/null: none of the host's own exports.
	cmd := exec.Command(prog, addr, a.LocalPath, "-C", "/dev/null", "-p", pidFile)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return errorf(sdk.ErrorInfrastructure, "serve: nbd-server: %v: %s", err, strings.TrimSpace(string(out)))
	}
	deadline := time.Now().Add(10 * time.Second)
	for j.nbd == nil {
		if b, err := os.ReadFile(pidFile); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 1 {
				j.nbd = &nbdServer{pid: pid}
				break
			}
		}
		if time.Now().After(deadline) {
			return errorf(sdk.ErrorInfrastructure, "serve: nbd-server wrote no pid file: %s", strings.TrimSpace(string(out)))
		}
		time.Sleep(20 * time.Millisecond)
	}
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			return errorf(sdk.ErrorInfrastructure, "serve: nbd-server does not listen on %s: %s", addr, strings.TrimSpace(string(out)))
		}
		time.Sleep(50 * time.Millisecond)
	}
	a.URL = fmt.Sprintf("nbd://%s", addr)
	j.worker.Artifacts["nbdroot"] = a
	j.log.info("serving nbdroot over NBD at %s (nbd-server %s %s -C /dev/null, pid %d)", addr, addr, a.LocalPath, j.nbd.pid)
	return nil
}

// stopNBD stops the job's nbd-server and its clients' processes (its
// session's process group), if any.
func (j *run) stopNBD() {
	n := j.nbd
	if n == nil {
		return
	}
	j.nbd = nil
	// The pid is the daemon's only while it runs: a reused pid is left alone.
	if comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", n.pid)); err == nil && strings.TrimSpace(string(comm)) != "nbd-server" {
		return
	}
	_ = syscall.Kill(-n.pid, syscall.SIGTERM)
	_ = syscall.Kill(n.pid, syscall.SIGTERM)
	for i := 0; i < 100 && syscall.Kill(n.pid, 0) == nil; i++ {
		time.Sleep(20 * time.Millisecond)
	}
	_ = syscall.Kill(-n.pid, syscall.SIGKILL)
}
