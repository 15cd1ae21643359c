package sqlstore

import (
	"context"
	"time"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
)

var _ store.WorkerProto = (*DB)(nil)

// WorkerJobs returns the Scheduled, Running and Canceling jobs of the
// worker, by id, with definitions.
func (s *DB) WorkerJobs(ctx context.Context, worker string) ([]model.Job, error) {
	var a args
	q := `SELECT ` + jobCols + ` FROM jobs j WHERE j.worker = ` + a.add(worker) +
		` AND j.state IN (` + a.list(model.JobScheduled, model.JobRunning, model.JobCanceling) + `) ORDER BY j.id`
	jobs, err := s.scanJobs(ctx, s.r, q, false, a...)
	return jobs, s.wrap(err, "jobs of worker %q", worker)
}

// SetJobToken replaces the token hash of a Scheduled, Running or
// Canceling job.
func (s *DB) SetJobToken(ctx context.Context, id int64, hash []byte) error {
	return s.inTx(ctx, func(t *tx) error {
		var a args
		res, err := t.ExecContext(ctx, `UPDATE jobs SET token_hash = `+a.add(nullBytes(hash))+` WHERE id = `+a.add(id)+
			` AND state IN (`+a.list(model.JobScheduled, model.JobRunning, model.JobCanceling)+`)`, a...)
		if err != nil {
			return s.wrap(err, "setting the token of job %d", id)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
		j, err := s.job(ctx, t, id, "")
		if err != nil {
			return err
		}
		return conflict("setting the token of job %d: it is %s", id, j.State)
	})
}

// EndJob stores the cases and finishes the job in one transaction.
func (s *DB) EndJob(ctx context.Context, id int64, r store.JobResult, cases []model.TestCase) (model.Job, error) {
	switch r.Health {
	case model.JobComplete, model.JobIncomplete, model.JobCanceled:
	default:
		return model.Job{}, invalid("ending job %d: health %s", id, r.Health)
	}
	var j model.Job
	err := s.inTx(ctx, func(t *tx) error {
		var err error
		// finishJob locks the job row first, so two end reports racing on
		// two instances serialize here and the second sees Finished.
		if j, err = s.finishJob(ctx, t, id, r); err != nil {
			return err
		}
		return s.addTestCases(ctx, t, id, cases)
	})
	return j, err
}

// EndOverdueJob finishes a Running or Canceling job that started before
// startedBefore, in one transaction with its device.
func (s *DB) EndOverdueJob(ctx context.Context, id int64, startedBefore time.Time, r store.JobResult) (model.Job, error) {
	switch r.Health {
	case model.JobComplete, model.JobIncomplete, model.JobCanceled:
	default:
		return model.Job{}, invalid("ending overdue job %d: health %s", id, r.Health)
	}
	var j model.Job
	err := s.inTx(ctx, func(t *tx) error {
		var err error
		if j, err = s.job(ctx, t, id, s.d.ForUpdate); err != nil {
			return err
		}
		switch {
		case j.State != model.JobRunning && j.State != model.JobCanceling:
			return conflict("ending overdue job %d: it is %s", id, j.State)
		case !j.StartTime.Before(startedBefore):
			return conflict("ending overdue job %d: it started at %s, not before %s", id,
				j.StartTime.UTC().Format(time.RFC3339), startedBefore.UTC().Format(time.RFC3339))
		}
		j, err = s.finishJob(ctx, t, id, r)
		return err
	})
	return j, err
}
