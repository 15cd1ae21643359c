package dispatch

// Issue 17: the ssh device type through the dispatcher, against a real
// OpenSSH server on a loopback port (testenv.StartSSHD).

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/hosttools"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/testenv"
	"github.com/lavalab/lavalab/sdk"
)

// sshPrompt is the shell prompt of the test's ssh device.
const sshPrompt = "lava-ssh# "

func sshJob(tests string) []byte {
	return []byte(`job_name: ssh device
device_type: ssh
visibility: public
timeouts:
  job: {minutes: 2}
  action: {minutes: 1}
actions:
- deploy:
    to: ssh
    os: debian
- boot:
    method: ssh
    connection: ssh
    prompts: ['` + sshPrompt + `']
` + tests)
}

func sshDict(t *testing.T, s *testenv.SSHD) []byte {
	return fmt.Appendf(nil, "{%% extends 'ssh.jinja2' %%}\n{%% set ssh_host = '%s' %%}\n{%% set ssh_port = %d %%}\n{%% set ssh_user = '%s' %%}\n"+
		"{%% set ssh_identity_file = '%s' %%}\n{%% set lava_test_results_dir = '%s' %%}\n",
		s.Host, s.Port, s.User, s.IdentityFile, filepath.Join(t.TempDir(), "lava-%s"))
}

// TestSSHDevice runs a job on the ssh device: the boot opens an ssh
// session to the sshd with the dictionary's key, user and port, and the
// test shell runs its definition in the session (the overlay sent over
// it); without the ssh tool allowed, the plan is refused before anything
// runs.
func TestSSHDevice(t *testing.T) {
	s := testenv.StartSSHD(t, "env PS1='"+sshPrompt+"' /bin/sh -i")
	def := sshJob(`- test:
    definitions:
    - from: inline
      name: smoke
      path: inline/smoke.yaml
      repository:
        metadata:
          format: Lava-Test Test Definition 1.0
          name: smoke
        run:
          steps:
          - lava-test-case over-ssh --shell test -n "$SSH_CONNECTION"
          - lava-test-case job-id --shell test "$LAVA_JOB_ID" = 4245
`)
	d := newDispatcherTools(t, testTools(t, hosttools.Rule{Name: "ssh", DeviceTypes: []string{"ssh"}}))
	rec := &recorder{}
	out := d.Run(context.Background(), Request{JobID: 4245, Definition: def, DeviceName: "ssh-01", Dictionary: sshDict(t, s), Driver: loadDriver(t, "ssh")}, rec)
	wantComplete(t, out, rec)
	wantCases(t, out, map[string]string{
		"0_smoke/over-ssh": "pass", "0_smoke/job-id": "pass",
		"lava/scp-overlay": "pass", "lava/login-ssh": "pass", "lava/lava-test-retry": "pass", "lava/job": "pass",
	})
	want := fmt.Sprintf("host tool ssh -o Compression=yes -o PasswordAuthentication=no -o LogLevel=FATAL -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no -i %s -p %d %s@127.0.0.1",
		s.IdentityFile, s.Port, s.User)
	if !rec.has("", want) {
		t.Errorf("the log lacks %q:\n%s", want, rec.text())
	}

	// A key the device does not know: the session ends at once and so
	// does the job, Incomplete, saying the connection closed.
	other := filepath.Join(t.TempDir(), "other_key")
	if out, err := exec.Command(testenv.NeedTool(t, "ssh-keygen"), "-q", "-t", "ed25519", "-N", "", "-f", other).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	wrong := *s
	wrong.IdentityFile = other
	rec = &recorder{}
	start := time.Now()
	out = d.Run(context.Background(), Request{JobID: 4248, Definition: def, DeviceName: "ssh-01", Dictionary: sshDict(t, &wrong), Driver: loadDriver(t, "ssh")}, rec)
	if out.Health != model.JobIncomplete || !strings.Contains(out.Error, "login-ssh") {
		t.Fatalf("with a key the device refuses: %s %s: %s\n%s", out.Health, out.ErrorType, out.Error, rec.text())
	}
	t.Logf("a refused key: %s %s: %s (after %.1f s)", out.Health, out.ErrorType, out.Error, time.Since(start).Seconds())

	// A worker that does not allow ssh for the device type.
	d = newDispatcher(t)
	rec = &recorder{}
	out = d.Run(context.Background(), Request{JobID: 4246, Definition: def, DeviceName: "ssh-01", Dictionary: sshDict(t, s), Driver: loadDriver(t, "ssh")}, rec)
	if out.Health != model.JobIncomplete || out.ErrorType != sdk.ErrorConfiguration || !strings.Contains(out.Error, `"ssh"`) {
		t.Fatalf("without ssh allowed: %s %s: %s", out.Health, out.ErrorType, out.Error)
	}
}
