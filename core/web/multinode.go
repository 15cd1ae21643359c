package web

// Issue 21: the job page of a multinode sub-job links the whole group.

import (
	"context"

	"github.com/lavalab/lavalab/core/job"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
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
	mn, ok := w.st.(store.Multinode)
	if j.TargetGroup == "" || !ok {
		return nil
	}
	jobs, err := mn.GroupJobs(ctx, j.TargetGroup)
	if err != nil {
		w.log.Warn("listing a multinode group", "group", j.TargetGroup, "err", err)
		return nil
	}
	out := make([]SubJob, 0, len(jobs))
	for _, s := range jobs {
		sj := SubJob{ID: s.ID, SubID: s.SubID, State: s.State, Health: s.Health}
		if f, _, err := job.ReadSubJob([]byte(s.Definition)); err == nil && f != nil {
			sj.Role = f.Role
		}
		out = append(out, sj)
	}
	return out
}
