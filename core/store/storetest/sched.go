package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
)

func testAssign(t *testing.T, st store.Store) {
	c := ctx(t)
	lab(t, st, "d1", "d2", "d3")
	must(t, st.CreateDevice(c, model.Device{Hostname: "unknown", DeviceType: "qemu", Worker: "w1", Health: model.DeviceUnknown}))
	a := submit(t, st, model.Job{Description: "a"})
	b := submit(t, st, model.Job{Description: "b"})
	canceled := submit(t, st, model.Job{Description: "canceled"})
	_, err := st.CancelJob(c, canceled.ID)
	must(t, err)
	d := submit(t, st, model.Job{Description: "d"})
	e := submit(t, st, model.Job{Description: "e"})

	got, err := st.Assign(c, []store.Assignment{
		{Job: a, Device: "d1"},
		{Job: b, Device: "d1"},        // d1 taken by a in this very call: skipped
		{Job: canceled, Device: "d2"}, // job no longer Submitted: skipped
		{Job: a, Device: "d3"},        // job already assigned: skipped
		{Job: d, Device: "unknown"},   // normal job on an Unknown device: skipped
		{Job: d, Device: "nope"},      // no such device: skipped
		{Job: e, Device: "d2"},
	})
	must(t, err)
	var applied []int64
	for _, x := range got {
		applied = append(applied, x.Job.ID)
		if x.Job.State != model.JobScheduled || x.Job.Worker != "w1" {
			t.Errorf("applied assignment job = %v worker %q", x.Job.State, x.Job.Worker)
		}
	}
	if !slices.Equal(applied, []int64{a.ID, e.ID}) {
		t.Errorf("applied %v, want %v", applied, []int64{a.ID, e.ID})
	}
	for _, tc := range []struct {
		id     int64
		state  model.JobState
		device string
	}{{a.ID, model.JobScheduled, "d1"}, {b.ID, model.JobSubmitted, ""}, {d.ID, model.JobSubmitted, ""}, {e.ID, model.JobScheduled, "d2"}} {
		j := getJob(t, st, tc.id)
		if j.State != tc.state || j.ActualDevice != tc.device {
			t.Errorf("job %d = %v on %q, want %v on %q", tc.id, j.State, j.ActualDevice, tc.state, tc.device)
		}
	}
	for host, want := range map[string]model.DeviceState{"d1": model.DeviceReserved, "d2": model.DeviceReserved, "d3": model.DeviceIdle, "unknown": model.DeviceIdle} {
		if dev := getDevice(t, st, host); dev.State != want {
			t.Errorf("device %s = %v, want %v", host, dev.State, want)
		}
	}
	// A device whose worker went offline or into maintenance takes nothing.
	_, err = st.UpdateWorker(c, "w1", func(w *model.Worker) error { w.Health = model.WorkerMaintenance; return nil })
	must(t, err)
	got, err = st.Assign(c, []store.Assignment{{Job: b, Device: "d3"}})
	must(t, err)
	if len(got) != 0 {
		t.Error("assigned a job to a device of a worker in maintenance")
	}
	// A Bad device takes nothing.
	_, err = st.UpdateWorker(c, "w1", func(w *model.Worker) error { w.Health = model.WorkerActive; return nil })
	must(t, err)
	_, err = st.SetDeviceHealth(c, "d3", model.DeviceBad)
	must(t, err)
	got, err = st.Assign(c, []store.Assignment{{Job: b, Device: "d3"}})
	must(t, err)
	if len(got) != 0 {
		t.Error("assigned a job to a Bad device")
	}
	// A job without id that is not a health check is refused.
	_, err = st.Assign(c, []store.Assignment{{Job: model.Job{RequestedDeviceType: "qemu"}, Device: "unknown"}})
	wantErr(t, err, store.ErrInvalid)
}

