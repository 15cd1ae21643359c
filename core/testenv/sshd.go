package testenv

// Issue 17: the virtual `ssh` device, an OpenSSH server on a loopback port.

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// SSHD is a running sshd for a test: it listens on Host:Port, has its own
// host key, and lets User in with the key IdentityFile only.
type SSHD struct {
	Host, User, IdentityFile string
	Port                     int
	// Log is sshd's own log file (-E).
	Log string
}

// sshdPath finds OpenSSH's server (Debian's openssh-server puts it in
// /usr/sbin, which a user's PATH may lack).
func sshdPath() (string, error) {
	if p, err := exec.LookPath("sshd"); err == nil {
		return p, nil
	}
	const p = "/usr/sbin/sshd"
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("sshd is not installed (Debian's openssh-server): %w", err)
	}
	return p, nil
}

// StartSSHD starts an sshd on a free loopback port for the test's life,
// with a host key and a client key generated for it. Every session runs
// forceCommand when it is not empty (the login shell of the device, say
// `env PS1='# ' /bin/sh -i`). It skips (fails under CI=true) without
// sshd, ssh-keygen and ssh. Run as root it needs sshd's privilege
// separation folder /run/sshd, which it creates when missing (as the
// package's service does).
func StartSSHD(t testing.TB, forceCommand string) *SSHD {
	t.Helper()
	cf := PrepareSSHD(t, forceCommand)
	sshd, dir, port, confPath := cf.Sshd, filepath.Dir(cf.Config), cf.Port, cf.Config
	logPath := filepath.Join(dir, "sshd.log")
	cmd := exec.Command(sshd, "-D", "-f", confPath, "-E", logPath)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("sshd: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
		if err == nil {
			c.Close()
			break
		}
		select {
		case err := <-exited:
			log, _ := os.ReadFile(logPath)
			t.Fatalf("sshd exited: %v\n%s%s", err, stderr.String(), log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("sshd does not listen on port %d", port)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return &SSHD{Host: "127.0.0.1", Port: port, User: cf.User, IdentityFile: cf.IdentityFile, Log: logPath}
}

// SSHDConfig is an sshd made ready by PrepareSSHD but not started: run
// `Sshd -f Config` (it goes to the background once it listens, and writes
// its pid to PidFile).
type SSHDConfig struct {
	Sshd, Config, PidFile, User, IdentityFile string
	Port                                      int
}

// PrepareSSHD writes, for the test's life, a host key, a client key
// (IdentityFile, authorized for the current user) and an sshd
// configuration listening on a free loopback port, running forceCommand
// for every session when not empty. It skips (fails under CI=true)
// without sshd, ssh-keygen and ssh; as root it makes sshd's privilege
// separation folder /run/sshd when missing. The caller starts sshd (a
// multinode host role's test shell does, issue 21); StartSSHD starts it
// in the foreground for the test.
func PrepareSSHD(t testing.TB, forceCommand string) *SSHDConfig {
	t.Helper()
	sshd, err := sshdPath()
	Need(t, err == nil, fmt.Sprint(err))
	keygen := NeedTool(t, "ssh-keygen")
	NeedTool(t, "ssh")
	u, err := user.Current()
	if err != nil {
		t.Fatalf("sshd: current user: %v", err)
	}
	if os.Geteuid() == 0 {
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			t.Fatalf("sshd: privilege separation folder: %v", err)
		}
	}
	dir := t.TempDir()
	for _, k := range []string{"host_key", "id_ed25519"} {
		out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", "", "-C", "lavalab-test", "-f", filepath.Join(dir, k)).CombinedOutput()
		if err != nil {
			t.Fatalf("ssh-keygen %s: %v\n%s", k, err, out)
		}
	}
	pub, err := os.ReadFile(filepath.Join(dir, "id_ed25519.pub"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), pub, 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	pidFile := filepath.Join(dir, "sshd.pid")
	var conf bytes.Buffer
	fmt.Fprintf(&conf, "Port %d\nListenAddress 127.0.0.1\nHostKey %s\nAuthorizedKeysFile %s\nPidFile %s\n",
		port, filepath.Join(dir, "host_key"), filepath.Join(dir, "authorized_keys"), pidFile)
	conf.WriteString("UsePAM no\nStrictModes no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n" +
		"PubkeyAuthentication yes\nPermitRootLogin prohibit-password\nAllowUsers " + u.Username + "\n" +
		"PrintMotd no\nPrintLastLog no\nX11Forwarding no\nAllowTcpForwarding no\nLogLevel VERBOSE\n")
	if forceCommand != "" {
		conf.WriteString("ForceCommand " + forceCommand + "\n")
	}
	confPath := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(confPath, conf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return &SSHDConfig{Sshd: sshd, Config: confPath, PidFile: pidFile, User: u.Username, IdentityFile: filepath.Join(dir, "id_ed25519"), Port: port}
}
