package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
)

func testCreateJobs(t *testing.T, st store.Store) {
	c := ctx(t)
	before := time.Now().Add(-time.Second)
	in := model.Job{Description: "smoke", Definition: "job_name: smoke\n# verbatim   \n", Priority: 70, RequestedDeviceType: "qemu",
		Tags: []string{"usb"}, Submitter: "alice", QueueTimeout: 90 * time.Minute, TokenHash: []byte{5, 5},
		State: model.JobRunning, ActualDevice: "forged"} // state and device are the store's to set
	out, err := st.CreateJobs(c, []model.Job{in})
	must(t, err)
	j := out[0]
	if j.ID == 0 || j.SubmitTime.Before(before) || j.SubID != "" || j.TargetGroup != "" {
		t.Errorf("CreateJobs filled %+v", j)
	}
	got := getJob(t, st, j.ID)
	if got.Definition != in.Definition || got.State != model.JobSubmitted || got.Health != model.JobUnknown ||
		got.ActualDevice != "" || got.Priority != 70 || got.Visibility != model.VisibilityPublic ||
		got.QueueTimeout != 90*time.Minute || !slices.Equal(got.Tags, []string{"usb"}) || string(got.TokenHash) != "\x05\x05" ||
		!got.SubmitTime.Equal(j.SubmitTime) {
		t.Errorf("stored job = %+v", got)
	}
	_, err = st.Job(c, store.System(), j.ID+1000)
	wantErr(t, err, store.ErrNotFound)

	for _, bad := range []model.Job{
		{Priority: 101, RequestedDeviceType: "qemu"},
		{Priority: -1, RequestedDeviceType: "qemu"},
		{RequestedDeviceType: ""},
		{RequestedDeviceType: "qemu", Visibility: "secret"},
		{RequestedDeviceType: "qemu", Visibility: model.VisibilityGroup},
	} {
		// A bad job in a batch rolls the whole batch back.
		_, err := st.CreateJobs(c, []model.Job{{RequestedDeviceType: "qemu", Definition: "x"}, bad})
		wantErr(t, err, store.ErrInvalid)
	}
	_, total, err := st.ListJobs(c, store.System(), store.JobFilter{})
	must(t, err)
	if total != 1 {
		t.Errorf("after refused batches there are %d jobs, want 1", total)
	}
	_, err = st.CreateJobs(c, nil)
	wantErr(t, err, store.ErrInvalid)
}

func testMultinode(t *testing.T, st store.Store) {
	c := ctx(t)
	jobs := []model.Job{
		{Description: "mn", Definition: "x", RequestedDeviceType: "qemu", Submitter: "alice"},
		{Description: "mn", Definition: "x", RequestedDeviceType: "qemu", Submitter: "alice"},
		{Description: "mn", Definition: "x", RequestedDeviceType: "bbb", Submitter: "alice"},
	}
	out, err := st.CreateJobs(c, jobs)
	must(t, err)
	if len(out) != 3 {
		t.Fatalf("CreateJobs returned %d jobs", len(out))
	}
	first := out[0].ID
	for i, j := range out {
		if want := fmt.Sprintf("%d.%d", first, i); j.SubID != want {
			t.Errorf("job %d SubID = %q, want %q", i, j.SubID, want)
		}
		if j.TargetGroup == "" || j.TargetGroup != out[0].TargetGroup {
			t.Errorf("job %d TargetGroup = %q, want shared %q", i, j.TargetGroup, out[0].TargetGroup)
		}
		got := getJob(t, st, j.ID)
		if got.SubID != j.SubID || got.TargetGroup != j.TargetGroup {
			t.Errorf("stored sub-job %d = %q/%q", i, got.SubID, got.TargetGroup)
		}
	}
	if out[1].ID <= first || out[2].ID <= out[1].ID {
		t.Errorf("sub-job ids not increasing: %v", ids(out))
	}
	// A second multinode job gets its own group.
	out2, err := st.CreateJobs(c, jobs[:2])
	must(t, err)
	if out2[0].TargetGroup == out[0].TargetGroup {
		t.Error("two multinode jobs share a target group")
	}
}