func testAssignHealthCheck(t *testing.T, st store.Store) {
	c := ctx(t)
	lab(t, st)
	must(t, st.CreateDevice(c, model.Device{Hostname: "u1", DeviceType: "qemu", Worker: "w1", Health: model.DeviceUnknown}))
	now := time.Now().Add(-time.Minute).UTC().Truncate(time.Microsecond)
	hc := model.Job{Description: "health", Definition: "job_name: health\n", Priority: 100, Visibility: model.VisibilityPublic,
		RequestedDeviceType: "qemu", RequestedDevice: "u1", HealthCheck: true, SubmitTime: now}
	got, err := st.Assign(c, []store.Assignment{{Job: hc, Device: "u1", DriverSHA256: "f00"}})
	must(t, err)
	if len(got) != 1 || got[0].Job.ID == 0 {
		t.Fatalf("health check not created: %+v", got)
	}
	j := getJob(t, st, got[0].Job.ID)
	if !j.HealthCheck || j.Submitter != "lava-health" || j.State != model.JobScheduled || j.ActualDevice != "u1" ||
		j.DriverSHA256 != "f00" || j.Definition != hc.Definition || !j.SubmitTime.Equal(now) {
		t.Errorf("health check job = %+v", j)
	}
	if d := getDevice(t, st, "u1"); d.State != model.DeviceReserved || d.CurrentJob != j.ID {
		t.Errorf("device = %v job %d", d.State, d.CurrentJob)
	}
	// A second health check for the busy device is skipped and leaves no job.
	got, err = st.Assign(c, []store.Assignment{{Job: hc, Device: "u1"}})
	must(t, err)
	if len(got) != 0 {
		t.Error("second health check on a reserved device applied")
	}
	_, total, err := st.ListJobs(c, store.System(), store.JobFilter{HealthCheck: boolp(true)})
	must(t, err)
	if total != 1 {
		t.Errorf("%d health checks stored, want 1 (the skipped one must roll back)", total)
	}
	// Looping devices take health checks; Bad ones do not.
	must(t, st.CreateDevice(c, model.Device{Hostname: "loop", DeviceType: "qemu", Worker: "w1", Health: model.DeviceLooping}))
	must(t, st.CreateDevice(c, model.Device{Hostname: "bad", DeviceType: "qemu", Worker: "w1", Health: model.DeviceBad}))
	got, err = st.Assign(c, []store.Assignment{{Job: hc, Device: "loop"}, {Job: hc, Device: "bad"}})
	must(t, err)
	if len(got) != 1 || got[0].Device != "loop" {
		t.Errorf("applied %+v, want only loop", got)
	}
}

