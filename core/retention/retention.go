package retention

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
)

// Policy says which jobs to remove.
type Policy struct {
	// OlderThan: jobs submitted longer ago than this (required, > 0).
	OlderThan time.Duration
	// States: model.JobFinished (default) and/or model.JobSubmitted.
	States []model.JobState
	// Submitter restricts the removal to one user's jobs.
	Submitter string
	// LogsOnly removes the logs and keeps the jobs and their results.
	LogsOnly bool
	// DryRun counts without removing.
	DryRun bool
	// Batch is the number of jobs per transaction (0 = store's default).
	Batch int
}

// Stats is what a run removed (or, dry, would remove).
type Stats struct {
	Jobs                  int
	LogChunks, LogRecords int64
	Batches               int
	Took                  time.Duration
}

// MinPause is the least pause between two batches; a batch that took
// longer is followed by a pause of half its time, so that other writers
// get at least a third of the database's time.
const MinPause = 5 * time.Millisecond

// Run removes what p selects, a batch per transaction, measured from now.
// progress (if not nil) is called after each batch with the totals so far.
func Run(ctx context.Context, st store.Retention, p Policy, now time.Time, progress func(Stats)) (Stats, error) {
	var s Stats
	if p.OlderThan <= 0 {
		return s, fmt.Errorf("retention: the age must be positive, not %s", p.OlderThan)
	}
	start := time.Now()
	f := store.RemoveFilter{Before: now.Add(-p.OlderThan), States: p.States, Submitter: p.Submitter,
		LogsOnly: p.LogsOnly, DryRun: p.DryRun, Limit: p.Batch}
	for {
		t0 := time.Now()
		b, err := st.RemoveJobs(ctx, f)
		if err != nil {
			s.Took = time.Since(start)
			return s, fmt.Errorf("retention: after %d jobs: %w", s.Jobs, err)
		}
		s.Batches++
		s.Jobs += b.Jobs
		s.LogChunks += b.LogChunks
		s.LogRecords += b.LogRecords
		s.Took = time.Since(start)
		if progress != nil {
			progress(s)
		}
		if !b.More {
			return s, nil
		}
		f.AfterID = b.LastID
		if p.DryRun {
			continue
		}
		pause := max(MinPause, time.Since(t0)/2)
		select {
		case <-ctx.Done():
			return s, fmt.Errorf("retention: stopped after %d jobs: %w", s.Jobs, ctx.Err())
		case <-time.After(pause):
		}
	}
}

// Schedule runs p every interval (the first run one minute after the
// start) until ctx ends, logging each run. With several servers on one
// PostgreSQL database, only the one holding the "retention" leadership
// runs it.
func Schedule(ctx context.Context, st store.Store, p Policy, interval time.Duration, log *slog.Logger) {
	wait := min(time.Minute, interval)
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = interval
		release, ok, err := st.Leader(ctx, "retention")
		if err != nil {
			log.Warn("retention: taking the leadership", "err", err)
			continue
		}
		if !ok {
			continue
		}
		s, err := Run(ctx, st, p, time.Now(), nil)
		release()
		attrs := []any{"older_than", FormatAge(p.OlderThan), "logs_only", p.LogsOnly, "jobs", s.Jobs,
			"log_records", s.LogRecords, "took", s.Took.Round(time.Millisecond)}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			log.Error("retention run failed", append(attrs, "err", err)...)
			continue
		}
		log.Info("retention run", attrs...)
	}
}

// ParseAge parses an age: a number with the unit d (days), w (weeks), h,
// m or s, or any Go duration ("36h30m"). It must be positive.
func ParseAge(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	var d time.Duration
	var err error
	switch {
	case strings.HasSuffix(t, "d") || strings.HasSuffix(t, "w"):
		unit := 24 * time.Hour
		if strings.HasSuffix(t, "w") {
			unit *= 7
		}
		var n int64
		n, err = strconv.ParseInt(t[:len(t)-1], 10, 32)
		d = time.Duration(n) * unit
	default:
		d, err = time.ParseDuration(t)
	}
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("age %q: want a positive number of days (180d), weeks (2w) or a duration (36h)", s)
	}
	return d, nil
}

// FormatAge writes an age in days when it is whole days.
func FormatAge(d time.Duration) string {
	if d > 0 && d%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	}
	return d.String()
}
