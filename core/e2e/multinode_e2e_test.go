package e2e

import (
	"fmt"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/lavalab/lavalab/core/vlab"
)

// multinodeJob is a two-role multinode job on the two virtual boards: both
// ramdisk-boot, then run their role's steps.
func (l *lab) multinodeJob(name string, server, client []string) string {
	steps := func(ss []string) string {
		var b strings.Builder
		for _, s := range ss {
			fmt.Fprintf(&b, "          - %s\n", yamlQuote(s))
		}
		return b.String()
	}
	test := func(role string, ss []string) string {
		return fmt.Sprintf(`- test:
    role: [%s]
    timeout:
      minutes: 4
    definitions:
    - from: inline
      name: %s
      path: inline/%s.yaml
      repository:
        metadata:
          format: Lava-Test Test Definition 1.0
          name: %s
        run:
          steps:
%s`, role, role, role, role, steps(ss))
	}
	return fmt.Sprintf(`job_name: %q
visibility: public
timeouts:
  job:
    minutes: 10
  action:
    minutes: 5
  connection:
    minutes: 2
protocols:
  lava-multinode:
    timeout:
      minutes: 4
    roles:
      server:
        device_type: %s
        count: 1
      client:
        device_type: %s
        count: 1
actions:
- deploy:
    role: [server, client]
    to: tftp
    kernel:
      url: %s/images/%s
      type: image
    ramdisk:
      url: %s/images/%s
      compression: gz
    os: oe
- boot:
    role: [server, client]
    method: u-boot
    commands: ramdisk
    prompts:
    - '%s'
`, name, deviceType, deviceType, l.files.URL, vlab.KernelTFTP, l.files.URL, vlab.InitramfsTFTP, vlab.ShellPrompt) +
		test("server", server) + test("client", client)
}

// apiSubJobs are the sub-job ids a multinode submission answers.
func (l *lab) submitMultinode(def string) []int64 {
	l.t.Helper()
	var r struct {
		IDs []int64 `json:"ids"`
	}
	l.call("POST", "/api/v1/jobs", map[string]string{"definition": def}, &r)
	if len(r.IDs) != 2 {
		l.t.Fatalf("multinode submission gave ids %v, want 2", r.IDs)
	}
	return r.IDs
}

// TestMultinode (issue 21) runs on two workers, one board each, through
// lava-server: (1) a two-role job runs Complete: the roles lava-sync, the
// server lava-sends a value the client lava-waits for and records as a
// measurement; (2) killing the client's worker mid-job ends the whole group
// Incomplete with the reason.
func TestMultinode(t *testing.T) {
	l := newLab(t, labOptions{twoWorkers: true, noWorker: true,
		serverArgs: []string{"--worker-silent", "8s", "--worker-grace", "2s", "--worker-check", "1s"}})
	l.startWorkerNamed("w1")
	l.startWorkerNamed("w2")

	t.Run("send-wait-sync", func(t *testing.T) {
		l := l.with(t)
		ids := l.submitMultinode(l.multinodeJob("multinode send and wait",
			[]string{"lava-sync booted", "lava-send answer value=42", "lava-sync done",
				`test "$(lava-role)" = server && lava-test-case role --result pass`},
			[]string{"lava-sync booted", "lava-wait answer",
				`lava-test-case received --result pass --measurement "$(cut -d= -f2 /tmp/lava_multi_node_cache.txt)" --units things`,
				"lava-sync done"}))
		for _, id := range ids {
			if j := l.waitFinished(id); j.Health != "Complete" {
				t.Errorf("sub-job %d: %s (%s)\nlog tail:\n%s", id, j.Health, j.FailureComment, tail(logText(l.logs(id)), 30))
			}
		}
		if a, b := l.getJob(ids[0]), l.getJob(ids[1]); a.Worker == b.Worker || a.ActualDevice == b.ActualDevice {
			t.Errorf("sub-jobs ran on %s/%s and %s/%s: want one board on each worker", a.Worker, a.ActualDevice, b.Worker, b.ActualDevice)
		}
		wantCases(t, ids[0], l.results(ids[0]), map[string]string{"0_server/multinode-sync-booted": "pass", "0_server/multinode-send-answer": "pass", "0_server/role": "pass"})
		cases := l.results(ids[1])
		wantCases(t, ids[1], cases, map[string]string{"0_client/multinode-wait-answer": "pass", "0_client/received": "pass"})
		for _, c := range cases {
			if c.Name == "received" && (c.Measurement == nil || *c.Measurement != 42 || c.Units != "things") {
				t.Errorf("received: measurement %v %q, want 42 things", c.Measurement, c.Units)
			}
		}
	})

	t.Run("worker-lost", func(t *testing.T) {
		l := l.with(t)
		ids := l.submitMultinode(l.multinodeJob("multinode worker lost",
			[]string{"lava-sync booted", "lava-wait never-sent"},
			[]string{"lava-sync booted", "sleep 300"}))
		client := ids[1]
		if j := l.getJob(client); j.Worker != "" && j.Worker != "w2" {
			t.Fatalf("the client sub-job is on %s, want w2", j.Worker)
		}
		l.waitLog(client, regexp.MustCompile(`<LAVA_SYNC_COMPLETE`))
		must(t, l.workers["w2"].Process.Signal(syscall.SIGKILL))
		for _, id := range ids {
			j := l.waitFinished(id)
			if j.Health != "Incomplete" {
				t.Errorf("sub-job %d: %s (%s), want Incomplete", id, j.Health, j.FailureComment)
			}
			if id == ids[0] && !strings.Contains(j.FailureComment, "ended Incomplete: worker w2 has been silent") {
				t.Errorf("server sub-job %d: failure %q does not give the reason (worker w2 lost)", id, j.FailureComment)
			}
		}
		l.wantBoardOff("vlab-01")
	})
}
