package lab

import (
	"context"

	"github.com/lavalab/lavalab/core/job"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
)

// SubJob is one sub-job of a multinode group (issue 21).
type SubJob struct {
	ID           int64
	SubID        string
	Role         string
	State        model.JobState
	Health       model.JobHealth
	ActualDevice string
	Worker       string
}

// SubJobs lists the group of a multinode sub-job j, which the caller was
// shown (its group shares its visibility); nil for a job of no group or a
// store that cannot list groups.
func (s *Service) SubJobs(ctx context.Context, c Caller, j model.Job) ([]SubJob, error) {
	mn, ok := s.st.(store.Multinode)
	if j.TargetGroup == "" || !ok {
		return nil, nil
	}
	jobs, err := mn.GroupJobs(ctx, j.TargetGroup)
	if err != nil {
		return nil, storeErr(err, ObjJob, j.TargetGroup)
	}
	out := make([]SubJob, 0, len(jobs))
	for _, sj := range jobs {
		v := SubJob{ID: sj.ID, SubID: sj.SubID, State: sj.State, Health: sj.Health, ActualDevice: sj.ActualDevice, Worker: sj.Worker}
		if f, _, err := job.ReadSubJob([]byte(sj.Definition)); err == nil && f != nil {
			v.Role = f.Role
		}
		out = append(out, v)
	}
	return out, nil
}
