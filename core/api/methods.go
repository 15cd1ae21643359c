package api

import (
	"context"

	"github.com/lavalab/lavalab/core/job"
)

// problems lists why a valid definition cannot run here: what the lab
// lacks (labProblems), then every deploy `to` and boot `method` the active
// driver of its device type does not declare (methodProblems).
func (a *API) problems(ctx context.Context, def *job.Definition) ([]job.Issue, error) {
	out, err := a.labProblems(ctx, def)
	if err != nil {
		return nil, err
	}
	return append(out, a.methodProblems(def)...), nil
}

// methodProblems applies job.CheckMethods with the drivers of the registry:
// nothing is checked without a registry, or for a device type no active
// driver serves (the job waits for one, as before).
func (a *API) methodProblems(def *job.Definition) []job.Issue {
	if a.drivers == nil {
		return nil
	}
	return job.CheckMethods(def, func(devType string) (job.Driver, bool) {
		in, err := a.drivers.ForDeviceType(devType)
		if err != nil {
			return job.Driver{}, false
		}
		d := in.Description
		return job.Driver{Name: in.Name, Version: in.Version, DeployMethods: d.DeployMethods, BootMethods: d.BootMethods}, true
	})
}