func testVisibility(t *testing.T, st store.Store) {
	c := ctx(t)
	pub := submit(t, st, model.Job{Description: "pub", Submitter: "alice"})
	per := submit(t, st, model.Job{Description: "per", Submitter: "alice", Visibility: model.VisibilityPersonal})
	grp := submit(t, st, model.Job{Description: "grp", Submitter: "alice", Visibility: model.VisibilityGroup, ViewingGroups: []string{"g1", "g2"}})
	bobs := submit(t, st, model.Job{Description: "bobs", Submitter: "bob", Visibility: model.VisibilityGroup, ViewingGroups: []string{"g3"}})
	all := []model.Job{pub, per, grp, bobs}
	for _, tc := range []struct {
		name string
		v    store.Viewer
		want []int64 // newest first
	}{
		{"anonymous", store.Viewer{}, []int64{pub.ID}},
		{"submitter", store.Viewer{Username: "alice"}, []int64{grp.ID, per.ID, pub.ID}},
		{"other user", store.Viewer{Username: "carol"}, []int64{pub.ID}},
		{"group member", store.Viewer{Username: "carol", Groups: []string{"x", "g2"}}, []int64{grp.ID, pub.ID}},
		{"other group", store.Viewer{Username: "carol", Groups: []string{"g3"}}, []int64{bobs.ID, pub.ID}},
		{"group name alone is no submitter", store.Viewer{Groups: []string{"g1"}}, []int64{grp.ID, pub.ID}},
		{"admin", store.Viewer{Username: "root", Admin: true}, []int64{bobs.ID, grp.ID, per.ID, pub.ID}},
		{"system", store.System(), []int64{bobs.ID, grp.ID, per.ID, pub.ID}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			list, total, err := st.ListJobs(c, tc.v, store.JobFilter{})
			must(t, err)
			if !slices.Equal(ids(list), tc.want) || total != len(tc.want) {
				t.Errorf("ListJobs = %v (total %d), want %v", ids(list), total, tc.want)
			}
			for _, j := range all {
				_, err := st.Job(c, tc.v, j.ID)
				visible := slices.Contains(tc.want, j.ID)
				if visible != (err == nil) {
					t.Errorf("Job(%s) err = %v, want visible=%v", j.Description, err, visible)
				}
				if !visible {
					wantErr(t, err, store.ErrNotFound)
				}
				if visible != store.CanView(tc.v, j) {
					t.Errorf("store disagrees with store.CanView on %s", j.Description)
				}
			}
			// Paging respects visibility.
			page, total, err := st.ListJobs(c, tc.v, store.JobFilter{Limit: 1, Offset: 1})
			must(t, err)
			if total != len(tc.want) || (len(tc.want) > 1 && (len(page) != 1 || page[0].ID != tc.want[1])) {
				t.Errorf("page 2 of 1 = %v (total %d)", ids(page), total)
			}
			// A bounded count stops at its bound; a skipped one is -1;
			// the page is the same.
			for _, cl := range []int{-1, 1, 2, 100} {
				page, total, err := st.ListJobs(c, tc.v, store.JobFilter{Limit: 1, Offset: 1, CountLimit: cl})
				must(t, err)
				want := min(len(tc.want), cl)
				if total != want || (len(tc.want) > 1 && (len(page) != 1 || page[0].ID != tc.want[1])) {
					t.Errorf("CountLimit %d: page 2 of 1 = %v (count %d), want count %d", cl, ids(page), total, want)
				}
			}
		})
	}
	got := getJob(t, st, grp.ID)
	if !slices.Equal(got.ViewingGroups, []string{"g1", "g2"}) {
		t.Errorf("ViewingGroups = %v", got.ViewingGroups)
	}
}

