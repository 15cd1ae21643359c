package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
)

// removeSelect builds the query of the ids RemoveJobs selects: it walks
// jobs by id from the cursor (jobs_state_id, or jobs_submitter with a
// submitter), so a run of batches reads each job once.
func removeSelect(d Dialect, f store.RemoveFilter, limit int, lock bool) (string, args, error) {
	var a args
	states := f.States
	if len(states) == 0 {
		states = []model.JobState{model.JobFinished}
	}
	var sc []string
	for _, st := range states {
		switch st {
		case model.JobFinished:
			sc = append(sc, "j.state = "+a.add(int(model.JobFinished)))
		case model.JobSubmitted:
			// Only queued jobs that hold no device.
			sc = append(sc, "(j.state = "+a.add(int(model.JobSubmitted))+" AND j.actual_device = '')")
		default:
			return "", nil, invalid("removing jobs: state %s holds a device (end the job first)", st)
		}
	}
	if f.Before.IsZero() {
		return "", nil, invalid("removing jobs: no cut-off time")
	}
	where := []string{"(" + strings.Join(sc, " OR ") + ")",
		"j.submit_time < " + a.add(micros(f.Before)), "j.id > " + a.add(f.AfterID)}
	if f.Submitter != "" {
		where = append(where, "j.submitter = "+a.add(f.Submitter))
	}
	if f.LogsOnly {
		where = append(where, "EXISTS (SELECT 1 FROM log_chunks c WHERE c.job_id = j.id)")
	}
	q := `SELECT j.id FROM jobs j WHERE ` + strings.Join(where, " AND ") + ` ORDER BY j.id LIMIT ` + a.add(limit)
	if lock && d.ForUpdate != "" {
		q += d.ForUpdate + " OF j"
	}
	return q, a, nil
}

// RemoveJobs removes one batch of old jobs (or their logs) in one
// transaction; see store.Retention.
func (s *DB) RemoveJobs(ctx context.Context, f store.RemoveFilter) (store.RemoveBatch, error) {
	limit := f.Limit
	switch {
	case limit <= 0:
		limit = store.DefaultRemoveLimit
	case limit > store.MaxRemoveLimit:
		limit = store.MaxRemoveLimit
	}
	var b store.RemoveBatch
	run := func(q querier, lock bool) error {
		sel, a, err := removeSelect(s.d, f, limit, lock)
		if err != nil {
			return err
		}
		ids, err := column[int64](ctx, q, sel, a...)
		if err != nil {
			return s.wrap(err, "selecting jobs to remove")
		}
		b = store.RemoveBatch{Jobs: len(ids), More: len(ids) == limit}
		if len(ids) == 0 {
			return nil
		}
		b.LastID = ids[len(ids)-1]
		var ca args
		err = q.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(end_idx - first_idx), 0) FROM log_chunks WHERE `+
			s.d.inSet(&ca, "job_id", int64Col(ids)), ca...).Scan(&b.LogChunks, &b.LogRecords)
		if err != nil {
			return s.wrap(err, "counting the logs of %d jobs", len(ids))
		}
		if f.DryRun {
			return nil
		}
		if f.LogsOnly {
			var da args
			if _, err := q.ExecContext(ctx, `DELETE FROM log_chunks WHERE `+s.d.inSet(&da, "job_id", int64Col(ids)), da...); err != nil {
				return s.wrap(err, "removing the logs of %d jobs", len(ids))
			}
			var ua args
			if _, err := q.ExecContext(ctx, `UPDATE jobs SET log_next = 0 WHERE `+s.d.inSet(&ua, "id", int64Col(ids)), ua...); err != nil {
				return s.wrap(err, "removing the logs of %d jobs", len(ids))
			}
			return nil
		}
		// Logs, results, tags and viewing groups go with ON DELETE CASCADE.
		var da args
		if _, err := q.ExecContext(ctx, `DELETE FROM jobs WHERE `+s.d.inSet(&da, "id", int64Col(ids)), da...); err != nil {
			return s.wrap(err, "removing %d jobs", len(ids))
		}
		return nil
	}
	if f.DryRun {
		return b, run(s.rq, false)
	}
	err := s.inTx(ctx, func(t *tx) error { return run(t.Tx, true) })
	return b, err
}

// FailJob ends a job Incomplete as an admin; see store.Retention.
func (s *DB) FailJob(ctx context.Context, id int64, comment string) (model.Job, error) {
	var j model.Job
	err := s.inTx(ctx, func(t *tx) error {
		var err error
		j, err = s.endJob(ctx, t, id, store.JobResult{Health: model.JobIncomplete, FailureComment: comment}, true)
		if err != nil {
			return err
		}
		if j.Worker != "" {
			// The worker drops the job at its next poll (no longer its).
			t.emit(store.TopicJobCanceling, j.Worker)
		}
		return nil
	})
	if err != nil {
		return j, fmt.Errorf("failing job %d: %w", id, err)
	}
	return j, nil
}
