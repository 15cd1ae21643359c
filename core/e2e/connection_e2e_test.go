package e2e

// Issue 21: a multinode connection role (LAVA's `connection: ssh` guest)
// end to end: lava-server, lava-worker w1 with a `local` device whose test
// shell starts an sshd (the host role), and a guest sub-job with no device
// that the worker runs with the ssh driver and the host device's ssh
// variables.
//
//	LAVALAB_E2E=1 go test -run TestConnectionRoleE2E -v ./core/e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/testenv"
)

// connectionGuestPrompt is the shell prompt of the guest's ssh sessions.
const connectionGuestPrompt = "lava-guest# "

// connectionJob: the host role starts the sshd, sends its address (ipv4
// ipaddr=127.0.0.1) and lava_start, then waits for the guest at a sync
// and stops the sshd; the guest (request: lava-start) logs in to the
// address and runs its test over ssh.
func connectionJob(s *testenv.SSHDConfig) string {
	return fmt.Sprintf(`job_name: ssh guest of a local host
visibility: public
priority: medium
timeouts:
  job: {minutes: 3}
  action: {minutes: 2}
protocols:
  lava-multinode:
    timeout: {minutes: 1}
    roles:
      host: {device_type: local, count: 1}
      guest: {connection: ssh, count: 1, host_role: host, expect_role: host, request: lava-start}
actions:
- deploy: {to: ssh, os: debian, role: [guest]}
- boot:
    role: [host]
    method: minimal
    prompts: ['lava-local: # ']
- boot:
    role: [guest]
    method: ssh
    connection: ssh
    prompts: ['%s']
    parameters: {hostID: ipv4, host_key: ipaddr}
- test:
    role: [host]
    definitions:
    - from: inline
      name: host
      path: inline/host.yaml
      repository:
        metadata: {format: Lava-Test Test Definition 1.0, name: host}
        run:
          steps:
          - lava-test-case sshd-started --shell %s -f %s
          - lava-send ipv4 ipaddr=127.0.0.1
          - lava-send lava_start
          - lava-sync guest-done
          - kill $(cat %s)
- test:
    role: [guest]
    definitions:
    - from: inline
      name: guest
      path: inline/guest.yaml
      repository:
        metadata: {format: Lava-Test Test Definition 1.0, name: guest}
        run:
          steps:
          - lava-test-case over-ssh --shell test -n "$SSH_CONNECTION"
          - test "$(lava-role)" = guest && lava-test-case role --result pass
          - lava-test-case answer --result pass --measurement 42 --units things
          - lava-sync guest-done
`, connectionGuestPrompt, s.Sshd, s.Config, s.PidFile)
}

