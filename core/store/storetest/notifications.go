package storetest

import (
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
)

// notifyDef is a job whose notify: block queues, on each of its start and
// end (criteria all), a callback and three emails: to an address, to a
// user with an email address and to a user without one.
const notifyDef = `job_name: notified
notify:
  criteria: {status: all}
  recipients:
  - to: {method: email, email: ci@example.org}
  - to: {method: email, user: bob}
  - to: {method: email, user: carol}
  callbacks:
  - {url: 'http://ci.example.org/cb/{ID}', method: POST, dataset: all, token: s3cret, header: X-Token, content-type: json}
`

func outbox(t testing.TB, st store.Store) store.Outbox {
	t.Helper()
	ob, ok := st.(store.Outbox)
	if !ok {
		t.Fatalf("the %s store has no notification outbox", st.Backend())
	}
	return ob
}

func notifications(t testing.TB, ob store.Outbox, id int64) []model.Notification {
	t.Helper()
	ns, err := ob.JobNotifications(ctx(t), id)
	must(t, err)
	return ns
}

func testNotifications(t *testing.T, st store.Store) {
	c := ctx(t)
	ob := outbox(t, st)
	lab(t, st, "d1")
	_, err := st.CreateUser(c, model.User{Username: "bob", Email: "bob@example.org"})
	must(t, err)
	_, err = st.CreateUser(c, model.User{Username: "carol"})
	must(t, err)
	evs, err := st.Subscribe(c, store.TopicNotification)
	must(t, err)

	j := submit(t, st, model.Job{Description: "notified", Definition: notifyDef})
	if ns := notifications(t, ob, j.ID); len(ns) != 0 {
		t.Fatalf("notifications of a submitted job: %+v", ns)
	}
	j = schedule(t, st, j, "d1")
	if ns := notifications(t, ob, j.ID); len(ns) != 0 {
		t.Fatalf("notifications of a scheduled job: %+v", ns)
	}
	_, err = st.StartJob(c, j.ID)
	must(t, err)
	waitEvent(t, evs, store.Event{Topic: store.TopicNotification, Key: strconv.FormatInt(j.ID, 10)})
	// A resent start queues nothing more.
	_, err = st.StartJob(c, j.ID)
	must(t, err)
	ns := notifications(t, ob, j.ID)
	checkQueued(t, ns, j.ID, "running", model.JobUnknown)

	_, err = st.(store.WorkerProto).EndJob(c, j.ID, store.JobResult{Health: model.JobIncomplete}, nil)
	must(t, err)
	// A resent end report (ErrConflict) queues nothing more.
	_, err = st.(store.WorkerProto).EndJob(c, j.ID, store.JobResult{Health: model.JobIncomplete}, nil)
	wantErr(t, err, store.ErrConflict)
	ns = notifications(t, ob, j.ID)
	if len(ns) != 8 {
		t.Fatalf("after the end: %d notifications, want 8", len(ns))
	}
	checkQueued(t, ns[4:], j.ID, "finished", model.JobIncomplete)

	// Claiming: due pending ones only, each once until its lease ends.
	now := time.Now()
	got, err := ob.ClaimNotifications(c, now, time.Minute, 3)
	must(t, err)
	if len(got) != 3 {
		t.Fatalf("first claim: %d, want 3", len(got))
	}
	rest, err := ob.ClaimNotifications(c, now, time.Minute, 10)
	must(t, err)
	if len(rest) != 3 { // 6 pending (2 failed at queueing)
		t.Fatalf("second claim: %d, want the 3 others", len(rest))
	}
	none, err := ob.ClaimNotifications(c, now.Add(30*time.Second), time.Minute, 10)
	must(t, err)
	if len(none) != 0 {
		t.Fatalf("claim during the leases: %d, want 0", len(none))
	}
	// A sender that died: its notifications are due again after the lease.
	again, err := ob.ClaimNotifications(c, now.Add(2*time.Minute), time.Minute, 10)
	must(t, err)
	if len(again) != 6 {
		t.Fatalf("claim after the leases: %d, want 6", len(again))
	}

	cb := again[0]
	must(t, ob.RecordNotification(c, cb.ID, model.NotificationAttempt{Time: now, StatusCode: 503, Error: "receiver answered 503"},
		model.NotificationPending, now.Add(time.Hour)))
	must(t, ob.RecordNotification(c, cb.ID, model.NotificationAttempt{Time: now.Add(time.Second), StatusCode: 200},
		model.NotificationSent, now.Add(time.Second)))
	wantErr(t, ob.RecordNotification(c, cb.ID, model.NotificationAttempt{}, "lost", now), store.ErrInvalid)
	wantErr(t, ob.RecordNotification(c, 999999, model.NotificationAttempt{}, model.NotificationSent, now), store.ErrNotFound)
	for _, n := range notifications(t, ob, j.ID) {
		if n.ID != cb.ID {
			continue
		}
		if n.State != model.NotificationSent || len(n.Attempts) != 2 || n.Attempts[0].StatusCode != 503 ||
			n.Attempts[0].Error != "receiver answered 503" || n.Attempts[1].StatusCode != 200 || n.Attempts[1].Error != "" {
			t.Errorf("recorded notification = %+v", n)
		}
	}
	counts, err := ob.CountNotifications(c)
	must(t, err)
	if counts[model.NotificationPending] != 5 || counts[model.NotificationSent] != 1 || counts[model.NotificationFailed] != 2 {
		t.Errorf("counts = %v, want 5 pending, 1 sent, 2 failed", counts)
	}

	// Criteria: complete does not fire for a canceled job; canceled does,
	// from a cancel in the queue and from a queue timeout; with neither
	// callbacks nor recipients, the submitter is mailed.
	cancelDef := func(status string) string {
		return "job_name: c\nnotify:\n  criteria: {status: " + status + "}\n"
	}
	k := submit(t, st, model.Job{Description: "k", Definition: cancelDef("complete"), Submitter: "bob"})
	_, err = st.CancelJob(c, k.ID)
	must(t, err)
	if ns := notifications(t, ob, k.ID); len(ns) != 0 {
		t.Errorf("criteria complete on a canceled job queued %+v", ns)
	}
	k = submit(t, st, model.Job{Description: "k", Definition: cancelDef("canceled"), Submitter: "bob"})
	_, err = st.CancelJob(c, k.ID)
	must(t, err)
	if ns := notifications(t, ob, k.ID); len(ns) != 1 || ns[0].Kind != model.NotifyEmail || ns[0].Target != "bob@example.org" ||
		ns[0].Event != "finished" || ns[0].Health != model.JobCanceled {
		t.Errorf("canceled job's notifications = %+v, want one email to the submitter", ns)
	}
	e := submit(t, st, model.Job{Description: "e", Definition: cancelDef("finished"), Submitter: "bob",
		QueueTimeout: time.Minute, SubmitTime: now.Add(-2 * time.Minute)})
	_, err = st.ExpireQueued(c, now)
	must(t, err)
	if ns := notifications(t, ob, e.ID); len(ns) != 1 || ns[0].Health != model.JobCanceled {
		t.Errorf("expired job's notifications = %+v", ns)
	}
}

