package storetest

import (
	"testing"

	"github.com/lavalab/lavalab/core/job"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
)

// testAssignGroup (issue 21): a multinode group is scheduled all or none.
func testAssignGroup(t *testing.T, st store.Store) {
	mn, ok := st.(store.Multinode)
	if !ok {
		t.Skipf("%T does not implement store.Multinode", st)
	}
	c := ctx(t)
	lab(t, st, "d1", "d2", "d3")
	sub := model.Job{Description: "mn", Definition: "x", RequestedDeviceType: "qemu", Submitter: "alice"}
	g, err := st.CreateJobs(c, []model.Job{sub, sub})
	must(t, err)
	members, err := mn.GroupJobs(c, g[0].TargetGroup)
	must(t, err)
	if len(members) != 2 || members[0].ID != g[0].ID || members[1].ID != g[1].ID || members[1].SubID != g[1].SubID {
		t.Fatalf("GroupJobs = %v, want the two sub-jobs", ids(members))
	}

	// Part of the group only: nothing changes.
	got, err := mn.AssignGroup(c, []store.Assignment{{Job: g[0], Device: "d1"}})
	must(t, err)
	if got != nil {
		t.Errorf("half a group was assigned: %v", got)
	}
	// One device busy: the whole group stays queued, d1 stays Idle.
	other := submit(t, st, model.Job{Description: "single"})
	_, err = st.Assign(c, []store.Assignment{{Job: other, Device: "d2"}})
	must(t, err)
	got, err = mn.AssignGroup(c, []store.Assignment{{Job: g[0], Device: "d1"}, {Job: g[1], Device: "d2"}})
	must(t, err)
	if got != nil {
		t.Errorf("a group was assigned with a busy device: %v", got)
	}
	if j := getJob(t, st, g[0].ID); j.State != model.JobSubmitted || j.ActualDevice != "" {
		t.Errorf("sub-job 0 = %v on %q after a refused group assignment", j.State, j.ActualDevice)
	}
	if d := getDevice(t, st, "d1"); d.State != model.DeviceIdle {
		t.Errorf("d1 = %v after a refused group assignment", d.State)
	}
	// Whole group on free devices: both Scheduled.
	got, err = mn.AssignGroup(c, []store.Assignment{{Job: g[0], Device: "d1"}, {Job: g[1], Device: "d3"}})
	must(t, err)
	if len(got) != 2 {
		t.Fatalf("group assignment applied %d of 2", len(got))
	}
	for i, dev := range []string{"d1", "d3"} {
		if j := getJob(t, st, g[i].ID); j.State != model.JobScheduled || j.ActualDevice != dev {
			t.Errorf("sub-job %d = %v on %q, want Scheduled on %s", i, j.State, j.ActualDevice, dev)
		}
	}
	// A job of no group, or of another group, is refused.
	_, err = mn.AssignGroup(c, []store.Assignment{{Job: other, Device: "d1"}})
	wantErr(t, err, store.ErrInvalid)
}

// guestGroupJob is a multinode job with a connection role (issue 21): a
// host role on a qemu device and two ssh guests.
const guestGroupJob = `job_name: guests
timeouts: {job: {minutes: 30}}
visibility: public
protocols:
  lava-multinode:
    roles:
      host: {device_type: qemu, count: 1}
      guest: {connection: ssh, count: 2, host_role: host, expect_role: host, request: lava-start}
actions:
- deploy: {to: tmpfs, role: [host], images: {rootfs: {url: 'http://x/r.img'}}}
- deploy: {to: ssh, role: [guest]}
`

// testAssignGroupGuests (issue 21): the connection sub-jobs of a group are
// queued with their group (no device type), scheduled with it on the
// worker of the host role's sub-job holding no device, and start and end
// without one.
func testAssignGroupGuests(t *testing.T, st store.Store) {
	mn, ok := st.(store.Multinode)
	if !ok {
		t.Skipf("%T does not implement store.Multinode", st)
	}
	c := ctx(t)
	lab(t, st, "d1")
	def, rep := job.Parse([]byte(guestGroupJob))
	if !rep.OK() {
		t.Fatal(rep.Err())
	}
	var subs []model.Job
	for _, s := range def.Split() {
		subs = append(subs, model.Job{Description: "guests", Definition: string(s.Text), RequestedDeviceType: s.DeviceType, Submitter: "alice"})
	}
	g, err := st.CreateJobs(c, subs)
	must(t, err)
	if len(g) != 3 || g[1].RequestedDeviceType != "" || g[1].TargetGroup == "" {
		t.Fatalf("created %+v", g)
	}
	// A job of no group still needs a device type, and a sub-job of a
	// group without one must be a connection role's.
	_, err = st.CreateJobs(c, []model.Job{{Description: "none", Definition: "x", Submitter: "alice"}})
	wantErr(t, err, store.ErrInvalid)
	_, err = st.CreateJobs(c, []model.Job{subs[0], {Description: "none", Definition: string(def.Split()[0].Text), Submitter: "alice"}})
	wantErr(t, err, store.ErrInvalid)

	snap, err := st.SchedulingSnapshot(c)
	must(t, err)
	queued := map[int64]bool{}
	for _, j := range snap.Queued {
		queued[j.ID] = true
	}
	for _, j := range g {
		if !queued[j.ID] {
			t.Errorf("sub-job %s (device type %q) is not in the queue", j.SubID, j.RequestedDeviceType)
		}
	}
	// The guests without the host: refused.
	got, err := mn.AssignGroup(c, []store.Assignment{{Job: g[1]}, {Job: g[2]}})
	must(t, err)
	if got != nil {
		t.Errorf("a group without its host was assigned: %v", got)
	}
	got, err = mn.AssignGroup(c, []store.Assignment{{Job: g[0], Device: "d1"}, {Job: g[1], DriverSHA256: "abc"}, {Job: g[2]}})
	must(t, err)
	if len(got) != 3 {
		t.Fatalf("group assignment applied %d of 3", len(got))
	}
	for i, j := range g {
		j = getJob(t, st, j.ID)
		wantDev := map[int]string{0: "d1"}[i]
		if j.State != model.JobScheduled || j.Worker != "w1" || j.ActualDevice != wantDev {
			t.Errorf("sub-job %d = %v on %q worker %q, want Scheduled on %q worker w1", i, j.State, j.ActualDevice, j.Worker, wantDev)
		}
		if i == 1 && j.DriverSHA256 != "abc" {
			t.Errorf("guest driver %q, want the pinned one", j.DriverSHA256)
		}
	}
	if wp, ok := st.(store.WorkerProto); ok {
		wj, err := wp.WorkerJobs(c, "w1")
		must(t, err)
		if len(wj) != 3 {
			t.Errorf("worker w1 has %d jobs to run, want the 3 sub-jobs", len(wj))
		}
	}
	// The guest starts and ends without a device; the host's device is
	// the host's.
	j, err := st.StartJob(c, g[1].ID)
	must(t, err)
	if j.State != model.JobRunning {
		t.Errorf("guest after start: %v", j.State)
	}
	_, err = st.FinishJob(c, g[1].ID, store.JobResult{Health: model.JobComplete})
	must(t, err)
	if d := getDevice(t, st, "d1"); d.State != model.DeviceReserved || d.CurrentJob != g[0].ID {
		t.Errorf("d1 = %v holding %d, want Reserved for the host %d", d.State, d.CurrentJob, g[0].ID)
	}
}
