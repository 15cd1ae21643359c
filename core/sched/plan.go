package sched

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/lavalab/lavalab/core/job"
	"github.com/lavalab/lavalab/core/lavatemplate"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
)

// HealthCheckSubmitter is the user health checks are submitted as.
const HealthCheckSubmitter = "lava-health"

// Decision is the outcome of one planning pass.
type Decision struct {
	// Assignments to apply, health checks first.
	Assignments []store.Assignment
	// MarkGood lists Unknown devices whose type has no health check to run:
	// they become Good so they are not left idle forever.
	MarkGood []string
	// MarkBad lists devices whose type's health check definition is invalid,
	// with the reason (LAVA puts such devices to Bad).
	MarkBad map[string]string
	// Groups are the multinode groups to schedule, each all or none
	// (store.Multinode.AssignGroup; issue 21).
	Groups [][]store.Assignment
}

// queue is the jobs of one device type that ask for the same tags and the
// same device, best first.
type queue struct {
	device string
	tags   []string // sorted
	jobs   []model.Job
	next   int
}

func (q *queue) head() *model.Job {
	if q.next < len(q.jobs) {
		return &q.jobs[q.next]
	}
	return nil
}

// before reports whether a is scheduled before b: priority high first,
// then submit time, then id.
func before(a, b *model.Job) bool {
	if a.Priority != b.Priority {
		return a.Priority > b.Priority
	}
	if !a.SubmitTime.Equal(b.SubmitTime) {
		return a.SubmitTime.Before(b.SubmitTime)
	}
	return a.ID < b.ID
}

// Plan decides which job each free device runs next. It is a pure
// function of the snapshot and the time; its cost is linear in the queued
// jobs (a sort per queue) plus devices × distinct tag sets of their type.
// driverFor pins the driver version for a device type (may be nil).
func Plan(snap store.Snapshot, now time.Time, driverFor func(deviceType string) string) Decision {
	var d Decision
	slots := make(map[string]int, len(snap.WorkerSlots))
	for w, n := range snap.WorkerSlots {
		slots[w] = n
	}
	takeSlot := func(worker string) bool {
		n, limited := slots[worker]
		if !limited {
			return true
		}
		if n <= 0 {
			return false
		}
		slots[worker] = n - 1
		return true
	}
	pin := func(dt string) string {
		if driverFor == nil {
			return ""
		}
		return driverFor(dt)
	}

	devices := slices.Clone(snap.Devices)
	slices.SortFunc(devices, func(a, b model.Device) int { return cmp.Compare(a.Hostname, b.Hostname) })

	// 1. Health checks, and the health each device has for this pass.
	health := make(map[string]model.DeviceHealth, len(devices))
	busy := make(map[string]bool)
	for _, dev := range devices {
		health[dev.Hostname] = dev.Health
		dt, known := snap.Types[dev.DeviceType]
		if !known || !healthCheckNeeded(dev, dt, snap, now) {
			continue
		}
		if dt.HealthCheck == "" || dt.HealthDisabled {
			if dev.Health == model.DeviceUnknown {
				d.MarkGood = append(d.MarkGood, dev.Hostname)
				health[dev.Hostname] = model.DeviceGood
			}
			continue
		}
		hc, reason := healthCheckJob(dt, dev, now)
		if reason != "" {
			if d.MarkBad == nil {
				d.MarkBad = map[string]string{}
			}
			d.MarkBad[dev.Hostname] = reason
			busy[dev.Hostname] = true
			continue
		}
		if !takeSlot(dev.Worker) {
			continue
		}
		d.Assignments = append(d.Assignments, store.Assignment{Job: hc, Device: dev.Hostname, DriverSHA256: pin(lavatemplate.DriverName(dev.DeviceType, snap.Types[dev.DeviceType].Driver))})
		busy[dev.Hostname] = true
	}

	// 2. Queues per device type, one per (requested device, tag set).
	byType := map[string][]*queue{}
	index := map[string]*queue{}
	for _, j := range snap.Queued {
		if j.TargetGroup != "" || j.HealthCheck {
			continue // multinode sub-jobs: planGroups
		}
		tags := slices.Clone(j.Tags)
		slices.Sort(tags)
		tags = slices.Compact(tags)
		key := j.RequestedDeviceType + "\x00" + j.RequestedDevice + "\x00" + strings.Join(tags, "\x00")
		q := index[key]
		if q == nil {
			q = &queue{device: j.RequestedDevice, tags: tags}
			index[key] = q
			byType[j.RequestedDeviceType] = append(byType[j.RequestedDeviceType], q)
		}
		q.jobs = append(q.jobs, j)
	}
	for _, qs := range byType {
		for _, q := range qs {
			slices.SortFunc(q.jobs, func(a, b model.Job) int {
				switch {
				case before(&a, &b):
					return -1
				case before(&b, &a):
					return 1
				}
				return 0
			})
		}
	}

	// 2b. Multinode groups, all sub-jobs at once (plan_groups.go).
	d.Groups = planGroups(snap.Queued, devices, health, busy, takeSlot, slots, pin)

	// 3. Each free, healthy device takes the best job it can run.
	for _, dev := range devices {
		if busy[dev.Hostname] || health[dev.Hostname] != model.DeviceGood {
			continue
		}
		qs := byType[dev.DeviceType]
		if len(qs) == 0 {
			continue
		}
		var best *queue
		for _, q := range qs {
			h := q.head()
			if h == nil || (q.device != "" && q.device != dev.Hostname) || !subset(q.tags, dev.Tags) {
				continue
			}
			if best == nil || before(h, best.head()) {
				best = q
			}
		}
		if best == nil || !takeSlot(dev.Worker) {
			continue
		}
		d.Assignments = append(d.Assignments, store.Assignment{Job: *best.head(), Device: dev.Hostname, DriverSHA256: pin(lavatemplate.DriverName(dev.DeviceType, snap.Types[dev.DeviceType].Driver))})
		best.next++
	}
	return d
}

