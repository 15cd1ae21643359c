package sched

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/lavalab/lavalab/core/devdict"
	"github.com/lavalab/lavalab/core/lavatemplate"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
)

// MinSafetyInterval is the shortest safety-net timer allowed: the scheduler
// runs on events; the timer only catches what events missed.
const MinSafetyInterval = 20 * time.Second

// DefaultMinPassInterval is the default Options.MinPassInterval: at most
// 200 passes a second, so a burst of thousands of submissions a second
// does not spend a core re-reading the queue per job.
const DefaultMinPassInterval = 5 * time.Millisecond

// Options tune a Scheduler. The zero value is usable.
type Options struct {
	// SafetyInterval is the slow timer between passes when nothing
	// happens (default and minimum 20 s).
	SafetyInterval time.Duration
	// Now returns the current time (default time.Now).
	Now func() time.Time
	// DriverFor pins the active driver version of a device type on each
	// assignment ("" = none). May be nil.
	DriverFor func(deviceType string) string
	// DriverSettings returns the setting defaults of the driver version
	// with the given SHA-256 (one DriverFor returned). Each assignment
	// records the merged settings: these defaults < the device type's
	// overrides < the device dictionary. May be nil (no defaults).
	DriverSettings func(ctx context.Context, sha string) (map[string]any, error)
	// MinPassInterval spaces passes under a burst of events (default
	// DefaultMinPassInterval): an event after a quiet spell is acted on at
	// once; during a burst of submissions, passes run at most this often,
	// each covering every event since the last.
	MinPassInterval time.Duration
	// OnPass, if set, is called after every pass (metrics).
	OnPass func(PassStats)
}

// PassStats describes one pass.
type PassStats struct {
	Queued   int
	Devices  int
	Assigned int
	Expired  int
	Duration time.Duration
}

// Scheduler gives queued jobs to free devices.
type Scheduler struct {
	st   store.Store
	log  *slog.Logger
	opts Options
}

// New returns a scheduler over st.
func New(st store.Store, log *slog.Logger, opts Options) *Scheduler {
	if opts.SafetyInterval < MinSafetyInterval {
		opts.SafetyInterval = MinSafetyInterval
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MinPassInterval <= 0 {
		opts.MinPassInterval = DefaultMinPassInterval
	}
	if log == nil {
		log = slog.Default()
	}
	return &Scheduler{st: st, log: log.With("component", "scheduler"), opts: opts}
}

// Run schedules until ctx ends. It acts only while it holds the store's
// leadership; without it, it retries on the safety timer.
func (s *Scheduler) Run(ctx context.Context) error {
	events, err := s.st.Subscribe(ctx, store.TopicJobSubmitted, store.TopicDeviceFree)
	if err != nil {
		return fmt.Errorf("scheduler: subscribing to events: %w", err)
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		release, ok, err := s.st.Leader(ctx, "scheduler")
		if err != nil && ctx.Err() == nil {
			s.log.Error("taking the scheduler leadership", "err", err)
		}
		if ok {
			s.log.Info("scheduler leading", "backend", s.st.Backend())
			err = s.lead(ctx, events, timer)
			release()
			if ctx.Err() != nil {
				return nil
			}
			s.log.Error("scheduler lost the leadership", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(s.opts.SafetyInterval):
		}
	}
}

// lead runs passes on events and on the safety timer.
func (s *Scheduler) lead(ctx context.Context, events <-chan store.Event, timer *time.Timer) error {
	for {
		last := time.Now()
		if _, err := s.Pass(ctx); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			s.log.Error("scheduling pass failed", "err", err)
		}
		timer.Reset(s.opts.SafetyInterval)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case _, open := <-events:
			if !open {
				return errors.New("event stream closed")
			}
			// During a burst, wait out the minimum interval, then cover
			// every event that came meanwhile with one pass.
			if wait := s.opts.MinPassInterval - time.Since(last); wait > 0 {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(wait):
				}
			}
			drain(events)
		case <-timer.C:
		}
	}
}

func drain(events <-chan store.Event) {
	for {
		select {
		case _, open := <-events:
			if !open {
				return
			}
		default:
			return
		}
	}
}

