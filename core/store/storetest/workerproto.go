package storetest

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
)

// testWorkerProto checks store.WorkerProto: the worker's unfinished jobs,
// per-job tokens and EndJob's single transaction.
func testWorkerProto(t *testing.T, st store.Store) {
	wp, ok := st.(store.WorkerProto)
	if !ok {
		t.Fatalf("%s store does not implement store.WorkerProto", st.Backend())
	}
	c := ctx(t)
	lab(t, st, "d1", "d2", "d3")
	must(t, st.CreateWorker(c, model.Worker{Hostname: "w2", State: model.WorkerOnline, Health: model.WorkerActive}))
	must(t, st.CreateDevice(c, model.Device{Hostname: "e1", DeviceType: "qemu", Worker: "w2", Health: model.DeviceGood}))

	queued := submit(t, st, model.Job{Description: "queued"})
	a := schedule(t, st, submit(t, st, model.Job{Description: "a"}), "d1")
	b := schedule(t, st, submit(t, st, model.Job{Description: "b"}), "d2")
	other := schedule(t, st, submit(t, st, model.Job{Description: "other"}), "e1")
	done := schedule(t, st, submit(t, st, model.Job{Description: "done"}), "d3")
	_, err := st.StartJob(c, b.ID)
	must(t, err)
	_, err = st.FinishJob(c, done.ID, store.JobResult{Health: model.JobComplete})
	must(t, err)

	jobs, err := wp.WorkerJobs(c, "w1")
	must(t, err)
	if got := ids(jobs); !slices.Equal(got, []int64{a.ID, b.ID}) {
		t.Fatalf("WorkerJobs(w1) = %v, want [%d %d] (not %d queued, %d other worker, %d finished)", got, a.ID, b.ID, queued.ID, other.ID, done.ID)
	}
	if jobs[0].Definition == "" || jobs[0].State != model.JobScheduled || jobs[1].State != model.JobRunning {
		t.Errorf("WorkerJobs rows: %+v", jobs)
	}
	if _, err := st.CancelJob(c, b.ID); err != nil {
		t.Fatal(err)
	}
	jobs, err = wp.WorkerJobs(c, "w1")
	must(t, err)
	if len(jobs) != 2 || jobs[1].State != model.JobCanceling {
		t.Errorf("a Canceling job is still the worker's: %+v", jobs)
	}

	must(t, wp.SetJobToken(c, a.ID, []byte("hash-1")))
	must(t, wp.SetJobToken(c, a.ID, []byte("hash-2")))
	if got := getJob(t, st, a.ID).TokenHash; !bytes.Equal(got, []byte("hash-2")) {
		t.Errorf("token hash = %q, want hash-2", got)
	}
	wantErr(t, wp.SetJobToken(c, queued.ID, []byte("x")), store.ErrConflict)
	wantErr(t, wp.SetJobToken(c, done.ID, []byte("x")), store.ErrConflict)
	wantErr(t, wp.SetJobToken(c, 999999, []byte("x")), store.ErrNotFound)

	_, err = st.StartJob(c, a.ID)
	must(t, err)
	cases := []model.TestCase{{Suite: "lava", Name: "job", Result: model.ResultPass}, {Suite: "0_smoke", Name: "uname", Result: model.ResultPass}}
	_, err = wp.EndJob(c, a.ID, store.JobResult{Health: model.JobUnknown}, cases)
	wantErr(t, err, store.ErrInvalid)
	// A bad case rolls the whole end back: the job stays Running.
	_, err = wp.EndJob(c, a.ID, store.JobResult{Health: model.JobComplete}, []model.TestCase{{Suite: "", Name: "x"}})
	wantErr(t, err, store.ErrInvalid)
	if got := getJob(t, st, a.ID); got.State != model.JobRunning {
		t.Fatalf("after a refused EndJob the job is %s, want Running", got.State)
	}
	fin, err := wp.EndJob(c, a.ID, store.JobResult{Health: model.JobComplete}, cases)
	must(t, err)
	if fin.State != model.JobFinished || fin.Health != model.JobComplete {
		t.Errorf("EndJob = %s/%s", fin.State, fin.Health)
	}
	_, err = wp.EndJob(c, a.ID, store.JobResult{Health: model.JobComplete}, cases)
	wantErr(t, err, store.ErrConflict)
	got, err := st.ListTestCases(c, a.ID, "", 0, 100)
	must(t, err)
	if len(got) != 2 {
		t.Errorf("after a resent EndJob: %d cases, want 2", len(got))
	}
	if d := getDevice(t, st, "d1"); d.State != model.DeviceIdle || d.CurrentJob != 0 {
		t.Errorf("device after EndJob: %s job %d", d.State, d.CurrentJob)
	}
	// EndJob on a Canceling job forces Canceled, like FinishJob.
	fin, err = wp.EndJob(c, b.ID, store.JobResult{Health: model.JobComplete}, nil)
	must(t, err)
	if fin.Health != model.JobCanceled {
		t.Errorf("EndJob of a Canceling job: %s, want Canceled", fin.Health)
	}
}

