package workerserver

import (
	"context"
	"errors"
	"fmt"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
)

// CheckLiveness is one pass of the liveness monitor: a worker silent for
// longer than Silent goes Offline and its Good (or Looping) devices go
// Unknown, so a health check runs before their next job; once it has been
// silent for Silent+Grace, its unfinished jobs end Incomplete with an
// Infrastructure error, which frees their devices. A worker Offline for a
// version mismatch keeps polling, so it is not silent: its jobs finish.
func (s *Server) CheckLiveness(ctx context.Context) error {
	workers, err := s.st.ListWorkers(ctx)
	if err != nil {
		return fmt.Errorf("listing workers: %w", err)
	}
	now := s.o.Now()
	var errs []error
	for _, w := range workers {
		if w.LastPing.IsZero() {
			continue // never talked: Offline since it was created, no job
		}
		silent := now.Sub(w.LastPing)
		if silent <= s.o.Silent {
			continue
		}
		if w.State == model.WorkerOnline {
			if err := s.setOffline(ctx, w.Hostname, silent); err != nil {
				errs = append(errs, err)
			}
		}
		if silent <= s.o.Silent+s.o.Grace {
			continue
		}
		jobs, err := s.wp.WorkerJobs(ctx, w.Hostname)
		if err != nil {
			errs = append(errs, fmt.Errorf("jobs of worker %q: %w", w.Hostname, err))
			continue
		}
		for _, j := range jobs {
			s.endJob(ctx, j.ID, "Infrastructure", fmt.Sprintf("worker %s has been silent since %s (more than %s + %s grace)",
				w.Hostname, w.LastPing.UTC().Format("2006-01-02T15:04:05Z"), s.o.Silent, s.o.Grace))
		}
	}
	return errors.Join(errs...)
}

func (s *Server) setOffline(ctx context.Context, host string, silent interface{ String() string }) error {
	changed := false
	_, err := s.st.UpdateWorker(ctx, host, func(w *model.Worker) error {
		// Re-check inside the transaction: it may have polled meanwhile.
		if w.State != model.WorkerOnline || s.o.Now().Sub(w.LastPing) <= s.o.Silent {
			return nil
		}
		w.State, changed = model.WorkerOffline, true
		return nil
	})
	if err != nil {
		return fmt.Errorf("setting worker %q Offline: %w", host, err)
	}
	if !changed {
		return nil
	}
	s.log.Warn("worker silent: set Offline; its devices' health set Unknown", "worker", host, "silent", silent.String(), "jobs_end_after", s.o.Grace)
	devs, err := s.st.ListDevices(ctx, store.DeviceFilter{Worker: host})
	if err != nil {
		return fmt.Errorf("devices of worker %q: %w", host, err)
	}
	var errs []error
	for _, d := range devs {
		if d.Health == model.DeviceGood || d.Health == model.DeviceLooping {
			if _, err := s.st.SetDeviceHealth(ctx, d.Hostname, model.DeviceUnknown); err != nil && !errors.Is(err, store.ErrNotFound) {
				errs = append(errs, fmt.Errorf("device %q health: %w", d.Hostname, err))
			}
		}
	}
	return errors.Join(errs...)
}
