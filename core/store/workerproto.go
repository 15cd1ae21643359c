package store

import (
	"context"
	"time"

	"github.com/lavalab/lavalab/core/model"
)

// WorkerProto is what the worker protocol's server end (core/workerserver)
// needs beyond Store. Both backends implement it; callers get it with a
// type assertion (st.(store.WorkerProto)) so Store stays as it is.
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

// TopicNotification: notifications were queued in the outbox (senders
// wake). Key: the job id.
const TopicNotification = "notification"

// Outbox is the notification outbox (core/notify): rows are queued by the
// store itself in the transactions that start and end jobs (from the
// job's notify: block); senders claim due ones and record each attempt.
// Both backends implement it; callers get it with a type assertion.
type Outbox interface {
	// JobNotifications lists a job's notifications, oldest first.
	JobNotifications(ctx context.Context, jobID int64) ([]model.Notification, error)
	// ClaimNotifications returns up to limit pending notifications due at
	// now, each leased: its next attempt moved to now+lease in the same
	// statement that checks it is still due, so that two senders (two
	// server instances) never take the same one, and one whose sender
	// died is taken again once the lease ends.
	ClaimNotifications(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]model.Notification, error)
	// RecordNotification appends an attempt to a notification and sets
	// its state and, when still pending, its next attempt.
	RecordNotification(ctx context.Context, id int64, a model.NotificationAttempt, state string, next time.Time) error
	// CountNotifications counts notifications by state.
	CountNotifications(ctx context.Context) (map[string]int, error)
}
