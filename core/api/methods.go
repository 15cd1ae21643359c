package api

import (
	"github.com/lavalab/lavalab/core/job"
	"github.com/lavalab/lavalab/core/lab"
)

// DriverFor adapts a driver registry to core/lab's check of a job's
// deploy and boot methods (nil: nothing is checked).
func DriverFor(d Drivers) func(string) (job.Driver, bool) { return lab.DriverFor(d) }