// testEndOverdueJob checks store.WorkerProto's EndOverdueJob (the
// server's job-timeout check): a Running or Canceling job that started
// before the bound ends with its device freed, in one transaction; a job
// started later, a Scheduled job and a Finished one are left alone.
func testEndOverdueJob(t *testing.T, st store.Store) {
	wp := st.(store.WorkerProto)
	c := ctx(t)
	lab(t, st, "d1", "d2", "d3", "d4")
	run := schedule(t, st, submit(t, st, model.Job{Description: "running"}), "d1")
	canc := schedule(t, st, submit(t, st, model.Job{Description: "canceling"}), "d2")
	sched := schedule(t, st, submit(t, st, model.Job{Description: "scheduled"}), "d3")
	late := schedule(t, st, submit(t, st, model.Job{Description: "late"}), "d4")
	for _, j := range []model.Job{run, canc} {
		_, err := st.StartJob(c, j.ID)
		must(t, err)
	}
	_, err := st.CancelJob(c, canc.ID)
	must(t, err)
	bound := time.Now().Add(time.Minute) // both started before it
	res := store.JobResult{Health: model.JobIncomplete, ErrorType: "Infrastructure", FailureComment: "job timeout + grace over"}

	_, err = wp.EndOverdueJob(c, run.ID, bound, store.JobResult{Health: model.JobUnknown})
	wantErr(t, err, store.ErrInvalid)
	_, err = wp.EndOverdueJob(c, sched.ID, bound, res)
	wantErr(t, err, store.ErrConflict)
	_, err = st.StartJob(c, late.ID)
	must(t, err)
	_, err = wp.EndOverdueJob(c, late.ID, getJob(t, st, late.ID).StartTime, res) // started at the bound, not before
	wantErr(t, err, store.ErrConflict)
	if j := getJob(t, st, late.ID); j.State != model.JobRunning {
		t.Fatalf("a job started at the bound is %s, want Running", j.State)
	}

	fin, err := wp.EndOverdueJob(c, run.ID, bound, res)
	must(t, err)
	if fin.State != model.JobFinished || fin.Health != model.JobIncomplete || fin.ErrorType != "Infrastructure" || fin.FailureComment != res.FailureComment {
		t.Errorf("overdue Running job: %+v", fin)
	}
	if d := getDevice(t, st, "d1"); d.State != model.DeviceIdle || d.CurrentJob != 0 || d.Health != model.DeviceUnknown {
		t.Errorf("device of the overdue job: %s/%s job %d, want Idle/Unknown, no job", d.State, d.Health, d.CurrentJob)
	}
	fin, err = wp.EndOverdueJob(c, canc.ID, bound, res)
	must(t, err)
	if fin.State != model.JobFinished || fin.Health != model.JobCanceled {
		t.Errorf("overdue Canceling job: %s/%s, want Finished/Canceled", fin.State, fin.Health)
	}
	if d := getDevice(t, st, "d2"); d.State != model.DeviceIdle || d.CurrentJob != 0 {
		t.Errorf("device of the overdue Canceling job: %s job %d", d.State, d.CurrentJob)
	}
	// The worker's late end report, or a second check: nothing changes.
	_, err = wp.EndOverdueJob(c, run.ID, bound, res)
	wantErr(t, err, store.ErrConflict)
	_, err = wp.EndJob(c, run.ID, store.JobResult{Health: model.JobComplete}, nil)
	wantErr(t, err, store.ErrConflict)
	if j := getJob(t, st, run.ID); j.Health != model.JobIncomplete {
		t.Errorf("after a late end report the job is %s, want Incomplete", j.Health)
	}
	_, err = wp.EndOverdueJob(c, 999999, bound, res)
	wantErr(t, err, store.ErrNotFound)
}
