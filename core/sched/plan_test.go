package sched

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
)

var t0 = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

const hcDefinition = `job_name: health check
device_type: qemu
visibility: public
timeouts:
  job:
    minutes: 10
actions:
- boot:
    method: qemu
    media: tmpfs
    prompts: ['root@debian:~#']
`

func qjob(id int64, dt string, prio int, age time.Duration, tags ...string) model.Job {
	return model.Job{ID: id, RequestedDeviceType: dt, Priority: prio, SubmitTime: t0.Add(-age), Tags: tags, State: model.JobSubmitted}
}

func dev(host, dt, worker string, h model.DeviceHealth, tags ...string) model.Device {
	return model.Device{Hostname: host, DeviceType: dt, Worker: worker, Health: h, Tags: tags}
}

type pair struct {
	job    int64
	device string
}

func pairs(d Decision) []pair {
	var out []pair
	for _, a := range d.Assignments {
		id := a.Job.ID
		if a.Job.HealthCheck {
			id = -1
		}
		out = append(out, pair{id, a.Device})
	}
	return out
}

func TestPlan(t *testing.T) {
	types := map[string]model.DeviceType{
		"qemu":  {Name: "qemu"},
		"soca9": {Name: "soca9"},
		"hc":    {Name: "hc", HealthCheck: hcDefinition},
		"hcfreq": {Name: "hcfreq", HealthCheck: hcDefinition, HealthFrequency: 24,
			HealthDenominator: "hours"},
		"hcjobs": {Name: "hcjobs", HealthCheck: hcDefinition, HealthFrequency: 3,
			HealthDenominator: "jobs"},
		"badhc": {Name: "badhc", HealthCheck: "job_name: [broken"},
	}
	tests := []struct {
		name     string
		snap     store.Snapshot
		want     []pair
		wantGood []string
		wantBad  []string
	}{
		{
			name: "priority then submit time",
			snap: store.Snapshot{
				Queued:  []model.Job{qjob(1, "qemu", 50, time.Minute), qjob(2, "qemu", 100, time.Second), qjob(3, "qemu", 50, time.Hour)},
				Devices: []model.Device{dev("q1", "qemu", "w", model.DeviceGood), dev("q2", "qemu", "w", model.DeviceGood)},
			},
			want: []pair{{2, "q1"}, {3, "q2"}},
		},
		{
			name: "same time: lower id first",
			snap: store.Snapshot{
				Queued:  []model.Job{qjob(9, "qemu", 50, 0), qjob(4, "qemu", 50, 0)},
				Devices: []model.Device{dev("q1", "qemu", "w", model.DeviceGood)},
			},
			want: []pair{{4, "q1"}},
		},
		{
			name: "device type honoured",
			snap: store.Snapshot{
				Queued:  []model.Job{qjob(1, "soca9", 50, 0), qjob(2, "qemu", 10, 0)},
				Devices: []model.Device{dev("q1", "qemu", "w", model.DeviceGood)},
			},
			want: []pair{{2, "q1"}},
		},
		{
			name: "tags must be a subset of the device's",
			snap: store.Snapshot{
				Queued: []model.Job{qjob(1, "qemu", 100, 0, "usb", "hdmi"), qjob(2, "qemu", 50, 0, "usb")},
				Devices: []model.Device{
					dev("a", "qemu", "w", model.DeviceGood, "usb"),
					dev("b", "qemu", "w", model.DeviceGood, "hdmi", "usb", "wifi"),
				},
			},
			want: []pair{{2, "a"}, {1, "b"}},
		},
		{
			name: "a job with tags no device has waits; others pass it",
			snap: store.Snapshot{
				Queued:  []model.Job{qjob(1, "qemu", 100, 0, "nope"), qjob(2, "qemu", 0, 0)},
				Devices: []model.Device{dev("a", "qemu", "w", model.DeviceGood, "usb")},
			},
			want: []pair{{2, "a"}},
		},
		{
			name: "requested device",
			snap: store.Snapshot{
				Queued: func() []model.Job {
					j := qjob(1, "qemu", 100, 0)
					j.RequestedDevice = "b"
					return []model.Job{j, qjob(2, "qemu", 50, 0)}
				}(),
				Devices: []model.Device{dev("a", "qemu", "w", model.DeviceGood), dev("b", "qemu", "w", model.DeviceGood)},
			},
			want: []pair{{2, "a"}, {1, "b"}},
		},
		{
			name: "bad, maintenance and retired devices take nothing",
			snap: store.Snapshot{
				Queued: []model.Job{qjob(1, "qemu", 50, 0)},
				Devices: []model.Device{dev("a", "qemu", "w", model.DeviceBad), dev("b", "qemu", "w", model.DeviceMaintenance),
					dev("c", "qemu", "w", model.DeviceRetired)},
			},
			want: nil,
		},
		{
			name: "worker job limit",
			snap: store.Snapshot{
				Queued:      []model.Job{qjob(1, "qemu", 50, 0), qjob(2, "qemu", 50, time.Second)},
				Devices:     []model.Device{dev("a", "qemu", "w", model.DeviceGood), dev("b", "qemu", "w", model.DeviceGood)},
				WorkerSlots: map[string]int{"w": 1},
			},
			want: []pair{{2, "a"}},
		},
		{
			name: "unknown health runs the health check first, normal jobs wait",
			snap: store.Snapshot{
				Queued:  []model.Job{qjob(1, "hc", 100, 0)},
				Devices: []model.Device{dev("h1", "hc", "w", model.DeviceUnknown)},
			},
			want: []pair{{-1, "h1"}},
		},
		{
			name: "unknown health without a health check becomes good and takes a job",
			snap: store.Snapshot{
				Queued:  []model.Job{qjob(1, "qemu", 50, 0)},
				Devices: []model.Device{dev("q1", "qemu", "w", model.DeviceUnknown)},
			},
			want:     []pair{{1, "q1"}},
			wantGood: []string{"q1"},
		},
		{
			name: "health check due by hours",
			snap: store.Snapshot{
				Queued:          []model.Job{qjob(1, "hcfreq", 50, 0)},
				Devices:         []model.Device{dev("f1", "hcfreq", "w", model.DeviceGood), dev("f2", "hcfreq", "w", model.DeviceGood)},
				LastHealthCheck: map[string]time.Time{"f1": t0.Add(-25 * time.Hour), "f2": t0.Add(-time.Hour)},
			},
			want: []pair{{-1, "f1"}, {1, "f2"}},
		},
		{
			name: "health check due by jobs",
			snap: store.Snapshot{
				Devices:              []model.Device{dev("j1", "hcjobs", "w", model.DeviceGood), dev("j2", "hcjobs", "w", model.DeviceGood)},
				LastHealthCheck:      map[string]time.Time{"j1": t0, "j2": t0},
				JobsSinceHealthCheck: map[string]int{"j1": 3, "j2": 2},
			},
			want: []pair{{-1, "j1"}},
		},
		{
			name: "invalid health check definition: device bad",
			snap: store.Snapshot{
				Queued:  []model.Job{qjob(1, "badhc", 50, 0)},
				Devices: []model.Device{dev("x", "badhc", "w", model.DeviceUnknown)},
			},
			want:    nil,
			wantBad: []string{"x"},
		},
		{
			name: "multinode and health-check jobs in the queue are not planned as normal jobs",
			snap: store.Snapshot{
				Queued: func() []model.Job {
					a := qjob(1, "qemu", 100, 0)
					a.TargetGroup = "g"
					return []model.Job{a}
				}(),
				Devices: []model.Device{dev("q1", "qemu", "w", model.DeviceGood)},
			},
			want: nil,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.snap.Types = types
			d := Plan(tc.snap, t0, nil)
			if got := pairs(d); !slices.Equal(got, tc.want) {
				t.Errorf("assignments = %v, want %v", got, tc.want)
			}
			if !slices.Equal(d.MarkGood, tc.wantGood) {
				t.Errorf("MarkGood = %v, want %v", d.MarkGood, tc.wantGood)
			}
			var bad []string
			for h := range d.MarkBad {
				bad = append(bad, h)
			}
			if !slices.Equal(bad, tc.wantBad) {
				t.Errorf("MarkBad = %v, want %v", bad, tc.wantBad)
			}
			for _, a := range d.Assignments {
				if a.Job.HealthCheck && (a.Job.Submitter != HealthCheckSubmitter || a.Job.RequestedDevice != a.Device || a.Job.Description != "health check") {
					t.Errorf("health check job = %+v", a.Job)
				}
			}
		})
	}
}

