package api

import (
	"github.com/lavalab/lavalab/core/job"
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
