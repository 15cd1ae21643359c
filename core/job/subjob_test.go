package job

import (
	"strings"
	"testing"
	"time"
)

const mnDef = `job_name: mn
visibility: public
timeouts:
  job: {minutes: 10}
protocols:
  lava-multinode:
    timeout: {seconds: 150}
    roles:
      server: {device_type: qemu, count: 1}
      client: {device_type: qemu, count: 1}
actions:
- boot:
    role: [server, client]
    method: qemu
    media: tmpfs
    prompts: ['# ']
`

// TestReadSubJob (issue 21): each sub-job Split renders reads back as a
// valid single-device job with its role and the protocol timeout.
func TestReadSubJob(t *testing.T) {
	def, rep := Parse([]byte(mnDef))
	if !rep.OK() {
		t.Fatal(rep.Err())
	}
	subs := def.Split()
	if len(subs) != 2 {
		t.Fatalf("%d sub-jobs", len(subs))
	}
	for _, s := range subs {
		facts, single, err := ReadSubJob(s.Text)
		if err != nil {
			t.Fatal(err)
		}
		if facts == nil || facts.Role != s.Role || facts.Timeout != 150*time.Second {
			t.Fatalf("facts %+v, want role %s and 2m30s", facts, s.Role)
		}
		if strings.Contains(string(single), "lava-multinode") {
			t.Errorf("the single-device text still has the protocol:\n%s", single)
		}
		d, rep := Parse(single)
		if !rep.OK() || d.IsMultinode() || d.DeviceType != "qemu" {
			t.Errorf("the single-device text does not parse as one: %v\n%s", rep.Err(), single)
		}
	}
	// A plain job is no sub-job.
	facts, text, err := ReadSubJob([]byte("job_name: x\ndevice_type: qemu\n"))
	if facts != nil || err != nil || string(text) != "job_name: x\ndevice_type: qemu\n" {
		t.Errorf("plain job: %+v %v %q", facts, err, text)
	}
	if _, _, err := ReadSubJob([]byte("protocols:\n  lava-multinode:\n    role: [a]\n")); err == nil {
		t.Error("a role that is a list was accepted")
	}
}
