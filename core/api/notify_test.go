package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
)

// TestJobNotifications: /api/v1/jobs/{id} lists the job's notifications
// with their attempts, without the callback's token; a definition with a
// notify: feature not supported here is refused at submit.
func TestJobNotifications(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	def := strings.Replace(qemuJob, "priority: medium\n", "priority: medium\nnotify:\n  criteria: {status: finished}\n  callback: {url: 'http://ci.example.invalid/cb', method: POST, token: hush, dataset: all, content-type: json}\n", 1)
	id := e.submit(e.bob, def)
	jobs, _, err := e.st.ListJobs(ctx, store.System(), store.JobFilter{})
	must(t, err)
	_, err = e.st.Assign(ctx, []store.Assignment{{Job: jobs[0], Device: "qemu-01"}})
	must(t, err)
	_, err = e.st.StartJob(ctx, id)
	must(t, err)
	_, err = e.st.FinishJob(ctx, id, store.JobResult{Health: model.JobComplete})
	must(t, err)
	var ob store.Outbox = e.st
	ns, err := ob.JobNotifications(ctx, id)
	must(t, err)
	if len(ns) != 1 {
		t.Fatalf("notifications = %+v", ns)
	}
	must(t, ob.RecordNotification(ctx, ns[0].ID, model.NotificationAttempt{Time: time.Now(), StatusCode: 502, Error: "receiver answered 502 Bad Gateway"},
		model.NotificationPending, time.Now().Add(time.Minute)))

	r := e.do("GET", fmt.Sprintf("/api/v1/jobs/%d", id), e.bob, "", "")
	if r.status != http.StatusOK {
		t.Fatalf("show: %d %s", r.status, r.body)
	}
	var v JobView
	r.decode(t, &v)
	if len(v.Notifications) != 1 {
		t.Fatalf("notifications in the API = %+v", v.Notifications)
	}
	n := v.Notifications[0]
	if n.Event != "finished" || n.Kind != "callback" || n.Target != "http://ci.example.invalid/cb" || n.State != "pending" ||
		n.NextAttempt == nil || len(n.Attempts) != 1 || n.Attempts[0].StatusCode != 502 || !strings.Contains(n.Attempts[0].Error, "502") {
		t.Errorf("notification = %+v", n)
	}
	if strings.Contains(string(r.body), "hush") {
		t.Errorf("the callback's token is shown: %s", r.body)
	}

	for _, tc := range []struct{ notify, want string }{
		{"notify:\n  criteria: {status: finished, dependency_query: q}\n  callback: {url: 'http://x'}\n", "dependency_query is not supported"},
		{"notify:\n  criteria: {status: finished}\n  recipients:\n  - to: {method: irc, handle: me, server: irc.example.invalid}\n", "irc notifications are not supported"},
		{"notify:\n  criteria: {status: finished}\n  compare: {query: {entity: testjob}}\n  callback: {url: 'http://x'}\n", "compare (comparing"},
	} {
		bad := strings.Replace(qemuJob, "priority: medium\n", "priority: medium\n"+tc.notify, 1)
		r := e.do("POST", "/api/v1/jobs", e.bob, "application/yaml", bad)
		if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), tc.want) {
			t.Errorf("submit with %q: %d %s", tc.want, r.status, r.body)
		}
	}
}
