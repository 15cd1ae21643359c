package lavarpc

// The attack suite's XML-RPC cases (issue 13): oversized bodies,
// dictionaries without admin rights, other users' jobs resubmitted.

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/lavalab/lavalab/core/store"
)

// TestAttackOversizedBody: a body over MaxRequest gets a fault naming the
// size limit (not "unexpected EOF"), and nothing is stored.
func TestAttackOversizedBody(t *testing.T) {
	e := newEnv(t)
	_, before, err := e.st.ListJobs(context.Background(), store.System(), store.JobFilter{Limit: 1})
	must(t, err)
	for _, size := range []int{MaxRequest, 2 * MaxRequest} {
		var b bytes.Buffer
		b.WriteString(`<?xml version="1.0"?><methodCall><methodName>scheduler.jobs.submit</methodName><params><param><value><string>`)
		b.WriteString(strings.Repeat("a", size))
		b.WriteString(`</string></value></param></params></methodCall>`)
		code, body := e.post(t, "bob", b.Bytes())
		if code != 200 || !bytes.Contains(body, []byte("request too large")) || !bytes.Contains(body, []byte("bytes limit")) {
			t.Errorf("%d bytes: %d %.300s", b.Len(), code, body)
		}
		if bytes.Contains(body, []byte("EOF")) {
			t.Errorf("%d bytes: the fault speaks of EOF: %.300s", b.Len(), body)
		}
	}
	_, after, err := e.st.ListJobs(context.Background(), store.System(), store.JobFilter{Limit: 1})
	must(t, err)
	if after != before {
		t.Errorf("%d jobs stored by oversized calls", after-before)
	}
}

// TestAttackDictionaryAndResubmit: the dictionary is for admins; a job is
// resubmitted by its submitter or an admin only, not by a member of its
// viewing group.
func TestAttackDictionaryAndResubmit(t *testing.T) {
	e := newEnv(t)
	for _, user := range []string{"", "bob", "carol"} {
		for _, render := range []bool{false, true} {
			v, f, raw := e.call(t, user, "scheduler.devices.get_dictionary", "qemu-01", render)
			if f == nil || v != nil || bytes.Contains(raw, []byte("memory")) || bytes.Contains(raw, []byte("ZXh0ZW5k")) {
				t.Errorf("get_dictionary as %q (render %v): %v %v %.200s", user, render, v, f, raw)
			}
		}
	}
	// carol's group job, visible to lab (bob's group): bob sees it but may
	// not resubmit it.
	jobs, _, err := e.st.ListJobs(context.Background(), store.System(), store.JobFilter{Limit: 10})
	must(t, err)
	var group int64
	for _, j := range jobs {
		if j.Description == "group" {
			group = j.ID
		}
	}
	if group == 0 {
		t.Fatal("no group job")
	}
	if _, f, _ := e.call(t, "bob", "scheduler.jobs.show", itoa(group)); f != nil {
		t.Fatalf("bob cannot see the lab group job: %v", f)
	}
	if v, f, _ := e.call(t, "bob", "scheduler.jobs.resubmit", itoa(group)); f == nil || f.Code != 403 {
		t.Errorf("bob resubmits carol's group job: %v %v", v, f)
	}
	if _, f, _ := e.call(t, "carol", "scheduler.jobs.resubmit", itoa(group)); f != nil {
		t.Errorf("carol cannot resubmit her own job: %v", f)
	}
}