func testSnapshot(t *testing.T, st store.Store) {
	c := ctx(t)
	lab(t, st, "free", "busy")
	must(t, st.CreateDeviceType(c, model.DeviceType{Name: "bbb", HealthCheck: "hc", HealthFrequency: 2, HealthDenominator: "jobs"}))
	must(t, st.CreateDeviceType(c, model.DeviceType{Name: "unused"}))
	must(t, st.CreateWorker(c, model.Worker{Hostname: "off", State: model.WorkerOffline}))
	must(t, st.CreateWorker(c, model.Worker{Hostname: "lim", State: model.WorkerOnline, JobLimit: 1}))
	must(t, st.CreateWorker(c, model.Worker{Hostname: "lim2", State: model.WorkerOnline, JobLimit: 2}))
	for _, d := range []model.Device{
		{Hostname: "unknown", DeviceType: "qemu", Worker: "w1", Health: model.DeviceUnknown, Tags: []string{"usb"}},
		{Hostname: "bad", DeviceType: "qemu", Worker: "w1", Health: model.DeviceBad},
		{Hostname: "maint", DeviceType: "qemu", Worker: "w1", Health: model.DeviceMaintenance},
		{Hostname: "offline", DeviceType: "qemu", Worker: "off"},
		{Hostname: "noworker", DeviceType: "qemu"},
		{Hostname: "lim-a", DeviceType: "bbb", Worker: "lim"},
		{Hostname: "lim-b", DeviceType: "bbb", Worker: "lim"},
		{Hostname: "lim2-a", DeviceType: "bbb", Worker: "lim2"},
		{Hostname: "lim2-b", DeviceType: "bbb", Worker: "lim2"},
	} {
		must(t, st.CreateDevice(c, d))
	}
	schedule(t, st, submit(t, st, model.Job{Description: "busy"}), "busy")
	schedule(t, st, submit(t, st, model.Job{Description: "lim", RequestedDeviceType: "bbb"}), "lim-a")
	schedule(t, st, submit(t, st, model.Job{Description: "lim2", RequestedDeviceType: "bbb"}), "lim2-a")
	q1 := submit(t, st, model.Job{Description: "queued 1", Tags: []string{"usb"}, Priority: 10})
	q2 := submit(t, st, model.Job{Description: "queued 2", RequestedDevice: "free"})
	gone := submit(t, st, model.Job{Description: "gone"})
	_, err := st.CancelJob(c, gone.ID)
	must(t, err)

	snap, err := st.SchedulingSnapshot(c)
	must(t, err)
	var queued []int64
	for _, j := range snap.Queued {
		queued = append(queued, j.ID)
		if j.ID == q1.ID && (!slices.Equal(j.Tags, []string{"usb"}) || j.Priority != 10 || j.SubmitTime.IsZero()) {
			t.Errorf("queued job = %+v", j)
		}
		if j.ID == q2.ID && j.RequestedDevice != "free" {
			t.Errorf("queued job lost its requested device: %+v", j)
		}
	}
	slices.Sort(queued)
	if !slices.Equal(queued, []int64{q1.ID, q2.ID}) {
		t.Errorf("Queued = %v, want %v", queued, []int64{q1.ID, q2.ID})
	}
	var devs []string
	for _, d := range snap.Devices {
		devs = append(devs, d.Hostname)
		if d.Hostname == "unknown" && !slices.Equal(d.Tags, []string{"usb"}) {
			t.Errorf("snapshot device tags = %v", d.Tags)
		}
	}
	slices.Sort(devs)
	if want := []string{"free", "lim2-b", "unknown"}; !slices.Equal(devs, want) {
		t.Errorf("Devices = %v, want %v", devs, want)
	}
	if want := map[string]int{"lim": 0, "lim2": 1}; !mapsEqual(snap.WorkerSlots, want) {
		t.Errorf("WorkerSlots = %v, want %v", snap.WorkerSlots, want)
	}
	if _, ok := snap.Types["qemu"]; !ok || len(snap.Types) != 2 || snap.Types["bbb"].HealthFrequency != 2 {
		t.Errorf("Types = %v", snap.Types)
	}
	if !snap.KnownDeviceTypes["unused"] || len(snap.KnownDeviceTypes) != 3 {
		t.Errorf("KnownDeviceTypes = %v", snap.KnownDeviceTypes)
	}
	if len(snap.LastHealthCheck) != 0 {
		t.Errorf("LastHealthCheck = %v before any health check", snap.LastHealthCheck)
	}

	// Health check on lim2-b, then two normal jobs started on it.
	hcTime := time.Now().Add(-time.Hour).UTC().Truncate(time.Microsecond)
	got, err := st.Assign(c, []store.Assignment{{Device: "lim2-b", Job: model.Job{HealthCheck: true, Definition: "hc", RequestedDeviceType: "bbb", Priority: 100, SubmitTime: hcTime}}})
	must(t, err)
	_, err = st.StartJob(c, got[0].Job.ID)
	must(t, err)
	_, err = st.FinishJob(c, got[0].Job.ID, store.JobResult{Health: model.JobComplete})
	must(t, err)
	for range 2 {
		j := schedule(t, st, submit(t, st, model.Job{Description: "n", RequestedDeviceType: "bbb"}), "lim2-b")
		_, err = st.StartJob(c, j.ID)
		must(t, err)
		_, err = st.FinishJob(c, j.ID, store.JobResult{Health: model.JobComplete})
		must(t, err)
	}
	snap, err = st.SchedulingSnapshot(c)
	must(t, err)
	if !snap.LastHealthCheck["lim2-b"].Equal(hcTime) || snap.JobsSinceHealthCheck["lim2-b"] != 2 {
		t.Errorf("lim2-b: last health check %v (want %v), jobs since %d (want 2)",
			snap.LastHealthCheck["lim2-b"], hcTime, snap.JobsSinceHealthCheck["lim2-b"])
	}

	// Names holding control characters (a store may pack the queue into
	// one text with such separators) come back intact.
	odd := submit(t, st, model.Job{Description: "odd", Tags: []string{"a\x1fb", "c\x1ed", "usb"}, RequestedDevice: "free"})
	snap, err = st.SchedulingSnapshot(c)
	must(t, err)
	found := 0
	for _, j := range snap.Queued {
		switch j.ID {
		case odd.ID:
			found++
			if !slices.Equal(j.Tags, []string{"a\x1fb", "c\x1ed", "usb"}) || j.RequestedDevice != "free" {
				t.Errorf("queued job with odd tags = %+v", j)
			}
		case q1.ID:
			found++
			if !slices.Equal(j.Tags, []string{"usb"}) || j.Priority != 10 {
				t.Errorf("queued job = %+v", j)
			}
		}
	}
	if found != 2 {
		t.Errorf("Queued = %+v, want jobs %d and %d among them", snap.Queued, q1.ID, odd.ID)
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func testExpireQueued(t *testing.T, st store.Store) {
	c := ctx(t)
	lab(t, st, "d1")
	now := time.Now()
	old := submit(t, st, model.Job{Description: "old", QueueTimeout: time.Minute, SubmitTime: now.Add(-2 * time.Minute)})
	fresh := submit(t, st, model.Job{Description: "fresh", QueueTimeout: time.Hour, SubmitTime: now.Add(-2 * time.Minute)})
	never := submit(t, st, model.Job{Description: "never", SubmitTime: now.Add(-48 * time.Hour)})
	sched := schedule(t, st, submit(t, st, model.Job{Description: "scheduled", QueueTimeout: time.Minute, SubmitTime: now.Add(-2 * time.Minute)}), "d1")
	expired, err := st.ExpireQueued(c, now)
	must(t, err)
	if !slices.Equal(expired, []int64{old.ID}) {
		t.Errorf("ExpireQueued = %v, want [%d]", expired, old.ID)
	}
	if j := getJob(t, st, old.ID); j.State != model.JobFinished || j.Health != model.JobCanceled {
		t.Errorf("expired job = %v/%v", j.State, j.Health)
	}
	for _, id := range []int64{fresh.ID, never.ID} {
		if j := getJob(t, st, id); j.State != model.JobSubmitted {
			t.Errorf("job %d = %v, want Submitted", id, j.State)
		}
	}
	if j := getJob(t, st, sched.ID); j.State != model.JobScheduled {
		t.Errorf("scheduled job = %v", j.State)
	}
	expired, err = st.ExpireQueued(c, now)
	must(t, err)
	if len(expired) != 0 {
		t.Errorf("second ExpireQueued = %v", expired)
	}
}

func testMarkDeviceGood(t *testing.T, st store.Store) {
	c := ctx(t)
	lab(t, st, "good")
	must(t, st.CreateDevice(c, model.Device{Hostname: "u", DeviceType: "qemu", Worker: "w1", Health: model.DeviceUnknown}))
	must(t, st.MarkDeviceGood(c, "u"))
	if d := getDevice(t, st, "u"); d.Health != model.DeviceGood {
		t.Errorf("health = %v", d.Health)
	}
	wantErr(t, st.MarkDeviceGood(c, "good"), store.ErrConflict)
	wantErr(t, st.MarkDeviceGood(c, "nope"), store.ErrNotFound)
}

func testRetireCancels(t *testing.T, st store.Store) {
	c := ctx(t)
	lab(t, st, "d1", "d2")
	j1 := schedule(t, st, submit(t, st, model.Job{Description: "scheduled"}), "d1")
	j2 := schedule(t, st, submit(t, st, model.Job{Description: "running"}), "d2")
	_, err := st.StartJob(c, j2.ID)
	must(t, err)
	d, err := st.SetDeviceHealth(c, "d1", model.DeviceRetired)
	must(t, err)
	if d.Health != model.DeviceRetired || d.State != model.DeviceIdle || d.CurrentJob != 0 {
		t.Errorf("retired device = %v/%v job %d", d.Health, d.State, d.CurrentJob)
	}
	if j := getJob(t, st, j1.ID); j.State != model.JobFinished || j.Health != model.JobCanceled {
		t.Errorf("job of retired device = %v/%v", j.State, j.Health)
	}
	_, err = st.SetDeviceHealth(c, "d2", model.DeviceRetired)
	must(t, err)
	if j := getJob(t, st, j2.ID); j.State != model.JobCanceling {
		t.Errorf("running job of retired device = %v, want Canceling", j.State)
	}
	// Maintenance does not cancel, and a job finishing keeps the admin's health.
	lab(t, st, "d3")
	j3 := schedule(t, st, submit(t, st, model.Job{Description: "m"}), "d3")
	_, err = st.SetDeviceHealth(c, "d3", model.DeviceMaintenance)
	must(t, err)
	if j := getJob(t, st, j3.ID); j.State != model.JobScheduled {
		t.Errorf("maintenance canceled the job: %v", j.State)
	}
	_, err = st.StartJob(c, j3.ID)
	must(t, err)
	_, err = st.FinishJob(c, j3.ID, store.JobResult{Health: model.JobIncomplete, ErrorType: "Infrastructure"})
	must(t, err)
	if d := getDevice(t, st, "d3"); d.Health != model.DeviceMaintenance || d.State != model.DeviceIdle {
		t.Errorf("device in maintenance after its job = %v/%v", d.Health, d.State)
	}
}

func testConcurrentAssign(t *testing.T, st store.Store) {
	c := ctx(t)
	lab(t, st)
	for round := range 10 {
		host := "race" + string(rune('a'+round))
		must(t, st.CreateDevice(c, model.Device{Hostname: host, DeviceType: "qemu", Worker: "w1"}))
		a := submit(t, st, model.Job{Description: "a"})
		b := submit(t, st, model.Job{Description: "b"})
		var wg sync.WaitGroup
		results := make([][]store.Assignment, 2)
		errs := make([]error, 2)
		start := make(chan struct{})
		for i, j := range []model.Job{a, b} {
			wg.Go(func() {
				<-start
				results[i], errs[i] = st.Assign(c, []store.Assignment{{Job: j, Device: host}})
			})
		}
		close(start)
		wg.Wait()
		must(t, errs[0])
		must(t, errs[1])
		if n := len(results[0]) + len(results[1]); n != 1 {
			t.Fatalf("round %d: %d assignments of one device applied, want exactly 1", round, n)
		}
		d := getDevice(t, st, host)
		winner := a.ID
		if len(results[1]) == 1 {
			winner = b.ID
		}
		if d.CurrentJob != winner || d.State != model.DeviceReserved {
			t.Fatalf("round %d: device holds job %d (%v), winner %d", round, d.CurrentJob, d.State, winner)
		}
		loser := a.ID + b.ID - winner
		if j := getJob(t, st, loser); j.State != model.JobSubmitted || j.ActualDevice != "" {
			t.Fatalf("round %d: loser job %d = %v on %q", round, loser, j.State, j.ActualDevice)
		}
	}
}

// testConcurrentCreate submits from 8 goroutines at once (the store may
// commit them together, several jobs per statement) and reads every job
// back: each id must hold the job submitted under it, with its tags and
// viewing groups.
func testConcurrentCreate(t *testing.T, st store.Store) {
	c := ctx(t)
	var mu sync.Mutex
	seen := map[int64]model.Job{}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 20 {
				j := model.Job{Description: fmt.Sprintf("c-%d-%d", g, i), Definition: fmt.Sprintf("job_name: c-%d-%d\n", g, i),
					RequestedDeviceType: "qemu", Priority: (g*20 + i) % 101, Submitter: fmt.Sprintf("user%d", g)}
				switch i % 3 {
				case 1:
					j.Tags = []string{fmt.Sprintf("t%d", g), "usb"}
				case 2:
					j.Visibility, j.ViewingGroups = model.VisibilityGroup, []string{fmt.Sprintf("g%d", i)}
				}
				out, err := st.CreateJobs(c, []model.Job{j})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if _, dup := seen[out[0].ID]; dup {
					t.Errorf("id %d given twice", out[0].ID)
				}
				seen[out[0].ID] = j
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	_, total, err := st.ListJobs(c, store.System(), store.JobFilter{})
	must(t, err)
	if total != 160 || len(seen) != 160 {
		t.Errorf("total %d, distinct ids %d, want 160", total, len(seen))
	}
	for id, want := range seen {
		got := getJob(t, st, id)
		if got.Description != want.Description || got.Definition != want.Definition || got.Priority != want.Priority ||
			got.Submitter != want.Submitter || !slices.Equal(got.Tags, sortedStrings(want.Tags)) ||
			!slices.Equal(got.ViewingGroups, want.ViewingGroups) || got.State != model.JobSubmitted {
			t.Errorf("job %d = %q prio %d by %s tags %v groups %v; submitted %q prio %d by %s tags %v groups %v", id,
				got.Description, got.Priority, got.Submitter, got.Tags, got.ViewingGroups,
				want.Description, want.Priority, want.Submitter, want.Tags, want.ViewingGroups)
		}
	}
}

func sortedStrings(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	if out == nil {
		out = []string{}
	}
	return out
}

func testLeader(t *testing.T, st store.Store) {
	c := ctx(t)
	release, ok, err := st.Leader(c, "scheduler")
	must(t, err)
	if !ok {
		t.Fatal("Leader not granted on a fresh store")
	}
	release()
	release, ok, err = st.Leader(c, "scheduler")
	must(t, err)
	if !ok {
		t.Fatal("Leader not granted again after release")
	}
	release()
	if b := st.Backend(); b != "sqlite" && b != "postgres" {
		t.Errorf("Backend() = %q", b)
	}
}
