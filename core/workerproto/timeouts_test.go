package workerproto_test

import (
	"context"

	"github.com/lavalab/lavalab/core/store"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/workerproto"
	"github.com/lavalab/lavalab/core/workerserver"
)

// TestServerJobTimeout: a worker that keeps polling but never reports the
// end of its job: the server ends the job Incomplete once its timeout
// (timeouts.job, or the 30 s default) plus the grace is over, frees the
// device (Unknown, so a health check runs first), and tells the worker
// to cancel it; the worker's late records are stored and its late end
// report is acknowledged without changing the job.
func TestServerJobTimeout(t *testing.T) {
	for _, tc := range []struct {
		name, def string
		timeout   time.Duration
	}{
		{"default timeout", "job_name: t\n", 30 * time.Second},
		{"timeouts.job", "job_name: t\ntimeouts:\n  job:\n    minutes: 10\n", 10 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLab(t, "v1")
			ctx := context.Background()
			now := time.Now()
			clock := func() time.Time { return now }
			const grace = time.Minute
			srv, err := workerserver.NewServer(workerserver.ServerOptions{Store: l.st, Version: "v1", JobGrace: grace, Now: clock})
			must(t, err)
			j, sj := startedWith(t, l, tc.def)
			started := l.job(t, j.ID).StartTime
			now = started.Add(tc.timeout + grace - time.Second)
			must(t, srv.CheckJobTimeouts(ctx))
			if got := l.job(t, j.ID); got.State != model.JobRunning {
				t.Fatalf("job %s before timeout + grace, want Running", got.State)
			}
			now = started.Add(tc.timeout + grace + time.Second)
			must(t, srv.CheckJobTimeouts(ctx))
			got := l.job(t, j.ID)
			d, err := l.st.Device(ctx, "d1")
			must(t, err)
			if got.State != model.JobFinished || got.Health != model.JobIncomplete || got.ErrorType != "Infrastructure" {
				t.Fatalf("after timeout + grace: job %s/%s %q %q, want Finished/Incomplete Infrastructure", got.State, got.Health, got.ErrorType, got.FailureComment)
			}
			if d.State != model.DeviceIdle || d.CurrentJob != 0 || d.Health != model.DeviceUnknown {
				t.Fatalf("device %s/%s job %d, want Idle/Unknown and free", d.State, d.Health, d.CurrentJob)
			}
			ans, err := l.client.Poll(ctx, workerproto.PollRequest{Running: []int64{j.ID}}, time.Second)
			must(t, err)
			if len(ans.Cancel) != 1 || ans.Cancel[0] != j.ID {
				t.Fatalf("poll answer %+v, want a cancel of job %d", ans, j.ID)
			}
			next, err := l.client.SendLogs(ctx, j.ID, sj.Token, 0, recs(0, 5))
			must(t, err)
			if next != 5 {
				t.Fatalf("late records: next %d, want 5", next)
			}
			h, err := l.client.End(ctx, j.ID, sj.Token, workerproto.EndReport{Health: "complete", LastIndex: 4})
			must(t, err)
			if h != "Incomplete" {
				t.Fatalf("late end report answered %q, want Incomplete (the server's end stands)", h)
			}
		})
	}
}

// startedWith submits a job with definition def, gives it d1, polls it out
// of the server and starts it.
func startedWith(t *testing.T, l *lab, def string) (model.Job, workerproto.StartJob) {
	t.Helper()
	ctx := context.Background()
	jobs, err := l.st.CreateJobs(ctx, []model.Job{{Description: "t", Definition: def, RequestedDeviceType: "local",
		Submitter: "alice", Visibility: model.VisibilityPublic, Priority: 50}})
	must(t, err)
	as, err := l.st.Assign(ctx, []store.Assignment{{Job: jobs[0], Device: "d1"}})
	must(t, err)
	if len(as) != 1 {
		t.Fatal("job not assigned")
	}
	ans, err := l.client.Poll(ctx, workerproto.PollRequest{}, time.Second)
	must(t, err)
	if len(ans.Start) != 1 || ans.Start[0].ID != jobs[0].ID {
		t.Fatalf("poll answer %+v, want a start of job %d", ans, jobs[0].ID)
	}
	must(t, l.client.Start(ctx, jobs[0].ID, ans.Start[0].Token))
	return as[0].Job, ans.Start[0]
}
