package store

import (
	"context"
	"time"

	"github.com/lavalab/lavalab/core/model"
)

// RemoveFilter selects the jobs RemoveJobs removes (or whose logs it
// removes): jobs submitted before Before, in one of States, of Submitter
// if set, with an id above AfterID, lowest ids first, at most Limit.
type RemoveFilter struct {
	// Before is the cut-off on the submit time (required).
	Before time.Time
	// States are model.JobFinished (the default when empty) and/or
	// model.JobSubmitted (queued jobs that never got a device); other
	// states hold a device and are refused (end them with FailJob first).
	States []model.JobState
	// Submitter restricts the removal to one user's jobs.
	Submitter string
	// LogsOnly removes the jobs' logs and keeps the jobs (their results
	// too); only jobs that still have logs are selected.
	LogsOnly bool
	// DryRun selects and counts without removing.
	DryRun bool
	// AfterID is the cursor: only jobs with a greater id (0 = from the
	// first).
	AfterID int64
	// Limit bounds the batch (0 = 500, at most 5000).
	Limit int
}

// RemoveBatch is what one RemoveJobs call removed (or, dry, would remove).
type RemoveBatch struct {
	// Jobs is how many jobs were selected; LastID the greatest of their
	// ids (the next call's AfterID), 0 when none.
	Jobs   int
	LastID int64
	// LogChunks and LogRecords count the log rows and records removed
	// with them.
	LogChunks, LogRecords int64
	// More is false when the selection is exhausted (fewer than Limit
	// jobs were found).
	More bool
}

// Retention removes old jobs and ends stuck ones (admin commands).
type Retention interface {
	// RemoveJobs removes one batch of the jobs f selects, in one
	// transaction, with their logs, results, tags and viewing groups (or
	// only their logs, with f.LogsOnly). Ids of removed jobs are never
	// handed out again. Callers loop with AfterID = LastID while More.
	RemoveJobs(ctx context.Context, f RemoveFilter) (RemoveBatch, error)
	// FailJob ends a job that is not Finished as Incomplete with the
	// comment, as an admin does for a stuck job: whatever its state
	// (Submitted, Scheduled, Running, Canceling), in one transaction, its
	// device freed and graded as FinishJob does, its worker told to stop
	// it. A Finished job: ErrConflict.
	FailJob(ctx context.Context, id int64, comment string) (model.Job, error)
}

// DefaultRemoveLimit is RemoveFilter.Limit's default; MaxRemoveLimit its
// bound.
const (
	DefaultRemoveLimit = 500
	MaxRemoveLimit     = 5000
)
