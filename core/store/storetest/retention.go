package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
)

// finished runs a job submitted at submit through d1 to Finished/Complete,
// with n log records, a test case and a tag.
func finished(t *testing.T, st store.Store, desc, submitter string, at time.Time, n int) model.Job {
	t.Helper()
	c := ctx(t)
	j := submit(t, st, model.Job{Description: desc, Submitter: submitter, SubmitTime: at, Tags: []string{"usb"}})
	j = schedule(t, st, j, "d1")
	_, err := st.StartJob(c, j.ID)
	must(t, err)
	if n > 0 {
		_, err = st.AppendLogs(c, j.ID, 0, records(0, n))
		must(t, err)
	}
	must(t, st.AddTestCases(c, j.ID, []model.TestCase{{Suite: "lava", Name: "job", Result: model.ResultPass}}))
	j, err = st.FinishJob(c, j.ID, store.JobResult{Health: model.JobComplete})
	must(t, err)
	return j
}

// removeAll loops RemoveJobs over f's batches and sums them.
func removeAll(t *testing.T, st store.Store, f store.RemoveFilter) (jobs int, records int64, batches int) {
	t.Helper()
	for {
		b, err := st.RemoveJobs(ctx(t), f)
		must(t, err)
		batches++
		jobs += b.Jobs
		records += b.LogRecords
		if !b.More {
			return jobs, records, batches
		}
		f.AfterID = b.LastID
	}
}

func exists(t *testing.T, st store.Store, id int64) bool {
	t.Helper()
	_, err := st.Job(ctx(t), store.System(), id)
	if err == nil {
		return true
	}
	wantErr(t, err, store.ErrNotFound)
	return false
}

func testRemoveJobs(t *testing.T, st store.Store) {
	c := ctx(t)
	lab(t, st, "d1")
	now := time.Now()
	old := now.Add(-48 * time.Hour)
	a := finished(t, st, "a", "alice", old, 700) // two log chunks' worth
	b := finished(t, st, "b", "bob", old.Add(time.Minute), 3)
	recent := finished(t, st, "recent", "alice", now, 3)
	queued := submit(t, st, model.Job{Description: "queued", SubmitTime: old})
	running := schedule(t, st, submit(t, st, model.Job{Description: "running", SubmitTime: old}), "d1")
	_, err := st.StartJob(c, running.ID)
	must(t, err)
	cut := now.Add(-24 * time.Hour)

	// Refused filters.
	_, err = st.RemoveJobs(c, store.RemoveFilter{Before: cut, States: []model.JobState{model.JobRunning}})
	wantErr(t, err, store.ErrInvalid)
	_, err = st.RemoveJobs(c, store.RemoveFilter{})
	wantErr(t, err, store.ErrInvalid)

	// A dry run counts and removes nothing; batches of one walk by id.
	bt, err := st.RemoveJobs(c, store.RemoveFilter{Before: cut, DryRun: true, Limit: 1})
	must(t, err)
	if bt.Jobs != 1 || bt.LastID != a.ID || !bt.More || bt.LogRecords != 700 || bt.LogChunks < 1 {
		t.Errorf("dry batch 1 = %+v, want job %d with 700 records, more", bt, a.ID)
	}
	jobs, recs, batches := removeAll(t, st, store.RemoveFilter{Before: cut, DryRun: true, Limit: 1})
	if jobs != 2 || recs != 703 || batches != 3 {
		t.Errorf("dry run: %d jobs %d records in %d batches, want 2, 703, 3", jobs, recs, batches)
	}
	if !exists(t, st, a.ID) || !exists(t, st, b.ID) {
		t.Fatal("a dry run removed jobs")
	}
	// By submitter.
	if jobs, _, _ := removeAll(t, st, store.RemoveFilter{Before: cut, DryRun: true, Submitter: "bob"}); jobs != 1 {
		t.Errorf("dry run of bob's jobs: %d, want 1", jobs)
	}

	// Finished and queued jobs go, with their logs and results; recent
	// and running ones stay.
	jobs, recs, _ = removeAll(t, st, store.RemoveFilter{Before: cut, Limit: 2,
		States: []model.JobState{model.JobFinished, model.JobSubmitted}})
	if jobs != 3 || recs != 703 {
		t.Errorf("removed %d jobs, %d records; want 3, 703", jobs, recs)
	}
	for _, j := range []model.Job{a, b, queued} {
		if exists(t, st, j.ID) {
			t.Errorf("job %d (%s) is still there", j.ID, j.Description)
		}
		logs, err := st.ReadLogs(c, j.ID, 0, 1000)
		must(t, err)
		suites, err := st.ListTestSuites(c, j.ID)
		must(t, err)
		if len(logs) != 0 || len(suites) != 0 {
			t.Errorf("removed job %d left %d log records, %d suites", j.ID, len(logs), len(suites))
		}
	}
	if !exists(t, st, recent.ID) || !exists(t, st, running.ID) {
		t.Error("a recent or running job was removed")
	}
	list, total, err := st.ListJobs(c, store.System(), store.JobFilter{})
	must(t, err)
	if total != 2 || !slices.Equal(ids(list), []int64{running.ID, recent.ID}) {
		t.Errorf("jobs after removal: %v (total %d), want %d, %d", ids(list), total, running.ID, recent.ID)
	}

	// A removed job's id is never handed out again, even the newest.
	_, err = st.FinishJob(c, running.ID, store.JobResult{Health: model.JobComplete})
	must(t, err)
	newest := finished(t, st, "newest", "alice", now, 0)
	if jobs, _, _ := removeAll(t, st, store.RemoveFilter{Before: now.Add(time.Hour)}); jobs != 3 {
		t.Errorf("removed %d jobs, want 3 (recent, running, newest)", jobs)
	}
	next := submit(t, st, model.Job{Description: "after"})
	if next.ID <= newest.ID {
		t.Errorf("new job id %d reuses a removed one (newest removed was %d)", next.ID, newest.ID)
	}
}

