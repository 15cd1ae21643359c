package dispatch

// Issue 21: a multinode connection role (connection: ssh) through the
// dispatcher, against a real OpenSSH server on a loopback port
// (testenv.StartSSHD) and a real coordinator.

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/hosttools"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/testenv"
)

// mnConnectionDef: a host role on a local device sends the address of the
// ssh server and lava_start; the guest (request: lava-start) waits for
// it, logs in to that address over ssh and runs its test there; both sync
// at the end.
const mnConnectionDef = `job_name: ssh guest
visibility: public
timeouts:
  job: {minutes: 2}
  action: {minutes: 1}
protocols:
  lava-multinode:
    timeout: {seconds: 60}
    roles:
      host: {device_type: local, count: 1}
      guest: {connection: ssh, count: 1, host_role: host, expect_role: host, request: lava-start}
actions:
- deploy: {to: ssh, role: [guest]}
- boot:
    role: [host]
    method: minimal
    prompts: ['lava-local: # ']
- boot:
    role: [guest]
    method: ssh
    connection: ssh
    prompts: ['` + sshPrompt + `']
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
          - lava-send ipv4 ipaddr=127.0.0.1
          - lava-send lava_start
          - lava-sync done
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
          - lava-sync done
`

// TestRunConnectionRole: the guest waits for the host's lava_start, takes
// the address from the host's ipv4 message, logs in with the ssh
// variables of the host device's dictionary and runs its test over ssh;
// both sub-jobs Complete.
func TestRunConnectionRole(t *testing.T) {
	s := testenv.StartSSHD(t, "env PS1='"+sshPrompt+"' /bin/sh -i")
	coord, _, jobs := mnGroup(t, mnConnectionDef)
	// The host device's dictionary carries the ssh variables the guest
	// uses (LAVA's guest runs with its host device's configuration).
	dict := localDict(t, fmt.Sprintf("  ssh_port: %d\n  ssh_user: %s\n  ssh_identity_file: %s\n", s.Port, s.User, s.IdentityFile))
	d := newDispatcherTools(t, testTools(t, hosttools.Rule{Name: "ssh", DeviceTypes: []string{"ssh"}}))
	outs := make([]Outcome, len(jobs))
	recs := make([]*recorder, len(jobs))
	var wg sync.WaitGroup
	drivers := []string{"local", "ssh"}
	start := time.Now()
	for i, j := range jobs {
		recs[i] = &recorder{}
		wg.Go(func() {
			outs[i] = d.Run(context.Background(), Request{JobID: j.ID, Definition: []byte(j.Definition), DeviceName: "local-0",
				Dictionary: dict, Driver: loadDriver(t, drivers[i]), Multinode: coordClient{coord, j.ID}}, recs[i])
		})
	}
	wg.Wait()
	t.Logf("group ran in %.1f s", time.Since(start).Seconds())
	for i := range jobs {
		wantComplete(t, outs[i], recs[i])
	}
	wantCases(t, outs[0], map[string]string{"0_host/multinode-send-ipv4": "pass", "0_host/multinode-send-lava_start": "pass", "0_host/multinode-sync-done": "pass"})
	wantCases(t, outs[1], map[string]string{"0_guest/over-ssh": "pass", "0_guest/role": "pass", "0_guest/multinode-sync-done": "pass",
		"lava/login-ssh": "pass", "lava/scp-overlay": "pass"})
	log := recs[1].text()
	for _, want := range []string{"waiting for lava_start from role host", "host address 127.0.0.1 (message ipv4, key ipaddr of role host)",
		fmt.Sprintf("-i %s -p %d %s@127.0.0.1", s.IdentityFile, s.Port, s.User)} {
		if !strings.Contains(log, want) {
			t.Errorf("the guest's log lacks %q:\n%s", want, log)
		}
	}
}

// TestRunConnectionRoleNoAddress: a host message without the key the
// guest's host_key names ends the guest Incomplete (Job error) saying so.
func TestRunConnectionRoleNoAddress(t *testing.T) {
	coord, _, jobs := mnGroup(t, strings.Replace(mnConnectionDef, "lava-send ipv4 ipaddr=127.0.0.1", "lava-send ipv4 address=127.0.0.1", 1))
	d := newDispatcherTools(t, testTools(t, hosttools.Rule{Name: "ssh", DeviceTypes: []string{"ssh"}}))
	dict := localDict(t, "")
	hostCtx, stopHost := context.WithCancel(context.Background())
	defer stopHost()
	hostDone := make(chan struct{})
	go func() {
		defer close(hostDone)
		d.Run(hostCtx, Request{JobID: jobs[0].ID, Definition: []byte(jobs[0].Definition), DeviceName: "local-0",
			Dictionary: dict, Driver: loadLocal(t), Multinode: coordClient{coord, jobs[0].ID}}, &recorder{})
	}()
	rec := &recorder{}
	out := d.Run(context.Background(), Request{JobID: jobs[1].ID, Definition: []byte(jobs[1].Definition), DeviceName: "local-0",
		Dictionary: dict, Driver: loadDriver(t, "ssh"), Multinode: coordClient{coord, jobs[1].ID}}, rec)
	stopHost() // the host waits for a sync the guest never makes
	<-hostDone
	if out.Health != model.JobIncomplete || out.ErrorType != "Job" || !strings.Contains(out.Error, "the message ipv4 of role host has no key ipaddr") {
		t.Fatalf("guest: %s %s: %s\n%s", out.Health, out.ErrorType, out.Error, rec.text())
	}
}
