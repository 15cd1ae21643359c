package workerproto_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/lavalab/lavalab/core/auth"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
	"github.com/lavalab/lavalab/core/storeopen"
	"github.com/lavalab/lavalab/core/worker"
	"github.com/lavalab/lavalab/core/workerproto"
	"github.com/lavalab/lavalab/core/workerserver"
)

// lab is an in-process server on a real SQLite store with worker w1 and
// its Good device d1 of type local.
type lab struct {
	st     store.Store
	srv    *workerserver.Server
	url    string
	token  string
	client *worker.Client
}

func newLab(t *testing.T, version string) *lab {
	t.Helper()
	return newLabWith(t, version, nil)
}

// newLabWith is newLab with an Observer on the server.
func newLabWith(t *testing.T, version string, obs workerserver.Observer) *lab {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	st, err := storeopen.Open(ctx, t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	secret, hash := auth.NewWorkerToken()
	must(t, st.CreateDeviceType(ctx, model.DeviceType{Name: "local"}))
	must(t, st.CreateWorker(ctx, model.Worker{Hostname: "w1", State: model.WorkerOnline, Health: model.WorkerActive, TokenHash: hash}))
	must(t, st.CreateDevice(ctx, model.Device{Hostname: "d1", DeviceType: "local", Worker: "w1", Health: model.DeviceGood, Dictionary: "{% extends 'local.jinja2' %}"}))
	srv, err := workerserver.NewServer(workerserver.ServerOptions{Store: st, Version: version, PollWait: 200 * time.Millisecond, Observer: obs})
	must(t, err)
	go srv.Run(ctx)
	r := chi.NewRouter()
	srv.Mount(r)
	hs := httptest.NewServer(r)
	t.Cleanup(hs.Close)
	return &lab{st: st, srv: srv, url: hs.URL, token: secret,
		client: &worker.Client{URL: hs.URL, Token: secret, Version: version, Name: "w1"}}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// scheduled submits a job and gives it d1.
func (l *lab) scheduled(t *testing.T) model.Job {
	t.Helper()
	ctx := context.Background()
	jobs, err := l.st.CreateJobs(ctx, []model.Job{{Description: "t", Definition: "job_name: t\n", RequestedDeviceType: "local",
		Submitter: "alice", Visibility: model.VisibilityPublic, Priority: 50}})
	must(t, err)
	as, err := l.st.Assign(ctx, []store.Assignment{{Job: jobs[0], Device: "d1"}})
	must(t, err)
	if len(as) != 1 {
		t.Fatal("job not assigned")
	}
	return as[0].Job
}

func (l *lab) job(t *testing.T, id int64) model.Job {
	t.Helper()
	j, err := l.st.Job(context.Background(), store.System(), id)
	must(t, err)
	return j
}

func recs(from, n int) []workerproto.Record {
	out := make([]workerproto.Record, n)
	for i := range out {
		out[i] = workerproto.Record{Time: time.Now(), Level: model.LevelTarget, Message: "line " + itoa(from+i)}
	}
	return out
}

func itoa(i int) string { return strconv.Itoa(i) }

func code(err error) string { return worker.ErrorCode(err) }

// startedJob polls the job out of the server and starts it.
func (l *lab) startedJob(t *testing.T) (model.Job, workerproto.StartJob) {
	t.Helper()
	j := l.scheduled(t)
	ans, err := l.client.Poll(context.Background(), workerproto.PollRequest{}, time.Second)
	must(t, err)
	if len(ans.Start) != 1 || ans.Start[0].ID != j.ID || ans.Start[0].Token == "" || ans.Start[0].Device != "d1" ||
		ans.Start[0].DeviceType != "local" || ans.Start[0].Definition != "job_name: t\n" || ans.Start[0].Dictionary == "" {
		t.Fatalf("poll answer %+v, want a start of job %d on d1", ans, j.ID)
	}
	must(t, l.client.Start(context.Background(), j.ID, ans.Start[0].Token))
	return j, ans.Start[0]
}

func TestWrongTokens(t *testing.T) {
	l := newLab(t, "v1")
	ctx := context.Background()
	j, sj := l.startedJob(t)
	tests := []struct {
		name   string
		client worker.Client
		jobTok string
		status int
		code   string
	}{
		{"no worker token", worker.Client{URL: l.url, Version: "v1"}, sj.Token, 401, workerproto.CodeUnauthorized},
		{"wrong worker token", worker.Client{URL: l.url, Token: "lavaw_nope", Version: "v1"}, sj.Token, 401, workerproto.CodeUnauthorized},
		{"token of another name", worker.Client{URL: l.url, Token: l.token, Version: "v1", Name: "w2"}, sj.Token, 401, workerproto.CodeUnauthorized},
		{"no version", worker.Client{URL: l.url, Token: l.token}, sj.Token, 400, workerproto.CodeBadRequest},
		{"wrong job token", worker.Client{URL: l.url, Token: l.token, Version: "v1"}, "lavaj_nope", 403, workerproto.CodeJobToken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.client.SendLogs(ctx, j.ID, tc.jobTok, 0, recs(0, 3))
			var e *worker.Error
			if !errors.As(err, &e) || e.Status != tc.status || e.Code != tc.code || e.Message == "" {
				t.Fatalf("SendLogs: %v, want %d %s with a message", err, tc.status, tc.code)
			}
			_, err = tc.client.End(ctx, j.ID, tc.jobTok, workerproto.EndReport{Health: "complete", LastIndex: -1})
			if !errors.As(err, &e) || e.Status != tc.status {
				t.Fatalf("End: %v, want %d", err, tc.status)
			}
			n, err := l.st.LogCount(ctx, j.ID)
			must(t, err)
			if got := l.job(t, j.ID); n != 0 || got.State != model.JobRunning {
				t.Errorf("after a refused request: %d records, job %s (want 0, Running)", n, got.State)
			}
		})
	}
}

func TestLogBatches(t *testing.T) {
	l := newLab(t, "v1")
	ctx := context.Background()
	j, sj := l.startedJob(t)
	c := l.client
	next, err := c.SendLogs(ctx, j.ID, sj.Token, 0, recs(0, 10))
	must(t, err)
	if next != 10 {
		t.Fatalf("next = %d, want 10", next)
	}
	// Replayed batch: acknowledged, not stored twice.
	next, err = c.SendLogs(ctx, j.ID, sj.Token, 0, recs(0, 10))
	if err != nil || next != 10 {
		t.Fatalf("replay: next %d err %v, want 10 nil", next, err)
	}
	// Overlapping batch: only the new part is stored.
	next, err = c.SendLogs(ctx, j.ID, sj.Token, 5, recs(5, 10))
	if err != nil || next != 15 {
		t.Fatalf("overlap: next %d err %v, want 15 nil", next, err)
	}
	// Gap: refused with the expected index.
	_, err = c.SendLogs(ctx, j.ID, sj.Token, 20, recs(20, 5))
	var e *worker.Error
	if !errors.As(err, &e) || e.Code != workerproto.CodeLogGap {
		t.Fatalf("gap: %v, want %s", err, workerproto.CodeLogGap)
	}
	if exp, ok := e.Expected(); !ok || exp != 15 {
		t.Fatalf("gap: expected %d %v, want 15", exp, ok)
	}
	// Bad level: the whole batch is refused.
	bad := recs(15, 2)
	bad[1].Level = "loud"
	if _, err := c.SendLogs(ctx, j.ID, sj.Token, 15, bad); code(err) != workerproto.CodeBadRequest {
		t.Fatalf("bad level: %v", err)
	}
	got, err := l.st.ReadLogs(ctx, j.ID, 0, 100)
	must(t, err)
	if len(got) != 15 {
		t.Fatalf("%d records stored, want 15", len(got))
	}
	for i, r := range got {
		if r.Index != int64(i) || r.Message != "line "+itoa(i) {
			t.Errorf("record %d = %d %q", i, r.Index, r.Message)
		}
	}
}

func TestEndReport(t *testing.T) {
	l := newLab(t, "v1")
	ctx := context.Background()
	j, sj := l.startedJob(t)
	c := l.client
	_, err := c.SendLogs(ctx, j.ID, sj.Token, 0, recs(0, 5))
	must(t, err)
	rep := workerproto.EndReport{Health: "complete", LastIndex: 9,
		Cases: []workerproto.TestCase{{Suite: "lava", Name: "job", Result: "pass"}}}
	// End before all records: refused, nothing changes.
	_, err = c.End(ctx, j.ID, sj.Token, rep)
	var e *worker.Error
	if !errors.As(err, &e) || e.Code != workerproto.CodeLogsMissing {
		t.Fatalf("early end: %v, want %s", err, workerproto.CodeLogsMissing)
	}
	if exp, _ := e.Expected(); exp != 5 {
		t.Errorf("early end: expected %d, want 5", exp)
	}
	if got := l.job(t, j.ID); got.State != model.JobRunning {
		t.Fatalf("after an early end the job is %s", got.State)
	}
	_, err = c.SendLogs(ctx, j.ID, sj.Token, 5, recs(5, 5))
	must(t, err)
	health, err := c.End(ctx, j.ID, sj.Token, rep)
	if err != nil || health != "Complete" {
		t.Fatalf("end: %q %v", health, err)
	}
	// Resent end: acknowledged, cases not stored twice.
	health, err = c.End(ctx, j.ID, sj.Token, rep)
	if err != nil || health != "Complete" {
		t.Fatalf("resent end: %q %v", health, err)
	}
	cases, err := l.st.ListTestCases(ctx, j.ID, "", 0, 10)
	must(t, err)
	if len(cases) != 1 {
		t.Errorf("%d cases, want 1", len(cases))
	}
	d, err := l.st.Device(ctx, "d1")
	must(t, err)
	if d.State != model.DeviceIdle {
		t.Errorf("device %s after the end, want Idle", d.State)
	}
	// The worker still listing the job is told to stop it.
	ans, err := c.Poll(ctx, workerproto.PollRequest{Running: []int64{j.ID}}, time.Second)
	must(t, err)
	if len(ans.Cancel) != 1 || ans.Cancel[0] != j.ID {
		t.Errorf("poll listing a finished job: %+v, want cancel %d", ans, j.ID)
	}
}

func TestPollWakesOnSchedule(t *testing.T) {
	l := newLab(t, "v1")
	ctx := context.Background()
	got := make(chan workerproto.PollAnswer, 1)
	go func() {
		ans, err := l.client.Poll(ctx, workerproto.PollRequest{}, 30*time.Second)
		if err != nil {
			t.Error(err)
		}
		got <- ans
	}()
	time.Sleep(100 * time.Millisecond) // let the poll wait
	j := l.scheduled(t)
	var token string
	select {
	case ans := <-got:
		if len(ans.Start) != 1 || ans.Start[0].ID != j.ID {
			t.Fatalf("answer %+v, want start %d", ans, j.ID)
		}
		token = ans.Start[0].Token
	case <-time.After(20 * time.Second):
		t.Fatal("the poll was not woken by the scheduled job")
	}
	// Cancel wakes it too, with the job in the cancel list.
	must(t, l.client.Start(ctx, j.ID, token))
	go func() {
		ans, err := l.client.Poll(ctx, workerproto.PollRequest{Running: []int64{j.ID}}, 30*time.Second)
		if err != nil {
			t.Error(err)
		}
		got <- ans
	}()
	time.Sleep(100 * time.Millisecond)
	_, err := l.st.CancelJob(ctx, j.ID)
	must(t, err)
	select {
	case ans := <-got:
		if len(ans.Cancel) != 1 || ans.Cancel[0] != j.ID {
			t.Fatalf("answer %+v, want cancel %d", ans, j.ID)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the poll was not woken by the cancel")
	}
}

func TestVersionMismatchSafeToStop(t *testing.T) {
	l := newLab(t, "v2")
	ctx := context.Background()
	old := &worker.Client{URL: l.url, Token: l.token, Version: "v1"}
	j := l.scheduled(t)
	// A mismatched worker gets no start; its scheduled job is not left
	// waiting for it; with nothing running the answer is 409 safe-to-stop.
	_, err := old.Poll(ctx, workerproto.PollRequest{}, time.Second)
	var e *worker.Error
	if !errors.As(err, &e) || e.Status != http.StatusConflict || e.Code != workerproto.CodeSafeToStop || e.Details == nil || e.Details.ServerVersion != "v2" {
		t.Fatalf("poll of a v1 worker: %v, want 409 %s", err, workerproto.CodeSafeToStop)
	}
	w, err := l.st.Worker(ctx, "w1")
	must(t, err)
	if w.State != model.WorkerOffline || w.Version != "v1" {
		t.Errorf("worker %s %q, want Offline v1", w.State, w.Version)
	}
	if got := l.job(t, j.ID); got.State != model.JobFinished || got.ErrorType != "Infrastructure" {
		t.Errorf("scheduled job on a mismatched worker: %s/%s %q", got.State, got.Health, got.FailureComment)
	}
	// The right version brings it back Online.
	_, err = l.client.Poll(ctx, workerproto.PollRequest{}, 100*time.Millisecond)
	must(t, err)
	if w, _ := l.st.Worker(ctx, "w1"); w.State != model.WorkerOnline {
		t.Errorf("worker %s after a v2 poll, want Online", w.State)
	}
}

func TestVersionMismatchRunningJobFinishes(t *testing.T) {
	l := newLab(t, "v2")
	ctx := context.Background()
	j, sj := l.startedJob(t)
	old := &worker.Client{URL: l.url, Token: l.token, Version: "v1"}
	// While the job runs, the mismatched worker gets 200s (not 409).
	ans, err := old.Poll(ctx, workerproto.PollRequest{Running: []int64{j.ID}}, 100*time.Millisecond)
	if err != nil || len(ans.Start) != 0 {
		t.Fatalf("poll with a running job: %+v %v", ans, err)
	}
	_, err = old.SendLogs(ctx, j.ID, sj.Token, 0, recs(0, 3))
	must(t, err)
	if h, err := old.End(ctx, j.ID, sj.Token, workerproto.EndReport{Health: "complete", LastIndex: 2}); err != nil || h != "Complete" {
		t.Fatalf("end from a mismatched worker: %q %v", h, err)
	}
	if _, err := old.Poll(ctx, workerproto.PollRequest{}, 100*time.Millisecond); code(err) != workerproto.CodeSafeToStop {
		t.Fatalf("poll once the job ended: %v, want %s", err, workerproto.CodeSafeToStop)
	}
}

func TestLivenessMonitor(t *testing.T) {
	l := newLab(t, "v1")
	ctx := context.Background()
	now := time.Now()
	clock := func() time.Time { return now }
	srv, err := workerserver.NewServer(workerserver.ServerOptions{Store: l.st, Version: "v1", Silent: time.Minute, Grace: 5 * time.Minute, Now: clock})
	must(t, err)
	j, _ := l.startedJob(t) // polls: LastPing = real now
	must(t, srv.CheckLiveness(ctx))
	if w, _ := l.st.Worker(ctx, "w1"); w.State != model.WorkerOnline {
		t.Fatalf("worker %s right after a poll", w.State)
	}
	now = now.Add(61 * time.Second)
	must(t, srv.CheckLiveness(ctx))
	w, _ := l.st.Worker(ctx, "w1")
	d, _ := l.st.Device(ctx, "d1")
	if w.State != model.WorkerOffline || d.Health != model.DeviceUnknown {
		t.Fatalf("after 61 s of silence: worker %s device %s, want Offline Unknown", w.State, d.Health)
	}
	if got := l.job(t, j.ID); got.State != model.JobRunning {
		t.Fatalf("job %s during the grace, want Running", got.State)
	}
	now = now.Add(5 * time.Minute)
	must(t, srv.CheckLiveness(ctx))
	got := l.job(t, j.ID)
	d, _ = l.st.Device(ctx, "d1")
	if got.State != model.JobFinished || got.Health != model.JobIncomplete || got.ErrorType != "Infrastructure" || d.State != model.DeviceIdle {
		t.Fatalf("after the grace: job %s/%s %q, device %s", got.State, got.Health, got.ErrorType, d.State)
	}
}