func testRemoveLogsOnly(t *testing.T, st store.Store) {
	c := ctx(t)
	lab(t, st, "d1")
	old := time.Now().Add(-48 * time.Hour)
	j := finished(t, st, "j", "alice", old, 10)
	cut := time.Now().Add(-time.Hour)
	jobs, recs, _ := removeAll(t, st, store.RemoveFilter{Before: cut, LogsOnly: true})
	if jobs != 1 || recs != 10 {
		t.Errorf("logs-only removal: %d jobs, %d records; want 1, 10", jobs, recs)
	}
	got := getJob(t, st, j.ID)
	n, err := st.LogCount(c, j.ID)
	must(t, err)
	logs, err := st.ReadLogs(c, j.ID, 0, 100)
	must(t, err)
	cases, err := st.ListTestCases(c, j.ID, "", 0, 10)
	must(t, err)
	if got.State != model.JobFinished || n != 0 || len(logs) != 0 || len(cases) != 1 || !slices.Equal(got.Tags, []string{"usb"}) {
		t.Errorf("after logs-only: job %v, %d/%d log records, %d cases, tags %v", got.State, n, len(logs), len(cases), got.Tags)
	}
	// Jobs without logs are not selected again.
	if jobs, _, _ := removeAll(t, st, store.RemoveFilter{Before: cut, LogsOnly: true}); jobs != 0 {
		t.Errorf("second logs-only run selected %d jobs", jobs)
	}
}

func testFailJob(t *testing.T, st store.Store) {
	c := ctx(t)
	lab(t, st, "d1", "d2")
	events, err := st.Subscribe(c, store.TopicJobCanceling)
	must(t, err)

	// Queued.
	q := submit(t, st, model.Job{Description: "queued"})
	got, err := st.FailJob(c, q.ID, "stuck in the queue")
	must(t, err)
	if got.State != model.JobFinished || got.Health != model.JobIncomplete || got.FailureComment != "stuck in the queue" || got.EndTime.IsZero() {
		t.Errorf("failed queued job: %v/%v %q", got.State, got.Health, got.FailureComment)
	}

	// Running: the device is freed, keeps its health, and the worker is told.
	r := schedule(t, st, submit(t, st, model.Job{Description: "running"}), "d1")
	_, err = st.StartJob(c, r.ID)
	must(t, err)
	got, err = st.FailJob(c, r.ID, "admin")
	must(t, err)
	if stored := getJob(t, st, r.ID); stored.State != model.JobFinished || stored.Health != model.JobIncomplete {
		t.Errorf("failed running job stored as %v/%v", stored.State, stored.Health)
	}
	if d := getDevice(t, st, "d1"); d.State != model.DeviceIdle || d.CurrentJob != 0 || d.Health != model.DeviceGood {
		t.Errorf("device after failing its job: %v/%v job %d", d.State, d.Health, d.CurrentJob)
	}
	select {
	case ev := <-events:
		if ev.Key != "w1" {
			t.Errorf("canceling event for %q, want w1", ev.Key)
		}
	case <-time.After(10 * time.Second):
		t.Error("no job_canceling event for the worker")
	}

	// Canceling ends Incomplete (not Canceled) as an admin fails it.
	cj := schedule(t, st, submit(t, st, model.Job{Description: "canceling"}), "d2")
	_, err = st.StartJob(c, cj.ID)
	must(t, err)
	_, err = st.CancelJob(c, cj.ID)
	must(t, err)
	got, err = st.FailJob(c, cj.ID, "")
	must(t, err)
	if got.Health != model.JobIncomplete {
		t.Errorf("failed canceling job: %v", got.Health)
	}
	if d := getDevice(t, st, "d2"); d.State != model.DeviceIdle || d.CurrentJob != 0 {
		t.Errorf("device after failing its canceling job: %v job %d", d.State, d.CurrentJob)
	}

	_, err = st.FailJob(c, cj.ID, "")
	wantErr(t, err, store.ErrConflict)
	_, err = st.FailJob(c, cj.ID+1000, "")
	wantErr(t, err, store.ErrNotFound)
}

func testListJobsSubmitTime(t *testing.T, st store.Store) {
	c := ctx(t)
	lab(t, st)
	base := time.Now().Add(-10 * time.Hour).Truncate(time.Second)
	var js []model.Job
	for i := range 4 {
		js = append(js, submit(t, st, model.Job{Description: "t", SubmitTime: base.Add(time.Duration(i) * time.Hour)}))
	}
	for _, tc := range []struct {
		after, before time.Time
		want          []int64
	}{
		{base.Add(time.Hour), time.Time{}, []int64{js[3].ID, js[2].ID, js[1].ID}},
		{time.Time{}, base.Add(time.Hour), []int64{js[0].ID}},
		{base.Add(30 * time.Minute), base.Add(3 * time.Hour), []int64{js[2].ID, js[1].ID}},
	} {
		list, total, err := st.ListJobs(c, store.System(), store.JobFilter{SubmittedAfter: tc.after, SubmittedBefore: tc.before})
		must(t, err)
		if !slices.Equal(ids(list), tc.want) || total != len(tc.want) {
			t.Errorf("submitted in [%v, %v): %v (total %d), want %v", tc.after, tc.before, ids(list), total, tc.want)
		}
	}
}