func TestPlanPinsDriver(t *testing.T) {
	snap := store.Snapshot{
		Queued:  []model.Job{qjob(1, "qemu", 50, 0)},
		Devices: []model.Device{dev("q1", "qemu", "w", model.DeviceGood)},
		Types:   map[string]model.DeviceType{"qemu": {Name: "qemu"}},
	}
	d := Plan(snap, t0, func(dt string) string { return "sha-of-" + dt })
	if len(d.Assignments) != 1 || d.Assignments[0].DriverSHA256 != "sha-of-qemu" {
		t.Fatalf("assignments = %+v", d.Assignments)
	}
}

// benchSnapshot builds a queue of n jobs over 20 device types with tags,
// and 1,000 idle devices.
func benchSnapshot(n int) store.Snapshot {
	r := rand.New(rand.NewPCG(1, 2))
	tagPool := []string{"usb", "hdmi", "wifi", "sata", "can", "eth1"}
	snap := store.Snapshot{Types: map[string]model.DeviceType{}}
	for i := range 20 {
		name := fmt.Sprintf("type-%02d", i)
		snap.Types[name] = model.DeviceType{Name: name}
	}
	for i := range 1000 {
		var tags []string
		for _, t := range tagPool {
			if r.IntN(2) == 0 {
				tags = append(tags, t)
			}
		}
		snap.Devices = append(snap.Devices, dev(fmt.Sprintf("dev-%04d", i), fmt.Sprintf("type-%02d", i%20), fmt.Sprintf("w%d", i%10), model.DeviceGood, tags...))
	}
	for i := range n {
		var tags []string
		if r.IntN(3) == 0 {
			tags = append(tags, tagPool[r.IntN(len(tagPool))])
		}
		snap.Queued = append(snap.Queued, qjob(int64(i+1), fmt.Sprintf("type-%02d", r.IntN(20)), r.IntN(101), time.Duration(r.IntN(100000))*time.Second, tags...))
	}
	return snap
}

func BenchmarkPlan(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		snap := benchSnapshot(n)
		b.Run(fmt.Sprintf("queued=%d/devices=1000", n), func(b *testing.B) {
			for b.Loop() {
				d := Plan(snap, t0, nil)
				if len(d.Assignments) == 0 {
					b.Fatal("nothing assigned")
				}
			}
		})
	}
}
