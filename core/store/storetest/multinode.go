package storetest

import (
	"testing"

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
