package api

import (
	"context"

	"github.com/lavalab/lavalab/core/job"
	"github.com/lavalab/lavalab/core/model"
)

// Problems lists why a valid definition cannot run here (missing device
// types, devices, tags or groups; deploy or boot methods the device type's
// driver does not have): the submission checks of /api/v1, for
// the LAVA-compatible APIs (/RPC2, /api/v0.2) to apply the same rules.
func (a *API) Problems(ctx context.Context, def *job.Definition) ([]job.Issue, error) {
	return a.problems(ctx, def)
}

// JobsOf makes the jobs to store for a checked definition (one per
// multinode sub-job), submitted by submitter.
func JobsOf(def *job.Definition, submitter string) []model.Job { return jobsOf(def, submitter) }