func testListJobsFilters(t *testing.T, st store.Store) {
	c := ctx(t)
	lab(t, st, "q1")
	must(t, st.CreateDeviceType(c, model.DeviceType{Name: "bbb"}))
	var all []model.Job
	for i := range 30 {
		j := model.Job{Description: fmt.Sprintf("job %d", i), Submitter: []string{"alice", "bob"}[i%2]}
		if i%3 == 0 {
			j.RequestedDeviceType = "bbb"
		}
		if i == 7 {
			j.Description = "Boot_100% Linux"
		}
		all = append(all, submit(t, st, j))
	}
	// Job 4 runs on q1 and finishes Complete; job 8 is canceled.
	schedule(t, st, all[4], "q1")
	_, err := st.StartJob(c, all[4].ID)
	must(t, err)
	_, err = st.FinishJob(c, all[4].ID, store.JobResult{Health: model.JobComplete})
	must(t, err)
	_, err = st.CancelJob(c, all[8].ID)
	must(t, err)
	hc, err := st.Assign(c, []store.Assignment{{Device: "q1", Job: model.Job{HealthCheck: true, Definition: "job_name: hc\n",
		Description: "health", RequestedDeviceType: "qemu", Priority: 100}}})
	must(t, err)
	if len(hc) != 1 {
		t.Fatal("health check not assigned")
	}
	hcID := hc[0].Job.ID

	rev := func(js ...int) []int64 {
		var out []int64
		for _, i := range js {
			out = append(out, all[i].ID)
		}
		slices.Reverse(out)
		return out
	}
	for _, tc := range []struct {
		name  string
		f     store.JobFilter
		want  []int64
		total int
	}{
		{"default page of 50", store.JobFilter{}, append([]int64{hcID}, rev(seq(30)...)...), 31},
		{"limit", store.JobFilter{Limit: 3}, []int64{hcID, all[29].ID, all[28].ID}, 31},
		{"offset", store.JobFilter{Limit: 2, Offset: 30}, []int64{all[0].ID}, 31},
		{"offset past end", store.JobFilter{Offset: 100}, nil, 31},
		{"finished", store.JobFilter{States: []model.JobState{model.JobFinished}}, rev(4, 8), 2},
		{"scheduled or finished", store.JobFilter{States: []model.JobState{model.JobScheduled, model.JobFinished}}, append([]int64{hcID}, rev(4, 8)...), 3},
		{"complete", store.JobFilter{Healths: []model.JobHealth{model.JobComplete}}, rev(4), 1},
		{"canceled", store.JobFilter{Healths: []model.JobHealth{model.JobCanceled}}, rev(8), 1},
		{"device type", store.JobFilter{DeviceType: "bbb", Limit: 4}, rev(18, 21, 24, 27), 10},
		{"device", store.JobFilter{Device: "q1"}, []int64{hcID, all[4].ID}, 2},
		{"submitter", store.JobFilter{Submitter: "bob", States: []model.JobState{model.JobFinished}}, nil, 0},
		{"submitter alice finished", store.JobFilter{Submitter: "alice", States: []model.JobState{model.JobFinished}}, rev(4, 8), 2},
		{"text case-insensitive", store.JobFilter{Text: "boot_100%"}, rev(7), 1},
		{"text wildcards literal", store.JobFilter{Text: "b%t"}, nil, 0},
		{"text substring", store.JobFilter{Text: "JOB 2"}, rev(2, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29), 11},
		{"health checks", store.JobFilter{HealthCheck: boolp(true)}, []int64{hcID}, 1},
		{"no health checks", store.JobFilter{HealthCheck: boolp(false), Limit: 1}, rev(29), 30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			list, total, err := st.ListJobs(c, store.System(), tc.f)
			must(t, err)
			if !slices.Equal(ids(list), tc.want) || total != tc.total {
				t.Errorf("ListJobs(%+v) = %v total %d, want %v total %d", tc.f, ids(list), total, tc.want, tc.total)
			}
		})
	}
}

func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