// checkQueued checks the four rows notifyDef queues for one event.
func checkQueued(t *testing.T, ns []model.Notification, id int64, event string, health model.JobHealth) {
	t.Helper()
	if len(ns) != 4 {
		t.Fatalf("%s: %d notifications, want 4: %+v", event, len(ns), ns)
	}
	want := []struct {
		kind, target, state string
	}{
		{model.NotifyCallback, "http://ci.example.org/cb/" + strconv.FormatInt(id, 10), model.NotificationPending},
		{model.NotifyEmail, "ci@example.org", model.NotificationPending},
		{model.NotifyEmail, "bob@example.org", model.NotificationPending},
		{model.NotifyEmail, "user:carol", model.NotificationFailed},
	}
	for i, w := range want {
		n := ns[i]
		if n.JobID != id || n.Event != event || n.Health != health || n.Kind != w.kind || n.Target != w.target || n.State != w.state {
			t.Errorf("%s notification %d = %+v, want %+v", event, i, n, w)
		}
	}
	var cb map[string]string
	if err := json.Unmarshal(ns[0].Spec, &cb); err != nil {
		t.Fatal(err)
	}
	if cb["method"] != "POST" || cb["dataset"] != "all" || cb["token"] != "s3cret" || cb["header"] != "X-Token" || cb["content_type"] != "json" {
		t.Errorf("callback spec = %v", cb)
	}
	if f := ns[3]; len(f.Attempts) != 1 || f.Attempts[0].Error != `user "carol" has no email address` {
		t.Errorf("carol's notification = %+v", f)
	}
}
