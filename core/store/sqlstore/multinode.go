package sqlstore

// Issue 21: multinode groups (store.Multinode).

import (
	"context"
	"errors"

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
	var out []store.Assignment
	err := s.inTx(ctx, func(t *tx) error {
		var n int
		if err := t.QueryRowContext(ctx, `SELECT COUNT(*) FROM jobs WHERE target_group = $1`, group).Scan(&n); err != nil {
			return s.wrap(err, "counting group %s", group)
		}
		if n != len(as) {
			return errGroupIncomplete
		}
		ok, err := s.assignSet(ctx, t, as)
		if err != nil {
			return err
		}
		if len(ok) != len(as) {
			return errGroupIncomplete
		}
		out = ok
		return nil
	})
	if errors.Is(err, errGroupIncomplete) {
		return nil, nil
	}
	return out, err
}