func testCancelJob(t *testing.T, st store.Store) {
	c := ctx(t)
	lab(t, st, "d1", "d2")
	events, err := st.Subscribe(c, store.TopicJobCanceling)
	must(t, err)

	// Submitted → Finished/Canceled.
	j := submit(t, st, model.Job{Description: "queued"})
	got, err := st.CancelJob(c, j.ID)
	must(t, err)
	if got.State != model.JobFinished || got.Health != model.JobCanceled || got.EndTime.IsZero() {
		t.Errorf("cancel Submitted: %v/%v", got.State, got.Health)
	}
	_, err = st.CancelJob(c, j.ID)
	wantErr(t, err, store.ErrConflict)

	// Scheduled (not started) → Finished/Canceled, device freed.
	j = schedule(t, st, submit(t, st, model.Job{Description: "scheduled"}), "d1")
	got, err = st.CancelJob(c, j.ID)
	must(t, err)
	if got.State != model.JobFinished || got.Health != model.JobCanceled {
		t.Errorf("cancel Scheduled: %v/%v", got.State, got.Health)
	}
	if d := getDevice(t, st, "d1"); d.State != model.DeviceIdle || d.CurrentJob != 0 || d.Health != model.DeviceGood {
		t.Errorf("device after canceling its Scheduled job: %v/%v job %d", d.State, d.Health, d.CurrentJob)
	}
	_, err = st.StartJob(c, j.ID)
	wantErr(t, err, store.ErrConflict)

	// Running → Canceling; the worker is told; then Finish forces Canceled.
	j = schedule(t, st, submit(t, st, model.Job{Description: "running"}), "d2")
	_, err = st.StartJob(c, j.ID)
	must(t, err)
	drainEvents(events)
	got, err = st.CancelJob(c, j.ID)
	must(t, err)
	if got.State != model.JobCanceling {
		t.Errorf("cancel Running: %v", got.State)
	}
	waitEvent(t, events, store.Event{Topic: store.TopicJobCanceling, Key: "w1"})
	if d := getDevice(t, st, "d2"); d.State != model.DeviceRunning || d.CurrentJob != j.ID {
		t.Errorf("device of a Canceling job: %v job %d", d.State, d.CurrentJob)
	}
	_, err = st.CancelJob(c, j.ID)
	wantErr(t, err, store.ErrConflict)
	got, err = st.FinishJob(c, j.ID, store.JobResult{Health: model.JobComplete})
	must(t, err)
	if got.State != model.JobFinished || got.Health != model.JobCanceled {
		t.Errorf("finish Canceling: %v/%v, want Finished/Canceled", got.State, got.Health)
	}
	if d := getDevice(t, st, "d2"); d.State != model.DeviceIdle || d.CurrentJob != 0 || d.Health != model.DeviceGood {
		t.Errorf("device after its canceled job: %v/%v", d.State, d.Health)
	}
	_, err = st.CancelJob(c, 99999)
	wantErr(t, err, store.ErrNotFound)
}

func testStartFinish(t *testing.T, st store.Store) {
	c := ctx(t)
	lab(t, st, "d1")
	j := submit(t, st, model.Job{Description: "x"})
	_, err := st.StartJob(c, j.ID)
	wantErr(t, err, store.ErrConflict) // Submitted
	_, err = st.FinishJob(c, j.ID, store.JobResult{Health: model.JobComplete})
	wantErr(t, err, store.ErrConflict) // Submitted
	j = schedule(t, st, j, "d1")
	if j.State != model.JobScheduled || j.ActualDevice != "d1" || j.Worker != "w1" || j.DriverSHA256 != "abc" {
		t.Errorf("assigned job = %+v", j)
	}
	if d := getDevice(t, st, "d1"); d.State != model.DeviceReserved || d.CurrentJob != j.ID {
		t.Errorf("device after Assign: %v job %d", d.State, d.CurrentJob)
	}
	started, err := st.StartJob(c, j.ID)
	must(t, err)
	if started.State != model.JobRunning || started.StartTime.IsZero() {
		t.Errorf("StartJob = %v start %v", started.State, started.StartTime)
	}
	if d := getDevice(t, st, "d1"); d.State != model.DeviceRunning || d.CurrentJob != j.ID {
		t.Errorf("device after StartJob: %v job %d", d.State, d.CurrentJob)
	}
	again, err := st.StartJob(c, j.ID)
	must(t, err)
	if again.State != model.JobRunning || !again.StartTime.Equal(started.StartTime) {
		t.Errorf("StartJob again = %v %v (want unchanged)", again.State, again.StartTime)
	}
	_, err = st.FinishJob(c, j.ID, store.JobResult{Health: model.JobUnknown})
	wantErr(t, err, store.ErrInvalid)
	fin, err := st.FinishJob(c, j.ID, store.JobResult{Health: model.JobIncomplete, ErrorType: "Test", FailureComment: "boom"})
	must(t, err)
	got := getJob(t, st, j.ID)
	if got.State != model.JobFinished || got.Health != model.JobIncomplete || got.ErrorType != "Test" || got.FailureComment != "boom" ||
		got.EndTime.IsZero() || !got.EndTime.Equal(fin.EndTime) {
		t.Errorf("finished job = %+v", got)
	}
	if d := getDevice(t, st, "d1"); d.State != model.DeviceIdle || d.CurrentJob != 0 || d.Health != model.DeviceGood {
		t.Errorf("device after FinishJob: %v/%v job %d", d.State, d.Health, d.CurrentJob)
	}
	_, err = st.FinishJob(c, j.ID, store.JobResult{Health: model.JobComplete})
	wantErr(t, err, store.ErrConflict)
	_, err = st.StartJob(c, 12345)
	wantErr(t, err, store.ErrNotFound)
}

