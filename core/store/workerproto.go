package store

import (
	"context"
	"time"

	"github.com/lavalab/lavalab/core/model"
)

// WorkerProto is what the worker protocol (core/workerproto) needs beyond
// Store. Both backends implement it; callers get it with a type assertion
// (st.(store.WorkerProto)) so Store stays as it is.
type WorkerProto interface {
	// WorkerJobs returns the jobs handed to the worker that are not
	// finished (Scheduled, Running, Canceling), by id, with definitions.
	WorkerJobs(ctx context.Context, worker string) ([]model.Job, error)
	// SetJobToken replaces the hash of the job's per-job token. Only a
	// Scheduled, Running or Canceling job has one: else ErrConflict.
	SetJobToken(ctx context.Context, id int64, hash []byte) error
	// EndJob stores the job's test cases and finishes it (FinishJob's
	// rules) in one transaction, so a resent end report can never store
	// the cases twice. A Finished job: ErrConflict, nothing stored.
	EndJob(ctx context.Context, id int64, r JobResult, cases []model.TestCase) (model.Job, error)
	// EndOverdueJob ends a job whose worker never reported its end: a
	// Running or Canceling job that started before startedBefore (the
	// server's job-timeout check) is finished with FinishJob's rules (its
	// device freed and graded) in one transaction that re-checks the
	// state and the start time. Any other job: ErrConflict, nothing
	// changed.
	EndOverdueJob(ctx context.Context, id int64, startedBefore time.Time, r JobResult) (model.Job, error)
}
