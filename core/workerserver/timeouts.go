package workerserver

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	jobdef "github.com/lavalab/lavalab/core/job"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
)

// DefaultJobGrace is how long past its job timeout a Running job may stay
// without an end report before the server ends it (ServerOptions.JobGrace,
// lava-server --job-timeout-grace). The worker enforces the timeout
// itself, powers the board off and then reports; the grace covers that
// and a backlog of log records.
const DefaultJobGrace = 5 * time.Minute

// jobTimeouts caches the job timeout of each unfinished job (its
// definition is parsed once).
type jobTimeouts struct {
	mu sync.Mutex
	m  map[int64]time.Duration
}

// of returns j's job timeout (timeouts.job; job.DefaultTimeout when the
// definition sets none or cannot be read: the dispatcher then ends the
// job at once).
func (c *jobTimeouts) of(j model.Job) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d, ok := c.m[j.ID]; ok {
		return d
	}
	d := jobdef.DefaultTimeout
	if def, _ := jobdef.Parse([]byte(j.Definition)); def != nil && def.Timeouts.Job > 0 {
		d = def.Timeouts.Job
	}
	if c.m == nil {
		c.m = map[int64]time.Duration{}
	}
	c.m[j.ID] = d
	return d
}

// keep forgets the jobs not in ids.
func (c *jobTimeouts) keep(ids map[int64]bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id := range c.m {
		if !ids[id] {
			delete(c.m, id)
		}
	}
}

// CheckJobTimeouts ends, Incomplete with an Infrastructure error, every
// Running or Canceling job whose worker has not reported its end within
// its job timeout plus JobGrace after it started, whatever the worker
// does: the job and its device change in one transaction
// (store.WorkerProto.EndOverdueJob), the device goes Unknown (a health
// check runs before its next job) and is free. A worker still running the
// job is told to cancel it at its next poll; its late records are still
// stored and its late end report is acknowledged without effect.
func (s *Server) CheckJobTimeouts(ctx context.Context) error {
	workers, err := s.st.ListWorkers(ctx)
	if err != nil {
		return fmt.Errorf("listing workers: %w", err)
	}
	now := s.o.Now()
	seen := map[int64]bool{}
	var errs []error
	for _, w := range workers {
		jobs, err := s.wp.WorkerJobs(ctx, w.Hostname)
		if err != nil {
			errs = append(errs, fmt.Errorf("jobs of worker %q: %w", w.Hostname, err))
			continue
		}
		for _, j := range jobs {
			seen[j.ID] = true
			if (j.State != model.JobRunning && j.State != model.JobCanceling) || j.StartTime.IsZero() {
				continue
			}
			limit := s.timeouts.of(j) + s.o.JobGrace
			if now.Sub(j.StartTime) <= limit {
				continue
			}
			msg := fmt.Sprintf("worker %s did not report the end of the job within its timeout (%s) + %s grace: ended by the server",
				w.Hostname, s.timeouts.of(j), s.o.JobGrace)
			_, err := s.wp.EndOverdueJob(ctx, j.ID, now.Add(-limit), store.JobResult{Health: model.JobIncomplete, ErrorType: "Infrastructure", FailureComment: msg})
			switch {
			case err == nil:
				s.log.Warn("job ended by the server: past its timeout", "job", j.ID, "worker", w.Hostname, "device", j.ActualDevice,
					"started", j.StartTime.UTC().Format(time.RFC3339), "timeout", s.timeouts.of(j), "grace", s.o.JobGrace)
				s.wake.notify(w.Hostname) // a held poll answers with the cancel
			case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrNotFound):
				// Ended meanwhile.
			default:
				errs = append(errs, fmt.Errorf("ending overdue job %d: %w", j.ID, err))
			}
		}
	}
	s.timeouts.keep(seen)
	return errors.Join(errs...)
}