func testFinishDeviceHealth(t *testing.T, st store.Store) {
	c := ctx(t)
	lab(t, st)
	for i, tc := range []struct {
		name        string
		healthCheck bool
		start       model.DeviceHealth
		result      store.JobResult
		want        model.DeviceHealth
	}{
		{"health check complete", true, model.DeviceUnknown, store.JobResult{Health: model.JobComplete}, model.DeviceGood},
		{"health check incomplete", true, model.DeviceGood, store.JobResult{Health: model.JobIncomplete, ErrorType: "Test"}, model.DeviceBad},
		{"health check canceled", true, model.DeviceGood, store.JobResult{Health: model.JobCanceled}, model.DeviceUnknown},
		{"looping stays looping", true, model.DeviceLooping, store.JobResult{Health: model.JobComplete}, model.DeviceLooping},
		{"infrastructure error", false, model.DeviceGood, store.JobResult{Health: model.JobIncomplete, ErrorType: "Infrastructure"}, model.DeviceUnknown},
		{"bug", false, model.DeviceGood, store.JobResult{Health: model.JobIncomplete, ErrorType: "Bug"}, model.DeviceUnknown},
		{"configuration", false, model.DeviceGood, store.JobResult{Health: model.JobIncomplete, ErrorType: "Configuration"}, model.DeviceUnknown},
		{"test error", false, model.DeviceGood, store.JobResult{Health: model.JobIncomplete, ErrorType: "Test"}, model.DeviceGood},
		{"job error", false, model.DeviceGood, store.JobResult{Health: model.JobIncomplete, ErrorType: "Job"}, model.DeviceGood},
		{"complete", false, model.DeviceGood, store.JobResult{Health: model.JobComplete}, model.DeviceGood},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host := fmt.Sprintf("dev%d", i)
			must(t, st.CreateDevice(c, model.Device{Hostname: host, DeviceType: "qemu", Worker: "w1", Health: tc.start}))
			var j model.Job
			if tc.healthCheck {
				got, err := st.Assign(c, []store.Assignment{{Device: host, Job: model.Job{HealthCheck: true, Definition: "hc",
					RequestedDeviceType: "qemu", Priority: 100}}})
				must(t, err)
				if len(got) != 1 {
					t.Fatal("health check not assigned")
				}
				j = got[0].Job
			} else {
				j = schedule(t, st, submit(t, st, model.Job{Description: tc.name}), host)
			}
			_, err := st.StartJob(c, j.ID)
			must(t, err)
			_, err = st.FinishJob(c, j.ID, tc.result)
			must(t, err)
			d := getDevice(t, st, host)
			if d.Health != tc.want || d.State != model.DeviceIdle || d.CurrentJob != 0 {
				t.Errorf("device %v/%v job %d, want %v/Idle", d.Health, d.State, d.CurrentJob, tc.want)
			}
			if tc.healthCheck && d.LastHealthReport.IsZero() {
				t.Error("LastHealthReport not set by a health check")
			}
		})
	}
}
