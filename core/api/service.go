package api

import (
	"context"
	"fmt"

	"github.com/lavalab/lavalab/core/job"
	"github.com/lavalab/lavalab/core/lab"
)

// ValidateJob checks a definition as POST /api/v1/jobs/validate does (the
// YAML rules of core/job, then what this lab must have to run it) and
// stores nothing. err is only for a store failure. Other readers (the web
// pages) use it so every check lives here once.
func (a *API) ValidateJob(ctx context.Context, text []byte) (errs, warnings []job.Issue, err error) {
	def, rep := job.Parse(text)
	errs, warnings = rep.Errors, rep.Warnings
	if !rep.OK() || def == nil {
		return errs, warnings, nil
	}
	probs, err := a.lab.Problems(ctx, def)
	if err != nil {
		return nil, nil, fmt.Errorf("checking the job against the lab: %w", err)
	}
	return append(errs, probs...), warnings, nil
}

// SubmitJob validates and stores a definition for submitter as POST
// /api/v1/jobs does. A refused definition returns its errors and no ids;
// err is only for a store failure.
func (a *API) SubmitJob(ctx context.Context, text []byte, submitter string) (ids []int64, errs, warnings []job.Issue, err error) {
	def, rep := job.Parse(text)
	if !rep.OK() || def == nil {
		return nil, rep.Errors, rep.Warnings, nil
	}
	probs, err := a.submitProblems(ctx, def, submitter)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("checking the job against the lab: %w", err)
	}
	if len(probs) > 0 {
		return nil, probs, rep.Warnings, nil
	}
	jobs, err := a.st.CreateJobs(ctx, lab.JobsOf(def, submitter))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("storing the job: %w", err)
	}
	for _, j := range jobs {
		ids = append(ids, j.ID)
	}
	a.log.Info("job submitted", "id", jobs[0].ID, "jobs", len(jobs), "submitter", submitter, "device_type", jobs[0].RequestedDeviceType, "via", "web")
	return ids, nil, rep.Warnings, nil
}
