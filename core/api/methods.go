package api

import (
	"context"

	"github.com/lavalab/lavalab/core/job"
	"github.com/lavalab/lavalab/core/lab"
)

// DriverFor adapts a driver registry to core/lab's check of a job's
// deploy and boot methods (nil: nothing is checked).
func DriverFor(d Drivers) func(string) (job.Driver, bool) {
	if d == nil {
		return nil
	}
	return func(devType string) (job.Driver, bool) {
		in, err := d.ForDeviceType(devType)
		if err != nil {
			return job.Driver{}, false
		}
		desc := in.Description
		return job.Driver{Name: in.Name, Version: in.Version, DeployMethods: desc.DeployMethods, BootMethods: desc.BootMethods}, true
	}
}

// submitProblems are the lab's problems with a definition and the
// submitter's (lab.GroupProblems).
func (a *API) submitProblems(ctx context.Context, def *job.Definition, submitter string) ([]job.Issue, error) {
	probs, err := a.lab.Problems(ctx, def)
	if err != nil {
		return nil, err
	}
	gp, err := lab.GroupProblems(ctx, a.st, def, submitter)
	return append(probs, gp...), err
}
