package sched

// Issue 21: multinode groups are scheduled all or none.

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
)

// ConnectionDriver is the driver of a multinode connection sub-job
// (connection: ssh, issue 21).
const ConnectionDriver = "ssh"

// planGroups gives every sub-job of a queued multinode group a free,
// Good device of its requested type (and device) carrying its tags, on a
// worker with a free slot, or gives the group nothing. Groups go best
// first (the order of their best sub-job); the devices they take are
// marked busy and their slots taken. A group whose sub-jobs are not all
// in the queue (some type has no free device) is planned with what is
// there and refused whole by the store (AssignGroup counts the group).
// A connection sub-job (no device type) takes no device and no slot.
func planGroups(queued []model.Job, devices []model.Device, health map[string]model.DeviceHealth, busy map[string]bool,
	takeSlot func(string) bool, slots map[string]int, pin func(string) string) [][]store.Assignment {
	groups := map[string][]model.Job{}
	for _, j := range queued {
		if j.TargetGroup != "" && !j.HealthCheck {
			groups[j.TargetGroup] = append(groups[j.TargetGroup], j)
		}
	}
	if len(groups) == 0 {
		return nil
	}
	names := slices.Collect(maps.Keys(groups))
	best := func(g string) *model.Job {
		b := &groups[g][0]
		for i := range groups[g] {
			if before(&groups[g][i], b) {
				b = &groups[g][i]
			}
		}
		return b
	}
	slices.SortFunc(names, func(a, b string) int {
		switch ja, jb := best(a), best(b); {
		case before(ja, jb):
			return -1
		case before(jb, ja):
			return 1
		}
		return 0
	})
	var out [][]store.Assignment
	for _, g := range names {
		jobs := groups[g]
		slices.SortFunc(jobs, func(a, b model.Job) int { return int(a.ID - b.ID) })
		taken := map[string]bool{}
		used := map[string]int{} // slots taken per worker by this group
		var as []store.Assignment
		for _, j := range jobs {
			if j.RequestedDeviceType == "" {
				// A connection sub-job (issue 21): no device, no slot; the
				// store puts it on its host role's worker. Its driver is
				// its connection's (ssh, the only one accepted).
				as = append(as, store.Assignment{Job: j, DriverSHA256: pin(ConnectionDriver)})
				continue
			}
			tags := slices.Clone(j.Tags)
			slices.Sort(tags)
			tags = slices.Compact(tags)
			found := false
			for _, dev := range devices {
				if busy[dev.Hostname] || taken[dev.Hostname] || health[dev.Hostname] != model.DeviceGood ||
					dev.DeviceType != j.RequestedDeviceType || (j.RequestedDevice != "" && j.RequestedDevice != dev.Hostname) ||
					!subset(tags, dev.Tags) {
					continue
				}
				if n, limited := slots[dev.Worker]; limited && n-used[dev.Worker] <= 0 {
					continue
				}
				taken[dev.Hostname] = true
				used[dev.Worker]++
				as = append(as, store.Assignment{Job: j, Device: dev.Hostname, DriverSHA256: pin(dev.DeviceType)})
				found = true
				break
			}
			if !found {
				as = nil
				break
			}
		}
		if as == nil {
			continue
		}
		for _, a := range as {
			if a.Device != "" {
				busy[a.Device] = true
			}
		}
		for _, dev := range devices {
			if taken[dev.Hostname] {
				takeSlot(dev.Worker)
			}
		}
		out = append(out, as)
	}
	return out
}

// assignGroups applies the planned multinode groups, each all or none, and
// returns how many sub-jobs got a device.
func (s *Scheduler) assignGroups(ctx context.Context, snap store.Snapshot, groups [][]store.Assignment) int {
	if len(groups) == 0 {
		return 0
	}
	mn, ok := s.st.(store.Multinode)
	if !ok {
		s.log.Warn("multinode jobs stay queued: the store cannot schedule a group at once", "store", fmt.Sprintf("%T", s.st))
		return 0
	}
	n := 0
	for _, g := range groups {
		s.recordSettings(ctx, snap, g)
		applied, err := mn.AssignGroup(ctx, g)
		if err != nil {
			s.log.Warn("scheduling a multinode group", "group", g[0].Job.TargetGroup, "err", err)
			continue
		}
		for _, a := range applied {
			s.log.Info("job scheduled", "job", a.Job.ID, "device", a.Device, "target_group", a.Job.TargetGroup)
		}
		n += len(applied)
	}
	return n
}