// Pass runs one scheduling pass now.
func (s *Scheduler) Pass(ctx context.Context) (PassStats, error) {
	start := time.Now()
	now := s.opts.Now()
	var stats PassStats
	expired, err := s.st.ExpireQueued(ctx, now)
	if err != nil {
		return stats, fmt.Errorf("expiring queued jobs: %w", err)
	}
	stats.Expired = len(expired)
	for _, id := range expired {
		s.log.Info("job canceled: queue timeout passed", "job", id)
	}
	snap, err := s.st.SchedulingSnapshot(ctx)
	if err != nil {
		return stats, fmt.Errorf("reading the queue: %w", err)
	}
	stats.Queued, stats.Devices = len(snap.Queued), len(snap.Devices)
	dec := Plan(snap, now, s.opts.DriverFor)
	for _, host := range dec.MarkGood {
		if err := s.st.MarkDeviceGood(ctx, host); err != nil {
			s.log.Warn("marking device good", "device", host, "err", err)
		} else {
			s.log.Info("device has no health check to run: health Unknown → Good", "device", host)
		}
	}
	for host, reason := range dec.MarkBad {
		if _, err := s.st.SetDeviceHealth(ctx, host, model.DeviceBad); err != nil {
			s.log.Warn("marking device bad", "device", host, "err", err)
		} else {
			s.log.Error("device health → Bad", "device", host, "reason", reason)
		}
	}
	if len(dec.MarkGood) > 0 {
		// Devices just put to Good may take jobs: plan again with them.
		if snap, err = s.st.SchedulingSnapshot(ctx); err != nil {
			return stats, fmt.Errorf("reading the queue: %w", err)
		}
		dec = Plan(snap, now, s.opts.DriverFor)
	}
	s.recordSettings(ctx, snap, dec.Assignments)
	applied, err := s.st.Assign(ctx, dec.Assignments)
	if err != nil {
		return stats, fmt.Errorf("assigning jobs: %w", err)
	}
	stats.Assigned = len(applied)
	for _, a := range applied {
		s.log.Info("job scheduled", "job", a.Job.ID, "device", a.Device, "health_check", a.Job.HealthCheck)
	}
	stats.Assigned += s.assignGroups(ctx, snap, dec.Groups)
	stats.Duration = time.Since(start)
	if s.opts.OnPass != nil {
		s.opts.OnPass(stats)
	}
	return stats, nil
}

// recordSettings fills each assignment's merged settings: the driver's
// defaults < the device type's overrides < the device dictionary. A
// dictionary that does not parse, or defaults that cannot be read, are
// logged and left out (the job then fails where the plan is made, with the
// reason).
func (s *Scheduler) recordSettings(ctx context.Context, snap store.Snapshot, as []store.Assignment) {
	if len(as) == 0 {
		return
	}
	devs := make(map[string]*model.Device, len(snap.Devices))
	for i := range snap.Devices {
		devs[snap.Devices[i].Hostname] = &snap.Devices[i]
	}
	defaults := map[string]map[string]any{}
	for i := range as {
		a := &as[i]
		var layers []map[string]any
		var driverDefaults map[string]any
		if a.DriverSHA256 != "" && s.opts.DriverSettings != nil {
			d, ok := defaults[a.DriverSHA256]
			if !ok {
				var err error
				if d, err = s.opts.DriverSettings(ctx, a.DriverSHA256); err != nil {
					s.log.Warn("reading a driver's setting defaults", "driver_sha256", a.DriverSHA256, "err", err)
				}
				defaults[a.DriverSHA256] = d
			}
			layers = append(layers, d)
			driverDefaults = d
		}
		dev := devs[a.Device]
		if dev == nil {
			a.Settings = devdict.Merge(layers...)
			continue
		}
		dt := snap.Types[dev.DeviceType]
		layers = append(layers, dt.Settings)
		var dictValues map[string]any
		if strings.TrimSpace(dev.Dictionary) != "" {
			dict, err := devdict.Parse([]byte(dev.Dictionary))
			if err != nil {
				s.log.Warn("device dictionary does not parse: its settings are not recorded with the job", "device", dev.Hostname, "err", err)
			} else {
				dictValues = dict.Values
				layers = append(layers, dict.Values)
			}
		}
		a.Settings = devdict.Merge(layers...)
		if dt.Template != "" {
			// Issue 16: an imported LAVA template evaluates over the
			// dictionary, as LAVA renders the dictionary.
			merged, err := lavatemplate.MergeSettings(dt.Template, driverDefaults, dt.Settings, dictValues)
			if err != nil {
				s.log.Warn("device-type template does not evaluate with the dictionary: its settings are not recorded with the job", "device", dev.Hostname, "device_type", dt.Name, "err", err)
				continue
			}
			a.Settings = merged
		}
	}
}
