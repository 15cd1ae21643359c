package web

// Issue 21: the job page of a multinode sub-job links the whole group.

import (
	"context"

	"github.com/lavalab/lavalab/core/model"
)

// SubJob is one sub-job of a multinode group on the job page.
type SubJob struct {
	ID     int64
	SubID  string
	Role   string
	State  model.JobState
	Health model.JobHealth
}

// subJobs lists the group of a multinode sub-job (nil otherwise, or when
// the store cannot list groups).
func (w *Web) subJobs(ctx context.Context, j model.Job) []SubJob {
	subs, err := w.lab.SubJobs(ctx, caller(ctx), j)
	if err != nil {
		w.log.Warn("listing a multinode group", "group", j.TargetGroup, "err", err)
		return nil
	}
	out := make([]SubJob, 0, len(subs))
	for _, s := range subs {
		out = append(out, SubJob{ID: s.ID, SubID: s.SubID, Role: s.Role, State: s.State, Health: s.Health})
	}
	return out
}
