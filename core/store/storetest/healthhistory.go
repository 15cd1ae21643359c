package storetest

import (
	"testing"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
)

// A device's health history records each transition with its cause: an
// admin's (who, why), a health check's (the job), the scheduler's.
func testDeviceHealthHistory(t *testing.T, st store.Store) {
	c := ctx(t)
	lab(t, st, "d1")
	must(t, st.CreateDevice(c, model.Device{Hostname: "u1", DeviceType: "qemu", Worker: "w1", Health: model.DeviceUnknown}))

	d, err := st.SetDeviceHealthBy(c, "d1", model.DeviceMaintenance, "alice", "PSU swap")
	must(t, err)
	if d.Health != model.DeviceMaintenance {
		t.Fatalf("health %s", d.Health)
	}
	_, err = st.SetDeviceHealth(c, "d1", model.DeviceMaintenance) // no change: not recorded
	must(t, err)
	_, err = st.SetDeviceHealthBy(c, "d1", model.DeviceUnknown, "bob", "")
	must(t, err)
	must(t, st.MarkDeviceGood(c, "d1"))
	_, err = st.SetDeviceHealthBy(c, "nope", model.DeviceGood, "alice", "")
	wantErr(t, err, store.ErrNotFound)

	// A health check grades u1 (Unknown -> Good).
	hc := model.Job{Description: "health", Definition: "job_name: health\n", Visibility: model.VisibilityPublic,
		RequestedDeviceType: "qemu", RequestedDevice: "u1", HealthCheck: true}
	got, err := st.Assign(c, []store.Assignment{{Job: hc, Device: "u1"}})
	must(t, err)
	_, err = st.FinishJob(c, got[0].Job.ID, store.JobResult{Health: model.JobComplete})
	must(t, err)

	h, err := st.DeviceHealthHistory(c, "d1", 0)
	must(t, err)
	want := []model.HealthChange{
		{From: model.DeviceUnknown, To: model.DeviceGood, Cause: model.HealthCauseScheduler},
		{From: model.DeviceMaintenance, To: model.DeviceUnknown, Cause: model.HealthCauseAdmin, Actor: "bob"},
		{From: model.DeviceGood, To: model.DeviceMaintenance, Cause: model.HealthCauseAdmin, Actor: "alice", Reason: "PSU swap"},
	}
	if len(h) != len(want) {
		t.Fatalf("d1 history %+v, want %d changes", h, len(want))
	}
	for i, w := range want {
		g := h[i]
		if g.Device != "d1" || g.From != w.From || g.To != w.To || g.Cause != w.Cause || g.Actor != w.Actor || g.Reason != w.Reason || g.At.IsZero() || g.ID == 0 {
			t.Errorf("d1 change %d = %+v, want %+v", i, g, w)
		}
	}
	if h[0].ID <= h[1].ID {
		t.Errorf("not newest first: %+v", h)
	}
	if h, err := st.DeviceHealthHistory(c, "d1", 1); err != nil || len(h) != 1 {
		t.Errorf("limit 1: %+v %v", h, err)
	}
	u, err := st.DeviceHealthHistory(c, "u1", 0)
	must(t, err)
	if len(u) != 1 || u[0].Cause != model.HealthCauseHealthCheck || u[0].JobID != got[0].Job.ID || u[0].To != model.DeviceGood {
		t.Errorf("u1 history %+v, want the health check's Unknown -> Good", u)
	}
	_, err = st.DeviceHealthHistory(c, "nope", 0)
	wantErr(t, err, store.ErrNotFound)
}