// TestConnectionRoleE2E submits a two-role job whose guest role has no
// device: the guest sub-job runs on the host's worker holding no device,
// waits for the host's lava_start, logs in over ssh to the address the
// host sent and records its results there; the group is Complete.
func TestConnectionRoleE2E(t *testing.T) {
	root := needBinaries(t, "drivers/local.wasm", "drivers/ssh.wasm")
	s := testenv.PrepareSSHD(t, "env PS1='"+connectionGuestPrompt+"' /bin/sh -i")
	t.Cleanup(func() { // the host's test stops the sshd; make sure
		if b, err := os.ReadFile(s.PidFile); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				_ = syscall.Kill(pid, syscall.SIGTERM)
			}
		}
	})
	start := time.Now()
	l := &lab{t: t, top: t, root: root, data: t.TempDir(), httpClient: &http.Client{Timeout: 60 * time.Second}}
	l.cache = compileCache(t)
	drv := filepath.Join(l.data, "drivers")
	must(t, os.MkdirAll(drv, 0o755))
	for _, name := range []string{"local.wasm", "ssh.wasm"} {
		wasm, err := os.ReadFile(filepath.Join(root, "bin", "drivers", name))
		must(t, err)
		must(t, os.WriteFile(filepath.Join(drv, name), wasm, 0o644))
	}
	l.token = l.admin("user", "add", "admin", "--admin")
	must(t, os.WriteFile(filepath.Join(l.data, "w1.token"), []byte(l.admin("worker", "add", "w1")+"\n"), 0o600))
	l.admin("device-type", "add", "local")
	l.admin("device-type", "add", "ssh")
	// The host device's dictionary gives the ssh variables its guests
	// log in with (LAVA's guest runs with its host device's configuration).
	dict := filepath.Join(l.data, "local-01.yaml")
	// Its power off leaves the job id in DATA/power-off: the guest must not
	// power off its host's board (LAVA minimises the host's configuration).
	powerOff := filepath.Join(l.data, "power-off")
	must(t, os.WriteFile(dict, fmt.Appendf(nil, "extends: local\nsettings:\n  hostname: local-01\n  lava_test_results_dir: %s\n  ssh_port: %d\n  ssh_user: %s\n  ssh_identity_file: %s\n"+
		"  power_off_command: 'echo $LAVA_JOB_ID >> %s'\n",
		filepath.Join(l.data, "results-%s"), s.Port, s.User, s.IdentityFile, powerOff), 0o644))
	l.admin("device", "add", "local-01", "--type", "local", "--worker", "w1", "--dict", dict, "--health", "good")
	l.startServer()
	startWorkerArgs(l, "--allow-tool", "sh@local", "--allow-tool", "ssh@ssh")

	ids := l.submitMultinode(connectionJob(s))
	host, guest := ids[0], ids[1]
	for _, id := range ids {
		if j := l.waitFinished(id); j.Health != "Complete" {
			t.Errorf("sub-job %d: %s (%s): %s\nlog tail:\n%s", id, j.Health, j.ErrorType, j.FailureComment, tail(logText(l.logs(id)), 40))
		}
	}
	if t.Failed() {
		return
	}
	h, g := l.getJob(host), l.getJob(guest)
	if h.ActualDevice != "local-01" || g.ActualDevice != "" || g.Worker != "w1" {
		t.Errorf("host on %q/%s, guest on %q/%s: want the guest on the host's worker w1 without a device", h.ActualDevice, h.Worker, g.ActualDevice, g.Worker)
	}
	if b, _ := os.ReadFile(powerOff); strings.TrimSpace(string(b)) != strconv.FormatInt(host, 10) {
		t.Errorf("power-off trace %q: want the host's job %d only (the guest powers nothing off)", b, host)
	}
	if d := l.device("local-01"); d.State != "Idle" {
		t.Errorf("local-01 is %s after the group", d.State)
	}
	wantCases(t, host, l.results(host), map[string]string{"0_host/sshd-started": "pass", "0_host/multinode-send-ipv4": "pass",
		"0_host/multinode-send-lava_start": "pass", "0_host/multinode-sync-guest-done": "pass"})
	wantCases(t, guest, l.results(guest), map[string]string{"0_guest/over-ssh": "pass", "0_guest/role": "pass", "0_guest/answer": "pass",
		"0_guest/multinode-sync-guest-done": "pass", "lava/login-ssh": "pass", "lava/scp-overlay": "pass", "lava/job": "pass"})
	wantLog(t, guest, l.logs(guest), `waiting for lava_start from role host`, `host address 127\.0\.0\.1 \(message ipv4, key ipaddr of role host\)`,
		`host tool ssh .* -p `+strconv.Itoa(s.Port)+` `+s.User+`@127\.0\.0\.1`)
	t.Logf("connection role group Complete in %.1f s (lab start included)", time.Since(start).Seconds())

	// The group's fate holds for a guest: a guest whose host message lacks
	// the key it names ends Incomplete, and so does the host, with the
	// reason.
	start = time.Now()
	ids = l.submitMultinode(strings.Replace(connectionJob(s), "host_key: ipaddr", "host_key: port", 1))
	host, guest = ids[0], ids[1]
	if j := l.waitFinished(guest); j.Health != "Incomplete" || !strings.Contains(j.FailureComment, "the message ipv4 of role host has no key port") {
		t.Errorf("guest %d: %s (%s): %s, want Incomplete naming the missing key", guest, j.Health, j.ErrorType, j.FailureComment)
	}
	if j := l.waitFinished(host); j.Health != "Incomplete" || !strings.Contains(j.FailureComment, "(role guest) ended Incomplete") {
		t.Errorf("host %d: %s (%s): %s, want Incomplete: its group failed", host, j.Health, j.ErrorType, j.FailureComment)
	}
	t.Logf("failing guest: group Incomplete in %.1f s", time.Since(start).Seconds())
}
