package e2e

// Issue 17: the ssh device type end to end: lava-server, lava-worker
// (allowing the ssh tool for the device type) and the virtual ssh device,
// an sshd on a loopback port (testenv.StartSSHD).
//
//	LAVALAB_E2E=1 go test -run TestSSHDeviceE2E -v ./core/e2e

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/testenv"
)

// sshDictionary is examples/devices/ssh-01.jinja2 pointed at the sshd.
func sshDictionary(t *testing.T, root string, s *testenv.SSHD, results string) []byte {
	text, err := os.ReadFile(filepath.Join(root, "examples", "devices", "ssh-01.jinja2"))
	must(t, err)
	out := string(text)
	for key, val := range map[string]string{"ssh_host": "'" + s.Host + "'", "ssh_port": fmt.Sprint(s.Port), "ssh_user": "'" + s.User + "'",
		"ssh_identity_file": "'" + s.IdentityFile + "'", "lava_test_results_dir": "'" + results + "'"} {
		re := regexp.MustCompile(`\{% set ` + key + ` = .*? %\}`)
		if !re.MatchString(out) {
			t.Fatalf("examples/devices/ssh-01.jinja2 sets no %s", key)
		}
		out = re.ReplaceAllString(out, "{% set "+key+" = "+val+" %}")
	}
	return []byte(out)
}

// TestSSHDeviceE2E submits examples/jobs/ssh-smoke.yaml to a real server
// whose worker runs it on the virtual ssh device: the job is Complete with
// LAVA's lava result cases and the test cases of the shell in the session.
func TestSSHDeviceE2E(t *testing.T) {
	root := needBinaries(t, "drivers/ssh.wasm")
	s := testenv.StartSSHD(t, "env PS1='lava-ssh# ' /bin/sh -i")
	l := &lab{t: t, top: t, root: root, data: t.TempDir(), httpClient: &http.Client{Timeout: 60 * time.Second}}
	l.cache = compileCache(t)
	drv := filepath.Join(l.data, "drivers")
	must(t, os.MkdirAll(drv, 0o755))
	wasm, err := os.ReadFile(filepath.Join(root, "bin", "drivers", "ssh.wasm"))
	must(t, err)
	must(t, os.WriteFile(filepath.Join(drv, "ssh.wasm"), wasm, 0o644))
	l.token = l.admin("user", "add", "admin", "--admin")
	must(t, os.WriteFile(filepath.Join(l.data, "w1.token"), []byte(l.admin("worker", "add", "w1")+"\n"), 0o600))
	l.admin("device-type", "add", "ssh")
	dict := filepath.Join(l.data, "ssh-01.jinja2")
	must(t, os.WriteFile(dict, sshDictionary(t, root, s, filepath.Join(l.data, "results-%s")), 0o644))
	l.admin("device", "add", "ssh-01", "--type", "ssh", "--worker", "w1", "--dict", dict, "--health", "good")
	l.startServer()
	startWorkerArgs(l, "--allow-tool", "ssh@ssh")

	def, err := os.ReadFile(filepath.Join(root, "examples", "jobs", "ssh-smoke.yaml"))
	must(t, err)
	id := l.submit(string(def))
	j := l.waitFinished(id)
	if j.Health != "Complete" {
		t.Fatalf("job %d: %s (%s): %s\n%s", id, j.Health, j.ErrorType, j.FailureComment, tail(logText(l.logs(id)), 40))
	}
	wantCases(t, id, l.results(id), map[string]string{
		"0_ssh-smoke/over-ssh": "pass", "0_ssh-smoke/job-id": "pass",
		"lava/scp-overlay": "pass", "lava/login-ssh": "pass", "lava/lava-test-retry": "pass", "lava/0_ssh-smoke": "pass", "lava/job": "pass",
	})
	wantLog(t, id, l.logs(id), `host tool ssh .* -p `+fmt.Sprint(s.Port)+` `+regexp.QuoteMeta(s.User+"@127.0.0.1"))
}

// needBinaries skips (outside CI) or fails (CI=true) unless the end-to-end
// tests are asked for and make build's binaries are there, with the
// drivers named.
func needBinaries(t *testing.T, drivers ...string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test with real processes: not in -short")
	}
	if os.Getenv("LAVALAB_E2E") != "1" {
		t.Skip("end-to-end tests run with make test-e2e (LAVALAB_E2E=1)")
	}
	root := testenv.RepoRoot(t)
	for _, f := range append([]string{"lava-server", "lava-worker"}, drivers...) {
		_, err := os.Stat(filepath.Join(root, "bin", f))
		testenv.Need(t, err == nil, fmt.Sprintf("bin/%s is missing: run make build (make test-e2e does)", f))
	}
	return root
}

// startWorkerArgs runs lava-worker w1 for the lab with extra arguments.
func startWorkerArgs(l *lab, extra ...string) {
	t := l.t
	work := filepath.Join(l.data, "worker")
	must(t, os.MkdirAll(work, 0o755))
	must(t, os.Symlink(l.cache, filepath.Join(work, "wasm-cache")))
	l.workerLog = filepath.Join(l.data, "worker.log")
	logf, err := os.Create(l.workerLog)
	must(t, err)
	args := append([]string{"--url", l.url, "--name", "w1", "--token-file", filepath.Join(l.data, "w1.token"), "--work-dir", work,
		"--drivers-dir", filepath.Join(l.data, "drivers"), "--poll-wait", "2s"}, extra...)
	cmd := exec.Command(filepath.Join(l.root, "bin", "lava-worker"), args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	must(t, cmd.Start())
	l.worker = cmd
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); logf.Close() }()
	t.Cleanup(func() {
		stopProcess(cmd, exited, 30*time.Second)
		if t.Failed() {
			t.Logf("lava-worker log (tail):\n%s", tailFile(l.workerLog, 40))
		}
	})
}
