package sched

import (
	"slices"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
)

func gjob(id int64, group, dt string, prio int, tags ...string) model.Job {
	j := qjob(id, dt, prio, time.Duration(100-id)*time.Minute, tags...)
	j.TargetGroup = group
	return j
}

func groupPairs(d Decision) [][]pair {
	var out [][]pair
	for _, g := range d.Groups {
		var ps []pair
		for _, a := range g {
			ps = append(ps, pair{a.Job.ID, a.Device})
		}
		out = append(out, ps)
	}
	return out
}

// TestPlanGroups (issue 21): a multinode group gets a device for every
// sub-job or nothing; its devices are not given to single jobs.
func TestPlanGroups(t *testing.T) {
	types := map[string]model.DeviceType{"qemu": {Name: "qemu"}, "bbb": {Name: "bbb"}}
	good := model.DeviceGood
	for _, tc := range []struct {
		name    string
		queued  []model.Job
		devices []model.Device
		slots   map[string]int
		groups  [][]pair
		singles []pair
	}{
		{
			name:    "two roles on two types",
			queued:  []model.Job{gjob(1, "g", "qemu", 50), gjob(2, "g", "bbb", 50)},
			devices: []model.Device{dev("b1", "bbb", "w2", good), dev("q1", "qemu", "w1", good)},
			groups:  [][]pair{{{1, "q1"}, {2, "b1"}}},
		},
		{
			name:    "not enough devices: none, the single job runs",
			queued:  []model.Job{gjob(1, "g", "qemu", 50), gjob(2, "g", "qemu", 50), qjob(3, "qemu", 50, 0)},
			devices: []model.Device{dev("q1", "qemu", "w1", good)},
			singles: []pair{{3, "q1"}},
		},
		{
			name:    "tags honoured",
			queued:  []model.Job{gjob(1, "g", "qemu", 50, "usb"), gjob(2, "g", "qemu", 50)},
			devices: []model.Device{dev("q1", "qemu", "w1", good), dev("q2", "qemu", "w1", good, "usb")},
			groups:  [][]pair{{{1, "q2"}, {2, "q1"}}},
		},
		{
			name:    "missing tag: none",
			queued:  []model.Job{gjob(1, "g", "qemu", 50, "usb"), gjob(2, "g", "qemu", 50)},
			devices: []model.Device{dev("q1", "qemu", "w1", good), dev("q2", "qemu", "w1", good)},
		},
		{
			name:    "worker slots count for the whole group",
			queued:  []model.Job{gjob(1, "g", "qemu", 50), gjob(2, "g", "qemu", 50)},
			devices: []model.Device{dev("q1", "qemu", "w1", good), dev("q2", "qemu", "w1", good)},
			slots:   map[string]int{"w1": 1},
		},
		{
			name:    "bad devices are not used",
			queued:  []model.Job{gjob(1, "g", "qemu", 50), gjob(2, "g", "qemu", 50)},
			devices: []model.Device{dev("q1", "qemu", "w1", good), dev("q2", "qemu", "w1", model.DeviceBad)},
		},
		{
			name: "the better group first, the other waits",
			queued: []model.Job{gjob(1, "low", "qemu", 10), gjob(2, "low", "qemu", 10),
				gjob(3, "high", "qemu", 90), gjob(4, "high", "qemu", 90)},
			devices: []model.Device{dev("q1", "qemu", "w1", good), dev("q2", "qemu", "w2", good), dev("q3", "qemu", "w2", good)},
			groups:  [][]pair{{{3, "q1"}, {4, "q2"}}},
		},
		{
			name:    "connection sub-jobs take no device and no slot",
			queued:  []model.Job{gjob(1, "g", "qemu", 50), gjob(2, "g", "", 50), gjob(3, "g", "", 50), qjob(4, "qemu", 50, 0)},
			devices: []model.Device{dev("q1", "qemu", "w1", good), dev("q2", "qemu", "w1", good)},
			slots:   map[string]int{"w1": 2},
			groups:  [][]pair{{{1, "q1"}, {2, ""}, {3, ""}}},
			singles: []pair{{4, "q2"}},
		},
		{
			name:    "connection sub-jobs wait with their group",
			queued:  []model.Job{gjob(1, "g", "qemu", 50), gjob(2, "g", "", 50)},
			devices: []model.Device{dev("q1", "qemu", "w1", model.DeviceBad)},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			snap := store.Snapshot{Queued: tc.queued, Devices: tc.devices, Types: types, WorkerSlots: tc.slots,
				LastHealthCheck: map[string]time.Time{}, JobsSinceHealthCheck: map[string]int{}}
			d := Plan(snap, t0, nil)
			if got := groupPairs(d); !slices.EqualFunc(got, tc.groups, slices.Equal) {
				t.Errorf("groups %v, want %v", got, tc.groups)
			}
			if got := pairs(d); !slices.Equal(got, tc.singles) {
				t.Errorf("single assignments %v, want %v", got, tc.singles)
			}
		})
	}
}
