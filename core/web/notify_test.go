package web

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
)

// TestJobPageNotifications: the job page lists the job's notifications,
// their state and every attempt.
func TestJobPageNotifications(t *testing.T) {
	e := newEnv(t, newDrivers())
	ctx := context.Background()
	def := "job_name: notified\nvisibility: public\nnotify:\n  criteria: {status: finished}\n  callback: {url: 'http://ci.example.invalid/cb', method: POST}\n  recipients:\n  - to: {method: email, email: ci@example.invalid}\n"
	jobs, err := e.st.CreateJobs(ctx, []model.Job{{Description: "notified", Definition: def, RequestedDeviceType: "qemu", Submitter: "bob", Visibility: "public"}})
	must(t, err)
	j := jobs[0]
	_, err = e.st.CancelJob(ctx, j.ID)
	must(t, err)
	var ob store.Outbox = e.st
	ns, err := ob.JobNotifications(ctx, j.ID)
	must(t, err)
	if len(ns) != 2 {
		t.Fatalf("notifications = %+v", ns)
	}
	now := time.Now()
	must(t, ob.RecordNotification(ctx, ns[0].ID, model.NotificationAttempt{Time: now, StatusCode: 503, Error: "receiver answered 503 Service Unavailable"}, model.NotificationPending, now))
	must(t, ob.RecordNotification(ctx, ns[0].ID, model.NotificationAttempt{Time: now, StatusCode: 200}, model.NotificationSent, now))
	body := e.client().get(fmt.Sprintf("/jobs/%d", j.ID)).body
	for _, want := range []string{`id="notifications"`, "http://ci.example.invalid/cb", "ci@example.invalid",
		`class="notif-sent"`, "HTTP 503 receiver answered 503 Service Unavailable", "HTTP 200 ok", `class="notif-pending"`, "none yet"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}