// subset reports whether every tag of want (sorted, unique) is in have.
func subset(want, have []string) bool {
	for _, t := range want {
		if !slices.Contains(have, t) {
			return false
		}
	}
	return true
}

// healthCheckNeeded: health Unknown or Looping, or the health frequency is due.
func healthCheckNeeded(dev model.Device, dt model.DeviceType, snap store.Snapshot, now time.Time) bool {
	switch dev.Health {
	case model.DeviceUnknown, model.DeviceLooping:
		return true
	case model.DeviceGood:
	default:
		return false
	}
	if dt.HealthCheck == "" || dt.HealthDisabled || dt.HealthFrequency <= 0 {
		return false
	}
	last, ok := snap.LastHealthCheck[dev.Hostname]
	if !ok {
		return true
	}
	if dt.HealthDenominator == "jobs" {
		return snap.JobsSinceHealthCheck[dev.Hostname] >= dt.HealthFrequency
	}
	return now.Sub(last) >= time.Duration(dt.HealthFrequency)*time.Hour
}

// healthCheckJob builds the health-check job of a device from its type's
// definition, or says why the definition cannot run.
func healthCheckJob(dt model.DeviceType, dev model.Device, now time.Time) (model.Job, string) {
	def, rep := job.Parse([]byte(dt.HealthCheck))
	if def == nil || !rep.OK() {
		return model.Job{}, "invalid health check definition of device type " + dt.Name + ": " + rep.Err().Error()
	}
	return model.Job{
		Description:         def.JobName,
		Definition:          dt.HealthCheck,
		Priority:            100,
		Visibility:          model.VisibilityPublic,
		RequestedDeviceType: dev.DeviceType,
		RequestedDevice:     dev.Hostname,
		Submitter:           HealthCheckSubmitter,
		HealthCheck:         true,
		SubmitTime:          now,
	}, ""
}
