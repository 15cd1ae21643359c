package sqlstore

// Issue 21: multinode groups (store.Multinode).

import (
	"context"
	"errors"

	"github.com/lavalab/lavalab/core/job"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
)

var _ store.Multinode = (*DB)(nil)

// GroupJobs returns the sub-jobs of a target group, by id.
func (s *DB) GroupJobs(ctx context.Context, group string) ([]model.Job, error) {
	if group == "" {
		return nil, invalid("no target group")
	}
	rows, err := s.rq.QueryContext(ctx, `SELECT id FROM jobs WHERE target_group = $1 ORDER BY id`, group)
	if err != nil {
		return nil, s.wrap(err, "reading group %s", group)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, s.wrap(err, "reading group %s", group)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, s.wrap(err, "reading group %s", group)
	}
	out := make([]model.Job, 0, len(ids))
	for _, id := range ids {
		j, err := s.job(ctx, s.rq, id, "")
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, nil
}

// errGroupIncomplete rolls back a group assignment that cannot apply whole.
var errGroupIncomplete = errors.New("group assignment incomplete")

// AssignGroup applies one group's assignments all or none.
func (s *DB) AssignGroup(ctx context.Context, as []store.Assignment) ([]store.Assignment, error) {
	if len(as) == 0 {
		return nil, nil
	}
	group := as[0].Job.TargetGroup
	if group == "" {
		return nil, invalid("assigning a group: job %d has no target group", as[0].Job.ID)
	}
	for _, a := range as {
		if a.Job.TargetGroup != group || a.Job.ID == 0 {
			return nil, invalid("assigning group %s: job %d is not one of its sub-jobs", group, a.Job.ID)
		}
	}
	var withDevice, guests []store.Assignment
	for _, a := range as {
		if a.Device == "" {
			guests = append(guests, a)
		} else {
			withDevice = append(withDevice, a)
		}
	}
	var out []store.Assignment
	err := s.inTx(ctx, func(t *tx) error {
		var n int
		if err := t.QueryRowContext(ctx, `SELECT COUNT(*) FROM jobs WHERE target_group = $1`, group).Scan(&n); err != nil {
			return s.wrap(err, "counting group %s", group)
		}
		if n != len(as) || len(withDevice) == 0 {
			return errGroupIncomplete
		}
		ok, err := s.assignSet(ctx, t, withDevice)
		if err != nil {
			return err
		}
		if len(ok) != len(withDevice) {
			return errGroupIncomplete
		}
		if len(guests) > 0 {
			g, err := s.assignGuests(ctx, t, group, ok, guests)
			if err != nil {
				return err
			}
			ok = append(ok, g...)
		}
		out = ok
		return nil
	})
	if errors.Is(err, errGroupIncomplete) {
		return nil, nil
	}
	return out, err
}

// assignGuests schedules the connection sub-jobs of a group (no device,
// issue 21) on the worker of their host role's sub-job, as LAVA runs a
// dynamic connection on its host's worker: they take no device and no
// worker slot. hosts are the group's sub-jobs that got a device.
func (s *DB) assignGuests(ctx context.Context, t *tx, group string, hosts, guests []store.Assignment) ([]store.Assignment, error) {
	rows, err := t.QueryContext(ctx, `SELECT id, definition FROM jobs WHERE target_group = $1 ORDER BY id`, group)
	if err != nil {
		return nil, s.wrap(err, "reading group %s", group)
	}
	facts := map[int64]*job.SubJobFacts{}
	for rows.Next() {
		var id int64
		var def string
		if err := rows.Scan(&id, &def); err != nil {
			rows.Close()
			return nil, s.wrap(err, "reading group %s", group)
		}
		if f, _, err := job.ReadSubJob([]byte(def)); err == nil && f != nil {
			facts[id] = f
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, s.wrap(err, "reading group %s", group)
	}
	workerOf := map[string]string{} // role → worker of its (single) device sub-job
	for _, h := range hosts {
		if f := facts[h.Job.ID]; f != nil {
			workerOf[f.Role] = h.Job.Worker
		}
	}
	out := make([]store.Assignment, 0, len(guests))
	for _, a := range guests {
		f := facts[a.Job.ID]
		if f == nil || f.Connection == "" {
			return nil, invalid("assigning group %s: job %d has no device and is not a connection sub-job", group, a.Job.ID)
		}
		w := workerOf[f.HostRole]
		if w == "" {
			return nil, invalid("assigning group %s: job %d (role %s): its host role %q has no device in the group", group, a.Job.ID, f.Role, f.HostRole)
		}
		st, err := settingsText(a.Settings)
		if err != nil {
			return nil, err
		}
		res, err := t.ExecContext(ctx, `UPDATE jobs SET state = $1, driver_sha256 = $2, worker = $3, settings = $4
WHERE id = $5 AND state = $6 AND actual_device = '' AND target_group = $7`,
			model.JobScheduled, a.DriverSHA256, w, st, a.Job.ID, model.JobSubmitted, group)
		if err != nil {
			return nil, s.wrap(err, "scheduling job %d", a.Job.ID)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return nil, errGroupIncomplete
		}
		a.Job.State, a.Job.Worker, a.Job.DriverSHA256, a.Job.Settings = model.JobScheduled, w, a.DriverSHA256, a.Settings
		t.emit(store.TopicJobScheduled, w)
		out = append(out, a)
	}
	return out, nil
}
